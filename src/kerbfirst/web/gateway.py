"""The authenticating reverse proxy behind `kerbfirst http gateway`: HTTP Negotiate in
front (web/asgi.py), the upstream application behind, as Apache's mod_auth_gssapi with
mod_proxy is used for applications that cannot embed middleware.

The authenticated user goes upstream in two headers, the auth_to_local name
(`X-Remote-User` by default) and the full principal (`X-Remote-Principal`); both are
ALWAYS removed from what the client sent, whatever their case and whether spelled with
"-" or "_" (CGI, WSGI and PHP read both as HTTP_X_REMOTE_USER), so a client cannot claim
an identity; so are X-Forwarded-Proto and X-Forwarded-Host, which the gateway sets, and
RFC 7239 Forwarded, which it does not (an upstream trusting it would take the client's). The
client's Authorization header (its Negotiate token) is not forwarded; hop-by-hop headers
and the headers a Connection header lists (RFC 9110 7.6.1) are dropped both ways. The
upstream gets only what the client sent (no invented body, User-Agent or
Accept-Encoding), and its cookies are relayed, never kept for the next request.
`/KdcProxy` (MS-KKDCP) is served without authentication when KDC proxy realms are
configured: clients need it to get the tickets they authenticate with.
"""

from __future__ import annotations

import asyncio
import http.cookiejar
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, MutableMapping
from typing import Any

import httpx

from kerbfirst.web.asgi import ASGIApp, NegotiateMiddleware
from kerbfirst.web.kkdcp import KdcProxyApp
from kerbfirst.web.local_names import has_control_characters

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
DEFAULT_BODY_TIMEOUT = 30.0  # seconds the client may stall its request body or our response


def _field(name: str) -> str:
    """A header name as CGI, WSGI and PHP see it: case and "_"/"-" folded together
    (RFC 3875 4.1.18), so "X_Remote_User" is the same variable as "X-Remote-User"."""
    return name.lower().replace("_", "-")


