"""The middleware's decisions as Windows-shaped logon events, read by the workbench: MIT
GSSAPI's `curl --negotiate` logs in twice (one 4624 each, package Kerberos) and is refused
once for a realm the service does not allow (4625); `kerbfirst audit ingest` and
`audit report` count them as Kerberos logons at this service, apart from NTLM."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kerbfirst.cli.main import app
from kerbfirst.web.asgi import NegotiateMiddleware
from peerlib import run_peer
from web.apps import audit_lines, server_for, whoami_asgi
from web.conftest import REALM, WebRealm
from web.webenv import uvicorn_server

pytestmark = pytest.mark.peer


def _curl(realm: WebRealm, port: int) -> int:
    got = run_peer(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--negotiate",
                    "-u", ":", f"http://localhost:{port}/"], env=realm.env())
    return int(got.stdout or 0)


def test_curl_negotiate_logons_are_counted_by_the_report(web_realm: WebRealm,
                                                         tmp_path: Path) -> None:
    log = tmp_path / "web.jsonl"
    ok = server_for(web_realm.keytab, log)
    other = server_for(web_realm.keytab, log, allowed_realms=["OTHER.TEST"])
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, ok)) as port:
        assert [_curl(web_realm, port) for _ in range(2)] == [200, 200]
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, other)) as port:
        assert _curl(web_realm, port) == 403
    docs = audit_lines(log)
    assert [(d["EventID"], d["AuthenticationPackageName"], d["LogonType"]) for d in docs] == [
        (4624, "Kerberos", "3"), (4624, "Kerberos", "3"), (4625, "Kerberos", "3")]
    assert docs[2]["Status"] == "0xC000015B" and docs[2]["TargetUserName"] == "alice"
    assert {d["TargetDomainName"] for d in docs} == {REALM}

    runner, store, out = CliRunner(), tmp_path / "store", tmp_path / "report"
    got = runner.invoke(app, ["audit", "ingest", str(log), "--store", str(store)])
    assert got.exit_code == 0, got.output
    assert "3 Kerberos logons at kerbfirst's services" in " ".join(got.output.split())
    got = runner.invoke(app, ["audit", "report", "--store", str(store), "--out", str(out)])
    assert got.exit_code == 0, got.output
    report = json.loads((out / "report.json").read_text())
    assert report["kerberos_logons"] == [{"server": "LOCALHOST", "succeeded": 2,
                                          "failed": 1, "accounts": 1, "ntlm": 0,
                                          "ntlm_refused": 0}]
    assert report["events"] == 0  # Kerberos logons are not NTLM
