"""The reply cache, MIT krb5kdc's "lookaside" cache (src/kdc/replay.c).

A client that retransmits over UDP sends the same bytes again; answering from the cache
gives it the same reply byte for byte, costs no crypto, and keeps a retransmitted wrong
password from counting twice towards lock-out. Bounded in entries and in age.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta


class ReplyCache:
    def __init__(self, *, max_entries: int, ttl: timedelta) -> None:
        self._max = max_entries
        self._ttl = ttl
        # request bytes -> (expiry, reply bytes); insertion order == age order
        self._entries: OrderedDict[bytes, tuple[datetime, bytes]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, request: bytes, now: datetime) -> bytes | None:
        hit = self._entries.get(request)
        if hit is None:
            return None
        expiry, reply = hit
        if now >= expiry:
            del self._entries[request]
            return None
        return reply

    def put(self, request: bytes, reply: bytes, now: datetime) -> None:
        if self._max == 0:
            return
        entries = self._entries
        entries[request] = (now + self._ttl, reply)
        entries.move_to_end(request)
        # drop expired entries from the old end, then the oldest beyond the bound
        while entries:
            oldest_expiry = next(iter(entries.values()))[0]
            if oldest_expiry > now and len(entries) <= self._max:
                break
            entries.popitem(last=False)
