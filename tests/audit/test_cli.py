"""`kerbfirst audit` end to end through Typer's CliRunner: ingest -> map/readiness ->
simulate -> report -> export-policy, on Winlogbeat JSON lines written here."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kerbfirst.audit.store import EventStore
from kerbfirst.cli.audit import app

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ntlm-policy.toml"
# A policy for this test's own log (the example policy is written for the fixture estate).
POLICY = """mode = "enforce"
refuse_ntlmv1 = true
[scope]
estate = true
[[exception]]
id = "EX-1"
target = "PRN03"
owner = "print-team@corp.example"
expires = 2026-06-30
reason = "Print server firmware speaks NTLMv2 only"
compensating_control = "Printer VLAN"
[[exception]]
id = "EX-2"
target = "SQL02.corp.example"
client = "WS00*"
user = "CORP\\\\svc_backup"
owner = "dba-team@corp.example"
expires = 2025-03-31
reason = "Backup agent 7.2 hard-codes NTLM"
compensating_control = "Dedicated service account"
"""
START = datetime(2025, 3, 1, tzinfo=UTC)
TARGETS = ["cifs/10.0.0.7", "cifs/FS01.corp.example", "HTTP/PRN03", "cifs/SQL02.corp.example"]


def winlogbeat_8001(i: int) -> dict[str, object]:
    """An NTLM/Operational 8001 (client outgoing, audit) as Winlogbeat ships it."""
    return {
        "@timestamp": (START + timedelta(hours=7 * i)).isoformat().replace("+00:00", "Z"),
        "winlog": {
            "event_id": 8001,
            "provider_name": "Microsoft-Windows-NTLM",
            "channel": "Microsoft-Windows-NTLM/Operational",
            "computer_name": f"WS00{i % 3}.corp.example",
            "record_id": 1000 + i,
            "event_data": {
                "TargetName": TARGETS[i % len(TARGETS)],
                "UserName": ["alice", "bob", "svc_backup"][i % 3],
                "DomainName": "CORP",
                "CallerPID": "4",
                "ProcessName": "C:\\Windows\\System32\\svchost.exe",
                "ClientLUID": "0x3e7",
                "ClientUserName": "WS$",
                "ClientDomainName": "CORP",
                "MechanismOID": "1.3.6.1.4.1.311.2.2.10",
            },
        },
    }


@pytest.fixture()
def logs(tmp_path: Path) -> Path:
    path = tmp_path / "ntlm.jsonl"
    lines = [json.dumps(winlogbeat_8001(i)) for i in range(120)]
    lines.insert(50, "{this is not json")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_end_to_end(logs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    store = tmp_path / "store"
    monkeypatch.setenv("KERBFIRST_AUDIT_STORE", str(store))

    first = runner.invoke(app, ["ingest", "--quiet", str(logs)])
    assert first.exit_code == 0, first.output
    assert "120 added, 0 duplicates, 1 corrupt" in first.output
    again = runner.invoke(app, ["ingest", "-q", str(logs)])
    assert again.exit_code == 0 and "0 added, 120 duplicates" in again.output

    fmap = runner.invoke(app, ["map", "--json", "--limit", "1000"])
    assert fmap.exit_code == 0, fmap.output
    rows = json.loads(fmap.output)
    assert sum(r["events"] for r in rows) == 120
    by_server = {r["server"]: r for r in rows}
    assert by_server["10.0.0.7"]["cause"] == "target-is-ip"
    assert {r["client"] for r in rows} == {"WS000.CORP.EXAMPLE", "WS001.CORP.EXAMPLE",
                                           "WS002.CORP.EXAMPLE"}
    table = runner.invoke(app, ["map"])
    assert table.exit_code == 0 and "failure map" in table.output

    ready = runner.invoke(app, ["readiness", "--json"])
    assert ready.exit_code == 0, ready.output
    overall = json.loads(ready.output)["overall"]
    assert overall["events"] == 120 and 0 <= overall["share"] <= 1

    sim = runner.invoke(app, ["simulate", "--policy", str(policy), "--at", "2025-05-01",
                              "--json"])
    assert sim.exit_code == 0, sim.output
    result = json.loads(sim.output)
    saved = {r["server"] for r in result["saved_by_exception"]}
    assert saved == {"PRN03"}  # EX-1 saves the printer
    assert result["totals"]["would_fail_events"] + result["totals"]["saved_events"] == 120
    assert [e["id"] for e in result["exceptions_expired"]] == ["EX-2"]
    assert {u["name"] for u in result["users"]} == {"CORP\\alice", "CORP\\bob",
                                                    "CORP\\svc_backup"}
    sim_table = runner.invoke(app, ["simulate", "--policy", str(policy), "--at", "2025-05-01"])
    assert sim_table.exit_code == 0 and "Exceptions to review" in sim_table.output

    out = tmp_path / "report"
    rep = runner.invoke(app, ["report", "--out", str(out)])
    assert rep.exit_code == 0, rep.output
    assert {p.name for p in out.iterdir()} == {"report.html", "report.json", "failure_map.csv",
                                               "readiness.csv", "failure_sources.csv",
                                               "coverage.csv", "kerberos_logons.csv"}
    assert json.loads((out / "report.json").read_text())["events"] == 120

    win = tmp_path / "win"
    exp = runner.invoke(app, ["export-policy", "--policy", str(policy), "--out", str(win),
                              "--at", "2025-05-01"])
    assert exp.exit_code == 0, exp.output
    assert (win / "ntlm-policy.ps1").exists() and len(list(win.glob("*.reg"))) == 3


def test_nothing_readable_exits_non_zero(tmp_path: Path) -> None:
    junk = tmp_path / "junk.jsonl"
    junk.write_text("{broken\nnot json either\n")
    result = CliRunner().invoke(app, ["ingest", "-q", "--store", str(tmp_path / "s"), str(junk)])
    assert result.exit_code == 1
    assert "nothing could be read" in result.output


def test_bad_policy_and_empty_store_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "p.toml"
    bad.write_text('mode = "enforce"\n[scope]\nestate = true\n[[exception]]\ntarget = "X"\n')
    r = CliRunner().invoke(app, ["simulate", "--policy", str(bad), "--store", str(tmp_path)])
    assert r.exit_code == 2 and "missing owner" in r.output and "p.toml" in r.output
    r = CliRunner().invoke(app, ["map", "--store", str(tmp_path / "none")])
    assert r.exit_code == 2 and "no event store" in r.output
    r = CliRunner().invoke(app, ["simulate", "--policy", str(EXAMPLE), "--at", "05/01/2025",
                                 "--store", str(tmp_path)])
    assert r.exit_code == 2 and "YYYY-MM-DD" in r.output


def test_help_documents_every_option() -> None:
    for cmd in ("ingest", "map", "readiness", "simulate", "report", "export-policy"):
        r = CliRunner().invoke(app, [cmd, "--help"])
        assert r.exit_code == 0
        assert "--store" in r.output or cmd == "export-policy"
    assert "KERBFIRST_AUDIT_STORE" in CliRunner().invoke(app, ["map", "--help"]).output


def test_binary_junk_exits_non_zero(tmp_path: Path) -> None:
    junk = tmp_path / "junk.evtx"
    junk.write_bytes(bytes(range(256)) * 40)
    result = CliRunner().invoke(app, ["ingest", "-q", "--store", str(tmp_path / "s"), str(junk)])
    assert result.exit_code == 1, result.output
    assert "junk.evtx" in result.output



def test_every_line_unreadable_exits_non_zero(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"EventID": 8001, "cut\n' * 3)
    store = tmp_path / "s"
    result = CliRunner().invoke(app, ["ingest", "-q", "--store", str(store), str(broken)])
    assert result.exit_code == 1, result.output
    assert "nothing could be read" in result.output and "broken.jsonl" in result.output
    assert not EventStore(store).files()



def test_warnings_are_capped_but_counted(tmp_path: Path) -> None:
    from kerbfirst.audit.fixtures import write_fixtures

    good = write_fixtures(tmp_path, seed=1, events=3, formats=("nxlog",))["nxlog"]
    with good.open("a") as fh:
        fh.write('{"EventID": 8001, "cut\n' * 25)
    r = CliRunner().invoke(app, ["ingest", "-q", "--store", str(tmp_path / "s"), str(good)])
    assert r.exit_code == 0, r.output
    assert r.output.count("warning: ") == 20 and "... and 5 more warnings" in r.output
    assert "3 added" in r.output and "25 corrupt" in r.output


DATA = Path(__file__).resolve().parents[1] / "data" / "evtx"


def test_ingest_generated_fixtures_and_real_evtx(tmp_path: Path) -> None:
    """The ingest helper's generator (every event type and cause, five export formats,
    gzipped) plus the real EVTX samples, including the corrupt ones."""
    from kerbfirst.audit.fixtures import write_fixtures

    paths = write_fixtures(tmp_path / "logs", seed=3, events=400, gz=True)
    for name in ("security.evtx", "sample_with_a_bad_chunk_magic.evtx"):
        (tmp_path / "logs" / name).write_bytes((DATA / name).read_bytes())
    store = tmp_path / "store"
    runner = CliRunner()
    r = runner.invoke(app, ["ingest", "-q", "--store", str(store), str(tmp_path / "logs")])
    assert r.exit_code == 0, r.output
    again = runner.invoke(app, ["ingest", "-q", "--jobs", "2", "--store", str(store),
                                str(tmp_path / "logs")])
    assert again.exit_code == 0 and " 0 added" in again.output
    causes = runner.invoke(app, ["map", "--json", "--limit", "100000", "--store", str(store)])
    rows = json.loads(causes.output)
    # five formats of the same 400 records are five sources: every cause shows up
    assert {r["cause"] for r in rows} >= {"target-is-ip", "spn-missing", "local-account",
                                           "trust-path", "app-explicit-ntlm", "ntlmv1-or-lm",
                                           "anonymous"}
    assert len(paths) == 5
    rep = runner.invoke(app, ["report", "--out", str(tmp_path / "rep"), "--store", str(store)])
    assert rep.exit_code == 0, rep.output
