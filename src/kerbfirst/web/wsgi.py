"""WSGI middleware for HTTP Negotiate (RFC 4559): Flask, Django, any WSGI app.

    app.wsgi_app = NegotiateWSGIMiddleware(app.wsgi_app, server)

An authenticated request reaches the app with REMOTE_USER (the auth_to_local name),
KERBFIRST_PRINCIPAL (the full principal) and environ["kerbfirst.user"] (a `WebUser`); the
response gets the final `WWW-Authenticate: Negotiate <token>` (mutual authentication).

Binding a multi-leg conversation to its connection is best effort under WSGI, which has
no connection identity: the key is environ["kerbfirst.connection"] when the server or a
wrapper sets it, else (REMOTE_ADDR, REMOTE_PORT). Servers that give REMOTE_PORT (gunicorn,
waitress) bind per connection; wsgiref gives no port and closes the connection after each
request, so there only one-leg exchanges (Kerberos with its optimistic token, the usual
case) complete. Clients behind one address and no port share a key: their multi-leg
exchanges may disturb each other (each leg is still cryptographically checked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kerbfirst.web.channel_binding import application_data, certificate_der
from kerbfirst.web.negotiate import HttpRequestInfo, NegotiateServer

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class NegotiateWSGIMiddleware:
    def __init__(self, app: WSGIApp, server: NegotiateServer, *,
                 certificate: bytes | None = None) -> None:
        self.app = app
        self.server = server
        self._app_data = application_data(certificate_der(certificate)) if certificate else None

    def request_info(self, environ: Environ) -> HttpRequestInfo:
        addr = str(environ.get("REMOTE_ADDR", ""))
        port = str(environ.get("REMOTE_PORT", ""))
        connection = environ.get("kerbfirst.connection") or (addr, port)
        tls = environ.get("wsgi.url_scheme") == "https"
        return HttpRequestInfo(
            authorization=environ.get("HTTP_AUTHORIZATION"),
            connection=connection,
            client_address=f"{addr}:{port}" if port else addr,
            host=str(environ.get("HTTP_HOST") or environ.get("SERVER_NAME", "")),
            tls=tls,
            channel_binding_data=self._app_data if tls else None,
        )

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        outcome = self.server.authenticate_sync(self.request_info(environ))
        if outcome.status != 200 or outcome.user is None:
            body = (outcome.reason + "\n").encode()
            status = {401: "401 Unauthorized", 403: "403 Forbidden"}.get(
                outcome.status, f"{outcome.status} Error")
            headers = [("Content-Type", "text/plain; charset=utf-8"),
                       ("Content-Length", str(len(body)))]
            headers += [("WWW-Authenticate", v) for v in outcome.www_authenticate]
            start_response(status, headers)
            return [body]
        user = outcome.user
        environ["REMOTE_USER"] = user.local_name
        environ["KERBFIRST_PRINCIPAL"] = user.principal
        environ["AUTH_TYPE"] = "Negotiate"
        environ["kerbfirst.user"] = user
        final = [("WWW-Authenticate", v) for v in outcome.www_authenticate]

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, [*headers, *final], exc_info)

        return self.app(environ, start if final else start_response)


__all__ = ["NegotiateWSGIMiddleware"]
