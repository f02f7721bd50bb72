"""The replay cache file removed, replaced or cut while an acceptor runs (a tmp cleaner,
an operator): the acceptor follows the file at the path, as MIT's file2 rcache (which
opens it for every store) does, so that it and a second process (or the next start) still
share one cache; a file cut short refuses with a message saying so, not "enlarge"."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest

from kerbfirst.gss.replay import ReplayCacheFull
from kerbfirst.net.iakerb_rcache import FileReplayCache

from .iakerb_env import T0

SKEW = timedelta(minutes=5)


def _key(i: int) -> tuple[str, object, int, bytes]:
    return (f"alice{i}@TEST.REALM", T0, i, i.to_bytes(32, "big"))


def _store(cache: FileReplayCache, i: int) -> bool:
    return cache.check_and_store(_key(i), now=T0, lifetime=SKEW)  # type: ignore[arg-type]


def test_removed_file_is_shared_again_with_the_next_process(tmp_path: Path) -> None:
    path = tmp_path / "rc"
    first = FileReplayCache(path, slots=1024)
    assert _store(first, 1)
    path.unlink()
    assert _store(first, 2)  # accepted after the removal: must reach the file at `path`
    second = FileReplayCache(path, slots=1024)  # another process, or the next start
    assert not _store(second, 2)  # a replay of what the first one accepted
    assert _store(second, 3)
    assert not _store(first, 3)


def test_emptied_file_is_started_again(tmp_path: Path) -> None:
    path = tmp_path / "rc"
    cache = FileReplayCache(path, slots=1024)
    assert _store(cache, 1)
    os.truncate(path, 0)
    assert _store(cache, 2)
    assert not _store(cache, 2)
    assert not _store(FileReplayCache(path, slots=1024), 2)


def test_file_cut_short_refuses_and_says_why(tmp_path: Path) -> None:
    path = tmp_path / "rc"
    cache = FileReplayCache(path, slots=1024)
    assert _store(cache, 1)
    os.truncate(path, 32 + 500 * 32 + 7)
    with pytest.raises(ReplayCacheFull, match="truncated"):
        _store(cache, 2)
    assert os.path.getsize(path) == 32 + 500 * 32 + 7  # nothing written past the cut
