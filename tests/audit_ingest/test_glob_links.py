"""A `**` pattern over a log share with symbolic links back to parent folders ends quickly
and reads each file once (glob.glob followed the links: exponential paths)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kerbfirst.audit.ingest import expand_paths


def test_double_star_does_not_follow_folder_links(tmp_path: Path) -> None:
    share = tmp_path / "share" / "host1"
    share.mkdir(parents=True)
    (share / "Security.jsonl").write_text("{}\n")
    (share / ".hidden.jsonl").write_text("{}\n")
    for name in ("up1", "up2", "up3"):
        os.symlink("..", share / name)
    started = time.monotonic()
    found = expand_paths([str(tmp_path / "share" / "**" / "*.jsonl")])
    assert time.monotonic() - started < 5
    assert found == [share / "Security.jsonl"]


def test_relative_pattern_keeps_its_matches_relative(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jsonl").write_text("{}\n")
    monkeypatch.chdir(tmp_path)
    assert expand_paths(["a/*.jsonl", "**/x.jsonl"]) == [Path("a/x.jsonl")]
