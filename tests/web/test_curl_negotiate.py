"""MIT GSSAPI's curl (`curl --negotiate -u :`) with a ticket from our LocalKDC against the
ASGI middleware under uvicorn and the WSGI middleware under wsgiref."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest

from kerbfirst.web.asgi import NegotiateMiddleware
from kerbfirst.web.wsgi import NegotiateWSGIMiddleware
from peerlib import run_peer
from web.apps import audit_lines, server_for, whoami_asgi, whoami_wsgi
from web.conftest import REALM, WebRealm
from web.webenv import uvicorn_server, wsgiref_server

pytestmark = pytest.mark.peer


def _curl(realm: WebRealm, url: str, *extra: str) -> tuple[int, str, str]:
    got = run_peer(["curl", "-sS", "-v", "--negotiate", "-u", ":", *extra, url],
                   env=realm.env())
    status = re.findall(r"^< HTTP/[\d.]+ (\d+)", got.stderr, re.M)
    return int(status[-1]) if status else 0, got.stdout, got.stderr


def test_curl_negotiate_asgi_uvicorn(web_realm: WebRealm, tmp_path: Path) -> None:
    audit = tmp_path / "web-audit.jsonl"
    server = server_for(web_realm.keytab, audit)
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port:
        status, body, log = _curl(web_realm, f"http://localhost:{port}/whoami")
    assert status == 200, log
    assert json.loads(body) == {"principal": f"alice@{REALM}", "local": "alice",
                                "mech": "kerberos"}
    # Mutual authentication: the 200 carries the acceptor's final SPNEGO token (AP-REP).
    final = re.findall(r"^< www-authenticate: Negotiate (\S+)", log, re.M | re.I)
    assert final and base64.b64decode(final[-1])[:1] == b"\xa1", log
    events = audit_lines(audit)
    assert [e["Decision"] for e in events] == ["kerberos-accepted"]
    assert events[0]["TargetUserName"] == "alice" and events[0]["TargetDomainName"] == REALM
    assert (events[0]["EventID"], events[0]["AuthenticationPackageName"],
            events[0]["LogonType"], events[0]["IpAddress"]) == (4624, "Kerberos", "3",
                                                                "127.0.0.1")
    assert server.contexts() == 0  # one leg: nothing left in the table


def test_curl_without_ticket_gets_401_challenge(web_realm: WebRealm, tmp_path: Path) -> None:
    server = server_for(web_realm.keytab)
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port:
        got = run_peer(["curl", "-sS", "-v", f"http://localhost:{port}/"], env=web_realm.env())
    assert "< HTTP/1.1 401" in got.stderr
    assert re.search(r"^< www-authenticate: Negotiate\r?$", got.stderr, re.M | re.I)
    assert "NTLM" not in got.stderr.split("< HTTP/1.1 401", 1)[1]  # NTLM not offered


def test_curl_ntlm_refused_with_audit(web_realm: WebRealm, tmp_path: Path) -> None:
    audit = tmp_path / "web-audit.jsonl"
    server = server_for(web_realm.keytab, audit)
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port:
        got = run_peer(["curl", "-sS", "-v", "--ntlm", "-u", "alice:pw",
                        f"http://localhost:{port}/"], env=web_realm.env())
    assert "< HTTP/1.1 401" in got.stderr
    assert "NTLM is refused" in got.stdout
    events = audit_lines(audit)
    assert events and events[0]["EventID"] == 4002
    assert events[0]["Status"] == "0xC0000418" and events[0]["MechanismOID"] == "(NULL)"


def test_curl_negotiate_wsgi(web_realm: WebRealm) -> None:
    rules = [r"RULE:[1:$1@$0](.*@WEB\.TEST)s/@.*/_web/"]
    server = server_for(web_realm.keytab, auth_to_local=rules)
    with wsgiref_server(NegotiateWSGIMiddleware(whoami_wsgi, server)) as port:
        status, body, log = _curl(web_realm, f"http://localhost:{port}/")
    assert status == 200, log
    assert json.loads(body) == {"principal": f"alice@{REALM}", "local": "alice_web"}
    assert re.search(r"^< www-authenticate: Negotiate \S+", log, re.M | re.I), log


def test_curl_realm_not_allowed_is_403(web_realm: WebRealm, tmp_path: Path) -> None:
    audit = tmp_path / "a.jsonl"
    server = server_for(web_realm.keytab, audit, allowed_realms=["OTHER.TEST"])
    with uvicorn_server(NegotiateMiddleware(whoami_asgi, server)) as port:
        status, _body, log = _curl(web_realm, f"http://localhost:{port}/")
    assert status == 403, log
    assert [e["Decision"] for e in audit_lines(audit)] == ["realm-not-allowed"]
