"""A target-realm is bounded in UTF-8 octets on the way in as on the way out: 600 'Ä'
(1,200 octets, 600 characters) used to decode, be forwarded, and then make the reply's
encoding raise ValueError (not a GSS error): the connection ended with no answer."""

from __future__ import annotations

import pytest

import kerbfirst.wire.iakerb as wire_iakerb
from kerbfirst.gss.errors import DefectiveToken
from kerbfirst.gss.iakerb import IakerbAcceptor, IakerbInitiator
from kerbfirst.gss.mechanism import KdcFailure
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.wire.iakerb import (
    IakerbHeader,
    IakerbVariant,
    decode_iakerb_token,
    encode_iakerb_token,
)

from .iakerb_env import ALICE_PASSWORD, REALM, SERVICE, T0, key_lookup, make_realm


def _token_with_realm(realm_name: str, monkeypatch: pytest.MonkeyPatch) -> bytes:
    realm = make_realm(seed=61)
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM,
                          password=ALICE_PASSWORD, random=realm.random)
    first = ini.step(None, now=T0)
    assert isinstance(first, bytes)
    message = decode_iakerb_token(first).message
    with monkeypatch.context() as m:  # a hostile peer's encoder has no limit
        m.setattr(wire_iakerb, "MAX_REALM_LENGTH", 1 << 20)
        return encode_iakerb_token(IakerbHeader(realm_name, None, None,
                                                IakerbVariant.DRAFT03), message)


def test_realm_over_the_octet_limit_is_a_defective_token(monkeypatch: pytest.MonkeyPatch) -> None:
    token = _token_with_realm("Ä" * 600, monkeypatch)
    realm = make_realm(seed=62)
    acc = IakerbAcceptor(key_lookup=key_lookup(realm), replay_cache=ReplayCache(),
                         random=realm.random, service=SERVICE)
    with pytest.raises(DefectiveToken, match="octets"):
        acc.step(token, now=T0)


def test_non_ascii_realm_under_the_limit_is_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    token = _token_with_realm("Ä" * 500, monkeypatch)  # 1,000 octets
    realm = make_realm(seed=63)
    acc = IakerbAcceptor(key_lookup=key_lookup(realm), replay_cache=ReplayCache(),
                         random=realm.random, service=SERVICE)
    acc.step(token, now=T0)
    reply = acc.kdc_reply(KdcFailure(85, "realm not configured"), now=T0)
    assert decode_iakerb_token(reply).target_realm == "Ä" * 500
