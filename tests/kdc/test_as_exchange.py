"""AS exchange: kerbfirst's client against kerbfirst's KDC, in process."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from memory_realm import ALICE, ALICE_PASSWORD, KRBTGT, REALM, T0, make_realm, run_as

from kerbfirst.client import AsExchange, Credential, KerberosError
from kerbfirst.crypto import Key, decrypt
from kerbfirst.kdc import LockoutPolicy, Outcome, RequestKind
from kerbfirst.krb.database import PrincipalEntry
from kerbfirst.krb.names import parse_principal
from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import (
    EncTicketPart,
    KdcReq,
    KdcReqBody,
    KrbError,
    decode_etype_info2,
    decode_kdc_message,
    decode_method_data,
)


def _as_req(etypes: tuple[int, ...], *, cname: str = "alice", realm: str = REALM, pvno: int = 5,
            till_hours: int | None = 10) -> bytes:
    body = KdcReqBody(
        kdc_options=0,
        cname=parse_principal(cname, REALM)[0],
        realm=realm,
        sname=parse_principal(KRBTGT)[0],
        from_=None,
        till=None if till_hours is None else T0 + timedelta(hours=till_hours),
        rtime=None,
        nonce=12345,
        etype=etypes,
    )
    return KdcReq(msg_type=c.KRB_AS_REQ, padata=None, req_body=body, pvno=pvno).encode()


def _error(reply: bytes | None) -> KrbError:
    assert reply is not None
    msg = decode_kdc_message(reply)
    assert isinstance(msg, KrbError), msg
    return msg


@pytest.mark.parametrize("etype", [17, 18, 19, 20])
def test_as_with_preauth_round_trip(etype: int) -> None:
    realm = make_realm()
    cred = run_as(realm, etypes=(etype,))
    assert isinstance(cred, Credential)
    assert cred.client_principal == ALICE and cred.server_principal == KRBTGT
    assert cred.session_key.etype == etype
    assert cred.flags & c.TKT_FLG_INITIAL and cred.flags & c.TKT_FLG_PRE_AUTH
    assert cred.flags & c.TKT_FLG_FORWARDABLE  # requested by default, allowed by policy
    assert cred.endtime - cred.authtime == timedelta(hours=10)
    # The ticket is sealed in the krbtgt key and carries the same session key.
    tgt_key = realm.key_of(KRBTGT, cred.ticket.enc_part.etype)
    part = EncTicketPart.decode(
        decrypt(Key(tgt_key.etype, tgt_key.contents), 2, cred.ticket.enc_part.cipher)
    )
    assert part.key.keyvalue == cred.session_key.contents
    assert part.cname.name_string == ("alice",)
    required, granted = realm.events
    assert (required.kind, required.outcome, required.result_code) == (
        RequestKind.AS_REQ, Outcome.PREAUTH_REQUIRED, 25
    )
    assert (granted.outcome, granted.result_code, granted.preauth_type) == (Outcome.GRANTED, 0, 2)
    assert granted.session_etype == etype and granted.reply_etype == etype
    assert granted.requested_etypes == (etype,)
    assert granted.windows_event_id == 4768


def test_preauth_required_names_salt_per_offered_etype_in_client_order() -> None:
    realm = make_realm()
    err = _error(realm.handle(_as_req((19, 23, 17, 18))))
    assert err.error_code == c.KDC_ERR_PREAUTH_REQUIRED
    assert err.e_data is not None
    padata = decode_method_data(err.e_data)
    assert [p.padata_type for p in padata] == [c.PA_ETYPE_INFO2, c.PA_ENC_TIMESTAMP]
    entries = decode_etype_info2(padata[0].padata_value)
    assert [e.etype for e in entries] == [19, 17, 18]  # 23 is not served
    assert {e.salt for e in entries} == {"TEST.REALMalice"}


def test_as_rep_carries_etype_info2_and_client_without_preauth_uses_it() -> None:
    realm = make_realm(require_preauth=False)
    realm.db.add(dataclasses.replace(realm.db.entries[ALICE], requires_preauth=False))
    cred = run_as(realm, etypes=(20,))
    assert isinstance(cred, Credential)
    assert not cred.flags & c.TKT_FLG_PRE_AUTH
    assert [e.outcome for e in realm.events] == [Outcome.GRANTED]
    assert realm.events[0].preauth_type is None


def test_long_term_key_preauthenticates_in_the_first_request() -> None:
    realm = make_realm()
    entry = realm.key_of(ALICE, 18)
    exchange = AsExchange("alice", REALM, key=Key(18, entry.contents), random=realm.random)
    cred = exchange.receive(realm.handle(exchange.first_request(T0)), T0)
    assert isinstance(cred, Credential)
    assert [e.outcome for e in realm.events] == [Outcome.GRANTED]
    assert [d for d, _ in exchange.messages] == ["sent", "received"]


def test_wrong_password_is_preauth_failed_and_counted() -> None:
    realm = make_realm()
    with pytest.raises(KerberosError) as info:
        run_as(realm, password="wrong")
    assert info.value.code == c.KDC_ERR_PREAUTH_FAILED
    assert "Password incorrect" in str(info.value)
    assert realm.db.entries[ALICE].fail_count == 1
    event = realm.events[-1]
    assert (event.outcome, event.result_code, event.windows_event_id) == (
        Outcome.PREAUTH_FAILED, 24, 4771
    )
    # a later success resets the count (MIT lockout.c)
    run_as(realm)
    assert realm.db.entries[ALICE].fail_count == 0


def test_unknown_client() -> None:
    realm = make_realm()
    with pytest.raises(KerberosError) as info:
        run_as(realm, principal="mallory")
    assert info.value.code == c.KDC_ERR_C_PRINCIPAL_UNKNOWN
    assert (realm.events[-1].outcome, realm.events[-1].client) == (
        Outcome.CLIENT_UNKNOWN, f"mallory@{REALM}"
    )


@pytest.mark.parametrize("etypes", [(23,), (23, 3, 1), (16,)])
def test_rc4_or_des_only_request_is_refused(etypes: tuple[int, ...]) -> None:
    realm = make_realm()
    err = _error(realm.handle(_as_req(etypes)))
    assert err.error_code == c.KDC_ERR_ETYPE_NOSUPP
    event = realm.events[-1]
    assert (event.outcome, event.result_code, event.requested_etypes) == (
        Outcome.ETYPE_NOSUPP, 14, etypes
    )
    assert event.ticket_etype is None and event.session_etype is None


def test_client_without_key_of_offered_etype() -> None:
    realm = make_realm()
    alice = realm.db.entries[ALICE]
    realm.db.add(dataclasses.replace(alice, keys=tuple(k for k in alice.keys if k.etype == 17)))
    err = _error(realm.handle(_as_req((18, 20))))
    assert err.error_code == c.KDC_ERR_ETYPE_NOSUPP


def test_preauth_timestamp_outside_skew() -> None:
    realm = make_realm()
    with pytest.raises(KerberosError) as info:
        run_as(realm, client_now=T0 + timedelta(minutes=6))
    assert info.value.code == c.KRB_AP_ERR_SKEW
    assert realm.events[-1].outcome is Outcome.SKEW
    assert realm.db.entries[ALICE].fail_count == 0  # not a password guess
    run_as(realm, client_now=T0 - timedelta(minutes=4))  # inside the 5-minute skew


def test_lockout_after_threshold_then_unlocks_after_duration() -> None:
    realm = make_realm(lockout=LockoutPolicy(threshold=3, duration=timedelta(minutes=15)))
    for i in range(3):
        with pytest.raises(KerberosError) as info:
            run_as(realm, password=f"guess {i}", now=T0 + timedelta(seconds=i))
        assert info.value.code == c.KDC_ERR_PREAUTH_FAILED
    with pytest.raises(KerberosError) as info:
        run_as(realm, now=T0 + timedelta(minutes=1))  # the right password, but locked
    assert info.value.code == c.KDC_ERR_CLIENT_REVOKED
    assert (realm.events[-1].outcome, realm.events[-1].result_code) == (
        Outcome.CLIENT_LOCKED_OUT, 18
    )
    assert isinstance(run_as(realm, now=T0 + timedelta(minutes=16)), Credential)


def test_lockout_disabled_with_threshold_zero() -> None:
    realm = make_realm(lockout=LockoutPolicy(threshold=0))
    for i in range(12):
        with pytest.raises(KerberosError):
            run_as(realm, password=f"guess {i}", now=T0 + timedelta(seconds=i))
    assert isinstance(run_as(realm, now=T0 + timedelta(minutes=1)), Credential)


def test_disabled_and_expired_clients() -> None:
    realm = make_realm()
    alice = realm.db.entries[ALICE]
    realm.db.add(dataclasses.replace(alice, disabled=True))
    with pytest.raises(KerberosError) as info:
        run_as(realm)
    assert (info.value.code, realm.events[-1].outcome) == (18, Outcome.CLIENT_REVOKED)
    realm.db.add(dataclasses.replace(alice, expires=T0 - timedelta(days=1)))
    with pytest.raises(KerberosError) as info:
        run_as(realm)
    assert (info.value.code, realm.events[-1].outcome) == (1, Outcome.CLIENT_EXPIRED)


def test_wrong_realm_and_bad_pvno() -> None:
    realm = make_realm()
    assert _error(realm.handle(_as_req((18,), realm="OTHER.REALM"))).error_code == 68
    assert realm.events[-1].outcome is Outcome.WRONG_REALM
    assert _error(realm.handle(_as_req((18,), pvno=4))).error_code == c.KDC_ERR_BAD_PVNO
    assert realm.events[-1].outcome is Outcome.BAD_REQUEST


def test_lifetimes_rfc4120_3_1_3() -> None:
    realm = make_realm(max_life=timedelta(hours=8), max_renewable_life=timedelta(days=2))
    # asked for 24 h: capped at the realm's 8 h
    cred = run_as(realm, lifetime=timedelta(hours=24))
    assert isinstance(cred, Credential)
    assert cred.endtime - cred.starttime == timedelta(hours=8)  # type: ignore[operator]
    # renewable-ok (the default): the 24 h could not be granted, so renewable up to 24 h
    assert cred.renew_till == T0 + timedelta(hours=24)
    assert cred.flags & c.TKT_FLG_RENEWABLE
    # asked for a 1 week renewable life: capped at 2 days
    cred = run_as(realm, renew_lifetime=timedelta(days=7), lifetime=timedelta(hours=1))
    assert isinstance(cred, Credential)
    assert cred.renew_till == T0 + timedelta(days=2)
    assert cred.endtime == T0 + timedelta(hours=1)
    # principal limits are honoured too
    alice = realm.db.entries[ALICE]
    realm.db.add(dataclasses.replace(alice, max_life=timedelta(hours=1), allow_renewable=False))
    cred = run_as(realm, renew_lifetime=timedelta(days=1))
    assert isinstance(cred, Credential)
    assert cred.endtime == T0 + timedelta(hours=1) and cred.renew_till is None
    assert not cred.flags & c.TKT_FLG_RENEWABLE


def test_till_zero_means_max_and_past_till_is_never_valid() -> None:
    realm = make_realm()
    ok = realm.handle(_as_req((18,), till_hours=None))
    assert _error(ok).error_code == c.KDC_ERR_PREAUTH_REQUIRED  # reached the pre-auth step
    realm = make_realm(require_preauth=False)
    realm.db.add(dataclasses.replace(realm.db.entries[ALICE], requires_preauth=False))
    rep = decode_kdc_message(realm.handle(_as_req((18,), till_hours=None)) or b"")
    assert not isinstance(rep, KrbError)
    assert realm.events[-1].ticket_endtime == T0 + timedelta(hours=10)
    err = _error(realm.handle(_as_req((18,), till_hours=-1)))
    assert (err.error_code, realm.events[-1].outcome) == (
        c.KDC_ERR_NEVER_VALID, Outcome.NEVER_VALID
    )


def test_forwardable_only_when_policy_allows() -> None:
    realm = make_realm(allow_forwardable=False)
    cred = run_as(realm)
    assert isinstance(cred, Credential)
    assert not cred.flags & c.TKT_FLG_FORWARDABLE


def test_tgs_only_options_are_refused_in_as() -> None:
    realm = make_realm()
    exchange = AsExchange(
        "alice", REALM, password=ALICE_PASSWORD, random=realm.random, options=c.KDC_OPT_RENEW
    )
    err = _error(realm.handle(exchange.first_request(T0)))
    assert (err.error_code, realm.events[-1].outcome) == (c.KDC_ERR_BADOPTION, Outcome.BAD_OPTION)


def test_unknown_server_in_as() -> None:
    realm = make_realm()
    with pytest.raises(KerberosError) as info:
        run_as(realm, server=f"host/none.test.realm@{REALM}")
    assert info.value.code == c.KDC_ERR_S_PRINCIPAL_UNKNOWN


def test_stored_salt_is_sent_not_the_default() -> None:
    # bob's keys were made with the salt "TEST.REALMalice" (e.g. after a rename): the
    # ETYPE-INFO2 must carry the stored salt, so alice's password works for bob.
    realm = make_realm()
    realm.db.add(PrincipalEntry(name=f"bob@{REALM}", keys=realm.db.entries[ALICE].keys))
    cred = run_as(realm, principal="bob")
    assert isinstance(cred, Credential)
    assert cred.client_principal == f"bob@{REALM}"


def test_empty_stored_salt_means_the_rfc4120_default() -> None:
    realm = make_realm()
    alice = realm.db.entries[ALICE]
    realm.db.add(
        dataclasses.replace(alice, keys=tuple(dataclasses.replace(k, salt=b"") for k in alice.keys))
    )
    assert isinstance(run_as(realm), Credential)


def test_pac_request_and_unknown_padata_are_ignored() -> None:
    from kerbfirst.wire.krb5 import PaData, PaPacRequest

    realm = make_realm()
    req = KdcReq.decode(_as_req((18,)))
    padata = (PaData(c.PA_PAC_REQUEST, PaPacRequest(True).encode()), PaData(999, b"\x00"))
    reply = realm.handle(dataclasses.replace(req, padata=padata).encode())
    assert _error(reply).error_code == c.KDC_ERR_PREAUTH_REQUIRED
