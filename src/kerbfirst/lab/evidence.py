"""What the lab ran and what it saw: every command (where, argv, exit code, time, the tail of
its output) and every check (expected, observed, passed), grouped by step. The lab report
is written from this record (lab-evidence.json), so `kerbfirst lab report` can rebuild it."""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OUTPUT_TAIL = 1500  # characters of a command's output kept as evidence
EVIDENCE_FILE = "lab-evidence.json"


@dataclass
class CommandRecord:
    where: str  # the role's namespace role name, or "host"
    argv: list[str]
    exit_code: int
    seconds: float
    output: str


@dataclass
class Check:
    what: str
    expected: str
    observed: str
    passed: bool


@dataclass
class Step:
    phase: int
    name: str
    commands: list[CommandRecord] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    counts: dict[str, Any] = field(default_factory=dict)  # event counts and the like

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


@dataclass
class Evidence:
    directory: Path
    steps: list[Step] = field(default_factory=list)
    started: float = field(default_factory=time.time)
    facts: dict[str, Any] = field(default_factory=dict)

    def step(self, phase: int, name: str) -> Step:
        s = Step(phase, name)
        self.steps.append(s)
        return s

    def failed_steps(self) -> list[Step]:
        return [s for s in self.steps if not s.passed]

    def to_json(self) -> dict[str, Any]:
        return {"directory": str(self.directory), "started": self.started,
                "facts": self.facts,
                "steps": [dict(asdict(s), passed=s.passed) for s in self.steps]}

    def save(self) -> Path:
        path = self.directory / EVIDENCE_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=1))
        os.replace(tmp, path)
        return path

    @classmethod
    def load(cls, directory: Path) -> Evidence:
        data = json.loads((directory / EVIDENCE_FILE).read_text())
        ev = cls(directory, started=float(data.get("started", 0)),
                 facts=dict(data.get("facts", {})))
        for s in data.get("steps", []):
            step = Step(int(s["phase"]), str(s["name"]), counts=dict(s.get("counts", {})))
            step.commands = [CommandRecord(**c) for c in s.get("commands", [])]
            step.checks = [Check(**c) for c in s.get("checks", [])]
            ev.steps.append(step)
        return ev


def check(step: Step, what: str, expected: object, observed: object,
          passed: bool | None = None) -> bool:
    """Record a comparison of observed behaviour with the expectation; equality unless
    `passed` says otherwise."""
    ok = (expected == observed) if passed is None else passed
    step.checks.append(Check(what, str(expected), str(observed), ok))
    return ok


def run(step: Step, where: str, argv: list[str], *, prefix: list[str] | None = None,
        stdin: str | None = None, env: dict[str, str] | None = None,
        timeout: float = 60.0, shown: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command (inside a namespace when `prefix` is its `ip netns exec`), record it.
    `shown` replaces argv in the record (e.g. without the interpreter's path)."""
    t0 = time.monotonic()
    try:
        done = subprocess.run([*(prefix or []), *argv], input=stdin, env=env,
                              capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        text = out.decode(errors="replace") if isinstance(out, bytes) else out
        done = subprocess.CompletedProcess(argv, 124, text, f"timed out after {timeout}s")
    output = (done.stdout + done.stderr).strip()
    step.commands.append(CommandRecord(where, shown or argv, done.returncode,
                                       round(time.monotonic() - t0, 2),
                                       output[-OUTPUT_TAIL:]))
    return done
