"""Negotiate on a WebSocket handshake (ASGI scope "websocket"): a real client (the
`websockets` library) sends Authorization on the upgrade request to a Starlette WebSocket
route behind NegotiateMiddleware under uvicorn, with a ticket from our LocalKDC in the MIT
ccache kinit wrote. The 101 carries the mutual-authentication token; without a token, or
with a replayed one, the handshake is refused with a 401 and the Negotiate challenge."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from kerbfirst.web.asgi import NegotiateMiddleware
from kerbfirst.web.client_credentials import KerberosCredentials
from kerbfirst.web.client_flow import NegotiateFlow
from kerbfirst.web.negotiate import NegotiateServer
from web.conftest import REALM, WebRealm
from web.webenv import uvicorn_server


async def whoami(websocket: WebSocket) -> None:
    await websocket.accept()
    user = websocket.scope["user"]
    await websocket.send_text(f"{user.principal} {user.local_name} {user.mechanism}")
    await websocket.close()


@pytest.fixture(scope="module")
def ws_port(web_realm: WebRealm) -> Iterator[int]:
    app = Starlette(routes=[WebSocketRoute("/ws", whoami)])
    app.add_middleware(NegotiateMiddleware,
                       server=NegotiateServer.from_keytab(web_realm.keytab))
    with uvicorn_server(app) as port:
        yield port


def _flow(web_realm: WebRealm) -> NegotiateFlow:
    creds = KerberosCredentials.from_ccache(web_realm.ccache,
                                            kdcs=[f"127.0.0.1:{web_realm.port}"])
    return NegotiateFlow(creds, "localhost")


def test_websocket_handshake_authenticates_with_mutual_auth(web_realm: WebRealm,
                                                            ws_port: int) -> None:
    flow = _flow(web_realm)
    with connect(f"ws://localhost:{ws_port}/ws", open_timeout=10, close_timeout=5,
                 additional_headers={"Authorization": flow.first()}) as ws:
        assert ws.response is not None and ws.response.status_code == 101
        # the AP-REP on the 101 verifies against this context (mutual authentication)
        flow.finish(ws.response.headers.get("WWW-Authenticate"))
        assert ws.recv(timeout=10) == f"alice@{REALM} alice kerberos"


def test_websocket_handshake_without_token_is_refused_with_the_challenge(
        ws_port: int) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://localhost:{ws_port}/ws", open_timeout=10)
    response = refused.value.response
    assert response.status_code == 401
    assert response.headers.get("WWW-Authenticate") == "Negotiate"


def test_websocket_handshake_with_replayed_token_is_refused(web_realm: WebRealm,
                                                            ws_port: int) -> None:
    header = _flow(web_realm).first()
    with connect(f"ws://localhost:{ws_port}/ws", open_timeout=10, close_timeout=5,
                 additional_headers={"Authorization": header}) as ws:
        assert ws.recv(timeout=10).startswith(f"alice@{REALM} ")
    with pytest.raises(InvalidStatus) as refused:
        connect(f"ws://localhost:{ws_port}/ws", open_timeout=10,
                additional_headers={"Authorization": header})
    assert refused.value.response.status_code == 401
    assert b"replayed" in refused.value.response.body
