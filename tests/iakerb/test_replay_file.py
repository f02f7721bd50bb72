"""The persistent replay cache (net/iakerb_rcache.py), as MIT's file rcache: kept across
restarts and shared by processes (exactly one of several racing processes accepts an
authenticator), bounded in size whatever the load, failing closed when full, 0600."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from kerbfirst.gss.replay import ReplayCacheFull
from kerbfirst.net.iakerb_rcache import (
    HEADER,
    PROBES,
    SLOT,
    FileReplayCache,
    ReplayFileError,
)

from .iakerb_env import T0

SKEW = timedelta(minutes=5)


def _key(i: int) -> tuple[str, object, int, bytes]:
    return (f"alice{i}@TEST.REALM", T0, i, i.to_bytes(32, "big"))


def test_survives_reopening_and_forgets_after_the_skew(tmp_path: Path) -> None:
    path = tmp_path / "rc"
    cache = FileReplayCache(path, slots=1024)
    assert cache.check_and_store(_key(1), now=T0, lifetime=SKEW)  # type: ignore[arg-type]
    assert not cache.check_and_store(_key(1), now=T0, lifetime=SKEW)  # type: ignore[arg-type]
    cache.close()
    again = FileReplayCache(path, slots=1024)
    assert not again.check_and_store(_key(1), now=T0 + SKEW, lifetime=SKEW)  # type: ignore[arg-type]
    later = T0 + SKEW + timedelta(seconds=2)
    assert again.check_and_store(_key(1), now=later, lifetime=SKEW)  # type: ignore[arg-type]
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.stat().st_size == HEADER.size + 1024 * SLOT.size


def test_bounded_and_fails_closed_when_full(tmp_path: Path) -> None:
    cache = FileReplayCache(tmp_path / "rc", slots=PROBES)  # one probe window: 64 entries
    for i in range(PROBES):
        assert cache.check_and_store(_key(i), now=T0, lifetime=SKEW)  # type: ignore[arg-type]
    with pytest.raises(ReplayCacheFull):
        cache.check_and_store(_key(PROBES), now=T0, lifetime=SKEW)  # type: ignore[arg-type]
    assert (tmp_path / "rc").stat().st_size == HEADER.size + PROBES * SLOT.size
    # once the entries expire, their slots are reused
    assert cache.check_and_store(_key(PROBES), now=T0 + SKEW * 3, lifetime=SKEW)  # type: ignore[arg-type]


def test_a_foreign_or_damaged_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "foreign").write_bytes(b"not a replay cache at all, definitely" * 10)
    with pytest.raises(ReplayFileError, match="not a kerbfirst replay cache"):
        FileReplayCache(tmp_path / "foreign")
    FileReplayCache(tmp_path / "cut", slots=128).close()
    with (tmp_path / "cut").open("r+b") as f:
        f.truncate(HEADER.size + 10)
    with pytest.raises(ReplayFileError, match="truncated or damaged"):
        FileReplayCache(tmp_path / "cut", slots=128)
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(ReplayFileError):
        FileReplayCache(tmp_path / "link")


RACER = """
import sys
from datetime import UTC, datetime, timedelta
from kerbfirst.net.iakerb_rcache import FileReplayCache
cache = FileReplayCache(sys.argv[1], slots=4096)
t0 = datetime(2025, 3, 1, 12, tzinfo=UTC)
wins = sum(cache.check_and_store((f"u{i}@R", t0, i, bytes(32)), now=t0,
                                 lifetime=timedelta(minutes=5)) for i in range(300))
print(wins)
"""


def test_processes_share_it_and_never_both_accept(tmp_path: Path) -> None:
    path = tmp_path / "rc"
    FileReplayCache(path, slots=4096).close()
    procs = [subprocess.Popen([sys.executable, "-c", RACER, str(path)], stdout=subprocess.PIPE,
                              text=True) for _ in range(4)]
    wins = [int(p.communicate(timeout=60)[0]) for p in procs]
    assert sum(wins) == 300, wins  # each of the 300 authenticators accepted exactly once
