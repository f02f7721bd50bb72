"""The gateway's reverse proxy attacked as an outside checker would: forged identity
headers in every spelling a CGI/WSGI upstream folds together, Connection-listed headers,
spoofed X-Forwarded-*, one user's upstream cookies reaching another, headers and bodies the
client never sent, HEAD, truncated and stalled uploads. Clients are curl --negotiate and
MIT GSSAPI (python-gssapi) on a raw socket; the upstream is a real HTTP server."""

from __future__ import annotations

import base64
import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest

from kerbfirst.web.asgi import ASGIApp, NegotiateMiddleware
from kerbfirst.web.gateway import ReverseProxy, build_gateway
from kerbfirst.web.negotiate import NegotiateServer
from peerlib import run_peer
from web.conftest import REALM, WebRealm
from web.webenv import cli_gateway, http_upstream, uvicorn_server

pytestmark = pytest.mark.peer

_SEEN: list[dict[str, Any]] = []
_SEEN_LOCK = threading.Lock()


class _Recorder(BaseHTTPRequestHandler):
    """Records every complete request (raw header lines, body) and sets a session cookie,
    as an application behind the gateway would."""

    protocol_version = "HTTP/1.1"

    def _handle(self) -> None:
        try:
            if self.headers.get("transfer-encoding", "").lower() == "chunked":
                body = b""
                while True:
                    size = int(self.rfile.readline().strip(), 16)
                    if size == 0:
                        self.rfile.readline()
                        break
                    chunk = self.rfile.read(size + 2)
                    if len(chunk) != size + 2:
                        raise ValueError("truncated chunk")
                    body += chunk[:-2]
            else:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length)
                if len(body) != length:
                    raise ValueError("truncated body")
        except ValueError:
            self.close_connection = True
            return
        with _SEEN_LOCK:
            _SEEN.append({"method": self.command, "headers": list(self.headers.items()),
                          "body": body})
        out = b"" if self.command == "HEAD" else b"x" * 1234
        self.send_response(200)
        self.send_header("Set-Cookie", "session=first-user-secret; Path=/")
        self.send_header("Connection", "X-Backend-Internal")
        self.send_header("X-Backend-Internal", "hop")
        self.send_header("Content-Length", "1234")
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_HEAD = _handle

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _gateway(web_realm: WebRealm, **proxy_options: Any) -> Iterator[int]:
    with _SEEN_LOCK:
        _SEEN.clear()
    server = NegotiateServer.from_keytab(web_realm.keytab)

    def middleware(inner: ASGIApp) -> NegotiateMiddleware:
        return NegotiateMiddleware(inner, server)

    with http_upstream(_Recorder) as up, uvicorn_server(build_gateway(
            ReverseProxy(f"http://127.0.0.1:{up}", **proxy_options), middleware)) as port:
        yield port


def _seen() -> list[dict[str, Any]]:
    with _SEEN_LOCK:
        return list(_SEEN)


def _names(request: dict[str, Any]) -> list[str]:
    return [k.lower() for k, _ in request["headers"]]


def _values(request: dict[str, Any], name: str) -> list[str]:
    return [v for k, v in request["headers"] if k.lower() == name]


def _curl(web_realm: WebRealm, port: int, *args: str) -> str:
    got = run_peer(["curl", "-sS", "--negotiate", "-u", ":", *args,
                    f"http://localhost:{port}/app"], env=web_realm.env())
    assert got.returncode == 0, got.stderr
    return got.stdout


def test_forged_identity_in_any_spelling_never_reaches_upstream(web_realm: WebRealm) -> None:
    # CGI, PHP and WSGI servers fold "-" and "_" into the same HTTP_X_REMOTE_USER variable.
    with _gateway(web_realm) as port:
        _curl(web_realm, port, "-H", "X_Remote_User: root", "-H", "x-remote_principal: r@EVIL",
              "-H", "X-REMOTE_USER: root2", "-H", "Connection: keep-alive, X-Secret",
              "-H", "X-Secret: internal", "-H", "X-Forwarded-Proto: https",
              "-H", "X-Forwarded-Host: evil.example", "-H", "Expect: 100-continue",
              "-H", "Forwarded: for=203.0.113.7;proto=https;host=evil.example",
              "-d", "x=1")
    (request,) = _seen()
    names = _names(request)
    assert [n for n in names if n.replace("_", "-") == "x-remote-user"] == ["x-remote-user"]
    assert [n for n in names if n.replace("_", "-") == "x-remote-principal"] == [
        "x-remote-principal"]
    assert _values(request, "x-remote-user") == ["alice"], request
    assert "x-secret" not in names, "a Connection-listed header was forwarded (RFC 9110 7.6.1)"
    assert "expect" not in names
    assert "forwarded" not in names, "a client's RFC 7239 Forwarded reached the upstream"
    assert _values(request, "x-forwarded-host") == [f"localhost:{port}"], request


