"""`kerbfirst lab up | run | report | down` as functions the CLI calls: `run` makes the lab
from nothing, runs the phases, writes the report and always tears the lab down (also after
a failure or Ctrl-C); `down` removes a lab's namespaces and everything running in them even
when the process that made them was killed."""

from __future__ import annotations

import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from kerbfirst.lab import netns, report, scenario
from kerbfirst.lab.context import Lab, LabError
from kerbfirst.lab.evidence import Evidence, Step, check

MARKER = ".kerbfirst-lab"


class Interrupted(Exception):
    """SIGTERM or SIGHUP arrived: the run unwinds through its clean-up."""


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise Interrupted(signal.Signals(signum).name)


def _fresh(directory: Path) -> Lab:
    directory.mkdir(parents=True, exist_ok=True)
    return Lab(directory, Evidence(directory.resolve()))


def prepare(directory: Path, *, fault: str | None = None) -> Lab:
    """A lab object on an emptied directory (every run starts from nothing)."""
    if netns.existing(netns.tag_for(directory)):
        raise LabError(f"a lab for {directory} is up already: `kerbfirst lab down --dir "
                       f"{directory}` first")
    marker = directory / MARKER
    if directory.is_dir() and any(directory.iterdir()) and not marker.exists():
        raise LabError(f"{directory} is not empty and holds no lab (no {MARKER}): give a new "
                       "or empty directory, which the lab then owns")
    for sub in ("corp", "wg", "other", "app", "logs", "workbench", "clients", "report"):
        shutil.rmtree(directory / sub, ignore_errors=True)
    for name in ("passwords.env", "lab-evidence.json", "servers.json"):
        (directory / name).unlink(missing_ok=True)
    directory.mkdir(parents=True, exist_ok=True)
    marker.write_text("made by `kerbfirst lab`; `lab run` and `lab up` empty this directory\n")
    lab = _fresh(directory)
    if fault is not None:
        lab.evidence.facts["fault"] = fault
    return lab


def up(directory: Path, say: Callable[[str], None]) -> Lab:
    """The lab, left running; on any failure (or Ctrl-C) nothing of it is left."""
    lab = prepare(directory)
    try:
        scenario.up(lab, say)
    except (LabError, netns.NetnsError) as exc:
        lab.stop_all()
        netns.destroy(lab.tag)
        raise LabError(f"{exc} (the lab was removed)") from None
    except BaseException:
        lab.stop_all()
        netns.destroy(lab.tag)
        raise
    finally:
        lab.evidence.save()
    return lab


def run(directory: Path, say: Callable[[str], None], *, fault: str | None = None) -> bool:
    """The whole rehearsal; True when every step behaved as stated."""
    t0 = time.monotonic()
    lab = prepare(directory, fault=fault)
    old = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGHUP)}
    phase = 0
    try:
        scenario.up(lab, say)
        phase = 1
        s1 = scenario.phase1(lab)
        say(f"phase 1: {_verdict(s1)}; {lab.evidence.facts.get('phase1_ntlm_flows')} client "
            "accounts on NTLM, their causes and remedies from the workbench report")
        lab.evidence.save()
        phase = 2
        s2 = scenario.phase2(lab)
        say(f"phase 2: {_verdict(s2)}; accounts left on NTLM: "
            f"{lab.evidence.facts.get('phase2_ntlm_flows')} (branch on IAKerb, workgroup on "
            "its LocalKDC, second realm by cross-realm Kerberos)")
        lab.evidence.save()
        phase = 3
        s3, s3b = scenario.phase3(lab)
        say(f"phase 3: {_verdict(s3)} (enforced, NTLM only under EX-LEGACY); expiry: "
            f"{_verdict(s3b)} (EX-LEGACY expired, the device refused and logged)")
    except (LabError, netns.NetnsError) as exc:
        # The step could not run to its end: recorded as its failure, and reported.
        broken = lab.evidence.step(phase, "could not run to its end")
        check(broken, "the step's commands and servers", "all ran", str(exc), passed=False)
        say(f"phase {phase}: FAILED: {exc}")
    finally:
        lab.stop_all()
        lab.evidence.facts["seconds"] = round(time.monotonic() - t0, 1)
        lab.evidence.save()
        netns.destroy(netns.tag_for(directory))
        for s, h in old.items():
            signal.signal(s, h)
    json_path, html_path = report.write(directory)
    failed = lab.evidence.failed_steps()
    say(f"phase 4: report {html_path} and {json_path.name}; "
        + ("every step behaved as stated" if not failed else
           "FAILED: " + "; ".join(f"phase {s.phase} ({s.name})" for s in failed)))
    return not failed


def _verdict(step: Step) -> str:
    if step.passed:
        return f"ok ({len(step.checks)} checks)"
    bad = [c for c in step.checks if not c.passed]
    return "FAILED: " + "; ".join(f"{c.what}: expected {c.expected}, saw {c.observed}"
                                  for c in bad)


def down(directory: Path | None) -> list[str]:
    """Remove the lab of `directory` (every lab's leftovers when None)."""
    tag = None if directory is None else netns.tag_for(directory)
    removed = netns.destroy(tag)
    if directory is not None:
        (directory / "servers.json").unlink(missing_ok=True)
    return removed
