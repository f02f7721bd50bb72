"""Record framing of Kerberos messages on stream transports (RFC 4120 section 7.2.2).

Over TCP (and our UNIX stream socket) every KDC message is preceded by its length as a
4-byte big-endian integer. The high bit of that length is reserved for an extension
mechanism nobody deployed; a peer that sets it, or announces more than we are willing to
buffer, is refused before a single byte of the body is read (kdcproxy CVE-2025-59089 is
what happens when a length is trusted).
"""

from __future__ import annotations

import asyncio

#: MIT krb5kdc refuses stream messages above 1 MiB; nothing larger is ever read or sent.
MAX_MESSAGE_SIZE = 1024 * 1024

#: The KDC's default cap on a request (and on its stream replies): Heimdal's kdc default
#: (max-request, 64 KiB). Real requests are far smaller: an AS-REQ is a few hundred bytes;
#: a TGS-REQ carries a ticket, a few KiB with a Windows PAC, at most Windows' 64 KiB
#: MaxTokenSize. Configurable up to MAX_MESSAGE_SIZE ([kdc] max_message_size).
DEFAULT_MAX_REQUEST_SIZE = 64 * 1024

_HIGH_BIT = 0x8000_0000


class FramingError(Exception):
    """The peer announced a length we refuse to read; the stream must be closed."""


def frame(message: bytes) -> bytes:
    """Prefix `message` with its 4-byte big-endian length (RFC 4120 7.2.2)."""
    if len(message) >= _HIGH_BIT:
        raise ValueError(
            f"a Kerberos stream message is limited to 2**31-1 bytes, not {len(message)}"
        )
    return len(message).to_bytes(4, "big") + message


def check_length(prefix: bytes, *, max_size: int) -> int:
    """Decode a length prefix, refusing the reserved high bit and anything above `max_size`."""
    if len(prefix) != 4:
        raise FramingError(f"a length prefix is 4 bytes, got {len(prefix)}")
    length = int.from_bytes(prefix, "big")
    if length & _HIGH_BIT:
        # RFC 4120 7.2.2: the high bit announces an extension we do not implement.
        raise FramingError("length prefix has the reserved high bit set (RFC 4120 7.2.2)")
    if length > max_size:
        raise FramingError(f"announced length {length} exceeds the limit of {max_size} bytes")
    return length


async def read_framed(
    reader: asyncio.StreamReader, *, max_size: int, timeout: float
) -> bytes | None:
    """Read one framed message; None on a clean end of stream before a new message.

    Each of the two reads (prefix, body) has its own `timeout`, so a peer that trickles
    bytes (slowloris) holds a connection at most 2 * timeout per message. readexactly,
    never read(n): a stream read may return fewer bytes than asked.
    Raises FramingError, TimeoutError, or asyncio.IncompleteReadError (truncated message).
    """
    try:
        async with asyncio.timeout(timeout):
            prefix = await reader.readexactly(4)
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    length = check_length(prefix, max_size=max_size)
    async with asyncio.timeout(timeout):
        return await reader.readexactly(length)
