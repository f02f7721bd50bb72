"""A change to the exception register on a full disk (a real tmpfs filled up, the kernel's
ENOSPC) changes nothing: the command fails naming the cause, the policy file and its
history are as they were, `history --verify` still passes, and the next change after space
is freed goes through. A history append cut short leaves no torn line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kerbfirst.cli.main import app
from kerbfirst.store import ntlm_register as history
from tiny_fs import fill, tiny_tmpfs

NOW = "2026-12-04T10:00:00+00:00"


def _cli(policy: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["policy", "--policy", str(policy), "--now", NOW, *args])
    return result.exit_code, result.output


def _add(policy: Path, eid: str) -> tuple[int, str]:
    return _cli(policy, "exception", "add", "--id", eid, "--target", "web.corp.example",
                "--owner", "team@corp.example", "--expires", "30d", "--reason",
                "no Kerberos yet " + "x" * 200, "--compensating-control", "VLAN 40")


def test_a_change_on_a_full_disk_changes_nothing(tmp_path: Path) -> None:
    with tiny_tmpfs(tmp_path / "fs", "64k") as fs:
        policy = fs / "ntlm-policy.toml"
        assert _cli(policy, "init", "--estate", "--by", "admin")[0] == 0
        assert _add(policy, "EX-1")[0] == 0
        before = (policy.read_bytes(), history.history_path(policy).read_bytes())
        filler = fill(fs)
        code, out = _add(policy, "EX-2")
        assert code == 1 and "nothing was changed" in out, out
        assert (policy.read_bytes(), history.history_path(policy).read_bytes()) == before
        assert not [p for p in fs.iterdir() if p.name.endswith(".tmp")]
        assert len(history.verify(policy)) == 2
        filler.unlink()
        assert _add(policy, "EX-2")[0] == 0
        assert [r["id"] for r in history.verify(policy)] == [None, "EX-1", "EX-2"]


def test_a_short_history_append_is_cut_back(tmp_path: Path) -> None:
    """The history's last page has room for part of a line only: the write comes back
    short, and the line's start is removed again."""
    with tiny_tmpfs(tmp_path / "fs", "64k") as fs:
        log = fs / "h.jsonl"
        log.write_bytes(b"{}\n" * 1000)  # 3,000 bytes: 1,096 left in its page
        fill(fs)
        with pytest.raises(OSError):
            history._append(log, b"{" + b"a" * 3000 + b"}\n")
        assert log.read_bytes() == b"{}\n" * 1000
        assert os.path.getsize(log) == 3000


def test_a_history_ahead_of_its_file_is_named_as_such(tmp_path: Path) -> None:
    """If the rename after a durable history line failed, verify says which change's file
    is missing rather than calling it an edit outside the tool."""
    policy = tmp_path / "ntlm-policy.toml"
    assert _cli(policy, "init", "--estate", "--by", "admin")[0] == 0
    old = policy.read_bytes()
    assert _add(policy, "EX-1")[0] == 0
    policy.write_bytes(old)  # the state a failed rename leaves
    with pytest.raises(history.HistoryError, match=r"before change 2 \(add EX-1"):
        history.verify(policy)
