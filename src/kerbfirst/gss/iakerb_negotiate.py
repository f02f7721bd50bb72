"""The acceptor of a service that offers IAKerb both bare and inside SPNEGO.

The initiator's first token decides (RFC 2743 3.1: its GSS framing names the mechanism):
a SPNEGO NegTokenInit gets a SpnegoAcceptor carrying IAKerb and krb5 (Windows offers
IAKerb first inside SPNEGO, MS-SPNG 3.1.5.1); anything else gets a bare IakerbAcceptor,
which also takes a plain krb5 AP-REQ (a client with a service ticket, as MIT). Either way
the ForwardToKdc effects and `kdc_reply` pass straight through, so one carrier (the
sample-protocol server, an HTTP Negotiate handler) relays KDC messages for both.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kerbfirst.gss.errors import NoContext
from kerbfirst.gss.iakerb_acceptor import MAX_TOKEN, IakerbAcceptor
from kerbfirst.gss.mechanism import KdcFailure, StepResult
from kerbfirst.gss.per_message import MicContext
from kerbfirst.gss.spnego_acceptor import MechanismFactory, SpnegoAcceptor
from kerbfirst.wire.gss_framing import OID_IAKERB, OID_KRB5, OID_KRB5_MS, OID_SPNEGO
from kerbfirst.wire.spnego import framed_mech_oid

NewIakerb = Callable[[], IakerbAcceptor]
SPNEGO_OVERHEAD = 1024  # NegTokenInit/NegTokenResp fields around the mechanism token


class IakerbServiceAcceptor:
    """GSS_Accept_sec_context for IAKerb, bare or SPNEGO-carried; one per conversation."""

    def __init__(self, new_iakerb: NewIakerb, *, krb5: MechanismFactory | None = None,
                 always_mic: bool = False, max_token: int = MAX_TOKEN + SPNEGO_OVERHEAD) -> None:
        self._new_iakerb = new_iakerb
        self._max_token = max_token
        self._krb5 = krb5
        self._always_mic = always_mic
        self.inner: IakerbAcceptor | SpnegoAcceptor | None = None
        self.mech_oid = OID_IAKERB  # the carrier's mechanism once the first token is seen

    @property
    def complete(self) -> bool:
        return self.inner is not None and self.inner.complete

    @property
    def context(self) -> MicContext | None:
        return self.inner.context if self.inner is not None else None

    @property
    def iakerb(self) -> IakerbAcceptor | None:
        """The IAKerb acceptor of this conversation, if IAKerb was used."""
        if isinstance(self.inner, IakerbAcceptor):
            return self.inner
        mech = self.inner.mech if self.inner is not None else None
        return mech if isinstance(mech, IakerbAcceptor) else None

    @property
    def max_token(self) -> int:
        """The largest initiator token taken: an IAKerb token plus SPNEGO's framing; a
        carrier reads no more than this from the network."""
        return self._max_token

    def step(self, token: bytes | None, *, now: datetime) -> StepResult:
        if self.inner is None:
            if token is None:
                raise NoContext("an acceptor needs the initiator's token")
            if framed_mech_oid(token) == OID_SPNEGO:
                factories: dict[str, MechanismFactory] = {
                    OID_IAKERB: lambda oid: self._new_iakerb()}
                if self._krb5 is not None:
                    factories[OID_KRB5] = self._krb5
                    factories[OID_KRB5_MS] = self._krb5
                self.inner = SpnegoAcceptor(factories, always_mic=self._always_mic)
                self.mech_oid = OID_SPNEGO
            else:
                self.inner = self._new_iakerb()
        return self.inner.step(token, now=now)

    def kdc_reply(self, reply: bytes | KdcFailure, *, now: datetime, kdc: str = "") -> bytes:
        if self.inner is None:
            raise NoContext("no KDC exchange is pending")
        return self.inner.kdc_reply(reply, now=now, kdc=kdc)

    def abandon(self, now: datetime, reason: str = "the initiator went away") -> None:
        """The connection ended before the context was established: report it once."""
        inner = self.iakerb
        if inner is not None and not inner.complete:
            inner.abandon(now, reason)


__all__ = ["IakerbServiceAcceptor"]
