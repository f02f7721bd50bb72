"""requests-ntlm (HttpNtlmAuth, over pyspnego) as an NTLM client of the gateway's governed
acceptor over TLS, strict (MIC, target name, channel bindings required): with its channel
binding token (tls-server-end-point of our certificate, MS-NLMP 2.2.2.1 MsvAvChannelBindings)
it gets in under the exception; with send_cbt=False the same credentials are refused, as an
exchange relayed from another TLS channel would be."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from requests_ntlm import HttpNtlmAuth

from kerbfirst.app.ntlm_service import governed_ntlm
from kerbfirst.gss.ntlm import NtHashVerifier
from kerbfirst.store.keytab import keytab_key_lookup
from kerbfirst.web.asgi import ASGIApp, NegotiateMiddleware
from kerbfirst.web.gateway import ReverseProxy, build_gateway
from kerbfirst.web.negotiate import NegotiateConfig, NegotiateServer
from web.conftest import HTTP_SPN, REALM, WebRealm
from web.ntlm_env import ACCOUNTS, PASSWORD, Hello, event_ids, write_policy
from web.webenv import http_upstream, make_tls, uvicorn_server

pytestmark = pytest.mark.peer

def test_requests_ntlm_with_channel_binding_over_tls(web_realm: WebRealm,
                                                     tmp_path: Path) -> None:
    policy, events = tmp_path / "ntlm-policy.toml", tmp_path / "ntlm-events.jsonl"
    write_policy(policy, exception=True, expires=datetime.now(UTC).date())
    ntlm, log = governed_ntlm(policy, service_names=[HTTP_SPN], realm=REALM, events=events,
                              ntlm_dir=None, legacy_clients=False, check_interval=0,
                              verifier=NtHashVerifier(lambda u, d: ACCOUNTS.get(
                                  (u.casefold(), d.upper()))))
    server = NegotiateServer(NegotiateConfig(key_lookup=keytab_key_lookup(web_realm.keytab),
                                             realm=REALM, ntlm=ntlm))
    ca, cert, key = make_tls(tmp_path / "tls")

    def middleware(inner: ASGIApp) -> NegotiateMiddleware:
        return NegotiateMiddleware(inner, server, certificate=cert.read_bytes())

    try:
        with http_upstream(Hello) as up, uvicorn_server(build_gateway(
                ReverseProxy(f"http://127.0.0.1:{up}"), middleware, None),
                ssl_cert=cert, ssl_key=key) as port:
            url = f"https://localhost:{port}/app"
            bound = requests.get(url, auth=HttpNtlmAuth("CORP\\alice", PASSWORD),
                                 verify=str(ca), timeout=10)
            unbound = requests.get(url, auth=HttpNtlmAuth("CORP\\alice", PASSWORD,
                                                          send_cbt=False),
                                   verify=str(ca), timeout=10)
    finally:
        log.close()
    assert (bound.status_code, bound.text) == (200, "hello alice"), bound.text
    assert unbound.status_code == 401, unbound.text
    ids = event_ids(events)
    assert ids.count(4624) == 1 and 4625 in ids, ids
