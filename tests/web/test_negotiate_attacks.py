"""The Negotiate middleware given what an attacker or a broken client sends: an NTLM
attempt in any shape is refused with a 401 that says so, and audited as an NTLM refusal
(the report counts those), never as a Kerberos failure."""

from __future__ import annotations

import base64
from pathlib import Path

import httpx
import pytest

from kerbfirst.web.asgi import NegotiateMiddleware
from kerbfirst.web.client_credentials import KerberosCredentials
from kerbfirst.web.client_flow import NegotiateFlow
from kerbfirst.web.negotiate import NegotiateServer
from peerlib import run_peer
from web.apps import audit_lines, server_for, whoami_asgi
from web.conftest import REALM, WebRealm
from web.webenv import uvicorn_server

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("header", ["NTLM", "NTLM !!not-base64!!", "ntlm  "],
                         ids=["bare", "garbage", "lowercase"])
def test_ntlm_scheme_without_a_usable_token_is_an_ntlm_refusal(
        web_realm: WebRealm, tmp_path: Path, header: str) -> None:
    audit = tmp_path / "web-audit.jsonl"
    server = server_for(web_realm.keytab, audit)
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port:
        got = run_peer(["curl", "-sS", "-i", "-H", f"Authorization: {header}",
                        f"http://localhost:{port}/"], env=web_realm.env())
    assert got.stdout.startswith("HTTP/1.1 401"), got.stdout[:300]
    assert "NTLM is refused" in got.stdout
    (event,) = audit_lines(audit)
    # NTLM/Operational 4002 with STATUS_NTLM_BLOCKED, as Windows logs a refused NTLM.
    assert event["Decision"] == "ntlm-refused", event
    assert event["KerbfirstMechanism"] == "ntlm" and event["EventID"] == 4002, event
    assert event["Status"] == "0xC0000418", event


def _iakerb_server(web_realm: WebRealm, audit: Path, **options: object) -> NegotiateServer:
    return server_for(web_realm.keytab, audit,
                      kdc_routes={REALM: [f"tcp/127.0.0.1:{web_realm.port}"]}, **options)


def test_iakerb_leg_from_another_connection_does_not_continue(web_realm: WebRealm,
                                                              tmp_path: Path) -> None:
    """IAKerb's conversation is bound to its TCP connection (as IIS binds it): the next leg
    sent on another connection does not continue it, the same leg on its own does."""
    server = _iakerb_server(web_realm, tmp_path / "a.jsonl")
    creds = KerberosCredentials.from_ccache(web_realm.ccache)  # TGT only, no KDC: IAKerb
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port, \
            httpx.Client() as first, httpx.Client() as other:
        url = f"http://localhost:{port}/"
        flow = NegotiateFlow(creds, "localhost")
        answer = first.get(url, headers={"Authorization": flow.first()})
        legs = 0
        while answer.status_code == 401 and legs < 8:
            header = flow.next(answer.headers.get("www-authenticate"))
            stolen = other.get(url, headers={"Authorization": header})
            assert stolen.status_code != 200, "a leg continued on another connection"
            answer = first.get(url, headers={"Authorization": header})
            legs += 1
    assert answer.status_code == 200, answer.text
    assert answer.json()["mech"] == "iakerb" and legs >= 1


def test_iakerb_table_is_bounded_and_evicts_the_oldest(web_realm: WebRealm,
                                                       tmp_path: Path) -> None:
    server = _iakerb_server(web_realm, tmp_path / "a.jsonl", max_contexts=2)
    creds = KerberosCredentials.from_ccache(web_realm.ccache)
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port:
        url = f"http://localhost:{port}/"
        clients = [httpx.Client() for _ in range(3)]
        try:
            flows = [NegotiateFlow(creds, "localhost") for _ in clients]
            pending = [c.get(url, headers={"Authorization": f.first()})
                       for c, f in zip(clients, flows, strict=True)]
            assert [p.status_code for p in pending] == [401] * 3
            assert server.contexts() == 2  # the table holds no more than max_contexts
            evicted = clients[0].get(url, headers={
                "Authorization": flows[0].next(pending[0].headers["www-authenticate"])})
            kept = clients[2].get(url, headers={
                "Authorization": flows[2].next(pending[2].headers["www-authenticate"])})
        finally:
            for c in clients:
                c.close()
    assert evicted.status_code == 401, evicted.text  # its conversation was evicted
    assert kept.status_code == 200, kept.text


def test_spnego_offering_only_ntlm_is_an_ntlm_refusal(web_realm: WebRealm, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """pyspnego's Negotiate without a Kerberos ticket offers NTLM alone in SPNEGO: that is
    an NTLM attempt, refused and audited as one (not a Kerberos failure), also when the
    service has no NTLM acceptor configured at all."""
    import spnego

    monkeypatch.setenv("KRB5_CONFIG", str(web_realm.krb5_conf))
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ticket.cc'}")
    token = spnego.client("alice", "pw", hostname="localhost", service="HTTP",
                          protocol="negotiate").step()
    assert token is not None
    audit = tmp_path / "web-audit.jsonl"
    server = server_for(web_realm.keytab, audit)
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port:
        got = httpx.get(f"http://localhost:{port}/", headers={
            "Authorization": "Negotiate " + base64.b64encode(token).decode()})
    assert got.status_code == 401 and "NTLM" in got.text, got.text
    (event,) = audit_lines(audit)
    assert event["Decision"] == "ntlm-refused" and event["EventID"] == 4002, event
