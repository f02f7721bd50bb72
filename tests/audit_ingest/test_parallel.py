"""The one ingest pipeline with jobs=N: the same rows, counters, warnings and failures as
jobs=1 on a mixed folder (generated exports, real EVTX samples, junk)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kerbfirst.audit import pipeline
from kerbfirst.audit.fixtures import write_fixtures
from kerbfirst.audit.ingest import IngestError, IngestStats
from kerbfirst.audit.store import EventStore


def _run(paths: list[Path], store: EventStore, jobs: int) -> tuple[Any, IngestStats, list[str]]:
    stats = IngestStats()
    warnings: list[str] = []
    pipeline.ingest_to_store(paths, store, jobs=jobs, stats=stats, warn=warnings.append)
    with store.connect() as con:
        rows = con.execute("SELECT * EXCLUDE (extra) FROM events ORDER BY ALL").fetchall()
    return rows, stats, warnings


def test_parallel_equals_sequential_on_a_mixed_folder(tmp_path, evtx_dir):
    logs = tmp_path / "logs"
    write_fixtures(logs, seed=4, events=120, gz=True)
    for name in ("security.evtx", "sample_with_a_bad_chunk_magic.evtx",
                 "sample-with-zero-data-size-event.evtx"):
        (logs / name).write_bytes((evtx_dir / name).read_bytes())
    (logs / "junk.bin").write_bytes(b"\x00\x01 not a log")
    (logs / "broken.jsonl").write_text('{"EventID": 8001, "cut\n' * 3)
    seq = _run([logs], EventStore(tmp_path / "s1"), 1)
    par = _run([logs], EventStore(tmp_path / "s3"), 3)
    assert seq[0] and par[0] == seq[0]
    assert par[2] == seq[2] and any("junk.bin" in w for w in seq[2])
    s, p = seq[1], par[1]
    assert (p.records_read, p.records_corrupt, p.records_skipped_irrelevant,
            p.events_yielded, p.files_done, p.files_total, p.warnings_total) == (
        s.records_read, s.records_corrupt, s.records_skipped_irrelevant,
        s.events_yielded, s.files_done, s.files_total, s.warnings_total)
    assert s.records_corrupt >= 6


def test_parallel_nothing_read_raises_like_sequential(tmp_path):
    logs = tmp_path / "logs"
    logs.mkdir()
    for i in range(3):
        (logs / f"broken{i}.jsonl").write_text('{"EventID": 8001, "cut\n' * 2)
    messages = []
    for jobs in (1, 2):
        store = EventStore(tmp_path / f"store{jobs}")
        with pytest.raises(IngestError) as info:
            _run([logs], store, jobs)
        messages.append(str(info.value))
        assert not store.files()
    assert messages[0] == messages[1] and "broken2.jsonl: every record" in messages[0]


def test_a_worker_that_died_is_an_error_not_a_hang():
    class Dead:
        exitcode = -9

    with pytest.raises(pipeline.WorkerError, match=r"exited with code -9.*--jobs 1"):
        pipeline.check_alive([Dead()], [None], set())
