"""The workbench report on the generated fixture estate, and a screenshot of it.

    PYTHONPATH=src .venv-dev/bin/python bench/audit_report_demo.py \
        [--out DIR] [--shot examples/audit-report.png] [--events 3000]

Generates the fixture estate (audit/fixtures.py: every event type and cause, as NXLog
JSON lines, spread over about six weeks) plus a password-guessing burst (600 failed
logons from one address with random workstation names), ingests both, writes the report
with examples/ntlm-policy.toml checked at 2026-12-01, prints the figures the README
quotes, and takes a 1280-px-wide screenshot of the top of report.html with headless
Chromium (Debian package `chromium`).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from kerbfirst.audit.fixtures import write_fixtures
from kerbfirst.audit.ingest import IngestStats
from kerbfirst.audit.pipeline import ingest_to_store
from kerbfirst.audit.report import write_report
from kerbfirst.audit.simulate import load_policy
from kerbfirst.audit.store import EventStore

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "examples" / "ntlm-policy.toml"
AT = date(2026, 12, 1)
CHROMIUM = "/usr/bin/chromium"


def guessing_burst(path: Path, n: int = 600) -> None:
    """Failed NTLM logons (4625) on SRV02 from one address, random workstation names."""
    rng = random.Random(9)
    t0 = datetime(2025, 1, 20, 3, 12, tzinfo=UTC)
    with path.open("w") as fh:
        for i in range(n):
            fh.write(json.dumps({
                "EventTime": (t0 + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S"),
                "Hostname": "SRV02.corp.example.com", "EventID": 4625,
                "SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security",
                "RecordNumber": 900_000 + i, "TargetUserSid": "S-1-0-0",
                "TargetUserName": rng.choice(["administrator", "admin", "scanner", "backup",
                                              "sql", "test", "user1"]),
                "TargetDomainName": "CORP", "Status": "0xc000006d", "SubStatus": "0xc000006a",
                "LogonType": "3", "LogonProcessName": "NtLmSsp ",
                "AuthenticationPackageName": "NTLM",
                "WorkstationName": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789")
                                           for _ in range(8)),
                "IpAddress": "203.0.113.66"}) + "\n")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--out", type=Path, default=None, help="report directory (default: temp)")
    ap.add_argument("--shot", type=Path, default=ROOT / "examples" / "audit-report.png")
    ap.add_argument("--events", type=int, default=3000)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kerbfirst-report-demo-"))
    out = args.out or work / "report"
    logs = work / "logs"
    write_fixtures(logs, seed=1, events=args.events, formats=("nxlog",),
                   spacing=timedelta(minutes=40))
    guessing_burst(logs / "burst.nxlog.jsonl")
    store = EventStore(work / "store")
    stats = IngestStats()
    ingest_to_store([logs], store, stats=stats, warn=print)
    write_report(store, out, now=datetime(2026, 12, 1, tzinfo=UTC),
                 policy=load_policy(POLICY), at=AT)
    data = json.loads((out / "report.json").read_text())
    s = data["summary"]
    print(f"ingest: {stats.records_read} records, {stats.ntlm_events} NTLM events, "
          f"{stats.kerberos_failures} Kerberos failures that explain a fallback")
    print(f"period {data['first_day']} to {data['last_day']}; NTLM that worked: "
          f"{s['ntlm_events']} events in {s['flows']} flows; removable by a Kerberos remedy: "
          f"{s['removable_events']} events ({100 * s['removable_events'] / s['ntlm_events']:.0f}%)"
          f"; failed logons: {s['failed_events']}")
    for f in data["failure_sources"][:1]:
        print(f"failure source {f['source']}: {f['events']} failed logons, {f['accounts']} "
              f"accounts, {f['workstations']} workstation names")
    sim = data["simulation"]
    print(f"simulation at {AT}: {sim['totals']['would_fail_flows']} flows would fail, "
          f"{sim['totals']['saved_flows']} kept by exceptions; used "
          f"{[e['id'] for e in sim['exceptions_used']]}, unused "
          f"{[e['id'] for e in sim['exceptions_unused']]}, expired "
          f"{[e['id'] for e in sim['exceptions_expired']]}, narrowed "
          f"{[e['id'] for e in sim['exceptions_narrowed']]}")
    for i, action in enumerate(s["next_actions"], 1):
        print(f"action {i}: {action}")
    size = sum(p.stat().st_size for p in out.iterdir())
    print(f"report: {out} ({(out / 'report.html').stat().st_size // 1024} KiB HTML, "
          f"{size // 1024} KiB with JSON and CSV)")
    args.shot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    f"--user-data-dir={work / 'profile'}", "--window-size=1280,1500",
                    f"--screenshot={args.shot}", (out / "report.html").as_uri()],
                   check=True, capture_output=True, timeout=120)
    print(f"screenshot: {args.shot} ({args.shot.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
