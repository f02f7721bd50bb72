"""Our IAKerb initiator and acceptor against each other, over an in-process LocalKDC, in
both wire variants; cached TGT and cached service ticket; realm discovery."""

from __future__ import annotations

import pytest

from kerbfirst.gss.iakerb import IakerbAuditEvent, IakerbInitiator, IakerbOutcome, IakerbVariant
from kerbfirst.wire.gss_framing import OID_IAKERB, TOK_ID_IAKERB_PROXY, decode_gss_token
from kerbfirst.wire.iakerb import decode_iakerb_token

from .iakerb_env import (
    ALICE_PASSWORD,
    REALM,
    SERVICE,
    T0,
    acceptor_for,
    converse,
    make_realm,
    realm_resolver,
)


@pytest.mark.parametrize("variant", list(IakerbVariant))
def test_password_round_trip(variant: IakerbVariant) -> None:
    realm = make_realm()
    events: list[IakerbAuditEvent] = []
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM, password=ALICE_PASSWORD,
                          random=realm.random, variant=variant)
    acc = acceptor_for(realm, events=events)
    tokens = converse(ini, acc, realm_resolver(realm))
    assert ini.complete and acc.complete
    # AS-REQ, PREAUTH_REQUIRED, AS-REQ+PA, AS-REP, TGS-REQ, TGS-REP, AP-REQ, AP-REP
    assert len(tokens) == 8
    assert len(ini.transcript) == len(acc.transcript) == 6
    assert ini.transcript.data() == acc.transcript.data() == b"".join(tokens[:6])
    for i, tok in enumerate(tokens[:6]):
        framed = tok[:1] == b"\x60"
        assert framed == (variant is IakerbVariant.DRAFT03 or i == 0)
        assert decode_iakerb_token(tok).variant is variant
    ap_req = decode_gss_token(tokens[6])
    assert ap_req.mech_oid == OID_IAKERB and ap_req.tok_id == b"\x01\x00"
    ctx_i, ctx_a = ini.context, acc.context
    assert ctx_i is not None and ctx_a is not None
    assert ctx_a.unwrap(ctx_i.wrap(b"ping"), now=T0).data == b"ping"
    assert [e.outcome for e in events] == [IakerbOutcome.AUTHENTICATED]
    ev = events[0]
    assert ev.variant == variant.value and ev.hops == 3 and ev.target_realm == REALM
    assert ev.client == f"alice@{REALM}" and ev.kdc == "in-process"
    assert ev.to_json()["outcome"] == "authenticated"


def test_cached_tgt_proxies_only_tgs() -> None:
    realm = make_realm()
    first = IakerbInitiator(service=SERVICE, client=f"alice@{REALM}", password=ALICE_PASSWORD,
                            random=realm.random)
    converse(first, acceptor_for(realm), realm_resolver(realm))
    assert first.tgt is not None
    second = IakerbInitiator(service=SERVICE, tgt=first.tgt, random=realm.random)
    acc = acceptor_for(realm)
    tokens = converse(second, acc, realm_resolver(realm))
    assert second.complete and acc.complete
    assert len(tokens) == 4 and acc.hops == 1  # TGS-REQ, TGS-REP, AP-REQ, AP-REP


def test_cached_service_ticket_goes_straight_to_ap_req() -> None:
    realm = make_realm()
    first = IakerbInitiator(service=SERVICE, client=f"alice@{REALM}", password=ALICE_PASSWORD,
                            random=realm.random)
    converse(first, acceptor_for(realm), realm_resolver(realm))
    cred = first.service_credential
    assert cred is not None
    ini = IakerbInitiator(service=SERVICE, service_ticket=cred, random=realm.random)
    acc = acceptor_for(realm)
    tokens = converse(ini, acc, realm_resolver(realm))
    assert ini.complete and acc.complete and len(tokens) == 2 and acc.hops == 0


def test_realm_discovery() -> None:
    realm = make_realm()
    ini = IakerbInitiator(service="host/server.test.realm", client="alice",
                          password=ALICE_PASSWORD, random=realm.random)
    acc = acceptor_for(realm)
    tokens = converse(ini, acc, realm_resolver(realm))
    assert ini.complete and acc.complete
    first = decode_iakerb_token(tokens[0])
    assert first.target_realm == "" and first.message == b""
    assert decode_iakerb_token(tokens[1]).target_realm == REALM
    assert ini.realm == REALM and len(ini.transcript) == 8


def test_windows_style_client_gets_dot_realm() -> None:
    realm = make_realm()
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM, password=ALICE_PASSWORD,
                          random=realm.random, header_flags=bytes(4))
    acc = acceptor_for(realm)
    tokens = converse(ini, acc, realm_resolver(realm))
    assert ini.complete and acc.complete
    reply = decode_iakerb_token(tokens[1])
    assert reply.target_realm == "." and reply.header.header_flags == b"\x01\x00\x00\x00"
    assert decode_gss_token(tokens[0]).tok_id == TOK_ID_IAKERB_PROXY


def test_initiator_echoes_the_acceptors_cookie() -> None:
    """draft-03 3: the initiator returns the cookie of the acceptor's last token."""
    from kerbfirst.wire.iakerb import IakerbHeader, encode_iakerb_token

    realm = make_realm()
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM, password=ALICE_PASSWORD,
                          random=realm.random)
    acc = acceptor_for(realm)
    first = ini.step(None, now=T0)
    assert isinstance(first, bytes) and decode_iakerb_token(first).header.cookie is None
    effect = acc.step(first, now=T0)
    reply = decode_iakerb_token(acc.kdc_reply(realm_resolver(realm)(REALM, effect.message),  # type: ignore[union-attr]
                                              now=T0))
    with_cookie = encode_iakerb_token(IakerbHeader(REALM, b"state-42"), reply.message)
    second = ini.step(with_cookie, now=T0)
    assert isinstance(second, bytes) and decode_iakerb_token(second).header.cookie == b"state-42"
