"""MIT krb5's own programs (kinit, klist, kvno) against the kerbfirst KDC over loopback.

A protocol is right only when someone else's code agrees: every enctype is run
with the client forced to that one enctype, over UDP, and once over TCP.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from loop_server import LoopKdcServer
from memory_realm import ALICE, ALICE_PASSWORD, REALM, SERVICE, Realm, make_realm

from kerbfirst.kdc import Outcome, RequestKind
from peerlib import free_port

pytestmark = pytest.mark.peer

ENCTYPE_NAMES = {
    17: "aes128-cts-hmac-sha1-96",
    18: "aes256-cts-hmac-sha1-96",
    19: "aes128-cts-hmac-sha256-128",
    20: "aes256-cts-hmac-sha384-192",
}
# klist -e's names for them (MIT krb5 1.20)
KLIST_NAMES = {
    17: "aes128-cts-hmac-sha1-96",
    18: "aes256-cts-hmac-sha1-96",
    19: "aes128-cts-hmac-sha256-128",
    20: "aes256-cts-hmac-sha384-192",
}


def _need(program: str) -> str:
    path = shutil.which(program) or shutil.which(program, path="/usr/sbin:/usr/bin")
    if path is None:
        pytest.fail(
            f"{program} (MIT krb5) is not installed: apt-get install krb5-user krb5-kdc "
            "(Debian/Ubuntu) or dnf install krb5-workstation (Fedora)"
        )
    return path


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Realm, int]]:
    realm = make_realm(seed=7)
    port = free_port()
    with LoopKdcServer(realm.kdc, port):
        yield realm, port


def _env(tmp_path: Path, port: int, etype: int, *, tcp: bool = False) -> dict[str, str]:
    name = ENCTYPE_NAMES[etype]
    conf = tmp_path / "krb5.conf"
    conf.write_text(
        f"""[libdefaults]
    default_realm = {REALM}
    dns_lookup_kdc = false
    dns_lookup_realm = false
    rdns = false
    dns_canonicalize_hostname = false
    permitted_enctypes = {name}
    default_tkt_enctypes = {name}
    default_tgs_enctypes = {name}
    udp_preference_limit = {1 if tcp else 1465}
    kdc_timeout = 5000
    max_retries = 2

[realms]
    {REALM} = {{
        kdc = 127.0.0.1:{port}
    }}
"""
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRB5")}
    env.update(
        KRB5_CONFIG=str(conf),
        KRB5CCNAME=f"FILE:{tmp_path / 'ccache'}",
        KRB5_TRACE=str(tmp_path / "trace.log"),
        LC_ALL="C",
    )
    return env


def _run(args: list[str], env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        args, input=stdin, env=env, capture_output=True, text=True, timeout=30, check=False
    )


def _explain(proc: subprocess.CompletedProcess[str], tmp_path: Path) -> str:
    trace = tmp_path / "trace.log"
    return (
        f"{proc.args} exited {proc.returncode}\nstdout: {proc.stdout}\nstderr: {proc.stderr}\n"
        f"trace:\n{trace.read_text() if trace.exists() else '(none)'}"
    )


@pytest.mark.parametrize(
    ("etype", "tcp"), [(17, False), (18, False), (19, False), (20, False), (18, True)]
)
def test_kinit_klist_kvno_renew(
    served: tuple[Realm, int], tmp_path: Path, etype: int, tcp: bool
) -> None:
    kinit, klist, kvno = _need("kinit"), _need("klist"), _need("kvno")
    realm, port = served
    env = _env(tmp_path, port, etype, tcp=tcp)
    first_event = len(realm.events)

    proc = _run([kinit, "-r", "1d", ALICE], env, ALICE_PASSWORD + "\n")
    assert proc.returncode == 0, _explain(proc, tmp_path)

    proc = _run([klist, "-e", "-f"], env)
    assert proc.returncode == 0, _explain(proc, tmp_path)
    assert f"krbtgt/{REALM}@{REALM}" in proc.stdout
    assert f"{KLIST_NAMES[etype]}" in proc.stdout  # the session key's enctype, as forced
    as_events = [e for e in realm.events[first_event:] if e.kind is RequestKind.AS_REQ]
    assert [e.outcome for e in as_events] == [Outcome.PREAUTH_REQUIRED, Outcome.GRANTED]
    granted = as_events[-1]
    assert granted.requested_etypes == (etype,)
    assert granted.session_etype == etype and granted.reply_etype == etype
    assert granted.preauth_type == 2
    assert granted.transport == ("tcp" if tcp else "udp")

    proc = _run([kvno, SERVICE], env)
    assert proc.returncode == 0, _explain(proc, tmp_path)
    assert "kvno = 1" in proc.stdout
    tgs = realm.events[-1]
    assert (tgs.kind, tgs.outcome, tgs.service) == (RequestKind.TGS_REQ, Outcome.GRANTED, SERVICE)
    assert tgs.session_etype == etype

    proc = _run([kinit, "-R"], env)
    assert proc.returncode == 0, _explain(proc, tmp_path)
    assert realm.events[-1].outcome is Outcome.RENEWED
    proc = _run([klist], env)
    assert f"krbtgt/{REALM}@{REALM}" in proc.stdout


def test_wrong_password_is_password_incorrect(served: tuple[Realm, int], tmp_path: Path) -> None:
    kinit = _need("kinit")
    realm, port = served
    env = _env(tmp_path, port, 18)
    failures = realm.db.entries[ALICE].fail_count
    proc = _run([kinit, ALICE], env, "not the password\n")
    assert proc.returncode != 0
    assert "Password incorrect" in proc.stderr, _explain(proc, tmp_path)
    event = realm.events[-1]
    assert (event.outcome, event.result_code, event.windows_event_id) == (
        Outcome.PREAUTH_FAILED,
        24,
        4771,
    )
    assert realm.db.entries[ALICE].fail_count == failures + 1


def test_unknown_client_and_server(served: tuple[Realm, int], tmp_path: Path) -> None:
    kinit, kvno = _need("kinit"), _need("kvno")
    realm, port = served
    env = _env(tmp_path, port, 17)
    proc = _run([kinit, f"nobody@{REALM}"], env, "x\n")
    assert proc.returncode != 0
    assert "not found in Kerberos database" in proc.stderr, _explain(proc, tmp_path)
    assert realm.events[-1].outcome is Outcome.CLIENT_UNKNOWN

    assert _run([kinit, ALICE], env, ALICE_PASSWORD + "\n").returncode == 0
    proc = _run([kvno, f"host/missing.test.realm@{REALM}"], env)
    assert proc.returncode != 0
    assert "missing.test.realm@TEST.REALM not found in Kerberos database" in proc.stderr, (
        _explain(proc, tmp_path)
    )
    assert realm.events[-1].outcome is Outcome.SERVER_UNKNOWN
