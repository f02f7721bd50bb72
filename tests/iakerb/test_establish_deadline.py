"""An unauthenticated connection cannot keep its place for long: a peer that drips one
small token just inside each read timeout (realm discovery, over and over) was served
until the 26-round cap, i.e. 26 read timeouts (over two minutes at the default), so a few
hundred such peers held every connection slot. The whole establishment now has a budget of
ESTABLISH_ROUNDS read timeouts; a legitimate client is served once the slot is free."""

from __future__ import annotations

import asyncio
import os
import struct
import time

from kerbfirst.gss.iakerb import IakerbAcceptor
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.net.gss_stream import TOKEN_CONTEXT, TOKEN_CONTEXT_NEXT, TOKEN_NOOP
from kerbfirst.net.iakerb_proxy import KdcForwarder
from kerbfirst.net.iakerb_server import start_mechanism_server

from .iakerb_env import REALM, key_lookup, make_realm

DISCOVERY = bytes.fromhex("601006062b060105020505013004a1020c00")  # MIT 1.22's
TIMEOUT = 0.5


async def _drip(port: int) -> float:
    """Send discovery tokens each just inside the read timeout; seconds until cut off."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(bytes((TOKEN_NOOP | TOKEN_CONTEXT_NEXT,)) + struct.pack(">I", 0))
    try:
        while time.monotonic() - started < 60:
            writer.write(bytes((TOKEN_CONTEXT,)) + struct.pack(">I", len(DISCOVERY))
                         + DISCOVERY)
            await writer.drain()
            header = await reader.readexactly(5)
            await reader.readexactly(struct.unpack(">I", header[1:])[0])
            await asyncio.sleep(TIMEOUT * 0.8)
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()
    return time.monotonic() - started


def test_a_dripping_peer_is_cut_off_after_the_establishment_budget() -> None:
    realm = make_realm(seed=71)
    cache = ReplayCache()

    def new_acceptor(peer: str) -> IakerbAcceptor:
        return IakerbAcceptor(key_lookup=key_lookup(realm), replay_cache=cache,
                              random=os.urandom, realm=REALM, peer=peer)

    async def scenario() -> list[float]:
        server = await start_mechanism_server(
            "127.0.0.1", 0, new_acceptor=new_acceptor,
            forwarder=KdcForwarder({REALM: realm.kdc}, timeout=TIMEOUT),
            on_message=lambda m: None, timeout=TIMEOUT, max_connections=2)
        port = server.sockets[0].getsockname()[1]
        try:
            return list(await asyncio.gather(_drip(port), _drip(port)))
        finally:
            server.close()
            await server.wait_closed()

    held = asyncio.run(scenario())
    # The budget is ESTABLISH_ROUNDS (6) read timeouts; before it, 26 (13 s here).
    assert all(6 * TIMEOUT - 0.2 <= h <= 8 * TIMEOUT for h in held), held
