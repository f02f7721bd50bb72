"""SPNEGO (RFC 4178) as sans-I/O state machines: the acceptor here, the initiator in
spnego_initiator.py, mechanism selection and NTLM refusal in spnego_select.py.

Both sides speak the `MechContext` interface (gss/mechanism.py) and carry any mechanism that
does: kerbfirst's krb5 and IAKerb. kerbfirst has no NTLM mechanism; NTLM in an initiator's
list is refused unless the acceptor's NTLM gate allows it and the caller supplied a factory.
The exchange, as MIT krb5 and Windows run it:

    I -> A  60.. SPNEGO | NegTokenInit { mechTypes, mechToken = optimistic token of mechTypes[0] }
    A -> I  NegTokenResp { negState, supportedMech, responseToken }     first reply
    ... NegTokenResp { responseToken, mechListMIC } both ways until both sides are complete

The mechListMIC is a MIC of the selected mechanism over the DER of mechTypes as the initiator
sent it (RFC 4178 5). It is exchanged, and verified, whenever the selected mechanism was not
the initiator's first choice, whenever the peer sent one (MIT: "if we got a MIC, we must send
a MIC") and, with `always_mic`, always (Windows sends one whenever the mechanism offers
integrity, MS-SPNG 3.1.5.1). A side that needed the peer's MIC never completes without a
valid one: that is what stops an attacker from deleting the initiator's preferred mechanism
from the list to force a weaker one.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import datetime, timedelta

from kerbfirst.gss.errors import BadMechanism, BadMic, DefectiveToken, GssError, NoContext
from kerbfirst.gss.krb5_acceptor import DEFAULT_SKEW, Krb5Acceptor
from kerbfirst.gss.krb5_initiator import Random
from kerbfirst.gss.mechanism import ForwardToKdc, KdcFailure, Krb5AcceptorMechanism, MechContext
from kerbfirst.gss.per_message import MicContext
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.gss.spnego_select import (
    NegotiationRejected,
    NtlmGate,
    canonical_oid,
    deny_ntlm,
    select_mechanism,
)
from kerbfirst.krb.rd_req import KeyLookup
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.gss_framing import OID_IAKERB, OID_KRB5, OID_KRB5_MS, OID_SPNEGO
from kerbfirst.wire.spnego import (
    NegState,
    NegTokenInit,
    NegTokenResp,
    decode_initial_token,
    decode_negotiation_token,
    framed_mech_oid,
)

# Builds the acceptor-side context of one mechanism; called with the OID as the initiator
# spelled it (so that Microsoft's krb5 OID is echoed back).
MechanismFactory = Callable[[str], MechContext]


class MicState:
    """The mechListMIC bookkeeping both sides share (RFC 4178 5; MIT's handle_mic)."""

    def __init__(self, mech_types_der: bytes, *, required: bool) -> None:
        self.mech_types_der = mech_types_der
        self.required = required
        self.sent = False
        self.received = False

    def verify(self, context: MicContext, mic: bytes, now: datetime) -> None:
        if self.received:
            raise DefectiveToken("peer sent a second mechListMIC (RFC 4178 5 allows one)")
        try:
            context.verify_mic(self.mech_types_der, mic, now=now)
        except GssError as exc:
            # A sequence error counts too: the MIC is the first per-message token each way.
            raise BadMic(
                f"mechListMIC does not verify ({exc}): the mechanism list was altered in "
                "transit, so a downgrade is possible; the negotiation is refused (RFC 4178 5)"
            ) from None
        self.received = True
        self.required = True  # MIT: a side that got a MIC sends one back

    def make(self, context: MicContext, now: datetime) -> bytes | None:
        if not self.required or self.sent:
            return None
        self.sent = True
        return context.get_mic(self.mech_types_der, now=now)

    @property
    def satisfied(self) -> bool:
        return not self.required or (self.sent and self.received)


def defective(what: str, exc: DecodeError) -> DefectiveToken:
    return DefectiveToken(f"{what} is not a valid SPNEGO token (RFC 4178 4.2): {exc}")


class SpnegoContext:
    """What both SPNEGO sides expose as a GSS-API mechanism (RFC 4178): whether the
    negotiation is complete, and then the selected mechanism's security context."""

    mech_oid = OID_SPNEGO
    mech: MechContext | None
    _complete: bool

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def context(self) -> MicContext | None:
        return self.mech.context if self._complete and self.mech is not None else None


class SpnegoAcceptor(SpnegoContext):
    """GSS_Accept_sec_context for SPNEGO. One object per context.

    `factories` maps canonical mechanism OIDs (krb5, IAKerb) to context builders;
    `supported` lists the OIDs this acceptor allows, in its preference order (default: the
    factories' order). NTLM is used only as spnego_select.py allows.

    `step(token, now=)` returns the token to send (None: nothing to send), or, when the
    selected mechanism is a proxying IAKerb acceptor, its `ForwardToKdc` effect, answered
    with `kdc_reply`. On failure it raises a GssError whose `output_token` is the
    NegTokenResp reject (carrying the mechanism's own error token, e.g. a KRB-ERROR).
    """

    def __init__(
        self, factories: Mapping[str, MechanismFactory], *, supported: Sequence[str] | None = None,
        ntlm_gate: NtlmGate = deny_ntlm, always_mic: bool = False,
        prefer_acceptor_order: bool = False,
    ) -> None:
        self._factories = {canonical_oid(k): v for k, v in factories.items()}
        self.supported = tuple(supported) if supported is not None else tuple(self._factories)
        missing = [o for o in self.supported if canonical_oid(o) not in self._factories]
        if missing:
            raise ValueError(f"SpnegoAcceptor supports {missing} but has no factory for them")
        self._ntlm_gate = ntlm_gate
        self._always_mic = always_mic
        self._prefer_acceptor_order = prefer_acceptor_order
        self.offered: tuple[str, ...] = ()
        self.selected: str | None = None  # the OID as the initiator spelled it
        self.first_choice = False
        self.mech: MechContext | None = None
        self.mic: MicState | None = None
        self._replies = 0
        self._complete = False
        self._failed = False
        self._pending_mic: bytes | None = None  # a MIC that arrived with a token that forwards

    def step(self, token: bytes | None, *, now: datetime) -> bytes | ForwardToKdc | None:
        if self._complete or self._failed:
            raise NoContext("this SPNEGO acceptor is complete or has failed; start a new one")
        if token is None:
            raise NoContext("an acceptor needs the initiator's token")
        try:
            if self.mech is None:
                return self._first(token, now)
            return self._next(token, now)
        except GssError as exc:
            self._fail(exc)
            raise

    def kdc_reply(self, reply: bytes | KdcFailure, *, now: datetime, kdc: str = "") -> bytes:
        """Pass the KDC's answer to a proxying mechanism (IAKerb) and wrap its token."""
        kdc_reply = getattr(self.mech, "kdc_reply", None)
        if kdc_reply is None or self._complete or self._failed:
            raise NoContext("no KDC exchange is pending in this SPNEGO context")
        try:
            out = kdc_reply(reply, now=now, kdc=kdc)
            mic, self._pending_mic = self._pending_mic, None
            result = self._after_mech(out, mic, now)
        except GssError as exc:
            self._fail(exc)
            raise
        if result is None:
            raise DefectiveToken("the mechanism produced no token from the KDC's reply")
        return result

    def _fail(self, exc: GssError) -> None:
        # MIT sends a reject NegTokenResp carrying the mechanism's error token (a KRB-ERROR).
        self._failed = True
        resp = NegTokenResp(NegState.REJECT, self.selected if self._replies == 0 else None,
                            exc.output_token)
        exc.output_token = resp.encode()

    def _first(self, token: bytes, now: datetime) -> bytes | ForwardToKdc | None:
        try:
            init = decode_initial_token(token)
        except DecodeError as exc:
            other = framed_mech_oid(token)
            if other is not None and other != OID_SPNEGO:
                raise BadMechanism(f"token is a bare {other} token, not SPNEGO (RFC 4178 4.2): "
                                   "the client must use the SPNEGO mechanism") from None
            raise defective("initial token", exc) from None
        if not isinstance(init, NegTokenInit):
            raise DefectiveToken("the first SPNEGO token is a NegTokenResp; a NegTokenInit "
                                 "was expected (RFC 4178 4.2.1)")
        self.offered = init.mech_types
        chosen = select_mechanism(init.mech_types, self.supported, ntlm_gate=self._ntlm_gate,
                                  prefer_acceptor_order=self._prefer_acceptor_order)
        self.selected = chosen.mech_oid
        self.first_choice = chosen.position == 0
        self.mech = self._factories[canonical_oid(chosen.mech_oid)](chosen.mech_oid)
        self.mic = MicState(init.mech_types_bytes(),
                            required=self._always_mic or not self.first_choice)
        if not self.first_choice:
            # RFC 4178 3.2: the optimistic token (and any MIC made with its key) belongs to a
            # mechanism that was not selected and is discarded.
            return self._after_mech(None, None, now)
        out: bytes | ForwardToKdc | None = None
        if init.mech_token is not None:
            out = self.mech.step(init.mech_token, now=now)
        if isinstance(out, ForwardToKdc):
            self._pending_mic = init.mech_list_mic
            return out
        return self._after_mech(out, init.mech_list_mic, now)

    def _next(self, token: bytes, now: datetime) -> bytes | ForwardToKdc | None:
        mech = self.mech
        if mech is None:
            raise NoContext("no mechanism selected")
        try:
            resp = decode_negotiation_token(token)
        except DecodeError as exc:
            raise defective("initiator token", exc) from None
        if not isinstance(resp, NegTokenResp):
            raise DefectiveToken("initiator sent a second NegTokenInit; a NegTokenResp was "
                                 "expected (RFC 4178 4.2.2)")
        if resp.neg_state == NegState.REJECT:
            raise NegotiationRejected("the initiator rejected the negotiation")
        if resp.supported_mech is not None and resp.supported_mech != self.selected:
            raise DefectiveToken(f"initiator names mechanism {resp.supported_mech}; "
                                 f"{self.selected} was selected")
        out: bytes | ForwardToKdc | None = None
        if resp.response_token is not None:
            if mech.complete:
                raise DefectiveToken("initiator sent a mechanism token after the mechanism "
                                     "completed")
            out = mech.step(resp.response_token, now=now)
        elif not mech.complete:
            raise DefectiveToken("initiator sent no mechanism token, and the mechanism "
                                 "needs one")
        if isinstance(out, ForwardToKdc):
            self._pending_mic = resp.mech_list_mic
            return out
        return self._after_mech(out, resp.mech_list_mic, now)

    def _after_mech(self, out: bytes | None, mic_in: bytes | None,
                    now: datetime) -> bytes | None:
        mech, mic = self.mech, self.mic
        if mech is None or mic is None:
            raise NoContext("no mechanism selected")
        mic_out: bytes | None = None
        context = mech.context if mech.complete else None
        if context is not None:
            if mic_in is not None:
                mic.verify(context, mic_in, now)
            mic_out = mic.make(context, now)
            self._complete = mic.satisfied
        elif mic_in is not None:
            raise DefectiveToken("mechListMIC arrived before the mechanism was established")
        first = self._replies == 0
        self._replies += 1
        if self._complete and not first and out is None and mic_out is None:
            return None  # the initiator's MIC closed the exchange; MIT sends nothing here
        if self._complete:
            state = NegState.ACCEPT_COMPLETED
        elif first and not self.first_choice:
            state = NegState.REQUEST_MIC  # RFC 4178 4.2.2, MIT's negotiate_mech
        else:
            state = NegState.ACCEPT_INCOMPLETE
        return NegTokenResp(state, self.selected if first else None, out, mic_out).encode()


def krb5_factory(
    *, key_lookup: KeyLookup, replay_cache: ReplayCache, random: Random,
    clock_skew: timedelta = DEFAULT_SKEW, service: str | None = None,
    accepted_oids: Collection[str] = (OID_KRB5, OID_KRB5_MS, OID_IAKERB),
) -> MechanismFactory:
    """A factory of krb5 acceptor contexts for SpnegoAcceptor. The AP-REQ may be framed with
    the krb5, Microsoft krb5 or IAKerb OID: MIT accepts all three for the final AP-REQ."""

    def make(oid: str) -> MechContext:
        acceptor = Krb5Acceptor(key_lookup=key_lookup, replay_cache=replay_cache,
                                random=random, clock_skew=clock_skew, service=service,
                                accepted_oids=accepted_oids)
        return Krb5AcceptorMechanism(acceptor, oid)

    return make


__all__ = ["MechanismFactory", "MicState", "SpnegoAcceptor", "krb5_factory"]
