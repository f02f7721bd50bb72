"""A realm made by the real `kerbfirst` CLI and served by `kerbfirst kdc serve` in its own
process (its own session, so that kill -9 can take the whole worker group down at once),
and a quick in-process client that talks to it over UDP."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from kerbfirst.client import AsExchange, Credential, KerberosError
from localkdc.conftest import KF, CliRealm, _wait_tcp
from peerlib import free_port, peer_env, run_peer


def make_realm(tmp_path: Path, realm: str, **policy: str) -> CliRealm:
    """`realm init`, then [policy] settings replaced in kerbfirst.toml (values as TOML)."""
    directory = tmp_path / "realm"
    cli = CliRealm(directory, free_port())
    cli.kf("realm", "init", "--realm", realm, "--listen", f"127.0.0.1:{cli.port}")
    toml = directory / "kerbfirst.toml"
    text = toml.read_text()
    for key, value in policy.items():
        text, n = re.subn(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
        assert n == 1, f"{key} not in {toml}"
    toml.write_text(text)
    return cli


@contextlib.contextmanager
def serving(cli: CliRealm, workers: int) -> Iterator[subprocess.Popen[str]]:
    """`kdc serve --workers N` until the block ends, then SIGTERM and exit status 0 (unless
    the block killed it)."""
    proc = subprocess.Popen(
        [*KF, "kdc", "serve", "--dir", str(cli.directory), "--workers", str(workers)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    try:
        _wait_tcp(cli.port, proc)
        yield proc
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=20)
            assert code == 0, f"kdc serve exited {code} on SIGTERM: {proc.communicate()[0]}"
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=20)


def kill9(proc: subprocess.Popen[str]) -> None:
    """SIGKILL the server and all its workers at once (a crash, a power cut of the process)."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)
    time.sleep(0.2)  # the workers are reaped by init; let them go


def mit_kinit(cli: CliRealm, tmp_path: Path, name: str, password: str) -> tuple[int, str]:
    """MIT kinit with KRB5_CONFIG pointing at the realm's own krb5.conf."""
    env = peer_env(cli.directory / "krb5.conf", tmp_path / f"cc-{name.replace('/', '_')}")
    got = run_peer(["kinit", name], env=env, input=password + "\n")
    return got.returncode, got.stderr.strip()


def udp_as(cli: CliRealm, realm: str, name: str, password: str) -> Credential | KerberosError:
    """One AS exchange with kerbfirst's own client over UDP: the credential, or the error."""
    exchange = AsExchange(name, realm, password=password, random=os.urandom)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(20)
        sock.connect(("127.0.0.1", cli.port))
        out: object = exchange.first_request(_utc())
        while isinstance(out, bytes):
            sock.send(out)
            try:
                out = exchange.receive(sock.recv(65535), _utc())
            except KerberosError as exc:
                return exc
    assert isinstance(out, Credential)
    return out


def _utc() -> datetime:
    return datetime.now(UTC)


def integrity(cli: CliRealm) -> list[tuple[str]]:
    db = sqlite3.connect(cli.directory / "principals.db")
    try:
        return db.execute("PRAGMA integrity_check").fetchall()
    finally:
        db.close()


def principals(cli: CliRealm) -> dict[str, dict[str, object]]:
    """`principal list --json`, by name; the test fails if the command fails."""
    lines = cli.kf("principal", "list", "--json").strip().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    return {str(r["name"]): r for r in records}
