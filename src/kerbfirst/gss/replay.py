"""In-memory replay cache for AP-REQ authenticators (RFC 4120 3.2.3, RFC 4121 4.1).

Pure: time is the `now` passed to `check_and_store`. An entry lives until its authenticator
would fail the clock-skew check anyway (ctime + skew), so a replay is caught either here or
by the skew check. The cache is bounded; when it is full of live entries it refuses new
authenticators (fails closed) instead of evicting live ones, which would let a replay through.
"""

from __future__ import annotations

import heapq
from datetime import datetime, timedelta

ReplayKey = tuple[str, datetime, int, bytes]


class ReplayCacheFull(Exception):
    """More live authenticators than the cache holds; raise `max_entries` or lower skew."""


class ReplayCache:
    """Keyed by (client principal, ctime, cusec, authenticator checksum), as MIT's rcache
    keys on the client, the time and a hash of the authenticator."""

    def __init__(self, *, max_entries: int = 100_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._expiry: dict[ReplayKey, datetime] = {}
        self._heap: list[tuple[datetime, int, ReplayKey]] = []
        self._counter = 0

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now: datetime) -> None:
        while self._heap and self._heap[0][0] < now:
            expires, _, key = heapq.heappop(self._heap)
            if self._expiry.get(key) == expires:
                del self._expiry[key]

    def check_and_store(self, key: ReplayKey, *, now: datetime, lifetime: timedelta) -> bool:
        """True if `key` is new (it is then remembered until its ctime + `lifetime`);
        False if it was seen and has not expired: a replay (KRB_AP_ERR_REPEAT)."""
        self._purge(now)
        if key in self._expiry:
            return False
        if len(self._expiry) >= self.max_entries:
            raise ReplayCacheFull(
                f"replay cache holds {self.max_entries} live authenticators; refusing new ones"
            )
        expires = key[1] + lifetime
        self._expiry[key] = expires
        self._counter += 1
        heapq.heappush(self._heap, (expires, self._counter, key))
        return True
