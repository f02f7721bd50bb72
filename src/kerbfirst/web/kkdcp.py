"""MS-KKDCP, the Kerberos KDC proxy over HTTPS (`POST /KdcProxy`, application/kerberos).

    KDC-PROXY-MESSAGE ::= SEQUENCE {
        kerb-message    [0] OCTET STRING,   -- the KDC message with its 4-byte TCP length
        target-domain   [1] KERB-REALM OPTIONAL,
        dclocator-hint  [2] INTEGER OPTIONAL
    }                                        (MS-KKDCP 2.2.2)

The request's message goes to a KDC of its realm and the reply comes back in the same
form. The realm is the target-domain, else the realm of the request body; it must be one
of the configured realms, each reached only at its configured KDCs (or an in-process
KDC), so no request can point the proxy anywhere else (kdcproxy CVE-2025-59088 resolved
any realm through DNS). The request body, the KDC message and the KDC's reply are all
capped, the body is read with a size cap and a time limit before any parsing, and every
KDC call has a timeout (CVE-2025-59089: kdcproxy read a KDC's TCP reply without a bound).
Only AS-REQ and TGS-REQ are forwarded (kpasswd is not offered).
"""

from __future__ import annotations

import asyncio
import logging
import struct
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass
from typing import Any

from kerbfirst.gss.mechanism import ForwardToKdc, KdcFailure
from kerbfirst.net.iakerb_proxy import KdcForwarder, RouteSpec
from kerbfirst.wire.der import (
    DecodeError,
    Reader,
    encode_integer,
    encode_kerberos_string,
    encode_octet_string,
    explicit,
    required,
    sequence,
)
from kerbfirst.wire.krb5 import KdcReq

log = logging.getLogger(__name__)

MAX_KDC_MESSAGE = 64 * 1024
MAX_BODY = MAX_KDC_MESSAGE + 1024  # DER overhead around the message
BODY_TIMEOUT = 10.0  # seconds for the whole request body
CONTENT_TYPE = "application/kerberos"
_REQUEST_TAGS = frozenset({0x6A, 0x6C})  # [APPLICATION 10] AS-REQ, [APPLICATION 12] TGS-REQ


class KkdcpError(ValueError):
    """A request the proxy refuses: the text is sent back as the 400 body."""


@dataclass(frozen=True, slots=True)
class ProxyMessage:
    message: bytes  # the KDC message without its length prefix
    target_domain: str | None = None
    dclocator_hint: int | None = None

    def encode(self) -> bytes:
        parts = [explicit(0, encode_octet_string(struct.pack(">I", len(self.message))
                                                 + self.message))]
        if self.target_domain is not None:
            parts.append(explicit(1, encode_kerberos_string(self.target_domain)))
        if self.dclocator_hint is not None:
            parts.append(explicit(2, encode_integer(self.dclocator_hint)))
        return sequence(*parts)

    @classmethod
    def decode(cls, data: bytes) -> ProxyMessage:
        what = "KDC-PROXY-MESSAGE"
        try:
            fields = Reader.top(data, what).fields(3, what)
            framed = required(fields, 0, what, 0).octets(f"{what} kerb-message")
            realm = fields[1].kerberos_string(f"{what} target-domain") if fields[1] else None
            hint = fields[2].integer(f"{what} dclocator-hint") if fields[2] else None
        except DecodeError as exc:
            raise KkdcpError(f"not a KDC-PROXY-MESSAGE (MS-KKDCP 2.2.2): {exc}") from None
        if len(framed) < 5:
            raise KkdcpError("kerb-message is shorter than its length prefix and one byte")
        (length,) = struct.unpack(">I", framed[:4])
        if length != len(framed) - 4:
            raise KkdcpError(f"kerb-message length prefix says {length} bytes but "
                             f"{len(framed) - 4} follow (MS-KKDCP 2.2.2: the TCP framing)")
        return cls(framed[4:], realm, hint)


def request_realm(msg: ProxyMessage) -> str:
    """The realm to forward to: target-domain, else the KDC request's own realm."""
    if msg.message[0] not in _REQUEST_TAGS:
        raise KkdcpError(f"only AS-REQ and TGS-REQ are proxied (message tag "
                         f"0x{msg.message[0]:02x})")
    if msg.target_domain:
        return msg.target_domain
    try:
        return KdcReq.decode(msg.message).req_body.realm
    except DecodeError as exc:
        raise KkdcpError(f"the KDC request does not decode: {exc}") from None


Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class KdcProxyApp:
    """An ASGI app answering MS-KKDCP POSTs; mount it at /KdcProxy."""

    def __init__(self, realms: Mapping[str, RouteSpec], *, timeout: float = 3.0,
                 max_body: int = MAX_BODY, body_timeout: float = BODY_TIMEOUT) -> None:
        if not realms:
            raise ValueError("a KDC proxy needs at least one realm (REALM=ADDRESS)")
        self.forwarder = KdcForwarder(realms, timeout=timeout, max_message=MAX_KDC_MESSAGE)
        self.max_body = max_body
        self.body_timeout = body_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope.get("method") != "POST":
            await _plain(send, 405, "MS-KKDCP takes POST application/kerberos\n",
                         [(b"allow", b"POST")])
            return
        try:
            # The whole body within body_timeout: a client trickling or stalling its
            # body would otherwise hold the connection and its buffer for ever.
            async with asyncio.timeout(self.body_timeout):
                body = await _read_body(receive, self.max_body)
        except TimeoutError:
            await _plain(send, 408, f"request body not received within "
                         f"{self.body_timeout:g} s\n", [(b"connection", b"close")])
            return
        if body is None:
            await _plain(send, 413, f"request body larger than {self.max_body} bytes\n")
            return
        client = scope.get("client") or ("", 0)
        try:
            msg = ProxyMessage.decode(body)
            realm = request_realm(msg)
        except KkdcpError as exc:
            await _plain(send, 400, f"{exc}\n")
            return
        if realm not in self.forwarder.routes:
            log.warning("KdcProxy: refused realm %r from %s (not configured)", realm[:80],
                        client[0])
            await _plain(send, 400, f"realm {realm[:80]!r} is not served by this proxy\n")
            return
        reply, where = await self.forwarder.forward(ForwardToKdc(realm, msg.message),
                                                    peer=f"{client[0]}:{client[1]}")
        if isinstance(reply, KdcFailure):
            log.warning("KdcProxy: %s (%s)", reply.reason, where)
            await _plain(send, 503, f"{reply.reason}\n")
            return
        out = ProxyMessage(reply).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE.encode()),
                                (b"content-length", str(len(out)).encode())]})
        await send({"type": "http.response.body", "body": out})


async def _read_body(receive: Receive, cap: int) -> bytes | None:
    """The request body, or None as soon as it exceeds `cap` (never buffered past it)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks)
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _plain(send: Send, status: int, text: str,
                 extra: list[tuple[bytes, bytes]] | None = None) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), *(extra or [])]})
    await send({"type": "http.response.body", "body": body})


__all__ = ["KdcProxyApp", "KkdcpError", "ProxyMessage", "request_realm"]
