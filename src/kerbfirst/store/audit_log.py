"""Audit events as JSON lines, appended safely by several worker processes.

Each event is one line written with a single write(2) on a descriptor opened with
O_APPEND: POSIX makes the seek-to-end and the write one atomic step, so lines from
concurrent processes never interleave (for regular files on local filesystems; NFS does
not honour O_APPEND atomically, so keep audit logs local). The file is created 0600.
Fields that could hold key material are refused, not silently dropped: the event
producer has a bug that must be fixed.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from kerbfirst.store.private_files import PRIVATE_MODE

# Key names that would only ever carry secrets; an event holding one is a producer bug.
FORBIDDEN_FIELDS = frozenset(
    {"key", "keyvalue", "session_key", "password", "secret", "master_key", "nt_hash"}
)
MAX_LINE = 1024 * 1024


class ToJson(Protocol):
    def to_json(self) -> dict[str, Any]: ...


class ToJsonLine(ToJson, Protocol):
    """An event class that also renders its JSON text directly (the KDC's, one per
    request); its first event is checked against the generic path, see write()."""

    def to_json_line(self) -> str: ...


class AuditLogError(ValueError):
    """An event that cannot be written (would leak key material, or not serialisable)."""


# Values that need no look inside. The KDC writes one event per request, so the common
# record (flat: names, numbers, a list of enctypes) must be checked cheaply.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _check_record(record: dict[str, Any], known_keys: set[tuple[str, ...]]) -> None:
    """_check for a top-level record, remembering key sets already found harmless (an
    event class has one fixed set), so only the values are looked at on the hot path."""
    keys = tuple(record)
    if keys not in known_keys:
        _check(record, "event")  # full check, names included; raises on a bad name
        if len(known_keys) < 64:
            known_keys.add(keys)
        return
    for k, v in record.items():
        if type(v) in _PLAIN:
            continue
        if type(v) is list and all(type(x) in _PLAIN for x in v):
            continue
        _check(v, f"event.{k}", 1)


def _check(value: Any, path: str, depth: int = 0) -> None:
    if depth > 32:
        raise AuditLogError(f"audit event nested deeper than 32 levels at {path}")
    if isinstance(value, Mapping):
        for k, v in value.items():
            if str(k).lower() in FORBIDDEN_FIELDS:
                raise AuditLogError(
                    f"audit event field {path}.{k} looks like key material; audit events "
                    "must never carry keys or passwords"
                )
            _check(v, f"{path}.{k}", depth + 1)
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            _check(v, f"{path}[{i}]", depth + 1)
    elif isinstance(value, bytes | bytearray | memoryview):
        raise AuditLogError(f"audit event field {path} is raw bytes; encode it (hex) on purpose")


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


# One encoder for every line (json.dumps with options builds a new one per call).
_ENCODER = json.JSONEncoder(default=_default, separators=(",", ":"), ensure_ascii=False)


class JsonLinesAuditLog:
    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._fd = os.open(
            self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_MODE
        )
        self._lock = threading.Lock()
        self._known_keys: set[tuple[str, ...]] = set()
        self._line_types: set[type] = set()  # classes whose to_json_line() was checked

    def write(self, event: ToJson | ToJsonLine | Mapping[str, Any]) -> None:
        to_line = getattr(event, "to_json_line", None)
        if to_line is not None and type(event) in self._line_types:
            text: str = to_line()
        else:
            text = self._encode(event)
            if to_line is not None:
                # First event of a class with its own renderer: it must agree with the
                # checked, generic encoding, or the class has a bug (refused, loudly).
                if to_line() != text:
                    raise AuditLogError(
                        f"{type(event).__name__}.to_json_line() disagrees with to_json(); "
                        "fix the event class"
                    )
                if len(self._line_types) < 64:
                    self._line_types.add(type(event))
        line = (text + "\n").encode("utf-8")
        if len(line) > MAX_LINE:
            raise AuditLogError(f"audit event of {len(line)} bytes exceeds {MAX_LINE}")
        with self._lock:
            # One write() per line: O_APPEND makes it atomic with respect to other appenders.
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(f"short write to audit log {self.path!r} ({written}/{len(line)})")

    def _encode(self, event: ToJson | Mapping[str, Any]) -> str:
        record = dict(event) if isinstance(event, Mapping) else event.to_json()
        _check_record(record, self._known_keys)
        try:
            return _ENCODER.encode(record)
        except (TypeError, ValueError) as e:
            raise AuditLogError(f"audit event cannot be written as JSON: {e}") from None

    def close(self) -> None:
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    def __enter__(self) -> JsonLinesAuditLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
