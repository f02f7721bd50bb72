"""The reply cache, MIT krb5kdc's "lookaside" cache (src/kdc/replay.c).

A client that retransmits over UDP sends the same bytes again; answering from the cache
gives it the same reply byte for byte, costs no crypto, and keeps a retransmitted wrong
password from counting twice towards lock-out. Bounded in entries, in bytes (MIT:
LOOKASIDE_MAX_SIZE, 10 MiB) and in age (MIT: 2 minutes).

The request is kept as its SHA-256 digest, not its bytes: an unauthenticated peer chooses
the size of its requests (up to the transport's limit), and a digest makes every key 32
bytes. A collision would need a SHA-256 second preimage.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from kerbfirst.kdc.audit import KdcAuditEvent
from kerbfirst.kdc.bounded_cache import BoundedCache
from kerbfirst.kdc.cache_costs import event_size

_DIGEST_BYTES = 32


class ReplyCache:
    def __init__(self, *, max_entries: int, ttl: timedelta, max_bytes: int) -> None:
        # digest of the request -> (reply bytes, audit event of the first answer)
        self._cache: BoundedCache[bytes, tuple[bytes, KdcAuditEvent]] = BoundedCache(
            max_entries=max_entries, max_bytes=max_bytes, ttl=ttl.total_seconds()
        )

    def __len__(self) -> int:
        return len(self._cache)

    @property
    def size_bytes(self) -> int:
        return self._cache.size_bytes

    @staticmethod
    def key(request: bytes) -> bytes:
        """What the cache keeps of a request (computed once, used by get and put)."""
        return hashlib.sha256(request).digest()

    def get(self, key: bytes, now: datetime) -> tuple[bytes, KdcAuditEvent] | None:
        """The reply first sent for the request of this key, and the event that recorded it."""
        return self._cache.get(key, now.timestamp())

    def put(self, key: bytes, reply: bytes, event: KdcAuditEvent, now: datetime) -> None:
        size = _DIGEST_BYTES + len(reply) + event_size(event)
        self._cache.put(key, (reply, event), size, now.timestamp())
