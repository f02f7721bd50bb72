"""Audit events as JSON lines, appended safely by several worker processes.

Each event is one line written with a single write(2) on a descriptor opened with
O_APPEND: POSIX makes the seek-to-end and the write one atomic step, so lines from
concurrent processes never interleave (for regular files on local filesystems; NFS does
not honour O_APPEND atomically, so keep audit logs local). The file is created 0600.
Fields that could hold key material are refused, not silently dropped: the event
producer has a bug that must be fixed.

Bounded and never torn:
- a line is at most MAX_LINE bytes: a larger event is written with its long strings and
  lists cut short and `"truncated": true`, so every event leaves a record;
- the file is rotated by size (`max_size`, `keep` older files: path.1 is the newest),
  by whichever writer process first finds it full, under an flock on path.lock; the
  others notice that their file was renamed and reopen the path;
- a write that the disk could only partly take (ENOSPC, EDQUOT) leaves a partial line:
  the next line written by this writer then starts with a newline, so the partial line
  stays one unparseable line and never glues onto a good one;
- the first lost event prints one warning on stderr (and one when writing works again).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Protocol

from kerbfirst.store.private_files import PRIVATE_MODE

# Key names that would only ever carry secrets; an event holding one is a producer bug.
FORBIDDEN_FIELDS = frozenset(
    {"key", "keyvalue", "session_key", "password", "secret", "master_key", "nt_hash"}
)
#: The longest line written; a larger event is truncated to fit (the KDC's events are
#: bounded well below it by the wire limits on names and lists).
MAX_LINE = 64 * 1024
MAX_FIELD_CHARS = 2048  # a string field of an oversized event is cut to this many characters
MAX_LIST_ITEMS = 64  # and a list to this many items
DEFAULT_MAX_SIZE = 64 * 1024 * 1024  # bytes per file before rotation
DEFAULT_KEEP = 8  # rotated files kept: path.1 (newest) .. path.8
MIN_MAX_SIZE = 4096
SIZE_CHECK_EVERY = 32  # writes between two looks at the file's real size (fstat)


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


def _warn_stderr(message: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        sys.stderr.write(message + "\n")
        sys.stderr.flush()


class JsonLinesAuditLog:
    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_size: int = DEFAULT_MAX_SIZE,
        keep: int = DEFAULT_KEEP,
        warn: Callable[[str], None] = _warn_stderr,
    ) -> None:
        if max_size < MIN_MAX_SIZE:
            raise ValueError(f"audit log max_size must be at least {MIN_MAX_SIZE} bytes")
        if keep < 1:
            raise ValueError("audit log keep must be at least 1 (rotated files kept)")
        self.path = os.fspath(path)
        self.max_size = max_size
        self.keep = keep
        self._warn = warn
        self._fd = self._open()
        self._lock = threading.Lock()
        self._known_keys: set[tuple[str, ...]] = set()
        self._line_types: set[type] = set()  # classes whose to_json_line() was checked
        self.lost = 0  # events that could not be written
        self._lost_reported = 0
        self._failing = False  # a write failed and none has succeeded since
        self._partial = False  # this writer's last write left a partial line
        self._size_hint = os.fstat(self._fd).st_size
        self._unchecked = 0  # writes since the last fstat

    def _open(self) -> int:
        # O_RDWR (not O_WRONLY): after a partial write the last byte is read back.
        return os.open(
            self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_MODE
        )

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
            line = self._truncated(event)
        with self._lock:
            self._append(line)

    # -- writing ------------------------------------------------------------------------

    def _append(self, line: bytes) -> None:
        if self._fd < 0:
            raise AuditLogError(f"audit log {self.path!r} is closed")
        try:
            # The file's size as this writer last saw it plus what it wrote since; other
            # writers' lines are seen at the next fstat (every SIZE_CHECK_EVERY writes),
            # so a file shared by N workers may pass max_size by a few dozen lines.
            self._unchecked += 1
            size = self._size_hint
            if (
                self._unchecked >= SIZE_CHECK_EVERY
                or size + len(line) > self.max_size
                or self._partial
            ):
                size = os.fstat(self._fd).st_size
                self._unchecked = 0
                if size and size + len(line) > self.max_size:
                    self._rotate()
                    size = os.fstat(self._fd).st_size
            data = line
            if self._partial and size and os.pread(self._fd, 1, size - 1) != b"\n":
                data = b"\n" + line  # end the partial line; ours starts on a fresh one
            written = os.write(self._fd, data)
            self._size_hint = size + written
        except OSError as exc:
            self._lose(exc.strerror or type(exc).__name__)
            raise
        if written != len(data):
            self._partial = True
            with contextlib.suppress(OSError):
                if os.write(self._fd, b"\n") == 1:
                    self._partial = False
            self._lose(f"short write, {written} of {len(data)} bytes")
            raise OSError(f"short write to audit log {self.path!r} ({written}/{len(data)})")
        self._partial = False
        if self._failing:
            self._failing = False
            self._warn(
                f"kerbfirst: the audit log {self.path} is written again; "
                f"{self.lost - self._lost_reported} events were lost"
            )
            self._lost_reported = self.lost

    def _lose(self, why: str) -> None:
        self.lost += 1
        if not self._failing:
            self._failing = True
            self._warn(
                f"kerbfirst: WARNING: cannot write the audit log {self.path} ({why}); "
                "audit events are lost until it can be written again (free disk space)"
            )

    def _rotate(self) -> None:
        """Rename path -> path.1 -> ... -> path.keep (the oldest is dropped), unless another
        writer already did; then write to the new path. Serialised across processes by an
        flock on path.lock, so two writers never rotate the same file twice."""
        lock_fd = os.open(
            self.path + ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, PRIVATE_MODE
        )
        try:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
            mine = os.fstat(self._fd)
            try:
                current = os.stat(self.path)
            except FileNotFoundError:
                current = None
            if current is not None and (current.st_dev, current.st_ino) == (
                mine.st_dev,
                mine.st_ino,
            ):
                for n in range(self.keep - 1, 0, -1):
                    with contextlib.suppress(FileNotFoundError):
                        os.replace(f"{self.path}.{n}", f"{self.path}.{n + 1}")
                os.replace(self.path, f"{self.path}.1")
            fd = self._open()
            os.close(self._fd)
            self._fd = fd
            self._partial = False
        finally:
            os.close(lock_fd)  # releases the flock

    def _truncated(self, event: ToJson | Mapping[str, Any]) -> bytes:
        """The event with long strings and lists cut short, marked `"truncated": true`."""
        record = dict(event) if isinstance(event, Mapping) else event.to_json()
        for chars, items in ((MAX_FIELD_CHARS, MAX_LIST_ITEMS), (128, 8)):
            cut = _cut(record, chars, items, 0)
            cut["truncated"] = True
            line = (self._encode(cut) + "\n").encode("utf-8")
            if len(line) <= MAX_LINE:
                return line
        raise AuditLogError(f"audit event does not fit {MAX_LINE} bytes even truncated")

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


def _cut(value: Any, chars: int, items: int, depth: int) -> Any:
    if isinstance(value, str) and len(value) > chars:
        return f"{value[:chars]}...[{len(value) - chars} more characters truncated]"
    if depth > 32:
        return None
    if isinstance(value, Mapping):
        return {k: _cut(v, chars, items, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_cut(v, chars, items, depth + 1) for v in value[:items]]
    return value
