"""The SQLite principal store: contract, admin operations, at-rest sealing, MIT key parity."""

from __future__ import annotations

import pathlib
import sqlite3
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from tests.store.peers import ktutil_keytab, python_env, run_mit

from kerbfirst.crypto import SUPPORTED_ETYPES, UnsupportedEnctype, get_profile
from kerbfirst.krb.database import PrincipalDatabase
from kerbfirst.store.keytab import read_keytab, write_keytab
from kerbfirst.store.masterkey import create_master_key
from kerbfirst.store.principals import (
    PrincipalExists,
    PrincipalNotFound,
    SqlitePrincipalStore,
    StoreError,
)

REALM = "DEMO.TEST"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.fixture
def master_key(tmp_path: pathlib.Path) -> bytes:
    return create_master_key(tmp_path / "master.key")


@pytest.fixture
def store(tmp_path: pathlib.Path, master_key: bytes) -> SqlitePrincipalStore:
    return SqlitePrincipalStore(tmp_path / "principals.db", master_key, realm=REALM)


def test_is_a_principal_database(store: SqlitePrincipalStore) -> None:
    db: PrincipalDatabase = store  # mypy checks the Protocol; runtime checks behaviour
    assert db.get_principal("nobody@DEMO.TEST") is None


def test_add_and_get(store: SqlitePrincipalStore) -> None:
    info = store.add_principal("alice", password="Secret123", now=NOW)
    assert (info.name, info.kvno, info.etypes) == ("alice@DEMO.TEST", 1, SUPPORTED_ETYPES)
    entry = store.get_principal("alice@DEMO.TEST")
    assert entry is not None
    assert [(k.kvno, k.etype) for k in entry.keys] == [(1, e) for e in SUPPORTED_ETYPES]
    assert all(k.salt == b"DEMO.TESTalice" for k in entry.keys)
    assert all(len(k.contents) == get_profile(k.etype).key_size for k in entry.keys)
    assert entry.requires_preauth and not entry.disabled
    assert "contents" not in repr(entry) and entry.keys[0].contents.hex() not in repr(entry)
    with pytest.raises(PrincipalExists):
        store.add_principal("alice@DEMO.TEST", password="x", now=NOW)
    with pytest.raises(StoreError, match="realm"):
        store.add_principal("bob@OTHER.TEST", password="x", now=NOW)


def test_random_keys_differ_and_keep_the_default_salt(store: SqlitePrincipalStore) -> None:
    store.add_principal("host/a.demo.test", etypes=(18,), now=NOW)
    store.add_principal("host/b.demo.test", etypes=(18,), now=NOW)
    a = store.get_principal("host/a.demo.test@DEMO.TEST")
    b = store.get_principal("host/b.demo.test@DEMO.TEST")
    assert a is not None and b is not None
    assert a.keys[0].contents != b.keys[0].contents
    assert a.keys[0].salt == b"DEMO.TESThosta.demo.test"


def test_only_aes_enctypes(store: SqlitePrincipalStore) -> None:
    with pytest.raises(UnsupportedEnctype):
        store.add_principal("old", password="x", etypes=(23,), now=NOW)
    assert store.get_principal("old@DEMO.TEST") is None


def test_no_password_is_stored(tmp_path: pathlib.Path, store: SqlitePrincipalStore) -> None:
    store.add_principal("alice", password="CorrectHorseBatteryStaple", now=NOW)
    entry = store.get_principal("alice@DEMO.TEST")
    assert entry is not None
    store.close()
    for f in tmp_path.iterdir():
        raw = f.read_bytes()
        assert b"CorrectHorseBatteryStaple" not in raw
        for k in entry.keys:  # keys are sealed, not stored in clear
            assert k.contents not in raw
        if f.name.startswith("principals.db"):
            assert stat.S_IMODE(f.stat().st_mode) == 0o600


def test_keys_equal_mit_ktutil(tmp_path: pathlib.Path, store: SqlitePrincipalStore) -> None:
    """MIT derives the same keys from the same password and default salt (all four etypes)."""
    names = {18: "aes256-cts-hmac-sha1-96", 17: "aes128-cts-hmac-sha1-96",
             20: "aes256-cts-hmac-sha384-192", 19: "aes128-cts-hmac-sha256-128"}
    principals = [("alice", "Secret123"), ("HTTP/web.demo.test", "p\u00e4ss w\u00f6rd")]
    rows = []
    for name, password in principals:
        store.add_principal(name, password=password, now=NOW)
        rows += [(f"{name}@{REALM}", 1, names[e], password) for e in SUPPORTED_ETYPES]
    keytab = ktutil_keytab(tmp_path, rows)
    mit = {(e.principal.unparse(), e.etype): e.key for e in read_keytab(keytab)}
    assert len(mit) == 8
    for name, _ in principals:
        entry = store.get_principal(f"{name}@{REALM}")
        assert entry is not None
        for k in entry.keys:
            assert k.contents == mit[(entry.name, k.etype)], (entry.name, k.etype)


