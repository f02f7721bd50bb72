"""Helpers for the network tests: loopback only, temp dirs only."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Any

from kerbfirst.net.kdc_server import KdcServer, KdcServerConfig


def run_async(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    """Run an async test in a fresh event loop, bounded so a hang fails instead of stalling."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        async def bounded() -> None:
            async with asyncio.timeout(20):
                await fn(*args, **kwargs)

        asyncio.run(bounded())

    return wrapper


@contextlib.asynccontextmanager
async def running_server(handler: object, **config: Any) -> AsyncIterator[KdcServer]:
    config.setdefault("udp_listen", (("127.0.0.1", 0),))
    config.setdefault("tcp_listen", (("127.0.0.1", 0),))
    server = KdcServer(lambda: handler, KdcServerConfig(**config))  # type: ignore[arg-type, return-value]
    await server.start()
    try:
        yield server
    finally:
        await server.close(grace=1.0)


def address_of(server: KdcServer, transport: str) -> Any:
    return next(a for a in server.addresses if a.transport == transport)


def frame(message: bytes) -> bytes:
    return len(message).to_bytes(4, "big") + message


async def read_reply(reader: asyncio.StreamReader, timeout: float = 3.0) -> bytes:
    async with asyncio.timeout(timeout):
        length = int.from_bytes(await reader.readexactly(4), "big")
        return await reader.readexactly(length)


async def wait_closed_by_peer(reader: asyncio.StreamReader, timeout: float = 3.0) -> bytes:
    """Read until EOF; what arrived before the server closed the connection."""
    async with asyncio.timeout(timeout):
        return await reader.read()
