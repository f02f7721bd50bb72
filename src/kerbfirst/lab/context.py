"""The running lab: its directory, its namespaces, the servers it started (pids kept in
`servers.json` so `lab down` finds them after a crash) and how a command is run in a role's
namespace with its evidence recorded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from kerbfirst.lab import netns
from kerbfirst.lab.evidence import Evidence, Step, run

SERVERS_FILE = "servers.json"
START_TIMEOUT = 20.0


class LabError(Exception):
    """The lab cannot go on; the message says what failed and where."""


def kerbfirst_argv() -> list[str]:
    """The product's own command, as the running interpreter runs it."""
    return [sys.executable, "-m", "kerbfirst.cli.main"]


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without Kerberos or kerbfirst settings that would steer the
    commands elsewhere, plus `extra`."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KRB5", "KERBFIRST_"))}
    env.update(extra)
    return env


@dataclass
class Lab:
    directory: Path
    evidence: Evidence
    tag: str = ""
    servers: dict[str, tuple[str, int]] = field(default_factory=dict)  # name -> (role, pid)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    secrets: set[str] = field(default_factory=set)  # masked in the recorded commands

    def __post_init__(self) -> None:
        self.directory = self.directory.resolve()
        self.tag = self.tag or netns.tag_for(self.directory)

    @property
    def tag_prefix(self) -> str:
        return netns.ns_name(self.tag, "")

    def path(self, *parts: str) -> Path:
        p = self.directory.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def run(self, step: Step, role: str, argv: list[str], *, stdin: str | None = None,
            env: dict[str, str] | None = None, timeout: float = 60.0,
            ) -> subprocess.CompletedProcess[str]:
        """Run `argv` in `role`'s namespace ("host": in the caller's), recorded."""
        prefix = [] if role == "host" else netns.in_ns(self.tag, role, [])
        shown = argv
        if argv[:3] == kerbfirst_argv():
            shown = ["kerbfirst", *argv[3:]]
        elif argv[:1] == [sys.executable]:
            shown = ["python", *argv[1:]]
        shown = [self._masked(a) for a in shown]
        return run(step, role, argv, prefix=prefix, stdin=stdin,
                   env=env if env is not None else clean_env(), timeout=timeout, shown=shown)

    def _masked(self, arg: str) -> str:
        for secret in self.secrets:
            arg = arg.replace(secret, "***")
        return arg

    def kf(self, step: Step, role: str, *args: str, stdin: str | None = None,
           env: dict[str, str] | None = None, timeout: float = 60.0,
           ) -> subprocess.CompletedProcess[str]:
        return self.run(step, role, [*kerbfirst_argv(), *args], stdin=stdin, env=env,
                        timeout=timeout)

    # ------------------------------------------------------------------ servers

    def start(self, name: str, role: str, argv: list[str], *,
              env: dict[str, str] | None = None) -> None:
        """Start a server in `role`'s namespace, its output in logs/NAME.log."""
        if name in self.procs:
            self.stop(name)
        log = self.path("logs", f"{name}.log").open("ab")
        proc = subprocess.Popen(netns.in_ns(self.tag, role, argv), stdout=log,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env if env is not None else clean_env(),
                                start_new_session=True)
        log.close()
        self.procs[name] = proc
        self.servers[name] = (role, proc.pid)
        self._save_servers()

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        self.servers.pop(name, None)
        self._save_servers()
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def _save_servers(self) -> None:
        self.path(SERVERS_FILE).write_text(json.dumps(
            {n: {"role": r, "pid": p} for n, (r, p) in self.servers.items()}))

    def wait_listening(self, name: str, port: int, timeout: float = START_TIMEOUT) -> None:
        """Wait until the server `name` has a TCP socket listening on `port`, read from its
        own /proc/PID/net/tcp (its namespace's table): no probe connection to log."""
        proc = self.procs[name]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise LabError(f"{name} exited with {proc.returncode} before listening on "
                               f"port {port}; see {self.path('logs', name + '.log')}")
            if _listening(proc.pid, port):
                return
            time.sleep(0.05)
        raise LabError(f"{name} did not listen on port {port} within {timeout:.0f} s; see "
                       f"{self.path('logs', name + '.log')}")


def _listening(pid: int, port: int) -> bool:
    for table in ("tcp", "tcp6"):
        try:
            rows = Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            cols = row.split()
            if len(cols) > 3 and cols[1].endswith(f":{port:04X}") and cols[3] == "0A":
                return True
    return False
