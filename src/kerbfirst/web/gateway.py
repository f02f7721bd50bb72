"""The authenticating reverse proxy behind `kerbfirst http gateway`: HTTP Negotiate in
front (web/asgi.py), the upstream application behind, as Apache's mod_auth_gssapi with
mod_proxy is used for applications that cannot embed middleware.

The authenticated user goes upstream in two headers, the auth_to_local name
(`X-Remote-User` by default) and the full principal (`X-Remote-Principal`); both are
ALWAYS removed from what the client sent, whatever their case, so a client cannot claim
an identity. The client's Authorization header (its Negotiate token) is not forwarded;
hop-by-hop headers (RFC 9110 7.6.1) are dropped both ways. `/KdcProxy` (MS-KKDCP) is
served without authentication when KDC proxy realms are configured: clients need it to
get the tickets they authenticate with.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from kerbfirst.web.asgi import ASGIApp, NegotiateMiddleware
from kerbfirst.web.kkdcp import KdcProxyApp

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
    "trailer", "transfer-encoding", "upgrade", "proxy-connection",
})
DEFAULT_USER_HEADER = "X-Remote-User"
DEFAULT_PRINCIPAL_HEADER = "X-Remote-Principal"
KDC_PROXY_PATH = "/KdcProxy"


class ReverseProxy:
    """Forwards each request to `upstream` with the authenticated identity headers."""

    def __init__(self, upstream: str, *, user_header: str = DEFAULT_USER_HEADER,
                 principal_header: str = DEFAULT_PRINCIPAL_HEADER,
                 timeout: float = 30.0, client: httpx.AsyncClient | None = None) -> None:
        self.upstream = httpx.URL(upstream.rstrip("/"))
        if self.upstream.scheme not in ("http", "https"):
            raise ValueError(f"upstream {upstream!r} must be an http:// or https:// URL")
        self.user_header = user_header.lower()
        self.principal_header = principal_header.lower()
        self._strip = HOP_BY_HOP | {self.user_header, self.principal_header, "authorization",
                                    "host"}
        self.client = client or httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1"))
                   for k, v in scope.get("headers") or ()
                   if k.decode("latin-1").lower() not in self._strip]
        user = scope.get("user")
        if user is not None:
            headers.append((self.user_header, user.local_name))
            headers.append((self.principal_header, user.principal))
        client = scope.get("client")
        if client:
            headers.append(("x-forwarded-for", str(client[0])))
        headers.append(("x-forwarded-proto", str(scope.get("scheme", "http"))))
        host = next((v for k, v in scope.get("headers") or () if k == b"host"), None)
        if host is not None:
            headers.append(("x-forwarded-host", host.decode("latin-1")))
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        url = self.upstream.copy_with(raw_path=self.upstream.raw_path.rstrip(b"/") + path
                                      + (b"?" + query if query else b""))

        async def body() -> AsyncIterator[bytes]:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        request = self.client.build_request(scope["method"], url, headers=headers,
                                            content=body())
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            text = f"upstream {self.upstream} failed: {type(exc).__name__}\n".encode()
            await send({"type": "http.response.start", "status": 502,
                        "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                                    (b"content-length", str(len(text)).encode())]})
            await send({"type": "http.response.body", "body": text})
            return
        try:
            out = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                   for k, v in response.headers.multi_items()
                   if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
            await send({"type": "http.response.start", "status": response.status_code,
                        "headers": out})
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b""})
        finally:
            await response.aclose()


class Gateway:
    """`/KdcProxy` (when configured) unauthenticated, everything else through Negotiate."""

    def __init__(self, authenticated: ASGIApp, kdc_proxy: KdcProxyApp | None = None) -> None:
        self.authenticated = authenticated
        self.kdc_proxy = kdc_proxy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (self.kdc_proxy is not None and scope["type"] == "http"
                and scope.get("path") == KDC_PROXY_PATH):
            await self.kdc_proxy(scope, receive, send)
            return
        await self.authenticated(scope, receive, send)


def build_gateway(proxy: ReverseProxy, middleware_factory: Callable[[ASGIApp],
                  NegotiateMiddleware], kdc_proxy: KdcProxyApp | None = None) -> Gateway:
    return Gateway(middleware_factory(proxy), kdc_proxy)


__all__ = ["DEFAULT_PRINCIPAL_HEADER", "DEFAULT_USER_HEADER", "Gateway", "ReverseProxy",
           "build_gateway"]
