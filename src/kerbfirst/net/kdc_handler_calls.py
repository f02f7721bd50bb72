"""Calling the KDC handler from the network layer: every call on the handler thread, never
raising into the server loop, replies checked (kdc_server lists the limits).

A handler that raises is logged with the exception type and code location only, never
the request or the exception text, which may carry secrets; the request is dropped.
"""

from __future__ import annotations

import logging
import os
import traceback
from datetime import UTC, datetime

from kerbfirst.net.kdc_server_config import KdcRequestHandler

log = logging.getLogger("kerbfirst.net.kdc_server")  # one logger name for the whole server


def answer(
    handler: KdcRequestHandler, request: bytes, peer: str, transport: str
) -> bytes | None:
    """The handler's answer, or None (logged) if it failed."""
    try:
        # The clock is read here, just before the KDC runs (RFC 4120 skew checks).
        reply = handler.handle(request, peer=peer, transport=transport, now=datetime.now(UTC))
    except Exception as exc:
        log_handler_failure("handle", exc, peer, transport)
        return None
    return _checked_reply("handle", reply)


def too_big(
    handler: KdcRequestHandler, request: bytes, peer: str, transport: str, limit: int
) -> bytes | None:
    """KRB_ERR_RESPONSE_TOO_BIG for this request, or None when even that does not fit
    `limit` bytes."""
    try:
        reply = handler.response_too_big(request, now=datetime.now(UTC))
    except Exception as exc:
        log_handler_failure("response_too_big", exc, peer, transport)
        return None
    reply = _checked_reply("response_too_big", reply)
    if reply is not None and len(reply) > limit:
        log.error("KDC response_too_big reply of %d bytes does not fit either", len(reply))
        return None
    return reply


def refused(handler: KdcRequestHandler, reason: str, peer: str, transport: str) -> None:
    """Tell the handler (if it keeps such records: kdc.service.Kdc.refused) about a request
    the transport refused before it reached the handler."""
    record = getattr(handler, "refused", None)
    if record is None:
        return
    try:
        record(reason, peer=peer, transport=transport, now=datetime.now(UTC))
    except Exception as exc:
        log_handler_failure("refused", exc, peer, transport)


def log_handler_failure(method: str, exc: Exception, peer: str, transport: str) -> None:
    # Type and code location only: the message of an exception may quote keys.
    frames = traceback.extract_tb(exc.__traceback__)[-3:]
    where = " <- ".join(
        f"{os.path.basename(f.filename)}:{f.lineno} {f.name}" for f in reversed(frames)
    )
    log.error(
        "KDC %s raised %s on a %s request from %s; request dropped (at %s)",
        method,
        type(exc).__name__,
        transport,
        peer,
        where,
    )


def _checked_reply(method: str, reply: object) -> bytes | None:
    if reply is not None and not isinstance(reply, bytes):
        log.error("KDC %s returned %s, not bytes; request dropped", method, type(reply).__name__)
        return None
    return reply
