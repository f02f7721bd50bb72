"""EventStore: day partitions, deduplication, atomic files, the DuckDB view."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from audit_estate import START, estate, event

from kerbfirst.audit import store as store_mod
from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.store import SCHEMA, AuditStoreError, EventStore


def test_schema_covers_every_event_field() -> None:
    assert [f.name for f in dataclasses.fields(AuthEvent)] == SCHEMA.names


def test_append_partitions_by_utc_day(tmp_path: Path) -> None:
    s = EventStore(tmp_path)
    evs = [
        event(record_id=1, time=datetime(2025, 3, 1, 23, 30, tzinfo=UTC)),
        # 00:30 at UTC+2 is still 22:30 UTC on the 1st
        event(record_id=2, time=datetime(2025, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=2)))),
        event(record_id=3, time=datetime(2025, 3, 2, 0, 0, 1, tzinfo=UTC)),
    ]
    res = s.append(evs)
    assert (res.added, res.duplicates) == (3, 0)
    days = sorted(p.parent.name for p in s.files())
    assert days == ["day=2025-03-01", "day=2025-03-02"]
    with s.connect() as con:
        rows = con.execute(
            "SELECT record_id, CAST(day AS STRING) FROM events ORDER BY record_id"
        ).fetchall()
    assert rows == [(1, "2025-03-01"), (2, "2025-03-01"), (3, "2025-03-02")]


def test_round_trip_keeps_every_field(tmp_path: Path) -> None:
    s = EventStore(tmp_path)
    e = event(record_id=42, extra={"LogonGuid": "{x}", "weird": "é'\"<"})
    e.usage_reason = 7
    e.secure_channel_type = 4
    s.append([e])
    with s.connect() as con:
        cur = con.execute("SELECT * EXCLUDE (day) FROM events")
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchone(), strict=True))
    want = e.to_record()
    assert json.loads(row.pop("extra")) == want.pop("extra")
    assert row.pop("time").replace(tzinfo=UTC) == want.pop("time")
    assert row == want


def test_same_input_twice_adds_nothing(tmp_path: Path) -> None:
    s = EventStore(tmp_path)
    evs = estate(300)
    first = s.append(evs, batch_size=64)
    assert (first.added, first.duplicates) == (300, 0)
    files = s.files()
    again = EventStore(tmp_path).append(estate(300), batch_size=50)
    assert (again.added, again.duplicates) == (0, 300)
    assert s.files() == files
    assert s.count() == 300


def test_duplicates_within_input_and_partial_overlap(tmp_path: Path) -> None:
    s = EventStore(tmp_path)
    s.append([event(record_id=i) for i in range(10)])
    mixed = [event(record_id=i) for i in range(5, 15)] + [event(record_id=12)]
    # same record id from another source is a different record
    mixed.append(event(record_id=3, source="other.evtx"))
    res = s.append(mixed, batch_size=4)
    assert (res.added, res.duplicates) == (6, 6)
    with s.connect() as con:
        n = con.execute(
            "SELECT COUNT(*), COUNT(DISTINCT (source, record_id)) FROM events"
        ).fetchone()
    assert n == (16, 16)


def test_many_days_are_flushed_in_bounded_files(tmp_path: Path) -> None:
    s = EventStore(tmp_path)
    evs = [event(record_id=i, time=START + timedelta(hours=i)) for i in range(24 * 10)]
    res = s.append(evs, batch_size=100)
    assert res.added == 240
    for f in s.files():
        assert pq.ParquetFile(f).metadata.num_rows <= 200
    assert len({f.parent for f in s.files()}) == 10


def test_failed_write_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = EventStore(tmp_path)
    s.append([event(record_id=1)])
    before = sorted(p.name for p in tmp_path.rglob("*"))

    def boom(table: object, where: Path, **kw: object) -> None:
        Path(where).write_bytes(b"PAR1 half a file")
        raise OSError("disk full")

    monkeypatch.setattr(store_mod.pq, "write_table", boom)
    with pytest.raises(OSError, match="disk full"):
        s.append([event(record_id=2, time=START + timedelta(days=3))])
    monkeypatch.undo()
    leftovers = [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in before]
    assert leftovers == []
    assert s.count() == 1
    # and the event can still be added later
    assert s.append([event(record_id=2)]).added == 1


def test_empty_store_has_an_empty_events_view(tmp_path: Path) -> None:
    with EventStore(tmp_path / "nothing").connect() as con:
        assert con.execute("SELECT COUNT(*), MAX(day) FROM events").fetchone() == (0, None)


def test_record_id_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AuditStoreError, match="record_id"):
        EventStore(tmp_path).append([event(record_id=2**64 - 1)])


def test_key_index_over_budget_drops_days_and_still_deduplicates(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a key budget smaller than the input, cold days are written and forgotten, then
    read back from disk when the input comes back to them: nothing is stored twice."""
    loads: list[int] = []
    real_close = store_mod._Appender.close

    def spy(self: store_mod._Appender) -> None:
        loads.append(self.keys.days_loaded)
        real_close(self)

    monkeypatch.setattr(store_mod._Appender, "close", spy)
    s = EventStore(tmp_path)
    # 6 days x 20 events, then the same events again in reverse day order, interleaved
    # with 6 x 5 new ones
    days = [[event(record_id=d * 100 + i, time=START + timedelta(days=d, minutes=i))
             for i in range(20)] for d in range(6)]
    first = s.append([e for day in days for e in day], batch_size=10, key_budget=30)
    assert (first.added, first.duplicates) == (120, 0)
    again = [e for day in reversed(days) for e in day]
    again += [event(record_id=d * 100 + 50 + i, time=START + timedelta(days=d))
              for d in range(6) for i in range(5)]
    second = s.append(again, batch_size=10, key_budget=30)
    assert (second.added, second.duplicates) == (30, 120)
    assert s.count() == 150
    with s.connect() as con:
        assert con.execute("SELECT COUNT(DISTINCT (source, record_id)) FROM events"
                           ).fetchone() == (150,)
    # the second run re-read evicted days from disk instead of holding every key
    assert loads[0] == 6 and loads[1] > 6


def test_append_reads_only_the_days_it_touches(tmp_path: Path) -> None:
    s = EventStore(tmp_path)
    s.append([event(record_id=i, time=START + timedelta(days=i)) for i in range(5)])
    # a damaged partition the next input does not touch is not read ...
    bad = next(p for p in s.files() if "day=2025-03-05" in str(p))
    bad.write_bytes(b"PAR1 not parquet")
    assert s.append([event(record_id=1, time=START + timedelta(days=1))]).duplicates == 1
    # ... and one it does touch is named in the error
    with pytest.raises(AuditStoreError, match="day=2025-03-05"):
        s.append([event(record_id=9, time=START + timedelta(days=4))])
