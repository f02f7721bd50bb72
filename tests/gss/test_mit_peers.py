"""Interoperability with MIT krb5 1.20's GSS sample programs and KDC (krb5-gss-samples,
krb5-kdc), in a throwaway realm built by k5test:

(a) MIT gss-client authenticates to OUR acceptor (keytab extracted from MIT's KDB); we unwrap
    its message and return a MIC that gss-client verifies.
(b) OUR initiator, with a service ticket MIT's KDC issued (read from the ccache `kvno` filled),
    authenticates to MIT gss-server with mutual authentication, wraps a message, and verifies
    the MIC gss-server sends back.
"""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from kerbfirst.crypto import Key
from kerbfirst.gss.checksum import (
    GSS_C_CONF_FLAG,
    GSS_C_INTEG_FLAG,
    GSS_C_REPLAY_FLAG,
    GSS_C_SEQUENCE_FLAG,
)
from kerbfirst.gss.krb5_acceptor import Krb5Acceptor
from kerbfirst.gss.krb5_initiator import DEFAULT_FLAGS, Krb5Initiator
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.net.gss_stream import (
    ReceivedMessage,
    run_client,
    start_server,
    system_random,
)
from kerbfirst.store.ccache import read_ccache
from kerbfirst.store.keytab import keytab_key_lookup
from kerbfirst.wire.constants import NT_PRINCIPAL
from kerbfirst.wire.krb5 import PrincipalName, Ticket
from peerlib import free_port, k5_realm, require_program, run_gss_client, wait_listening

pytestmark = pytest.mark.peer

REALM = "GSS.TEST"
HOST = "server.gss.test"
SERVICE = f"host/{HOST}@{REALM}"
TIMEOUT = 20.0


@pytest.fixture(scope="module")
def realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    require_program("kvno")
    conf = {"libdefaults": {"dns_canonicalize_hostname": "false", "rdns": "false",
                            "udp_preference_limit": "1"},
            "domain_realm": {f".{HOST.split('.', 1)[1]}": REALM, HOST: REALM}}
    with k5_realm(REALM, SERVICE, tmp_path_factory.mktemp("gss"), krb5_conf=conf) as r:
        yield r


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.mark.parametrize("client_args,expect_conf", [
    ([], True), (["-seq"], True), (["-nomutual"], True), (["-nx"], False),
])
def test_mit_gss_client_to_our_acceptor(realm: Any, client_args: list[str],
                                        expect_conf: bool) -> None:
    received: list[ReceivedMessage] = []
    cache = ReplayCache()
    lookup = keytab_key_lookup(realm.service_keytab)
    message = "hello from MIT gss-client"

    def new_acceptor() -> Krb5Acceptor:
        return Krb5Acceptor(key_lookup=lookup, replay_cache=cache, random=system_random,
                            service=SERVICE)

    async def scenario() -> tuple[int, str]:
        server = await start_server("127.0.0.1", 0, new_acceptor=new_acceptor,
                                    on_message=received.append, timeout=TIMEOUT)
        port = server.sockets[0].getsockname()[1]
        try:
            return await run_gss_client(
                ["-port", str(port), *client_args, "127.0.0.1", f"host@{HOST}", message],
                realm.env, timeout=TIMEOUT)
        finally:
            server.close()
            await server.wait_closed()

    code, text = asyncio.run(scenario())
    assert code == 0, text
    assert "Signature verified" in text, text
    assert len(received) == 1, text
    assert received[0].data == message.encode()
    assert received[0].client == f"user@{REALM}"
    assert received[0].confidential is expect_conf


def _service_ticket(realm: Any) -> tuple[Ticket, Key, PrincipalName, str, datetime]:
    realm.run([require_program("kvno"), SERVICE])
    cache = read_ccache(realm.ccache)
    for cred in cache.credentials:
        if cred.server.unparse() == SERVICE:
            ticket = Ticket.decode(cred.ticket)
            key = Key(cred.key.keytype, cred.key.keyvalue)
            client = PrincipalName(NT_PRINCIPAL, cred.client.components)
            return ticket, key, client, cred.client.realm, cred.endtime
    pytest.fail(f"kvno did not put a ticket for {SERVICE} in {realm.ccache}")


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    wait_listening(port, proc, timeout=TIMEOUT)


@pytest.mark.parametrize("flags,conf", [
    (DEFAULT_FLAGS, True), (DEFAULT_FLAGS, False),
    (GSS_C_REPLAY_FLAG | GSS_C_SEQUENCE_FLAG | GSS_C_CONF_FLAG | GSS_C_INTEG_FLAG, True),
])
def test_our_initiator_to_mit_gss_server(realm: Any, tmp_path: Path, flags: int,
                                         conf: bool) -> None:
    ticket, key, client, crealm, endtime = _service_ticket(realm)
    port = free_port()
    log_file = tmp_path / "gss-server.log"
    # gss-server acquires host@HOST credentials from the keytab MIT's KDB exported.
    proc = subprocess.Popen(
        [require_program("gss-server"), "-port", str(port), "-once", "-logfile", str(log_file),
         "-keytab", str(realm.service_keytab), f"host@{HOST}"],
        env=realm.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        _wait_listening(port, proc)
        initiator = Krb5Initiator(ticket=ticket, session_key=key, client=client,
                                  client_realm=crealm, now=_now(), random=system_random,
                                  flags=flags, ticket_endtime=endtime)
        message = b"hello from the kerbfirst initiator"
        result = asyncio.run(run_client("127.0.0.1", port, initiator, message,
                                        encrypt=conf, timeout=TIMEOUT))
        assert result.mic_verified
        out, _ = proc.communicate(timeout=TIMEOUT)
        text = out.decode(errors="replace") + log_file.read_text(errors="replace")
        assert proc.returncode == 0, text
        assert f'Accepted connection: "user@{REALM}"' in text, text
        assert message.decode() in text, text
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=TIMEOUT)


def test_mit_gss_client_gets_our_krb_error(realm: Any) -> None:
    """A stale keytab on our side: gss-client must show the KRB-ERROR we sent (31)."""
    received: list[ReceivedMessage] = []

    def wrong_key(principal: str, kvno: int | None, etype: int) -> Key | None:
        return Key(etype, bytes(32 if etype in (18, 20) else 16))

    def new_acceptor() -> Krb5Acceptor:
        return Krb5Acceptor(key_lookup=wrong_key, replay_cache=ReplayCache(),
                            random=system_random)

    async def scenario() -> tuple[int, str]:
        server = await start_server("127.0.0.1", 0, new_acceptor=new_acceptor,
                                    on_message=received.append, timeout=TIMEOUT)
        port = server.sockets[0].getsockname()[1]
        try:
            return await run_gss_client(
                ["-port", str(port), "127.0.0.1", f"host@{HOST}", "never delivered"],
                realm.env, timeout=TIMEOUT)
        finally:
            server.close()
            await server.wait_closed()

    code, text = asyncio.run(scenario())
    assert code != 0, text
    assert "integrity" in text.lower(), text
    assert received == []
