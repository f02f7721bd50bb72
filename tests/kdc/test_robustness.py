"""Malformed input, the reply cache, the single exit and the audit event of each case."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from memory_realm import ALICE, SERVICE, T0, make_realm, run_as

from kerbfirst.client import AsExchange, Credential, KerberosError, TgsExchange
from kerbfirst.kdc import Kdc, KdcPolicy, Outcome
from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import KdcRep, KrbError, decode_kdc_message

REALM_FOR_FUZZ = make_realm(seed=3)
_TGT = run_as(REALM_FOR_FUZZ)
assert isinstance(_TGT, Credential)
_AS = AsExchange(
    "alice", "TEST.REALM", password="x", random=REALM_FOR_FUZZ.random
).first_request(T0)
_TGS = TgsExchange(_TGT, SERVICE, random=REALM_FOR_FUZZ.random).first_request(T0)
SAMPLES = (_AS, _TGS)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _answer_is_sane(request: bytes) -> None:
    events = REALM_FOR_FUZZ.events
    before, dropped = len(events), REALM_FOR_FUZZ.kdc.dropped
    reply = REALM_FOR_FUZZ.handle(request, T0 + timedelta(seconds=len(request)))
    if reply is None:
        # undecodable: no answer; counted, and audited unless the rate limit held it back
        assert REALM_FOR_FUZZ.kdc.dropped == dropped + 1
        assert len(events) in (before, before + 1)
    else:
        assert len(events) == before + 1  # exactly one audit event, hit or not
    if reply is not None:
        msg = decode_kdc_message(reply)
        assert isinstance(msg, KrbError | KdcRep)
        if isinstance(msg, KrbError):
            assert events[-1].result_code == msg.error_code
    json.dumps(events[-1].to_json())


@FUZZ
@given(st.binary(max_size=600))
def test_random_bytes_never_raise(data: bytes) -> None:
    _answer_is_sane(data)


@FUZZ
@given(st.sampled_from(SAMPLES), st.data())
def test_truncated_requests_never_raise(sample: bytes, data: st.DataObject) -> None:
    cut = data.draw(st.integers(min_value=0, max_value=len(sample) - 1))
    _answer_is_sane(sample[:cut])


@FUZZ
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)),
                                          min_size=1, max_size=8))
def test_mutated_requests_never_raise(sample: bytes, edits: list[tuple[int, int]]) -> None:
    mutated = bytearray(sample)
    for at, value in edits:
        mutated[at % len(mutated)] = value
    _answer_is_sane(bytes(mutated))


def test_noise_is_dropped_and_audited() -> None:
    realm = make_realm()
    assert realm.handle(b"GET / HTTP/1.1\r\n\r\n") is None
    assert realm.handle(b"") is None
    assert [e.outcome for e in realm.events] == [Outcome.BAD_REQUEST] * 2


def test_malformed_request_gets_no_answer() -> None:
    # MIT krb5kdc answers only what decodes: an answer to noise makes a reflector
    realm = make_realm()
    assert realm.handle(b"\x6a\x03\x02\x01\x05") is None
    assert realm.kdc.dropped == 1
    assert realm.events[-1].outcome is Outcome.BAD_REQUEST


def test_identical_retransmission_gets_identical_reply_without_reprocessing() -> None:
    realm = make_realm()
    exchange = AsExchange("alice", "TEST.REALM", password="wrong", random=realm.random)
    exchange.receive(realm.handle(exchange.first_request(T0)) or b"", T0)
    second = exchange.messages[-1][1]  # the pre-authenticated request with a wrong key
    first_reply = realm.handle(second)
    lookups = realm.db.lookups
    again = realm.handle(second, T0 + timedelta(seconds=5), transport="tcp")
    assert again == first_reply
    assert realm.db.lookups == lookups  # served from the cache: no database work
    assert realm.db.entries[ALICE].fail_count == 1  # counted once
    hit = realm.events[-1]
    assert (hit.outcome, hit.result_code, hit.transport) == (
        Outcome.REPLAY_CACHE_HIT, 24, "tcp"
    )
    # after the TTL the request is processed again (and counted again)
    realm.handle(second, T0 + timedelta(minutes=3))
    assert realm.events[-1].outcome is Outcome.PREAUTH_FAILED
    assert realm.db.entries[ALICE].fail_count == 2


def test_reply_cache_is_bounded() -> None:
    realm = make_realm(reply_cache_size=2)
    requests = [
        AsExchange("alice", "TEST.REALM", password="x", random=realm.random).first_request(T0)
        for _ in range(3)
    ]
    for r in requests:
        realm.handle(r)
    realm.handle(requests[0])
    assert realm.events[-1].outcome is Outcome.PREAUTH_REQUIRED  # evicted, reprocessed
    realm.handle(requests[0])
    assert realm.events[-1].outcome is Outcome.REPLAY_CACHE_HIT


class _BrokenDatabase:
    def get_principal(self, name: str) -> None:
        raise RuntimeError("database is on fire")

    def record_preauth_failure(self, name: str, now: object) -> None: ...

    def record_preauth_success(self, name: str, now: object) -> None: ...


def test_internal_error_is_answered_and_audited_never_raised() -> None:
    events: list[object] = []
    kdc = Kdc(database=_BrokenDatabase(), policy=KdcPolicy(realm="TEST.REALM"),
              random=lambda n: bytes(n), audit=events.append)
    reply = kdc.handle(_AS, peer="::1", transport="udp", now=T0)
    err = decode_kdc_message(reply or b"")
    assert isinstance(err, KrbError) and err.error_code == c.KRB_ERR_GENERIC
    assert err.e_text == "internal error"  # the detail goes to the audit log, not the wire
    (event,) = events
    assert event.outcome is Outcome.INTERNAL_ERROR  # type: ignore[attr-defined]
    assert "database is on fire" in event.reason  # type: ignore[attr-defined]


def test_a_raising_audit_sink_does_not_stop_the_kdc() -> None:
    def sink(event: object) -> None:
        raise OSError("disk full")

    realm = make_realm()
    kdc = Kdc(database=realm.db, policy=realm.policy, random=realm.random, audit=sink)
    assert kdc.handle(_AS, peer="x", transport="udp", now=T0) is not None
    assert kdc.audit_failures == 1


def test_response_too_big() -> None:
    realm = make_realm()
    err = decode_kdc_message(realm.kdc.response_too_big(_TGS, now=T0) or b"")
    assert isinstance(err, KrbError) and err.error_code == c.KRB_ERR_RESPONSE_TOO_BIG
    assert realm.kdc.response_too_big(b"\x00junk", now=T0) is None


def test_audit_event_json_has_plain_types_and_no_key_material() -> None:
    realm = make_realm()
    cred = run_as(realm)
    assert isinstance(cred, Credential)
    tgs = TgsExchange(cred, SERVICE, random=realm.random)
    service = tgs.receive(realm.handle(tgs.first_request(T0)) or b"", T0)
    dumped = json.dumps([e.to_json() for e in realm.events])
    for secret in (cred.session_key.contents, service.session_key.contents,
                   realm.key_of(ALICE, 18).contents):
        assert secret.hex() not in dumped and repr(secret) not in dumped
    record = realm.events[-1].to_json()
    assert record["kind"] == "tgs-req" and record["outcome"] == "granted"
    assert record["windows_event_id"] == 4769 and record["result_code"] == 0
    assert record["ticket_flags"].startswith("0x")
    assert "contents" not in repr(cred.session_key) or "contents=" not in repr(cred)


@pytest.mark.parametrize("code", [6, 24, 14, 37])
def test_kerberos_error_names(code: int) -> None:
    err = KerberosError(code, "detail")
    assert err.name.startswith(("KDC_ERR_", "KRB_AP_ERR_")) and "detail" in str(err)
