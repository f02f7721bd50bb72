"""What a new user meets in the first hour: --help, --version, realm names, which krb5.conf
`kerbfirst kinit` reads and what its errors say, the principal table at 80 columns, log
lines without "None"."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerbfirst.cli.fields import kv
from peerlib import free_port

KF = [sys.executable, "-m", "kerbfirst.cli.main"]
LONG_SERVICE = "host/web.example.test"  # with @EXAMPLE.TEST: 34 characters


def kf(*args: str, env: dict[str, str] | None = None, stdin: str | None = None,
       ) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items()
            if not k.startswith(("KRB5", "KERBFIRST_"))}
    return subprocess.run([*KF, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False, env={**base, **(env or {})})


def said(done: subprocess.CompletedProcess[str]) -> str:
    """stderr with the terminal's line wrapping undone."""
    return " ".join(done.stderr.split())


@pytest.fixture(scope="module")
def realm_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    directory = tmp_path_factory.mktemp("first-hour") / "realm"
    port = free_port()  # nothing listens there: kinit's errors are the subject
    done = kf("realm", "init", "--dir", str(directory), "--realm", "EXAMPLE.TEST",
              "--listen", f"127.0.0.1:{port}")
    assert done.returncode == 0, done.stderr
    for args in (["alice", "--password-stdin"], [LONG_SERVICE, "--random"]):
        added = kf("principal", "add", *args, "--dir", str(directory), stdin="pass phrase 1\n")
        assert added.returncode == 0, added.stderr
    yield directory


@pytest.mark.parametrize("command", [
    [], ["realm", "init"], ["principal", "add"], ["kdc", "serve"], ["kinit"],
    ["iakerb", "serve"], ["keytab", "export"],
])
def test_help_shows_no_bool_type_on_flags_and_no_braces_in_usage(command: list[str]) -> None:
    done = kf(*command, "--help", env={"COLUMNS": "100"})
    assert done.returncode == 0, done.stderr
    assert "<bool>" not in done.stdout, done.stdout
    usage = next(line for line in done.stdout.splitlines() if "Usage:" in line)
    assert "{" not in usage, usage
    assert "<list[" not in done.stdout, done.stdout


def test_usage_names_required_arguments_in_upper_case() -> None:
    done = kf("principal", "add", "--help", env={"COLUMNS": "100"})
    usage = r"Usage: .* principal add \[OPTIONS\] NAME\s*$"
    assert re.search(usage, done.stdout, re.M), done.stdout


def test_version_says_version_and_which_build() -> None:
    done = kf("--version")
    assert done.returncode == 0, done.stderr
    # This test process runs the sources (pure Python); the compiled build's answer is
    # checked in tests/test_compiled_build.py.
    assert re.match(r"kerbfirst \d+\.\d+\.\d+, pure-Python build, Python 3\.\d+", done.stdout)


def test_lower_case_realm_is_kept_and_the_convention_named(tmp_path: Path) -> None:
    done = kf("realm", "init", "--dir", str(tmp_path / "r"), "--realm", "example.test",
              env={"COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert "realm example.test created" in done.stdout
    assert "--realm EXAMPLE.TEST" in said(done) and "case-sensitive" in said(done)
    assert "default_realm = example.test" in (tmp_path / "r" / "krb5.conf").read_text()


def test_upper_case_realm_gets_no_note(tmp_path: Path) -> None:
    done = kf("realm", "init", "--dir", str(tmp_path / "r"), "--realm", "EXAMPLE.TEST")
    assert done.returncode == 0 and "note" not in done.stderr, done.stderr


def test_kinit_uses_the_realm_directory_krb5_conf_and_says_so(realm_dir: Path,
                                                              tmp_path: Path) -> None:
    # An /etc/krb5.conf-like file for another realm: with KERBFIRST_REALM_DIR it is not read.
    other = tmp_path / "other.conf"
    other.write_text("[libdefaults]\n default_realm = ATHENA.MIT.EDU\n[realms]\n"
                     " ATHENA.MIT.EDU = {\n  kdc = 127.0.0.1:9\n }\n")
    conf = realm_dir / "krb5.conf"
    done = kf("kinit", "alice", "--password-stdin", "--timeout", "0.3",
              "--ccache", str(tmp_path / "cc"), stdin="pass phrase 1\n",
              env={"KERBFIRST_REALM_DIR": str(realm_dir), "KRB5_CONFIG": str(other),
                   "COLUMNS": "300"})
    assert done.returncode == 1
    assert f"realm EXAMPLE.TEST, KDCs from {conf}" in said(done), done.stderr
    assert "ATHENA" not in done.stderr
    # --dir does the same.
    done = kf("kinit", "alice", "--password-stdin", "--timeout", "0.3", "--dir", str(realm_dir),
              "--ccache", str(tmp_path / "cc"), stdin="pass phrase 1\n", env={"COLUMNS": "300"})
    assert f"realm EXAMPLE.TEST, KDCs from {conf}" in said(done), done.stderr


def test_kinit_without_realm_directory_names_the_krb5_conf_it_read(tmp_path: Path) -> None:
    other = tmp_path / "other.conf"
    other.write_text("[libdefaults]\n default_realm = ATHENA.MIT.EDU\n[realms]\n"
                     " ATHENA.MIT.EDU = {\n  kdc = 127.0.0.1:9\n }\n")
    done = kf("kinit", "alice", "--password-stdin", "--timeout", "0.3",
              "--ccache", str(tmp_path / "cc"), stdin="pw\n",
              env={"KRB5_CONFIG": str(other), "COLUMNS": "300"})
    assert done.returncode == 1
    assert f"realm ATHENA.MIT.EDU, KDCs from {other}" in said(done), done.stderr
    done = kf("kinit", "bob@NOWHERE.TEST", "--password-stdin",
              stdin="pw\n", env={"KRB5_CONFIG": str(other), "COLUMNS": "300"})
    assert f"no KDC known for realm NOWHERE.TEST in {other}" in said(done), done.stderr


def test_kinit_refuses_a_directory_that_is_no_realm(tmp_path: Path) -> None:
    done = kf("kinit", "alice", "--dir", str(tmp_path), env={"COLUMNS": "300"})
    assert done.returncode == 1 and "holds no krb5.conf" in said(done), done.stderr


@pytest.mark.parametrize("columns", [80])
def test_principal_table_fits_the_terminal_without_cutting_names(realm_dir: Path,
                                                                 columns: int) -> None:
    done = kf("principal", "list", "--dir", str(realm_dir), env={"COLUMNS": str(columns)})
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert all(len(line.rstrip()) <= columns for line in lines), done.stdout
    assert "failures" in lines[0], done.stdout  # every column is there
    assert any(f"{LONG_SERVICE}@EXAMPLE.TEST" in line for line in lines), done.stdout


def test_log_fields_leave_out_missing_values() -> None:
    assert kv(client="alice@R", kdc=None, etype="", hops=3) == "client=alice@R hops=3"
    assert kv(reason="no route for realm") == 'reason="no route for realm"'
