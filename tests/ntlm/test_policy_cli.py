"""`kerbfirst policy` end to end (Typer's CliRunner): the register's life cycle, its
validation, the hash-chained history and its verification, expiring / shadowed / unused
(from an audit store holding our acceptor's own events) and the export."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kerbfirst.cli.main import app
from kerbfirst.store import ntlm_register as history
from kerbfirst.store.ntlm_policy_file import load_policy_file

NOW = "2026-12-04T10:00:00+00:00"


class Cli:
    def __init__(self, tmp: Path) -> None:
        self.policy = tmp / "ntlm-policy.toml"
        self.runner = CliRunner()

    def __call__(self, *args: str, ok: bool = True, now: str = NOW) -> str:
        result = self.runner.invoke(app, ["policy", "--policy", str(self.policy), "--now",
                                          now, *args])
        assert (result.exit_code == 0) == ok, result.output
        return result.output

    def add(self, eid: str, target: str, expires: str = "2026-12-20", *extra: str,
            ok: bool = True) -> str:
        return self("exception", "add", "--id", eid, "--target", target, "--owner",
                    "team@corp.example", "--expires", expires, "--reason", "no Kerberos yet",
                    "--compensating-control", "VLAN 40", *extra, ok=ok)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    c = Cli(tmp_path)
    c("init", "--mode", "enforce", "--estate", "--max-days", "90", "--by", "admin")
    return c


def test_life_cycle_and_history(cli: Cli) -> None:
    cli.add("EX-1", "web.corp.example", "2026-12-20", "--user", "CORP\\alice", "--by", "bob")
    cli("exception", "renew", "EX-1", "--expires", "2027-01-31", "--why", "vendor slipped")
    cli("exception", "revoke", "EX-1", "--why", "kiosks replaced")
    assert load_policy_file(cli.policy).exceptions == ()
    records = history.verify(cli.policy)
    assert [(r["action"], r["id"]) for r in records] == [
        ("init", None), ("add", "EX-1"), ("renew", "EX-1"), ("revoke", "EX-1")]
    assert records[1]["who"] == "bob" and records[2]["why"] == "vendor slipped"
    assert records[2]["before"]["expires"] == "2026-12-20"
    assert records[2]["after"]["expires"] == "2027-01-31"
    shown = json.loads(cli("exception", "show", "EX-1"))
    assert shown["state"] == "revoked" and len(shown["history"]) == 3


@pytest.mark.parametrize(("args", "words"), [
    (("EX-2", "web", "2026-12-01"), "in the past"),
    (("EX-2", "web", "2027-03-05"), "more than 90 days away"),
    (("EX 2", "web", "2026-12-20"), "exception id"),
    (("EX-1", "web", "2026-12-20"), "exists already"),
    (("EX-2", "web", "next week"), "must be a date"),
])
def test_add_is_validated(cli: Cli, args: tuple[str, str, str], words: str) -> None:
    cli.add("EX-1", "files")
    before = cli.policy.read_bytes()
    out = cli.add(*args, ok=False)
    assert words in out.replace("\n", " ")
    assert cli.policy.read_bytes() == before  # a refused change writes nothing
    assert len(history.verify(cli.policy)) == 2


def test_required_fields(cli: Cli) -> None:
    out = cli("exception", "add", "--id", "EX-9", "--target", "web", "--expires",
              "2026-12-20", "--reason", "r", "--compensating-control", "c", ok=False)
    assert "--owner" in out
    out = cli("exception", "renew", "EX-9", "--expires", "2026-12-30", ok=False)
    assert "--why" in out


def test_renew_must_extend_within_the_maximum(cli: Cli) -> None:
    cli.add("EX-1", "web")
    assert "must extend it" in cli("exception", "renew", "EX-1", "--expires", "2026-12-10",
                                   "--why", "x", ok=False)
    assert "more than 90 days" in cli("exception", "renew", "EX-1", "--expires", "2027-06-01",
                                      "--why", "x", ok=False).replace("\n", " ")


@pytest.mark.parametrize("tamper", ["edit", "drop", "policy"])
def test_history_tampering_is_detected_and_blocks_changes(cli: Cli, tamper: str) -> None:
    cli.add("EX-1", "web")
    cli.add("EX-2", "files")
    path = history.history_path(cli.policy)
    lines = path.read_text().splitlines(keepends=True)
    if tamper == "edit":
        lines[1] = lines[1].replace("team@corp.example", "someone-else@corp.example")
        path.write_text("".join(lines))
    elif tamper == "drop":
        path.write_text("".join(lines[:1] + lines[2:]))
    else:
        cli.policy.write_text(cli.policy.read_text().replace("2026-12-20", "2027-12-20"))
    out = cli("history", "--verify", ok=False)
    assert "edited" in out or "removed" in out
    assert "refusing to change the register" in cli.add("EX-3", "x", ok=False)


def test_expiring_and_shadowed(cli: Cli) -> None:
    cli.add("EX-1", "web.corp.example", "2026-12-10", "--client", "WS01")
    cli.add("EX-2", "*.corp.example", "2027-01-20")
    cli.add("EX-3", "files", "2027-02-20", "--user", "CORP\\svc")
    soon = json.loads(cli("expiring", "--within", "30d", "--json"))
    assert [e["id"] for e in soon] == ["EX-1"]
    assert [e["id"] for e in json.loads(cli("expiring", "--within", "8w", "--json"))] == [
        "EX-1", "EX-2"]
    pairs = json.loads(cli("shadowed", "--json"))
    assert pairs == [{"exception": "EX-1", "covered_by": "EX-2"}]


def test_export_json_and_csv(cli: Cli, tmp_path: Path) -> None:
    cli.add("EX-1", "web", "2026-12-05")
    out = json.loads(cli("export", now="2026-12-06T00:00:00+00:00"))
    assert out["history"] == "verified" and out["history_head"]
    assert out["exceptions"][0]["state"] == "expired"
    cli("export", "--format", "csv", "--out", str(tmp_path / "r.csv"))
    assert (tmp_path / "r.csv").read_text().splitlines()[1].startswith("EX-1,web,")


def test_unused_reads_the_audit_store(cli: Cli, tmp_path: Path) -> None:
    """Our acceptor's events, ingested like Windows' own, show which exception was used."""
    from kerbfirst.audit.classify import classify
    from kerbfirst.audit.ingest import IngestStats, iter_events
    from kerbfirst.audit.store import EventStore
    from kerbfirst.gss.ntlm import NtHashVerifier
    from kerbfirst.gss.ntlm_governed import NtlmGovernor
    from kerbfirst.gss.replay import ReplayCache
    from kerbfirst.store.ntlm_policy_file import PolicyFile
    from kerbfirst.store.windows_event_log import WindowsEventLog
    from ntlm.peer import NOW as T
    from ntlm.peer import WEB, client, lookup

    cli.add("EX-WEB", "web.corp.example", "2026-12-30", "--client", "192.0.2.*")
    cli.add("EX-IDLE", "printer.corp.example", "2026-12-30")
    log = WindowsEventLog(tmp_path / "events.jsonl")
    gov = NtlmGovernor(WEB, NtHashVerifier(lookup), policy=PolicyFile(cli.policy).current,
                       replay=ReplayCache(), sink=log.write, host="web.corp.example")
    ctx = gov.context(client_address="192.0.2.7")
    peer = client()
    challenge = ctx.challenge(peer.step(), server_challenge=os.urandom(8), now=T)
    ctx.authenticate(peer.step(challenge), now=T)
    log.close()
    events = [classify(e) for e in iter_events([tmp_path / "events.jsonl"],
                                               stats=IngestStats(), warn=print)]
    store = EventStore(tmp_path / "audit")
    store.append(events)
    now = (T + timedelta(days=1)).isoformat()
    idle = json.loads(cli("unused", "--days", "30", "--store", str(tmp_path / "audit"),
                          "--json", now=now))
    assert [e["id"] for e in idle] == ["EX-IDLE"]
    later = (T + timedelta(days=20)).isoformat()
    idle = json.loads(cli("unused", "--days", "7", "--store", str(tmp_path / "audit"),
                          "--json", now=later))
    assert [e["id"] for e in idle] == ["EX-WEB", "EX-IDLE"]


def test_mode_switch_is_recorded_and_a_running_service_sees_it(tmp_path: Path) -> None:
    """audit -> enforce on the same register (its exceptions stay), in the history, and
    picked up by a service's PolicyFile at its next check, without a restart."""
    from kerbfirst.policy import Mode
    from kerbfirst.store.ntlm_policy_file import PolicyFile

    c = Cli(tmp_path)
    c("init", "--mode", "audit", "--estate", "--max-days", "90", "--by", "admin")
    c.add("EX-1", "web.corp.example", "2026-12-20", "--user", "CORP\\alice")
    running = PolicyFile(c.policy, check_interval=0)
    assert (p := running.current()) is not None and p.mode is Mode.AUDIT
    out = c("mode", "enforce", "--why", "phase 1 report: only EX-1 left", "--by", "carol")
    assert "enforce mode" in out and "1 live exception" in out
    assert (p := running.current()) is not None and p.mode is Mode.ENFORCE
    assert [e.id for e in p.exceptions] == ["EX-1"]
    records = history.verify(c.policy)
    assert (records[-1]["action"], records[-1]["who"], records[-1]["before"],
            records[-1]["after"]) == ("mode", "carol", {"mode": "audit"}, {"mode": "enforce"})
    assert "nothing recorded" in c("mode", "enforce", "--why", "again")
    assert len(history.verify(c.policy)) == len(records)
    c("mode", "enforce", "--why", "  ", ok=False)
    c("mode", "block", "--why", "x", ok=False)
    assert "mode" in c("history")


