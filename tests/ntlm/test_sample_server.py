"""`kerbfirst iakerb serve` (MIT's GSS sample-program protocol) with real peers:

- MIT 1.20's `gss-client -iakerb` logs in (and is refused for a service whose key the
  server lacks); the server's Windows-shaped logon events go through `kerbfirst audit
  ingest` and `audit report`, whose counts name the service;
- pyspnego's NTLM client, bare and inside SPNEGO, over the same stream protocol: refused
  by default with a 4002 event, refused under an enforcing policy with 4003/4625 naming
  why, allowed by an exception for the account and client once `principal rekey` made its
  NT hash, with a sealed message and a MIC both ways; the hash dies with the exception."""

from __future__ import annotations

import json
import socket
import struct
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

import spnego
from iakerb.serve_process import Serve
from kerbfirst.cli.main import app
from kerbfirst.net.gss_stream import (
    TOKEN_CONTEXT,
    TOKEN_CONTEXT_NEXT,
    TOKEN_DATA,
    TOKEN_ENCRYPTED,
    TOKEN_MIC,
    TOKEN_NOOP,
    TOKEN_SEND_MIC,
    TOKEN_WRAPPED,
)
from peerlib import free_port, peer_env, run_peer, write_krb5_conf

REALM = "LOCAL.TEST"
HOST = "server.local.test"
ALICE_PW = "alice pässword 1"


def kf(*args: str, stdin: str | None = None, ok: bool = True) -> str:
    """A kerbfirst command, in-process (the servers run as their own processes)."""
    got = CliRunner().invoke(app, list(args), input=stdin)
    assert (got.exit_code == 0) == ok, got.output
    return got.output


@pytest.fixture
def realm(tmp_path: Path) -> Path:
    d = tmp_path / "realm"
    kf("realm", "init", "--dir", str(d), "--realm", REALM, "--listen",
       f"127.0.0.1:{free_port()}")
    kf("principal", "add", "alice", "--dir", str(d), "--password-stdin", stdin=ALICE_PW + "\n")
    for service in (f"host/{HOST}", "host/other.local.test"):
        kf("principal", "add", service, "--dir", str(d), "--random")
    kf("keytab", "export", f"host/{HOST}", "--out", str(tmp_path / "svc.keytab"),
       "--dir", str(d))
    return d


def _serve(realm: Path, *args: str) -> Serve:
    """`iakerb serve` with the realm's service keytab, serving the realm in-process."""
    return Serve(["--keytab", str(realm.parent / "svc.keytab"), "--dir", str(realm), *args])


def _events(path: Path) -> list[dict[str, object]]:
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_gss_client_logons_reach_the_report(realm: Path, tmp_path: Path) -> None:
    conf = write_krb5_conf(tmp_path / "client.conf", REALM, ["127.0.0.1:9"],  # no KDC
                           extra_libdefaults={"dns_canonicalize_hostname": "false"})
    conf.write_text(conf.read_text() + f"\n[domain_realm]\n    .local.test = {REALM}\n")
    env = peer_env(conf, tmp_path / "cc")
    server = _serve(realm)
    try:
        results = [run_peer(["gss-client", "-iakerb", "-user", "alice", "-pass", ALICE_PW,
                             "-port", str(server.port), "127.0.0.1", f"host@{name}", "hi"],
                            env=env) for name in (HOST, "other.local.test")]
    finally:
        out = server.stop()
    assert results[0].returncode == 0, results[0].stdout + results[0].stderr
    assert results[1].returncode != 0  # the server has no key for host/other.local.test
    assert f"alice@{REALM}: 'hi'" in out
    log = realm / "logon-events.jsonl"
    ok, refused = _events(log)
    assert (ok["EventID"], ok["AuthenticationPackageName"], ok["LogonProcessName"],
            ok["LogonType"], ok["TargetUserName"], ok["TargetDomainName"], ok["IpAddress"],
            ok["KerbfirstAcceptor"], ok["ServiceName"]) == (
        4624, "Kerberos", "Kerberos", "3", "alice", REALM, "127.0.0.1", "kerbfirst-iakerb",
        f"host/{HOST}@{REALM}")
    assert ok["KerbfirstMechanism"] == "iakerb"  # the AS and TGS exchanges went through it
    assert refused["EventID"] == 4625 and refused["TargetUserName"] == "alice"
    assert refused["Status"] == "0xC000006D" and refused["FailureReason"]

    store, report = tmp_path / "store", tmp_path / "report"
    ingest = kf("audit", "ingest", str(log), "--store", str(store))
    assert "2 Kerberos logons at kerbfirst's services" in " ".join(ingest.split()), ingest
    kf("audit", "report", "--store", str(store), "--out", str(report))
    data = json.loads((report / "report.json").read_text())
    assert data["kerberos_logons"] == [{"server": HOST.upper(), "succeeded": 1, "failed": 1,
                                        "accounts": 1, "ntlm": 0, "ntlm_refused": 0}]
    assert data["events"] == 0  # Kerberos logons are not NTLM
    assert "kerbfirst&#x27;s own services" in (report / "report.html").read_text() or \
        "kerbfirst's own services" in (report / "report.html").read_text()


