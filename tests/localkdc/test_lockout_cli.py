"""Lock-out and passwords through the real CLI and `kdc serve`, checked with MIT's kinit:
the realm's lockout_window, `principal unlock|disable|enable`, failing closed while another
process holds the store's write lock, and the minimum password length."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kerbfirst.client import Credential, KerberosError
from kerbfirst.wire import constants as c
from localkdc.conftest import KF, CliRealm
from localkdc.serving import make_realm, mit_kinit, principals, serving, udp_as

pytestmark = pytest.mark.peer

REALM = "LOCKOUT.TEST"
PW = "alice password 1"
WRONG = "Password incorrect while getting initial credentials"


def flat(text: str) -> str:
    """Messages as one line: the CLI wraps them at the terminal's width."""
    return " ".join(text.split())


def kf(cli: CliRealm, *args: str, stdin: str | None = None, check: bool = True) -> str:
    return flat(cli.kf(*args, stdin=stdin, check=check))


REVOKED = "kinit: Client's credentials have been revoked while getting initial credentials"


def test_lockout_window_from_the_config_expires_old_failures(tmp_path: Path) -> None:
    cli = make_realm(tmp_path, REALM, lockout_threshold="3", lockout_window='"2s"')
    kf(cli, "principal", "add", "alice", "--password-stdin", stdin=PW + "\n")
    with serving(cli, 1):
        for _ in range(2):
            assert WRONG in mit_kinit(cli, tmp_path, "alice", "wrong")[1]
        time.sleep(3)  # more than lockout_window: the two failures no longer count
        assert WRONG in mit_kinit(cli, tmp_path, "alice", "wrong")[1]
        assert principals(cli)[f"alice@{REALM}"]["fail_count"] == 1
        assert mit_kinit(cli, tmp_path, "alice", PW) == (0, "")


def test_unlock_disable_enable_and_what_mit_kinit_prints(tmp_path: Path) -> None:
    cli = make_realm(tmp_path, REALM, lockout_threshold="3", lockout_duration='"0s"')
    kf(cli, "principal", "add", "alice", "--password-stdin", stdin=PW + "\n")
    with serving(cli, 1):
        for _ in range(3):
            assert WRONG in mit_kinit(cli, tmp_path, "alice", "wrong")[1]
        locked = mit_kinit(cli, tmp_path, "alice", PW)
        assert locked == (1, REVOKED), locked
        listed = kf(cli, "principal", "list")
        assert "locked out" in listed, listed
        assert principals(cli)[f"alice@{REALM}"]["locked"] is True
        assert "unlocked alice@LOCKOUT.TEST" in kf(cli, "principal", "unlock", "alice")
        assert mit_kinit(cli, tmp_path, "alice", PW) == (0, "")
        assert principals(cli)[f"alice@{REALM}"]["fail_count"] == 0
        kf(cli, "principal", "disable", "alice")
        # A disabled principal reads exactly as a locked-out one (same code, same e-text).
        assert mit_kinit(cli, tmp_path, "alice", PW) == locked
        assert "disabled" in kf(cli, "principal", "list")
        kf(cli, "principal", "enable", "alice")
        assert mit_kinit(cli, tmp_path, "alice", PW) == (0, "")
    events = [json.loads(line) for line in
              (cli.directory / "kdc-audit.jsonl").read_text().splitlines()]
    reasons = {e["outcome"]: e["reason"] for e in events}
    assert "locked out after 3 failed pre-authentications" in reasons["client-locked-out"]
    assert reasons["client-revoked"] == f"alice@{REALM} is disabled"
    # krbtgt cannot be disabled; unknown names are refused with the name.
    out = kf(cli, "principal", "disable", f"krbtgt/{REALM}", check=False)
    assert "refusing to disable the realm's krbtgt" in out
    out = kf(cli, "principal", "unlock", "nobody", check=False)
    assert f"no principal nobody@{REALM}" in out


_HOLD_WRITE_LOCK = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "db.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
    "db.execute('ROLLBACK')\n"
)


