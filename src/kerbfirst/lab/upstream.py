"""The lab's application behind the gateway: answers every GET with who the gateway says
the user is (X-Remote-User, X-Remote-Principal), so a check sees whom the request reached
the application as.

    python -m kerbfirst.lab.upstream HOST PORT
"""

from __future__ import annotations

import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        user = self.headers.get("X-Remote-User", "-")
        principal = self.headers.get("X-Remote-Principal", "-")
        body = f"hello {user} ({principal})\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    ThreadingHTTPServer((host, port), _Hello).serve_forever()


if __name__ == "__main__":
    main()
