"""Parallel ingest (`--jobs N`): the same store as the serial ingest, all or nothing.

Workers are real processes (a fork server), reading real EVTX samples and generated
exports; every comparison is against the serial ingest of the same input.
"""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
from audit_estate import START, event

from kerbfirst.audit.classify import classify
from kerbfirst.audit.fixtures import write_fixtures
from kerbfirst.audit.ingest import IngestError, IngestStats, iter_events
from kerbfirst.audit.pipeline import WorkerError, ingest_to_store, split_by_size
from kerbfirst.audit.store import AppendResult, EventStore, staged_final
from kerbfirst.audit.store_merge import drop_earlier_duplicates

DATA = Path(__file__).resolve().parents[1] / "data" / "evtx"


def _serial(paths: list[Path], store: EventStore) -> tuple[AppendResult, IngestStats, list[str]]:
    stats, warnings = IngestStats(), []
    events = (classify(e) for e in iter_events(paths, stats=stats, warn=warnings.append))
    return store.append(events), stats, warnings


def _parallel(paths: list[Path], store: EventStore, jobs: int = 2
              ) -> tuple[AppendResult, IngestStats, list[str]]:
    stats, warnings = IngestStats(), []
    result = ingest_to_store(paths, store, jobs=jobs, stats=stats, warn=warnings.append)
    return result, stats, warnings


def _rows(store: EventStore) -> list[tuple[Any, ...]]:
    with store.connect() as con:
        return con.execute("SELECT * FROM events ORDER BY ALL").fetchall()


def _counters(s: IngestStats) -> tuple[int, ...]:
    return (s.files_total, s.files_done, s.records_read, s.events_yielded,
            s.records_skipped_irrelevant, s.records_corrupt, s.warnings_total)


def _hidden(store: EventStore) -> list[Path]:
    return [p for p in store.root.rglob(".*") if p.is_file()]


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Generated exports in five formats, the real EVTX samples (one with a bad chunk),
    a junk file, and a second copy of a sample: the copy's records are duplicates of
    records another worker reads (the source is host/channel, not the path)."""
    d = tmp_path / "logs"
    write_fixtures(d, seed=5, events=300)
    for name in ("security.evtx", "Security_with_size_t.evtx",
                 "sample_with_a_bad_chunk_magic.evtx"):
        shutil.copyfile(DATA / name, d / name)
    shutil.copyfile(DATA / "Security_with_size_t.evtx", d / "zz-copy-of-size_t.evtx")
    (d / "junk.bin").write_bytes(b"\x00\x01not a log" * 50)
    return d


@pytest.mark.parametrize("jobs", [2, 3])
def test_parallel_store_equals_serial(logs: Path, tmp_path: Path, jobs: int) -> None:
    files = sorted(logs.iterdir())
    serial = EventStore(tmp_path / "serial")
    parallel = EventStore(tmp_path / "parallel")
    s_res, s_stats, s_warn = _serial(files, serial)
    p_res, p_stats, p_warn = _parallel(files, parallel, jobs)
    rows = _rows(serial)
    assert len(rows) > 300 and s_res.duplicates > 0  # the copy's records were duplicates
    assert _rows(parallel) == rows  # every column, first occurrence (file) wins
    assert (p_res.added, p_res.duplicates) == (s_res.added, s_res.duplicates)
    assert _counters(p_stats) == _counters(s_stats)
    # warnings (the bad chunk, the junk file) are the serial ones, in file order
    assert p_warn == s_warn and any("bad_chunk" in w for w in p_warn)
    assert any("junk.bin" in w for w in p_warn)
    assert _hidden(parallel) == []


def test_dedup_holds_across_parallel_runs(logs: Path, tmp_path: Path) -> None:
    files = sorted(logs.iterdir())
    store = EventStore(tmp_path / "s")
    first, _, _ = _parallel(files, store)
    rows = _rows(store)
    again, _, _ = _parallel(files, store)
    assert again.added == 0 and again.duplicates == first.added + first.duplicates
    assert _rows(store) == rows
    # and a serial run after a parallel one adds nothing either
    serial, _, _ = _serial(files, store)
    assert serial.added == 0 and _rows(store) == rows


def test_a_failed_worker_commits_nothing(logs: Path, tmp_path: Path) -> None:
    """One worker meets a damaged store file (AuditStoreError in the worker): the run raises,
    and neither its files nor the other workers' become visible or stay behind."""
    files = sorted(logs.iterdir())
    store = EventStore(tmp_path / "s")
    _serial(files[:1], EventStore(tmp_path / "probe"))  # the first file's days ...
    day = sorted(EventStore(tmp_path / "probe").files())[0].parent.name
    damaged = store.events_dir / day / "part-damaged.parquet"
    damaged.parent.mkdir(parents=True)
    damaged.write_bytes(b"not parquet")
    with pytest.raises(WorkerError, match="part-damaged"):
        _parallel(files, store)
    assert store.files() == [damaged]
    assert _hidden(store) == []


