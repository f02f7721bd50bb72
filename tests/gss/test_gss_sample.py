"""The gss-sample driver over loopback: our initiator to our acceptor, and hostile peers that
stall, announce huge tokens or send garbage are dropped without hurting the server."""

from __future__ import annotations

import asyncio
import struct
from datetime import datetime

import pytest

from kerbfirst.gss.errors import KerberosErrorToken
from kerbfirst.gss.krb5_acceptor import Krb5Acceptor
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.net.gss_stream import (
    TOKEN_CONTEXT,
    TOKEN_CONTEXT_NEXT,
    TOKEN_NOOP,
    ReceivedMessage,
    SampleProtocolError,
    read_token,
    run_client,
    start_server,
)

from .fixtures import NOW, counter_random, keys, lookup_for, pair


def _clock() -> datetime:
    return NOW


async def _server(received: list[ReceivedMessage], timeout: float = 2.0) -> asyncio.Server:
    service_key, _ = keys(18)
    cache = ReplayCache()

    def new_acceptor() -> Krb5Acceptor:
        return Krb5Acceptor(key_lookup=lookup_for(service_key), replay_cache=cache,
                            random=counter_random(b"srv"))

    return await start_server("127.0.0.1", 0, new_acceptor=new_acceptor,
                              on_message=received.append, clock=_clock, timeout=timeout)


def test_our_initiator_to_our_acceptor_over_tcp() -> None:
    received: list[ReceivedMessage] = []

    async def scenario() -> None:
        server = await _server(received)
        port = server.sockets[0].getsockname()[1]
        try:
            ini, _, _, _ = pair()
            result = await run_client("127.0.0.1", port, ini, b"over tcp", timeout=5)
            assert result.mic_verified
            # the same AP-REQ again (a fresh initiator with the same clock and randomness)
            again, _, _, _ = pair()
            with pytest.raises(KerberosErrorToken) as info:
                await run_client("127.0.0.1", port, again, b"replayed", timeout=5)
            assert info.value.krb_error == 34
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
    assert [(m.data, m.client, m.confidential) for m in received] == [
        (b"over tcp", "alice@GSS.TEST", True)]


@pytest.mark.parametrize("payload", [
    b"\x11\x00\x00\x00\x00" + b"\x02\xff\xff\xff\xff",  # announces a 4 GiB token
    b"\x00\x00\x00\x05hello",  # v1 format
    b"\x11\x00\x00\x00\x00" + b"\x02\x00\x00\x00\x03abc",  # garbage context token
    b"\x04\x00\x00\x00\x01x",  # data without a context
    b"\x11\x00\x00",  # then stalls
])
def test_hostile_clients_are_dropped(payload: bytes) -> None:
    received: list[ReceivedMessage] = []

    async def scenario() -> None:
        server = await _server(received, timeout=0.5)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(payload)
            await writer.drain()
            async with asyncio.timeout(5):
                rest = await reader.read()  # the server closes the connection
            assert len(rest) < 1000
            writer.close()
            # and it still serves a well-behaved client afterwards
            ini, _, _, _ = pair()
            result = await run_client("127.0.0.1", port, ini, b"still alive", timeout=5)
            assert result.mic_verified
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(scenario())
    assert [m.data for m in received] == [b"still alive"]


def test_read_token_limits() -> None:
    async def scenario() -> None:
        reader = asyncio.StreamReader()
        reader.feed_data(bytes((TOKEN_CONTEXT,)) + struct.pack(">I", 100))
        with pytest.raises(SampleProtocolError, match="limit"):
            await read_token(reader, max_size=99)
        reader = asyncio.StreamReader()
        reader.feed_data(bytes((TOKEN_NOOP | TOKEN_CONTEXT_NEXT,)) + struct.pack(">I", 3) + b"ab")
        reader.feed_eof()
        with pytest.raises(SampleProtocolError, match="closed"):
            await read_token(reader)
        reader = asyncio.StreamReader()
        with pytest.raises(SampleProtocolError, match="nothing"):
            await read_token(reader, timeout=0.05)

    asyncio.run(scenario())
