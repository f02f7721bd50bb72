"""Each phase's events through the product's own workbench: the phase's logs (gateway web
audit, Windows-shaped NTLM events, the KDCs' audit records written during the phase, the
branch client's own NTLM log) go into a store of their own with `kerbfirst audit ingest`,
and `kerbfirst audit report` writes report.json, which the checks then read."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerbfirst.lab.context import Lab
from kerbfirst.lab.evidence import Step


@dataclass
class LogMark:
    """Where the KDCs' audit logs stood when a phase began."""

    sizes: dict[str, int]

    @classmethod
    def now(cls, lab: Lab) -> LogMark:
        return cls({name: _size(path) for name, path in _kdc_logs(lab).items()})


def _kdc_logs(lab: Lab) -> dict[str, Path]:
    return {"kdc-corp": lab.directory / "corp" / "kdc-audit.jsonl",
            "kdc-wg": lab.directory / "wg" / "kdc-audit.jsonl"}


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def kdc_slices(lab: Lab, mark: LogMark, logs: Path) -> list[Path]:
    """Copy what each KDC logged since `mark` into the phase's log directory."""
    out = []
    for name, path in _kdc_logs(lab).items():
        start = mark.sizes.get(name, 0)
        if _size(path) <= start:
            continue
        with path.open("rb") as f:
            f.seek(start)
            data = f.read()
        target = logs / f"{name}.jsonl"
        target.write_bytes(data)
        out.append(target)
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def event_counts(logs: Path) -> dict[str, dict[str, int]]:
    """Per log file of the phase: its records by event id (KDC records: by kind/outcome)."""
    out: dict[str, dict[str, int]] = {}
    for path in sorted(logs.glob("*.jsonl")):
        counts: dict[str, int] = {}
        for doc in read_jsonl(path):
            key = doc.get("EventID", doc.get("event_id"))
            name = str(key) if key is not None else f"{doc.get('kind')} {doc.get('outcome')}"
            counts[name] = counts.get(name, 0) + 1
        out[path.name] = counts
    return out


def ingest_and_report(lab: Lab, step: Step, logs: Path, store: Path, out: Path,
                      policy: Path | None = None) -> dict[str, Any]:
    """`audit ingest` of every log of the phase, then `audit report`; report.json's data."""
    files = sorted(str(p) for p in logs.glob("*.jsonl") if p.stat().st_size > 0)
    ingest = lab.kf(step, "host", "audit", "ingest", "--store", str(store), "--quiet", *files)
    step.counts["ingest"] = " ".join(ingest.stdout.split())
    args = ["audit", "report", "--store", str(store), "--out", str(out)]
    if policy is not None:
        args += ["--policy", str(policy)]
    lab.kf(step, "host", *args)
    report = out / "report.json"
    data: dict[str, Any] = json.loads(report.read_text()) if report.exists() else {}
    return data


def ntlm_flows(report: dict[str, Any], outcome: str = "success") -> list[dict[str, Any]]:
    """The failure map's NTLM flows with that outcome (success: NTLM that worked)."""
    return [r for r in report.get("failure_map", []) if r.get("outcome") == outcome]