def test_exported_keytab_is_read_by_klist(
    tmp_path: pathlib.Path, store: SqlitePrincipalStore
) -> None:
    store.add_principal("host/srv.demo.test", now=NOW)
    store.rekey("host/srv.demo.test", now=NOW)
    entries = store.keytab_entries("host/srv.demo.test", now=NOW, all_kvnos=True)
    write_keytab(tmp_path / "kt", entries)
    out = run_mit(["klist", "-k", "-e", "-K", str(tmp_path / "kt")], tmp_path).stdout
    entry = store.get_principal("host/srv.demo.test@DEMO.TEST")
    assert entry is not None
    for k in entry.keys:
        assert f"(0x{k.contents.hex()})" in out
    assert out.count("host/srv.demo.test@DEMO.TEST") == 8


def test_rekey_keeps_old_kvnos(store: SqlitePrincipalStore) -> None:
    store.add_principal("svc", now=NOW)
    seen = []
    for expected in range(2, 7):
        info = store.rekey("svc", keep_old=2, now=NOW)
        assert info.kvno == expected
        assert info.kvnos == tuple(range(expected, max(0, expected - 3), -1))
        entry = store.get_principal("svc@DEMO.TEST")
        assert entry is not None and entry.keys[0].kvno == expected
        seen.append(entry.keys[0].contents)
    assert len(set(seen)) == len(seen)
    info = store.rekey("svc", password="now-a-password", keep_old=0, etypes=(18,), now=NOW)
    assert (info.kvno, info.kvnos, info.etypes) == (7, (7,), (18,))
    with pytest.raises(PrincipalNotFound):
        store.rekey("ghost", now=NOW)


def test_set_attributes_and_delete(store: SqlitePrincipalStore) -> None:
    store.add_principal("alice", password="x", max_life=timedelta(hours=1), now=NOW)
    later = NOW + timedelta(days=1)
    info = store.set_attributes(
        "alice", disabled=True, expires=later, max_renewable_life=timedelta(days=2), now=later
    )
    assert info.disabled and info.expires == later and info.modified == later
    assert info.max_life == timedelta(hours=1)  # untouched attributes stay
    entry = store.get_principal("alice@DEMO.TEST")
    assert entry is not None and entry.disabled and entry.expires == later
    store.set_attributes("alice", expires=None, now=later)
    assert store.get_info("alice").expires is None
    assert [i.name for i in store.list_principals()] == ["alice@DEMO.TEST"]
    store.delete_principal("alice")
    assert store.get_principal("alice@DEMO.TEST") is None
    assert store.list_principals() == []
    with pytest.raises(PrincipalNotFound):
        store.delete_principal("alice")
    with pytest.raises(PrincipalNotFound):
        store.set_attributes("alice", disabled=False, now=NOW)


def test_list_has_no_key_material(store: SqlitePrincipalStore) -> None:
    store.add_principal("alice", password="x", now=NOW)
    entry = store.get_principal("alice@DEMO.TEST")
    assert entry is not None
    text = repr(store.list_principals())
    assert all(k.contents.hex() not in text for k in entry.keys)


def test_lockout_bookkeeping(tmp_path: pathlib.Path, master_key: bytes) -> None:
    store = SqlitePrincipalStore(
        tmp_path / "db", master_key, realm=REALM, failure_count_interval=timedelta(minutes=10)
    )
    store.add_principal("alice", password="x", now=NOW)
    for i in range(3):
        store.record_preauth_failure("alice@DEMO.TEST", NOW + timedelta(minutes=i))
    entry = store.get_principal("alice@DEMO.TEST")
    assert entry is not None
    assert (entry.fail_count, entry.last_failed) == (3, NOW + timedelta(minutes=2))
    # After a quiet period longer than the interval the count restarts (MIT lockout.c).
    store.record_preauth_failure("alice@DEMO.TEST", NOW + timedelta(hours=1))
    entry = store.get_principal("alice@DEMO.TEST")
    assert entry is not None and entry.fail_count == 1
    store.record_preauth_success("alice@DEMO.TEST", NOW)
    entry = store.get_principal("alice@DEMO.TEST")
    assert entry is not None and entry.fail_count == 0
    store.record_preauth_failure("nobody@DEMO.TEST", NOW)  # unknown: ignored, no error


def test_success_with_zero_count_does_not_write(store: SqlitePrincipalStore) -> None:
    store.add_principal("alice", password="x", now=NOW)
    before = store._db.total_changes
    for _ in range(100):
        store.record_preauth_success("alice@DEMO.TEST", NOW)
    assert store._db.total_changes == before


