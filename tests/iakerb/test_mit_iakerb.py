"""IAKerb interoperability with MIT krb5 1.20 (Debian 12: the MIT <= 1.21 variant).

(a) MIT `gss-client -iakerb -user alice -pass PW` authenticates to OUR acceptor, which
    proxies its AS and TGS exchanges to our LocalKDC (in-process, or over its UNIX socket
    in another process) and to MIT's krb5kdc (a k5test realm). The client's own krb5.conf
    names an unreachable KDC: its tickets come only through IAKerb.
(b) OUR initiator authenticates to MIT `gss-server -iakerb`, which proxies to our LocalKDC
    and to MIT's krb5kdc through its krb5.conf.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kerbfirst.gss.iakerb import (
    IakerbAcceptor,
    IakerbAuditEvent,
    IakerbInitiator,
    IakerbOutcome,
    IakerbVariant,
)
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.krb.names import Principal
from kerbfirst.net.gss_stream import ReceivedMessage
from kerbfirst.net.iakerb_proxy import KdcForwarder
from kerbfirst.net.iakerb_server import run_mechanism_client
from kerbfirst.net.kdc_server import KdcServer, KdcServerConfig
from kerbfirst.store.keytab import KeytabEntry, keytab_key_lookup, write_keytab
from kerbfirst.wire.constants import NT_SRV_HST
from peerlib import k5_realm, peer_env, write_krb5_conf

from .iakerb_env import ALICE_PASSWORD, REALM, SERVICE, key_lookup, make_realm
from .mit_peers import (
    HOST,
    TIMEOUT,
    client_conf,
    client_env,
    gss_client_against,
    gss_server,
)

pytestmark = pytest.mark.peer

SEED = 11
MIT_REALM = "MIT.TEST"
MIT_HOST = "server.mit.test"
MIT_SERVICE = f"host/{MIT_HOST}@{MIT_REALM}"


def _local_keytab(tmp: Path) -> Path:
    realm = make_realm(seed=SEED)
    path = tmp / "local-service.keytab"
    write_keytab(path, [KeytabEntry(Principal(("host", HOST), REALM, NT_SRV_HST), int(time.time()),
                                    k.kvno, k.etype, k.contents)
                        for k in realm.db.entries[SERVICE].keys])
    return path


@pytest.fixture(scope="module")
def mit_realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    conf = {"libdefaults": {"dns_canonicalize_hostname": "false", "rdns": "false"},
            "domain_realm": {MIT_HOST: MIT_REALM}}
    with k5_realm(MIT_REALM, MIT_SERVICE, tmp_path_factory.mktemp("mit"), krb5_conf=conf,
                  get_creds=False) as r:
        yield r


@pytest.fixture
def unix_kdc(tmp_path: Path) -> Iterator[str]:
    """Our LocalKDC in its own process, listening only on a UNIX socket."""
    path = tmp_path / "localkdc.sock"
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("local_kdc_process.py")), str(SEED),
         str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            err = proc.stderr.read() if proc.stderr else ""
            pytest.fail(f"LocalKDC process did not start: {err}")
        assert json.loads(line) == [f"unix:{path}"]
        yield f"unix:{path}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _acceptor_factory(lookup: Any, realm: str, events: list[IakerbAuditEvent]) -> Any:
    cache = ReplayCache()

    def new_acceptor(peer: str) -> IakerbAcceptor:
        return IakerbAcceptor(key_lookup=lookup, replay_cache=cache, random=os.urandom,
                              realm=realm, peer=peer, audit=events.append)

    return new_acceptor


def _check_success(code: int, text: str, received: list[ReceivedMessage],
                   events: list[IakerbAuditEvent], client: str, kdc: str, hops: int) -> None:
    assert code == 0, text
    assert "Signature verified" in text, text
    assert [m.data for m in received] == [b"hello through iakerb"]
    assert received[0].client == client
    assert len(events) == 1, events
    ev = events[0]
    assert ev.outcome is IakerbOutcome.AUTHENTICATED, ev
    assert ev.variant == "mit-old" and ev.client == client and ev.hops == hops
    assert ev.kdc is not None and kdc in ev.kdc


@pytest.mark.parametrize("route", ["in-process", "unix"])
def test_mit_client_to_our_acceptor_with_local_kdc(tmp_path: Path, route: str,
                                                   request: pytest.FixtureRequest) -> None:
    realm = make_realm(seed=SEED)
    events: list[IakerbAuditEvent] = []
    received: list[ReceivedMessage] = []
    if route == "unix":
        address = request.getfixturevalue("unix_kdc")
        forwarder = KdcForwarder({REALM: [address]}, timeout=5)
    else:
        address = "in-process"
        forwarder = KdcForwarder({REALM: realm.kdc}, timeout=5)
    env = client_env(tmp_path, client_conf(tmp_path, REALM))
    code, text = asyncio.run(gss_client_against(
        _acceptor_factory(key_lookup(realm), REALM, events), forwarder, env, user="alice",
        password=ALICE_PASSWORD, message="hello through iakerb", received=received))
    # AS-REQ, AS-REQ with PA-ENC-TIMESTAMP (our KDC requires pre-authentication), TGS-REQ
    _check_success(code, text, received, events, f"alice@{REALM}", address, hops=3)


def test_mit_client_to_our_acceptor_with_mit_kdc(mit_realm: Any, tmp_path: Path) -> None:
    events: list[IakerbAuditEvent] = []
    received: list[ReceivedMessage] = []
    forwarder = KdcForwarder({MIT_REALM: [mit_realm.kdc_address]}, timeout=5)
    env = client_env(tmp_path, client_conf(tmp_path, MIT_REALM, host=MIT_HOST))
    code, text = asyncio.run(gss_client_against(
        _acceptor_factory(keytab_key_lookup(mit_realm.service_keytab), MIT_REALM, events),
        forwarder, env, user="user", password=mit_realm.password("user"),
        message="hello through iakerb", received=received, service=f"host@{MIT_HOST}"))
    # k5test's principals do not require pre-authentication: AS-REQ, TGS-REQ
    _check_success(code, text, received, events, f"user@{MIT_REALM}", mit_realm.kdc_address,
                   hops=2)


async def _our_initiator_to_gss_server(keytab: Path, env: dict[str, str], tmp: Path,
                                       initiator: IakerbInitiator, host: str) -> str:
    with gss_server(keytab, env, tmp, service=f"host@{host}") as (port, proc, log_file):
        result = await run_mechanism_client("127.0.0.1", port, initiator,
                                            b"hello from the kerbfirst initiator",
                                            timeout=TIMEOUT)
        assert result.mic_verified
        out, _ = await asyncio.to_thread(proc.communicate, timeout=TIMEOUT)
        text = out.decode(errors="replace") + log_file.read_text(errors="replace")
        assert proc.returncode == 0, text
        return text


def test_our_initiator_to_mit_acceptor_with_local_kdc(tmp_path: Path) -> None:
    realm = make_realm(seed=SEED)
    keytab = _local_keytab(tmp_path)

    async def scenario() -> str:
        server = KdcServer(lambda: realm.kdc, KdcServerConfig(
            udp_listen=(("127.0.0.1", 0),), tcp_listen=(("127.0.0.1", 0),)))
        await server.start()
        try:
            port = next(a.port for a in server.addresses if a.transport == "tcp")
            conf = write_krb5_conf(tmp_path / "krb5-server.conf", REALM, [f"127.0.0.1:{port}"],
                                   extra_libdefaults={"dns_canonicalize_hostname": "false"})
            env = peer_env(conf, tmp_path / "ccache-server")
            ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM,
                                  password=ALICE_PASSWORD, random=os.urandom,
                                  variant=IakerbVariant.MIT_OLD)
            text = await _our_initiator_to_gss_server(keytab, env, tmp_path, ini, HOST)
            assert ini.tgt is not None and len(ini.transcript) == 6
            return text
        finally:
            await server.close(grace=0)

    text = asyncio.run(scenario())
    assert f'Accepted connection: "alice@{REALM}"' in text, text
    assert "hello from the kerbfirst initiator" in text, text


def test_our_initiator_to_mit_acceptor_with_mit_kdc(mit_realm: Any, tmp_path: Path) -> None:
    ini = IakerbInitiator(service=MIT_SERVICE, client="user", realm=MIT_REALM,
                          password=mit_realm.password("user"), random=os.urandom,
                          variant=IakerbVariant.MIT_OLD)
    text = asyncio.run(_our_initiator_to_gss_server(
        Path(mit_realm.service_keytab), dict(mit_realm.env), tmp_path, ini, MIT_HOST))
    assert f'Accepted connection: "user@{MIT_REALM}"' in text, text


def test_our_initiator_with_cached_tgt_to_mit_acceptor(mit_realm: Any, tmp_path: Path) -> None:
    """A TGT from a first conversation: the second proxies only the TGS exchange."""
    first = IakerbInitiator(service=MIT_SERVICE, client="user", realm=MIT_REALM,
                            password=mit_realm.password("user"), random=os.urandom,
                            variant=IakerbVariant.MIT_OLD)
    asyncio.run(_our_initiator_to_gss_server(
        Path(mit_realm.service_keytab), dict(mit_realm.env), tmp_path, first, MIT_HOST))
    assert first.tgt is not None
    second = IakerbInitiator(service=MIT_SERVICE, tgt=first.tgt, random=os.urandom,
                             variant=IakerbVariant.MIT_OLD)
    asyncio.run(_our_initiator_to_gss_server(
        Path(mit_realm.service_keytab), dict(mit_realm.env), tmp_path, second, MIT_HOST))
    assert len(second.transcript) == 2  # TGS-REQ and TGS-REP only



def test_mit_acceptor_with_an_unknown_realm_just_closes(mit_realm: Any, tmp_path: Path) -> None:
    """MIT 1.20's proxy means to answer KRB-ERROR 85 here, but builds it from a zeroed
    krb5_error (iakerb_acceptor_step), which krb5_mk_error cannot encode (no server name):
    the context fails without a token and gss-server logs "ASN.1 structure is missing a
    required field". Our initiator must see a clean failure; our acceptor, in the same
    case, does send 85 (test_refusals, test_server_refusals)."""
    from kerbfirst.net.gss_stream import SampleProtocolError

    ini = IakerbInitiator(service=MIT_SERVICE, client="user", realm="NOWHERE.TEST",
                          password="irrelevant", random=os.urandom,
                          variant=IakerbVariant.MIT_OLD)

    async def scenario() -> str:
        with gss_server(Path(mit_realm.service_keytab), dict(mit_realm.env), tmp_path,
                        service=f"host@{MIT_HOST}") as (port, proc, log_file):
            with pytest.raises(SampleProtocolError, match="closed"):
                await run_mechanism_client("127.0.0.1", port, ini, b"never sent",
                                           timeout=TIMEOUT)
            out, _ = await asyncio.to_thread(proc.communicate, timeout=TIMEOUT)
            return out.decode(errors="replace") + log_file.read_text(errors="replace")

    text = asyncio.run(scenario())
    assert "accepting context" in text, text
    assert "missing a required field" in text, text