def test_serving_kdc_fails_closed_while_another_process_holds_the_write_lock(
    tmp_path: Path,
) -> None:
    cli = make_realm(tmp_path, REALM)
    kf(cli, "principal", "add", "alice", "--password-stdin", stdin=PW + "\n")
    with serving(cli, 1):
        assert isinstance(udp_as(cli, REALM, "alice", PW), Credential)
        holder = subprocess.Popen(
            [sys.executable, "-c", _HOLD_WRITE_LOCK, str(cli.directory / "principals.db")],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert holder.stdin is not None and holder.stdout is not None
        try:
            assert holder.stdout.readline().strip() == "locked"
            # The KDC waits 5 s for the lock (as MIT's), then gives no verdict.
            wrong = udp_as(cli, REALM, "alice", "wrong password")
            right = udp_as(cli, REALM, "alice", PW)
            assert isinstance(wrong, KerberosError) and isinstance(right, KerberosError)
            assert wrong.code == right.code == c.KDC_ERR_SVC_UNAVAILABLE
            assert wrong.e_text == right.e_text
            time.sleep(1.1)  # a retry is due, and still cannot write
            guess = udp_as(cli, REALM, "alice", "another guess")
            assert isinstance(guess, KerberosError) and guess.code == 29
        finally:
            holder.stdin.close()
            assert holder.wait(timeout=30) == 0
        time.sleep(1.1)
        again = udp_as(cli, REALM, "alice", "wrong password")
        assert isinstance(again, KerberosError) and again.code == c.KDC_ERR_PREAUTH_FAILED
        # The failure judged while locked was kept and written: two now.
        assert principals(cli)[f"alice@{REALM}"]["fail_count"] == 2
        assert isinstance(udp_as(cli, REALM, "alice", PW), Credential)
    outcomes = [json.loads(line)["outcome"] for line in
                (cli.directory / "kdc-audit.jsonl").read_text().splitlines()]
    assert outcomes.count("store-unavailable") == 3
    db = sqlite3.connect(cli.directory / "principals.db")
    assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    db.close()


def test_passwords_empty_short_and_configurable(tmp_path: Path) -> None:
    cli = make_realm(tmp_path, REALM)
    assert "min_password_length = 8" in (cli.directory / "kerbfirst.toml").read_text()
    out = kf(cli, "principal", "add", "alice", "--password-stdin", stdin="\n", check=False)
    assert "the password is empty" in out and "nothing was changed" in out, out
    out = kf(cli, "principal", "add", "alice", "--password-stdin", stdin="seven77\n",
                 check=False)
    assert "the password has 7 characters; this realm requires at least 8" in out, out
    assert "[policy] min_password_length" in out, out
    assert f"alice@{REALM}" not in principals(cli)
    kf(cli, "principal", "add", "alice", "--password-stdin", stdin="eight888\n")
    out = kf(cli, "principal", "rekey", "alice", "--password-stdin", stdin="short\n", check=False)
    assert "requires at least 8" in out, out
    toml = cli.directory / "kerbfirst.toml"
    toml.write_text(toml.read_text().replace("min_password_length = 8",
                                             "min_password_length = 12"))
    out = kf(cli, "principal", "add", "bob", "--password-stdin", stdin="eleven11111\n",
                 check=False)
    assert "requires at least 12" in out, out
    toml.write_text(toml.read_text().replace("min_password_length = 12",
                                             "min_password_length = 0"))
    out = kf(cli, "principal", "list", check=False)
    assert "min_password_length must be at least 1" in out, out


def test_adding_an_existing_principal_is_refused_before_the_password_prompt(
    tmp_path: Path,
) -> None:
    cli = make_realm(tmp_path, REALM)
    kf(cli, "principal", "add", "alice", "--password-stdin", stdin=PW + "\n")
    # No --password-stdin: the command would ask on the terminal; it must not get that far.
    done = subprocess.run(
        [*KF, "principal", "add", "alice", "--dir", str(cli.directory)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1
    assert f"principal alice@{REALM} already exists" in flat(done.stderr), done.stderr
    assert "Password" not in done.stdout + done.stderr
    done = subprocess.run(
        [*KF, "principal", "rekey", "nobody", "--dir", str(cli.directory)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 1 and f"no principal nobody@{REALM}" in flat(done.stderr)
    assert "Password" not in done.stdout + done.stderr


def test_help_documents_the_delay_and_the_new_commands() -> None:
    def help_of(*args: str) -> str:
        done = subprocess.run([*KF, *args, "--help"], capture_output=True, text=True,
                              timeout=60, check=True, env=dict(os.environ, COLUMNS="200"))
        return flat(done.stdout)

    serve = help_of("kdc", "serve")
    assert "5 ms or more after the command returns" in serve
    assert "KDC_ERR_SVC_UNAVAILABLE" in serve
    principal = help_of("principal")
    for command in ("unlock", "disable", "enable"):
        assert command in principal
