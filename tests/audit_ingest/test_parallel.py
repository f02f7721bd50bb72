"""iter_events(jobs=N): the same events, counters, warnings and failures as jobs=1."""

from __future__ import annotations

import pytest

from kerbfirst.audit.fixtures import write_fixtures
from kerbfirst.audit.ingest import IngestError, IngestStats, iter_events
from kerbfirst.audit.ingest import parallel as parallel_mod


def _run(paths, jobs):
    stats = IngestStats()
    warnings: list[str] = []
    events = [e.to_record() for e in iter_events(paths, stats=stats, warn=warnings.append,
                                                  jobs=jobs)]
    return events, stats, warnings


def test_parallel_equals_sequential_on_a_mixed_folder(tmp_path, evtx_dir, monkeypatch):
    # small batches so files span several messages
    monkeypatch.setattr(parallel_mod, "BATCH", 7)
    logs = tmp_path / "logs"
    write_fixtures(logs, seed=4, events=120, gz=True)
    for name in ("security.evtx", "sample_with_a_bad_chunk_magic.evtx",
                 "sample-with-zero-data-size-event.evtx"):
        (logs / name).write_bytes((evtx_dir / name).read_bytes())
    (logs / "junk.bin").write_bytes(b"\x00\x01 not a log")
    (logs / "broken.jsonl").write_text('{"EventID": 8001, "cut\n' * 3)
    seq = _run([logs], 1)
    par = _run([logs], 3)
    assert seq[0] and par[0] == seq[0]
    assert par[2] == seq[2] and any("junk.bin" in w for w in seq[2])
    s, p = seq[1], par[1]
    assert (p.records_read, p.records_corrupt, p.records_skipped_irrelevant,
            p.events_yielded, p.files_done, p.files_total, p.warnings_total) == (
        s.records_read, s.records_corrupt, s.records_skipped_irrelevant,
        s.events_yielded, s.files_done, s.files_total, s.warnings_total)
    assert s.records_corrupt >= 6


def test_parallel_nothing_read_raises_like_sequential(tmp_path):
    for i in range(3):
        (tmp_path / f"broken{i}.jsonl").write_text('{"EventID": 8001, "cut\n' * 2)
    messages = []
    for jobs in (1, 2):
        with pytest.raises(IngestError) as info:
            _run([tmp_path], jobs)
        messages.append(str(info.value))
    assert messages[0] == messages[1] and "broken2.jsonl: every record" in messages[0]


def test_a_worker_that_died_is_an_error_not_a_hang(monkeypatch):
    import queue

    class Dead:
        name, exitcode = "kerbfirst-ingest-0", -9

        def is_alive(self) -> bool:
            return False

    monkeypatch.setattr(parallel_mod, "POLL_SECONDS", 0.01)
    with pytest.raises(parallel_mod.WorkerError, match=r"exited with code -9.*--jobs 1"):
        parallel_mod._receive(queue.Queue(), Dead())
