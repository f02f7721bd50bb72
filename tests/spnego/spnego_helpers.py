"""Test helpers: SPNEGO initiators and acceptors over our krb5 mechanism (tickets made by
tests/gss/fixtures.py), a stand-in NTLM mechanism, and an exchange loop."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from gss.fixtures import CLIENT, NOW, REALM, counter_random, keys, lookup_for, make_ticket
from kerbfirst.gss.errors import DefectiveToken
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.mechanism import Krb5InitiatorMechanism, MechContext
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.gss.spnego_acceptor import MechanismFactory, SpnegoAcceptor, krb5_factory
from kerbfirst.gss.spnego_initiator import SpnegoInitiator
from kerbfirst.wire.gss_framing import OID_IAKERB, OID_KRB5, OID_NTLMSSP

SERVICE_KEY, SESSION_KEY = keys(18)
TICKET = make_ticket(SERVICE_KEY, SESSION_KEY)


def krb5_initiator(oid: str = OID_KRB5, *, seed: bytes = b"ini", **kw: Any) -> MechContext:
    """Our krb5 initiator behind the MechContext interface; with oid=OID_IAKERB it frames its
    AP-REQ as IAKerb's final token does (a client that already holds the service ticket)."""
    ini = Krb5Initiator(ticket=TICKET, session_key=SESSION_KEY, client=CLIENT,
                        client_realm=REALM, now=NOW, random=counter_random(seed),
                        mech_oid=oid, **kw)
    return Krb5InitiatorMechanism(ini)


class FakeNtlm:
    """A stand-in NTLM context: 3 legs (NEGOTIATE, CHALLENGE, AUTHENTICATE), no crypto."""

    def __init__(self, oid: str = OID_NTLMSSP, *, initiator: bool = True) -> None:
        self.mech_oid = oid
        self.initiator = initiator
        self.steps = 0
        self.complete = False
        self.context: Any = None

    def step(self, token: bytes | None, *, now: datetime) -> bytes | None:
        self.steps += 1
        if self.initiator:
            if token is None:
                return b"NTLMSSP\x00\x01"
            self.complete, self.context = True, object()
            return b"NTLMSSP\x00\x03"
        if token == b"NTLMSSP\x00\x01":
            return b"NTLMSSP\x00\x02"
        if token == b"NTLMSSP\x00\x03":
            self.complete, self.context = True, object()
            return None
        raise DefectiveToken(f"fake NTLM got {token!r}")


class Unusable:
    """A mechanism that must never be stepped (its token would be misread)."""

    def __init__(self, oid: str) -> None:
        self.mech_oid = oid
        self.complete = False
        self.context: Any = None

    def step(self, token: bytes | None, *, now: datetime) -> bytes | None:
        raise AssertionError(f"mechanism {self.mech_oid} must not be stepped")


def krb5_acceptor_factory(cache: ReplayCache | None = None) -> MechanismFactory:
    return krb5_factory(key_lookup=lookup_for(SERVICE_KEY), replay_cache=cache or ReplayCache(),
                        random=counter_random(b"acc"))


def acceptor(supported: Sequence[str] = (OID_KRB5,), **kw: Any) -> SpnegoAcceptor:
    factories: dict[str, MechanismFactory] = {
        OID_KRB5: krb5_acceptor_factory(), OID_IAKERB: krb5_acceptor_factory(),
        OID_NTLMSSP: lambda oid: FakeNtlm(oid, initiator=False)}  # type: ignore[arg-type,return-value]
    return SpnegoAcceptor(factories, supported=supported, **kw)


Tamper = Callable[[int, bytes], bytes]


def exchange(ini: SpnegoInitiator, acc: SpnegoAcceptor, *, now: datetime = NOW,
             tamper: Tamper | None = None, limit: int = 10) -> list[bytes]:
    """Run the exchange until a side has nothing to send; return the tokens in order
    (even indices initiator -> acceptor). `tamper(i, token)` may rewrite token i."""
    trace: list[bytes] = []
    token = ini.step(None, now=now)
    for i in range(limit):
        if token is None:
            return trace
        if tamper is not None:
            token = tamper(i, token)
        trace.append(token)
        token = acc.step(token, now=now) if i % 2 == 0 else ini.step(token, now=now)
    raise AssertionError("exchange did not finish")
