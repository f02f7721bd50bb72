"""Where an NTLM acceptor plugs into the HTTP Negotiate middleware (RFC 4559; MS-NTHT).

The web side refuses NTLM unless it is given an `NtlmAuthenticator`. With none (the
default), a client that offers NTLM, as a raw `NTLM` token or as NTLMSSP inside SPNEGO,
gets a 401 saying why, and an audit event records the refusal. An authenticator that is
given decides each conversation itself (the governed NTLM acceptor applies the NTLM
policy, exceptions and the channel binding check here).

The middleware calls, per HTTP conversation (one connection, as IIS binds it):

    ctx = authenticator.new_context(NtlmFlow(...))       # on the first NTLM token
    step = ctx.step(token, now=now)                      # on each token, in order
    step.out_token  -> sent in `WWW-Authenticate: <scheme> <base64>` (401 or, when
                       complete, on the 200)
    step.refusal    -> a 401 with the reason logged and audited; the context is dropped
    step.complete   -> step.principal ("user@REALM" or "DOMAIN\\user") is the user

`NtlmFlow.scheme` is the HTTP scheme the client used: "NTLM" for a bare NTLMSSP message
(`Authorization: NTLM ...`), "Negotiate" for one carried by SPNEGO (the middleware then
wraps `out_token` in SPNEGO itself; the authenticator sees NTLMSSP messages only).
`channel_binding_data` is the RFC 5929 tls-server-end-point application data
(b"tls-server-end-point:" + hash), or None on plain HTTP; `tls` tells whether the request
came over TLS, so an authenticator can require EPA (MS-NLMP 3.1.5.2.2, MsvAvChannelBindings).
`now` is passed in, as everywhere in kerbfirst's protocol code.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

from kerbfirst.gss.per_message import MicContext


@dataclass(frozen=True, slots=True)
class NtlmFlow:
    """What the middleware knows about the conversation an NTLM context serves."""

    client_address: str  # "host:port" of the TCP peer
    server_name: str  # the Host the client asked for
    spn: str  # the service principal this endpoint is, e.g. "HTTP/web.example.com"
    scheme: Literal["Negotiate", "NTLM"]
    channel_binding_data: bytes | None  # RFC 5929 application data, None without TLS
    tls: bool


@dataclass(frozen=True, slots=True)
class NtlmStep:
    """The answer to one NTLM token."""

    out_token: bytes | None  # NTLMSSP message for the client (CHALLENGE), if any
    complete: bool  # the client is authenticated
    principal: str | None  # set when complete
    refusal: str | None = None  # set when the conversation is refused: why, for the log
    # For NTLM carried in SPNEGO: the established context whose get_mic/verify_mic SPNEGO
    # uses for the mechListMIC (MS-SPNG 3.1.5.1); without it SPNEGO cannot complete.
    security_context: MicContext | None = None


class NtlmContext(Protocol):
    """One NTLM conversation (NEGOTIATE -> CHALLENGE -> AUTHENTICATE)."""

    def step(self, token: bytes, *, now: datetime) -> NtlmStep: ...


class NtlmAuthenticator(Protocol):
    """The NTLM acceptor the web middleware asks; None in the configuration = refuse."""

    def new_context(self, flow: NtlmFlow) -> NtlmContext: ...


__all__ = ["NtlmAuthenticator", "NtlmContext", "NtlmFlow", "NtlmStep"]
