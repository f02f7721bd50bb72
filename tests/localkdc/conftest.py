"""A LocalKDC realm made and served by the real `kerbfirst` command.

The realm is created with `kerbfirst realm init` and populated with `kerbfirst principal add`;
the KDC runs as `kerbfirst kdc serve --workers 2` in its own process, exactly as a user
starts it, and is stopped with SIGTERM (its exit status is checked).
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from peerlib import free_port

REALM = "LOCAL.TEST"
ALICE_PW = "alice pässword 1"
SERVICE = "host/server.local.test"
KF = [sys.executable, "-m", "kerbfirst.cli.main"]


class CliRealm:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.kdc: subprocess.Popen[str] | None = None

    def kf(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        proc = subprocess.run(
            [*KF, *args, "--dir", str(self.directory)]
            if args[0] not in ("kinit",)
            else [*KF, *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if check and proc.returncode != 0:
            pytest.fail(f"kerbfirst {' '.join(args)} failed ({proc.returncode}): {proc.stderr}")
        return proc.stdout + proc.stderr

    def audit_events(self) -> list[dict[str, object]]:
        path = self.directory / "kdc-audit.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _wait_tcp(port: int, proc: subprocess.Popen[str], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"kerbfirst kdc serve exited early: {proc.communicate()[0]}")
        with socket.socket() as s:
            s.settimeout(0.2)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    pytest.fail(f"kerbfirst kdc serve did not listen on 127.0.0.1:{port} within {timeout}s")


@pytest.fixture(scope="package")
def cli_realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CliRealm]:
    directory = tmp_path_factory.mktemp("localkdc") / "realm"
    port = free_port()
    realm = CliRealm(directory, port)
    realm.kf("realm", "init", "--realm", REALM, "--listen", f"127.0.0.1:{port}")
    realm.kf("principal", "add", "alice", "--password-stdin", stdin=ALICE_PW + "\n")
    realm.kf("principal", "add", "bob", "--password-stdin", stdin="bob-password\n")
    realm.kf("principal", "add", SERVICE, "--random")
    realm.kdc = subprocess.Popen(
        [*KF, "kdc", "serve", "--dir", str(directory), "--workers", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_tcp(port, realm.kdc)
        yield realm
    finally:
        realm.kdc.send_signal(signal.SIGTERM)
        try:
            code = realm.kdc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            realm.kdc.kill()
            pytest.fail("kerbfirst kdc serve did not stop within 15 s of SIGTERM")
        assert code == 0, f"kdc serve exited {code} on SIGTERM: {realm.kdc.communicate()[0]}"
        assert not (directory / "kdc.sock").exists(), "UNIX socket left behind after SIGTERM"
