"""Analytics on DuckDB, checked against a plain-Python count of the same events."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from audit_estate import START, estate, event

from kerbfirst.audit.analytics import Analytics, duckdb_runner, trend_of
from kerbfirst.audit.events import KERBEROS_REMEDIES, AuthEvent, AuthMechanism, Cause, Role
from kerbfirst.audit.store import EventStore


def _server(e: AuthEvent) -> str:
    if e.role is Role.SERVER_INCOMING:
        return e.host.upper()
    return e.target_name.split("/", 1)[-1].split(":")[0].upper() or "(UNKNOWN)"


def _key(e: AuthEvent) -> tuple[str, ...]:
    client = e.host if e.role is Role.CLIENT_OUTGOING else e.client_host
    return (
        client.upper(), _server(e), f"{e.domain}\\{e.user}", e.process,
        str(e.cause), str(e.remedy),
    )


@pytest.fixture(scope="module")
def events() -> list[AuthEvent]:
    evs = estate(800)
    # Kerberos events that explain NTLM ones are stored but never counted as NTLM.
    evs += [event(record_id=10_000 + i, mechanism=AuthMechanism.KERBEROS) for i in range(5)]
    return evs


@pytest.fixture(scope="module")
def analytics(
    events: list[AuthEvent], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Analytics]:
    store = EventStore(tmp_path_factory.mktemp("store"))
    store.append(events, batch_size=128)
    with store.connect() as con:
        yield Analytics(duckdb_runner(con))


def test_failure_map_matches_a_python_count(
    analytics: Analytics, events: list[AuthEvent]
) -> None:
    ntlm = [e for e in events if e.mechanism is not AuthMechanism.KERBEROS]
    by_key: dict[tuple[str, ...], list[AuthEvent]] = defaultdict(list)
    for e in ntlm:
        by_key[_key(e)].append(e)
    rows = analytics.failure_map()
    assert len(rows) == len(by_key)
    assert sum(r.events for r in rows) == len(ntlm) == 800
    last_day = max(e.time for e in ntlm).date()
    for r in rows:
        group = by_key[(r.client, r.server, r.account, r.process, r.cause, r.remedy)]
        assert r.events == len(group)
        assert r.first_seen == min(e.time for e in group)
        assert r.last_seen == max(e.time for e in group)
        days = [e.time.date() for e in group]
        assert r.last_7d == sum(last_day - timedelta(7) < d <= last_day for d in days)
        assert r.prev_7d == sum(
            last_day - timedelta(14) < d <= last_day - timedelta(7) for d in days
        )
        assert r.trend == trend_of(r.last_7d, r.prev_7d)
    assert [r.events for r in rows] == sorted((r.events for r in rows), reverse=True)


def test_daily_top_causes_and_readiness(analytics: Analytics, events: list[AuthEvent]) -> None:
    ntlm = [e for e in events if e.mechanism is not AuthMechanism.KERBEROS]
    daily = Counter((e.time.date().isoformat(), str(e.cause)) for e in ntlm)
    assert {(d.day, d.cause): d.events for d in analytics.daily_by_cause()} == daily

    servers = Counter(_server(e) for e in ntlm)
    top = analytics.top_servers(3)
    assert [(t.name, t.events) for t in top] == sorted(
        servers.items(), key=lambda kv: (-kv[1], kv[0])
    )[:3]
    clients = Counter(_key(e)[0] for e in ntlm)
    assert {t.name: t.events for t in analytics.top_clients(100)} == clients

    causes = Counter(str(e.cause) for e in ntlm)
    assert {c.cause: c.events for c in analytics.cause_breakdown()} == causes

    readiness = analytics.readiness()
    flows = {_key(e) for e in ntlm}
    ready = {k for k in flows if k[5] in {r.value for r in KERBEROS_REMEDIES}}
    assert readiness.overall.flows == len(flows)
    assert readiness.overall.ready_flows == len(ready)
    assert 0 < readiness.overall.share < 1
    per_server = Counter(k[1] for k in flows)
    assert {s.server: s.flows for s in readiness.servers} == per_server
    ready_events = sum(1 for e in ntlm if e.remedy in KERBEROS_REMEDIES)
    assert readiness.overall.ready_events == ready_events


def test_names_spn_and_accounts(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.append(
        [
            event(record_id=1, role=Role.CLIENT_OUTGOING, host="ws9", client="",
                  target="MSSQLSvc/sql7.corp.example:1433", domain="CORP", user="bob"),
            event(record_id=2, role=Role.CLIENT_OUTGOING, host="WS9", client="",
                  target="", domain="", user="guest", cause=Cause.SPN_MISSING),
            event(record_id=3, role=Role.SERVER_INCOMING, host="fs1", client="",
                  target="", cause=None),
        ]
    )
    with store.connect() as con:
        rows = {r.server: r for r in Analytics(duckdb_runner(con)).failure_map()}
    assert rows["SQL7.CORP.EXAMPLE"].account == "CORP\\bob"
    assert rows["SQL7.CORP.EXAMPLE"].client == "WS9"
    assert rows["(UNKNOWN)"].account == "guest"
    assert rows["FS1"].client == "(UNKNOWN)"
    assert (rows["FS1"].cause, rows["FS1"].remedy) == ("unknown", "")


def test_trend_window_follows_as_of(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    store.append(
        [event(record_id=i, time=START + timedelta(days=i)) for i in range(14)]
        + [event(record_id=100, time=START + timedelta(days=13, hours=1))]
    )
    with store.connect() as con:
        a = Analytics(duckdb_runner(con))
        (row,) = a.failure_map()
        assert (row.last_7d, row.prev_7d, row.trend) == (8, 7, "steady")
        (row,) = a.failure_map(as_of=START.date() + timedelta(days=6))
        assert (row.last_7d, row.prev_7d, row.trend) == (7, 0, "new")
        assert a.bounds().first_day == START.date()
        assert a.bounds().last_day == date(2025, 3, 14)


def test_empty_store_answers_every_question(tmp_path: Path) -> None:
    with EventStore(tmp_path).connect() as con:
        a = Analytics(duckdb_runner(con))
        assert a.failure_map() == []
        assert a.daily_by_cause() == []
        assert a.top_servers() == []
        assert a.readiness().overall.share == 1.0
        assert a.bounds().events == 0


def test_trend_labels() -> None:
    assert [trend_of(*p) for p in [(0, 0), (3, 0), (0, 3), (10, 4), (2, 10), (9, 10)]] == [
        "quiet", "new", "gone", "rising", "falling", "steady",
    ]


def test_limit_is_validated(analytics: Analytics) -> None:
    with pytest.raises(ValueError, match="limit"):
        analytics.top_servers(0)

