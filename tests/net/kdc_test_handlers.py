"""Small KDC handlers for the network tests; the real KDC is wired in elsewhere."""

from __future__ import annotations

import os
import time
from datetime import datetime


def der(tag: int, content: bytes) -> bytes:
    n = len(content)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def der_int(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return der(0x02, value.to_bytes(size, "big", signed=True))


def krb_error(code: int) -> bytes:
    """A complete KRB-ERROR (RFC 4120 5.9.1) with the given error-code."""
    gentime = der(0x18, b"20240101000000Z")
    sname = der(
        0x30, der(0xA0, der_int(2)) + der(0xA1, der(0x30, der(0x1B, b"krbtgt") + der(0x1B, b"R")))
    )
    fields = (
        der(0xA0, der_int(5))
        + der(0xA1, der_int(30))
        + der(0xA4, gentime)
        + der(0xA5, der_int(0))
        + der(0xA6, der_int(code))
        + der(0xA9, der(0x1B, b"R"))
        + der(0xAA, sname)
    )
    return der(0x7E, der(0x30, fields))


class EchoHandler:
    """Replies "transport|peer|tz|" + request; records every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, datetime]] = []

    def handle(self, request: bytes, *, peer: str, transport: str, now: datetime) -> bytes | None:
        self.calls.append((peer, transport, now))
        return f"{transport}|{peer}|{now.utcoffset()}|".encode() + request

    def response_too_big(self, request: bytes, *, now: datetime) -> bytes | None:
        return krb_error(52)


class BigReplyHandler(EchoHandler):
    """A 3000-byte reply: too big for a 1000-byte max_dgram_reply_size."""

    def handle(self, request: bytes, *, peer: str, transport: str, now: datetime) -> bytes | None:
        return transport.encode() + b":" + b"B" * 3000


class RaisingHandler(EchoHandler):
    """Raises (with a secret in the message) for requests starting with b"boom"."""

    def handle(self, request: bytes, *, peer: str, transport: str, now: datetime) -> bytes | None:
        if request.startswith(b"boom"):
            raise ValueError(f"key material {request!r}")
        if request.startswith(b"none"):
            return None
        return super().handle(request, peer=peer, transport=transport, now=now)


class SleepingHandler(EchoHandler):
    """Blocks for the number of milliseconds in the request (b"sleep:500"), then echoes."""

    def handle(self, request: bytes, *, peer: str, transport: str, now: datetime) -> bytes | None:
        if request.startswith(b"sleep:"):
            time.sleep(int(request[6:]) / 1000)
        return super().handle(request, peer=peer, transport=transport, now=now)


class PidHandler(SleepingHandler):
    """Answers with the worker's process id."""

    def handle(self, request: bytes, *, peer: str, transport: str, now: datetime) -> bytes | None:
        super().handle(request, peer=peer, transport=transport, now=now)
        return b"pid:%d" % os.getpid()


class SvcUnavailableHandler(EchoHandler):
    def handle(self, request: bytes, *, peer: str, transport: str, now: datetime) -> bytes | None:
        return krb_error(29)


def BrokenFactory() -> EchoHandler:  # named like the handler classes it stands in for
    """A KDC whose database cannot be opened: every worker fails at start."""
    raise OSError("database unavailable")
