"""The KDC's audit log on a real disk: rotation by size, a record for every event (truncated
when oversized), never a torn line, one warning when events are lost (disk full)."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path
from typing import Any

import pytest
from memory_realm import T0

from kerbfirst.kdc.audit import KdcAuditEvent, Outcome, RequestKind
from kerbfirst.store.audit_log import MAX_LINE, JsonLinesAuditLog
from tiny_fs import fill, tiny_tmpfs


def _records(*paths: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for p in paths for line in p.read_text().splitlines()]


def test_rotation_by_size_keeps_n_files(tmp_path: Path) -> None:
    path = tmp_path / "kdc-audit.jsonl"
    with JsonLinesAuditLog(path, max_size=8192, keep=2) as log:
        for i in range(300):
            log.write({"i": i, "pad": "p" * 100})
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == [
        "kdc-audit.jsonl", "kdc-audit.jsonl.1", "kdc-audit.jsonl.2"
    ]
    for p in (path, Path(f"{path}.1"), Path(f"{path}.2")):
        assert p.stat().st_size <= 8192
    kept = _records(Path(f"{path}.2"), Path(f"{path}.1"), path)
    assert [r["i"] for r in kept] == list(range(300 - len(kept), 300))  # newest, in order


def _append(path: str, worker: int, count: int) -> None:
    with JsonLinesAuditLog(path, max_size=16384, keep=500) as log:
        for i in range(count):
            log.write({"worker": worker, "i": i, "pad": "y" * (200 + worker * 50)})


def test_rotation_across_worker_processes_loses_and_tears_nothing(tmp_path: Path) -> None:
    path = tmp_path / "kdc-audit.jsonl"
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_append, args=(str(path), w, 400)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0
    files = [path, *sorted(tmp_path.glob("kdc-audit.jsonl.[0-9]*"))]
    assert len(files) > 5  # it did rotate, many times
    records = _records(*files)  # every line of every file parses
    assert len(records) == 1200
    for w in range(3):
        assert sorted(r["i"] for r in records if r["worker"] == w) == list(range(400))


def test_oversized_event_is_recorded_truncated(tmp_path: Path) -> None:
    path = tmp_path / "a.jsonl"
    huge = "N" * (2 * 1024 * 1024)
    event = KdcAuditEvent(T0, RequestKind.AS_REQ, Outcome.CLIENT_UNKNOWN, 6, "unknown", "p",
                          "tcp", client=huge + "@R", requested_etypes=tuple(range(5000)))
    with JsonLinesAuditLog(path) as log:
        log.write(event)
        log.write({"after": 1})
    first, second = path.read_text().splitlines()
    assert len(first) <= MAX_LINE
    record = json.loads(first)
    assert record["truncated"] is True
    assert record["outcome"] == "client-unknown" and record["client"].startswith("NNNN")
    assert "more characters truncated" in record["client"]
    assert json.loads(second) == {"after": 1}


def test_disk_full_warns_once_never_tears_and_recovers(tmp_path: Path) -> None:
    warnings: list[str] = []
    with tiny_tmpfs(tmp_path / "fs", "64k") as fs:
        path = fs / "kdc-audit.jsonl"
        log = JsonLinesAuditLog(path, warn=warnings.append)
        log.write({"n": 0, "pad": "a" * 100})
        filler = fill(fs)
        failures = 0
        for n in range(1, 40):  # large records: the last ones are cut off by ENOSPC
            try:
                log.write({"n": n, "pad": "b" * 7000})
            except OSError:
                failures += 1
        assert failures > 0 and log.lost == failures
        assert len(warnings) == 1 and "audit events are lost" in warnings[0]
        filler.unlink()  # space again
        log.write({"n": 100, "pad": "c"})
        log.close()
        assert len(warnings) == 2 and f"{failures} events were lost" in warnings[1]
        lines = path.read_bytes().split(b"\n")
        assert lines[-1] == b""
        parsed = []
        for line in lines[:-1]:
            try:
                parsed.append(json.loads(line))
            except ValueError:  # only a line cut off by the full disk, never two glued
                assert line.startswith(b'{"n":') and line.count(b'{"n":') == 1
        assert parsed[0]["n"] == 0 and parsed[-1] == {"n": 100, "pad": "c"}


def test_partial_write_is_ended_before_the_next_line(tmp_path: Path) -> None:
    """A record cut off mid-line by a full disk: the next record starts on a new line."""
    with tiny_tmpfs(tmp_path / "fs", "16k") as fs:
        path = fs / "log"
        log = JsonLinesAuditLog(path, warn=lambda _: None)
        (fs / "spare").write_bytes(bytes(4096))  # to be freed after the partial write
        # at most 12 KiB free: this record of 20000 bytes can only partly land
        with pytest.raises(OSError):
            log.write({"n": 1, "pad": "x" * 20000})
        data = path.read_bytes()
        assert 0 < len(data) < 20000  # a real partial write happened
        (fs / "spare").unlink()
        log.write({"n": 2})
        log.close()
        lines = path.read_bytes().split(b"\n")
        assert json.loads(lines[-2]) == {"n": 2}
        assert b'{"n":2}' not in lines[-3]