def test_cache_sees_other_connections(tmp_path: pathlib.Path, master_key: bytes) -> None:
    kdc = SqlitePrincipalStore(tmp_path / "db", master_key, realm=REALM)
    admin = SqlitePrincipalStore(tmp_path / "db", master_key, realm=REALM)
    assert kdc.get_principal("alice@DEMO.TEST") is None  # the miss is cached...
    admin.add_principal("alice", password="x", now=NOW)
    entry = kdc.get_principal("alice@DEMO.TEST")  # ...and invalidated by data_version
    assert entry is not None and entry.keys[0].kvno == 1
    admin.rekey("alice", password="y", now=NOW)
    entry = kdc.get_principal("alice@DEMO.TEST")
    assert entry is not None and entry.keys[0].kvno == 2
    admin.record_preauth_failure("alice@DEMO.TEST", NOW)
    entry = kdc.get_principal("alice@DEMO.TEST")
    assert entry is not None and entry.fail_count == 1
    # and another *process*
    code = (
        "import sys; from kerbfirst.store.principals import SqlitePrincipalStore;"
        "s = SqlitePrincipalStore(sys.argv[1], bytes.fromhex(sys.argv[2]), realm=sys.argv[3]);"
        "s.delete_principal('alice')"
    )
    args = [sys.executable, "-c", code, str(tmp_path / "db"), master_key.hex(), REALM]
    subprocess.run(args, check=True, timeout=60, env=python_env())
    assert kdc.get_principal("alice@DEMO.TEST") is None


def test_requests_check_other_connections_at_most_once_per_interval(
    tmp_path: pathlib.Path, master_key: bytes
) -> None:
    clock = [100.0]
    kdc = SqlitePrincipalStore(
        tmp_path / "db", master_key, realm=REALM, monotonic=lambda: clock[0]
    )
    admin = SqlitePrincipalStore(tmp_path / "db", master_key, realm=REALM)
    admin.add_principal("alice", password="x", now=NOW)
    kdc.begin_request()  # first request: checks at once
    entry = kdc.get_principal("alice@DEMO.TEST")
    kdc.end_request()
    assert entry is not None and entry.keys[0].kvno == 1
    admin.rekey("alice", password="y", now=NOW)
    clock[0] += 0.004  # within the 5 ms interval: the cached state still serves
    kdc.begin_request()
    entry = kdc.get_principal("alice@DEMO.TEST")
    kdc.end_request()
    assert entry is not None and entry.keys[0].kvno == 1
    clock[0] += 0.002  # past it: the admin's commit is seen
    kdc.begin_request()
    entry = kdc.get_principal("alice@DEMO.TEST")
    kdc.end_request()
    assert entry is not None and entry.keys[0].kvno == 2
    # Outside requests (administration), every lookup checks.
    admin.rekey("alice", password="z", now=NOW)
    entry = kdc.get_principal("alice@DEMO.TEST")
    assert entry is not None and entry.keys[0].kvno == 3


def test_key_rows_are_bound_to_their_principal(
    tmp_path: pathlib.Path, master_key: bytes
) -> None:
    store = SqlitePrincipalStore(tmp_path / "db", master_key, realm=REALM)
    store.add_principal("alice", password="a", now=NOW)
    store.add_principal("mallory", password="m", now=NOW)
    store.close()
    raw = sqlite3.connect(tmp_path / "db")
    with raw:
        raw.execute("DELETE FROM keys WHERE principal = 'alice@DEMO.TEST'")
        raw.execute(
            "UPDATE keys SET principal = 'alice@DEMO.TEST' WHERE principal = 'mallory@DEMO.TEST'"
        )
    raw.close()
    store = SqlitePrincipalStore(tmp_path / "db", master_key, realm=REALM)
    with pytest.raises(StoreError, match="moved from another principal"):
        store.get_principal("alice@DEMO.TEST")
    with pytest.raises(StoreError):
        store.verify_all_keys()


def test_wrong_master_key_or_realm_is_refused(tmp_path: pathlib.Path, master_key: bytes) -> None:
    SqlitePrincipalStore(tmp_path / "db", master_key, realm=REALM).close()
    with pytest.raises(StoreError, match="wrong master key"):
        SqlitePrincipalStore(tmp_path / "db", bytes(32), realm=REALM)
    with pytest.raises(StoreError, match="belongs to realm"):
        SqlitePrincipalStore(tmp_path / "db", master_key, realm="OTHER.TEST")
    with pytest.raises(StoreError, match="32 bytes"):
        SqlitePrincipalStore(tmp_path / "db", b"short", realm=REALM)


def test_sqlite_settings(store: SqlitePrincipalStore) -> None:
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store._db.execute("PRAGMA busy_timeout").fetchone()[0] >= 1000
    assert store._db.execute("SELECT version FROM schema_version").fetchone()[0] == 1


def test_newer_schema_is_refused(tmp_path: pathlib.Path, master_key: bytes) -> None:
    SqlitePrincipalStore(tmp_path / "db", master_key, realm=REALM).close()
    raw = sqlite3.connect(tmp_path / "db")
    with raw:
        raw.execute("UPDATE schema_version SET version = 99")
    raw.close()
    with pytest.raises(Exception, match="newer"):
        SqlitePrincipalStore(tmp_path / "db", master_key, realm=REALM)
