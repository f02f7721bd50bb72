"""`requests` auth for HTTP Negotiate with kerbfirst's own Kerberos (web/client_flow.py).

    requests.get(url, auth=RequestsNegotiateAuth(KerberosCredentials.from_ccache()))

On a 401 offering Negotiate the flow runs on the same connection (channel bindings from
its TLS certificate) and the final response's token is verified (MutualAuthenticationError
otherwise), as requests' own digest auth re-sends from a response hook.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlparse

import requests
from requests.auth import AuthBase

from kerbfirst.web.client_credentials import KerberosCredentials
from kerbfirst.web.client_flow import NegotiateFlow, NegotiateRefused, offers_negotiate

log = logging.getLogger(__name__)


def _peer_certificate(response: requests.Response) -> bytes | None:
    raw: Any = response.raw
    sock = getattr(getattr(raw, "connection", None), "sock", None)
    if sock is None:
        sock = getattr(getattr(getattr(getattr(raw, "_fp", None), "fp", None), "raw", None),
                       "_sock", None)
    getpeercert = getattr(sock, "getpeercert", None)
    if getpeercert is None:
        return None
    der = getpeercert(True)
    return bytes(der) if der else None


class RequestsNegotiateAuth(AuthBase):
    def __init__(self, credentials: KerberosCredentials, *, service: str = "HTTP",
                 channel_binding: bool = True) -> None:
        self.credentials = credentials
        self.service = service
        self.channel_binding = channel_binding

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.register_hook("response", self._on_response)
        return request

    def _resend(self, response: requests.Response, header: str,
                **kwargs: Any) -> requests.Response:
        _ = response.content  # consume the body so the connection is reused
        response.raw.release_conn()
        again = response.request.copy()
        again.headers["Authorization"] = header
        again.hooks = {"response": []}  # this hook drives the legs itself
        sent: requests.Response = response.connection.send(again, **kwargs)
        sent.history.append(response)
        return sent

    def _on_response(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        if response.status_code != 401 or not offers_negotiate(
                response.headers.get("www-authenticate")):
            return response
        host = urlparse(response.url).hostname or ""
        cert = _peer_certificate(response) if self.channel_binding else None
        flow = NegotiateFlow(self.credentials, host, cert, service=self.service)
        response = self._resend(response, flow.first(), **kwargs)
        while response.status_code == 401:
            try:
                header = flow.next(response.headers.get("www-authenticate"))
            except NegotiateRefused as exc:
                log.warning("%s", exc)
                return response
            response = self._resend(response, header, **kwargs)
        if response.ok:
            flow.finish(response.headers.get("www-authenticate"))
        return response


__all__ = ["RequestsNegotiateAuth"]
