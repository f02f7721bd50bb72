"""`kerbfirst realm trust add|list` and the cross-realm settings of kerbfirst.toml."""

from __future__ import annotations

from pathlib import Path

from kerbfirst.app.realm_config import load_config
from localkdc.conftest import CliRealm


def test_trust_add_records_keys_kdcs_and_domains(tmp_path: Path) -> None:
    realm = CliRealm(tmp_path / "r", 0)
    realm.kf("realm", "init", "--realm", "OURS.TEST")
    out = realm.kf(
        "realm", "trust", "add", "OTHER.TEST", "--password-stdin", "-e", "aes256-cts",
        "--kdc", "127.0.0.1:8888", "--domain", ".Other.Test", stdin="shared-secret-1\n",
    )
    assert "added krbtgt/OTHER.TEST@OURS.TEST" in out and "added krbtgt/OURS.TEST@OTHER.TEST" in out
    listed = realm.kf("realm", "trust", "list")
    assert "outgoing OTHER.TEST: krbtgt/OTHER.TEST@OURS.TEST kvno 1" in listed
    assert "incoming OTHER.TEST: krbtgt/OURS.TEST@OTHER.TEST kvno 1" in listed
    cfg = load_config(realm.directory)
    assert cfg.cross_realm.realms == {"OTHER.TEST": ["127.0.0.1:8888"]}
    assert cfg.cross_realm.policy().host_realm("svc.other.test") == "OTHER.TEST"
    conf = (realm.directory / "krb5.conf").read_text()
    assert "    OTHER.TEST = {\n        kdc = 127.0.0.1:8888\n    }" in conf
    assert "[domain_realm]\n    .other.test = OTHER.TEST" in conf
    # The same trust twice is refused, not silently re-keyed (the other KDC would differ).
    again = realm.kf("realm", "trust", "add", "OTHER.TEST", "--random", check=False)
    assert "already exists" in again


def test_trust_with_ourselves_and_foreign_principals_are_refused(tmp_path: Path) -> None:
    realm = CliRealm(tmp_path / "r", 0)
    realm.kf("realm", "init", "--realm", "OURS.TEST")
    out = realm.kf("realm", "trust", "add", "OURS.TEST", "--random", check=False)
    assert "is this realm" in out
    out = realm.kf("realm", "trust", "add", "X.TEST", "--random", "--kdc", "kdc:port", check=False)
    assert "--kdc 'kdc:port'" in out and not realm.kf("realm", "trust", "list").strip()
    out = realm.kf("principal", "add", "alice@OTHER.TEST", "--random", check=False)
    assert "only krbtgt/OURS.TEST@OTHER, a trust's key, is kept" in out


def test_capaths_in_kerbfirst_toml(tmp_path: Path) -> None:
    realm = CliRealm(tmp_path / "r", 0)
    realm.kf("realm", "init", "--realm", "OURS.TEST")
    toml = realm.directory / "kerbfirst.toml"
    toml.write_text(toml.read_text() + '\n[capaths."C.TEST"]\n"OURS.TEST" = ["B.TEST"]\n')
    policy = load_config(realm.directory).cross_realm.policy()
    assert policy.transit_refusal("C.TEST", "OURS.TEST", ("B.TEST",)) is None
    assert policy.transit_refusal("C.TEST", "OURS.TEST", ("X.TEST",)) is not None
    toml.write_text(toml.read_text() + '\n[capaths."D.TEST"]\n"OURS.TEST" = "B.TEST"\n')
    out = realm.kf("realm", "show", check=False)
    assert "must be a list of strings" in out
