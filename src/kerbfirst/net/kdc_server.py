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
import signal
from collections.abc import Callable, Sequence

from kerbfirst.net import systemd
from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_listeners import KdcServer, format_peer
from kerbfirst.net.kdc_server_config import HandlerFactory, KdcRequestHandler, KdcServerConfig
from kerbfirst.net.kdc_sockets import bind_listeners, close_listeners
from kerbfirst.net.kdc_workers import supervise_workers
from kerbfirst.net.listener import Listener

__all__ = [
    "HandlerFactory",
    "KdcRequestHandler",
    "KdcServer",
    "KdcServerConfig",
    "format_peer",
    "run_kdc_server",
    "serve_kdc",
]


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
