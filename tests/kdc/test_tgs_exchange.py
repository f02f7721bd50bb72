"""TGS exchange: service tickets, renewal, and every refusal, in process."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from memory_realm import ALICE, KRBTGT, REALM, SERVICE, T0, Realm, make_realm, run_as

from kerbfirst.client import Credential, KerberosError, TgsExchange
from kerbfirst.crypto import Key, checksum_type, decrypt, encrypt, make_checksum
from kerbfirst.kdc import Outcome, RequestKind
from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import (
    ApReq,
    Authenticator,
    Checksum,
    EncKdcRepPart,
    EncryptedData,
    EncTicketPart,
    KdcRep,
    KdcReq,
    KrbError,
    PaData,
    decode_kdc_message,
)


def _tgt(realm: Realm, etype: int = 18, **args: object) -> Credential:
    cred = run_as(realm, etypes=(etype,), **args)
    assert isinstance(cred, Credential)
    return cred


def _tgs(realm: Realm, exchange: TgsExchange, now=T0, client_now=None) -> Credential:
    reply = realm.handle(exchange.first_request(client_now or now), now)
    assert reply is not None
    return exchange.receive(reply, now)


def _error(reply: bytes | None) -> KrbError:
    assert reply is not None
    msg = decode_kdc_message(reply)
    assert isinstance(msg, KrbError), msg
    return msg


@pytest.mark.parametrize("etype", [17, 18, 19, 20])
def test_service_ticket_and_renewal(etype: int) -> None:
    realm = make_realm()
    tgt = _tgt(realm, etype, renew_lifetime=timedelta(days=1))
    assert tgt.flags & c.TKT_FLG_RENEWABLE

    cred = _tgs(realm, TgsExchange(tgt, "host/server.test.realm", random=realm.random,
                                   etypes=(etype,), options=c.KDC_OPT_FORWARDABLE))
    assert cred.server_principal == SERVICE and cred.client_principal == ALICE
    assert cred.session_key.etype == etype
    assert cred.flags & c.TKT_FLG_PRE_AUTH and cred.flags & c.TKT_FLG_FORWARDABLE
    assert not cred.flags & c.TKT_FLG_INITIAL
    assert cred.endtime <= tgt.endtime and cred.authtime == tgt.authtime
    # sealed in the service's key, carrying the client's name
    service_key = realm.key_of(SERVICE, cred.ticket.enc_part.etype)
    part = EncTicketPart.decode(
        decrypt(Key(service_key.etype, service_key.contents), 2, cred.ticket.enc_part.cipher)
    )
    assert part.cname == tgt.client and part.key.keyvalue == cred.session_key.contents
    event = realm.events[-1]
    assert (event.kind, event.outcome, event.result_code) == (
        RequestKind.TGS_REQ, Outcome.GRANTED, 0
    )
    assert (event.client, event.service, event.windows_event_id) == (ALICE, SERVICE, 4769)
    assert event.reply_etype == etype  # the subkey's enctype

    later = T0 + timedelta(hours=6)
    renewed = _tgs(realm, TgsExchange.renewal(tgt, random=realm.random), now=later)
    assert renewed.server_principal == KRBTGT
    assert renewed.starttime == later
    assert renewed.endtime == later + (tgt.endtime - tgt.authtime)
    assert renewed.renew_till == tgt.renew_till
    assert renewed.session_key.contents != tgt.session_key.contents
    assert realm.events[-1].outcome is Outcome.RENEWED
    # the renewed TGT works for the TGS exchange
    _tgs(realm, TgsExchange(renewed, SERVICE, random=realm.random), now=later)


def test_renewal_never_passes_renew_till() -> None:
    realm = make_realm()
    tgt = _tgt(realm, renew_lifetime=timedelta(hours=12))
    later = T0 + timedelta(hours=9)
    renewed = _tgs(realm, TgsExchange.renewal(tgt, random=realm.random), now=later)
    assert renewed.endtime == T0 + timedelta(hours=12)


def test_renewal_of_expired_and_of_nonrenewable_tickets() -> None:
    realm = make_realm()
    tgt = _tgt(realm, renew_lifetime=timedelta(days=1), lifetime=timedelta(hours=1))
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange.renewal(tgt, random=realm.random), now=T0 + timedelta(hours=2))
    assert (info.value.code, realm.events[-1].outcome) == (
        c.KRB_AP_ERR_TKT_EXPIRED, Outcome.TICKET_EXPIRED
    )
    plain = _tgt(realm, options=0)
    assert plain.renew_till is None
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange.renewal(plain, random=realm.random))
    assert (info.value.code, realm.events[-1].outcome) == (c.KDC_ERR_BADOPTION, Outcome.BAD_OPTION)


def test_expired_tgt_is_refused() -> None:
    realm = make_realm()
    tgt = _tgt(realm, lifetime=timedelta(hours=1))
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange(tgt, SERVICE, random=realm.random), now=T0 + timedelta(hours=2))
    assert info.value.code == c.KRB_AP_ERR_TKT_EXPIRED


def test_unknown_server() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange(tgt, "host/nowhere.test.realm", random=realm.random))
    assert info.value.code == c.KDC_ERR_S_PRINCIPAL_UNKNOWN
    event = realm.events[-1]
    assert (event.outcome, event.result_code, event.service) == (
        Outcome.SERVER_UNKNOWN, 7, f"host/nowhere.test.realm@{REALM}"
    )


def test_rc4_only_tgs_request() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange(tgt, SERVICE, random=realm.random, etypes=(23,)))
    assert info.value.code == c.KDC_ERR_ETYPE_NOSUPP
    assert realm.events[-1].outcome is Outcome.ETYPE_NOSUPP
    assert realm.events[-1].requested_etypes == (23,)


def test_authenticator_skew() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange(tgt, SERVICE, random=realm.random),
             client_now=T0 + timedelta(minutes=6))
    assert (info.value.code, realm.events[-1].outcome) == (c.KRB_AP_ERR_SKEW, Outcome.SKEW)


def test_tampered_req_body_fails_the_checksum() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    request = TgsExchange(tgt, SERVICE, random=realm.random).first_request(T0)
    tampered = request.replace(b"server.test.realm", b"attack.test.realm")
    assert tampered != request
    err = _error(realm.handle(tampered))
    assert err.error_code == c.KRB_AP_ERR_MODIFIED
    assert realm.events[-1].outcome is Outcome.CHECKSUM_FAILED


def test_tampered_ticket_fails_integrity() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    request = bytearray(TgsExchange(tgt, SERVICE, random=realm.random).first_request(T0))
    cipher = tgt.ticket.enc_part.cipher
    at = bytes(request).index(cipher) + 20
    request[at] ^= 0x01
    err = _error(realm.handle(bytes(request)))
    assert (err.error_code, realm.events[-1].outcome) == (
        c.KRB_AP_ERR_BAD_INTEGRITY, Outcome.BAD_INTEGRITY
    )


def test_reply_without_subkey_uses_session_key_usage_8() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    exchange = TgsExchange(tgt, SERVICE, random=realm.random)
    req = KdcReq.decode(exchange.first_request(T0))
    body = req.req_body
    key = tgt.session_key
    auth = Authenticator(
        crealm=tgt.crealm,
        cname=tgt.client,
        cusec=0,
        ctime=T0,
        cksum=Checksum(checksum_type(key.etype), make_checksum(key, 6, body.encode())),
    )
    ap = ApReq(0, tgt.ticket, EncryptedData(key.etype, None,
                                            encrypt(key, 7, auth.encode(), confounder=bytes(16))))
    request = KdcReq(c.KRB_TGS_REQ, (PaData(1, ap.encode()),), body).encode()
    rep = decode_kdc_message(realm.handle(request) or b"")
    assert isinstance(rep, KdcRep)
    enc = EncKdcRepPart.decode(decrypt(key, 8, rep.enc_part.cipher))
    assert enc.nonce == body.nonce and enc.app_tag == 26


def test_forwardable_propagation_and_forwarded_needs_forwardable() -> None:
    realm = make_realm()
    tgt = _tgt(realm, options=0)  # not forwardable
    assert not tgt.flags & c.TKT_FLG_FORWARDABLE
    cred = _tgs(realm, TgsExchange(tgt, SERVICE, random=realm.random,
                                   options=c.KDC_OPT_FORWARDABLE))
    assert not cred.flags & c.TKT_FLG_FORWARDABLE  # silently not granted, as MIT
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange(tgt, KRBTGT, random=realm.random, options=c.KDC_OPT_FORWARDED))
    assert info.value.code == c.KDC_ERR_BADOPTION
    fwd = _tgt(realm)
    forwarded = _tgs(realm, TgsExchange(fwd, KRBTGT, random=realm.random,
                                        options=c.KDC_OPT_FORWARDED | c.KDC_OPT_FORWARDABLE))
    assert forwarded.flags & c.TKT_FLG_FORWARDED and forwarded.flags & c.TKT_FLG_FORWARDABLE
    # tickets got with a forwarded TGT are forwarded too (RFC 4120 2.6)
    derived = _tgs(realm, TgsExchange(forwarded, SERVICE, random=realm.random))
    assert derived.flags & c.TKT_FLG_FORWARDED


def test_disabled_client_cannot_use_its_tgt() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    realm.db.add(dataclasses.replace(realm.db.entries[ALICE], disabled=True))
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange(tgt, SERVICE, random=realm.random))
    assert (info.value.code, realm.events[-1].outcome) == (18, Outcome.CLIENT_REVOKED)


def test_service_ticket_is_not_a_tgt() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    service = _tgs(realm, TgsExchange(tgt, SERVICE, random=realm.random))
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange(service, SERVICE, random=realm.random))
    assert info.value.code == c.KDC_ERR_POLICY


def test_old_kvno_ticket_after_krbtgt_rekey() -> None:
    realm = make_realm()
    tgt = _tgt(realm)
    krbtgt = realm.db.entries[KRBTGT]
    rekeyed = tuple(dataclasses.replace(k, kvno=2, contents=bytes(len(k.contents)))
                    for k in krbtgt.keys)
    realm.db.add(dataclasses.replace(krbtgt, keys=krbtgt.keys + rekeyed))
    _tgs(realm, TgsExchange(tgt, SERVICE, random=realm.random))  # kvno 1 still known
    realm.db.add(dataclasses.replace(krbtgt, keys=rekeyed))
    with pytest.raises(KerberosError) as info:
        _tgs(realm, TgsExchange(tgt, SERVICE, random=realm.random))
    assert info.value.code == c.KRB_AP_ERR_BADKEYVER