def test_one_users_upstream_cookies_never_reach_another_request(web_realm: WebRealm) -> None:
    with _gateway(web_realm) as port:
        first = run_peer(["curl", "-sS", "-i", "--negotiate", "-u", ":",
                          f"http://localhost:{port}/app"], env=web_realm.env())
        _curl(web_realm, port)
    assert "session=first-user-secret" in first.stdout  # the client gets its own cookie
    second = _seen()[1]
    assert "cookie" not in _names(second), (
        f"the gateway replayed an earlier response's cookie upstream: {second['headers']}")


def test_upstream_sees_only_what_the_client_sent(web_realm: WebRealm) -> None:
    with _gateway(web_realm) as port:
        _curl(web_realm, port, "-H", "User-Agent: the-client")
        headers = run_peer(["curl", "-sS", "-D", "-", "-o", "/dev/null", "--negotiate",
                            "-u", ":", f"http://localhost:{port}/app"], env=web_realm.env())
    request = _seen()[0]
    names = _names(request)
    # No invented body on a GET, no compression the client did not ask for (the
    # client would get gzip it cannot read), the client's own User-Agent.
    assert "transfer-encoding" not in names and "content-length" not in names, request
    assert "accept-encoding" not in names, request
    assert _values(request, "user-agent") == ["the-client"], request
    lower = headers.stdout.lower()
    assert "x-backend-internal" not in lower, "a Connection-listed response header leaked"
    assert "content-length: 1234" in lower


def test_head_keeps_the_upstream_content_length(web_realm: WebRealm) -> None:
    with _gateway(web_realm) as port:
        out = _curl(web_realm, port, "-I")
    assert "content-length: 1234" in out.lower(), out


def _negotiate_token(web_realm: WebRealm, monkeypatch: pytest.MonkeyPatch) -> str:
    import gssapi

    for key, value in web_realm.env().items():
        if key.startswith("KRB5"):
            monkeypatch.setenv(key, value)
    name = gssapi.Name("HTTP@localhost", gssapi.NameType.hostbased_service)
    ctx = gssapi.SecurityContext(name=name, usage="initiate",
                                 mech=gssapi.OID.from_int_seq("1.3.6.1.5.5.2"))
    return base64.b64encode(ctx.step() or b"").decode()


