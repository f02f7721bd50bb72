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
checks all of it. Lines are only ever appended (O_APPEND, one write, fsync); the policy file
is replaced atomically (write a temporary file, fsync, rename) after its history line is
durable, under an exclusive lock, so two administrators cannot interleave changes.
"""

from __future__ import annotations

import contextlib
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
        if os.write(fd, line) != len(line):
            raise OSError(f"short write to {path}")
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    fsync_directory(path.parent)


def commit(policy_path: Path, new: Policy, *, who: str, action: str, exception_id: str | None,
           before: dict[str, Any] | None, after: dict[str, Any] | None, why: str,
           now: datetime) -> dict[str, Any]:
    """Write `new` as the policy file and record the change; call inside `locked`.
    The history is verified first: a change is never chained onto a broken history."""
    records = verify(policy_path) if policy_path.exists() else read_history(policy_path)
    text = to_toml(new).encode("utf-8")
    record: dict[str, Any] = {
        "seq": len(records) + 1, "time": now.isoformat(), "who": who, "action": action,
        "id": exception_id, "before": before, "after": after, "why": why,
        "policy_sha256": _digest(text), "prev": records[-1]["hash"] if records else GENESIS,
    }
    record["hash"] = _digest(_canonical(record))
    _append(history_path(policy_path), _canonical(record) + b"\n")
    _replace(policy_path, text)
    return record


def load(policy_path: Path) -> Policy:
    return load_policy_file(policy_path)
