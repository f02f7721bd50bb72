"""`kerbfirst http gateway` run as a user runs it, in front of a small upstream that shows
the headers it got: curl --negotiate (MIT GSSAPI) through it, the identity headers a
client sends are stripped, and headless Chromium logs into the page with Negotiate."""

from __future__ import annotations

import html
import json
import re
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from peerlib import require_program, run_peer
from web.conftest import REALM, WebRealm
from web.webenv import cli_gateway, http_upstream, make_tls

pytestmark = pytest.mark.peer


class _Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        seen = {k.lower(): v for k, v in self.headers.items()}
        body = ("<html><body><h1 id='user'>" + html.escape(seen.get("x-remote-user", "-"))
                + "</h1><pre id='headers'>" + html.escape(json.dumps(seen))
                + "</pre></body></html>").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_curl_through_gateway_strips_forged_identity(web_realm: WebRealm,
                                                     tmp_path: Path) -> None:
    audit = tmp_path / "gw.jsonl"
    with http_upstream(_Echo) as up, \
            cli_gateway(web_realm.keytab, up, "--audit-log", str(audit)) as port:
        url = f"http://localhost:{port}/app"
        forged = run_peer(["curl", "-sS", "-H", "X-Remote-User: root", "-H",
                           "x-REMOTE-principal: root@EVIL", url], env=web_realm.env())
        assert "root" not in forged.stdout  # unauthenticated: never reaches upstream
        got = run_peer(["curl", "-sS", "--negotiate", "-u", ":", "-H", "X-Remote-User: root",
                        "-H", "x-REMOTE-principal: root@EVIL", url], env=web_realm.env())
    assert got.returncode == 0, got.stderr
    headers = json.loads(html.unescape(re.search(r"<pre id='headers'>(.*)</pre>",
                                                 got.stdout).group(1)))  # type: ignore[union-attr]
    assert headers["x-remote-user"] == "alice"
    assert headers["x-remote-principal"] == f"alice@{REALM}"
    assert "root" not in json.dumps(headers) and "authorization" not in headers
    assert headers["x-forwarded-host"].startswith("localhost:")
    lines = [json.loads(x) for x in audit.read_text().splitlines()]
    assert [x["Decision"] for x in lines] == ["kerberos-accepted"]


def test_chromium_logs_in_through_gateway(web_realm: WebRealm, tmp_path: Path) -> None:
    """Chromium on Linux loads its GSSAPI library only once its profile has seen a
    Negotiate challenge (the local-state pref received_negotiate_header, read when the
    network service starts): the first run records it and shows the 401 page, the second
    run, same profile, logs in. The DOM of the page behind the gateway is the check."""
    chromium = require_program("chromium")
    args = [chromium, "--headless", "--no-sandbox", "--disable-gpu",
            "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
            "--auth-server-allowlist=localhost", "--disable-auth-negotiate-cname-lookup",
            "--dump-dom"]
    env = web_realm.env(HOME=str(tmp_path))
    with http_upstream(_Echo) as up, cli_gateway(web_realm.keytab, up) as port:
        url = f"http://localhost:{port}/"
        first = run_peer([*args, url], env=env, timeout=60)
        second = run_peer([*args, url], env=env, timeout=60)
    assert "authentication required" in first.stdout, first.stdout[-1000:]
    assert '<h1 id="user">alice</h1>' in second.stdout, (second.stdout[-2000:],
                                                         second.stderr[-2000:])
    assert f"alice@{REALM}" in second.stdout


def test_gateway_tls_epa_kdc_proxy_and_iakerb(web_realm: WebRealm, tmp_path: Path) -> None:
    """The gateway with every option a remote user needs: TLS with EPA required, /KdcProxy
    for MIT kinit, and IAKerb for a client that reaches no KDC at all."""
    import ssl

    import httpx

    from kerbfirst.web.client_credentials import KerberosCredentials
    from kerbfirst.web.httpx_auth import HttpxNegotiateAuth
    from peerlib import peer_env
    from web.conftest import ALICE_PW

    ca, cert, key = make_tls(tmp_path / "tls")
    route = f"{REALM}=127.0.0.1:{web_realm.port}"
    with http_upstream(_Echo) as up, cli_gateway(
            web_realm.keytab, up, "--tls-cert", str(cert), "--tls-key", str(key), "--epa",
            "required", "--kkdcp-realm", route) as port:
        conf = tmp_path / "krb5.conf"
        conf.write_text(f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n"
                        f"[realms]\n {REALM} = {{\n  http_anchors = FILE:{ca}\n"
                        f"  kdc = https://localhost:{port}/KdcProxy\n }}\n")
        got = run_peer(["kinit", f"alice@{REALM}"], env=peer_env(conf, tmp_path / "cc"),
                       input=ALICE_PW + "\n")
        assert got.returncode == 0, got.stderr
        tls = ssl.create_default_context(cafile=ca)
        url = f"https://localhost:{port}/"
        creds = KerberosCredentials.from_ccache(tmp_path / "cc")  # no KDC: TGT only
        page = httpx.get(url, auth=HttpxNegotiateAuth(creds), verify=tls)
        assert page.status_code == 200 and '<h1 id=\'user\'>alice</h1>' in page.text
        assert creds.last_mechanism == "iakerb"  # the service ticket came through the gateway
        unbound = httpx.get(url, auth=HttpxNegotiateAuth(
            KerberosCredentials.from_ccache(tmp_path / "cc"), channel_binding=False),
            verify=tls)
        assert unbound.status_code == 401


def test_https_upstream_is_verified_against_the_given_ca(web_realm: WebRealm,
                                                         tmp_path: Path) -> None:
    """An https --upstream is verified: with --upstream-ca naming its CA, curl gets the
    page; with the system's CAs only (which never signed it), 502 and nothing forwarded."""
    ca, cert, key = make_tls(tmp_path / "up-tls")
    with http_upstream(_Echo, tls=(cert, key)) as up:
        with cli_gateway(web_realm.keytab, up, "--upstream-ca", str(ca),
                         upstream_scheme="https") as port:
            got = run_peer(["curl", "-sS", "--negotiate", "-u", ":", "-w", "\n%{http_code}",
                            f"http://localhost:{port}/app"], env=web_realm.env())
        assert got.stdout.endswith("\n200") and "id='user'>alice<" in got.stdout, got
        with cli_gateway(web_realm.keytab, up, upstream_scheme="https") as port:
            got = run_peer(["curl", "-sS", "--negotiate", "-u", ":", "-w", "\n%{http_code}",
                            f"http://localhost:{port}/app"], env=web_realm.env())
        assert got.stdout.endswith("\n502") and "alice" not in got.stdout, got
