"""The reply cache, MIT krb5kdc's "lookaside" cache (src/kdc/replay.c).

A client that retransmits over UDP sends the same bytes again; answering from the cache
gives it the same reply byte for byte, costs no crypto, and keeps a retransmitted wrong
password from counting twice towards lock-out. Bounded in entries and in age.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime, timedelta

from kerbfirst.kdc.audit import KdcAuditEvent


class ReplyCache:
    def __init__(self, *, max_entries: int, ttl: timedelta) -> None:
        self._max = max_entries
        self._ttl = ttl
        # request bytes -> (expiry, reply bytes, audit event of the first answer);
        # insertion order == age order
        self._entries: OrderedDict[bytes, tuple[datetime, bytes, KdcAuditEvent]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, request: bytes, now: datetime) -> tuple[bytes, KdcAuditEvent] | None:
        """The reply first sent for these exact bytes and the event that recorded it."""
        hit = self._entries.get(request)
        if hit is None:
            return None
        expiry, reply, event = hit
        if now >= expiry:
            del self._entries[request]
            return None
        return reply, event

    def put(self, request: bytes, reply: bytes, event: KdcAuditEvent, now: datetime) -> None:
        if self._max == 0:
            return
        entries = self._entries
        entries[request] = (now + self._ttl, reply, event)
        entries.move_to_end(request)
        # drop expired entries from the old end, then the oldest beyond the bound
        while entries:
            oldest_expiry = next(iter(entries.values()))[0]
            if oldest_expiry > now and len(entries) <= self._max:
                break
            entries.popitem(last=False)