def _send(sock: socket.socket, flags: int, token: bytes = b"") -> None:
    sock.sendall(bytes((flags,)) + struct.pack(">I", len(token)) + token)


def _recv(sock: socket.socket) -> tuple[int, bytes] | None:
    def exactly(n: int) -> bytes | None:
        buf = b""
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    header = exactly(5)
    if header is None:
        return None
    body = exactly(struct.unpack(">I", header[1:])[0])
    return None if body is None else (header[0], body)


def _ntlm_session(port: int, protocol: str, message: bytes = b"hello over ntlm") -> bool:
    """gss-client's session with pyspnego as the initiator: True when the context was
    established and the server's MIC of the sealed message verified."""
    ctx = spnego.client("LOCAL\\alice", ALICE_PW, hostname=HOST, service="host",
                        protocol=protocol)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        _send(sock, TOKEN_NOOP | TOKEN_CONTEXT_NEXT)
        _send(sock, TOKEN_CONTEXT, ctx.step() or b"")
        while not ctx.complete:
            got = _recv(sock)
            if got is None:
                return False  # refused: the server closed the connection
            try:
                out = ctx.step(got[1])
            except spnego.exceptions.SpnegoError:
                return False  # refused: SPNEGO's reject

            if out:
                _send(sock, TOKEN_CONTEXT, out)
        assert ctx.negotiated_protocol == "ntlm"
        _send(sock, TOKEN_DATA | TOKEN_WRAPPED | TOKEN_ENCRYPTED | TOKEN_SEND_MIC,
              ctx.wrap(message, encrypt=True).data)
        got = _recv(sock)
        if got is None:
            return False
        assert got[0] & TOKEN_MIC
        ctx.verify(message, got[1])
        _send(sock, TOKEN_NOOP)
    return True


def test_ntlm_over_the_sample_protocol_by_exception_only(realm: Path, tmp_path: Path) -> None:
    policy = tmp_path / "ntlm-policy.toml"
    logons, ntlm_log = realm / "logon-events.jsonl", tmp_path / "ntlm-events.jsonl"

    server = _serve(realm)  # no --policy: NTLM is refused unread, bare or in SPNEGO
    try:
        assert not _ntlm_session(server.port, "ntlm")
        assert not _ntlm_session(server.port, "negotiate")
    finally:
        server.stop()
    blocked = [e for e in _events(logons) if e["EventID"] == 4002]
    assert [e["Status"] for e in blocked] == ["0xC0000418"] * 2
    assert [e["MechanismOID"] for e in blocked] == ["(NULL)", "1.3.6.1.4.1.311.2.2.10"]
    assert not [e for e in _events(logons) if e["EventID"] in (4624, 4625)]

    today = datetime.now(UTC).date()
    kf("policy", "--policy", str(policy), "init", "--mode", "enforce", "--estate")
    server = _serve(realm, "--policy", str(policy), "--ntlm-dir", str(realm))
    try:
        assert not _ntlm_session(server.port, "ntlm")  # enforce mode, no exception
        by_id = {e["EventID"]: e for e in _events(ntlm_log)}
        assert {4003, 4625} <= set(by_id), by_id
        assert by_id[4625]["Status"] == "0xC0000418"
        assert by_id[4003]["PolicyDecision"] == "blocked" and by_id[4003]["PolicyReason"]

        kf("policy", "--policy", str(policy), "exception", "add", "--id", "EX-1", "--target",
           HOST, "--client", "127.0.0.1", "--user", "LOCAL\\alice", "--owner",
           "ops@local.test", "--expires", (today + timedelta(days=7)).isoformat(),
           "--reason", "legacy NTLM client", "--compensating-control", "loopback only")
        assert not _ntlm_session(server.port, "ntlm")  # excepted, but no NT hash yet
        made = kf("principal", "rekey", "alice", "--dir", str(realm), "--password-stdin",
                  "--ntlm-policy", str(policy), stdin=ALICE_PW + "\n")
        assert "NTLM credential of LOCAL\\alice kept until EX-1" in made, made
        time.sleep(1.2)  # the server rereads a changed policy file at most every second
        assert _ntlm_session(server.port, "ntlm")
        assert _ntlm_session(server.port, "negotiate")  # NTLMSSP inside SPNEGO

        kf("policy", "--policy", str(policy), "exception", "revoke", "EX-1", "--why",
           "client replaced")
        time.sleep(1.2)
        assert not _ntlm_session(server.port, "ntlm")
    finally:
        out = server.stop()
    assert out.count("LOCAL\\alice: 'hello over ntlm'") == 2, out
    assert "alice" not in kf("policy", "--policy", str(policy), "credential", "list",
                             "--dir", str(realm))  # destroyed on the reload
    last = [e for e in _events(ntlm_log) if e["EventID"] == 4003][-1]
    assert last["PolicyDecision"] == "blocked"
    assert [e["EventID"] for e in _events(ntlm_log)].count(4624) == 2
    assert not [e for e in _events(logons) if e.get("AuthenticationPackageName") == "NTLM"]
