"""An estate whose logs hold no NTLM is a result, not an error: after an ingest that
added 0 events, report/map/readiness/simulate run and say 0 (they used to answer
"the event store is empty: run ingest first" to someone who just had)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kerbfirst.cli.audit import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ntlm-policy.toml"


def test_reports_run_on_an_estate_without_ntlm(tmp_path: Path) -> None:
    logs = tmp_path / "kerberos-only.jsonl"
    logs.write_text(json.dumps({
        "EventID": 4624, "SourceName": "Microsoft-Windows-Security-Auditing",
        "Channel": "Security", "Hostname": "SRV01", "EventTime": "2024-05-01 10:00:00",
        "EventRecordID": 5, "AuthenticationPackageName": "Kerberos", "LmPackageName": "-",
        "TargetUserName": "bob", "TargetDomainName": "CORP"}) + "\n")
    store = tmp_path / "store"
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", str(logs), "--store", str(store), "-q"])
    assert r.exit_code == 0 and "0 added" in r.output, r.output
    out = tmp_path / "report"
    r = runner.invoke(app, ["report", "--out", str(out), "--store", str(store),
                            "--policy", str(EXAMPLE)])
    assert r.exit_code == 0, r.output
    page = (out / "report.html").read_text()
    assert "(no data)" in page and "No NTLM events in the store" in page
    for cmd in (["map"], ["readiness"], ["simulate", "--policy", str(EXAMPLE)]):
        r = runner.invoke(app, [*cmd, "--store", str(store)])
        assert r.exit_code == 0, (cmd, r.output)
    r = runner.invoke(app, ["map", "--store", str(tmp_path / "never-ingested")])
    assert r.exit_code == 2 and "no event store" in r.output
