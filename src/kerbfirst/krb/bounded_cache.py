"""A cache bounded by entries, by bytes and by age: the one shape of every KDC cache that
unauthenticated peers can fill (the reply cache, the principal store's lookup cache).

A bound by entries alone is no bound on memory when a peer chooses the size of what is
kept (a 1 MiB request, a principal name of any length): MIT krb5kdc's lookaside cache is
bounded by the bytes it holds as well (kdc/replay.c, LOOKASIDE_MAX_SIZE), and so is this.
Sizes are what the caller says an entry costs; an entry larger than `max_entry_bytes` is
not kept at all. The clock is passed in (`now`, seconds on any monotonic scale), so the
cache itself reads none. Not locked: each user drives it from one thread or holds its
own lock around it.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: What an entry costs beyond the sizes its owner counts: the OrderedDict node, the tuple,
#: the key object. An estimate, so that a flood of tiny entries is bounded too.
ENTRY_OVERHEAD = 200


class BoundedCache(Generic[K, V]):
    """key -> value, least recently stored first out; `get` gives None when absent or expired
    (so a value of None cannot be told from a miss: wrap it, as the callers do)."""

    __slots__ = ("_bytes", "_entries", "_max_bytes", "_max_entries", "_max_entry", "_ttl")

    def __init__(
        self,
        *,
        max_entries: int,
        max_bytes: int,
        ttl: float | None,
        max_entry_bytes: int | None = None,
    ) -> None:
        if max_entries < 0 or max_bytes < 0:
            raise ValueError("BoundedCache: max_entries and max_bytes must be >= 0")
        if ttl is not None and ttl <= 0:
            raise ValueError("BoundedCache: ttl must be positive (or None: no expiry)")
        self._max_entries = max_entries
        self._max_bytes = max_bytes
        self._ttl = ttl
        # One entry may take at most a sixteenth of the budget by default, so that one
        # huge value cannot evict everything else.
        self._max_entry = max_bytes // 16 if max_entry_bytes is None else max_entry_bytes
        # key -> (expiry or None, size, value); insertion order == storage order
        self._entries: OrderedDict[K, tuple[float | None, int, V]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def size_bytes(self) -> int:
        """The sizes of the entries held, as counted (with ENTRY_OVERHEAD each)."""
        return self._bytes

    def get(self, key: K, now: float) -> V | None:
        hit = self._entries.get(key)
        if hit is None:
            return None
        expiry, _, value = hit
        if expiry is not None and now >= expiry:
            self.pop(key)
            return None
        return value

    def put(self, key: K, value: V, size: int, now: float) -> bool:
        """Keep `value` (replacing any entry of `key`); False when it is too big to keep."""
        entries = self._entries
        old = entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]
        cost = size + ENTRY_OVERHEAD
        if self._max_entries == 0 or cost > self._max_entry or cost > self._max_bytes:
            return False
        expiry = None if self._ttl is None else now + self._ttl
        entries[key] = (expiry, cost, value)
        self._bytes += cost
        if len(entries) <= self._max_entries and self._bytes <= self._max_bytes:
            oldest = next(iter(entries.values()))[0]
            if oldest is None or now < oldest:
                return True  # within bounds, nothing expired: the common case, cheaply
        self._evict(now)
        return True

    def pop(self, key: K) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= old[1]

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    def _evict(self, now: float) -> None:
        """Drop expired entries from the old end, then the oldest beyond either bound."""
        entries = self._entries
        while entries:
            expiry, cost, _ = next(iter(entries.values()))
            expired = expiry is not None and now >= expiry
            if (
                not expired
                and len(entries) <= self._max_entries
                and self._bytes <= self._max_bytes
            ):
                break
            entries.popitem(last=False)
            self._bytes -= cost
