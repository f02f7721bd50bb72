"""Helpers for tests that run real peer programs (MIT krb5, chromium, curl).

A missing peer FAILS the test with the command that installs it: CI must never count a
skipped peer test as a pass (README: scripts/test.sh installs them all).
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import os
import shutil
import socket
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

PACKAGES = {
    "kinit": "krb5-user",
    "klist": "krb5-user",
    "kvno": "krb5-user",
    "kdestroy": "krb5-user",
    "ktutil": "krb5-user",
    "gss-client": "krb5-gss-samples",
    "gss-server": "krb5-gss-samples",
    "krb5kdc": "krb5-kdc",
    "kdb5_util": "krb5-kdc",
    "kadmin.local": "krb5-admin-server",
    "chromium": "chromium",
    "curl": "curl",
    "ip": "iproute2",
    "java": "default-jre-headless",
}


def require_program(name: str) -> str:
    """The path of a peer program, or fail saying how to install it."""
    path = shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/sbin/{name}") if os.access(p, os.X_OK)), None
    )
    if path is None:
        pkg = PACKAGES.get(name, name)
        pytest.fail(
            f"peer program {name!r} is not installed: run `apt-get install {pkg}` "
            "(or `bash scripts/bootstrap.sh`, which installs every peer)",
            pytrace=False,
        )
    return path


def free_port() -> int:
    """A port free for both TCP and UDP on 127.0.0.1 right now (KDCs listen on both, and
    RESPONSE_TOO_BIG retries the same port over TCP)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = int(tcp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    pytest.fail("no port free for both TCP and UDP on 127.0.0.1")


def write_krb5_conf(
    path: Path,
    realm: str,
    kdcs: Sequence[str],
    *,
    enctypes: Sequence[str] = (),
    extra_libdefaults: Mapping[str, str] | None = None,
) -> Path:
    lines = [
        "[libdefaults]",
        f"    default_realm = {realm}",
        "    dns_lookup_kdc = false",
        "    dns_lookup_realm = false",
        "    rdns = false",
        "    ignore_acceptor_hostname = true",
    ]
    if enctypes:
        joined = " ".join(enctypes)
        lines += [
            f"    default_tkt_enctypes = {joined}",
            f"    default_tgs_enctypes = {joined}",
            f"    permitted_enctypes = {joined}",
        ]
    for k, v in (extra_libdefaults or {}).items():
        lines.append(f"    {k} = {v}")
    lines += ["", "[realms]", f"    {realm} = {{"]
    lines += [f"        kdc = {k}" for k in kdcs]
    lines += ["    }", ""]
    path.write_text("\n".join(lines))
    return path


def peer_env(krb5_conf: Path, ccache: Path | None = None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRB5")}
    env["KRB5_CONFIG"] = str(krb5_conf)
    env["KRB5_KDC_PROFILE"] = "/dev/null"
    if ccache is not None:
        env["KRB5CCNAME"] = f"FILE:{ccache}"
    env.update(extra)
    return env


def run_peer(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    input: str | None = None,
    timeout: float = 20,
) -> subprocess.CompletedProcess[str]:
    """Run a peer program with a timeout; never hangs a test run."""
    require_program(args[0])
    return subprocess.run(
        list(args),
        env=dict(env),
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def run_gss_client(
    args: Sequence[str], env: Mapping[str, str], *, timeout: float
) -> tuple[int, str]:
    """MIT gss-client with `args`: (exit status, stdout and stderr together). Killed if
    it has not finished within `timeout` seconds (the TimeoutError propagates)."""
    proc = await asyncio.create_subprocess_exec(
        require_program("gss-client"), *args, env=dict(env),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        async with asyncio.timeout(timeout):
            out, _ = await proc.communicate()
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return proc.returncode or 0, out.decode(errors="replace")


def tcp_listening(port: int) -> bool:
    """Whether a socket listens on `port`, read from /proc/net/tcp (state 0A = LISTEN), so
    that no probe connection uses up a one-shot server such as `gss-server -once`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[1].rsplit(":", 1)[1] == f"{port:04X}" and fields[3] == "0A":
                return True
    return False


def wait_listening(port: int, proc: subprocess.Popen[Any], *, timeout: float = 15) -> None:
    """Wait until `proc` listens on `port`; fail with its output if it exits or never does."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read() if proc.stdout else ""
            pytest.fail(f"{proc.args!r} exited early ({proc.returncode}): {out!r}")
        if tcp_listening(port):
            return
        time.sleep(0.05)
    pytest.fail(f"{proc.args!r} did not listen on port {port} within {timeout}s")


def _free_port_base() -> int:
    """A port base with base..base+3 free: k5test puts the KDC on base, kadmin on +1, +2."""
    import socket as _socket

    for _ in range(50):
        base = free_port()
        ok = base + 9 < 65535
        for off in (1, 2, 3):
            with _socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + off))
                except OSError:
                    ok = False
        if ok:
            return base
    pytest.fail("no free port range for an MIT test KDC")


def _loopback_realm_class() -> Any:
    """k5test's MIT realm with its host name pinned to loopback: k5test names the KDC
    `socket.getfqdn():port`, which a minimal system or a container may not resolve (and
    resolving may wait on DNS); the KDC listens on every address, so 127.0.0.1 reaches it."""
    from k5test.realm import MITRealm

    class LoopbackMITRealm(MITRealm):  # type: ignore[misc, valid-type]
        @property
        def hostname(self) -> str:
            return "127.0.0.1"

    return LoopbackMITRealm


@contextlib.contextmanager
def k5_realm(
    realm: str, service: str, keytab_dir: Path, *, krb5_conf: dict[str, Any] | None = None,
    get_creds: bool = True,
) -> Iterator[Any]:
    """A throwaway MIT realm (krb5kdc + kdb5_util via the `k5test` package) on free loopback
    ports, with `service` added and its keys in `realm.service_keytab`; `realm.kdc_address` is
    "127.0.0.1:PORT". With get_creds, k5test's user has a TGT in `realm.ccache`.

    If any step fails, the KDC k5test started is stopped (no krb5kdc outlives the test) and
    the test fails with the failing program's own output."""
    for prog in ("krb5kdc", "kdb5_util", "kadmin.local", "kinit", "gss-client", "gss-server"):
        require_program(prog)
    from k5test import _utils

    if shutil.which("krb5-config") is None:
        # k5test asks krb5-config (libkrb5-dev) only for MIT's plugin directory; Debian's
        # runtime packages put it here, so tell k5test directly.
        found = [*sorted(glob.glob("/usr/lib/*/krb5/plugins")), "/usr/lib/krb5/plugins"]
        _utils._PLUGIN_DIR = found[0]
    base = _free_port_base()
    cls = _loopback_realm_class()
    with _k5test_output() as output:
        # Made without a TGT: k5test's own kinit runs below, where a failure still stops
        # the KDC (a failure inside k5test's constructor happens before the KDC starts).
        try:
            r = cls(realm=realm, portbase=base, create_host=False, get_creds=False,
                    krb5_conf=krb5_conf)
        except Exception as exc:
            pytest.fail(f"MIT test realm {realm} could not be set up: {exc}\n"
                        f"{''.join(output[-5:])}", pytrace=False)
        try:
            try:
                if get_creds:
                    r.kinit(r.user_princ, r.password("user"))
                r.addprinc(service)
                keytab = keytab_dir / "service.keytab"
                r.extract_keytab(service, str(keytab))
            except Exception as exc:
                pytest.fail(f"MIT test realm {realm} could not be set up: {exc}\n"
                            f"{''.join(output[-5:])}", pytrace=False)
            r.service_keytab = keytab
            r.kdc_address = f"127.0.0.1:{base}"
            yield r
        finally:
            r.stop()


@contextlib.contextmanager
def _k5test_output() -> Iterator[list[str]]:
    """The output of the programs k5test runs, which it only logs (at debug level) and
    leaves out of its exceptions: collected here so a failed set-up can show it."""
    import logging

    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("k5test")
    handler = Collect(logging.DEBUG)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield lines
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