def _raw(port: int, head: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(head)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    out = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            out += chunk
    return out


def test_truncated_chunked_upload_is_not_delivered_as_complete(
        web_realm: WebRealm, monkeypatch: pytest.MonkeyPatch) -> None:
    token = _negotiate_token(web_realm, monkeypatch)
    with _gateway(web_realm) as port:
        sock = _raw(port, (f"POST /app HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
                           f"Negotiate {token}\r\nTransfer-Encoding: chunked\r\n\r\n"
                           "5\r\nhello\r\n").encode())
        time.sleep(0.5)
        sock.close()  # the client is gone before the last chunk
        time.sleep(1.0)
        seen = _seen()
    assert seen == [], f"a truncated upload reached the upstream as complete: {seen}"


def test_stalled_upload_times_out(web_realm: WebRealm,
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    token = _negotiate_token(web_realm, monkeypatch)
    with _gateway(web_realm, body_timeout=1.0) as port:
        sock = _raw(port, (f"POST /app HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
                           f"Negotiate {token}\r\nContent-Length: 100\r\n\r\nabc").encode())
        started = time.monotonic()
        answer = _read_all(sock)
        elapsed = time.monotonic() - started
        sock.close()
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert elapsed < 5
    assert _seen() == []


def test_upstream_down_is_a_502_naming_it(web_realm: WebRealm) -> None:
    server = NegotiateServer.from_keytab(web_realm.keytab)
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = unused.getsockname()[1]
    app = build_gateway(ReverseProxy(f"http://127.0.0.1:{dead}"),
                        lambda inner: NegotiateMiddleware(inner, server))
    with uvicorn_server(app) as port:
        got = run_peer(["curl", "-sS", "-i", "--negotiate", "-u", ":",
                        f"http://localhost:{port}/"], env=web_realm.env())
    assert got.stdout.startswith("HTTP/1.1 502"), got.stdout[:300]
    assert f"127.0.0.1:{dead}" in got.stdout


def test_cli_gateway_trusts_no_forwarding_headers_from_clients(web_realm: WebRealm,
                                                               tmp_path: Path) -> None:
    """The gateway is the edge: a client's X-Forwarded-For/-Proto must not become the
    client address the audit records and the upstream sees, nor the scheme (a plain-HTTP
    request claiming https)."""
    audit = tmp_path / "gw.jsonl"
    with _SEEN_LOCK:
        _SEEN.clear()
    with http_upstream(_Recorder) as up, cli_gateway(web_realm.keytab, up, "--audit-log",
                                                       str(audit)) as port:
        _curl(web_realm, port, "-H", "X-Forwarded-For: 203.0.113.7",
              "-H", "X-Forwarded-Proto: https")
    (request,) = _seen()
    assert _values(request, "x-forwarded-proto") == ["http"], request
    assert "203.0.113.7" not in _values(request, "x-forwarded-for")[-1:], request
    records = [json.loads(line) for line in audit.read_text().splitlines()]
    assert records and all(r.get("IpAddress", r.get("ClientIP")) == "127.0.0.1"
                           for r in records), records


def _closed_within(sock: socket.socket, seconds: float) -> tuple[bytes, float]:
    sock.settimeout(seconds)
    started = time.monotonic()
    out = b""
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            out += chunk
    return out, time.monotonic() - started


def test_cli_gateway_bounds_the_request_head_in_time_and_size(web_realm: WebRealm) -> None:
    """Slowloris (a header byte now and then), a silent connection, a header flood and
    too many fields: each connection ends, with 408 or 431, instead of being held or
    buffered without limit; a normal Negotiate request still passes."""
    with http_upstream(_Recorder) as up, cli_gateway(web_realm.keytab, up,
                                                       "--header-timeout", "1") as port:
        silent = socket.create_connection(("127.0.0.1", port))
        slow = socket.create_connection(("127.0.0.1", port))
        slow.sendall(b"GET /app HTTP/1.1\r\nHost: localhost\r\n")
        started = time.monotonic()
        answer = b""
        slow.settimeout(0.3)
        while time.monotonic() - started < 6:
            with contextlib.suppress(OSError):
                slow.sendall(b"X-A: b\r\n")
            try:
                chunk = slow.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert time.monotonic() - started < 4
        out, waited = _closed_within(silent, 6)
        assert out == b"" and waited < 4, (out, waited)

        flood = socket.create_connection(("127.0.0.1", port))
        flood.sendall(b"GET /app HTTP/1.1\r\nHost: localhost\r\n")
        with contextlib.suppress(OSError):
            for i in range(100):  # 8 MB of header fields, unless the gateway stops reading
                flood.sendall(b"X-F%d: " % i + b"a" * 80_000 + b"\r\n")
        out, _ = _closed_within(flood, 6)
        assert out.startswith(b"HTTP/1.1 431"), out[:200]

        many = socket.create_connection(("127.0.0.1", port))
        many.sendall(b"GET /app HTTP/1.1\r\nHost: localhost\r\n"
                     + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n")
        out, _ = _closed_within(many, 6)
        assert out.startswith(b"HTTP/1.1 431"), out[:200]
        for sock in (silent, slow, flood, many):
            sock.close()
        page = _curl(web_realm, port, "-H", "X-Big: " + "b" * 30_000)
    assert len(page) == 1234 and _seen()


def _kinit_new_principal(web_realm: WebRealm, tmp_path: Path, name: str) -> Path:
    """Add `name` to the realm (any octets the KDC takes) and get its TGT with MIT kinit;
    returns the ccache."""
    password = "odd name password"
    web_realm.cli.kf("principal", "add", name, "--password-stdin", stdin=password + "\n",
                     check=False)
    ccache = tmp_path / "odd.cc"
    got = run_peer(["kinit", f"{name}@{REALM}"], env=web_realm.env(ccache),
                   input=password + "\n")
    assert got.returncode == 0, got.stderr
    return ccache


@pytest.mark.parametrize("name,status,local", [("\u00e5lice", 200, "\u00e5lice"),
                                               ("x\x1by", 403, None)],
                         ids=["utf8", "control-char"])
def test_odd_principal_names_reach_upstream_intact_or_not_at_all(
        web_realm: WebRealm, tmp_path: Path, name: str, status: int, local: str | None) -> None:
    """A principal the KDC allows but a header cannot carry as is: UTF-8 goes upstream as
    UTF-8 (as mod_auth_gssapi passes it), a control character (an escape sequence into the
    upstream's logs) is refused with 403, never a 500 or a raw control byte."""
    ccache = _kinit_new_principal(web_realm, tmp_path, name)
    with _gateway(web_realm) as port:
        out = run_peer(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--negotiate",
                        "-u", ":", f"http://localhost:{port}/app"], env=web_realm.env(ccache))
    assert out.stdout == str(status), out
    seen = _seen()
    if local is None:
        assert seen == []
        return
    (request,) = seen
    raw = [v.encode("latin-1") for k, v in request["headers"] if k.lower() == "x-remote-user"]
    assert raw == [local.encode()], request


def test_asterisk_request_target_is_a_400_not_a_crash(web_realm: WebRealm,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    token = _negotiate_token(web_realm, monkeypatch)
    with _gateway(web_realm) as port:
        sock = _raw(port, (f"OPTIONS * HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
                           f"Negotiate {token}\r\nConnection: close\r\n\r\n").encode())
        answer = _read_all(sock)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    assert b"request target" in answer


def test_transfer_coding_other_than_chunked_is_501(web_realm: WebRealm,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A gzip transfer coding under chunked would reach the upstream as a plain body with
    the coding dropped (Transfer-Encoding is hop-by-hop): the gateway says it cannot."""
    token = _negotiate_token(web_realm, monkeypatch)
    with _gateway(web_realm) as port:
        sock = _raw(port, (f"POST /app HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
                           f"Negotiate {token}\r\nTransfer-Encoding: gzip, chunked\r\n"
                           "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n").encode())
        answer = _read_all(sock)
        sock.close()
    assert answer.startswith(b"HTTP/1.1 501"), answer[:200]
    assert b"gzip" in answer
    assert _seen() == []


_BIG_WRITE_ENDED: list[str] = []


class _Big(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(256 << 20))
        self.end_headers()
        try:
            for _ in range(256):
                self.wfile.write(b"z" * (1 << 20))
            _BIG_WRITE_ENDED.append("complete")
            print("COMPLETE at", time.monotonic())
        except OSError:
            _BIG_WRITE_ENDED.append("cut")

    def log_message(self, *args: object) -> None:
        pass


@pytest.mark.parametrize("leave", [False, True], ids=["stops-reading", "disconnects"])
def test_client_that_stops_reading_or_leaves_frees_the_upstream(
        web_realm: WebRealm, monkeypatch: pytest.MonkeyPatch, leave: bool) -> None:
    """A client that asks for a large response and stops reading it, or goes away: the
    gateway lets go of the upstream response (after the send timeout, or at once) instead
    of holding it for ever or draining all of it into the void."""
    _BIG_WRITE_ENDED.clear()
    token = _negotiate_token(web_realm, monkeypatch)
    server = NegotiateServer.from_keytab(web_realm.keytab)
    with http_upstream(_Big) as up, uvicorn_server(build_gateway(
            ReverseProxy(f"http://127.0.0.1:{up}", body_timeout=1.0),
            lambda inner: NegotiateMiddleware(inner, server))) as port:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.connect(("127.0.0.1", port))
        sock.sendall((f"GET /big HTTP/1.1\r\nHost: localhost\r\nAuthorization: "
                      f"Negotiate {token}\r\n\r\n").encode())
        assert sock.recv(1024).startswith(b"HTTP/1.1 200")
        if leave:
            sock.close()
        started = time.monotonic()
        while not _BIG_WRITE_ENDED and time.monotonic() - started < 8:
            time.sleep(0.05)
        elapsed = time.monotonic() - started
        sock.close()
    assert _BIG_WRITE_ENDED == ["cut"], "the upstream response was held or drained"
    assert elapsed < 5, elapsed


def test_cli_gateway_audits_a_control_character_name_as_refused(web_realm: WebRealm,
                                                                tmp_path: Path) -> None:
    """The gateway refuses such a name before it is logged as a logon: one 4625 (refused,
    naming the principal), no 4624, and the 403 the client sees."""
    name = "ctl\x07name"
    ccache = _kinit_new_principal(web_realm, tmp_path, name)
    audit = tmp_path / "gw.jsonl"
    with http_upstream(_Recorder) as up, cli_gateway(web_realm.keytab, up, "--audit-log",
                                                       str(audit)) as port:
        out = run_peer(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--negotiate",
                        "-u", ":", f"http://localhost:{port}/app"], env=web_realm.env(ccache))
    assert out.stdout == "403", out
    events = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(e["EventID"], e["Decision"]) for e in events] == [(4625, "refused")], events
    assert events[0]["TargetUserName"] == name and "control characters" in events[0]["Reason"]
