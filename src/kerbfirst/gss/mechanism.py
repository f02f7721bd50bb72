"""The interface every GSS mechanism context offers to its carrier (SPNEGO, the sample
protocol driver, HTTP Negotiate): one `step` per token, as GSS_Init/Accept_sec_context.

    initiator: out = mech.step(None, now=now)      # first token
               out = mech.step(peer_token, now=now) # ... until mech.complete
    acceptor:  out = mech.step(peer_token, now=now)

`step` returns the token to send (bytes), None when nothing is to be sent, or, for an
IAKerb acceptor only, a `ForwardToKdc` effect: the carrier's I/O driver sends
`effect.message` to a KDC of `effect.realm` (only a realm it is configured for) and feeds
the outcome back with `mech.kdc_reply(reply_or_failure, now=now, kdc=...)`, which returns
the token to send to the peer. Failures raise kerbfirst.gss.errors.GssError; its
`output_token`, when set, is owed to the peer before closing.

`context` is the established context once `complete`: what SPNEGO's mechListMIC needs
(MicContext: get_mic/verify_mic); krb5's is a SecurityContext (also wrap/unwrap), NTLM's
is its session security. The krb5 contexts of krb5_initiator.py/krb5_acceptor.py get
thin adapters here.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Protocol, runtime_checkable

from kerbfirst.gss.errors import NoContext
from kerbfirst.gss.krb5_acceptor import Krb5Acceptor
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.per_message import MicContext, SecurityContext


@dataclasses.dataclass(frozen=True, slots=True)
class ForwardToKdc:
    """Effect: send `message` to a KDC of `realm`, then call `kdc_reply` with the result."""

    realm: str
    message: bytes = dataclasses.field(repr=False)


@dataclasses.dataclass(frozen=True, slots=True)
class KdcFailure:
    """What the driver feeds back when no KDC reply could be had. `code` is
    KRB_AP_ERR_IAKERB_KDC_NOT_FOUND (85: realm not configured on this acceptor) or
    KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE (86: no configured KDC answered in time)."""

    code: int
    reason: str


StepResult = bytes | ForwardToKdc | None


@runtime_checkable
class MechContext(Protocol):
    """A GSS context of one mechanism, either side."""

    mech_oid: str

    @property
    def complete(self) -> bool: ...

    @property
    def context(self) -> MicContext | None: ...

    def step(self, token: bytes | None, *, now: datetime) -> StepResult: ...


@runtime_checkable
class ProxyingAcceptor(MechContext, Protocol):
    """An acceptor whose `step` may return ForwardToKdc (IAKerb)."""

    def kdc_reply(self, reply: bytes | KdcFailure, *, now: datetime, kdc: str = "") -> bytes:
        """The token for the peer, built from the KDC's reply (or the failure)."""
        ...


class Krb5InitiatorMechanism:
    """Krb5Initiator behind the MechContext interface."""

    def __init__(self, initiator: Krb5Initiator) -> None:
        self.initiator = initiator
        self.mech_oid = initiator.mech_oid

    @property
    def complete(self) -> bool:
        return self.initiator.complete

    @property
    def context(self) -> SecurityContext | None:
        return self.initiator.context

    def step(self, token: bytes | None, *, now: datetime) -> StepResult:
        if token is None:
            return self.initiator.initial_token()
        if self.initiator.complete:
            raise NoContext("the krb5 context is already established; no token is expected")
        self.initiator.step(token)
        return None


class Krb5AcceptorMechanism:
    """Krb5Acceptor behind the MechContext interface (mech_oid: the OID the AP-REQ used,
    once accepted; krb5's until then)."""

    def __init__(self, acceptor: Krb5Acceptor, mech_oid: str) -> None:
        self.acceptor = acceptor
        self.mech_oid = mech_oid

    @property
    def complete(self) -> bool:
        return self.acceptor.complete

    @property
    def context(self) -> SecurityContext | None:
        return self.acceptor.context

    def step(self, token: bytes | None, *, now: datetime) -> StepResult:
        if token is None:
            raise NoContext("an acceptor needs the initiator's token")
        out = self.acceptor.step(token, now=now)
        if self.acceptor.accepted is not None:
            self.mech_oid = self.acceptor.accepted.mech_oid
        return out


__all__ = [
    "ForwardToKdc",
    "KdcFailure",
    "Krb5AcceptorMechanism",
    "Krb5InitiatorMechanism",
    "MechContext",
    "ProxyingAcceptor",
    "StepResult",
]
