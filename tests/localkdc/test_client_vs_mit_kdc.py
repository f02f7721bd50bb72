"""kerbfirst's own client against MIT's krb5kdc.

`kerbfirst kinit` gets a TGT (with MIT's pre-authentication round trip) and a service ticket
from a real MIT 1.20 KDC; MIT's klist reads the cache, and MIT's kvno, using the TGT we
obtained, gets another service ticket from the same KDC — so the ticket bytes and session
key we stored are exactly right.
"""

from __future__ import annotations

import pathlib
import subprocess

import pytest
from tests.store.mit_realm import REALM, mit_realm

from localkdc.conftest import KF

pytestmark = pytest.mark.peer


# MIT 1.20 realms default to supported_enctypes aes256-cts-hmac-sha1-96 and aes128-cts-hmac-sha1-96.
@pytest.mark.parametrize("enctype", ["aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"])
def test_our_kinit_against_mit_krb5kdc(tmp_path: pathlib.Path, enctype: str) -> None:
    with mit_realm(tmp_path) as realm:
        realm.run(["kadmin.local", "-q", "addprinc -pw s3cret-Pw alice"])
        realm.run(["kadmin.local", "-q", "addprinc -randkey host/srv.mit.test"])
        realm.run(["kadmin.local", "-q", "addprinc -randkey HTTP/web.mit.test"])
        cache = tmp_path / "ours.ccache"
        proc = subprocess.run(
            [
                *KF,
                "kinit",
                f"alice@{REALM}",
                "--password-stdin",
                "--ccache",
                str(cache),
                "--service",
                "host/srv.mit.test",
                "--enctype",
                enctype,
            ],
            input="s3cret-Pw\n",
            env=realm.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert proc.returncode == 0, (
            proc.stdout + proc.stderr + (tmp_path / "kdc.log").read_text()[-1500:]
        )
        shown = realm.run(["klist", "-e", "-c", f"FILE:{cache}"])
        assert f"Default principal: alice@{REALM}" in shown
        assert f"krbtgt/{REALM}@{REALM}" in shown and f"host/srv.mit.test@{REALM}" in shown
        assert f"Etype (skey, tkt): {enctype}" in shown
        realm.env["KRB5CCNAME"] = f"FILE:{cache}"
        assert "kvno = 1" in realm.run(["kvno", "HTTP/web.mit.test"])
        # A wrong password is reported as MIT reports it.
        bad = subprocess.run(
            [*KF, "kinit", f"alice@{REALM}", "--password-stdin", "--ccache", str(cache)],
            input="wrong\n",
            env=realm.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert bad.returncode != 0 and "Password incorrect" in bad.stderr, bad.stderr
