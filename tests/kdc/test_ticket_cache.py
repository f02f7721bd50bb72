"""The opened-ticket cache of the TGS exchange (kdc/ticket_cache.py): a hit changes nothing
but the work done; every check still runs and the key is still looked up each time."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from memory_realm import ALICE, KRBTGT, SERVICE, T0, Realm, make_realm, run_as

from kerbfirst.client import Credential, KerberosError, TgsExchange
from kerbfirst.crypto import IntegrityError
from kerbfirst.kdc import Outcome
from kerbfirst.kdc.ticket_cache import TicketCache
from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import KrbError, decode_kdc_message


def _tgt(realm: Realm, **args: object) -> Credential:
    cred = run_as(realm, etypes=(18,), **args)
    assert isinstance(cred, Credential)
    return cred


def _tgs(realm: Realm, tgt: Credential, now=T0, **args: object) -> Credential:
    exchange = TgsExchange(tgt, SERVICE, random=realm.random, **args)  # type: ignore[arg-type]
    reply = realm.handle(exchange.first_request(now), now)
    assert reply is not None
    return exchange.receive(reply, now)


def _counts(realm: Realm) -> tuple[int, int, int]:
    cache = realm.kdc.ticket_cache
    return cache.hits, cache.misses, len(cache)


def test_second_tgs_req_with_the_same_tgt_is_a_hit() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    assert _counts(realm) == (0, 0, 0)  # the AS exchange opens no ticket
    first = _tgs(realm, tgt)
    assert _counts(realm) == (0, 1, 1)
    second = _tgs(realm, tgt)
    assert _counts(realm) == (1, 1, 1)
    # the hit gave the same client, times and flags as the decryption did
    assert (second.client, second.authtime, second.endtime, second.flags) == (
        first.client, first.authtime, first.endtime, first.flags
    )
    assert second.session_key.contents != first.session_key.contents
    # a second TGT is a second entry
    _tgs(realm, _tgt(realm))
    assert _counts(realm) == (1, 2, 2)


def test_tampered_ticket_is_refused_and_not_stored() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    for attempt in (1, 2):
        # a new request each time (the reply cache would answer a retransmission)
        request = bytearray(TgsExchange(tgt, SERVICE, random=realm.random).first_request(T0))
        at = bytes(request).index(tgt.ticket.enc_part.cipher) + 20
        request[at] ^= 0x01
        reply = realm.handle(bytes(request))
        assert reply is not None
        err = decode_kdc_message(reply)
        assert isinstance(err, KrbError) and err.error_code == c.KRB_AP_ERR_BAD_INTEGRITY
        assert realm.events[-1].outcome is Outcome.BAD_INTEGRITY
        assert _counts(realm) == (0, attempt, 0)  # tried again each time, never stored
    _tgs(realm, tgt)  # the genuine ticket still works
    assert _counts(realm) == (0, 3, 1)


def test_expired_tgt_is_refused_although_its_opening_is_cached() -> None:
    realm = make_realm()
    tgt = _tgt(realm, lifetime=timedelta(hours=1))
    _tgs(realm, tgt)
    later = T0 + timedelta(hours=2)
    with pytest.raises(KerberosError) as info:
        _tgs(realm, tgt, now=later)
    assert info.value.code == c.KRB_AP_ERR_TKT_EXPIRED
    assert realm.events[-1].outcome is Outcome.TICKET_EXPIRED
    assert _counts(realm) == (1, 1, 1)  # it was a hit, and still refused


def test_checks_after_a_hit_still_run() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    _tgs(realm, tgt)
    # the req-body checksum (RFC 4120 3.3.2) of a new request under the same TGT
    request = TgsExchange(tgt, SERVICE, random=realm.random).first_request(T0)
    tampered = request.replace(b"server.test.realm", b"attack.test.realm")
    assert tampered != request
    reply = realm.handle(tampered)
    assert reply is not None
    err = decode_kdc_message(reply)
    assert isinstance(err, KrbError) and err.error_code == c.KRB_AP_ERR_MODIFIED
    # the client's entry
    realm.db.add(dataclasses.replace(realm.db.entries[ALICE], disabled=True))
    with pytest.raises(KerberosError) as info:
        _tgs(realm, tgt)
    assert info.value.code == c.KDC_ERR_CLIENT_REVOKED
    assert _counts(realm) == (2, 1, 1)


def test_purged_krbtgt_key_refuses_a_cached_ticket() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    _tgs(realm, tgt)
    krbtgt = realm.db.entries[KRBTGT]
    rekeyed = tuple(
        dataclasses.replace(k, kvno=2, contents=bytes(len(k.contents))) for k in krbtgt.keys
    )
    realm.db.add(dataclasses.replace(krbtgt, keys=rekeyed))  # kvno 1 purged
    with pytest.raises(KerberosError) as info:
        _tgs(realm, tgt)
    assert info.value.code == c.KRB_AP_ERR_BADKEYVER
    assert _counts(realm) == (0, 1, 1)  # refused before the cache was consulted


def test_key_replaced_under_the_same_kvno_refuses_a_cached_ticket() -> None:
    # The key contents are part of the entry's key: a new key under the old kvno does not
    # find the opening made with the old key, and the ticket does not decrypt with it.
    realm = make_realm()
    tgt = _tgt(realm)
    _tgs(realm, tgt)
    krbtgt = realm.db.entries[KRBTGT]
    replaced = tuple(dataclasses.replace(k, contents=bytes(len(k.contents))) for k in krbtgt.keys)
    realm.db.add(dataclasses.replace(krbtgt, keys=replaced))
    with pytest.raises(KerberosError) as info:
        _tgs(realm, tgt)
    assert info.value.code == c.KRB_AP_ERR_BAD_INTEGRITY
    assert _counts(realm) == (0, 2, 1)


def _three_tickets(realm: Realm) -> list[bytes]:
    return [_tgt(realm).ticket.enc_part.cipher for _ in range(3)]


def test_cache_is_bounded_and_evicts_the_oldest() -> None:
    realm = make_realm()
    key = realm.key_of(KRBTGT, 18)
    first, second, third = _three_tickets(realm)
    cache = TicketCache(max_entries=2)
    cache.unseal(key, first)
    cache.unseal(key, second)
    cache.unseal(key, third)
    assert len(cache) == 2 and (cache.hits, cache.misses) == (0, 3)
    cache.unseal(key, third)
    cache.unseal(key, second)
    assert (cache.hits, cache.misses) == (2, 3)
    cache.unseal(key, first)  # evicted: opened again, evicting the then oldest (second)
    assert len(cache) == 2 and (cache.hits, cache.misses) == (2, 4)
    cache.unseal(key, second)
    assert (cache.hits, cache.misses) == (2, 5)


def test_zero_size_cache_stores_nothing() -> None:
    realm = make_realm()
    key = realm.key_of(KRBTGT, 18)
    cipher = _tgt(realm).ticket.enc_part.cipher
    cache = TicketCache(max_entries=0)
    first, again = cache.unseal(key, cipher), cache.unseal(key, cipher)
    assert first.part == again.part and len(cache) == 0
    assert (cache.hits, cache.misses) == (0, 2)


def test_other_kvno_or_key_is_another_entry() -> None:
    realm = make_realm()
    key = realm.key_of(KRBTGT, 18)
    cipher = _tgt(realm).ticket.enc_part.cipher
    cache = TicketCache()
    opened = cache.unseal(key, cipher)
    assert opened.part.cname.name_string == ("alice",)
    assert opened.session_key.contents == opened.part.key.keyvalue
    # the same key contents under another kvno: decrypts alike, but is its own entry
    relabelled = cache.unseal(dataclasses.replace(key, kvno=key.kvno + 1), cipher)
    assert relabelled.part == opened.part
    assert len(cache) == 2 and (cache.hits, cache.misses) == (0, 2)
    # another key of the same kvno: not the cached opening, and it does not decrypt
    with pytest.raises(IntegrityError):
        cache.unseal(dataclasses.replace(key, contents=bytes(32)), cipher)
    assert len(cache) == 2 and (cache.hits, cache.misses) == (0, 3)
    assert cache.unseal(key, cipher) is opened
    assert cache.hits == 1
