"""Our httpx and requests clients against our middleware under uvicorn: with a ccache from
MIT kinit, over TLS with channel binding (EPA required), IAKerb through the server when no
KDC answers, and the relay test (a token bound to another TLS channel is refused)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import httpx
import pytest
import requests

from kerbfirst.web.asgi import NegotiateMiddleware
from kerbfirst.web.channel_binding import EpaMode
from kerbfirst.web.client_credentials import KerberosCredentials
from kerbfirst.web.client_flow import NegotiateFlow
from kerbfirst.web.httpx_auth import HttpxNegotiateAuth
from kerbfirst.web.requests_auth import RequestsNegotiateAuth
from web.apps import audit_lines, server_for, whoami_asgi
from web.conftest import ALICE_PW, REALM, WebRealm
from web.webenv import make_tls, uvicorn_server

pytestmark = pytest.mark.peer


def _copy_ccache(realm: WebRealm, tmp_path: Path) -> Path:
    cc = tmp_path / "cc"
    cc.write_bytes(realm.ccache.read_bytes())
    return cc


def test_httpx_with_mit_ccache_over_tls_epa_required(web_realm: WebRealm,
                                                     tmp_path: Path) -> None:
    ca, cert, key = make_tls(tmp_path / "tls")
    audit = tmp_path / "a.jsonl"
    server = server_for(web_realm.keytab, audit, epa=EpaMode.REQUIRED)
    creds = KerberosCredentials.from_ccache(_copy_ccache(web_realm, tmp_path),
                                            kdcs=[f"127.0.0.1:{web_realm.port}"])
    app = NegotiateMiddleware(whoami_asgi, server, certificate=cert.read_bytes())
    with uvicorn_server(app, ssl_cert=cert, ssl_key=key) as port:
        url = f"https://localhost:{port}/"
        tls = ssl.create_default_context(cafile=ca)
        got = httpx.get(url, auth=HttpxNegotiateAuth(creds), verify=tls)
        assert got.status_code == 200, got.text
        assert got.json()["principal"] == f"alice@{REALM}"
        # without channel binding, EPA "required" refuses the same client
        unbound = httpx.get(url, auth=HttpxNegotiateAuth(creds, channel_binding=False),
                            verify=ssl.create_default_context(cafile=ca))
        assert unbound.status_code == 401
    decisions = [e["Decision"] for e in audit_lines(audit)]
    assert decisions == ["kerberos-accepted", "epa-failure"]
    # the service ticket got from our KDC was written back to the ccache (MIT's format)
    again = KerberosCredentials.from_ccache(creds.ccache)
    assert f"HTTP/localhost@{REALM}" in again._tickets


def test_relay_token_bound_to_other_channel_refused(web_realm: WebRealm,
                                                    tmp_path: Path) -> None:
    """A client talking to server A (certificate A) makes a token bound to A's channel;
    relayed to server B (certificate B, same service key), it must be refused."""
    _, cert_a, _ = make_tls(tmp_path / "a")
    ca_b, cert_b, key_b = make_tls(tmp_path / "b")
    from kerbfirst.web.channel_binding import certificate_der

    creds = KerberosCredentials.from_ccache(_copy_ccache(web_realm, tmp_path),
                                            kdcs=[f"127.0.0.1:{web_realm.port}"])
    flow = NegotiateFlow(creds, "localhost", certificate_der(cert_a.read_bytes()))
    stolen = flow.first()
    for mode in (EpaMode.WHEN_SUPPORTED, EpaMode.REQUIRED):
        audit = tmp_path / f"{mode}.jsonl"
        server = server_for(web_realm.keytab, audit, epa=mode)
        app = NegotiateMiddleware(whoami_asgi, server, certificate=cert_b.read_bytes())
        with uvicorn_server(app, ssl_cert=cert_b, ssl_key=key_b) as port:
            got = httpx.get(f"https://localhost:{port}/", headers={"Authorization": stolen},
                            verify=ssl.create_default_context(cafile=ca_b))
        assert got.status_code == 401, mode
        assert [e["Decision"] for e in audit_lines(audit)] == ["epa-failure"]
    # with EPA off the same token is accepted (what EPA protects against)
    server = server_for(web_realm.keytab, epa=EpaMode.OFF)
    app = NegotiateMiddleware(whoami_asgi, server, certificate=cert_b.read_bytes())
    with uvicorn_server(app, ssl_cert=cert_b, ssl_key=key_b) as port:
        fresh = NegotiateFlow(creds, "localhost", certificate_der(cert_a.read_bytes()))
        got = httpx.get(f"https://localhost:{port}/", headers={"Authorization": fresh.first()},
                        verify=ssl.create_default_context(cafile=ca_b))
    assert got.status_code == 200


def test_requests_with_password_via_kdc(web_realm: WebRealm, tmp_path: Path) -> None:
    ca, cert, key = make_tls(tmp_path / "tls", algorithm="rsa-sha384")
    server = server_for(web_realm.keytab, epa=EpaMode.REQUIRED)
    creds = KerberosCredentials.from_password(f"alice@{REALM}", ALICE_PW,
                                              kdcs=[f"127.0.0.1:{web_realm.port}"])
    app = NegotiateMiddleware(whoami_asgi, server, certificate=cert.read_bytes())
    with uvicorn_server(app, ssl_cert=cert, ssl_key=key) as port:
        got = requests.get(f"https://localhost:{port}/", auth=RequestsNegotiateAuth(creds),
                           verify=str(ca), timeout=10)
    assert got.status_code == 200, got.text
    assert json.loads(got.text)["mech"] == "kerberos"


def test_iakerb_through_the_server_when_no_kdc_answers(web_realm: WebRealm,
                                                       tmp_path: Path) -> None:
    audit = tmp_path / "a.jsonl"
    server = server_for(web_realm.keytab, audit,
                        kdc_routes={REALM: [f"tcp/127.0.0.1:{web_realm.port}"]})
    dead = "127.0.0.1:9"  # discard port: nothing listens, the client falls back to IAKerb
    creds = KerberosCredentials.from_password(f"alice@{REALM}", ALICE_PW, kdcs=[dead],
                                              kdc_timeout=0.5)
    app = NegotiateMiddleware(whoami_asgi, server)
    with uvicorn_server(app) as port, httpx.Client() as client:
        got = client.get(f"http://localhost:{port}/", auth=HttpxNegotiateAuth(creds))
    assert got.status_code == 200, got.text
    assert got.json() == {"principal": f"alice@{REALM}", "local": "alice", "mech": "iakerb"}
    assert creds.last_mechanism == "iakerb"
    assert len(got.history) >= 3  # 401 challenge, then IAKerb legs through the server
    assert [e["Decision"] for e in audit_lines(audit)] == ["iakerb-accepted"]


def test_httpx_with_a_keytab(web_realm: WebRealm, tmp_path: Path) -> None:
    keytab = tmp_path / "alice.keytab"
    web_realm.cli.kf("keytab", "export", "alice", "--out", str(keytab))
    creds = KerberosCredentials.from_keytab(f"alice@{REALM}", keytab,
                                            kdcs=[f"127.0.0.1:{web_realm.port}"])
    server = server_for(web_realm.keytab)
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port:
        got = httpx.get(f"http://localhost:{port}/", auth=HttpxNegotiateAuth(creds))
    assert got.status_code == 200 and got.json()["principal"] == f"alice@{REALM}"
    assert creds.last_mechanism == "kerberos"
