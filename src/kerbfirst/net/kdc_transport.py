"""Sending one KDC request and getting its reply, as MIT's sendto_kdc does (RFC 4120 7.2).

For each KDC in order:
- an address without a transport ("any", MIT's `kdc = host`) is tried over UDP first,
  then TCP; a request above `UDP_PREFERENCE_LIMIT` (MIT udp_preference_limit, 1465
  bytes) goes TCP first, since it would be fragmented or refused over UDP;
- a UDP reply that is KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG (52) makes us ask the same KDC
  again over TCP (RFC 4120 7.2.1);
- a KRB-ERROR KDC_ERR_SVC_UNAVAILABLE (29) moves on to the next KDC (as MIT does);
- every attempt has its own `timeout`; UDP is retransmitted after 1 s, 2 s, ... within it.
Every other reply, KRB-ERRORs included, is returned for the caller to interpret.
When no KDC answers, KdcUnreachable lists every address tried and what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Sequence

from kerbfirst.net.kdc_address import KdcAddress, KdcTransportName, parse_kdc_address
from kerbfirst.net.kdc_framing import MAX_MESSAGE_SIZE, FramingError, check_length, frame
from kerbfirst.net.krb_error_code import krb_error_code

__all__ = [
    "MAX_REPLY_SIZE",
    "UDP_PREFERENCE_LIMIT",
    "KdcAddress",
    "KdcUnreachable",
    "parse_kdc_address",
    "send_to_kdc",
    "send_to_kdc_sync",
]

UDP_PREFERENCE_LIMIT = 1465  # MIT krb5.conf udp_preference_limit default
MAX_REPLY_SIZE = MAX_MESSAGE_SIZE  # 1 MiB: a bigger stream reply is refused unread
_UDP_FIRST_RETRANSMIT = 1.0  # seconds; doubles after each retransmission

_KRB_ERR_RESPONSE_TOO_BIG = 52  # RFC 4120 7.5.9
_KDC_ERR_SVC_UNAVAILABLE = 29


class KdcUnreachable(Exception):
    """No KDC answered. `attempts` holds (address tried, what happened), in order."""

    def __init__(self, attempts: Sequence[tuple[KdcAddress, str]]) -> None:
        self.attempts = tuple(attempts)
        if self.attempts:
            tried = "; ".join(f"{address}: {why}" for address, why in self.attempts)
            text = (
                f"no KDC answered ({tried}). Check that the KDC is running and reachable "
                "and that the KDC addresses (krb5.conf `kdc =`, --kdc) are right."
            )
        else:
            text = "no KDC address was given; configure at least one (krb5.conf `kdc =`, --kdc)"
        super().__init__(text)


async def send_to_kdc(
    message: bytes,
    kdcs: Sequence[KdcAddress],
    *,
    timeout: float = 3.0,
    tcp_only: bool = False,
    max_reply: int = MAX_REPLY_SIZE,
) -> bytes:
    """Send `message` to the first KDC of `kdcs` that answers; return its reply. A stream
    reply announcing more than `max_reply` bytes is refused on its length prefix, unread."""
    if not 0 < len(message) <= MAX_MESSAGE_SIZE:
        raise ValueError(f"a KDC request must be 1..{MAX_MESSAGE_SIZE} bytes, not {len(message)}")
    if not timeout > 0:
        raise ValueError("timeout must be positive")
    attempts: list[tuple[KdcAddress, str]] = []
    for kdc in kdcs:
        plan = _transport_plan(kdc.transport, len(message), tcp_only)
        while plan:
            transport = plan.pop(0)
            tried = KdcAddress(transport, host=kdc.host, port=kdc.port, path=kdc.path)
            try:
                reply = await _exchange(tried, message, timeout, max_reply)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, FramingError) as exc:
                attempts.append((tried, _describe(exc, timeout)))
                continue
            code = krb_error_code(reply)
            if code == _KRB_ERR_RESPONSE_TOO_BIG and transport == "udp":
                attempts.append((tried, "reply too big for UDP (KRB_ERR_RESPONSE_TOO_BIG)"))
                if "tcp" not in plan:
                    plan.insert(0, "tcp")
                continue
            if code == _KDC_ERR_SVC_UNAVAILABLE:
                attempts.append((tried, "KDC_ERR_SVC_UNAVAILABLE"))
                break
            return reply
    raise KdcUnreachable(attempts)


def send_to_kdc_sync(
    message: bytes,
    kdcs: Sequence[KdcAddress],
    *,
    timeout: float = 3.0,
    tcp_only: bool = False,
) -> bytes:
    """send_to_kdc for synchronous callers (the CLI). Not callable inside an event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(send_to_kdc(message, kdcs, timeout=timeout, tcp_only=tcp_only))
    raise RuntimeError("send_to_kdc_sync was called inside an event loop; await send_to_kdc")


