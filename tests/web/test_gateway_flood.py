"""`kerbfirst http gateway` under a flood of idle connections, started as Debian starts a
process (soft open-file limit 1,024 or lower): it raises its soft limit to fit
--max-connections, so the idle sockets do not exhaust its descriptors and a real client
(curl --negotiate with a ticket from MIT kinit) is served at once instead of waiting in the
listen backlog for the head timeout; past --max-connections, requests get 503."""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler

from peerlib import run_peer
from web.conftest import WebRealm
from web.webenv import cli_gateway, http_upstream

SOFT_LIMIT = 256


class _Ok(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"upstream saw {self.headers.get('x-remote-user')}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _low_soft_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (SOFT_LIMIT, hard))


@contextlib.contextmanager
def _idle(port: int, count: int) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        yield socks
    finally:
        for s in socks:
            s.close()


def _curl(web_realm: WebRealm, port: int) -> subprocess.CompletedProcess[str]:
    return run_peer(["curl", "-sS", "--max-time", "10", "--negotiate", "-u", ":",
                     "-w", "\n%{http_code}", f"http://localhost:{port}/app"],
                    env=web_realm.env())


def test_idle_connection_flood_does_not_starve_a_real_client(web_realm: WebRealm) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= 2048, f"this test needs a hard open-file limit of 2048 (ulimit -Hn: {hard})"
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2048), hard))
    with http_upstream(_Ok) as up, cli_gateway(
            web_realm.keytab, up, "--header-timeout", "30",
            preexec_fn=_low_soft_limit) as port, _idle(port, 600):
        # 600 idle sockets: past the gateway's starting soft limit of 256, within its room.
        got = _curl(web_realm, port)
        assert got.returncode == 0, got.stderr
        assert got.stdout.endswith("\n200") and "upstream saw alice" in got.stdout, got.stdout


def test_past_max_connections_a_request_gets_503(web_realm: WebRealm) -> None:
    with http_upstream(_Ok) as up, cli_gateway(web_realm.keytab, up, "--max-connections", "20",
                                                     preexec_fn=_low_soft_limit) as port, \
            _idle(port, 25):
        got = _curl(web_realm, port)
        assert got.returncode == 0, got.stderr
        assert got.stdout.endswith("\n503"), got.stdout
    with http_upstream(_Ok) as up, cli_gateway(web_realm.keytab, up, "--max-connections", "20",
                                                     preexec_fn=_low_soft_limit) as port, \
            _idle(port, 5):
        got = _curl(web_realm, port)
        assert got.stdout.endswith("\n200"), got.stdout
