"""`kerbfirst iakerb serve` with MIT 1.20's `gss-client -iakerb`, whose krb5.conf names no
reachable KDC: plain kinit fails, IAKerb through our acceptor succeeds, via the LocalKDC
in-process (--dir) and via the running KDC's UNIX socket (--realm-kdc)."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from localkdc.conftest import ALICE_PW, KF, REALM, SERVICE, CliRealm
from peerlib import free_port, peer_env, run_peer, wait_listening, write_krb5_conf

pytestmark = pytest.mark.peer


def _no_kdc_env(tmp_path: Path) -> dict[str, str]:
    conf = write_krb5_conf(
        tmp_path / "client.conf",
        REALM,
        ["127.0.0.1:9"],  # port 9: nothing answers
        extra_libdefaults={"dns_canonicalize_hostname": "false", "udp_preference_limit": "1"},
    )
    conf.write_text(conf.read_text() + f"\n[domain_realm]\n    server.local.test = {REALM}\n")
    return peer_env(conf, tmp_path / "cc")


@pytest.mark.parametrize("route", ["in-process", "unix-socket"])
def test_gss_client_iakerb_through_kerbfirst_iakerb_serve(
    cli_realm: CliRealm, tmp_path: Path, route: str
) -> None:
    keytab = tmp_path / "svc.keytab"
    cli_realm.kf("keytab", "export", SERVICE, "--out", str(keytab))
    env = _no_kdc_env(tmp_path)
    plain = run_peer(["kinit", f"alice@{REALM}"], env=env, input=ALICE_PW + "\n")
    assert plain.returncode != 0 and "Cannot contact any KDC" in plain.stderr
    port = free_port()
    audit = tmp_path / "iakerb.jsonl"
    routing = (
        ["--dir", str(cli_realm.directory)]
        if route == "in-process"
        else ["--realm-kdc", f"{REALM}=unix:{cli_realm.directory / 'kdc.sock'}", "--realm", REALM]
    )
    server = subprocess.Popen(
        [
            *KF,
            "iakerb",
            "serve",
            "--keytab",
            str(keytab),
            "--listen",
            f"127.0.0.1:{port}",
            "--audit",
            str(audit),
            *routing,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_listening(port, server)
        got = run_peer(
            [
                "gss-client",
                "-iakerb",
                "-user",
                "alice",
                "-pass",
                ALICE_PW,
                "-port",
                str(port),
                "127.0.0.1",
                "host@server.local.test",
                "hello via iakerb serve",
            ],
            env=env,
        )
        assert got.returncode == 0, got.stdout + got.stderr
        assert "Signature verified" in got.stdout
    finally:
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=15)
    assert server.returncode == 0, out
    assert f"alice@{REALM}: 'hello via iakerb serve'" in out
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [e["outcome"] for e in events] == ["authenticated"], events
    assert events[0]["client"] == f"alice@{REALM}" and events[0]["hops"] == 3


def test_iakerb_serve_without_a_realm_to_forward_to_is_refused(tmp_path: Path) -> None:
    keytab = tmp_path / "none.keytab"
    keytab.write_bytes(b"\x05\x02")  # an empty MIT keytab
    got = subprocess.run(
        [*KF, "iakerb", "serve", "--keytab", str(keytab)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert got.returncode == 1
    assert "no realm to forward to" in got.stderr