def _transport_plan(
    transport: KdcTransportName, message_size: int, tcp_only: bool
) -> list[KdcTransportName]:
    if transport in ("tcp", "unix"):
        return [transport]
    if tcp_only:
        return ["tcp"]
    if transport == "udp":
        return ["udp"]  # "tcp" is added only on KRB_ERR_RESPONSE_TOO_BIG
    return ["tcp", "udp"] if message_size > UDP_PREFERENCE_LIMIT else ["udp", "tcp"]


def _describe(exc: BaseException, timeout: float) -> str:
    if isinstance(exc, TimeoutError):
        return f"no reply within {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (nothing listening there)"
    if isinstance(exc, asyncio.IncompleteReadError):
        return "connection closed before a complete reply"
    if isinstance(exc, FramingError):
        return f"unusable reply: {exc}"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name: {exc.strerror}"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return type(exc).__name__


async def _exchange(kdc: KdcAddress, message: bytes, timeout: float, max_reply: int) -> bytes:
    if kdc.transport == "udp":
        reply = await _exchange_udp(kdc, message, timeout)
        if len(reply) > max_reply:
            raise FramingError(f"datagram of {len(reply)} bytes exceeds the limit of "
                               f"{max_reply} bytes")
        return reply
    async with asyncio.timeout(timeout):
        if kdc.transport == "unix":
            reader, writer = await asyncio.open_unix_connection(kdc.path)
        else:
            reader, writer = await asyncio.open_connection(kdc.host, kdc.port)
        try:
            writer.write(frame(message))
            await writer.drain()
            # readexactly: a stream read may return fewer bytes than asked (RFC 4120 7.2.2).
            length = check_length(await reader.readexactly(4), max_size=max_reply)
            return await reader.readexactly(length)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()


class _UdpReply(asyncio.DatagramProtocol):
    """The first datagram on a connected UDP socket (the kernel filters other senders)."""

    def __init__(self, reply: asyncio.Future[bytes]) -> None:
        self._reply = reply

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self._reply.done():
            self._reply.set_result(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable arrives as ConnectionRefusedError: nothing listens there.
        if not self._reply.done():
            self._reply.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and not self._reply.done():
            self._reply.set_exception(exc)


async def _exchange_udp(kdc: KdcAddress, message: bytes, timeout: float) -> bytes:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    reply: asyncio.Future[bytes] = loop.create_future()
    async with asyncio.timeout(timeout):
        transport, _ = await loop.create_datagram_endpoint(
            lambda: _UdpReply(reply), remote_addr=(kdc.host, kdc.port)
        )
    try:
        interval = _UDP_FIRST_RETRANSMIT
        transport.sendto(message)
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError
            done, _ = await asyncio.wait({reply}, timeout=min(interval, remaining))
            if done:
                return reply.result()
            if deadline - loop.time() > 0.05:
                transport.sendto(message)  # the datagram or its reply may have been lost
            interval *= 2
    finally:
        transport.close()
        if not reply.done():
            reply.cancel()
        elif not reply.cancelled():
            reply.exception()  # mark it retrieved; it was raised above if it mattered
