"""`httpx.Auth` for HTTP Negotiate with kerbfirst's own Kerberos (web/client_flow.py).

    auth = HttpxNegotiateAuth(KerberosCredentials.from_ccache())
    httpx.get("https://web.example.com/", auth=auth, verify="ca.pem")

The request is sent once without credentials; on a 401 offering Negotiate, the flow runs
on the same connection (channel bindings from its TLS certificate), and the final 200's
token is verified. Works with httpx.Client and httpx.AsyncClient (the Kerberos exchanges
with a KDC, when a ticket must be got, are short blocking calls).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from typing import Any

import httpx

from kerbfirst.web.client_credentials import KerberosCredentials
from kerbfirst.web.client_flow import NegotiateFlow, NegotiateRefused, offers_negotiate

log = logging.getLogger(__name__)


def peer_certificate(response: httpx.Response) -> bytes | None:
    """The DER server certificate of the connection `response` came over, if TLS."""
    stream: Any = response.extensions.get("network_stream")
    if stream is None:
        return None
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(True)
    return bytes(der) if der else None


class HttpxNegotiateAuth(httpx.Auth):
    requires_response_body = True  # read each 401 so its connection is reused

    def __init__(self, credentials: KerberosCredentials, *, service: str = "HTTP",
                 channel_binding: bool = True) -> None:
        self.credentials = credentials
        self.service = service
        self.channel_binding = channel_binding

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        response = yield request
        if response.status_code != 401 or not offers_negotiate(
                response.headers.get("www-authenticate")):
            return
        cert = peer_certificate(response) if self.channel_binding else None
        flow = NegotiateFlow(self.credentials, request.url.host, cert, service=self.service)
        request.headers["Authorization"] = flow.first()
        response = yield request
        while response.status_code == 401:
            try:
                request.headers["Authorization"] = flow.next(
                    response.headers.get("www-authenticate"))
            except NegotiateRefused as exc:
                log.warning("%s", exc)
                return
            response = yield request
        if response.is_success:
            flow.finish(", ".join(response.headers.get_list("www-authenticate")))


__all__ = ["HttpxNegotiateAuth", "peer_certificate"]
