"""The sans-I/O client on its own: names, transcripts, and replies it must refuse."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from memory_realm import ALICE_PASSWORD, REALM, SERVICE, T0, make_realm, run_as

from kerbfirst.client import (
    AsExchange,
    Credential,
    KerberosError,
    ReplyError,
    TgsExchange,
    parse_principal,
    unparse_principal,
)
from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import KdcRep, PrincipalName, decode_kdc_message


def test_parse_and_unparse_mit_names() -> None:
    name, realm = parse_principal("host/server.test.realm@TEST.REALM")
    assert (name.name_string, realm) == (("host", "server.test.realm"), "TEST.REALM")
    assert parse_principal("krbtgt/A@A")[0].name_type == c.NT_SRV_INST
    assert parse_principal("alice", "X")[0] == PrincipalName(c.NT_PRINCIPAL, ("alice",))
    odd = PrincipalName(1, ("a/b", "c@d", "e\\f"))
    text = unparse_principal(odd, "R")
    assert text == "a\\/b/c\\@d/e\\\\f@R"
    assert parse_principal(text) == (odd, "R")
    for bad in ("alice", "a@b@c", "a@b/c", "x\\"):
        with pytest.raises(ValueError):
            parse_principal(bad)


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=3),
       st.text(min_size=1, max_size=8))
def test_unparse_parse_round_trip(components: list[str], realm: str) -> None:
    name = PrincipalName(c.NT_PRINCIPAL, tuple(components))
    parsed, parsed_realm = parse_principal(unparse_principal(name, realm))
    assert (parsed.name_string, parsed_realm) == (name.name_string, realm)


def test_exchange_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        AsExchange("alice", REALM, random=bytes)
    with pytest.raises(ValueError, match="only"):
        AsExchange("alice", REALM, password="p", random=bytes, etypes=(23,))
    exchange = AsExchange("alice", REALM, password="p", random=bytes)
    with pytest.raises(ReplyError):
        exchange.receive(b"", T0)


def test_transcript_records_every_message_in_order() -> None:
    realm = make_realm()
    exchange = AsExchange("alice", REALM, password=ALICE_PASSWORD, random=realm.random)
    out = exchange.first_request(T0)
    replies = []
    while isinstance(out, bytes):
        reply = realm.handle(out) or b""
        replies.append(reply)
        out = exchange.receive(reply, T0)
    directions = [d for d, _ in exchange.messages]
    assert directions == ["sent", "received", "sent", "received"]
    assert [m for d, m in exchange.messages if d == "received"] == replies
    with pytest.raises(ReplyError, match="finished"):
        exchange.receive(replies[-1], T0)


def _as_rep_for(realm, exchange: AsExchange) -> KdcRep:
    out = exchange.first_request(T0)
    reply = realm.handle(out)
    out = exchange.receive(reply, T0)
    assert isinstance(out, bytes)
    rep = decode_kdc_message(realm.handle(out) or b"")
    assert isinstance(rep, KdcRep)
    return rep


def test_reply_for_another_request_is_refused() -> None:
    realm = make_realm()
    first = AsExchange("alice", REALM, password=ALICE_PASSWORD, random=realm.random)
    rep = _as_rep_for(realm, first)
    # A second exchange (other nonce) must not accept the first one's reply.
    second = AsExchange("alice", REALM, password=ALICE_PASSWORD, random=realm.random)
    second.receive(realm.handle(second.first_request(T0)) or b"", T0)
    with pytest.raises(ReplyError, match="nonce"):
        second.receive(rep.encode(), T0)


def test_reply_naming_another_client_is_refused() -> None:
    realm = make_realm()
    exchange = AsExchange("alice", REALM, password=ALICE_PASSWORD, random=realm.random)
    rep = _as_rep_for(realm, exchange)
    forged = dataclasses.replace(rep, cname=PrincipalName(1, ("mallory",)))
    with pytest.raises(ReplyError, match="client"):
        exchange.receive(forged.encode(), T0)


def test_reply_with_wrong_key_is_refused() -> None:
    realm = make_realm()
    exchange = AsExchange("alice", REALM, password=ALICE_PASSWORD, random=realm.random)
    rep = _as_rep_for(realm, exchange)
    cipher = bytearray(rep.enc_part.cipher)
    cipher[-1] ^= 1
    forged = dataclasses.replace(
        rep, enc_part=dataclasses.replace(rep.enc_part, cipher=bytes(cipher))
    )
    # A tampered reply and a wrong password are the same to the client: MIT's kinit reports
    # both as "Password incorrect" (KDC_ERR_PREAUTH_FAILED).
    with pytest.raises(KerberosError, match="did not decrypt") as info:
        exchange.receive(forged.encode(), T0)
    assert info.value.code == 24


def test_krb_error_becomes_kerberos_error_with_name() -> None:
    realm = make_realm()
    tgt = run_as(realm)
    assert isinstance(tgt, Credential)
    exchange = TgsExchange(tgt, "host/none.test.realm", random=realm.random)
    with pytest.raises(KerberosError) as info:
        exchange.receive(realm.handle(exchange.first_request(T0)) or b"", T0)
    assert info.value.name == "KDC_ERR_S_PRINCIPAL_UNKNOWN" and info.value.code == 7
    assert "Server not found in Kerberos database" in str(info.value)


def test_tgs_request_checksum_covers_the_req_body_as_sent() -> None:
    realm = make_realm()
    tgt = run_as(realm)
    assert isinstance(tgt, Credential)
    exchange = TgsExchange(tgt, SERVICE, random=realm.random, lifetime=timedelta(hours=1))
    cred = exchange.receive(realm.handle(exchange.first_request(T0)) or b"", T0)
    assert cred.endtime == T0 + timedelta(hours=1)
    assert exchange.messages[0][0] == "sent"
