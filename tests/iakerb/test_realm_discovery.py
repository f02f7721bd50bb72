"""Realm discovery (draft-ietf-kitten-iakerb-03 3.1) answered as MIT's acceptor answers it
(iakerb.c iakerb_acceptor_realm): with the realm of the acceptor's credential, otherwise
with KRB-ERROR 85. The request is MIT 1.22's exact 18-byte discovery token."""

from __future__ import annotations

import pytest

from kerbfirst.gss.errors import KerberosErrorToken
from kerbfirst.gss.iakerb import IakerbAcceptor, IakerbInitiator, IakerbOutcome
from kerbfirst.gss.iakerb_audit import IakerbAuditEvent
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.wire.iakerb import IakerbVariant, decode_iakerb_token
from kerbfirst.wire.krb5 import KrbError

from .iakerb_env import (
    ALICE_PASSWORD,
    REALM,
    SERVICE,
    T0,
    converse,
    key_lookup,
    make_realm,
    realm_resolver,
)

MIT_122_DISCOVERY = bytes.fromhex("601006062b060105020505013004a1020c00")


def test_mit_122_discovery_token_decodes_as_discovery() -> None:
    assert len(MIT_122_DISCOVERY) == 18
    token = decode_iakerb_token(MIT_122_DISCOVERY)
    assert token.framed and token.variant is IakerbVariant.DRAFT03
    assert token.target_realm == "" and token.message == b""
    assert token.header.cookie is None and token.header.header_flags is None


@pytest.mark.parametrize("given", ["realm", "service"])
def test_discovery_is_answered_with_the_acceptors_realm(given: str) -> None:
    realm = make_realm(seed=51)
    kw = {"realm": REALM} if given == "realm" else {"service": SERVICE}
    acc = IakerbAcceptor(key_lookup=key_lookup(realm), replay_cache=ReplayCache(),
                         random=realm.random, **kw)  # type: ignore[arg-type]
    reply = acc.step(MIT_122_DISCOVERY, now=T0)
    assert isinstance(reply, bytes)
    parsed = decode_iakerb_token(reply)
    assert parsed.framed and parsed.target_realm == REALM and parsed.message == b""
    assert acc.hops == 0  # no KDC message was forwarded


def test_no_realm_to_tell_is_krb_error_85_and_the_initiator_says_so() -> None:
    realm = make_realm(seed=52)
    events: list[IakerbAuditEvent] = []
    acc = IakerbAcceptor(key_lookup=key_lookup(realm), replay_cache=ReplayCache(),
                         random=realm.random, audit=events.append)
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=None, password=ALICE_PASSWORD,
                          random=realm.random)
    first = ini.step(None, now=T0)
    assert isinstance(first, bytes)
    reply = acc.step(first, now=T0)
    assert isinstance(reply, bytes)
    parsed = decode_iakerb_token(reply)
    err = KrbError.decode(parsed.message)
    assert parsed.target_realm == "" and err.error_code == 85  # was 60 (generic)
    assert err.sname is not None and err.sname.name_string == ("WELLKNOWN", "ANONYMOUS")
    with pytest.raises(KerberosErrorToken, match="could not determine its realm"):
        ini.step(reply, now=T0)
    acc.abandon(T0)
    assert [e.outcome for e in events] == [IakerbOutcome.REALM_NOT_CONFIGURED]
    assert events[0].hops == 0


def test_discovery_then_kdc_exchange_counts_only_kdc_messages() -> None:
    realm = make_realm(seed=53)
    events: list[IakerbAuditEvent] = []
    acc = IakerbAcceptor(key_lookup=key_lookup(realm), replay_cache=ReplayCache(),
                         random=realm.random, service=SERVICE,
                         audit=events.append)
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=None, password=ALICE_PASSWORD,
                          random=realm.random)
    converse(ini, acc, realm_resolver(realm))
    assert ini.complete and ini.realm == REALM
    assert events[0].outcome is IakerbOutcome.AUTHENTICATED
    assert events[0].hops == 3  # AS-REQ, AS-REQ with pre-authentication, TGS-REQ; not discovery
