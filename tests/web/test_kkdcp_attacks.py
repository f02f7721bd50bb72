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


def test_kdc_reply_longer_than_the_proxy_relays_is_refused_on_its_length() -> None:
    """A KDC announcing a reply above the proxy's 64 KiB message cap is cut off at the
    length prefix, not read (up to the transport's general 1 MiB bound) and then dropped:
    a trickling KDC cannot hold the request until the timeout."""
    import httpx

    from kerbfirst.web.kkdcp import ProxyMessage

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(10)
    kdc_port = listener.getsockname()[1]

    def hostile() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(65536)
                conn.sendall((200_000).to_bytes(4, "big"))
                for _ in range(40):
                    conn.sendall(b"\x6b")
                    time.sleep(0.1)
            except OSError:
                pass

    import threading

    thread = threading.Thread(target=hostile, daemon=True)
    thread.start()
    as_req = b"\x6a\x03\x30\x01\x00"
    app = KdcProxyApp({REALM: [f"tcp/127.0.0.1:{kdc_port}"]}, timeout=3.0)
    try:
        with uvicorn_server(app) as port:
            started = time.monotonic()
            got = httpx.post(f"http://127.0.0.1:{port}/KdcProxy",
                             content=ProxyMessage(as_req, REALM).encode(), timeout=10)
            elapsed = time.monotonic() - started
    finally:
        listener.close()
        thread.join(timeout=10)
    assert got.status_code == 503, got.text
    assert elapsed < 2, f"the proxy read {elapsed:.1f}s of a reply it could never relay"


@pytest.mark.parametrize("realm", ["web.test", "WEB.TEST.", "WEB.TEST\x00", "WEB.TEST\x00EVIL",
                                   " WEB.TEST", "WEB.TEST/../EVIL", "WEB.TE\u0405T"])
def test_realm_spellings_near_a_configured_one_are_not_forwarded(realm: str) -> None:
    """Realm names compare exactly (RFC 4120 6.1): no case folding, no trailing-dot or NUL
    truncation, no homoglyph; the configured realm's KDC is never contacted for them."""
    import httpx

    from kerbfirst.web.kkdcp import ProxyMessage

    kdc = socket.socket()
    kdc.bind(("127.0.0.1", 0))
    kdc.listen()
    kdc.setblocking(False)
    try:
        app = KdcProxyApp({REALM: [f"tcp/127.0.0.1:{kdc.getsockname()[1]}"]}, timeout=1.0)
        with uvicorn_server(app) as port:
            got = httpx.post(f"http://127.0.0.1:{port}/KdcProxy",
                             content=ProxyMessage(b"\x6a\x03\x30\x01\x00", realm).encode())
        assert got.status_code == 400 and "not served" in got.text, got.text
        with pytest.raises(BlockingIOError):
            kdc.accept()  # nobody connected to the configured realm's KDC
    finally:
        kdc.close()
