"""The README's main job: a LocalKDC for a demo realm on loopback, end to end.

Steps, each printed as it happens: `kerbfirst realm init`, a user and a service principal,
`kerbfirst kdc serve` on a free loopback port, MIT's `kinit`/`klist`/`kvno` against it,
kerbfirst's own `kinit` (TGT and service ticket into a ccache that MIT's `klist` reads), and
the KDC's audit events. Everything lives in a temporary directory unless `--dir` is given.
Run it with `bash scripts/demo.sh`.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.panel import Panel

from kerbfirst.cli.fields import kv

console = Console()
REALM = "DEMO.TEST"
USER, USER_PASSWORD = "alice", "correct horse battery staple"
SERVICE = "host/server.demo.test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(title: str, args: list[str], *, env: dict[str, str], stdin: str | None = None) -> str:
    console.print(f"[bold cyan]$[/bold cyan] {' '.join(args)}")
    # The command's own output goes into a borders-only panel: it renders tables 2 columns
    # narrower, so that with the border they fit the terminal (80 columns when there is none).
    inner = dict(env, COLUMNS=str(max(console.width - 2, 40)))
    proc = subprocess.run(
        args, env=inner, input=stdin, capture_output=True, text=True, timeout=60, check=False
    )
    text = (proc.stdout + proc.stderr).strip()
    if text:
        console.print(Panel(text, title=title, expand=False, padding=0))
    if proc.returncode != 0:
        raise SystemExit(f"demo: `{' '.join(args)}` failed with exit code {proc.returncode}")
    return text


def _listening(port: int) -> bool:
    """LISTEN state read from /proc/net/tcp: no probe connection for the servers to log."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        if any(r.split()[1].endswith(f":{port:04X}") and r.split()[3] == "0A" for r in rows):
            return True
    return False


def _wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _listening(port):
            return
        time.sleep(0.1)
    raise SystemExit(f"demo: nothing started listening on 127.0.0.1:{port} within {timeout}s")


