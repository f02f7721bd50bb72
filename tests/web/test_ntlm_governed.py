"""The governed NTLM acceptor behind the gateway (web/ntlm_governed.py): curl --ntlm is
refused by default (401, the web audit record and the Windows NTLM events), allowed by an
exception for that user and client, refused again after the exception's expiry (the
gateway's clock is injected); `kerbfirst http gateway --policy` refuses NTLM when the policy
has no exception for it."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

import spnego
from kerbfirst.app.ntlm_service import governed_ntlm
from kerbfirst.gss.ntlm import NtHashVerifier
from kerbfirst.store.keytab import keytab_key_lookup
from kerbfirst.web.asgi import ASGIApp, NegotiateMiddleware
from kerbfirst.web.audit import json_lines_sink
from kerbfirst.web.gateway import ReverseProxy, build_gateway
from kerbfirst.web.negotiate import NegotiateConfig, NegotiateServer
from peerlib import free_port, wait_listening
from web.conftest import HTTP_SPN, REALM, WebRealm
from web.ntlm_env import ACCOUNTS, PASSWORD, Hello, curl_ntlm, event_ids, write_policy
from web.webenv import http_upstream, uvicorn_server

pytestmark = pytest.mark.peer

def test_curl_ntlm_through_gateway_policy_exception_expiry(web_realm: WebRealm,
                                                           tmp_path: Path) -> None:
    policy, events, audit = (tmp_path / "ntlm-policy.toml", tmp_path / "ntlm-events.jsonl",
                             tmp_path / "web.jsonl")
    # curl stamps its NTLMv2 blob with its own clock: the gateway runs on real time, and
    # the expiry is passed by moving the gateway's clock a day on.
    clock = [datetime.now(UTC)]
    write_policy(policy, exception=False, expires=clock[0].date())
    ntlm, log = governed_ntlm(policy, service_names=[HTTP_SPN], realm=REALM, events=events,
                              ntlm_dir=None, legacy_clients=True, clock=lambda: clock[0],
                              check_interval=0,
                              verifier=NtHashVerifier(lambda u, d: ACCOUNTS.get(
                                  (u.casefold(), d.upper()))))
    policy_file = ntlm.authenticator.governor.policy
    server = NegotiateServer(NegotiateConfig(
        key_lookup=keytab_key_lookup(web_realm.keytab), realm=REALM,
        audit=json_lines_sink(audit), ntlm=ntlm), clock=lambda: clock[0])

    def middleware(inner: ASGIApp) -> NegotiateMiddleware:
        return NegotiateMiddleware(inner, server)

    try:
        with http_upstream(Hello) as up:
            app = build_gateway(ReverseProxy(f"http://127.0.0.1:{up}"), middleware, None)
            with uvicorn_server(app) as port:
                code, body = curl_ntlm(port)
                assert code == 401, body
                assert {4003, 4625} <= set(event_ids(events))
                write_policy(policy, exception=True, expires=clock[0].date())
                assert policy_file() is not None
                code, body = curl_ntlm(port)
                assert (code, body) == (200, "hello alice"), body  # local name: the account
                assert 4624 in event_ids(events)
                code, _ = curl_ntlm(port, password="wrong")
                assert code == 401
                clock[0] += timedelta(days=1)  # the exception held through its day
                code, body = curl_ntlm(port)
                assert code == 401, body
    finally:
        log.close()
    decisions = [json.loads(x)["Decision"] for x in audit.read_text().splitlines()]
    assert decisions.count("ntlm-accepted") == 1, decisions
    assert len(decisions) >= 4


def test_gateway_cli_policy_refuses_ntlm_without_exception(web_realm: WebRealm,
                                                           tmp_path: Path) -> None:
    policy, events = tmp_path / "ntlm-policy.toml", tmp_path / "ntlm-events.jsonl"
    write_policy(policy, exception=False, expires=datetime.now(UTC).date())
    port = free_port()
    with http_upstream(Hello) as up:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kerbfirst.cli.main", "http", "gateway",
             "--listen", f"127.0.0.1:{port}", "--upstream", f"http://127.0.0.1:{up}",
             "--keytab", str(web_realm.keytab), "--policy", str(policy),
             "--ntlm-dir", str(web_realm.cli.directory), "--ntlm-legacy-clients"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_listening(port, proc)
            code, body = curl_ntlm(port)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    assert code == 401, body
    assert {4003, 4625} <= set(event_ids(events))


def test_pyspnego_negotiate_ntlm_in_spnego_through_gateway(web_realm: WebRealm,
                                                          tmp_path: Path) -> None:
    """NTLMSSP carried by SPNEGO (Negotiate), strict acceptor (MIC and target name required):
    the mechListMIC is made and checked with NTLM's session security both ways."""
    policy, events = tmp_path / "ntlm-policy.toml", tmp_path / "ntlm-events.jsonl"
    write_policy(policy, exception=True, expires=datetime.now(UTC).date())
    ntlm, log = governed_ntlm(policy, service_names=[HTTP_SPN], realm=REALM, events=events,
                              ntlm_dir=None, legacy_clients=False, check_interval=0,
                              verifier=NtHashVerifier(lambda u, d: ACCOUNTS.get(
                                  (u.casefold(), d.upper()))))
    server = NegotiateServer(NegotiateConfig(key_lookup=keytab_key_lookup(web_realm.keytab),
                                             realm=REALM, ntlm=ntlm))

    def middleware(inner: ASGIApp) -> NegotiateMiddleware:
        return NegotiateMiddleware(inner, server)

    ctx = spnego.client("CORP\\alice", PASSWORD, hostname="localhost", service="HTTP",
                        protocol="negotiate")
    try:
        with http_upstream(Hello) as up, uvicorn_server(build_gateway(
                ReverseProxy(f"http://127.0.0.1:{up}"), middleware, None)) as port, \
                httpx.Client(timeout=10) as http:
            token = ctx.step()
            for _ in range(4):
                r = http.get(f"http://localhost:{port}/app", headers={
                    "Authorization": f"Negotiate {base64.b64encode(token).decode()}"})
                challenge = r.headers.get("www-authenticate", "")
                if r.status_code != 401 or not challenge.startswith("Negotiate "):
                    break
                token = ctx.step(base64.b64decode(challenge.split(" ", 1)[1]))
    finally:
        log.close()
    assert (r.status_code, r.text) == (200, "hello alice"), r.text
    assert challenge.startswith("Negotiate ")  # the acceptor's mechListMIC on the 200
    ctx.step(base64.b64decode(challenge.split(" ", 1)[1]))  # pyspnego verifies it
    assert ctx.complete and ctx.negotiated_protocol == "ntlm"
    assert 4624 in event_ids(events)