def test_expiry_in_days_or_weeks_from_today(cli: Cli) -> None:
    """--expires 30d is the 30th day after today (the --now of the command); 2w likewise."""
    cli.add("EX-D", "web.corp.example", "30d")
    assert load_policy_file(cli.policy).exceptions[0].expires.isoformat() == "2027-01-03"
    cli("exception", "renew", "EX-D", "--expires", "6w", "--why", "still needed")
    assert load_policy_file(cli.policy).exceptions[0].expires.isoformat() == "2027-01-15"
    assert "days or weeks" in cli.add("EX-E", "web.corp.example", "soon", ok=False)
    assert "90" in cli.add("EX-F", "web.corp.example", "91d", ok=False)  # past max-days


def test_scope_change_is_validated_and_recorded(cli: Cli) -> None:
    """The fixture's policy blocks the estate; narrow it to file servers, then widen it
    back; a scope that blocks nothing is refused; each change is in the history."""
    cli.add("EX-1", "web.corp.example", "80d")
    shown = json.loads(cli("scope"))
    assert shown["estate"] is True and shown["servers"] == []
    cli("scope", "--no-estate", "--server", "fs*.corp.example", "--server", "FS01",
        "--why", "file servers first", "--by", "dana")
    p = load_policy_file(cli.policy)
    assert not p.block_estate and p.block_servers == ("fs*.corp.example", "FS01")
    assert [e.id for e in p.exceptions] == ["EX-1"]
    out = cli("scope", "--no-servers", "--why", "oops", ok=False)
    assert "blocks nothing" in out
    assert "nothing recorded" in cli("scope", "--no-estate", "--why", "again")
    out = cli("scope", "--estate", "--max-days", "30", "--why", "whole estate now")
    assert "EX-1 runs to" in out and "past the new maximum" in out
    cli("scope", "--estate", ok=False)  # a change needs --why
    records = history.verify(cli.policy)
    assert [r["action"] for r in records[-2:]] == ["scope", "scope"]
    assert records[-2]["who"] == "dana" and records[-2]["after"]["servers"] == [
        "fs*.corp.example", "FS01"]
    assert records[-1]["after"]["max_exception_days"] == 30
    assert "30" in cli.add("EX-2", "web.corp.example", "31d", ok=False)
