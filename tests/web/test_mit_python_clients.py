"""MIT's GSSAPI (python-gssapi, alone and under requests-gssapi) as clients of our
middleware: the initiator is MIT's, the ticket from MIT kinit against our LocalKDC. Given
the RFC 5929 application data, the MIT initiator hashes the channel bindings itself, so EPA
"required" is checked against a real peer's binding hash, and a token bound to another
certificate is refused."""

from __future__ import annotations

import base64
import hashlib
import ssl
from pathlib import Path

import gssapi
import httpx
import pytest
import requests
from requests_gssapi import HTTPSPNEGOAuth

from kerbfirst.web.asgi import NegotiateMiddleware
from kerbfirst.web.channel_binding import EpaMode, certificate_der
from web.apps import audit_lines, server_for, whoami_asgi
from web.conftest import REALM, WebRealm
from web.webenv import make_tls, uvicorn_server

pytestmark = pytest.mark.peer


@pytest.fixture
def mit_env(web_realm: WebRealm, monkeypatch: pytest.MonkeyPatch) -> WebRealm:
    for name, value in web_realm.env().items():
        if name.startswith("KRB5"):
            monkeypatch.setenv(name, value)
    return web_realm


def test_requests_gssapi_to_our_middleware(mit_env: WebRealm) -> None:
    server = server_for(mit_env.keytab)
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port:
        # mutual_authentication REQUIRED (its default): it checks our AP-REP
        got = requests.get(f"http://localhost:{port}/", auth=HTTPSPNEGOAuth(), timeout=10)
    assert got.status_code == 200, got.text
    assert got.json()["principal"] == f"alice@{REALM}"


SPNEGO = gssapi.OID.from_int_seq("1.3.6.1.5.5.2")


def _bound_token(cert_pem: bytes) -> gssapi.SecurityContext:
    der = certificate_der(cert_pem)
    cb = gssapi.raw.ChannelBindings(application_data=b"tls-server-end-point:"
                                    + hashlib.sha256(der).digest())
    name = gssapi.Name("HTTP@localhost", gssapi.NameType.hostbased_service)
    return gssapi.SecurityContext(name=name, usage="initiate", mech=SPNEGO,
                                  channel_bindings=cb)


@pytest.mark.parametrize("mode", [EpaMode.REQUIRED, EpaMode.WHEN_SUPPORTED])
def test_mit_initiator_channel_bindings_epa(mit_env: WebRealm, tmp_path: Path,
                                            mode: EpaMode) -> None:
    ca, cert, key = make_tls(tmp_path / "right")
    _, other, _ = make_tls(tmp_path / "other")
    audit = tmp_path / "a.jsonl"
    server = server_for(mit_env.keytab, audit, epa=mode)
    app = NegotiateMiddleware(whoami_asgi, server, certificate=cert.read_bytes())
    tls = ssl.create_default_context(cafile=ca)
    with uvicorn_server(app, ssl_cert=cert, ssl_key=key) as port:
        url = f"https://localhost:{port}/"
        ctx = _bound_token(cert.read_bytes())
        token = ctx.step()
        assert token is not None
        got = httpx.get(url, verify=tls,
                        headers={"Authorization": "Negotiate " + base64.b64encode(token).decode()})
        assert got.status_code == 200, got.text
        final = got.headers["www-authenticate"].split(" ", 1)[1]
        ctx.step(base64.b64decode(final))  # MIT verifies our AP-REP
        assert ctx.complete
        relayed = _bound_token(other.read_bytes()).step()
        assert relayed is not None
        bad = httpx.get(url, verify=tls, headers={
            "Authorization": "Negotiate " + base64.b64encode(relayed).decode()})
        assert bad.status_code == 401
    assert [e["Decision"] for e in audit_lines(audit)] == [
        "kerberos-accepted", "epa-failure"]
