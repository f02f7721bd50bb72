"""The listeners of one KDC process: UDP datagrams and TCP/UNIX streams (RFC 4120 7.2).

See kdc_server for the limits enforced here and why; this module is the mechanism.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import socket
from collections.abc import Sequence
from typing import Any

from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_framing import FramingError, frame, read_framed
from kerbfirst.net.kdc_handler_calls import answer, log_handler_failure, refused, too_big
from kerbfirst.net.kdc_handler_thread import HandlerThread
from kerbfirst.net.kdc_server_config import HandlerFactory, KdcRequestHandler, KdcServerConfig
from kerbfirst.net.kdc_sockets import bind_listeners, close_listeners
from kerbfirst.net.listener import Listener

log = logging.getLogger("kerbfirst.net.kdc_server")  # one logger name for the whole server

_MAX_DATAGRAM = 65535  # larger than any UDP payload: a datagram is never truncated
_DATAGRAM_BATCH = 64  # datagrams answered before queued stream requests get a turn


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
        self._udp_socks: list[socket.socket] = []
        self._streams: dict[asyncio.Task[None], _Stream] = {}  # in accept order
        self._stopping = False
        self._closed = False

    @property
    def addresses(self) -> tuple[KdcAddress, ...]:
        """The bound addresses, with the real port where port 0 was asked for."""
        return tuple(listener.address() for listener in self._listeners)

    async def start(self) -> None:
        if self._owns_listeners:
            self._listeners = bind_listeners(
                udp=self._config.udp_listen,
                tcp=self._config.tcp_listen,
                unix=self._config.unix_paths,
                unix_mode=self._config.unix_mode,
            )
        try:
            self._thread = HandlerThread(asyncio.get_running_loop())
            self._handler = await self._thread.call(self._factory)
            for listener in self._listeners:
                if listener.transport == "udp":
                    # Served on the handler thread (kdc_handler_thread explains why).
                    sock = listener.sock
                    sock.setblocking(False)
                    self._udp_socks.append(sock)
                    self._thread.add_reader(sock, functools.partial(self._read_datagrams, sock))
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
        pending: set[asyncio.Task[None]] = set(self._streams)
        if self._thread is not None and self._udp_socks:
            # Returns once the handler thread has answered the datagrams it had read.
            pending.add(asyncio.get_running_loop().create_task(self._stop_reading_datagrams()))
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
        """A stream request: one hop to the handler thread and back."""
        handler, thread = self._handler, self._thread
        if handler is None or thread is None:
            return None

        def call() -> bytes | None:
            reply = answer(handler, request, peer, transport)
            limit = self._config.max_message_size
            if reply is not None and len(reply) > limit:
                # A stream reply has the same cap as a request (both directions, as MIT):
                # a client would refuse to read more. RFC 4120 7.2.1's error is the
                # smallest honest answer.
                reply = too_big(handler, request, peer, transport, limit)
            return reply

        try:
            return await thread.call(call)
        except Exception as exc:  # e.g. the handler raised SystemExit (see HandlerThread)
            log_handler_failure("handle", exc, peer, transport)
            return None

    async def _record_refusal(self, reason: str, peer: str, transport: str) -> None:
        """A stream request refused by the transport: recorded on the handler thread."""
        handler, thread = self._handler, self._thread
        if handler is None or thread is None:
            return
        with contextlib.suppress(Exception):
            await thread.call(lambda: refused(handler, reason, peer, transport))

    # -- UDP (RFC 4120 7.2.1) ---------------------------------------------------
    #
    # Read, answered and replied to on the handler thread, in batches (see
    # kdc_handler_thread): the kernel's socket buffer is the queue of pending datagrams.

    def _read_datagrams(self, sock: socket.socket) -> None:
        """Run on the handler thread when `sock` is readable: answer up to a batch.

        Three phases: receive what is queued (up to the batch), answer each, send the
        replies: interleaving a receive and a send with every request lets the kernel's
        network path evict the interpreter's code and data from the CPU caches between
        requests (bench/kdc_bench.py shows the rate either way).
        """
        handler = self._handler
        if handler is None:
            return
        batch: list[tuple[bytes, tuple[Any, ...]]] = []
        for _ in range(min(_DATAGRAM_BATCH, self._config.max_pending_datagrams)):
            try:
                request, addr = sock.recvfrom(_MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:  # ICMP errors for earlier replies; the socket closed
                log.debug("KDC UDP receive failed: %s", type(exc).__name__)
                break
            if request and len(request) <= self._config.max_message_size:
                batch.append((request, addr))
            else:
                refused(
                    handler,
                    f"datagram of {len(request)} bytes (limit {self._config.max_message_size}); "
                    "dropped",
                    format_peer(addr),
                    "udp",
                )
        replies: list[tuple[bytes, tuple[Any, ...], str]] = []
        for request, addr in batch:
            if self._stopping:
                break  # close() unregisters the socket; unanswered datagrams get no answer
            try:
                answer = self._answer_datagram(handler, request, addr)
            except Exception as exc:  # never let one datagram stop the server
                log_handler_failure("udp reply", exc, format_peer(addr), "udp")
                continue
            if answer is not None:
                replies.append(answer)
        for reply, addr, peer in replies:
            try:
                sock.sendto(reply, addr)
            except (BlockingIOError, InterruptedError):
                # The kernel's send buffer is full: drop, as a router would; the client
                # retransmits (RFC 4120 7.2.1).
                log.warning("KDC UDP send buffer full; reply to %s dropped", peer)
            except OSError as exc:
                log.debug("KDC UDP send to %s failed: %s", peer, type(exc).__name__)

    def _answer_datagram(
        self, handler: KdcRequestHandler, request: bytes, addr: tuple[Any, ...]
    ) -> tuple[bytes, tuple[Any, ...], str] | None:
        """(reply, addr, peer) for one datagram, or None when nothing is to be sent."""
        peer = format_peer(addr)
        reply = answer(handler, request, peer, "udp")
        limit = self._config.max_dgram_reply_size
        if reply is not None and len(reply) > limit:
            reply = too_big(handler, request, peer, "udp", limit)
        if reply is None:
            return None
        return reply, addr, peer

    async def _stop_reading_datagrams(self) -> None:
        if self._thread is not None:
            for sock in self._udp_socks:
                await self._thread.remove_reader(sock)

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
                await self._record_refusal(f"{exc}; connection closed", peer, transport)
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
