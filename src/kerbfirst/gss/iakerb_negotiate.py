"""The acceptor of a service that offers IAKerb both bare and inside SPNEGO.

The initiator's first token decides (RFC 2743 3.1: its GSS framing names the mechanism):
a SPNEGO NegTokenInit gets a SpnegoAcceptor carrying IAKerb and krb5 (Windows offers
IAKerb first inside SPNEGO, MS-SPNG 3.1.5.1); anything else gets a bare IakerbAcceptor,
which also takes a plain krb5 AP-REQ (a client with a service ticket, as MIT). Either way
the ForwardToKdc effects and `kdc_reply` pass straight through, so one carrier (the
sample-protocol server, an HTTP Negotiate handler) relays KDC messages for both.

NTLM (MS-NLMP), bare (an NTLMSSP NEGOTIATE) or inside SPNEGO, is served only when the
service was given an NTLM mechanism (`ntlm`: the governed acceptor, gss/ntlm_mech.py,
which asks the NTLM policy per attempt and logs it); otherwise it is refused
(NtlmRefused), and SPNEGO never selects it while a Kerberos mechanism is offered.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kerbfirst.gss.errors import NoContext
from kerbfirst.gss.iakerb_acceptor import MAX_TOKEN, IakerbAcceptor
from kerbfirst.gss.mechanism import KdcFailure, MechContext, StepResult
from kerbfirst.gss.per_message import MicContext
from kerbfirst.gss.spnego_acceptor import MechanismFactory, SpnegoAcceptor
from kerbfirst.gss.spnego_select import NtlmRefused, NtlmRequest, NtlmVerdict, deny_ntlm
from kerbfirst.wire.gss_framing import (
    OID_IAKERB,
    OID_KRB5,
    OID_KRB5_MS,
    OID_NTLMSSP,
    OID_SPNEGO,
)
from kerbfirst.wire.ntlm import SIGNATURE as NTLMSSP_SIGNATURE
from kerbfirst.wire.spnego import framed_mech_oid

NewIakerb = Callable[[], IakerbAcceptor]
NewNtlm = Callable[[bool], MechContext]  # in SPNEGO? -> a fresh NTLM conversation
SPNEGO_OVERHEAD = 1024  # NegTokenInit/NegTokenResp fields around the mechanism token


def _no_ntlm(oid: str) -> MechContext:
    raise NtlmRefused(deny_ntlm(NtlmRequest((oid,))).reason)  # deny_ntlm's gate is first


def _policy_decides(request: NtlmRequest) -> NtlmVerdict:
    """SPNEGO may select NTLM (never over Kerberos); the governed acceptor then asks the
    NTLM policy with the whole flow, per attempt."""
    return NtlmVerdict(True, "the NTLM policy decides each attempt")


class IakerbServiceAcceptor:
    """GSS_Accept_sec_context for IAKerb, bare or SPNEGO-carried; one per conversation."""

    def __init__(self, new_iakerb: NewIakerb, *, krb5: MechanismFactory | None = None,
                 ntlm: NewNtlm | None = None, always_mic: bool = False,
                 max_token: int = MAX_TOKEN + SPNEGO_OVERHEAD) -> None:
        self._new_iakerb = new_iakerb
        self._max_token = max_token
        self._krb5 = krb5
        self._ntlm = ntlm
        self._always_mic = always_mic
        self.inner: IakerbAcceptor | SpnegoAcceptor | MechContext | None = None
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
        mech = self.inner.mech if isinstance(self.inner, SpnegoAcceptor) else None
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
                new_ntlm = self._ntlm
                # NTLMSSP is always a mechanism SPNEGO knows, so that an offer of NTLM alone
                # is refused as NTLM (by the gate, NtlmRefused), not as an unknown mechanism.
                factories[OID_NTLMSSP] = (_no_ntlm if new_ntlm is None
                                          else lambda oid: new_ntlm(True))
                self.inner = SpnegoAcceptor(
                    factories, always_mic=self._always_mic,
                    ntlm_gate=_policy_decides if self._ntlm is not None else deny_ntlm)
                self.mech_oid = OID_SPNEGO
            elif token.startswith(NTLMSSP_SIGNATURE):  # MS-NLMP 2.2.1: bare NTLM
                self.mech_oid = OID_NTLMSSP
                if self._ntlm is None:
                    reason = deny_ntlm(NtlmRequest((OID_NTLMSSP,))).reason
                    raise NtlmRefused(f"the initiator sent NTLM: {reason}")
                self.inner = self._ntlm(False)
            else:
                self.inner = self._new_iakerb()
        return self.inner.step(token, now=now)

    def kdc_reply(self, reply: bytes | KdcFailure, *, now: datetime, kdc: str = "") -> bytes:
        if not isinstance(self.inner, IakerbAcceptor | SpnegoAcceptor):
            raise NoContext("no KDC exchange is pending")
        return self.inner.kdc_reply(reply, now=now, kdc=kdc)

    def abandon(self, now: datetime, reason: str = "the initiator went away") -> None:
        """The connection ended before the context was established: report it once."""
        inner = self.iakerb
        if inner is not None and not inner.complete:
            inner.abandon(now, reason)


__all__ = ["IakerbServiceAcceptor"]
