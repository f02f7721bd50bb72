"""The governed NTLM acceptor as a GSS mechanism and as an HTTP NTLM conversation: what
SPNEGO (a `MechContext`, gss/mechanism.py, for OID 1.3.6.1.4.1.311.2.2.10), the web
middleware's NTLM hook and the gss stream server drive.

    authenticator = NtlmMechanism(governor, random=os.urandom)
    conv = authenticator.conversation(client_address="192.0.2.7", channel_bindings=None)
    out = conv.step(negotiate, now=now)        # CHALLENGE
    out = conv.step(authenticate, now=now)     # None: complete; conv.principal is the user
                                               # NtlmLogonRefused: refused, events written

`random` gives the 8-byte server challenge (MS-NLMP 3.2.5.1.1); like `now`, it is passed
in. After completion `context` is the NTLM session security (sign/verify, seal/unseal)
SPNEGO's mechListMIC uses.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from kerbfirst.gss.errors import NoContext
from kerbfirst.gss.ntlm import NtlmIdentity
from kerbfirst.gss.ntlm_governed import GovernedContext, NtlmGovernor
from kerbfirst.gss.ntlm_session import NtlmSessionSecurity
from kerbfirst.wire import ntlm as w
from kerbfirst.wire.gss_framing import OID_NTLMSSP


class NtlmMechContext:
    """One NTLM exchange (NEGOTIATE -> CHALLENGE -> AUTHENTICATE), acceptor side."""

    mech_oid = OID_NTLMSSP

    def __init__(self, ctx: GovernedContext, random: Callable[[int], bytes],
                 service: str, *, spnego: bool = False) -> None:
        self._ctx = ctx
        self._spnego = spnego
        self._random = random
        self._service = service
        self._steps = 0
        self.identity: NtlmIdentity | None = None
        self._session: NtlmSessionSecurity | None = None

    @property
    def complete(self) -> bool:
        return self.identity is not None

    @property
    def context(self) -> NtlmSessionSecurity | None:
        return self._session

    @property
    def principal(self) -> str | None:
        """DOMAIN\\user, as Windows names an NTLM logon."""
        i = self.identity
        return None if i is None else f"{i.domain}\\{i.user}" if i.domain else i.user

    @property
    def governed(self) -> GovernedContext:
        return self._ctx

    def step(self, token: bytes | None, *, now: datetime) -> bytes | None:
        """CHALLENGE for the NEGOTIATE, None once the AUTHENTICATE is accepted; NtlmLogonRefused
        (gss/ntlm.py) when it is not."""
        if token is None or self.complete or self._steps >= 2:
            raise NoContext("this NTLM conversation expects no token now")
        self._steps += 1
        if self._steps == 1:
            return self._ctx.challenge(token, server_challenge=self._random(8), now=now)
        identity = self._ctx.authenticate(token, now=now)
        self.identity = identity
        if identity.flags & w.NEGOTIATE_EXTENDED_SESSIONSECURITY:
            self._session = NtlmSessionSecurity(identity.session_key, identity.flags,
                                                client=self.principal or "",
                                                service=self._service, spnego=self._spnego)
        return None


class NtlmMechanism:
    """Makes conversations for a service under one governor (policy, verifier, log)."""

    def __init__(self, governor: NtlmGovernor, *, random: Callable[[int], bytes]) -> None:
        self.governor = governor
        self._random = random

    def conversation(self, *, client_address: str = "", channel_bindings: bytes | None = None,
                     spnego: bool = False) -> NtlmMechContext:
        """`spnego`: the conversation is carried by SPNEGO, whose mechListMIC resets the
        NTLM RC4 states (gss/ntlm_session.py)."""
        ctx = self.governor.context(client_address=client_address,
                                    channel_bindings=channel_bindings)
        names = self.governor.config.service_names
        return NtlmMechContext(ctx, self._random, names[0] if names else "", spnego=spnego)