def _connection_listed(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The field names a Connection header lists: hop-by-hop for this connection only,
    never forwarded (RFC 9110 7.6.1)."""
    return {_field(token.strip()) for name, value in headers if name.lower() == "connection"
            for token in value.split(",") if token.strip()}


class _ClientGone(Exception):
    """The client closed the connection or stalled before its request body was complete."""

    def __init__(self, stalled: bool) -> None:
        super().__init__("the client stalled its request body" if stalled
                         else "the client left before its request body was complete")
        self.stalled = stalled


class _RefuseCookies(http.cookiejar.DefaultCookiePolicy):
    """The proxy's HTTP client keeps no cookies: a Set-Cookie from the upstream belongs to
    the one client it is relayed to, never to the next request of another user."""

    def set_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: object) -> bool:
        return False


class ReverseProxy:
    """Forwards each request to `upstream` with the authenticated identity headers."""

    def __init__(self, upstream: str, *, user_header: str = DEFAULT_USER_HEADER,
                 principal_header: str = DEFAULT_PRINCIPAL_HEADER,
                 timeout: float = 30.0, body_timeout: float = DEFAULT_BODY_TIMEOUT,
                 client: httpx.AsyncClient | None = None,
                 upstream_ca: str | os.PathLike[str] | None = None) -> None:
        self.upstream = httpx.URL(upstream.rstrip("/"))
        if self.upstream.scheme not in ("http", "https"):
            raise ValueError(f"upstream {upstream!r} must be an http:// or https:// URL")
        self.user_header = user_header.lower()
        self.principal_header = principal_header.lower()
        self.body_timeout = body_timeout
        # What the gateway itself sets (identity, X-Forwarded-*) or consumes (the client's
        # Negotiate token, Expect: uvicorn answers 100-continue to the client itself).
        self._strip = {_field(n) for n in (*HOP_BY_HOP, self.user_header,
                                           self.principal_header, "authorization", "host",
                                           "expect", "x-forwarded-proto", "x-forwarded-host",
                                           "forwarded")}
        # An https upstream's certificate is verified: against the system's CAs, or only
        # against `upstream_ca` (a PEM bundle) when given, as Apache's
        # SSLProxyCACertificateFile.
        verify: ssl.SSLContext | bool = True
        if upstream_ca is not None:
            verify = ssl.create_default_context(cafile=os.fspath(upstream_ca))
        self.client = client or httpx.AsyncClient(
            timeout=timeout, follow_redirects=False, verify=verify,
            cookies=http.cookiejar.CookieJar(policy=_RefuseCookies()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        raw = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope.get("headers") or ()]
        strip = self._strip | _connection_listed(raw)
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in raw
                   if _field(k) not in strip]
        user = scope.get("user")
        if user is not None:
            names = (user.local_name, user.principal)
            if any(has_control_characters(n) for n in names):
                # A field value holds no control characters (RFC 9110 5.5); passed on, an
                # escape sequence would reach the upstream's logs and terminals.
                await _plain(send, 403, "the authenticated name contains control characters "
                             "and cannot be passed to the application\n")
                return
            # UTF-8, as mod_auth_gssapi passes a principal's name.
            headers.append((self.user_header.encode(), user.local_name.encode()))
            headers.append((self.principal_header.encode(), user.principal.encode()))
        client = scope.get("client")
        if client:
            headers.append((b"x-forwarded-for", str(client[0]).encode("latin-1")))
        headers.append((b"x-forwarded-proto", str(scope.get("scheme", "http")).encode()))
        host = next((v for k, v in raw if k == "host"), None)
        if host is not None:
            headers.append((b"x-forwarded-host", host.encode("latin-1")))
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        try:
            if not path.startswith(b"/"):
                raise httpx.InvalidURL("not a path")
            url = self.upstream.copy_with(raw_path=self.upstream.raw_path.rstrip(b"/") + path
                                          + (b"?" + query if query else b""))
        except httpx.InvalidURL:
            # The asterisk form (OPTIONS *, RFC 9112 3.2.4) names no resource upstream.
            await _plain(send, 400, "the request target is not a path the gateway can "
                         "forward\n")
            return
        # A request without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3):
        # none is invented. A Content-Length goes on as the client sent it.
        has_body = any(k in ("content-length", "transfer-encoding") for k, _ in raw)
        codings = [c.strip().lower() for k, v in raw if k == "transfer-encoding"
                   for c in v.split(",") if c.strip()]
        unknown = [c for c in codings if c != "chunked"]
        if unknown:
            # The server decoded only the chunked framing; relaying the rest as a plain body
            # would drop a coding (RFC 9112 6.1: 501 for a coding not understood).
            await _plain(send, 501, f"transfer coding {unknown[0][:40]!r} is not supported "
                         "by the gateway; send the body with chunked or Content-Length\n")
            return

        async def body() -> AsyncIterator[bytes]:
            while True:
                try:
                    async with asyncio.timeout(self.body_timeout):
                        message = await receive()
                except TimeoutError:
                    raise _ClientGone(stalled=True) from None
                if message["type"] == "http.disconnect":
                    # Ending the stream here would send a complete (chunked) message
                    # upstream with a truncated body; abort the upstream request instead.
                    raise _ClientGone(stalled=False)
                yield message.get("body", b"")
                if not message.get("more_body", False):
                    return

        # httpx.Request, not client.build_request: no client default headers (User-Agent,
        # Accept-Encoding: the client would get a compression it never asked for).
        request = httpx.Request(scope["method"], url, headers=headers,
                                content=body() if has_body else None)
        try:
            response = await self.client.send(request, stream=True)
        except _ClientGone as gone:
            if gone.stalled:
                await _plain(send, 408, f"{gone}: no data for {self.body_timeout:g} s\n")
            return
        except httpx.HTTPError as exc:
            await _plain(send, 502, f"upstream {self.upstream} failed: {type(exc).__name__}\n")
            return
        # The response is relayed while watching the client: if it goes away, or stops
        # reading for body_timeout, the upstream response is let go at once, not held for
        # ever or drained to its end (an endless stream would never end).
        relay = asyncio.ensure_future(self._relay(response, send))
        left = asyncio.ensure_future(_client_left(receive))
        try:
            await asyncio.wait({relay, left}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            relay.cancel()
            left.cancel()
            await response.aclose()
        failure = relay.exception() if relay.done() and not relay.cancelled() else None
        if failure is not None:
            raise failure  # not a client or upstream failure: a bug, for the server's log

    async def _relay(self, response: httpx.Response, send: Send) -> None:
        upstream_headers = response.headers.multi_items()
        drop = HOP_BY_HOP | _connection_listed(upstream_headers)
        # Content-Length stays: the body is relayed raw (aiter_raw), byte for byte, and a
        # HEAD response has no other way to tell it.
        out = [(k.lower().encode("latin-1"), v.encode("latin-1"))
               for k, v in upstream_headers if _field(k) not in drop]
        try:
            async with asyncio.timeout(self.body_timeout):
                await send({"type": "http.response.start", "status": response.status_code,
                            "headers": out})
            async for chunk in response.aiter_raw():
                async with asyncio.timeout(self.body_timeout):
                    await send({"type": "http.response.body", "body": chunk,
                                "more_body": True})
            async with asyncio.timeout(self.body_timeout):
                await send({"type": "http.response.body", "body": b""})
        except (httpx.HTTPError, TimeoutError, OSError):
            return  # the response started: the server closes the connection unfinished


async def _client_left(receive: Receive) -> None:
    """Returns when the client disconnects (the request body is consumed by then)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


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
