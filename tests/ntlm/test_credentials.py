"""NT hashes of LocalKDC accounts live only while a live exception names the account; the
domain verifier speaks Samba's ntlm_auth helper protocol."""

from __future__ import annotations

import os
import stat
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from kerbfirst.gss import ntlm_crypto as nc
from kerbfirst.gss.ntlm import NtHashVerifier, NtlmFault, NtlmLogonRefused, VerifyStatus
from kerbfirst.gss.ntlm_governed import NtlmGovernor
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.net.ntlm_winbind import WinbindVerifier
from kerbfirst.policy import ExceptionEntry, Mode, Policy
from kerbfirst.store.nt_hashes import NtHashRefused, NtHashStore
from kerbfirst.store.principal_records import StoreError
from ntlm.peer import NOW, PASSWORD, WEB, acceptor, client, exchange

MASTER = bytes(range(32))


def _policy(*entries: ExceptionEntry, mode: Mode = Mode.ENFORCE) -> Policy:
    return Policy(mode, block_estate=True, exceptions=entries)


def _exc(user: str | None = "CORP\\alice", expires: date = date(2026, 12, 10),
         id: str = "EX-1") -> ExceptionEntry:
    return ExceptionEntry(id, "web.corp.example", "o@corp.example", expires, "r", "c",
                          None, user)


@pytest.fixture
def store(tmp_path: Path) -> NtHashStore:
    return NtHashStore(tmp_path / "ntlm-credentials.db", MASTER)


def test_no_exception_no_hash(store: NtHashStore) -> None:
    with pytest.raises(NtHashRefused, match="no live NTLM exception names CORP\\\\alice"):
        store.set_password("alice", "CORP", nc.nt_hash(PASSWORD), _policy(), NOW)
    # a wildcard exception never mints credentials, nor an expired one
    for entry in (_exc(user="CORP\\*"), _exc(user=None), _exc(expires=date(2026, 1, 1))):
        with pytest.raises(NtHashRefused):
            store.set_password("alice", "CORP", nc.nt_hash(PASSWORD), _policy(entry), NOW)
    assert store.accounts() == []


def test_hash_lives_and_dies_with_its_exception(store: NtHashStore, tmp_path: Path) -> None:
    policy = _policy(_exc())
    secret = nc.nt_hash(PASSWORD)
    assert store.set_password("alice", "CORP", secret, policy, NOW).id == "EX-1"
    assert stat.S_IMODE(os.stat(tmp_path / "ntlm-credentials.db").st_mode) == 0o600
    assert store.lookup("Alice", "corp", policy, NOW) == secret
    assert secret not in (tmp_path / "ntlm-credentials.db").read_bytes()
    # the day after the exception's last day: gone, and the row with it
    assert store.lookup("alice", "CORP", policy, date(2026, 12, 11)) is None
    assert store.accounts() == []


def test_revoked_exception_is_swept(store: NtHashStore) -> None:
    store.set_password("alice", "CORP", nc.nt_hash(PASSWORD), _policy(_exc()), NOW)
    store.set_password("bob", "CORP", nc.nt_hash("b"),
                       _policy(_exc(user="CORP\\bob", id="EX-2")), NOW)
    revoked = _policy(_exc(user="CORP\\bob", id="EX-2"))  # EX-1 removed from the register
    assert store.sweep(revoked, NOW) == ["CORP\\alice"]
    assert [a for _, a, _ in store.accounts()] == ["bob"]


def test_a_row_moved_to_another_account_does_not_open(store: NtHashStore) -> None:
    store.set_password("alice", "CORP", nc.nt_hash(PASSWORD), _policy(_exc()), NOW)
    import sqlite3

    with sqlite3.connect(store.path) as db:
        db.execute("UPDATE nt_hash SET account = 'mallory'")
    with pytest.raises(StoreError, match="does not decrypt"):
        store.lookup("mallory", "CORP", _policy(_exc(user="CORP\\mallory")), NOW)


def test_pyspnego_against_stored_hash_until_expiry(store: NtHashStore) -> None:
    policy = _policy(_exc(expires=NOW.date()), mode=Mode.AUDIT)
    store.set_password("alice", "CORP", nc.nt_hash(PASSWORD), policy, NOW)
    clock = {"now": NOW}

    def lookup(user: str, domain: str) -> bytes | None:
        return store.lookup(user, domain, policy, clock["now"])

    sink: list[object] = []
    gov = NtlmGovernor(WEB, NtHashVerifier(lookup), policy=lambda: policy,
                       replay=ReplayCache(), sink=sink.append, host="web.corp.example")

    def attempt():  # type: ignore[no-untyped-def]
        ctx = gov.context(client_address="192.0.2.7")
        peer = client()
        challenge = ctx.challenge(peer.step(), server_challenge=os.urandom(8),
                                  now=clock["now"])
        return ctx.authenticate(peer.step(challenge), now=clock["now"])

    assert attempt().user == "alice"
    clock["now"] = NOW + timedelta(days=1)
    # audit mode lets the flow through the policy, but the credential died with EX-1
    with pytest.raises(NtlmLogonRefused) as info:
        attempt()
    assert info.value.fault is NtlmFault.UNKNOWN_USER
    assert store.accounts() == []


