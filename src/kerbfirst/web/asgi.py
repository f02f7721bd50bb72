"""Pure ASGI middleware for HTTP Negotiate (RFC 4559): Starlette, FastAPI, any ASGI app.

    app = NegotiateMiddleware(app, server)          # server: web.negotiate.NegotiateServer

An authenticated request reaches the app with scope["user"] (a `WebUser`: principal,
local_name, realm, mechanism; Starlette's `request.user`), and the response gets the
final `WWW-Authenticate: Negotiate <token>` (mutual authentication). Anything else is
answered here: 401 with the challenge or the next leg's token, 403 for a realm that is not
allowed. The conversation is bound to the connection: scope["client"] (address and port)
with scope["server"], which the ASGI server gives per TCP connection.

A WebSocket handshake (scope "websocket") is authenticated the same way: the final token
is sent on the 101 that accepts it, and a refusal is the same 401/403 with its challenge
where the server supports the ASGI WebSocket denial response (uvicorn does), else a close
before accepting (403).

Channel binding (EPA) on TLS uses the server certificate from the ASGI TLS extension
(scope["extensions"]["tls"]["server_cert"]) when the server provides it, else the
`certificate` given here (the PEM the server was started with: uvicorn does not expose
it per request).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from kerbfirst.web.channel_binding import application_data, certificate_der
from kerbfirst.web.negotiate import HttpRequestInfo, NegotiateResult, NegotiateServer

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class NegotiateMiddleware:
    def __init__(self, app: ASGIApp, server: NegotiateServer, *,
                 certificate: bytes | None = None) -> None:
        self.app = app
        self.server = server
        self._app_data = application_data(certificate_der(certificate)) if certificate else None
        self._ext_cache: dict[str, bytes] = {}

    def request_info(self, scope: Scope) -> HttpRequestInfo:
        authorization = host = None
        for name, value in scope.get("headers") or ():
            if name == b"authorization" and authorization is None:
                authorization = value.decode("latin-1")
            elif name == b"host" and host is None:
                host = value.decode("latin-1")
        client = scope.get("client") or ("", 0)
        server = scope.get("server") or ("", 0)
        tls = scope.get("scheme") in ("https", "wss")
        return HttpRequestInfo(
            authorization=authorization,
            connection=(tuple(client), tuple(server) if server else None),
            client_address=f"{client[0]}:{client[1]}",
            host=host or f"{server[0]}",
            tls=tls,
            channel_binding_data=self._binding(scope) if tls else None,
        )

    def _binding(self, scope: Scope) -> bytes | None:
        tls_ext = (scope.get("extensions") or {}).get("tls") or {}
        pem = tls_ext.get("server_cert")
        if isinstance(pem, str) and pem:
            data = self._ext_cache.get(pem)
            if data is None:
                data = application_data(certificate_der(pem.encode()))
                if len(self._ext_cache) < 16:
                    self._ext_cache[pem] = data
            return data
        return self._app_data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        outcome = await self.server.authenticate(self.request_info(scope))
        if outcome.status != 200 or outcome.user is None:
            if scope["type"] == "websocket":
                await _deny_websocket(scope, send, outcome)
                return
            await _deny(send, outcome)
            return
        scope = dict(scope)
        scope["user"] = outcome.user
        final = [(b"www-authenticate", v.encode()) for v in outcome.www_authenticate]
        if not final:
            await self.app(scope, receive, send)
            return

        async def send_with_token(message: Message) -> None:
            # The final token rides on the response that completes the handshake: the
            # 200 of a request, the 101 of a WebSocket upgrade (ASGI websocket.accept).
            if message["type"] in _FINAL_TOKEN_MESSAGES:
                message = dict(message)
                message["headers"] = [*message.get("headers", ()), *final]
            await send(message)

        await self.app(scope, receive, send_with_token)


_FINAL_TOKEN_MESSAGES = frozenset({"http.response.start", "websocket.accept"})


def _denial(outcome: NegotiateResult) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = (outcome.reason + "\n").encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"),
               (b"content-length", str(len(body)).encode())]
    headers += [(b"www-authenticate", v.encode()) for v in outcome.www_authenticate]
    return body, headers


async def _deny(send: Send, outcome: NegotiateResult) -> None:
    body, headers = _denial(outcome)
    await send({"type": "http.response.start", "status": outcome.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _deny_websocket(scope: Scope, send: Send, outcome: NegotiateResult) -> None:
    """Refuse a WebSocket handshake with the same 401/403 and challenge as a request, where
    the server offers the ASGI denial-response extension; else close it before accepting
    (the server then answers 403, and the client cannot see the challenge)."""
    if "websocket.http.response" in (scope.get("extensions") or {}):
        body, headers = _denial(outcome)
        await send({"type": "websocket.http.response.start", "status": outcome.status,
                    "headers": headers})
        await send({"type": "websocket.http.response.body", "body": body})
        return
    await send({"type": "websocket.close", "code": 1008})


__all__ = ["NegotiateMiddleware"]
