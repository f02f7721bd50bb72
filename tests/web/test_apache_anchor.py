"""Our httpx and requests clients against the anchor server, Apache httpd with
mod_auth_gssapi (MIT's acceptor), with and without channel binding.

mod_auth_gssapi 1.6.4 (Debian 12) passes no channel bindings to gss_accept_sec_context,
so MIT's acceptor accepts any: the "with" case proves our bound tokens interoperate with
an acceptor that does not check them; the check itself is proved by our middleware's
relay test (test_clients_ours.py)."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest
import requests

from kerbfirst.web.client_credentials import KerberosCredentials
from kerbfirst.web.client_flow import MutualAuthenticationError
from kerbfirst.web.httpx_auth import HttpxNegotiateAuth
from kerbfirst.web.requests_auth import RequestsNegotiateAuth
from web.apache import apache_gssapi
from web.conftest import ALICE_PW, REALM, WebRealm
from web.webenv import make_tls

pytestmark = pytest.mark.peer


def _ccache(realm: WebRealm, tmp_path: Path) -> KerberosCredentials:
    cc = tmp_path / "cc"
    cc.write_bytes(realm.ccache.read_bytes())
    return KerberosCredentials.from_ccache(cc, kdcs=[f"127.0.0.1:{realm.port}"])


def test_httpx_and_requests_to_apache_plain(web_realm: WebRealm, tmp_path: Path) -> None:
    creds = _ccache(web_realm, tmp_path)
    with apache_gssapi(web_realm.keytab, web_realm.krb5_conf) as port:
        url = f"http://localhost:{port}/index.html"
        assert httpx.get(url).status_code == 401  # no credentials: the anchor refuses
        got = httpx.get(url, auth=HttpxNegotiateAuth(creds))
        assert got.status_code == 200 and "apache ok" in got.text
        pw = KerberosCredentials.from_password(f"alice@{REALM}", ALICE_PW,
                                               kdcs=[f"127.0.0.1:{web_realm.port}"])
        got2 = requests.get(url, auth=RequestsNegotiateAuth(pw), timeout=10)
        assert got2.status_code == 200 and "apache ok" in got2.text


@pytest.mark.parametrize("bind", [True, False], ids=["bound", "unbound"])
def test_clients_to_apache_over_tls(web_realm: WebRealm, tmp_path: Path, bind: bool) -> None:
    ca, cert, key = make_tls(tmp_path / "tls")
    creds = _ccache(web_realm, tmp_path)
    with apache_gssapi(web_realm.keytab, web_realm.krb5_conf, tls=(cert, key)) as port:
        url = f"https://localhost:{port}/index.html"
        got = httpx.get(url, auth=HttpxNegotiateAuth(creds, channel_binding=bind),
                        verify=ssl.create_default_context(cafile=ca))
        assert got.status_code == 200 and "apache ok" in got.text
        got2 = requests.get(url, auth=RequestsNegotiateAuth(creds, channel_binding=bind),
                            verify=str(ca), timeout=10)
        assert got2.status_code == 200


def test_mutual_auth_failure_detected(web_realm: WebRealm, tmp_path: Path) -> None:
    """A 200 without the acceptor's token (a server that does not hold the key, or a
    proxy that strips it) is refused by our client."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Liar(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if "Authorization" not in self.headers:
                self.send_response(401)
                self.send_header("WWW-Authenticate", "Negotiate")
            else:
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Liar)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(MutualAuthenticationError):
            httpx.get(f"http://localhost:{httpd.server_address[1]}/",
                      auth=HttpxNegotiateAuth(_ccache(web_realm, tmp_path)))
    finally:
        httpd.shutdown()
        httpd.server_close()
