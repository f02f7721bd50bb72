"""The principal database in SQLite: the KDC's PrincipalDatabase plus administration.

Durability: WAL journal, synchronous=FULL, and every write is one BEGIN IMMEDIATE
transaction, so a process killed at any instant leaves either the old or the new state.
Confidentiality: long-term keys are sealed with AES-256-GCM under the master key; the AAD
binds each ciphertext to (principal, kvno, etype), so a key row copied onto another
principal does not decrypt. Passwords are never stored, only the keys derived from them.
Speed: the KDC calls get_principal on every request, so decrypted entries are cached in
memory; `PRAGMA data_version` (which changes when another connection commits) tells us
when the cache is stale, and our own writes invalidate the names they touch. Inside KDC
requests (begin_request) that check runs at most once per `request_refresh_interval`
(5 ms): it cost as much as a tenth of a compiled AS exchange, and a commit from another
process (an admin's rekey, another worker's lock-out count) being seen 5 ms later changes
nothing a client can observe.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from kerbfirst.crypto import SUPPORTED_ETYPES
from kerbfirst.kdc.database import KeyEntry, PrincipalEntry
from kerbfirst.store import schema
from kerbfirst.store.keytab import KeytabEntry
from kerbfirst.store.long_term_keys import KeySealer, derive_keys
from kerbfirst.store.names import Principal, parse_name
from kerbfirst.store.principal_records import (
    UNCHANGED,
    PrincipalExists,
    PrincipalInfo,
    PrincipalNotFound,
    StoreError,
    Unset,
    epoch,
    from_epoch,
    optional_epoch,
    seconds,
    to_timedelta,
)

__all__ = [
    "UNCHANGED",
    "PrincipalExists",
    "PrincipalInfo",
    "PrincipalNotFound",
    "SqlitePrincipalStore",
    "StoreError",
]

MAX_CACHED = 100_000  # entries (including remembered misses) before the cache is dropped
REQUEST_REFRESH_INTERVAL = 0.005  # seconds between data_version checks inside KDC requests
BUSY_TIMEOUT_MS = 5000


class SqlitePrincipalStore:
    """PrincipalDatabase (kdc/database.py) backed by one SQLite file."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        master_key: bytes,
        *,
        realm: str,
        failure_count_interval: timedelta | None = None,
        request_refresh_interval: float = REQUEST_REFRESH_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not realm:
            raise StoreError("the store needs a realm name")
        self.path = os.fspath(path)
        self.realm = realm
        # MIT pw_failcnt_interval: a failure after this much quiet restarts the count at 1.
        self.failure_count_interval = failure_count_interval
        self._sealer = KeySealer(master_key)
        self._lock = threading.RLock()
        self._cache: dict[str, PrincipalEntry | None] = {}
        self._request_thread: int | None = None  # inside begin_request/end_request
        self._request_refresh_interval = request_refresh_interval
        self._monotonic = monotonic
        self._refreshed_at = float("-inf")  # when begin_request last checked data_version
        # Create the file 0600 before SQLite does (it would use 0644 under a usual umask);
        # SQLite gives the -wal and -shm files the database file's mode.
        if self.path != ":memory:":
            os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(
            self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
        )
        self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        self._db.execute("PRAGMA journal_mode = WAL")
        self._db.execute("PRAGMA synchronous = FULL")
        self._db.execute("PRAGMA foreign_keys = ON")
        try:
            with self._write():
                schema.migrate(self._db)
                self._check_master_key()
        except BaseException:
            self._db.close()
            raise
        self._data_version = self._current_data_version()

    # -- plumbing ------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._cache.clear()

    def __enter__(self) -> SqlitePrincipalStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current_data_version(self) -> int:
        row = self._db.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    class _Transaction:
        def __init__(self, store: SqlitePrincipalStore) -> None:
            self.store = store

        def __enter__(self) -> sqlite3.Connection:
            self.store._lock.acquire()
            try:
                # IMMEDIATE takes the write lock now, so two writers never both read, then
                # both write (which would fail with SQLITE_BUSY mid-transaction).
                self.store._db.execute("BEGIN IMMEDIATE")
            except BaseException:
                self.store._lock.release()
                raise
            return self.store._db

        def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
            try:
                if exc_type is None:
                    self.store._db.execute("COMMIT")
                else:
                    self.store._db.execute("ROLLBACK")
            finally:
                self.store._lock.release()

    def _write(self) -> SqlitePrincipalStore._Transaction:
        return SqlitePrincipalStore._Transaction(self)

    def _check_master_key(self) -> None:
        """Seal a known value on creation; on open, refuse a master key that cannot open it."""
        row = self._db.execute("SELECT value FROM meta WHERE name = 'master_key_check'").fetchone()
        if row is None:
            sealed = self._sealer.make_check(self.realm)
            self._db.execute(
                "INSERT INTO meta (name, value) VALUES ('master_key_check', ?), ('realm', ?)",
                (sealed, self.realm.encode()),
            )
            return
        realm_row = self._db.execute("SELECT value FROM meta WHERE name = 'realm'").fetchone()
        stored_realm = bytes(realm_row[0]).decode() if realm_row else ""
        if stored_realm != self.realm:
            raise StoreError(
                f"database {self.path!r} belongs to realm {stored_realm!r}, not {self.realm!r}; "
                "open it with its own realm"
            )
        if not self._sealer.opens_check(self.realm, bytes(row[0])):
            raise StoreError(
                f"the master key does not open database {self.path!r}: wrong master key file "
                "for this database (restore the right one from backup)"
            )

    def _canonical(self, name: str) -> Principal:
        principal = parse_name(name, default_realm=self.realm)
        if principal.realm != self.realm:
            raise StoreError(
                f"principal {principal.unparse()} is not in this store's realm {self.realm}"
            )
        return principal

    def _invalidate(self, name: str) -> None:
        self._cache.pop(name, None)

    # -- PrincipalDatabase (the KDC's hot path) ------------------------------------------

    def begin_request(self) -> None:
        """RequestScopedDatabase: look for other connections' commits (at most once per
        `request_refresh_interval`); this thread's lookups until end_request() use the
        cache as it then is (one consistent state per KDC request)."""
        with self._lock:
            now = self._monotonic()
            if now - self._refreshed_at >= self._request_refresh_interval:
                self._refresh_if_changed()
                self._refreshed_at = now
            self._request_thread = threading.get_ident()

    def end_request(self) -> None:
        with self._lock:
            self._request_thread = None

    def _refresh_if_changed(self) -> None:
        version = self._current_data_version()
        if version != self._data_version:
            self._cache.clear()  # another connection committed: anything may have changed
            self._data_version = version

    def get_principal(self, name: str) -> PrincipalEntry | None:
        with self._lock:
            if self._request_thread != threading.get_ident():
                self._refresh_if_changed()
            try:
                return self._cache[name]
            except KeyError:
                pass
            entry = self._load(name)
            if len(self._cache) >= MAX_CACHED:
                self._cache.clear()
            self._cache[name] = entry  # misses are remembered too: scans stay cheap
            return entry

    def _load(self, name: str) -> PrincipalEntry | None:
        row = self._db.execute(
            "SELECT requires_preauth, disabled, expires, max_life, max_renewable_life, "
            "allow_forwardable, allow_renewable, allow_as_service, fail_count, last_failed "
            "FROM principals WHERE name = ?",
            (name,),
        ).fetchone()
        if row is None:
            return None
        keys = tuple(
            KeyEntry(
                kvno=kvno,
                etype=etype,
                contents=self._sealer.unseal(name, kvno, etype, bytes(nonce), bytes(sealed)),
                salt=bytes(salt),
                s2kparams=None if params is None else bytes(params),
            )
            for kvno, etype, salt, params, nonce, sealed in self._db.execute(
                "SELECT kvno, etype, salt, s2kparams, nonce, sealed FROM keys "
                "WHERE principal = ? ORDER BY kvno DESC, position",
                (name,),
            )
        )
        return PrincipalEntry(
            name=name,
            keys=keys,
            requires_preauth=bool(row[0]),
            disabled=bool(row[1]),
            expires=from_epoch(row[2]),
            max_life=to_timedelta(row[3]),
            max_renewable_life=to_timedelta(row[4]),
            allow_forwardable=bool(row[5]),
            allow_renewable=bool(row[6]),
            allow_as_service=bool(row[7]),
            fail_count=int(row[8]),
            last_failed=from_epoch(row[9]),
        )

    def record_preauth_failure(self, name: str, now: datetime) -> None:
        stamp = epoch(now)
        with self._write() as db:
            row = db.execute(
                "SELECT fail_count, last_failed FROM principals WHERE name = ?", (name,)
            ).fetchone()
            if row is None:
                return  # unknown clients are not counted (nothing to lock)
            count, last = int(row[0]), row[1]
            interval = self.failure_count_interval
            window = None if interval is None else interval.total_seconds()
            if window is not None and last is not None and stamp - last > window:
                count = 0  # MIT lockout.c: the failure window has passed, start again
            db.execute(
                "UPDATE principals SET fail_count = ?, last_failed = ? WHERE name = ?",
                (count + 1, stamp, name),
            )
            self._invalidate(name)

    def record_preauth_success(self, name: str, now: datetime) -> None:
        entry = self.get_principal(name)
        if entry is None or entry.fail_count == 0:
            return  # the common case: no write on the hot path
        with self._write() as db:
            db.execute("UPDATE principals SET fail_count = 0 WHERE name = ?", (name,))
            self._invalidate(name)

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
        now: datetime,
    ) -> PrincipalInfo:
        """Create a principal at kvno 1; password=None gives random keys (services, krbtgt)."""
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
        now: datetime,
    ) -> PrincipalInfo:
        """New keys at the next kvno; the `keep_old` previous kvnos stay so that tickets
        issued under them still decrypt until they expire (MIT kadmin -keepold)."""
        if keep_old < 0:
            raise StoreError("keep_old must be 0 or more")
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
