"""A LocalKDC realm for the web tests, made and served by the real `kerbfirst` command,
with HTTP/localhost's key in a keytab and alice's TGT in an MIT ccache got by MIT kinit."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from localkdc.conftest import KF, CliRealm, _wait_tcp
from peerlib import free_port, peer_env, run_peer, write_krb5_conf

REALM = "WEB.TEST"
ALICE_PW = "alice web password"
HTTP_SPN = "HTTP/localhost"


@dataclass
class WebRealm:
    cli: CliRealm
    keytab: Path
    krb5_conf: Path
    ccache: Path  # alice's TGT (MIT kinit)
    port: int

    def env(self, ccache: Path | None = None, **extra: str) -> dict[str, str]:
        return peer_env(self.krb5_conf, ccache or self.ccache, **extra)


@pytest.fixture(scope="package")
def web_realm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebRealm]:
    base = tmp_path_factory.mktemp("webrealm")
    port = free_port()
    cli = CliRealm(base / "realm", port)
    cli.kf("realm", "init", "--realm", REALM, "--listen", f"127.0.0.1:{port}")
    cli.kf("principal", "add", "alice", "--password-stdin", stdin=ALICE_PW + "\n")
    cli.kf("principal", "add", "bob/admin", "--password-stdin", stdin="bob-admin-pw\n")
    cli.kf("principal", "add", HTTP_SPN, "--random")
    keytab = base / "http.keytab"
    cli.kf("keytab", "export", HTTP_SPN, "--out", str(keytab))
    conf = write_krb5_conf(base / "krb5.conf", REALM, [f"127.0.0.1:{port}"],
                           extra_libdefaults={"dns_canonicalize_hostname": "false"})
    cli.kdc = subprocess.Popen([*KF, "kdc", "serve", "--dir", str(cli.directory)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_tcp(port, cli.kdc)
        ccache = base / "alice.cc"
        got = run_peer(["kinit", f"alice@{REALM}"], env=peer_env(conf, ccache),
                       input=ALICE_PW + "\n")
        assert got.returncode == 0, f"MIT kinit against our KDC failed: {got.stderr}"
        yield WebRealm(cli, keytab, conf, ccache, port)
    finally:
        cli.kdc.send_signal(signal.SIGTERM)
        try:
            cli.kdc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            cli.kdc.kill()
