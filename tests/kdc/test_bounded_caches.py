"""The KDC's caches that unauthenticated peers fill are bounded by bytes and by age, not
only by entries (a 1 MiB request or a 1 MiB name must not be kept 4,096 or 100,000 times)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from memory_realm import T0, make_realm

from kerbfirst.kdc.audit import KdcAuditEvent, Outcome, RequestKind
from kerbfirst.kdc.lookaside import ReplyCache
from kerbfirst.krb.bounded_cache import ENTRY_OVERHEAD, BoundedCache
from kerbfirst.store import principal_lookup
from kerbfirst.store.principals import SqlitePrincipalStore


def test_bounded_cache_respects_bytes_entries_and_age() -> None:
    cache: BoundedCache[int, str] = BoundedCache(
        max_entries=100, max_bytes=10_000, ttl=5.0, max_entry_bytes=2000
    )
    for i in range(100):
        cache.put(i, "v", 1000, now=0.0)
    assert cache.size_bytes <= 10_000
    assert len(cache) == 10_000 // (1000 + ENTRY_OVERHEAD)
    assert cache.get(99, 1.0) == "v" and cache.get(0, 1.0) is None  # oldest went first
    assert cache.get(99, 5.0) is None  # expired
    # an entry bigger than its bound is not kept at all
    assert not cache.put(1000, "huge", 2000, now=6.0)
    assert cache.get(1000, 6.0) is None
    # expired entries are dropped when anything is stored, not only when looked up
    cache.put(2000, "new", 10, now=100.0)
    assert len(cache) == 1 and cache.size_bytes == 10 + ENTRY_OVERHEAD


def _event(reason: str) -> KdcAuditEvent:
    return KdcAuditEvent(T0, RequestKind.AS_REQ, Outcome.CLIENT_UNKNOWN, 6, reason, "p", "tcp")


def test_reply_cache_keeps_digests_not_requests() -> None:
    cache = ReplyCache(max_entries=4096, ttl=timedelta(minutes=2), max_bytes=1 << 20)
    for _ in range(200):
        request = os.urandom(16) + bytes(1 << 20)  # unique 1 MiB requests
        cache.put(cache.key(request), b"r" * 100, _event("x"), T0.timestamp())
    # held: 200 small replies, never the 200 MiB of requests
    assert len(cache) == 200
    assert cache.size_bytes < 200 * 1000
    request = b"\x6a" + bytes(100)
    key = cache.key(request)
    assert key == request  # a usual request is its own key; a large one a digest:
    assert len(cache.key(bytes(1 << 20))) == 64
    assert cache.key(bytes(1 << 20)) != cache.key(cache.key(bytes(1 << 20)).encode())
    t0 = T0.timestamp()
    cache.put(key, b"reply", _event("y"), t0)
    assert cache.get(key, t0 + 119) == (b"reply", _event("y"))
    assert cache.get(key, t0 + 120) is None


def test_reply_cache_byte_bound_holds_under_large_replies() -> None:
    cache = ReplyCache(max_entries=4096, ttl=timedelta(minutes=2), max_bytes=1 << 20)
    for i in range(1000):
        cache.put(cache.key(i.to_bytes(4, "big")), bytes(30_000), _event("x" * 5000), 0.0)
    assert cache.size_bytes <= 1 << 20
    assert len(cache) < 1000


def test_kdc_reply_cache_uses_the_policy_byte_bound() -> None:
    realm = make_realm(reply_cache_bytes=64 * 1024)
    from kerbfirst.client import AsExchange

    for i in range(300):
        req = AsExchange(f"nobody{i:03d}", "TEST.REALM", password="x", random=realm.random)
        realm.handle(req.first_request(T0))
    cache = realm.kdc._cache
    assert 0 < cache.size_bytes <= 64 * 1024
    assert len(cache) < 300


def test_store_lookup_cache_is_bounded_by_bytes_and_expires(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [0.0]
    monkeypatch.setattr(principal_lookup, "MAX_CACHED_BYTES", 256 * 1024)
    store = SqlitePrincipalStore(
        tmp_path / "p.db", bytes(32), realm="TEST.REALM", monotonic=lambda: clock[0]
    )
    try:
        for i in range(500):  # unknown names of 1000 characters each: 500 KB of misses
            assert store.get_principal(f"{i:04d}{'x' * 996}@TEST.REALM") is None
        cache = store._cache
        assert cache.size_bytes <= 256 * 1024
        assert 0 < len(cache) < 500
        clock[0] = principal_lookup.CACHE_TTL + 1
        store.get_principal("other@TEST.REALM")  # storing drops what has expired
        assert len(cache) == 1
    finally:
        store.close()


def test_codec_name_memos_keep_only_short_names() -> None:
    """The encoder and decoder remember recent PrincipalNames; a peer's long names must not
    be kept 4,096 times (a KRB-ERROR echoes the client name it was sent)."""
    from flood_requests import as_req

    from kerbfirst.wire import krb5_decode, krb5_encode
    from kerbfirst.wire.krb5 import KdcReq, PrincipalName

    krb5_encode._NAME_CACHE.clear()
    krb5_decode._NAME_CACHE.clear()
    for i in range(50):
        name = PrincipalName(1, (f"{i:04d}" + "n" * 1000,))
        krb5_encode.principal_name(name)
        KdcReq.decode(as_req((f"{i:04d}" + "n" * 1000,)))
    held = sum(len(v) for v in krb5_encode._NAME_CACHE.values()) + sum(
        len(k) for k in krb5_decode._NAME_CACHE
    )
    assert held < 50 * 1000
