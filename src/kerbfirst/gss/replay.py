"""In-memory replay cache for AP-REQ authenticators (RFC 4120 3.2.3, RFC 4121 4.1).

Pure: time is the `now` passed to `check_and_store`. An entry lives until its authenticator
would fail the clock-skew check anyway (ctime + skew), so a replay is caught either here or
by the skew check. The cache is bounded; when it is full of live entries it refuses new
authenticators (fails closed) instead of evicting live ones, which would let a replay through.

Bounded twice, so that one client cannot lock everyone else out: in all (`max_entries`),
and per client principal (`max_per_client`). A client holding a session key can make fresh
authenticators as fast as the server accepts them; with only the global bound, that client
would fill the cache and every other user's new context would be refused until the entries
expire. With the per-client bound, only that client is refused.

An entry is a 16-byte digest of the key (as MIT's rcache stores a hash tag of the
authenticator, not the authenticator), grouped by the second it expires, so a live entry
costs about 150 bytes and expiry drops whole seconds at once.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import struct
import sys
from datetime import UTC, datetime, timedelta

ReplayKey = tuple[str, datetime, int, bytes]

DEFAULT_MAX_ENTRIES = 1_000_000
DEFAULT_CLIENT_SHARE = 8  # one client may hold 1/8 of the cache


class ReplayCacheFull(Exception):
    """More live authenticators than the cache holds; raise `max_entries` or lower skew."""


def replay_digest(key: ReplayKey, size: int = 16) -> bytes:
    """The tag an entry is kept as (SHA-256, first `size` octets): each field
    length-prefixed, so no two keys share an encoding; ctime in UTC, so one instant has one
    spelling. The file cache (net/iakerb_rcache.py) stores the same tag, 24 octets long."""
    client, ctime, cusec, checksum = key
    h = hashlib.sha256()
    for part in (client.encode("utf-8", "surrogatepass"),
                 ctime.astimezone(UTC).isoformat().encode(), str(cusec).encode(), checksum):
        h.update(struct.pack(">I", len(part)) + part)
    return h.digest()[:size]


class ReplayCache:
    """Keyed by (client principal, ctime, cusec, authenticator checksum), as MIT's rcache
    keys on the client, the time and a hash of the authenticator."""

    def __init__(self, *, max_entries: int = DEFAULT_MAX_ENTRIES,
                 max_per_client: int | None = None) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        per_client = (max(1, max_entries // DEFAULT_CLIENT_SHARE) if max_per_client is None
                      else max_per_client)
        if not 1 <= per_client <= max_entries:
            raise ValueError("max_per_client must be between 1 and max_entries")
        self.max_entries = max_entries
        self.max_per_client = per_client
        self._expiry: dict[bytes, int] = {}  # digest -> the second it expires
        self._buckets: dict[int, list[tuple[bytes, str]]] = {}  # second -> (digest, client)
        self._seconds: list[int] = []  # heap of the buckets' seconds
        self._per_client: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._expiry)

    def _purge(self, now_s: int) -> None:
        while self._seconds and self._seconds[0] < now_s:
            second = heapq.heappop(self._seconds)
            for digest, client in self._buckets.pop(second, ()):
                if self._expiry.get(digest) == second:
                    del self._expiry[digest]
                    left = self._per_client[client] - 1
                    if left:
                        self._per_client[client] = left
                    else:
                        del self._per_client[client]

    def check_and_store(self, key: ReplayKey, *, now: datetime, lifetime: timedelta) -> bool:
        """True if `key` is new (it is then remembered until its ctime + `lifetime`);
        False if it was seen and has not expired: a replay (KRB_AP_ERR_REPEAT)."""
        self._purge(math.floor(now.timestamp()))
        digest = replay_digest(key)
        if digest in self._expiry:
            return False
        client = sys.intern(key[0])
        held = self._per_client.get(client, 0)
        if held >= self.max_per_client:
            raise ReplayCacheFull(
                f"replay cache holds {held} live authenticators of {key[0][:256]!r}, its "
                f"limit per client; refusing that client's new ones until they expire"
            )
        if len(self._expiry) >= self.max_entries:
            raise ReplayCacheFull(
                f"replay cache holds {self.max_entries} live authenticators; refusing new ones"
            )
        second = math.ceil((key[1] + lifetime).timestamp())
        self._expiry[digest] = second
        self._per_client[client] = held + 1
        bucket = self._buckets.get(second)
        if bucket is None:
            self._buckets[second] = bucket = []
            heapq.heappush(self._seconds, second)
        bucket.append((digest, client))
        return True
