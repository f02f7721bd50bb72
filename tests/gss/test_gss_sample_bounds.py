"""The krb5 sample-protocol server (`net.gss_stream.start_server`) is bounded like the
IAKerb server: a context token above its limit is refused unread with an error naming the
size and the limit, and connections above the cap are closed at once. Before, it read any
token up to 1 MiB on every connection and served any number of them."""

from __future__ import annotations

import asyncio
import logging
import struct

import pytest

from kerbfirst.gss.krb5_acceptor import Krb5Acceptor
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.net.gss_stream import (
    SERVER_MAX_TOKEN,
    TOKEN_CONTEXT,
    TOKEN_CONTEXT_NEXT,
    TOKEN_NOOP,
    start_server,
)

from .fixtures import counter_random, keys, lookup_for

OPEN = bytes((TOKEN_NOOP | TOKEN_CONTEXT_NEXT,)) + struct.pack(">I", 0)


async def _server(*, timeout: float, max_connections: int = 256) -> asyncio.Server:
    service_key, _ = keys(18)
    cache = ReplayCache()

    def new_acceptor() -> Krb5Acceptor:
        return Krb5Acceptor(key_lookup=lookup_for(service_key), replay_cache=cache,
                            random=counter_random(b"srv"))

    return await start_server("127.0.0.1", 0, new_acceptor=new_acceptor,
                              on_message=lambda m: None, timeout=timeout,
                              max_connections=max_connections)


async def _closed(reader: asyncio.StreamReader, within: float) -> bool:
    async with asyncio.timeout(within):
        return await reader.read(1) == b""


def test_a_token_above_the_limit_is_refused_unread(caplog: pytest.LogCaptureFixture) -> None:
    size = 512 * 1024  # under the old 1 MiB read cap, above the server's limit

    async def scenario() -> None:
        server = await _server(timeout=5.0)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(OPEN + bytes((TOKEN_CONTEXT,)) + struct.pack(">I", size))
            writer.write(b"\0" * 4096)  # the start of it; the rest never comes
            await writer.drain()
            assert await _closed(reader, 2.0)  # closed at once, not after the read timeout
            writer.close()
        finally:
            server.close()
            await server.wait_closed()

    with caplog.at_level(logging.WARNING, logger="kerbfirst.net.gss_stream"):
        asyncio.run(scenario())
    assert f"peer announced a {size}-byte token; the limit is {SERVER_MAX_TOKEN}" in caplog.text


def test_connections_above_the_cap_are_closed_at_once() -> None:
    async def scenario() -> None:
        server = await _server(timeout=5.0, max_connections=2)
        port = server.sockets[0].getsockname()[1]
        try:
            held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
            for _, w in held:
                w.write(OPEN)
                await w.drain()
            await asyncio.sleep(0.1)
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            assert await _closed(reader, 2.0)
            writer.close()
            for r, _ in held:  # the two within the cap are still being served
                with pytest.raises(TimeoutError):
                    await _closed(r, 0.3)
            for _, w in held:
                w.close()
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
