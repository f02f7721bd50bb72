"""What the tests of NTLM through the web layer share: the account and its password, the
stand-in application, a policy file with or without the exception for it, curl --ntlm as
the client, and the event ids a log of Windows-shaped events holds."""

from __future__ import annotations

import os
import subprocess
from datetime import date
from http.server import BaseHTTPRequestHandler
from pathlib import Path

from kerbfirst.audit.ingest import IngestStats, iter_events
from kerbfirst.gss import ntlm_crypto as nc
from peerlib import require_program

PASSWORD = "Correct horse 7!"
ACCOUNTS = {("alice", "CORP"): nc.nt_hash(PASSWORD)}


class Hello(BaseHTTPRequestHandler):
    """The application: says hello to the forwarded user."""

    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"hello {self.headers.get('X-Remote-User', '-')}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def write_policy(path: Path, *, exception: bool, expires: date) -> None:
    """An enforcing, estate-wide policy; with `exception`, EX-WEB lets CORP\\alice in from
    127.0.0.1 to localhost until `expires`. Replaced atomically, as the tool does."""
    text = 'mode = "enforce"\n[scope]\nestate = true\n'
    if exception:
        text += ('[[exception]]\nid = "EX-WEB"\ntarget = "localhost"\nclient = "127.0.0.1"\n'
                 f'user = "CORP\\\\alice"\nowner = "web-team"\nexpires = {expires.isoformat()}\n'
                 'reason = "legacy client"\ncompensating_control = "loopback only"\n')
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def curl_ntlm(port: int, user: str = "CORP\\alice", password: str = PASSWORD,
              ) -> tuple[int, str]:
    """`curl --ntlm` to http://localhost:PORT/app: (status, body)."""
    require_program("curl")
    out = subprocess.run(["curl", "-sS", "--max-time", "20", "--ntlm", "-u",
                          f"{user}:{password}", "-w", "\n%{http_code}",
                          f"http://localhost:{port}/app"],
                         capture_output=True, text=True, timeout=30, check=False)
    body, _, code = out.stdout.rpartition("\n")
    return int(code or 0), body


def event_ids(path: Path) -> list[int]:
    return [e.event_id for e in iter_events([path], stats=IngestStats(), warn=print)]
