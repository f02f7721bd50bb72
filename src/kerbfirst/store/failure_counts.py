"""Pre-authentication failure counts (lock-out): written durably before the KDC answers,
or the KDC gives no verdict.

MIT semantics (kdb lockout.c, kadmin(1) policy fields): each wrong password increments a
principal's count and stamps `last_failed`; when more than the failure-count interval
(failcnt_interval, kerbfirst.toml `lockout_window`) has passed since the last failure, the
count restarts before the increment; 0 or None means it never restarts.

Fail closed. A failure whose write fails (disk full, another process holding the write
lock past the busy timeout) raises PreauthAccountingUnavailable, so the KDC answers that
attempt KDC_ERR_SVC_UNAVAILABLE instead of "wrong password"; the failure is kept here and
written with the next write that succeeds, so it still counts. From then on the store is
"down": `failures_recordable()` is False, and the KDC judges no attempt, right or wrong,
until a retry writes the kept failures. Retries run at most once per `RETRY_INTERVAL` and
wait at most `RETRY_TIMEOUT` for the lock, so a KDC whose store is locked keeps answering
everything else at full speed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import timedelta

RETRY_INTERVAL = 1.0  # seconds between write attempts while writes fail
RETRY_TIMEOUT = 0.05  # seconds such an attempt waits for another process's write lock
MAX_KEPT = 10_000  # failures kept while down; beyond it the oldest are dropped


def window_seconds(window: timedelta | None) -> float | None:
    """MIT failcnt_interval: None or 0 means the count never restarts."""
    if window is None or window <= timedelta(0):
        return None
    return window.total_seconds()


def next_fail_count(count: int, last_failed: int | None, stamp: int, window: float | None) -> int:
    """MIT lockout.c: a failure more than `window` seconds after the last one starts a new
    count (at 1); otherwise the count goes up by one."""
    if window is not None and last_failed is not None and stamp - last_failed > window:
        count = 0
    return count + 1


def write_failures(db: sqlite3.Connection, failures: list[tuple[str, int, float | None]]) -> None:
    """Apply (name, stamp, window) failures in order, inside the caller's write
    transaction. Unknown names are skipped: there is nothing to lock."""
    for name, stamp, window in failures:
        row = db.execute(
            "SELECT fail_count, last_failed FROM principals WHERE name = ?", (name,)
        ).fetchone()
        if row is None:
            continue
        count = next_fail_count(int(row[0]), row[1], stamp, window)
        db.execute(
            "UPDATE principals SET fail_count = ?, last_failed = ? WHERE name = ?",
            (count, stamp, name),
        )


class FailureLedger:
    """The failures not yet written and whether writes are failing (one per store)."""

    def __init__(self, monotonic: Callable[[], float]) -> None:
        self._monotonic = monotonic
        self.kept: list[tuple[str, int, float | None]] = []
        self.down_since: float | None = None
        self.last_error = ""
        self._last_attempt = float("-inf")

    def keep(self, name: str, stamp: int, window: float | None) -> None:
        if len(self.kept) >= MAX_KEPT:
            del self.kept[0]
        self.kept.append((name, stamp, window))

    def written(self) -> None:
        self.kept.clear()
        self.down_since = None
        self.last_error = ""

    def failed(self, exc: BaseException) -> None:
        now = self._monotonic()
        if self.down_since is None:
            self.down_since = now
        self._last_attempt = now
        self.last_error = f"{type(exc).__name__}: {exc}"

    def retry_due(self) -> bool:
        """While down: whether a write may be tried again now (at most once per interval)."""
        now = self._monotonic()
        if now - self._last_attempt < RETRY_INTERVAL:
            return False
        self._last_attempt = now
        return True
