"""An `NtlmContext` (web/ntlm_hook.py) behind the GSS `MechContext` interface, so the
Negotiate core drives a bare NTLM conversation and SPNEGO carries NTLMSSP the same way."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kerbfirst.gss.errors import GssError, NoContext
from kerbfirst.gss.mechanism import MechContext, StepResult
from kerbfirst.gss.per_message import MicContext
from kerbfirst.gss.spnego_select import NtlmRefused
from kerbfirst.web.ntlm_hook import NtlmAuthenticator, NtlmContext, NtlmFlow
from kerbfirst.wire.gss_framing import OID_NTLMSSP
from kerbfirst.wire.ntlm import SIGNATURE as NTLMSSP_SIGNATURE  # MS-NLMP 2.2.1


def is_ntlm_token(token: bytes) -> bool:
    return token.startswith(NTLMSSP_SIGNATURE)


class NtlmRefusedByPolicy(NtlmRefused):
    """SPNEGO selected NTLM and the NTLM authenticator then refused the conversation."""


class NtlmConversation:
    """One NTLM conversation; `refusal` is set when the authenticator refused it."""

    mech_oid = OID_NTLMSSP

    def __init__(self, context: NtlmContext, *, in_spnego: bool = False) -> None:
        self._ctx = context
        self._in_spnego = in_spnego
        self._complete = False
        self._security: MicContext | None = None
        self.principal: str | None = None
        self.refusal: str | None = None

    @property
    def complete(self) -> bool:
        return self._complete

    @property
    def context(self) -> MicContext | None:
        return self._security

    def step(self, token: bytes | None, *, now: datetime) -> StepResult:
        if token is None or self._complete or self.refusal is not None:
            raise NoContext("this NTLM conversation expects no token now")
        result = self._ctx.step(token, now=now)
        if result.refusal is not None:
            self.refusal = result.refusal
            if self._in_spnego:
                raise NtlmRefusedByPolicy(result.refusal)
            return None
        if result.complete:
            if not result.principal:
                raise GssError("the NTLM authenticator completed without a principal")
            if self._in_spnego and result.security_context is None:
                raise GssError("the NTLM authenticator gave no security context, so SPNEGO "
                               "cannot check the mechListMIC (MS-SPNG 3.1.5.1)")
            self._complete = True
            self.principal = result.principal
            self._security = result.security_context
        return result.out_token


def ntlm_mechanism_factory(authenticator: NtlmAuthenticator,
                           flow: NtlmFlow) -> Callable[[str], MechContext]:
    def make(oid: str) -> MechContext:
        return NtlmConversation(authenticator.new_context(flow), in_spnego=True)

    return make


__all__ = ["NTLMSSP_SIGNATURE", "NtlmConversation", "NtlmRefusedByPolicy", "is_ntlm_token",
           "ntlm_mechanism_factory"]