def test_nothing_readable_raises_and_commits_nothing(tmp_path: Path) -> None:
    d = tmp_path / "junk"
    d.mkdir()
    for i in range(3):
        (d / f"j{i}.bin").write_bytes(b"\x00\x01junk" * 20)
    store = EventStore(tmp_path / "s")
    with pytest.raises(IngestError, match="nothing could be read") as exc:
        _parallel([d], store)
    assert all(f"j{i}.bin" in str(exc.value) for i in range(3))
    assert store.files() == [] and _hidden(store) == []


def test_one_file_falls_back_to_the_serial_ingest(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "s")
    result, stats, _ = _parallel([DATA / "security.evtx"], store, jobs=4)
    assert result.added == stats.events_yielded > 0


def test_split_by_size_is_contiguous_balanced_and_never_empty(tmp_path: Path) -> None:
    sizes = [5000, 100, 100, 100, 4000, 100, 3000, 10]
    files = []
    for i, n in enumerate(sizes):
        f = tmp_path / f"{i}.log"
        f.write_bytes(b"x" * n)
        files.append(f)
    for n in (1, 2, 3, 4, 8, 20):
        groups = split_by_size(files, n)
        assert [f for g in groups for f in g] == files  # contiguous, in order
        assert all(groups) and len(groups) <= n
    two = split_by_size(files, 2)
    share = [sum(f.stat().st_size for f in g) for g in two]
    assert max(share) <= 0.65 * sum(sizes)


def test_merge_drops_what_an_earlier_worker_has(tmp_path: Path) -> None:
    """Worker 1 shares ids 3..5 with worker 0 on one day and a whole file on another."""
    day2 = START + timedelta(days=1)
    w0 = EventStore(tmp_path).stage([event(record_id=i) for i in range(6)]
                                    + [event(record_id=100, time=day2)], tag="w0")[1]
    w1 = EventStore(tmp_path).stage([event(record_id=i, user="late") for i in range(3, 9)]
                                    + [event(record_id=100, time=day2, user="late")],
                                    tag="w1")[1]
    kept, dropped = drop_earlier_duplicates([w0, w1])
    assert dropped == 4
    assert len(kept[1]) == 1  # the day-2 file of worker 1 lost every row: removed
    rows = pq.read_table(kept[1][0]).to_pylist()
    assert sorted(r["record_id"] for r in rows) == [6, 7, 8]
    assert {r["user"] for r in rows} == {"late"}
    EventStore(tmp_path).commit(f for g in kept for f in g)
    assert EventStore(tmp_path).count() == 10


def test_staged_files_are_invisible_until_commit(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    result, staged = store.stage([event(record_id=i) for i in range(3)], tag="abc")
    assert result.added == 3 and len(staged) == 1
    assert store.files() == [] and store.count() == 0
    assert staged_final(staged[0]).name.endswith(".parquet")
    assert store.commit(staged) == 1 and store.count() == 3


def test_staged_dedup_rereads_its_own_files_after_eviction(tmp_path: Path) -> None:
    """A day dropped from the key index is read back with this run's staged files."""
    days = [[event(record_id=d * 100 + i, time=START + timedelta(days=d, minutes=i))
             for i in range(20)] for d in range(6)]
    events = [e for day in days for e in day] + [e for day in reversed(days) for e in day]
    result, staged = EventStore(tmp_path).stage(events, tag="t", batch_size=10,
                                                key_budget=30)
    assert (result.added, result.duplicates) == (120, 120)
    EventStore(tmp_path).commit(staged)
    assert EventStore(tmp_path).count() == 120


def test_discard_by_tag_removes_files_a_killed_worker_never_reported(tmp_path: Path) -> None:
    store = EventStore(tmp_path)
    _, mine = store.stage([event(record_id=1)], tag="run1")
    _, other = store.stage([event(record_id=2)], tag="run2")
    orphan = mine[0].with_name(mine[0].name + ".new")  # a merge rewrite in progress
    orphan.write_bytes(b"half")
    store.discard([], tag="run1")
    assert not mine[0].exists() and not orphan.exists()
    assert other[0].exists()  # another run's staging is not ours to remove
