"""The principal database in SQLite: the KDC's PrincipalDatabase plus administration.

Durability: WAL journal, synchronous=FULL, and every write is one BEGIN IMMEDIATE
transaction, so a process killed at any instant leaves either the old or the new state.
Confidentiality: long-term keys are sealed with AES-256-GCM under the master key; the AAD
binds each ciphertext to (principal, kvno, etype), so a key row copied onto another
principal does not decrypt. Passwords are never stored, only the keys derived from them.
What the KDC reads, and how soon it sees a change, is principal_lookup.py's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from kerbfirst.crypto import SUPPORTED_ETYPES
from kerbfirst.krb.database import KeyEntry
from kerbfirst.krb.names import parse_name
from kerbfirst.store.keytab import KeytabEntry
from kerbfirst.store.long_term_keys import derive_keys
from kerbfirst.store.principal_lookup import BUSY_TIMEOUT, PrincipalLookup
from kerbfirst.store.principal_records import (
    UNCHANGED,
    PrincipalExists,
    PrincipalInfo,
    PrincipalNotFound,
    StoreError,
    Unset,
    WeakPassword,
    check_password,
    epoch,
    from_epoch,
    optional_epoch,
    seconds,
    to_timedelta,
)

__all__ = [
    "BUSY_TIMEOUT",
    "UNCHANGED",
    "PrincipalExists",
    "PrincipalInfo",
    "PrincipalNotFound",
    "SqlitePrincipalStore",
    "StoreError",
    "WeakPassword",
]


class SqlitePrincipalStore(PrincipalLookup):
    """The principal store: what the KDC reads (PrincipalLookup) plus administration."""

    # -- administration ------------------------------------------------------------------

    def _insert_keys(
        self, db: sqlite3.Connection, name: str, keys: list[KeyEntry], now: int
    ) -> None:
        for position, k in enumerate(keys):
            nonce, sealed = self._sealer.seal(name, k.kvno, k.etype, k.contents)
            db.execute(
                "INSERT INTO keys (principal, kvno, etype, position, salt, s2kparams, nonce, "
                "sealed, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, k.kvno, k.etype, position, k.salt, k.s2kparams, nonce, sealed, now),
            )

    def add_principal(
        self,
        name: str,
        *,
        password: str | None = None,
        etypes: Iterable[int] = SUPPORTED_ETYPES,
        requires_preauth: bool = True,
        max_life: timedelta | None = None,
        max_renewable_life: timedelta | None = None,
        allow_as_service: bool = True,
        min_password_length: int = 1,
        now: datetime,
    ) -> PrincipalInfo:
        """Create a principal at kvno 1; password=None gives random keys (services, krbtgt).
        An empty password, or one shorter than `min_password_length`, is refused."""
        if password is not None:
            check_password(password, min_length=min_password_length)
        principal = self._canonical(name)
        canonical = principal.unparse()
        stamp = epoch(now)
        keys = derive_keys(principal, 1, tuple(etypes), password)  # slow s2k: outside lock
        with self._write() as db:
            if db.execute("SELECT 1 FROM principals WHERE name = ?", (canonical,)).fetchone():
                raise PrincipalExists(
                    f"principal {canonical} already exists; use rekey to change its keys"
                )
            db.execute(
                "INSERT INTO principals (name, requires_preauth, max_life, max_renewable_life, "
                "allow_as_service, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    canonical,
                    int(requires_preauth),
                    seconds(max_life),
                    seconds(max_renewable_life),
                    int(allow_as_service),
                    stamp,
                    stamp,
                ),
            )
            self._insert_keys(db, canonical, keys, stamp)
            self._invalidate(canonical)
        return self.get_info(canonical)

    def rekey(
        self,
        name: str,
        *,
        password: str | None = None,
        keep_old: int = 2,
        etypes: Iterable[int] | None = None,
        min_password_length: int = 1,
        now: datetime,
    ) -> PrincipalInfo:
        """New keys at the next kvno; the `keep_old` previous kvnos stay so that tickets
        issued under them still decrypt until they expire (MIT kadmin -keepold)."""
        if keep_old < 0:
            raise StoreError("keep_old must be 0 or more")
        if password is not None:
            check_password(password, min_length=min_password_length)
        principal = self._canonical(name)
        canonical = principal.unparse()
        stamp = epoch(now)
        current = self.get_info(canonical)
        new_kvno = current.kvno + 1
        if new_kvno > 0xFFFFFFFF:
            raise StoreError(f"kvno of {canonical} would exceed 2^32-1")
        chosen = tuple(etypes) if etypes is not None else current.etypes
        keys = derive_keys(principal, new_kvno, chosen, password)
        with self._write() as db:
            row = db.execute(
                "SELECT MAX(kvno) FROM keys WHERE principal = ?", (canonical,)
            ).fetchone()
            if row is None or row[0] != current.kvno:
                raise StoreError(f"{canonical} was rekeyed concurrently; try again")
            self._insert_keys(db, canonical, keys, stamp)
            db.execute(
                "DELETE FROM keys WHERE principal = ? AND kvno < ?",
                (canonical, new_kvno - keep_old),
            )
            db.execute("UPDATE principals SET modified = ? WHERE name = ?", (stamp, canonical))
            self._invalidate(canonical)
        return self.get_info(canonical)

    def set_attributes(
        self,
        name: str,
        *,
        now: datetime,
        requires_preauth: bool | Unset = UNCHANGED,
        disabled: bool | Unset = UNCHANGED,
        expires: datetime | Unset | None = UNCHANGED,
        max_life: timedelta | Unset | None = UNCHANGED,
        max_renewable_life: timedelta | Unset | None = UNCHANGED,
        allow_forwardable: bool | Unset = UNCHANGED,
        allow_renewable: bool | Unset = UNCHANGED,
        allow_as_service: bool | Unset = UNCHANGED,
        fail_count: int | Unset = UNCHANGED,
    ) -> PrincipalInfo:
        """Change the given attributes; fail_count=0 unlocks a locked-out principal."""
        canonical = self._canonical(name).unparse()
        changes: dict[str, Any] = {}
        for column, value in (
            ("requires_preauth", requires_preauth),
            ("disabled", disabled),
            ("allow_forwardable", allow_forwardable),
            ("allow_renewable", allow_renewable),
            ("allow_as_service", allow_as_service),
        ):
            if not isinstance(value, Unset):
                changes[column] = int(value)
        if not isinstance(expires, Unset):
            changes["expires"] = optional_epoch(expires)
        if not isinstance(max_life, Unset):
            changes["max_life"] = seconds(max_life)
        if not isinstance(max_renewable_life, Unset):
            changes["max_renewable_life"] = seconds(max_renewable_life)
        if not isinstance(fail_count, Unset):
            if fail_count < 0:
                raise StoreError("fail_count cannot be negative")
            changes["fail_count"] = fail_count
        changes["modified"] = epoch(now)
        # Column names come from the fixed tuple above, never from the caller.
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._write() as db:
            cursor = db.execute(
                f"UPDATE principals SET {assignments} WHERE name = ?",  # noqa: S608
                (*changes.values(), canonical),
            )
            if cursor.rowcount == 0:
                raise PrincipalNotFound(f"no principal {canonical} in realm {self.realm}")
            self._invalidate(canonical)
        return self.get_info(canonical)

    def delete_principal(self, name: str) -> None:
        canonical = self._canonical(name).unparse()
        with self._write() as db:
            cursor = db.execute("DELETE FROM principals WHERE name = ?", (canonical,))
            if cursor.rowcount == 0:
                raise PrincipalNotFound(f"no principal {canonical} in realm {self.realm}")
            self._invalidate(canonical)

    def _infos(self, only: str | None) -> list[PrincipalInfo]:
        select = (
            "SELECT name, requires_preauth, disabled, expires, max_life, max_renewable_life, "
            "allow_forwardable, allow_renewable, allow_as_service, fail_count, last_failed, "
            "created, modified FROM principals"
        )
        args: tuple[str, ...] = () if only is None else (only,)
        with self._lock:
            rows = self._db.execute(
                select + (" ORDER BY name" if only is None else " WHERE name = ?"), args
            ).fetchall()
            key_rows = self._db.execute(
                "SELECT principal, kvno, etype FROM keys ORDER BY principal, kvno DESC, position"
                if not args
                else "SELECT principal, kvno, etype FROM keys WHERE principal = ? "
                "ORDER BY kvno DESC, position",
                args,
            ).fetchall()
        keys: dict[str, list[tuple[int, int]]] = {}
        for principal, kvno, etype in key_rows:
            keys.setdefault(principal, []).append((kvno, etype))
        out = []
        for r in rows:
            pkeys = keys.get(r[0], [])
            kvno = pkeys[0][0] if pkeys else 0
            created = from_epoch(r[11])
            modified = from_epoch(r[12])
            if created is None or modified is None:
                raise StoreError(f"principal {r[0]} has no creation time; the database is damaged")
            out.append(
                PrincipalInfo(
                    name=r[0],
                    kvno=kvno,
                    etypes=tuple(e for v, e in pkeys if v == kvno),
                    kvnos=tuple(sorted({v for v, _ in pkeys}, reverse=True)),
                    requires_preauth=bool(r[1]),
                    disabled=bool(r[2]),
                    expires=from_epoch(r[3]),
                    max_life=to_timedelta(r[4]),
                    max_renewable_life=to_timedelta(r[5]),
                    allow_forwardable=bool(r[6]),
                    allow_renewable=bool(r[7]),
                    allow_as_service=bool(r[8]),
                    fail_count=int(r[9]),
                    last_failed=from_epoch(r[10]),
                    created=created,
                    modified=modified,
                )
            )
        return out

    def list_principals(self) -> list[PrincipalInfo]:
        return self._infos(None)

    def get_info(self, name: str) -> PrincipalInfo:
        canonical = self._canonical(name).unparse()
        found = self._infos(canonical)
        if not found:
            raise PrincipalNotFound(f"no principal {canonical} in realm {self.realm}")
        return found[0]

    def keytab_entries(
        self, name: str, *, now: datetime, all_kvnos: bool = False
    ) -> list[KeytabEntry]:
        """Keytab entries for a service principal (current kvno, or every kvno kept)."""
        canonical = self._canonical(name).unparse()
        entry = self.get_principal(canonical)
        if entry is None:
            raise PrincipalNotFound(f"no principal {canonical} in realm {self.realm}")
        principal = parse_name(canonical)
        current = max((k.kvno for k in entry.keys), default=0)
        return [
            KeytabEntry(principal, epoch(now), k.kvno, k.etype, k.contents)
            for k in entry.keys
            if all_kvnos or k.kvno == current
        ]

    def verify_all_keys(self) -> int:
        """Decrypt every stored key (check after a crash or restore); returns the count."""
        with self._lock:
            rows = self._db.execute(
                "SELECT principal, kvno, etype, nonce, sealed FROM keys"
            ).fetchall()
        for principal, kvno, etype, nonce, sealed in rows:
            self._sealer.unseal(principal, kvno, etype, bytes(nonce), bytes(sealed))
        return len(rows)
