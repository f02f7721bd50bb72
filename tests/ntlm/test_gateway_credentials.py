"""End to end through `kerbfirst http gateway`, with `curl --ntlm` as the client and a
LocalKDC account's own NT hash: `kerbfirst principal add` of an account a live exception
names makes its sealed NT hash; curl then gets 200 and the user is forwarded upstream;
`policy exception revoke` destroys the hash (on the gateway's policy reload) and the same
curl gets 401 and a block event that says why."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from typer.testing import CliRunner

from kerbfirst.cli.main import app
from peerlib import free_port, wait_listening
from web.ntlm_env import curl_ntlm
from web.webenv import http_upstream

KF = [sys.executable, "-m", "kerbfirst.cli.main"]
REALM = "LOCAL.TEST"
PASSWORD = "alice password 1"  # ASCII: curl widens each byte of the password to UTF-16


def kf(*args: str, stdin: str | None = None) -> str:
    """A kerbfirst command, in-process (the gateway runs as its own process)."""
    got = CliRunner().invoke(app, list(args), input=stdin)
    assert got.exit_code == 0, got.output
    return got.output


class _Echo(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = f"user={self.headers.get('X-Remote-User')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _curl(port: int) -> tuple[int, str]:
    return curl_ntlm(port, "LOCAL\\alice", PASSWORD)


def test_principal_add_makes_the_nt_hash_and_revoke_destroys_it(tmp_path: Path) -> None:
    realm, policy = tmp_path / "realm", tmp_path / "ntlm-policy.toml"
    keytab, events = tmp_path / "http.keytab", tmp_path / "ntlm-events.jsonl"
    kf("realm", "init", "--dir", str(realm), "--realm", REALM, "--listen",
       f"127.0.0.1:{free_port()}")
    kf("principal", "add", "HTTP/localhost", "--random", "--dir", str(realm))
    kf("keytab", "export", "HTTP/localhost", "--out", str(keytab), "--dir", str(realm))
    pol = ["policy", "--policy", str(policy)]
    kf(*pol, "init", "--mode", "enforce", "--estate")
    kf(*pol, "exception", "add", "--id", "EX-1", "--target", "localhost", "--client",
       "127.0.0.1", "--user", "LOCAL\\alice", "--owner", "web@local.test", "--expires",
       (datetime.now(UTC).date() + timedelta(days=7)).isoformat(), "--reason",
       "legacy client", "--compensating-control", "loopback only")

    added = kf("principal", "add", "alice", "--dir", str(realm), "--password-stdin",
               "--ntlm-policy", str(policy), stdin=PASSWORD + "\n")
    assert "NTLM credential of LOCAL\\alice kept until EX-1" in added, added
    bob = kf("principal", "add", "bob", "--dir", str(realm), "--password-stdin",
             "--ntlm-policy", str(policy), stdin="bob password 1\n")
    assert "NTLM" not in bob  # no exception names bob: no NT hash
    listed = kf(*pol, "credential", "list", "--dir", str(realm))
    assert "LOCAL\\alice\tEX-1" in listed and "bob" not in listed

    port = free_port()
    with http_upstream(_Echo) as up:
        gateway = subprocess.Popen(
            [*KF, "http", "gateway", "--listen", f"127.0.0.1:{port}", "--upstream",
             f"http://127.0.0.1:{up}", "--keytab", str(keytab), "--policy", str(policy),
             "--ntlm-dir", str(realm), "--ntlm-events", str(events),
             "--ntlm-legacy-clients"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        try:
            wait_listening(port, gateway)
            assert _curl(port) == (200, "user=alice")
            kf(*pol, "exception", "revoke", "EX-1", "--why", "client replaced")
            time.sleep(1.2)  # the gateway rereads a changed policy at most every second
            code, body = _curl(port)
        finally:
            gateway.send_signal(signal.SIGTERM)
            gateway.communicate(timeout=15)
    assert code == 401, body
    assert "alice" not in kf(*pol, "credential", "list", "--dir", str(realm))
    docs = [json.loads(x) for x in events.read_text().splitlines()]
    assert [d["EventID"] for d in docs if d["EventID"] in (4624, 4625)] == [4624, 4625]
    block = [d for d in docs if d["EventID"] == 4003]
    assert len(block) == 1 and block[0]["UserName"] == "alice"
    assert block[0]["PolicyDecision"] == "blocked"
    assert "no exception" in str(block[0]["PolicyReason"]).lower() or \
        "none" in str(block[0]["PolicyReason"]).lower(), block[0]["PolicyReason"]