# ----------------------------------------------------------------- winbind's ntlm_auth

def test_real_ntlm_auth_speaks_the_protocol_without_a_domain() -> None:
    """Debian's ntlm_auth (package winbind) with no winbindd running: no domain can be
    reached here, so the real helper answers 'Authenticated: No'; the test shows our
    framing and parsing against the real program and that the refusal carries its text."""
    if not any(Path(d, "ntlm_auth").exists() for d in os.environ["PATH"].split(":")):
        pytest.fail("ntlm_auth is missing: apt-get install winbind")
    verifier = WinbindVerifier(timeout=10)
    try:
        result = verifier.verify("alice", "CORP", bytes(8), bytes(16) + b"\x01\x01" + bytes(40))
    finally:
        verifier.close()
    assert result.status is VerifyStatus.BAD_PASSWORD
    assert "winbind" in result.detail.lower()


FAKE_DC = textwrap.dedent('''
    # A stand-in for winbindd + a DC (no domain can run here): answers ntlm-server-1
    # blocks by checking NTLMv2 against one known password, as the DC would.
    import base64, hashlib, hmac, sys
    sys.path.insert(0, {src!r})
    from kerbfirst.gss import ntlm_crypto as nc
    fields = {{}}
    for line in sys.stdin:
        line = line.rstrip("\\n")
        if line != ".":
            k, _, v = line.partition(":")
            v = v.strip()
            fields[k] = base64.b64decode(v[1:]).decode() if v.startswith(":") else v
            continue
        if fields.get("Username") == "hang":
            continue
        key = nc.ntowf_v2(nc.nt_hash({password!r}), fields["Username"], fields["NT-Domain"])
        nt = bytes.fromhex(fields["NT-Response"])
        sc = bytes.fromhex(fields["LANMAN-Challenge"])
        if fields["Username"] != "alice":
            reply = "Authenticated: No\\nAuthentication-Error: NT_STATUS_NO_SUCH_USER"
        elif hmac.compare_digest(nc.nt_proof(key, sc, nt[16:]), nt[:16]):
            session = nc.session_base_key(key, nt[:16]).hex().upper()
            reply = "Authenticated: Yes\\nUser-Session-Key: " + session
        else:
            reply = "Authenticated: No\\nAuthentication-Error: NT_STATUS_WRONG_PASSWORD"
        print(reply + "\\n.", flush=True)
        fields = {{}}
''')


@pytest.fixture
def fake_dc(tmp_path: Path) -> list[str]:
    script = tmp_path / "fake_ntlm_auth.py"
    src = str(Path(__file__).resolve().parents[2] / "src")
    script.write_text(FAKE_DC.format(src=src, password=PASSWORD))
    return [sys.executable, str(script)]


def test_winbind_verifier_with_pyspnego_against_a_stand_in_helper(fake_dc: list[str]) -> None:
    verifier = WinbindVerifier(fake_dc, timeout=10)
    try:
        ctx = acceptor(verifier=verifier)  # the helper instead of a local hash
        peer = client()
        _, _, auth = exchange(ctx, peer)
        identity = ctx.authenticate(auth, now=NOW)
        assert identity.session_key == peer.session_key  # the helper's key checked the MIC
        ctx = acceptor(verifier=verifier)
        _, _, auth = exchange(ctx, client(password="wrong"))
        with pytest.raises(NtlmLogonRefused) as info:
            ctx.authenticate(auth, now=NOW)
        assert info.value.fault is NtlmFault.BAD_PASSWORD
        assert "NT_STATUS_WRONG_PASSWORD" in info.value.detail
        ctx = acceptor(verifier=verifier)
        _, _, auth = exchange(ctx, client(user="CORP\\bob"))
        with pytest.raises(NtlmLogonRefused) as info:
            ctx.authenticate(auth, now=NOW)
        assert info.value.fault is NtlmFault.UNKNOWN_USER
    finally:
        verifier.close()


def test_a_silent_helper_is_a_refusal_within_the_timeout(fake_dc: list[str]) -> None:
    verifier = WinbindVerifier(fake_dc, timeout=0.5)
    try:
        result = verifier.verify("hang", "CORP", bytes(8), bytes(48))
        assert result.status is VerifyStatus.UNAVAILABLE and "no answer within" in result.detail
        result = verifier.verify("bob", "CORP", bytes(8), bytes(48))  # restarted helper
        assert result.status is VerifyStatus.UNKNOWN_USER
    finally:
        verifier.close()
