"""What does IAKerb cost? A full authentication through our IAKerb acceptor against direct
Kerberos with the same KDC, all on loopback, and the acceptor's throughput.

Run: .venv-dev/bin/python bench/iakerb_bench.py [ROUNDS] [CONCURRENCY]
(from the repository root). Prints:
- direct: AS (with the pre-auth round trip) and TGS to the KDC over TCP, then AP-REQ/AP-REP
  with the server over the gss-sample protocol;
- iakerb: the same messages, tunnelled through the server, which forwards them to the
  same KDC over TCP (3 extra client<->server round trips);
- the acceptor's own CPU per exchange (sans-I/O step + kdc_reply, no KDC, no sockets);
- throughput: complete IAKerb authentications per second with CONCURRENCY clients.
The target: overhead no more than the extra round trips plus 1 ms CPU per exchange.
"""

from __future__ import annotations

import asyncio
import os
import pathlib
import statistics
import sys
import time
from datetime import UTC, datetime

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from iakerb.iakerb_env import ALICE_PASSWORD, REALM, SERVICE, key_lookup, make_realm  # noqa: E402
from kerbfirst.client import AsExchange, TgsExchange  # noqa: E402
from kerbfirst.gss.iakerb import (  # noqa: E402
    ForwardToKdc,
    IakerbAcceptor,
    IakerbInitiator,
    IakerbVariant,
)
from kerbfirst.gss.krb5_acceptor import Krb5Acceptor  # noqa: E402
from kerbfirst.gss.krb5_initiator import Krb5Initiator  # noqa: E402
from kerbfirst.gss.mechanism import Krb5AcceptorMechanism, Krb5InitiatorMechanism  # noqa: E402
from kerbfirst.gss.replay import ReplayCache  # noqa: E402
from kerbfirst.net.iakerb_proxy import KdcForwarder  # noqa: E402
from kerbfirst.net.iakerb_server import (  # noqa: E402
    run_mechanism_client,
    start_mechanism_server,
)
from kerbfirst.net.kdc_server import KdcServer, KdcServerConfig  # noqa: E402
from kerbfirst.net.kdc_transport import KdcAddress, send_to_kdc  # noqa: E402


def now() -> datetime:
    return datetime.now(UTC)


def ms(values: list[float]) -> str:
    return (f"median {statistics.median(values) * 1e3:7.2f} ms   p90 "
            f"{sorted(values)[int(len(values) * 0.9)] * 1e3:7.2f} ms")


async def direct_once(kdc: list[KdcAddress], port: int) -> None:
    ex = AsExchange("alice", REALM, password=ALICE_PASSWORD, random=os.urandom)
    out: object = ex.first_request(now())
    while isinstance(out, bytes):
        out = ex.receive(await send_to_kdc(out, kdc, timeout=5), now())
    tgs = TgsExchange(out, SERVICE, random=os.urandom)  # type: ignore[arg-type]
    cred = tgs.receive(await send_to_kdc(tgs.first_request(now()), kdc, timeout=5), now())
    ini = Krb5Initiator(ticket=cred.ticket, session_key=cred.session_key, client=cred.client,
                        client_realm=cred.crealm, now=now(), random=os.urandom)
    await run_mechanism_client("127.0.0.1", port, Krb5InitiatorMechanism(ini), b"x", timeout=10)


async def iakerb_once(port: int) -> None:
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM, password=ALICE_PASSWORD,
                          random=os.urandom)
    await run_mechanism_client("127.0.0.1", port, ini, b"x", timeout=10)


def acceptor_cpu(realm: object, rounds: int) -> float:
    """Seconds of acceptor CPU per IAKerb exchange (one token in, one out), KDC excluded."""
    spent, exchanges = 0.0, 0
    lookup = key_lookup(realm)  # type: ignore[arg-type]
    for _ in range(rounds):
        ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM,
                              password=ALICE_PASSWORD, random=os.urandom,
                              variant=IakerbVariant.DRAFT03)
        acc = IakerbAcceptor(key_lookup=lookup, replay_cache=ReplayCache(), random=os.urandom,
                             realm=REALM)
        token = ini.step(None, now=now())
        while isinstance(token, bytes):
            t0 = time.perf_counter()
            out = acc.step(token, now=now())
            if isinstance(out, ForwardToKdc):  # the final AP-REQ's verification not counted
                spent += time.perf_counter() - t0
                reply = realm.kdc.handle(out.message, peer="b", transport="iakerb",  # type: ignore[attr-defined]
                                         now=now())
                t0 = time.perf_counter()
                out = acc.kdc_reply(reply, now=now(), kdc="in-process")
                spent += time.perf_counter() - t0
                exchanges += 1
            if out is None:
                break
            token = ini.step(out, now=now())
    return spent / exchanges


async def main(rounds: int, concurrency: int) -> None:
    realm = make_realm(seed=1)
    kdc_server = KdcServer(lambda: realm.kdc, KdcServerConfig(tcp_listen=(("127.0.0.1", 0),)))
    await kdc_server.start()
    kdc = list(kdc_server.addresses)
    lookup = key_lookup(realm)
    cache = ReplayCache()
    forwarder = KdcForwarder({REALM: kdc}, timeout=5)

    def new_iakerb(peer: str) -> IakerbAcceptor:
        return IakerbAcceptor(key_lookup=lookup, replay_cache=cache, random=os.urandom,
                              realm=REALM, peer=peer)

    def new_krb5(peer: str) -> Krb5AcceptorMechanism:
        return Krb5AcceptorMechanism(Krb5Acceptor(key_lookup=lookup, replay_cache=cache,
                                                  random=os.urandom), "1.2.840.113554.1.2.2")

    ia = await start_mechanism_server("127.0.0.1", 0, new_acceptor=new_iakerb,
                                      forwarder=forwarder, on_message=lambda m: None)
    k5 = await start_mechanism_server("127.0.0.1", 0, new_acceptor=new_krb5, forwarder=None,
                                      on_message=lambda m: None)
    ia_port, k5_port = ia.sockets[0].getsockname()[1], k5.sockets[0].getsockname()[1]
    try:
        for _ in range(5):  # warm up (key derivation caches, connections)
            await direct_once(kdc, k5_port)
            await iakerb_once(ia_port)
        direct, tunnelled = [], []
        for _ in range(rounds):
            t0 = time.perf_counter()
            await direct_once(kdc, k5_port)
            direct.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await iakerb_once(ia_port)
            tunnelled.append(time.perf_counter() - t0)
        print(f"full authentication, {rounds} rounds, loopback (AS with pre-auth, TGS, AP):")
        print(f"  direct Kerberos : {ms(direct)}")
        print(f"  through IAKerb  : {ms(tunnelled)}")
        extra = statistics.median(tunnelled) - statistics.median(direct)
        print(f"  IAKerb overhead : {extra * 1e3:7.2f} ms for 3 extra round trips")
        cpu = acceptor_cpu(realm, max(rounds // 4, 20))
        print(f"acceptor CPU per IAKerb exchange (sans-I/O, no KDC): {cpu * 1e3:.3f} ms")

        count = 0
        deadline = time.perf_counter() + 5.0

        async def worker() -> None:
            nonlocal count
            while time.perf_counter() < deadline:
                await iakerb_once(ia_port)
                count += 1

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
        print(f"acceptor throughput, {concurrency} concurrent clients (clients, acceptor and "
              f"KDC share this process): {count / elapsed:.1f} authentications/s")
    finally:
        ia.close()
        k5.close()
        await kdc_server.close(grace=0)


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100,
                     int(sys.argv[2]) if len(sys.argv) > 2 else 8))
