from __future__ import annotations

import json
import multiprocessing
import pathlib
import stat
from datetime import UTC, datetime
from typing import Any

import pytest

from kerbfirst.store.audit_log import AuditLogError, JsonLinesAuditLog


class Event:
    def __init__(self, n: int) -> None:
        self.n = n

    def to_json(self) -> dict[str, Any]:
        return {"n": self.n, "time": datetime(2030, 1, 1, tzinfo=UTC), "pad": "x" * 3000}


def test_lines_are_json_and_file_is_0600(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonLinesAuditLog(path) as log:
        log.write(Event(1))
        log.write({"outcome": "ok", "nested": {"etype": 18}})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_text().splitlines()
    assert json.loads(lines[0])["time"] == "2030-01-01T00:00:00+00:00"
    assert json.loads(lines[1]) == {"outcome": "ok", "nested": {"etype": 18}}


@pytest.mark.parametrize(
    "event",
    [
        {"session_key": "abc"},
        {"client": {"password": "pw"}},
        {"list": [{"Key": "00"}]},
        {"blob": b"\x00\x01"},
    ],
)
def test_key_material_is_refused(tmp_path: pathlib.Path, event: dict[str, Any]) -> None:
    with JsonLinesAuditLog(tmp_path / "a") as log, pytest.raises(AuditLogError):
        log.write(event)
    assert (tmp_path / "a").read_bytes() == b""


def _append(path: str, worker: int, count: int) -> None:
    with JsonLinesAuditLog(path) as log:
        for i in range(count):
            log.write({"worker": worker, "i": i, "pad": "y" * (1000 + worker * 500)})


def test_concurrent_processes_never_interleave(tmp_path: pathlib.Path) -> None:
    path = str(tmp_path / "audit.jsonl")
    ctx = multiprocessing.get_context("fork")
    workers = [ctx.Process(target=_append, args=(path, w, 300)) for w in range(4)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(timeout=60)
        assert p.exitcode == 0
    records = [json.loads(line) for line in pathlib.Path(path).read_text().splitlines()]
    assert len(records) == 1200
    for w in range(4):
        assert [r["i"] for r in records if r["worker"] == w] == list(range(300))


class LineEvent(Event):
    """An event class with its own renderer, as the KDC's."""

    def __init__(self, n: int, line: str | None = None) -> None:
        super().__init__(n)
        self._line = line

    def to_json_line(self) -> str:
        if self._line is not None:
            return self._line
        return json.dumps(self.to_json(), separators=(",", ":"), ensure_ascii=False,
                          default=lambda t: t.isoformat())


def test_own_renderer_is_checked_once_then_used(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "audit.jsonl"
    with JsonLinesAuditLog(path) as log:
        log.write(LineEvent(1))
        log.write(LineEvent(2, line='{"n":2,"rendered":"directly"}'))  # trusted after the check
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["n"] == 1 and lines[0]["time"] == "2030-01-01T00:00:00+00:00"
    assert lines[1] == {"n": 2, "rendered": "directly"}


def test_renderer_that_disagrees_is_refused(tmp_path: pathlib.Path) -> None:
    with JsonLinesAuditLog(tmp_path / "audit.jsonl") as log, pytest.raises(
        AuditLogError, match="disagrees"
    ):
        log.write(LineEvent(1, line='{"n":1}'))
    assert (tmp_path / "audit.jsonl").read_text() == ""