def _iakerb_demo(base: Path, realm_dir: Path, kf: list[str], env: dict[str, str]) -> None:
    """A client with no line of sight to any KDC gets Kerberos through the server (IAKerb)."""
    console.rule("IAKerb: a client that cannot reach the KDC")
    if shutil.which("gss-client") is None:
        raise SystemExit("demo: MIT's `gss-client` is missing: apt-get install krb5-gss-samples")
    keytab = base / "service.keytab"
    _run("keytab export", [*kf, "keytab", "export", SERVICE, "--out", str(keytab)], env=env)
    conf = base / "no-kdc-krb5.conf"
    # The client's only KDC is port 9 (discard) on loopback: unreachable, as from outside.
    conf.write_text(
        f"[libdefaults]\n    default_realm = {REALM}\n    dns_lookup_kdc = false\n"
        "    rdns = false\n    dns_canonicalize_hostname = false\n    udp_preference_limit = 1\n"
        f"[realms]\n    {REALM} = {{\n        kdc = 127.0.0.1:9\n    }}\n"
        f"[domain_realm]\n    server.demo.test = {REALM}\n"
    )
    client = dict(env, KRB5_CONFIG=str(conf), KRB5CCNAME=f"FILE:{base / 'iakerb.ccache'}")
    console.print(f"[bold cyan]$[/bold cyan] kinit {USER}@{REALM}   (client's krb5.conf: no KDC)")
    plain = subprocess.run(
        ["kinit", f"{USER}@{REALM}"],
        env=client,
        input=USER_PASSWORD + "\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    console.print(
        Panel(
            (plain.stdout + plain.stderr).strip() or f"exit {plain.returncode}",
            title="plain Kerberos fails (expected)",
            expand=False,
        )
    )
    port = _free_port()
    acceptor = subprocess.Popen(
        [
            *kf,
            "iakerb",
            "serve",
            "--keytab",
            str(keytab),
            "--listen",
            f"127.0.0.1:{port}",
            "--dir",
            str(realm_dir),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _wait_for_port(port)
        _run(
            "MIT gss-client -iakerb through kerbfirst's acceptor",
            [
                "gss-client",
                "-iakerb",
                "-user",
                USER,
                "-pass",
                USER_PASSWORD,
                "-port",
                str(port),
                "127.0.0.1",
                "host@server.demo.test",
                "hello through IAKerb",
            ],
            env=client,
        )
    finally:
        acceptor.send_signal(signal.SIGTERM)
        try:
            served, _ = acceptor.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            acceptor.kill()
            served, _ = acceptor.communicate()
    console.print(Panel(served.strip(), title="kerbfirst iakerb serve", expand=False))


def main() -> None:
    for tool in ("kinit", "klist", "kvno"):
        if shutil.which(tool) is None:
            raise SystemExit(f"demo: MIT's `{tool}` is missing: apt-get install krb5-user")
    base = (
        Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="kerbfirst-demo-"))
    )
    realm_dir = base / "realm"
    port = _free_port()
    kf = [sys.executable, "-m", "kerbfirst.cli.main"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRB5")}
    env["KERBFIRST_REALM_DIR"] = str(realm_dir)
    console.rule("[bold]kerbfirst LocalKDC demo")
    _run(
        "realm init",
        [*kf, "realm", "init", "--realm", REALM, "--listen", f"127.0.0.1:{port}"],
        env=env,
    )
    _run(
        "principal add",
        [*kf, "principal", "add", USER, "--password-stdin"],
        env=env,
        stdin=USER_PASSWORD + "\n",
    )
    _run("principal add", [*kf, "principal", "add", SERVICE, "--random"], env=env)
    _run("principal list", [*kf, "principal", "list"], env=env)
    kdc = subprocess.Popen(
        [*kf, "kdc", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        _wait_for_port(port)
        console.print(f"[green]KDC for {REALM} listening on 127.0.0.1:{port} (UDP and TCP)[/green]")
        mit = dict(
            env, KRB5_CONFIG=str(realm_dir / "krb5.conf"), KRB5CCNAME=f"FILE:{base / 'mit.ccache'}"
        )
        console.rule("MIT krb5 clients against the kerbfirst KDC")
        _run("MIT kinit", ["kinit", f"{USER}@{REALM}"], env=mit, stdin=USER_PASSWORD + "\n")
        _run("MIT kvno", ["kvno", f"{SERVICE}@{REALM}"], env=mit)
        _run("MIT klist", ["klist", "-e", "-f"], env=mit)
        console.rule("kerbfirst's own client")
        ours = base / "kerbfirst.ccache"
        _run(
            "kerbfirst kinit",
            [*kf, "kinit", USER, "--password-stdin", "--ccache", str(ours), "--service", SERVICE],
            env=mit,
            stdin=USER_PASSWORD + "\n",
        )
        _run(
            "MIT klist reads kerbfirst's ccache",
            ["klist", "-e", "-f", "-c", f"FILE:{ours}"],
            env=mit,
        )
        _iakerb_demo(base, realm_dir, kf, env)
    finally:
        kdc.send_signal(signal.SIGTERM)
        try:
            kdc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            kdc.kill()
    console.rule("KDC audit events")
    audit = realm_dir / "kdc-audit.jsonl"
    # Two lines per event, so that each fits 80 columns: what happened, then who to what.
    for line in audit.read_text().splitlines() if audit.exists() else []:
        ev = json.loads(line)
        console.print(
            f"{str(ev.get('time', ''))[11:19]}  {ev.get('kind', ''):7} {ev.get('outcome', ''):17} "
            + kv(etype=ev.get("ticket_etype"), code=ev.get("result_code")),
            markup=False,
        )
        console.print(f"          {ev.get('client') or '?'} -> {ev.get('service') or '?'}",
                      markup=False)
    console.print(f"\nEverything is in {base}")


if __name__ == "__main__":
    main()
