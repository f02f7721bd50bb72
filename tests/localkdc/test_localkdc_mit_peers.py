"""The LocalKDC against MIT krb5 1.20's own programs, through the real CLI and server."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import pytest

from localkdc.conftest import ALICE_PW, KF, REALM, SERVICE, CliRealm, _wait_tcp
from peerlib import (
    free_port,
    peer_env,
    require_program,
    run_peer,
    wait_listening,
    write_krb5_conf,
)

pytestmark = pytest.mark.peer

ENCTYPES = {
    17: "aes128-cts-hmac-sha1-96",
    18: "aes256-cts-hmac-sha1-96",
    19: "aes128-cts-hmac-sha256-128",
    20: "aes256-cts-hmac-sha384-192",
}


def _conf(tmp_path: Path, realm: CliRealm, enctypes: tuple[str, ...] = ()) -> Path:
    return write_krb5_conf(
        tmp_path / "krb5.conf",
        REALM,
        [f"127.0.0.1:{realm.port}"],
        enctypes=enctypes,
        extra_libdefaults={"dns_canonicalize_hostname": "false"},
    )


@pytest.mark.parametrize("etype", sorted(ENCTYPES))
def test_mit_kinit_kvno_klist_each_enctype(cli_realm: CliRealm, tmp_path: Path, etype: int) -> None:
    name = ENCTYPES[etype]
    env = peer_env(_conf(tmp_path, cli_realm, (name,)), tmp_path / "cc")
    got = run_peer(["kinit", f"alice@{REALM}"], env=env, input=ALICE_PW + "\n")
    assert got.returncode == 0, got.stderr
    got = run_peer(["kvno", f"{SERVICE}@{REALM}"], env=env)
    assert got.returncode == 0, got.stderr
    assert f"{SERVICE}@{REALM}: kvno = 1" in got.stdout
    got = run_peer(["klist", "-e", "-f"], env=env)
    assert got.returncode == 0, got.stderr
    assert f"krbtgt/{REALM}@{REALM}" in got.stdout and f"{SERVICE}@{REALM}" in got.stdout
    # The session keys use the forced enctype (the AS reply key is the password key of that
    # enctype, or kinit could not have decrypted it); the ticket's own enctype is the service's
    # strongest key, the KDC's choice as in MIT (RFC 4120 3.1.3).
    assert got.stdout.count(f"Etype (skey, tkt): {name}, ") == 2, got.stdout


def test_keytab_export_read_by_mit_klist(cli_realm: CliRealm, tmp_path: Path) -> None:
    keytab = tmp_path / "service.keytab"
    cli_realm.kf("keytab", "export", SERVICE, "--out", str(keytab))
    assert stat.S_IMODE(keytab.stat().st_mode) == 0o600
    env = peer_env(_conf(tmp_path, cli_realm))
    got = run_peer(["klist", "-k", "-e", str(keytab)], env=env)
    assert got.returncode == 0, got.stderr
    for name in ENCTYPES.values():
        assert f"{SERVICE}@{REALM} ({name})" in got.stdout, got.stdout


def test_gss_sample_mutual_with_our_keytab_and_tickets(cli_realm: CliRealm, tmp_path: Path) -> None:
    """MIT's gss-server uses our exported keytab; gss-client uses tickets from our KDC."""
    require_program("gss-server")
    keytab = tmp_path / "gss.keytab"
    cli_realm.kf("keytab", "export", SERVICE, "--out", str(keytab))
    env = peer_env(_conf(tmp_path, cli_realm), tmp_path / "cc")
    assert run_peer(["kinit", f"alice@{REALM}"], env=env, input=ALICE_PW + "\n").returncode == 0
    port = free_port()
    server = subprocess.Popen(
        [
            "gss-server",
            "-port",
            str(port),
            "-once",
            "-keytab",
            str(keytab),
            "host@server.local.test",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_listening(port, server)
        # gss-client requests mutual authentication by default (it needs our AP-REP back).
        got = run_peer(
            [
                "gss-client",
                "-port",
                str(port),
                "127.0.0.1",
                "host@server.local.test",
                "hello LocalKDC",
            ],
            env=env,
        )
        assert got.returncode == 0, got.stdout + got.stderr
        assert "Signature verified" in got.stdout, got.stdout
        out, _ = server.communicate(timeout=10)
    finally:
        if server.poll() is None:
            server.kill()
    assert f'Accepted connection: "alice@{REALM}"' in out, out
    assert "hello LocalKDC" in out, out


def test_wrong_password_fails_as_mit_expects_and_is_audited(
    cli_realm: CliRealm, tmp_path: Path
) -> None:
    env = peer_env(_conf(tmp_path, cli_realm), tmp_path / "cc")
    got = run_peer(["kinit", f"bob@{REALM}"], env=env, input="not bob's password\n")
    assert got.returncode != 0
    assert "Password incorrect while getting initial credentials" in got.stderr, got.stderr
    time.sleep(0.2)
    failed = [
        e
        for e in cli_realm.audit_events()
        if e.get("client") == f"bob@{REALM}" and e.get("outcome") == "preauth-failed"
    ]
    assert failed, "no PREAUTH_FAILED audit event for bob"
    assert failed[-1]["result_code"] == 24


def test_rc4_only_request_is_refused_and_audited(cli_realm: CliRealm, tmp_path: Path) -> None:
    env = peer_env(_conf(tmp_path, cli_realm, ("arcfour-hmac",)), tmp_path / "cc")
    got = run_peer(["kinit", f"alice@{REALM}"], env=env, input=ALICE_PW + "\n")
    assert got.returncode != 0
    assert "KDC has no support for encryption type" in got.stderr, got.stderr
    time.sleep(0.2)
    refused = [e for e in cli_realm.audit_events() if e.get("outcome") == "etype-nosupp"]
    assert refused and refused[-1]["result_code"] == 14
    assert 23 in refused[-1]["requested_etypes"]  # type: ignore[operator]


def test_our_kinit_against_our_kdc_read_by_mit_klist(cli_realm: CliRealm, tmp_path: Path) -> None:
    cache = tmp_path / "ours.ccache"
    env = peer_env(_conf(tmp_path, cli_realm))
    proc = subprocess.run(
        [
            *KF,
            "kinit",
            "alice",
            "--password-stdin",
            "--ccache",
            str(cache),
            "--service",
            SERVICE,
        ],
        input=ALICE_PW + "\n",
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    got = run_peer(["klist", "-e", "-c", f"FILE:{cache}"], env=env)
    assert got.returncode == 0, got.stderr
    assert f"Default principal: alice@{REALM}" in got.stdout
    assert f"{SERVICE}@{REALM}" in got.stdout
    # MIT's kvno can use the TGT our client obtained (so the ticket and session key are right).
    env2 = dict(env, KRB5CCNAME=f"FILE:{cache}")
    assert run_peer(["kvno", f"bob@{REALM}"], env=env2).returncode == 0


def test_kdc_serve_sigterm_is_clean(tmp_path: Path) -> None:
    """Also with a relative --dir, as a user types it: the UNIX socket path must still work."""
    port = free_port()
    d = tmp_path / "r"
    subprocess.run(
        [*KF, "realm", "init", "--dir", "r", "--realm", "STOP.TEST", "--listen",
         f"127.0.0.1:{port}"],
        check=True, capture_output=True, timeout=60, cwd=tmp_path,
    )
    proc = subprocess.Popen([*KF, "kdc", "serve", "--dir", "r"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    _wait_tcp(port, proc)
    assert (d / "kdc.sock").exists()
    # A second server on the same addresses is refused with a clear message, not a traceback.
    second = subprocess.run([*KF, "kdc", "serve", "--dir", "r"], capture_output=True, text=True,
                            timeout=60, cwd=tmp_path, check=False)
    assert second.returncode == 1 and "Address already in use" in second.stderr, second.stderr
    assert "Traceback" not in second.stderr
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=15) == 0
    assert not (d / "kdc.sock").exists()

def test_our_kinit_over_the_unix_socket(cli_realm: CliRealm, tmp_path: Path) -> None:
    """The UNIX stream socket (4-byte length prefix, as TCP) serves the same KDC."""
    sock = cli_realm.directory / "kdc.sock"
    assert stat.S_ISSOCK(sock.stat().st_mode)
    cache = tmp_path / "unix.ccache"
    proc = subprocess.run(
        [
            *KF,
            "kinit",
            f"alice@{REALM}",
            "--password-stdin",
            "--ccache",
            str(cache),
            "--kdc",
            f"unix:{sock}",
        ],
        input=ALICE_PW + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    events = [e for e in cli_realm.audit_events() if e.get("transport") == "unix"]
    assert any(e.get("outcome") == "granted" for e in events), events[-3:]


def test_rekey_gives_a_new_kvno_that_mit_sees(cli_realm: CliRealm, tmp_path: Path) -> None:
    svc = "host/rekeyed.local.test"
    cli_realm.kf("principal", "add", svc, "--random")
    env = peer_env(_conf(tmp_path, cli_realm), tmp_path / "cc")
    assert run_peer(["kinit", f"alice@{REALM}"], env=env, input=ALICE_PW + "\n").returncode == 0
    assert f"{svc}@{REALM}: kvno = 1" in run_peer(["kvno", f"{svc}@{REALM}"], env=env).stdout
    cli_realm.kf("principal", "rekey", svc, "--random")
    run_peer(["kdestroy"], env=env)
    assert run_peer(["kinit", f"alice@{REALM}"], env=env, input=ALICE_PW + "\n").returncode == 0
    assert f"{svc}@{REALM}: kvno = 2" in run_peer(["kvno", f"{svc}@{REALM}"], env=env).stdout
    # The keytab exported with every kept kvno holds both keys (old tickets still decrypt).
    keytab = tmp_path / "both.keytab"
    cli_realm.kf("keytab", "export", svc, "--out", str(keytab), "--all-kvnos")
    listed = run_peer(["klist", "-k", str(keytab)], env=env).stdout
    assert f"   1 {svc}@{REALM}" in listed and f"   2 {svc}@{REALM}" in listed, listed


def test_principal_list_json_is_one_object_per_line_without_keys(cli_realm: CliRealm) -> None:
    lines = cli_realm.kf("principal", "list", "--json").strip().splitlines()
    records = [json.loads(line) for line in lines]
    names = {r["name"] for r in records}
    assert {f"alice@{REALM}", f"{SERVICE}@{REALM}", f"krbtgt/{REALM}@{REALM}"} <= names
    for r in records:
        assert set(r["etypes"]) <= {17, 18, 19, 20}
        assert not {"key", "keys", "contents", "password", "salt"} & set(r), sorted(r)
