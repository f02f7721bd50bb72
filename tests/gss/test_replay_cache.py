"""The in-memory replay cache: a replay is caught until the authenticator would fail the skew
check anyway; the cache is bounded in all and per client, so one client minting fresh
authenticators with its session key cannot lock every other user out."""

from __future__ import annotations

import os
import tracemalloc
from datetime import UTC, datetime, timedelta, timezone

import pytest

from kerbfirst.gss.replay import ReplayCache, ReplayCacheFull, ReplayKey

T0 = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
SKEW = timedelta(minutes=5)


def _key(client: str, n: int, at: datetime = T0) -> ReplayKey:
    return (client, at, n, n.to_bytes(4, "big") * 8)


def test_a_replay_is_caught_until_the_entry_expires() -> None:
    cache = ReplayCache()
    assert cache.check_and_store(_key("alice@A", 1), now=T0, lifetime=SKEW)
    assert not cache.check_and_store(_key("alice@A", 1), now=T0 + SKEW, lifetime=SKEW)
    assert cache.check_and_store(_key("alice@A", 2), now=T0, lifetime=SKEW)
    # Past ctime + skew (and the second it ends in), the entry is gone: the skew check
    # refuses that authenticator from then on.
    later = T0 + SKEW + timedelta(seconds=2)
    assert cache.check_and_store(_key("bob@A", 1, later), now=later, lifetime=SKEW)
    assert len(cache) == 1
    assert cache.check_and_store(_key("alice@A", 1), now=later, lifetime=SKEW)


def test_one_key_one_instant_however_the_time_zone_is_spelled() -> None:
    cache = ReplayCache()
    assert cache.check_and_store(_key("alice@A", 1), now=T0, lifetime=SKEW)
    elsewhere = T0.astimezone(timezone(timedelta(hours=5)))
    assert not cache.check_and_store(_key("alice@A", 1, elsewhere), now=T0, lifetime=SKEW)


def test_one_client_filling_its_share_does_not_lock_out_others() -> None:
    cache = ReplayCache(max_entries=1000, max_per_client=100)
    for n in range(100):
        assert cache.check_and_store(_key("flood@A", n), now=T0, lifetime=SKEW)
    with pytest.raises(ReplayCacheFull, match="flood@A"):
        cache.check_and_store(_key("flood@A", 100), now=T0, lifetime=SKEW)
    assert cache.check_and_store(_key("alice@A", 1), now=T0, lifetime=SKEW)
    # The flooding client's share is free again once its entries expire.
    later = T0 + SKEW + timedelta(seconds=2)
    assert cache.check_and_store(_key("flood@A", 100, later), now=later, lifetime=SKEW)


def test_full_of_live_entries_it_fails_closed() -> None:
    cache = ReplayCache(max_entries=50, max_per_client=10)
    for c in range(5):
        for n in range(10):
            assert cache.check_and_store(_key(f"u{c}@A", n), now=T0, lifetime=SKEW)
    with pytest.raises(ReplayCacheFull, match="50 live"):
        cache.check_and_store(_key("late@A", 1), now=T0, lifetime=SKEW)
    # An earlier entry is still a replay: nothing live was evicted to make room.
    assert not cache.check_and_store(_key("u0@A", 0), now=T0, lifetime=SKEW)


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError):
        ReplayCache(max_entries=0)
    with pytest.raises(ValueError):
        ReplayCache(max_entries=10, max_per_client=11)
    assert ReplayCache(max_entries=80).max_per_client == 10


def test_a_live_entry_costs_little_memory() -> None:
    """The default bound (1,000,000 live entries) must fit a server's memory: each entry is a
    16-octet digest, not the key."""
    cache = ReplayCache()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for n in range(50_000):  # each authenticator's key is a new object, as in a server
        key = (f"user{n % 50}@EXAMPLE.COM", T0 + timedelta(microseconds=n), n, os.urandom(32))
        cache.check_and_store(key, now=T0 + timedelta(milliseconds=n // 100), lifetime=SKEW)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    assert len(cache) == 50_000
    assert grown / 50_000 < 250, f"{grown / 50_000:.0f} bytes per live entry"
