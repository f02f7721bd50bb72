"""A throwaway MIT KDC on loopback (krb5kdc + kdb5_util), so MIT itself writes our inputs."""

from __future__ import annotations

import contextlib
import os
import pathlib
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest

from peerlib import free_port

INSTALL_HINT = "install the MIT KDC: apt-get install krb5-kdc krb5-admin-server krb5-user"
REALM = "MIT.TEST"


class MitRealm:
    def __init__(self, root: pathlib.Path, port: int) -> None:
        self.root = root
        self.port = port
        self.env = {
            **os.environ,
            "KRB5_CONFIG": str(root / "krb5.conf"),
            "KRB5_KDC_PROFILE": str(root / "krb5.conf"),
            "KRB5CCNAME": f"FILE:{root / 'ccache'}",
            "LC_ALL": "C",
            "TZ": "UTC",
        }

    def run(self, args: list[str], stdin: str | None = None) -> str:
        program = shutil.which(args[0]) or shutil.which(args[0], path="/usr/sbin:/sbin")
        if program is None:
            pytest.fail(f"MIT program {args[0]!r} not found; {INSTALL_HINT}")
        result = subprocess.run(
            [program, *args[1:]], input=stdin, capture_output=True, text=True,
            env=self.env, timeout=30, check=False,
        )
        if result.returncode != 0:
            pytest.fail(f"{' '.join(args)} failed: {result.stdout}\n{result.stderr}")
        return result.stdout


@contextlib.contextmanager
def mit_realm(root: pathlib.Path) -> Iterator[MitRealm]:
    port = free_port()  # free for TCP too: krb5kdc listens on both
    (root / "krb5.conf").write_text(
        "[libdefaults]\n"
        f" default_realm = {REALM}\n dns_lookup_kdc = false\n dns_lookup_realm = false\n"
        "[realms]\n"
        f" {REALM} = {{\n  kdc = 127.0.0.1:{port}\n  database_name = {root}/principal\n"
        f"  key_stash_file = {root}/stash\n  kdc_listen = 127.0.0.1:{port}\n"
        f"  kdc_tcp_listen = 127.0.0.1:{port}\n }}\n"
        f"[logging]\n kdc = FILE:{root}/kdc.log\n"
    )
    realm = MitRealm(root, port)
    realm.run(["kdb5_util", "create", "-s", "-P", "master-pw", "-r", REALM])
    krb5kdc = shutil.which("krb5kdc") or shutil.which("krb5kdc", path="/usr/sbin:/sbin")
    if krb5kdc is None:
        pytest.fail(f"krb5kdc not found; {INSTALL_HINT}")
    kdc = subprocess.Popen([krb5kdc, "-n"], env=realm.env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while "commencing operation" not in _read(root / "kdc.log"):
            if time.monotonic() > deadline or kdc.poll() is not None:
                pytest.fail(f"krb5kdc did not start: {_read(root / 'kdc.log')}")
            time.sleep(0.05)
        yield realm
    finally:
        kdc.terminate()
        try:
            kdc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kdc.kill()
            kdc.wait(timeout=10)


def _read(path: pathlib.Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""
