"""The Negotiate middleware given what an attacker or a broken client sends: an NTLM
attempt in any shape is refused with a 401 that says so, and audited as an NTLM refusal
(the report counts those), never as a Kerberos failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from kerbfirst.web.asgi import NegotiateMiddleware
from peerlib import run_peer
from web.apps import audit_lines, server_for, whoami_asgi
from web.conftest import WebRealm
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
    assert event["extra"]["decision"] == "ntlm-refused", event
    assert event["mechanism"] == "ntlm" and event["disposition"] == "blocked", event
