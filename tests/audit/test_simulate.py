"""Enforcement simulation over stored flows."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from audit_estate import estate, event

from kerbfirst.audit.analytics import Analytics, duckdb_runner
from kerbfirst.audit.events import Cause
from kerbfirst.audit.simulate import load_policy, simulate, to_json
from kerbfirst.audit.store import EventStore
from kerbfirst.policy import Policy, PolicyError

EXC = {"owner": "o", "reason": "r", "compensating_control": "c"}


def flows(tmp_path: Path, events: list) -> list:  # type: ignore[type-arg]
    store = EventStore(tmp_path)
    store.append(events)
    with store.connect() as con:
        return Analytics(duckdb_runner(con)).flows()


def test_would_fail_saved_unused_expired(tmp_path: Path) -> None:
    evs = estate(400)
    fl = flows(tmp_path, evs)
    policy = Policy.from_dict({
        "mode": "audit",
        "scope": {"servers": ["PRN03", "SQL02*"]},
        "exception": [
            dict(EXC, id="prn", target="PRN03", expires=date(2025, 12, 31)),
            dict(EXC, id="unused", target="NOSUCH", expires=date(2025, 12, 31)),
            dict(EXC, id="old", target="SQL02*", expires=date(2025, 1, 1)),
        ],
    })
    sim = simulate(policy, fl, at=date(2025, 6, 1))
    fail_servers = {o.flow.server for o in sim.would_fail}
    assert fail_servers <= {"SQL02.CORP.EXAMPLE", "PRN03"}
    # PRN03 flows are saved unless NTLMv1 (refused even with an exception)
    assert all(o.flow.cause == Cause.NTLMV1_OR_LM for o in sim.would_fail
               if o.flow.server == "PRN03")
    assert {o.flow.server for o in sim.saved} == {"PRN03"}
    assert all(o.decision.allowed for o in sim.would_fail)  # audit mode
    n_in_scope = sum(1 for f in fl if f.server in ("PRN03", "SQL02.CORP.EXAMPLE"))
    assert len(sim.would_fail) + len(sim.saved) == n_in_scope
    assert [e.id for e in sim.exceptions_unused] == ["unused"]
    assert [(u.entry.id, u.flows > 0) for u in sim.exceptions_expired] == [("old", True)]
    assert sum(p.events for p in sim.users) == sum(o.flow.events for o in sim.would_fail)
    assert {p.name for p in sim.servers} == fail_servers
    js = to_json(sim)
    assert js["totals"]["flows"] == len(fl)
    assert js["exceptions_unused"][0]["id"] == "unused"


def test_user_scoped_exception(tmp_path: Path) -> None:
    fl = flows(tmp_path, [
        event(record_id=1, host="FS01", user="svc", domain="CORP"),
        event(record_id=2, host="FS01", user="alice", domain="CORP"),
    ])
    policy = Policy.from_dict({"mode": "enforce", "scope": {"estate": True}, "exception": [
        dict(EXC, target="FS01", user="CORP\\svc", expires=date(2030, 1, 1))]})
    sim = simulate(policy, fl, at=date(2025, 1, 1))
    assert [o.flow.user for o in sim.saved] == ["svc"]
    assert [o.flow.user for o in sim.would_fail] == ["alice"]
    assert not sim.would_fail[0].decision.allowed


def test_load_policy_errors_name_the_file(tmp_path: Path) -> None:
    p = tmp_path / "policy.toml"
    p.write_text("mode = \n")
    with pytest.raises(PolicyError, match=r"policy\.toml: not valid TOML"):
        load_policy(p)
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")


def test_narrowed_exception_is_flagged_with_what_windows_would_let_through(
        tmp_path: Path) -> None:
    evs = [event(record_id=i, host="SQL02", client=c, user=u)
           for i, (c, u) in enumerate([("WS001", "svc_backup"), ("WS001", "svc_backup"),
                                       ("KIOSK1", "alice"), ("LAB-PC9", "bob")])]
    fl = flows(tmp_path, evs)
    policy = Policy.from_dict({
        "mode": "enforce", "scope": {"estate": True},
        "exception": [dict(EXC, id="bk", target="SQL02", client="WS00*",
                           user="CORP\\svc_backup", expires=date(2026, 1, 1))],
    })
    sim = simulate(policy, fl, at=date(2025, 6, 1))
    assert [o.flow.client for o in sim.saved] == ["WS001"]
    (n,) = sim.exceptions_narrowed
    assert (n.entry.id, n.flows, n.events) == ("bk", 2, 2)
    assert "exported for every client and user of SQL02" in n.note
    out = to_json(sim)["exceptions_narrowed"][0]
    assert out["windows_also_allows_flows"] == 2 and out["id"] == "bk"
