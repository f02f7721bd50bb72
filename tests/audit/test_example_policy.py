"""examples/ntlm-policy.toml against the generated fixture estate: the simulation shows a
live, an expired, an unused and a narrowed exception, and the export carries the live
ones (in the forms Windows matches) and LmCompatibilityLevel."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from kerbfirst.audit.analytics import Analytics, duckdb_runner
from kerbfirst.audit.export import LSA, MSV1_0, write_export
from kerbfirst.audit.fixtures import write_fixtures
from kerbfirst.audit.ingest import IngestStats
from kerbfirst.audit.pipeline import ingest_to_store
from kerbfirst.audit.simulate import load_policy, simulate
from kerbfirst.audit.store import EventStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ntlm-policy.toml"
AT = date(2026, 12, 1)  # the date the example's comments use


def test_example_policy_demonstrates_every_kind_of_exception(tmp_path: Path) -> None:
    from test_export import parse_reg

    logs = write_fixtures(tmp_path / "logs", seed=1, events=2000, formats=("nxlog",))
    store = EventStore(tmp_path / "store")
    ingest_to_store(list(logs.values()), store, stats=IngestStats(), warn=print)
    with store.connect() as con:
        flows = Analytics(duckdb_runner(con)).flows()
    policy = load_policy(EXAMPLE)
    sim = simulate(policy, flows, at=AT)
    used = {u.entry.id: u for u in sim.exceptions_used}
    assert set(used) == {"EX-1", "EX-4"} and used["EX-1"].events > 0
    assert {o.flow.server for o in sim.saved if o.decision.exception.id == "EX-1"} == {
        "SRV03.CORP.EXAMPLE.COM"}
    (expired,) = sim.exceptions_expired
    assert expired.entry.id == "EX-2" and expired.flows > 0  # would match, allows nothing
    assert [e.id for e in sim.exceptions_unused] == ["EX-3"]
    (narrowed,) = sim.exceptions_narrowed
    assert narrowed.entry.id == "EX-4" and narrowed.flows > 0

    write_export(policy, tmp_path / "win", at=AT)
    clients = parse_reg(tmp_path / "win" / "ntlm-clients.reg")
    assert clients[MSV1_0]["ClientAllowedNTLMServers"] == ["SRV03", "PRN03", "SRV05"]
    assert clients[LSA] == {"LmCompatibilityLevel": 5}
