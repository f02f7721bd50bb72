"""The KDC's network front end: UDP, TCP and UNIX stream listeners (RFC 4120 7.2.1, 7.2.2).

The KDC itself is a sans-I/O object (`KdcRequestHandler`); this module only moves bytes,
enforces limits and passes the clock. Limits, all per worker process:

- requests: at most `max_message_size` bytes (64 KiB by default, as Heimdal's kdc; at
  most 1 MiB, MIT krb5kdc's limit). A stream's 4-byte length prefix with the reserved high
  bit or a larger length closes the connection before the body is read; a larger datagram
  is dropped; either is recorded through the handler's optional `refused` (rate-limited
  audit). A stream reply above the same cap is replaced by KRB_ERR_RESPONSE_TOO_BIG;
- every read and write has `read_timeout` (slowloris); several requests per connection;
- at most `max_connections` streams; a new one evicts the oldest (MIT net-server.c
  does the same, so an attacker holding idle connections cannot lock clients out);
- UDP: datagrams wait in the kernel's socket buffer (bounded by SO_RCVBUF; the excess is
  dropped by the kernel, as for MIT krb5kdc) and are read by the handler thread itself, in
  batches of at most 64 (or `max_pending_datagrams`) before queued stream requests run;
  a reply above `max_dgram_reply_size` is replaced by the handler's KRB_ERR_RESPONSE_TOO_BIG so the
  client retries over TCP (RFC 4120 7.2.1);
- a handler that raises is logged (exception type and code location, never the request
  or the exception text, which may carry secrets) and the request dropped.

`serve_kdc` runs in the current event loop; `run_kdc_server` (kdc_workers) is the blocking
entry point with worker processes and signal handling.
"""

from __future__ import annotations

import asyncio
import dataclasses
import signal
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from kerbfirst.net import systemd
from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_framing import DEFAULT_MAX_REQUEST_SIZE, MAX_MESSAGE_SIZE
from kerbfirst.net.kdc_listeners import KdcServer, format_peer
from kerbfirst.net.kdc_sockets import Listener, bind_listeners, close_listeners
from kerbfirst.net.kdc_workers import supervise_workers

__all__ = [
    "HandlerFactory",
    "KdcRequestHandler",
    "KdcServer",
    "KdcServerConfig",
    "format_peer",
    "run_kdc_server",
    "serve_kdc",
]


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


async def serve_kdc(
    handler_factory: HandlerFactory,
    config: KdcServerConfig,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
    on_listening: Callable[[tuple[KdcAddress, ...]], None] | None = None,
    listeners: Sequence[Listener] | None = None,
) -> None:
    """Serve until `stop` is set (graceful: config.shutdown_grace) or the task is cancelled.

    `ready` is set once every listener accepts; `on_listening` receives the bound
    addresses first (real ports where port 0 was configured). `listeners` are sockets
    already bound by a supervising parent (run_kdc_server); `config.workers` is ignored here.
    """
    server = KdcServer(handler_factory, config, listeners=listeners)
    await server.start()
    graceful = False
    try:
        if on_listening is not None:
            on_listening(server.addresses)
        if ready is not None:
            ready.set()
        await (stop.wait() if stop is not None else asyncio.get_running_loop().create_future())
        graceful = True
    finally:
        await server.close(grace=None if graceful else 0)


def run_kdc_server(
    handler_factory: HandlerFactory,
    config: KdcServerConfig,
    *,
    on_listening: Callable[[tuple[KdcAddress, ...]], None] | None = None,
) -> int:
    """Serve until SIGTERM or SIGINT; return the exit status (0 = clean shutdown).

    With `config.workers` > 1 the sockets are bound here, once, and `workers` forked
    processes serve them (kdc_workers explains why not SO_REUSEPORT). `handler_factory`
    runs in each worker after the fork, so each builds its own KDC and database
    connection. UNIX socket files are removed on exit.
    """

    def ready(addresses: tuple[KdcAddress, ...]) -> None:
        if on_listening is not None:
            on_listening(addresses)
        # Type=notify services: every listener accepts (sd_notify(3) READY=1).
        systemd.notify(f"READY=1\nSTATUS=serving {', '.join(str(a) for a in addresses)}")

    def stopping() -> None:
        systemd.notify("STOPPING=1")

    def worker_main(release_signals: Callable[[], None], listeners: list[Listener] | None) -> int:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()

            def on_signal() -> None:
                if listeners is None and not stop.is_set():
                    stopping()  # the only process: it reports its own state
                stop.set()

            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, on_signal)
            release_signals()
            await serve_kdc(
                handler_factory,
                config,
                stop=stop,
                listeners=listeners,
                on_listening=ready if listeners is None else None,
            )

        asyncio.run(main())
        return 0

    if config.workers == 1:
        return worker_main(lambda: None, None)
    listeners = bind_listeners(
        udp=config.udp_listen,
        tcp=config.tcp_listen,
        unix=config.unix_paths,
        unix_mode=config.unix_mode,
    )
    try:
        ready(tuple(listener.address() for listener in listeners))
        return supervise_workers(
            lambda release: worker_main(release, listeners),
            config.workers,
            grace=config.shutdown_grace,
            on_stop=stopping,
        )
    finally:
        close_listeners(listeners, remove_unix_files=True)
