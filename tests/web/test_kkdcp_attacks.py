"""The KDC proxy attacked at the HTTP layer: a client that opens a request body and then
trickles it (or stops) must not hold the proxy's connection and its buffer forever."""

from __future__ import annotations

import socket
import time

import pytest

from kerbfirst.web.kkdcp import KdcProxyApp
from peerlib import free_port
from web.conftest import REALM
from web.webenv import uvicorn_server

pytestmark = pytest.mark.peer


@pytest.mark.parametrize("trickle", [True, False], ids=["trickle", "stall"])
def test_slow_request_body_is_cut_off(trickle: bool) -> None:
    app = KdcProxyApp({REALM: [f"tcp/127.0.0.1:{free_port()}"]}, body_timeout=1.0)
    with uvicorn_server(app) as port, socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(b"POST /KdcProxy HTTP/1.1\r\nHost: localhost\r\nContent-Type: "
                     b"application/kerberos\r\nContent-Length: 1000\r\n\r\n\x30")
        sock.settimeout(0.3)
        started = time.monotonic()
        answer = b""
        while time.monotonic() - started < 8:
            try:
                if trickle:
                    sock.sendall(b"\x00")
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert elapsed < 4, f"the proxy waited {elapsed:.1f}s for a body that never came"
