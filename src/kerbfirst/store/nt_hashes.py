"""NTLM credentials of LocalKDC accounts: an NT hash exists only while a live exception of
the NTLM policy names the account, and dies with it.

The NT hash (MD4 of the password, MS-NLMP 3.3.1) is a password equivalent, so it is kept
apart from the Kerberos keys, in its own SQLite file (`ntlm-credentials.db`, mode 0600,
beside the principal database), sealed like them under the master key (AES-256-GCM,
store/long_term_keys.py `KeySealer`) with the account and the exception's id bound in as
associated data: a row copied to another account or exception does not open.

Life cycle:
- `set_password(account, domain, nt_hash, policy, now)`: when a password is set while a
  live exception names the account exactly (its `user` field, no wildcards: a wildcard
  exception never mints credentials), the hash is stored under that exception's id;
  otherwise `NtHashRefused` says which exception is needed. The hash can only be made
  from the password itself, so an account excepted later must set its password again.
- `lookup(account, domain, policy, now)`: the hash, if its exception is still in the
  policy and unexpired; if not, the row is destroyed on the spot and None returned.
- `forget(account, domain)`: the password changed with no exception naming the account:
  its old hash is destroyed.
- `sweep(policy, now)`: destroys every hash whose exception expired or was revoked (the
  policy loader calls it on each reload; `kerbfirst policy exception revoke` too).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import date, datetime
from pathlib import Path

from kerbfirst.policy import ExceptionEntry, Policy
from kerbfirst.store.long_term_keys import KeySealer
from kerbfirst.store.private_files import PRIVATE_MODE

# The RC4-HMAC enctype number (RFC 4757): the NT hash is that key; used only in the AAD.
NT_HASH_ETYPE = 23
_WILD = "*?["


class NtHashRefused(Exception):
    """No live exception names the account; the message says what to register."""


def _day(now: date | datetime) -> date:
    return now.date() if isinstance(now, datetime) else now


def naming_exception(policy: Policy, account: str, domain: str,
                     now: date | datetime) -> ExceptionEntry | None:
    """The first live exception whose `user` names this account exactly."""
    today = _day(now)
    for e in policy.exceptions:
        if e.user is None or any(c in e.user for c in _WILD) or e.expired(today):
            continue
        if _names(e.user, account, domain):
            return e
    return None


def _names(pattern: str, account: str, domain: str) -> bool:
    if "\\" in pattern:
        d, _, u = pattern.partition("\\")
        return d.casefold() == domain.casefold() and u.casefold() == account.casefold()
    return pattern.casefold() == account.casefold()


class NtHashStore:
    def __init__(self, path: str | os.PathLike[str], master_key: bytes) -> None:
        self.path = Path(path)
        if not self.path.exists():
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                         PRIVATE_MODE)
            os.close(fd)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS nt_hash (account TEXT NOT NULL, domain TEXT NOT NULL, "
            "exception_id TEXT NOT NULL, nonce BLOB NOT NULL, sealed BLOB NOT NULL, "
            "created TEXT NOT NULL, PRIMARY KEY (account, domain))"
        )
        self._sealer = KeySealer(master_key)
        self._lock = threading.Lock()

    @staticmethod
    def _aad_name(account: str, domain: str, exception_id: str) -> str:
        return f"ntlm-nt-hash\0{domain.upper()}\\{account.casefold()}\0{exception_id}"

    def set_password(self, account: str, domain: str, nt_hash: bytes, policy: Policy,
                     now: datetime) -> ExceptionEntry:
        """Keep `nt_hash` (gss.ntlm_crypto.nt_hash of the password being set) if a live
        exception names the account; NtHashRefused otherwise."""
        entry = naming_exception(policy, account, domain, now)
        if entry is None:
            raise NtHashRefused(
                f"no live NTLM exception names {domain}\\{account}: no NT hash is kept. "
                f"Register one first (kerbfirst policy exception add ... --user "
                f"'{domain}\\{account}'), then set the password again"
            )
        name = self._aad_name(account, domain, entry.id)
        if len(nt_hash) != 16:
            raise ValueError("an NT hash is 16 bytes")
        nonce, sealed = self._sealer.seal(name, 0, NT_HASH_ETYPE, nt_hash)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO nt_hash VALUES (?, ?, ?, ?, ?, ?)",
                (account.casefold(), domain.upper(), entry.id, nonce, sealed, now.isoformat()),
            )
        return entry

    def lookup(self, account: str, domain: str, policy: Policy,
               now: date | datetime) -> bytes | None:
        key = (account.casefold(), domain.upper())
        with self._lock:
            row = self._db.execute(
                "SELECT exception_id, nonce, sealed FROM nt_hash WHERE account = ? AND "
                "domain = ?", key).fetchone()
        if row is None:
            return None
        exception_id, nonce, sealed = row
        if exception_id not in self._live_ids(policy, now):
            self._destroy([key])
            return None
        return self._sealer.unseal(self._aad_name(account, domain, exception_id), 0,
                                   NT_HASH_ETYPE, nonce, sealed)

    def sweep(self, policy: Policy, now: date | datetime) -> list[str]:
        """Destroy the hashes whose exception is gone or expired; return their accounts."""
        live = self._live_ids(policy, now)
        with self._lock:
            rows = self._db.execute("SELECT account, domain, exception_id FROM nt_hash")
            dead = [(a, d) for a, d, e in rows.fetchall() if e not in live]
        self._destroy(dead)
        return [f"{d}\\{a}" for a, d in dead]

    def forget(self, account: str, domain: str) -> bool:
        """Destroy the account's hash (its password changed while no exception names it:
        the old hash would still accept the old password). True when there was one."""
        key = (account.casefold(), domain.upper())
        with self._lock:
            row = self._db.execute("SELECT 1 FROM nt_hash WHERE account = ? AND domain = ?",
                                   key).fetchone()
        if row is not None:
            self._destroy([key])
        return row is not None

    def accounts(self) -> list[tuple[str, str, str]]:
        """(domain, account, exception id) of every stored hash (never the hash)."""
        with self._lock:
            rows = self._db.execute("SELECT domain, account, exception_id FROM nt_hash "
                                    "ORDER BY domain, account").fetchall()
        return [(str(d), str(a), str(e)) for d, a, e in rows]

    @staticmethod
    def _live_ids(policy: Policy, now: date | datetime) -> set[str]:
        return {e.id for e in policy.active_exceptions(now)}

    def _destroy(self, keys: list[tuple[str, str]]) -> None:
        if not keys:
            return
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._db.executemany("DELETE FROM nt_hash WHERE account = ? AND domain = ?",
                                     keys)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        # Deleted pages would still hold the sealed hash; the WAL checkpoint and VACUUM
        # rewrite the file without them.
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.execute("VACUUM")

    def close(self) -> None:
        self._db.close()
