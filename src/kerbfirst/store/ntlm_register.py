"""The policy file and its history, changed together: the append-only, hash-chained record
of who changed the exception register, when, what and why.

The history is `<policy>.history.jsonl` beside the policy file. Each line is one change:

    {"seq": 3, "time": "2026-12-04T02:40:00+00:00", "who": "alice", "action": "renew",
     "id": "EX-1", "before": {...entry...}, "after": {...entry...}, "why": "vendor slipped",
     "policy_sha256": "<hash of the policy file this change produced>",
     "prev": "<hash of line 2>", "hash": "<sha256 of this line without 'hash'>"}

`hash` covers the canonical JSON (sorted keys, no spaces) of the record without itself, and
`prev` is the previous record's hash (64 zeros for the first), so editing, dropping or
reordering a line breaks every later link; `policy_sha256` ties the chain to the file, so
an edit of the policy that bypassed `kerbfirst policy` shows up as a mismatch. `verify`
checks all of it. Under an exclusive lock (two administrators cannot interleave changes) a
change is made in three steps, so that a failed write (a full disk) changes nothing: the new
policy is written to a temporary file and fsynced; its history line is appended (O_APPEND,
fsync; a short write is cut back off, so no torn line is left); then the temporary file is
renamed over the policy. Only a failing rename, after the line is durable, would leave the
history one change ahead of the file, and `verify` says so.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from kerbfirst.policy import Policy
from kerbfirst.policy.register import to_toml
from kerbfirst.store.ntlm_policy_file import load_policy_file
from kerbfirst.store.private_files import fsync_directory

GENESIS = "0" * 64
MAX_HISTORY_LINE = 64 * 1024


class HistoryError(Exception):
    """The history does not verify; the message names the line and what is wrong."""


def history_path(policy_path: Path) -> Path:
    return policy_path.with_name(policy_path.name + ".history.jsonl")


def _canonical(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_history(policy_path: Path) -> list[dict[str, Any]]:
    path = history_path(policy_path)
    if not path.exists():
        return []
    out = []
    with path.open("rb") as f:
        for n, line in enumerate(f, start=1):
            if len(line) > MAX_HISTORY_LINE:
                raise HistoryError(f"{path}:{n}: line longer than {MAX_HISTORY_LINE} bytes")
            try:
                record = json.loads(line)
            except ValueError:
                raise HistoryError(f"{path}:{n}: not JSON (a torn or edited line)") from None
            if not isinstance(record, dict):
                raise HistoryError(f"{path}:{n}: not a JSON object")
            out.append(record)
    return out


def verify(policy_path: Path) -> list[dict[str, Any]]:
    """The history, checked link by link and against the current policy file."""
    records = read_history(policy_path)
    prev = GENESIS
    where = history_path(policy_path)
    for n, record in enumerate(records, start=1):
        body = {k: v for k, v in record.items() if k != "hash"}
        if record.get("seq") != n:
            raise HistoryError(f"{where}:{n}: seq {record.get('seq')!r}, expected {n}: a "
                               "line was removed or reordered")
        if record.get("prev") != prev:
            raise HistoryError(f"{where}:{n}: does not follow line {n - 1} (prev hash "
                               "differs): the history was edited")
        if record.get("hash") != _digest(_canonical(body)):
            raise HistoryError(f"{where}:{n}: its hash does not match its content: the line "
                               "was edited")
        prev = str(record["hash"])
    if records and policy_path.exists():
        now = _digest(policy_path.read_bytes())
        if records[-1].get("policy_sha256") != now and len(records) > 1 \
                and records[-2].get("policy_sha256") == now:
            raise HistoryError(
                f"{policy_path} is the file before change {len(records)} "
                f"({records[-1].get('action')} {records[-1].get('id') or ''}): the change was "
                "recorded but its file was not put in place (a failed rename); restore the "
                "file that change produced, or move the history and the policy aside")
        if records[-1].get("policy_sha256") != now:
            raise HistoryError(
                f"{policy_path} differs from the file the last recorded change produced: it "
                "was edited outside `kerbfirst policy` (record the change with the tool, or "
                "restore the file)")
    return records


@contextlib.contextmanager
def locked(policy_path: Path) -> Iterator[None]:
    lock = policy_path.with_name(policy_path.name + ".lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _append(path: Path, line: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        size = os.fstat(fd).st_size
        try:
            written = os.write(fd, line)
            if written != len(line):
                raise OSError(errno.ENOSPC, f"short write to {path} ({written} of "
                              f"{len(line)} bytes): the disk is full")
            os.fsync(fd)
        except OSError:
            os.ftruncate(fd, size)  # no torn line: the history stays as it was
            raise
    finally:
        os.close(fd)


def _stage(path: Path, data: bytes) -> Path:
    """`data` in a durable temporary file beside `path`, to be renamed over it."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def commit(policy_path: Path, new: Policy, *, who: str, action: str, exception_id: str | None,
           before: dict[str, Any] | None, after: dict[str, Any] | None, why: str,
           now: datetime) -> dict[str, Any]:
    """Write `new` as the policy file and record the change; call inside `locked`.
    The history is verified first: a change is never chained onto a broken history.
    Raises OSError when a write fails; then neither the file nor the history changed."""
    records = verify(policy_path) if policy_path.exists() else read_history(policy_path)
    text = to_toml(new).encode("utf-8")
    record: dict[str, Any] = {
        "seq": len(records) + 1, "time": now.isoformat(), "who": who, "action": action,
        "id": exception_id, "before": before, "after": after, "why": why,
        "policy_sha256": _digest(text), "prev": records[-1]["hash"] if records else GENESIS,
    }
    record["hash"] = _digest(_canonical(record))
    staged = _stage(policy_path, text)
    try:
        _append(history_path(policy_path), _canonical(record) + b"\n")
    except OSError:
        staged.unlink(missing_ok=True)
        raise
    os.replace(staged, policy_path)
    fsync_directory(policy_path.parent)
    return record


def load(policy_path: Path) -> Policy:
    return load_policy_file(policy_path)
