"""The client side of HTTP Negotiate (RFC 4559), shared by the httpx and requests auth
classes: one `NegotiateFlow` per authenticated request.

    flow = NegotiateFlow(credentials, host, peer_cert_der)  # peer cert: TLS, else None
    header = flow.first()                   # Authorization: Negotiate <token>
    header = flow.next(response_header)     # on each 401 that carries a token (IAKerb ...)
    flow.finish(final_header)               # on the success: verify the mutual-auth token

Channel bindings (RFC 5929 tls-server-end-point) are computed from the server certificate
of the TLS connection the request went over. `finish` refuses a response whose
mutual-authentication token is missing or does not verify (RFC 4559 5: the client must
check it), so a response from a server that does not hold the service key is not trusted.
"""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime

from kerbfirst.gss.errors import GssError
from kerbfirst.gss.spnego_initiator import SpnegoInitiator
from kerbfirst.web.channel_binding import application_data, gss_bindings
from kerbfirst.web.client_credentials import KerberosCredentials

MAX_LEGS = 32  # IAKerb: discovery, AS (2), TGS, AP, with referrals; far below MIT's hop cap


class NegotiateError(Exception):
    """Negotiate authentication failed; the message says at which step and why."""


class NegotiateRefused(NegotiateError):
    """The server answered the client's token with a refusal: the auth classes hand that
    401 to the caller (as requests-gssapi does) and log this reason."""


class MutualAuthenticationError(NegotiateError):
    """The server's final token is missing or does not verify: the response is not from
    the service the ticket was for."""


def token_of(header: str | None) -> bytes | None:
    """The token of a `WWW-Authenticate: Negotiate <base64>` value (several challenges may
    be joined by commas); None when there is none."""
    if not header:
        return None
    for part in header.split(","):
        scheme, _, b64 = part.strip().partition(" ")
        if scheme.lower() == "negotiate" and b64.strip():
            try:
                return base64.b64decode(b64.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise NegotiateError("the server's Negotiate token is not base64") from None
    return None


def offers_negotiate(header: str | None) -> bool:
    return bool(header) and any(p.strip().lower().split(" ")[0] == "negotiate"
                                for p in (header or "").split(","))


class NegotiateFlow:
    def __init__(self, credentials: KerberosCredentials, host: str,
                 peer_cert_der: bytes | None = None, *, service: str = "HTTP") -> None:
        self.credentials = credentials
        self.spn = f"{service}/{host}"
        cb = gss_bindings(application_data(peer_cert_der)) if peer_cert_der else None
        self.initiator: SpnegoInitiator = credentials.initiator(self.spn, channel_bindings=cb)
        self.legs = 0

    def _header(self, token: bytes | None) -> str:
        if token is None:
            raise NegotiateError("the initiator has nothing to send, yet the server wants "
                                 "another leg")
        return "Negotiate " + base64.b64encode(token).decode()

    def first(self) -> str:
        try:
            return self._header(self.initiator.step(None, now=datetime.now(UTC)))
        except GssError as exc:
            raise NegotiateError(f"could not start Negotiate for {self.spn}: {exc}") from None

    def next(self, www_authenticate: str | None) -> str:
        """The Authorization value answering a 401 (a continuation leg)."""
        self.legs += 1
        if self.legs > MAX_LEGS:
            raise NegotiateError(f"more than {MAX_LEGS} Negotiate legs")
        token = token_of(www_authenticate)
        if token is None:
            raise NegotiateRefused(f"the server refused the Negotiate authentication to "
                                   f"{self.spn} (401 without a token)")
        if self.initiator.complete:
            raise NegotiateError("the server sent another token after the context completed")
        try:
            out = self.initiator.step(token, now=datetime.now(UTC))
        except GssError as exc:
            raise NegotiateRefused(f"the server refused the authentication to {self.spn}: "
                                   f"{exc}") from None
        return self._header(out)

    def finish(self, www_authenticate: str | None) -> None:
        """Verify the final token of a successful response (mutual authentication)."""
        token = token_of(www_authenticate)
        if token is not None and not self.initiator.complete:
            try:
                out = self.initiator.step(token, now=datetime.now(UTC))
            except GssError as exc:
                raise MutualAuthenticationError(
                    f"the final token from {self.spn} does not verify: {exc}") from None
            if out is not None:
                raise MutualAuthenticationError("the server completed while the initiator "
                                                "still had a token to send")
        if not self.initiator.complete:
            raise MutualAuthenticationError(
                f"the response from {self.spn} carries no mutual-authentication token: it "
                "may not come from the service the ticket was issued for")
        self.credentials.remember(self.initiator)


__all__ = [
    "MutualAuthenticationError",
    "NegotiateError",
    "NegotiateFlow",
    "NegotiateRefused",
    "offers_negotiate",
    "token_of",
]
