"""IAKerb carried by SPNEGO: IAKerb offered first, the proxying acceptor's
KDC round trips passing through SpnegoAcceptor, and the mechListMIC rules when the acceptor
does not take the first choice. Both ends are kerbfirst's; the KDC is a real in-memory
LocalKDC. (MIT 1.20's SPNEGO does not offer IAKerb, so no MIT peer can play here.)"""

from __future__ import annotations

import pytest

from kdc.memory_realm import run_as
from kerbfirst.client import Credential, TgsExchange
from kerbfirst.gss.iakerb import IakerbAuditEvent, IakerbInitiator, IakerbOutcome
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.mechanism import Krb5InitiatorMechanism
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.gss.spnego_acceptor import SpnegoAcceptor, krb5_factory
from kerbfirst.gss.spnego_initiator import BadMechanismListUnprotected, SpnegoInitiator
from kerbfirst.wire.gss_framing import OID_IAKERB, OID_KRB5

from .iakerb_env import (
    ALICE_PASSWORD,
    REALM,
    SERVICE,
    T0,
    Realm,
    acceptor_for,
    converse,
    key_lookup,
    make_realm,
    realm_resolver,
)


def _iakerb(realm: Realm) -> IakerbInitiator:
    return IakerbInitiator(service=SERVICE, client="alice", realm=REALM, password=ALICE_PASSWORD,
                           random=realm.random)


def _krb5_with_ticket(realm: Realm) -> Krb5InitiatorMechanism:
    tgt = run_as(realm)
    assert isinstance(tgt, Credential)
    tgs = TgsExchange(tgt, SERVICE, random=realm.random)
    reply = realm.kdc.handle(tgs.first_request(T0), peer="t", transport="udp", now=T0)
    cred = tgs.receive(reply or b"", T0)
    return Krb5InitiatorMechanism(Krb5Initiator(
        ticket=cred.ticket, session_key=cred.session_key, client=cred.client,
        client_realm=cred.crealm, now=T0, random=realm.random))


def _acceptor(realm: Realm, supported: list[str],
              events: list[IakerbAuditEvent]) -> SpnegoAcceptor:
    cache = ReplayCache()
    factories = {
        OID_IAKERB: lambda oid: acceptor_for(realm, cache=cache, events=events),
        OID_KRB5: krb5_factory(key_lookup=key_lookup(realm), replay_cache=cache,
                               random=realm.random),
    }
    return SpnegoAcceptor(factories, supported=supported)


def test_iakerb_first_choice_through_spnego_proxies_the_kdc() -> None:
    realm = make_realm()
    events: list[IakerbAuditEvent] = []
    ini = SpnegoInitiator([_iakerb(realm), _krb5_with_ticket(realm)])
    acc = _acceptor(realm, [OID_IAKERB, OID_KRB5], events)
    kdc_before = len(realm.events)
    tokens = converse(ini, acc, realm_resolver(realm))  # type: ignore[arg-type]
    assert ini.complete and acc.complete
    assert ini.selected == acc.selected == OID_IAKERB
    # AS (pre-auth round trip) and TGS were tunnelled through SPNEGO to the KDC: 3 requests.
    assert len(realm.events) - kdc_before == 3
    assert len(tokens) >= 8
    assert [e.outcome for e in events] == [IakerbOutcome.AUTHENTICATED]
    ctx_i, ctx_a = ini.context, acc.context
    assert ctx_i is not None and ctx_a is not None
    assert ctx_a.unwrap(ctx_i.wrap(b"through spnego"), now=T0).data == b"through spnego"


def test_acceptor_without_iakerb_takes_krb5_and_both_sides_check_the_mic() -> None:
    realm = make_realm()
    ini = SpnegoInitiator([_iakerb(realm), _krb5_with_ticket(realm)])
    acc = _acceptor(realm, [OID_KRB5], [])
    converse(ini, acc, realm_resolver(realm))  # type: ignore[arg-type]
    assert ini.complete and acc.complete
    assert ini.selected == acc.selected == OID_KRB5
    # Not the initiator's first choice: RFC 4178 5 requires the mechListMIC both ways.
    assert acc.mic is not None and acc.mic.sent and acc.mic.received


def test_stripping_iakerb_from_the_offer_is_detected() -> None:
    """A man in the middle removes IAKerb from mechTypes so krb5 is 'first': the MIC over the
    list as the initiator sent it no longer matches and the context fails."""
    realm = make_realm()
    ini = SpnegoInitiator([_iakerb(realm), _krb5_with_ticket(realm)])
    acc = _acceptor(realm, [OID_KRB5], [])
    from kerbfirst.wire.spnego import (
        NegTokenInit,
        decode_initial_token,
        encode_initial_token,
    )

    def strip(i: int, token: bytes) -> bytes:
        if i != 0:
            return token
        init = decode_initial_token(token)
        assert isinstance(init, NegTokenInit)
        return encode_initial_token(NegTokenInit(mech_types=(OID_KRB5,), req_flags=None,
                                                 mech_token=None, mech_list_mic=None))

    with pytest.raises(BadMechanismListUnprotected, match="downgrade"):
        converse(ini, acc, realm_resolver(realm), tamper=strip)  # type: ignore[arg-type]
    assert not ini.complete
