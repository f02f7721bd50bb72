"""MS-KKDCP KDC proxy: MIT kinit through it (`kdc = https://.../KdcProxy`), the codec, and
the regression tests for kdcproxy's CVE-2025-59088 (open-realm SSRF) and CVE-2025-59089
(unbounded TCP read from a KDC)."""

from __future__ import annotations

import glob
import socket
import struct
import threading
import time
from pathlib import Path

import httpx
import pytest

from kerbfirst.client import AsExchange
from kerbfirst.web.kkdcp import KdcProxyApp, KkdcpError, ProxyMessage
from peerlib import free_port, peer_env, run_peer
from web.conftest import ALICE_PW, REALM, WebRealm
from web.webenv import make_tls, uvicorn_server

pytestmark = pytest.mark.peer


def _as_req() -> bytes:
    import os
    from datetime import UTC, datetime

    return AsExchange("alice", REALM, random=os.urandom, password="x").first_request(
        datetime.now(UTC))


def test_codec_round_trip_and_length_check() -> None:
    msg = ProxyMessage(b"\x6a\x03abc", "WEB.TEST", 7)
    assert ProxyMessage.decode(msg.encode()) == msg
    bad = bytearray(msg.encode())
    bad[bad.index(b"\x00\x00\x00\x05") + 3] = 9  # length prefix no longer matches
    with pytest.raises(KkdcpError, match="length prefix"):
        ProxyMessage.decode(bytes(bad))
    with pytest.raises(KkdcpError, match="KDC-PROXY-MESSAGE"):
        ProxyMessage.decode(b"\x30\x80garbage")


def test_mit_kinit_through_kdc_proxy(web_realm: WebRealm, tmp_path: Path) -> None:
    if not glob.glob("/usr/lib/*/krb5/plugins/tls/k5tls.so"):
        pytest.fail("MIT's TLS plugin is missing, so kinit cannot reach an HTTPS KDC proxy: "
                    "run `apt-get install krb5-k5tls` (or bash scripts/bootstrap.sh)",
                    pytrace=False)
    ca, cert, key = make_tls(tmp_path / "tls")
    app = KdcProxyApp({REALM: [f"127.0.0.1:{web_realm.port}"]})
    with uvicorn_server(app, ssl_cert=cert, ssl_key=key) as port:
        conf = tmp_path / "krb5.conf"
        conf.write_text(
            f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n"
            f"[realms]\n {REALM} = {{\n  http_anchors = FILE:{ca}\n"
            f"  kdc = https://localhost:{port}/KdcProxy\n }}\n")
        env = peer_env(conf, tmp_path / "cc")
        got = run_peer(["kinit", f"alice@{REALM}"], env=env, input=ALICE_PW + "\n")
        assert got.returncode == 0, got.stderr
        got = run_peer(["kvno", f"HTTP/localhost@{REALM}"], env=env)
        assert got.returncode == 0 and "kvno = " in got.stdout, got.stderr
        # a proxy whose certificate the client does not trust is not used
        conf.write_text(conf.read_text().replace(f"FILE:{ca}", f"FILE:{cert.parent}/none"))
        got = run_peer(["kinit", f"alice@{REALM}"], env=peer_env(conf, tmp_path / "cc2"),
                       input=ALICE_PW + "\n")
        assert got.returncode != 0


class _Sentinel:
    """A TCP listener that counts connections: nothing should ever reach it."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.stop = True
        self.thread.join(timeout=5)
        self.sock.close()


def test_cve_2025_59088_unconfigured_realm_is_not_resolved_or_contacted() -> None:
    sentinel = _Sentinel()
    try:
        app = KdcProxyApp({REALM: [f"tcp/127.0.0.1:{free_port()}"]})
        with uvicorn_server(app) as port:
            for realm in ("127.0.0.1", f"127.0.0.1:{sentinel.port}", "EVIL.TEST",
                          "_kerberos._tcp.example.com"):
                body = ProxyMessage(_as_req(), realm).encode()
                got = httpx.post(f"http://127.0.0.1:{port}/KdcProxy", content=body,
                                 headers={"content-type": "application/kerberos"})
                assert got.status_code == 400 and "not served" in got.text
        assert sentinel.connections == 0
    finally:
        sentinel.close()


class _HostileKdc:
    """A TCP 'KDC' that announces a huge reply and streams bytes, or trickles slowly."""

    def __init__(self, announce: int, trickle: bool) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.sent = 0
        self.announce, self.trickle = announce, trickle
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.sock.settimeout(10)
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        conn.settimeout(5)
        try:
            conn.recv(65536)
            conn.sendall(struct.pack(">I", self.announce))
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                conn.sendall(b"\x6b" * (1 if self.trickle else 65536))
                self.sent += 1 if self.trickle else 65536
                if self.trickle:
                    time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self.sock.close()
        self.thread.join(timeout=10)


@pytest.mark.parametrize("announce,trickle", [(0x7FFFFFFF, False), (60_000, True)],
                         ids=["huge-length", "slow-trickle"])
def test_cve_2025_59089_kdc_reply_is_bounded(announce: int, trickle: bool) -> None:
    kdc = _HostileKdc(announce, trickle)
    try:
        app = KdcProxyApp({REALM: [f"tcp/127.0.0.1:{kdc.port}"]}, timeout=1.5)
        with uvicorn_server(app) as port:
            start = time.monotonic()
            got = httpx.post(f"http://127.0.0.1:{port}/KdcProxy",
                             content=ProxyMessage(_as_req(), REALM).encode(), timeout=10)
            elapsed = time.monotonic() - start
        assert got.status_code == 503
        assert elapsed < 4, f"the proxy waited {elapsed:.1f}s for a hostile KDC"
    finally:
        kdc.close()
    # The proxy hung up: what the hostile KDC managed to send (mostly into the kernel's
    # socket buffers) is far below the 2 GiB it announced.
    assert kdc.sent <= 32 * 1024 * 1024


def test_oversized_body_and_wrong_method() -> None:
    app = KdcProxyApp({REALM: [f"tcp/127.0.0.1:{free_port()}"]})
    with uvicorn_server(app) as port:
        url = f"http://127.0.0.1:{port}/KdcProxy"
        assert httpx.post(url, content=b"\x30" * 200_000).status_code == 413
        assert httpx.get(url).status_code == 405
        assert httpx.post(url, content=b"not der").status_code == 400


