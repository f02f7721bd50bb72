"""The web middleware's NTLM plug-in (web/ntlm_hook.py) over the governed NTLM acceptor
(gss/ntlm_mech.py): every conversation is decided by the NTLM policy and logged as Windows
logs it; NTLMv2 only, channel bindings from the TLS connection (EPA, MS-NLMP 3.1.5.2.2).

    ntlm = GovernedNtlm(NtlmMechanism(governor, random=os.urandom))
    server = NegotiateServer(NegotiateConfig(..., ntlm=ntlm))

No policy loaded, or no exception that covers the attempt under an enforcing policy: the
conversation is refused (401) and the governor writes the Windows events (4003/4625).
"""

from __future__ import annotations

from datetime import datetime

from kerbfirst.gss.logon_events import split_peer
from kerbfirst.gss.ntlm import NtlmLogonRefused
from kerbfirst.gss.ntlm_mech import NtlmMechanism, NtlmMechContext
from kerbfirst.web.ntlm_hook import NtlmContext, NtlmFlow, NtlmStep


class GovernedNtlm:
    """`NtlmAuthenticator` (web/ntlm_hook.py) over the governed acceptor."""

    def __init__(self, authenticator: NtlmMechanism) -> None:
        self.authenticator = authenticator

    def new_context(self, flow: NtlmFlow) -> NtlmContext:
        conversation = self.authenticator.conversation(
            # An exception's `client` names the address alone, not the port.
            client_address=split_peer(flow.client_address)[0] if flow.client_address else "",
            channel_bindings=flow.channel_binding_data if flow.tls else None,
            spnego=flow.scheme == "Negotiate")
        return _GovernedContext(conversation)


class _GovernedContext:
    def __init__(self, conversation: NtlmMechContext) -> None:
        self._conversation = conversation

    def step(self, token: bytes, *, now: datetime) -> NtlmStep:
        conv = self._conversation
        try:
            out = conv.step(token, now=now)
        except NtlmLogonRefused as refusal:
            return NtlmStep(None, False, None, refusal=str(refusal))
        if not conv.complete:
            return NtlmStep(out, False, None)
        return NtlmStep(out, True, conv.principal, security_context=conv.context)


__all__ = ["GovernedNtlm"]
