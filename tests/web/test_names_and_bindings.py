"""auth_to_local (MIT's RULE/DEFAULT subset), allowed realms, and the RFC 5929
tls-server-end-point hash per certificate signature algorithm."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from kerbfirst.gss.checksum import ChannelBindings
from kerbfirst.web.channel_binding import (
    BindingPolicy,
    EpaMode,
    application_data,
    certificate_der,
    end_point_hash,
)
from kerbfirst.web.local_names import AuthToLocal, RuleError, principal_realm, realm_allowed
from web.webenv import make_tls


def test_default_rule_maps_only_single_component_default_realm() -> None:
    a = AuthToLocal(["DEFAULT"], default_realm="EXAMPLE.COM")
    assert a.local_name("alice@EXAMPLE.COM") == "alice"
    assert a.local_name("alice@OTHER.COM") is None
    assert a.local_name("alice/admin@EXAMPLE.COM") is None


def test_rules_in_order_with_selection_and_substitutions() -> None:
    a = AuthToLocal([r"RULE:[2:$1%$2@$0](.*%admin@EXAMPLE\.COM)s/%admin@.*//",
                     r"RULE:[1:$1@$0](.*@CORP\.EXAMPLE)s/@.*//s/^/corp-/",
                     r"RULE:[1:$1](a.*)s/a/A/g", "DEFAULT"], default_realm="EXAMPLE.COM")
    assert a.local_name("bob/admin@EXAMPLE.COM") == "bob"
    assert a.local_name("bob/web@EXAMPLE.COM") is None  # selection must match all of it
    assert a.local_name("carol@CORP.EXAMPLE") == "corp-carol"
    assert a.local_name("anna@ELSEWHERE") == "AnnA"  # g: every match
    assert a.local_name("zed@EXAMPLE.COM") == "zed"  # falls through to DEFAULT
    amp = AuthToLocal([r"RULE:[1:$1](.*)s/.*/u_&/"], default_realm="X")
    assert amp.local_name("joe@X") == "u_joe"


@pytest.mark.parametrize("rule", ["RULE:[0:$1]", "RULE:[1:$2](x)", "RULE:[1:$1](x)s/a/b",
                                  "LOCAL", "RULE:[1:$1]((x)"])
def test_bad_rules_are_refused_with_a_reason(rule: str) -> None:
    with pytest.raises(RuleError, match="auth_to_local"):
        AuthToLocal([rule], default_realm="X")


def test_allowed_realms_compare_exactly() -> None:
    assert realm_allowed("a@EXAMPLE.COM", None)
    assert realm_allowed("a@EXAMPLE.COM", ["EXAMPLE.COM"])
    assert not realm_allowed("a@example.com", ["EXAMPLE.COM"])


def test_the_realm_of_a_name_is_after_the_unescaped_at() -> None:
    """What reaches the app as request.user.realm: MIT's unparse escapes '@' and '/' in a
    component and in the realm, so the last '@' is not always the separator."""
    assert principal_realm("a@EXAMPLE.COM") == "EXAMPLE.COM"
    assert principal_realm("a\\@b@EXAMPLE.COM") == "EXAMPLE.COM"
    assert principal_realm("a@B\\@C") == "B@C"
    assert principal_realm("svc/h@A\\/B") == "A/B"
    assert realm_allowed("a@B\\@C", ["B@C"]) and not realm_allowed("a@B\\@C", ["C"])


@pytest.mark.parametrize("algorithm,digest", [("rsa-sha256", "sha256"), ("rsa-sha384", "sha384"),
                                              ("rsa-sha1", "sha256"), ("ecdsa-sha512", "sha512")])
def test_tls_server_end_point_hash(tmp_path: Path, algorithm: str, digest: str) -> None:
    """RFC 5929 4.1: the signature's hash, except MD5 and SHA-1 become SHA-256."""
    if algorithm == "rsa-sha1":  # cryptography no longer signs with SHA-1; OpenSSL does
        cert = tmp_path / "c.pem"
        got = subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                              "-keyout", str(tmp_path / "k.pem"), "-out", str(cert), "-subj",
                              "/CN=localhost", "-sha1", "-days", "1"], capture_output=True,
                             timeout=60, check=False)
        assert got.returncode == 0, got.stderr
    else:
        _, cert, _ = make_tls(tmp_path, algorithm=algorithm)
    der = certificate_der(cert.read_bytes())
    assert end_point_hash(der) == hashlib.new(digest, der).digest()
    assert application_data(der) == b"tls-server-end-point:" + hashlib.new(digest, der).digest()


def test_binding_policy_modes() -> None:
    data = b"tls-server-end-point:" + bytes(32)
    assert BindingPolicy(EpaMode.OFF).for_request(data) == (None, False)
    assert BindingPolicy(EpaMode.WHEN_SUPPORTED).for_request(None) == (None, False)
    assert BindingPolicy(EpaMode.WHEN_SUPPORTED).for_request(data) == (
        ChannelBindings(application_data=data), False)
    assert BindingPolicy(EpaMode.REQUIRED).for_request(data) == (
        ChannelBindings(application_data=data), True)
    refusal = BindingPolicy(EpaMode.REQUIRED).for_request(None)
    assert isinstance(refusal, str) and "TLS" in refusal
