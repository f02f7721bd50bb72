"""SPNEGO-carried IAKerb over the network: the sample-protocol server (start_mechanism_server,
as `kerbfirst iakerb serve` runs it) relays the KDC messages of an SPNEGO acceptor with
IAKerb inside, end to end over TCP. Before, only a bare IakerbAcceptor was relayed: the
SPNEGO acceptor's ForwardToKdc was refused ("an acceptor asked for a KDC; none is
configured"). MIT's gss-client cannot be the peer here: MIT marks IAKerb
GSS_C_MA_NOT_DFLT_MECH (gssapi_krb5.c) and its SPNEGO leaves such mechanisms out, so
`gss-client -spnego -iakerb` (IAKerb as the only negotiable mechanism) fails with "SPNEGO
cannot find mechanisms to negotiate" (test_mit_gss_client_spnego_iakerb_is_not_offered)."""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from kerbfirst.gss.iakerb import IakerbAcceptor, IakerbAuditEvent, IakerbInitiator, IakerbOutcome
from kerbfirst.gss.iakerb_negotiate import IakerbServiceAcceptor
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.gss.spnego_acceptor import krb5_factory
from kerbfirst.gss.spnego_initiator import SpnegoInitiator
from kerbfirst.net.gss_stream import ReceivedMessage
from kerbfirst.net.iakerb_proxy import KdcForwarder
from kerbfirst.net.iakerb_server import run_mechanism_client, start_mechanism_server
from kerbfirst.net.kdc_server import KdcServer, KdcServerConfig
from kerbfirst.wire.gss_framing import OID_IAKERB, OID_SPNEGO
from peerlib import require_program, run_gss_client

from .iakerb_env import ALICE_PASSWORD, REALM, SERVICE, Realm, key_lookup, make_realm
from .mit_peers import HOST, TIMEOUT, client_conf, client_env


def _service_acceptor(realm: Realm, events: list[IakerbAuditEvent],
                      made: list[IakerbServiceAcceptor]) -> object:
    cache = ReplayCache()

    def new_acceptor(peer: str) -> IakerbServiceAcceptor:
        acc = IakerbServiceAcceptor(
            lambda: IakerbAcceptor(key_lookup=key_lookup(realm), replay_cache=cache,
                                   random=os.urandom, realm=REALM, peer=peer,
                                   audit=events.append),
            krb5=krb5_factory(key_lookup=key_lookup(realm), replay_cache=cache,
                              random=os.urandom))
        made.append(acc)
        return acc

    return new_acceptor


@pytest.mark.parametrize("discover", [False, True])
def test_our_spnego_iakerb_initiator_over_tcp(discover: bool) -> None:
    realm = make_realm(seed=31)
    events: list[IakerbAuditEvent] = []
    made: list[IakerbServiceAcceptor] = []
    received: list[ReceivedMessage] = []
    forwarder = KdcForwarder({REALM: realm.kdc}, timeout=5)

    async def scenario() -> bool:
        server = await start_mechanism_server(
            "127.0.0.1", 0, new_acceptor=_service_acceptor(realm, events, made),  # type: ignore[arg-type]
            forwarder=forwarder, on_message=received.append, timeout=TIMEOUT)
        port = server.sockets[0].getsockname()[1]
        try:
            ini = SpnegoInitiator([IakerbInitiator(
                service=SERVICE, client="alice", realm=None if discover else REALM,
                password=ALICE_PASSWORD, random=os.urandom)])
            result = await run_mechanism_client("127.0.0.1", port, ini, b"through spnego",
                                                timeout=TIMEOUT)
            return result.mic_verified
        finally:
            server.close()
            await server.wait_closed()
            forwarder.close()

    assert asyncio.run(scenario())
    assert [m.data for m in received] == [b"through spnego"]
    assert made[0].mech_oid == OID_SPNEGO and made[0].iakerb is not None
    assert [e.outcome for e in events] == [IakerbOutcome.AUTHENTICATED]
    assert events[0].client == f"alice@{REALM}"
    assert events[0].hops == 3  # AS-REQ, AS-REQ with pre-authentication, TGS-REQ


@pytest.mark.peer
def test_mit_gss_client_spnego_iakerb_is_not_offered(tmp_path: Path) -> None:
    """Why no MIT peer runs SPNEGO-carried IAKerb: with a TGT in its ccache (kinit through
    a reachable KDC), `gss-client -spnego -iakerb` fails before sending a token, while plain
    `-iakerb` with the same credentials succeeds against the same server."""
    realm = make_realm(seed=32)
    events: list[IakerbAuditEvent] = []
    made: list[IakerbServiceAcceptor] = []
    forwarder = KdcForwarder({REALM: realm.kdc}, timeout=5)

    async def scenario() -> list[tuple[int, str]]:
        kdc = KdcServer(lambda: realm.kdc, KdcServerConfig(tcp_listen=(("127.0.0.1", 0),)))
        await kdc.start()
        server = await start_mechanism_server(
            "127.0.0.1", 0, new_acceptor=_service_acceptor(realm, events, made),  # type: ignore[arg-type]
            forwarder=forwarder, on_message=lambda m: None, timeout=TIMEOUT)
        port = server.sockets[0].getsockname()[1]
        out = []
        try:
            kdc_port = next(a.port for a in kdc.addresses if a.transport == "tcp")
            env = client_env(tmp_path, client_conf(tmp_path, REALM, kdc=f"127.0.0.1:{kdc_port}"))
            kinit = await asyncio.create_subprocess_exec(
                require_program("kinit"), "alice", env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            said, _ = await asyncio.wait_for(
                kinit.communicate(ALICE_PASSWORD.encode() + b"\n"), TIMEOUT)
            assert kinit.returncode == 0, said
            for extra in (["-spnego", "-iakerb"], ["-iakerb"]):
                out.append(await run_gss_client(
                    [*extra, "-user", "alice", "-port", str(port), "127.0.0.1", f"host@{HOST}",
                     "hello"], env, timeout=TIMEOUT))
        finally:
            server.close()
            await server.wait_closed()
            await kdc.close(grace=0)
            forwarder.close()
        return out

    (spnego_code, spnego_text), (plain_code, plain_text) = asyncio.run(scenario())
    assert spnego_code != 0 and "SPNEGO cannot find mechanisms to negotiate" in spnego_text, \
        spnego_text
    assert plain_code == 0, plain_text
    # The SPNEGO client connected but never sent a context token; the plain one used IAKerb.
    assert [m.inner is None for m in made] == [True, False]
    assert made[-1].mech_oid == OID_IAKERB and made[-1].iakerb is not None
