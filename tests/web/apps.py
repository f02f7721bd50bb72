"""The applications the web tests put behind the middleware, and how they are built."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kerbfirst.store.keytab import keytab_key_lookup
from kerbfirst.web.audit import json_lines_sink
from kerbfirst.web.negotiate import NegotiateConfig, NegotiateServer
from web.conftest import REALM


def server_for(keytab: Path, audit: Path | None = None, **kw: Any) -> NegotiateServer:
    config = NegotiateConfig(key_lookup=keytab_key_lookup(keytab), realm=REALM,
                             audit=json_lines_sink(audit) if audit else None, **kw)
    return NegotiateServer(config)


async def whoami_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app: answers with the user the middleware put in the scope."""
    user = scope.get("user")
    body = json.dumps({"principal": getattr(user, "principal", None),
                       "local": getattr(user, "local_name", None),
                       "mech": getattr(user, "mechanism", None)}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body})


def whoami_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    body = json.dumps({"principal": environ.get("KERBFIRST_PRINCIPAL"),
                       "local": environ.get("REMOTE_USER")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def audit_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
