"""The SPNEGO initiator (RFC 4178 3.2, 5), a sans-I/O state machine over `MechContext`s.

    out = ini.step(None, now=now)          # framed NegTokenInit with the optimistic token
    out = ini.step(reply, now=now)         # ... NegTokenResp bytes or None, until ini.complete

The first mechanism in `mechs` is the preferred one and gets the optimistic token. A
mechanism whose first step fails (no ticket, no credential) is left out of mechTypes, as
Windows' Negotiate leaves out Kerberos when it has no ticket; if all fail, the first
mechanism's error is raised. When the acceptor selects another mechanism than the first, or
asks with request-mic, or sends a MIC, both MICs are required: an acceptor that claims
completion without a valid mechListMIC then is refused (downgrade protection, RFC 4178 5).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from kerbfirst.gss.errors import BadMechanism, DefectiveToken, GssError, NoContext
from kerbfirst.gss.mechanism import ForwardToKdc, MechContext, StepResult
from kerbfirst.gss.spnego_acceptor import MicState, SpnegoContext, defective
from kerbfirst.gss.spnego_select import NegotiationRejected, canonical_oid
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.spnego import (
    MAX_MECH_TYPES,
    NegState,
    NegTokenInit,
    NegTokenResp,
    decode_negotiation_token,
    encode_initial_token,
    encode_mech_type_list,
)


def _token(result: StepResult) -> bytes | None:
    if isinstance(result, ForwardToKdc):
        raise GssError("an initiator mechanism asked for a KDC exchange; only acceptors proxy")
    return result


class SpnegoInitiator(SpnegoContext):
    """GSS_Init_sec_context for SPNEGO over `mechs`, in the initiator's preference order."""

    def __init__(self, mechs: Sequence[MechContext]) -> None:
        oids = [m.mech_oid for m in mechs]
        if not mechs or len(mechs) > MAX_MECH_TYPES:
            raise ValueError(f"SPNEGO needs 1..{MAX_MECH_TYPES} mechanisms, got {len(mechs)}")
        if len(set(oids)) != len(oids):
            raise ValueError(f"mechanism OIDs must be distinct: {oids}")
        self._mechs = list(mechs)
        self.offered: tuple[str, ...] = ()
        self.skipped: list[tuple[str, GssError]] = []  # mechanisms left out, and why
        self.mech: MechContext | None = None  # the selected mechanism, once known
        self.mic: MicState | None = None
        self._optimistic: bytes | None = None
        self._replies = 0
        self._complete = False
        self._failed = False

    @property
    def selected(self) -> str | None:
        return self.mech.mech_oid if self.mech is not None else None

    def step(self, token: bytes | None, *, now: datetime) -> bytes | None:
        if self._complete or self._failed:
            raise NoContext("this SPNEGO initiator is complete or has failed; start a new one")
        try:
            if not self.offered:
                if token is not None:
                    raise NoContext("the initiator speaks first: call step(None)")
                return self._init(now)
            if token is None:
                raise NoContext("the acceptor's reply is needed")
            return self._reply(token, now)
        except GssError:
            self._failed = True
            raise

    def _init(self, now: datetime) -> bytes:
        usable: list[MechContext] = []
        for mech in self._mechs:
            if usable:
                usable.append(mech)
                continue
            try:  # only the first usable mechanism runs now: it makes the optimistic token
                self._optimistic = _token(mech.step(None, now=now))
                usable.append(mech)
            except GssError as exc:
                self.skipped.append((mech.mech_oid, exc))
        if not usable:
            raise self.skipped[0][1]
        self._mechs = usable
        self.offered = tuple(m.mech_oid for m in usable)
        der = encode_mech_type_list(self.offered)
        # RFC 4178 5: an initiator whose first choice is selected need not ask for MICs; it
        # verifies (and answers) one the acceptor sends anyway, as Windows acceptors do.
        self.mic = MicState(der, required=False)
        init = NegTokenInit(self.offered, mech_token=self._optimistic, mech_types_der=der)
        return encode_initial_token(init)

    def _select(self, resp: NegTokenResp, now: datetime) -> bytes | None:
        """First reply: find the acceptor's choice; start it unless it was the first."""
        if resp.supported_mech is None:
            raise DefectiveToken("the acceptor's first reply has no supportedMech "
                                 "(RFC 4178 4.2.2 requires it)")
        wanted = resp.supported_mech
        match = [m for m in self._mechs if m.mech_oid == wanted] or [
            m for m in self._mechs if canonical_oid(m.mech_oid) == canonical_oid(wanted)]
        if not match:
            raise BadMechanism(f"acceptor selected {wanted}, which this initiator did not "
                               f"offer ({', '.join(self.offered)})")
        self.mech = match[0]
        if self.mech is self._mechs[0]:
            return None
        # RFC 4178 5: not our first choice, so both sides must exchange MICs.
        if self.mic is not None:
            self.mic.required = True
        if resp.response_token is not None:
            raise DefectiveToken("acceptor answered with a mechanism token for a mechanism "
                                 "that has not started (it was not the optimistic one)")
        return _token(self.mech.step(None, now=now))

    def _reply(self, token: bytes, now: datetime) -> bytes | None:
        try:
            resp = decode_negotiation_token(token)
        except DecodeError as exc:
            raise defective("acceptor token", exc) from None
        if not isinstance(resp, NegTokenResp):
            raise DefectiveToken("acceptor sent a NegTokenInit; a NegTokenResp was expected")
        if resp.neg_state == NegState.REJECT:
            raise self._rejection(resp, now)
        first = self._replies == 0
        self._replies += 1
        out: bytes | None = None
        if first:
            out = self._select(resp, now)
        elif resp.supported_mech is not None and resp.supported_mech != self.selected:
            raise DefectiveToken(f"acceptor changed supportedMech to {resp.supported_mech}")
        mech, mic = self.mech, self.mic
        if mech is None or mic is None:
            raise NoContext("no mechanism selected")
        if resp.neg_state == NegState.REQUEST_MIC:
            if not first:
                raise DefectiveToken("request-mic is allowed only in the acceptor's first "
                                     "reply (RFC 4178 4.2.2)")
            mic.required = True
        if resp.response_token is not None:
            if mech.complete:
                raise DefectiveToken("acceptor sent a mechanism token after the mechanism "
                                     "completed")
            out = _token(mech.step(resp.response_token, now=now))
        mic_out: bytes | None = None
        context = mech.context if mech.complete else None
        if context is not None:
            if resp.mech_list_mic is not None:
                mic.verify(context, resp.mech_list_mic, now)
            mic_out = mic.make(context, now)
        elif resp.mech_list_mic is not None:
            raise DefectiveToken("mechListMIC arrived before the mechanism was established")
        if resp.neg_state == NegState.ACCEPT_COMPLETED:
            if context is None:
                raise DefectiveToken("acceptor claims completion but the mechanism context "
                                     "is not established")
            if mic.required and not mic.received:
                raise BadMechanismListUnprotected(self.offered, mech.mech_oid)
        self._complete = context is not None and mic.satisfied
        if out is None and mic_out is None:
            if not self._complete:
                raise DefectiveToken("the acceptor's reply leaves this initiator nothing to "
                                     "send and the context is not established")
            return None
        return NegTokenResp(None, None, out, mic_out).encode()

    def _rejection(self, resp: NegTokenResp, now: datetime) -> GssError:
        """negState reject: surface the mechanism's own error (e.g. its KRB-ERROR) if any."""
        mech = self.mech or self._mechs[0]
        detail = ""
        if resp.response_token is not None and not mech.complete:
            try:
                mech.step(resp.response_token, now=now)
            except GssError as exc:
                detail = f": {exc}"
        return NegotiationRejected(f"the acceptor rejected the SPNEGO negotiation{detail}")


class BadMechanismListUnprotected(NegotiationRejected):
    """The acceptor completed without the mechListMIC that a non-preferred selection needs."""

    def __init__(self, offered: tuple[str, ...], selected: str) -> None:
        super().__init__(
            f"acceptor selected {selected}, not this initiator's first choice {offered[0]}, "
            "and completed without a mechListMIC: the mechanism list is unprotected, so a "
            "downgrade cannot be ruled out (RFC 4178 5)")


__all__ = ["BadMechanismListUnprotected", "SpnegoInitiator"]
