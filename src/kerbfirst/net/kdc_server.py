"""The KDC's network front end: UDP, TCP and UNIX stream listeners (RFC 4120 7.2.1, 7.2.2).

The KDC itself is a sans-I/O object (`KdcRequestHandler`); this module only moves bytes,
enforces limits and passes the clock. Limits, all per worker process:

- stream messages: 4-byte length prefix; the reserved high bit or a length above
  `max_message_size` (1 MiB, as MIT krb5kdc) closes the connection before the body is read;
- every read and write has `read_timeout` (slowloris); several requests per connection;
- at most `max_connections` streams; a new one evicts the oldest (MIT net-server.c
  does the same, so an attacker holding idle connections cannot lock clients out);
- UDP: at most `max_pending_datagrams` requests queued; a reply above
  `max_dgram_reply_size` is replaced by the handler's KRB_ERR_RESPONSE_TOO_BIG so the
  client retries over TCP (RFC 4120 7.2.1);
- a handler that raises is logged (exception type and code location, never the request
  or the exception text, which may carry secrets) and the request dropped.

`serve_kdc` runs in the current event loop; `run_kdc_server` (kdc_workers) is the blocking
entry point with worker processes and signal handling.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, cast

from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_framing import MAX_MESSAGE_SIZE, FramingError, frame, read_framed
from kerbfirst.net.kdc_handler_thread import HandlerThread
from kerbfirst.net.kdc_sockets import Listener, bind_listeners, close_listeners
from kerbfirst.net.kdc_workers import supervise_workers

log = logging.getLogger(__name__)


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
    max_message_size: int = MAX_MESSAGE_SIZE
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
        if not 0 < self.max_message_size < 2**31:
            raise ValueError("KdcServerConfig: max_message_size must be in 1..2**31-1")
        if not 0 < self.max_dgram_reply_size <= 65507:
            raise ValueError("KdcServerConfig: max_dgram_reply_size must be in 1..65507")
        for name in ("read_timeout", "shutdown_grace"):
            if not getattr(self, name) > 0:
                raise ValueError(f"KdcServerConfig: {name} must be positive")
        for name in ("max_connections", "max_pending_datagrams", "workers"):
            if getattr(self, name) < 1:
                raise ValueError(f"KdcServerConfig: {name} must be at least 1")


def format_peer(sockname: object) -> str:
    """("1.2.3.4", 88) -> "1.2.3.4:88"; IPv6 hosts in brackets."""
    if isinstance(sockname, tuple) and len(sockname) >= 2:
        host, port = str(sockname[0]), sockname[1]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return "unknown"


@dataclasses.dataclass(slots=True, eq=False)
class _Stream:
    task: asyncio.Task[None]
    writer: asyncio.StreamWriter
    busy: bool = False  # in the handler or writing a reply: finish it at shutdown
    dropped: bool = False  # cancelled by the server itself (eviction, shutdown)

    def drop(self) -> None:
        self.dropped = True
        self.task.cancel()


class KdcServer:
    """The listeners of one process, sharing one handler (built on the handler thread)."""

    def __init__(
        self,
        handler_factory: HandlerFactory,
        config: KdcServerConfig,
        *,
        listeners: Sequence[Listener] | None = None,
    ) -> None:
        """`listeners`: sockets bound elsewhere (a supervising parent), which this server
        closes but whose UNIX files it leaves to their owner. Without them it binds
        `config`'s addresses itself and removes its UNIX files on close."""
        self._factory = handler_factory
        self._config = config
        self._listeners = list(listeners) if listeners is not None else []
        self._owns_listeners = listeners is None
        self._handler: KdcRequestHandler | None = None
        self._thread: HandlerThread | None = None
        self._stream_servers: list[asyncio.Server] = []
        self._datagram_transports: list[asyncio.DatagramTransport] = []
        self._streams: dict[asyncio.Task[None], _Stream] = {}  # in accept order
        self._datagram_tasks: set[asyncio.Task[None]] = set()
        self._stopping = False
        self._closed = False

    @property
    def addresses(self) -> tuple[KdcAddress, ...]:
        """The bound addresses, with the real port where port 0 was asked for."""
        return tuple(listener.address() for listener in self._listeners)

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        if self._owns_listeners:
            self._listeners = bind_listeners(
                udp=self._config.udp_listen,
                tcp=self._config.tcp_listen,
                unix=self._config.unix_paths,
                unix_mode=self._config.unix_mode,
            )
        try:
            self._thread = HandlerThread(loop)
            self._handler = await self._thread.call(self._factory)
            for listener in self._listeners:
                if listener.transport == "udp":
                    transport, _ = await loop.create_datagram_endpoint(
                        lambda: _DatagramListener(self), sock=listener.sock
                    )
                    self._datagram_transports.append(transport)
                elif listener.transport == "tcp":
                    self._stream_servers.append(
                        await asyncio.start_server(self._tcp_connected, sock=listener.sock)
                    )
                else:
                    self._stream_servers.append(
                        await asyncio.start_unix_server(self._unix_connected, sock=listener.sock)
                    )
        except BaseException:
            await self.close(grace=0)
            raise

    async def close(self, *, grace: float | None = None) -> None:
        """Stop accepting, let in-flight requests finish for `grace` seconds, then close."""
        if self._closed:
            return
        self._closed = self._stopping = True
        grace = self._config.shutdown_grace if grace is None else grace
        for server in self._stream_servers:
            server.close()
        for stream in list(self._streams.values()):
            if not stream.busy:
                stream.drop()  # idle or mid-read: nothing promised yet
        pending = set(self._streams) | self._datagram_tasks
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace)
            for task in late:
                if task in self._streams:
                    self._streams[task].drop()
                else:
                    task.cancel()
            if late:
                log.warning(
                    "KDC shutdown: %d requests did not finish within %.1f s", len(late), grace
                )
                await asyncio.wait(late, timeout=1.0)
        for transport in self._datagram_transports:
            transport.close()
        for server in self._stream_servers:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    await server.wait_closed()
        if self._thread is not None:
            self._thread.stop()
        close_listeners(self._listeners, remove_unix_files=self._owns_listeners)

    async def __aenter__(self) -> KdcServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- dispatch -------------------------------------------------------------

    async def _answer(self, request: bytes, peer: str, transport: str) -> bytes | None:
        handler, thread = self._handler, self._thread
        if handler is None or thread is None:
            return None

        def call() -> bytes | None:
            # The clock is read here, just before the KDC runs (RFC 4120 skew checks).
            return handler.handle(request, peer=peer, transport=transport, now=datetime.now(UTC))

        return await self._call_handler("handle", call, peer, transport)

    async def _too_big(self, request: bytes, peer: str) -> bytes | None:
        handler, thread = self._handler, self._thread
        if handler is None or thread is None:
            return None

        def call() -> bytes | None:
            return handler.response_too_big(request, now=datetime.now(UTC))

        return await self._call_handler("response_too_big", call, peer, "udp")

    async def _call_handler(
        self, method: str, call: Callable[[], bytes | None], peer: str, transport: str
    ) -> bytes | None:
        if self._thread is None:
            return None
        try:
            reply = await self._thread.call(call)
        except Exception as exc:
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
            return None
        if reply is not None and not isinstance(reply, bytes):
            log.error(
                "KDC %s returned %s, not bytes; request dropped", method, type(reply).__name__
            )
            return None
        return reply

    # -- UDP (RFC 4120 7.2.1) ---------------------------------------------------

    def datagram_received(
        self, transport: asyncio.DatagramTransport, data: bytes, addr: tuple[Any, ...]
    ) -> None:
        if self._stopping or not data or len(data) > self._config.max_message_size:
            return
        if len(self._datagram_tasks) >= self._config.max_pending_datagrams:
            log.warning("KDC UDP queue full (%d); datagram dropped", len(self._datagram_tasks))
            return
        task = asyncio.get_running_loop().create_task(self._answer_datagram(transport, data, addr))
        self._datagram_tasks.add(task)
        task.add_done_callback(self._datagram_tasks.discard)

    async def _answer_datagram(
        self, transport: asyncio.DatagramTransport, request: bytes, addr: tuple[Any, ...]
    ) -> None:
        peer = format_peer(addr)
        reply = await self._answer(request, peer, "udp")
        if reply is not None and len(reply) > self._config.max_dgram_reply_size:
            reply = await self._too_big(request, peer)
            if reply is not None and len(reply) > self._config.max_dgram_reply_size:
                log.error("KDC response_too_big reply of %d bytes does not fit either", len(reply))
                return
        if reply is not None and not transport.is_closing():
            transport.sendto(reply, addr)

    # -- TCP and UNIX streams (RFC 4120 7.2.2) ----------------------------------

    async def _tcp_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await self._serve_stream(
            reader, writer, "tcp", format_peer(writer.get_extra_info("peername"))
        )

    async def _unix_connected(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await self._serve_stream(reader, writer, "unix", "unix")

    async def _serve_stream(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, transport: str, peer: str
    ) -> None:
        task = asyncio.current_task()
        if task is None or self._stopping:
            writer.close()
            return
        stream = _Stream(task, writer)
        if len(self._streams) >= self._config.max_connections:
            oldest = next(iter(self._streams.values()))
            log.warning("KDC at %d connections; closing the oldest", len(self._streams))
            self._streams.pop(oldest.task, None)
            oldest.drop()
        self._streams[task] = stream
        try:
            await self._stream_requests(reader, writer, stream, transport, peer)
        except (ConnectionError, OSError) as exc:
            log.info("KDC %s connection from %s failed: %s", transport, peer, type(exc).__name__)
        except asyncio.CancelledError:
            # Our own cancellation ends the connection normally: asyncio 3.11's stream
            # server logs a task that ends cancelled as an error.
            if not stream.dropped:
                raise
        finally:
            self._streams.pop(task, None)
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await writer.wait_closed()

    async def _stream_requests(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stream: _Stream,
        transport: str,
        peer: str,
    ) -> None:
        timeout = self._config.read_timeout
        while not self._stopping:
            stream.busy = False
            try:
                request = await read_framed(
                    reader, max_size=self._config.max_message_size, timeout=timeout
                )
            except FramingError as exc:
                log.info("KDC closing %s connection from %s: %s", transport, peer, exc)
                return
            except TimeoutError:
                log.info(
                    "KDC closing %s connection from %s: no complete message within %.1f s",
                    transport,
                    peer,
                    timeout,
                )
                return
            except asyncio.IncompleteReadError:
                log.info("KDC %s connection from %s closed mid-message", transport, peer)
                return
            if request is None:
                return
            stream.busy = True
            reply = await self._answer(request, peer, transport)
            if reply is None:
                return  # closing tells the client at once that no answer is coming
            writer.write(frame(reply))
            async with asyncio.timeout(timeout):
                await writer.drain()


class _DatagramListener(asyncio.DatagramProtocol):
    def __init__(self, server: KdcServer) -> None:
        self._server = server
        self._transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Not an isinstance check: asyncio's selector datagram transport does not inherit
        # from asyncio.DatagramTransport (CPython 3.11).
        self._transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        if self._transport is not None:
            self._server.datagram_received(self._transport, data, addr)

    def error_received(self, exc: Exception) -> None:
        # ICMP errors for earlier replies (client gone); nothing to do.
        log.debug("KDC UDP socket error: %s", type(exc).__name__)


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

    def worker_main(release_signals: Callable[[], None], listeners: list[Listener] | None) -> int:
        async def main() -> None:
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, stop.set)
            release_signals()
            await serve_kdc(
                handler_factory,
                config,
                stop=stop,
                listeners=listeners,
                on_listening=on_listening if listeners is None else None,
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
        if on_listening is not None:
            on_listening(tuple(listener.address() for listener in listeners))
        return supervise_workers(
            lambda release: worker_main(release, listeners),
            config.workers,
            grace=config.shutdown_grace,
        )
    finally:
        close_listeners(listeners, remove_unix_files=True)
