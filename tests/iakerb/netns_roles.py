"""The processes of the network-namespace topology test, one per namespace.

usage: python netns_roles.py kdc HOST PORT SEED
       python netns_roles.py server HOST PORT SEED KDC_ADDRESS
`kdc`: our LocalKDC on HOST:PORT (UDP and TCP), printing `REQUEST <peer>` for every
request it receives, so the test sees who talked to the KDC.
`server`: our IAKerb acceptor (gss-sample protocol) on HOST:PORT, forwarding REALM to
KDC_ADDRESS only, printing each conversation's audit event as a JSON line.
Both print READY once listening and serve until SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import signal
import sys
from datetime import datetime

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))

from kdc.memory_realm import REALM, make_realm
from kerbfirst.gss.iakerb import IakerbAcceptor, IakerbAuditEvent
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.net.iakerb_proxy import KdcForwarder
from kerbfirst.net.iakerb_server import start_mechanism_server
from kerbfirst.net.kdc_server import KdcServer, KdcServerConfig


class LoggingKdc:
    def __init__(self, seed: int) -> None:
        self.kdc = make_realm(seed=seed).kdc

    def handle(self, request: bytes, *, peer: str, transport: str, now: datetime) -> bytes | None:
        print(f"REQUEST {peer} {transport}", flush=True)
        return self.kdc.handle(request, peer=peer, transport=transport, now=now)

    def response_too_big(self, request: bytes, *, now: datetime) -> bytes | None:
        return self.kdc.response_too_big(request, now=now)


async def _until_term() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    print("READY", flush=True)
    await stop.wait()


async def kdc(host: str, port: int, seed: int) -> None:
    server = KdcServer(lambda: LoggingKdc(seed), KdcServerConfig(
        udp_listen=((host, port),), tcp_listen=((host, port),)))
    await server.start()
    try:
        await _until_term()
    finally:
        await server.close(grace=0)


async def server(host: str, port: int, seed: int, kdc_address: str) -> None:
    from iakerb.iakerb_env import key_lookup

    lookup = key_lookup(make_realm(seed=seed))
    cache = ReplayCache()

    def emit(event: IakerbAuditEvent) -> None:
        print(json.dumps(event.to_json()), flush=True)

    def new_acceptor(peer: str) -> IakerbAcceptor:
        return IakerbAcceptor(key_lookup=lookup, replay_cache=cache, random=os.urandom,
                              realm=REALM, peer=peer, audit=emit)

    srv = await start_mechanism_server(host, port, new_acceptor=new_acceptor,
                                       forwarder=KdcForwarder({REALM: [kdc_address]}, timeout=5),
                                       on_message=lambda m: None)
    try:
        await _until_term()
    finally:
        srv.close()


if __name__ == "__main__":
    role, host, port, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if role == "kdc":
        asyncio.run(kdc(host, port, seed))
    else:
        asyncio.run(server(host, port, seed, sys.argv[5]))
