"""The reply cache, MIT krb5kdc's "lookaside" cache (src/kdc/replay.c).

A client that retransmits over UDP sends the same bytes again; answering from the cache
gives it the same reply byte for byte, costs no crypto, and keeps a retransmitted wrong
password from counting twice towards lock-out. Bounded in entries, in bytes (MIT:
LOOKASIDE_MAX_SIZE, 10 MiB) and in age (MIT: 2 minutes).

A request above RAW_KEY_MAX bytes is kept as its SHA-256 digest, not its bytes: an
unauthenticated peer chooses the size of its requests (up to the transport's limit), and
a digest makes such a key 64 characters. A collision would need a SHA-256 second
preimage. Usual requests (a few hundred bytes) are their own key, which costs less than
hashing them; the key's size is counted in the bound. The digest is kept as text (str)
and a raw request as bytes, so a request can never be sent to equal another's digest.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from kerbfirst.kdc.audit import KdcAuditEvent
from kerbfirst.kdc.cache_costs import event_size
from kerbfirst.krb.bounded_cache import BoundedCache

RAW_KEY_MAX = 1024  # bytes


class ReplyCache:
    def __init__(self, *, max_entries: int, ttl: timedelta, max_bytes: int) -> None:
        # request (or its digest) -> (reply bytes, audit event of the first answer)
        self._cache: BoundedCache[bytes | str, tuple[bytes, KdcAuditEvent]] = BoundedCache(
            max_entries=max_entries, max_bytes=max_bytes, ttl=ttl.total_seconds()
        )

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def size_bytes(self) -> int:
        return self._cache.size_bytes

    @staticmethod
    def key(request: bytes) -> bytes | str:
        """What the cache keeps of a request (computed once, used by get and put)."""
        if len(request) <= RAW_KEY_MAX:
            return request
        return hashlib.sha256(request).hexdigest()

    def get(self, key: bytes | str, now: float) -> tuple[bytes, KdcAuditEvent] | None:
        """The reply first sent for the request of this key, and the event that recorded it.
        `now`: seconds (datetime.timestamp(), taken once per request by the caller)."""
        return self._cache.get(key, now)

    def put(self, key: bytes | str, reply: bytes, event: KdcAuditEvent, now: float) -> None:
        size = len(key) + len(reply) + event_size(event)
        self._cache.put(key, (reply, event), size, now)
