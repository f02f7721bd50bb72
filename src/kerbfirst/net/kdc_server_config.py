"""What the KDC's network front end is given: the handler interface the KDC core offers, a
factory that builds one per worker, and the listen addresses and limits (kdc_server.py
explains the limits). Apart from kdc_server so that the listeners can use them without
importing the server that imports them."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from kerbfirst.net.kdc_framing import DEFAULT_MAX_REQUEST_SIZE, MAX_MESSAGE_SIZE


class KdcRequestHandler(Protocol):
    """What the network layer needs from the KDC core (structural; kerbfirst.kdc provides it)."""

    def handle(self, request: bytes, *, peer: str, transport: str, now: datetime) -> bytes | None:
        """Answer one KDC request. None means drop it (no reply; streams are closed).

        peer is "ip:port" ("[v6]:port" for IPv6) or "unix"; transport is "udp", "tcp" or
        "unix"; now is timezone-aware UTC.
        """
        ...

    def response_too_big(self, request: bytes, *, now: datetime) -> bytes | None:
        """A KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG (52) for a UDP reply that does not fit."""
        ...


HandlerFactory = Callable[[], KdcRequestHandler]


@dataclasses.dataclass(frozen=True, slots=True, kw_only=True)
class KdcServerConfig:
    """Listen addresses and limits. Port 0 binds a free port (see KdcServer.addresses)."""

    udp_listen: tuple[tuple[str, int], ...] = ()
    tcp_listen: tuple[tuple[str, int], ...] = ()
    unix_paths: tuple[str, ...] = ()
    unix_mode: int = 0o660  # owner and group (the local services); never world-writable
    max_message_size: int = DEFAULT_MAX_REQUEST_SIZE
    read_timeout: float = 10.0
    max_connections: int = 45  # MIT kdc.conf max_tcp_or_rpc_data_connections default
    max_dgram_reply_size: int = 4096  # MIT kdc.conf max_dgram_reply_size default
    max_pending_datagrams: int = 256
    workers: int = 1
    shutdown_grace: float = 5.0

    def __post_init__(self) -> None:
        if not (self.udp_listen or self.tcp_listen or self.unix_paths):
            raise ValueError("KdcServerConfig: give at least one udp, tcp or unix listen address")
        for host, port in (*self.udp_listen, *self.tcp_listen):
            if not host or not 0 <= port <= 65535:
                raise ValueError(f"KdcServerConfig: bad listen address {host!r}:{port}")
        if self.unix_mode & ~0o777 or self.unix_mode & 0o002:
            raise ValueError(
                f"KdcServerConfig: unix_mode {self.unix_mode:o} must not be world-writable"
            )
        if not 0 < self.max_message_size <= MAX_MESSAGE_SIZE:
            raise ValueError(
                f"KdcServerConfig: max_message_size must be in 1..{MAX_MESSAGE_SIZE} bytes"
            )
        if not 0 < self.max_dgram_reply_size <= 65507:
            raise ValueError("KdcServerConfig: max_dgram_reply_size must be in 1..65507")
        for name in ("read_timeout", "shutdown_grace"):
            if not getattr(self, name) > 0:
                raise ValueError(f"KdcServerConfig: {name} must be positive")
        for name in ("max_connections", "max_pending_datagrams", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"KdcServerConfig: {name} must be at least 1")
