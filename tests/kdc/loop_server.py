"""Test-only KDC transport: asyncio UDP + TCP on 127.0.0.1 in a thread.

The production server is net/'s; this one exists so MIT's kinit/kvno can talk to the pure
Kdc in tests/kdc/test_mit_peer.py. TCP framing is RFC 4120 7.2.2 (4-byte length).
"""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime

from kerbfirst.kdc import Kdc

MAX_TCP_REQUEST = 64 * 1024


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, kdc: Kdc) -> None:
        self.kdc = kdc
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        reply = self.kdc.handle(data, peer=addr[0], transport="udp", now=datetime.now(UTC))
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


class LoopKdcServer:
    def __init__(self, kdc: Kdc, port: int) -> None:
        self.kdc = kdc
        self.port = port
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None

    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")[0]
        try:
            while True:
                header = await asyncio.wait_for(reader.readexactly(4), timeout=10)
                length = int.from_bytes(header, "big")
                if length > MAX_TCP_REQUEST:
                    break
                data = await asyncio.wait_for(reader.readexactly(length), timeout=10)
                reply = self.kdc.handle(data, peer=peer, transport="tcp", now=datetime.now(UTC))
                if reply is None:
                    break
                writer.write(len(reply).to_bytes(4, "big") + reply)
                await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        udp, _ = await self._loop.create_datagram_endpoint(
            lambda: _Udp(self.kdc), local_addr=("127.0.0.1", self.port)
        )
        tcp = await asyncio.start_server(self._tcp, "127.0.0.1", self.port)
        self._ready.set()
        await self._stop.wait()
        udp.close()
        tcp.close()
        await tcp.wait_closed()

    def _run(self) -> None:
        self._loop.run_until_complete(self._main())

    def __enter__(self) -> LoopKdcServer:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("test KDC server did not start within 10 s")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
