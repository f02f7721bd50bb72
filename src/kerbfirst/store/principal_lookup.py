"""The principal store as the KDC reads it: one SQLite connection, a cache, lock-out counts.

Speed: the KDC calls get_principal on every request, so decrypted entries are cached in
memory; `PRAGMA data_version` (which changes when another connection commits) tells us
when the cache is stale, and our own writes invalidate the names they touch. Inside KDC
requests (begin_request) that check runs at most once per `request_refresh_interval`
(5 ms): it cost as much as a tenth of a compiled AS exchange, and a commit from another
process (an admin's rekey, another worker's lock-out count) being seen 5 ms later changes
nothing a client can observe. So a serving KDC sees an administrator's add, rekey, delete,
disable, enable or unlock in its first request that starts 5 ms or more after the commit,
whatever the number of worker processes (each has its own connection and checks its own).

Opening the file without breaking SQLite's locks is sqlite_file.py's; counting failed
pre-authentications durably, failing closed, is failure_counts.py's.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Self

from kerbfirst.krb.bounded_cache import BoundedCache
from kerbfirst.krb.database import (
    KeyEntry,
    PreauthAccountingUnavailable,
    PrincipalEntry,
    principal_entry_size,
)
from kerbfirst.krb.names import Principal, parse_name
from kerbfirst.store import schema
from kerbfirst.store.failure_counts import (
    RETRY_TIMEOUT,
    FailureLedger,
    window_seconds,
    write_failures,
)
from kerbfirst.store.long_term_keys import KeySealer
from kerbfirst.store.principal_records import StoreError, epoch, from_epoch, to_timedelta
from kerbfirst.store.sqlite_file import WriteTransaction, connect, set_busy_timeout

# The lookup cache (remembered misses included): unauthenticated requests choose the
# names looked up, so it is bounded by bytes and age as well as entries.
MAX_CACHED = 100_000  # entries
MAX_CACHED_BYTES = 8 * 1024 * 1024
CACHE_TTL = 60.0  # seconds; the cache is also emptied whenever another connection commits
REQUEST_REFRESH_INTERVAL = 0.005  # seconds between data_version checks inside KDC requests
BUSY_TIMEOUT = 5.0  # seconds a write waits for another process's lock (MIT's KDC: 5 tries)


class PrincipalLookup:
    """PrincipalDatabase (kdc/database.py) backed by one SQLite file; SqlitePrincipalStore
    adds administration."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        master_key: bytes,
        *,
        realm: str,
        failure_count_interval: timedelta | None = None,
        request_refresh_interval: float = REQUEST_REFRESH_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
        busy_timeout: float = BUSY_TIMEOUT,
    ) -> None:
        if not realm:
            raise StoreError("the store needs a realm name")
        self.path = os.fspath(path)
        self.realm = realm
        # MIT failcnt_interval when the caller of record_preauth_failure gives none (the
        # KDC always gives its policy's window).
        self.failure_count_interval = failure_count_interval
        self._sealer = KeySealer(master_key)
        self._lock = threading.RLock()
        # name -> (entry or None: not found)
        self._cache: BoundedCache[str, tuple[PrincipalEntry | None]] = BoundedCache(
            max_entries=MAX_CACHED, max_bytes=MAX_CACHED_BYTES, ttl=CACHE_TTL
        )
        self._request_thread: int | None = None  # inside begin_request/end_request
        self._request_refresh_interval = request_refresh_interval
        self._monotonic = monotonic
        self._refreshed_at = float("-inf")  # when begin_request last checked data_version
        self._busy_timeout = busy_timeout
        self._failures = FailureLedger(monotonic)
        self._db = connect(self.path, busy_timeout=busy_timeout)
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _current_data_version(self) -> int:
        row = self._db.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    def _write(self) -> WriteTransaction:
        return WriteTransaction(self._db, self._lock)

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
        # The one name of another realm a store holds: krbtgt/OURS@OTHER, the key of a
        # trust from OTHER to us, shared with OTHER's KDC (RFC 4120 1.2, MIT kdb).
        incoming_trust = principal.components == ("krbtgt", self.realm)
        if principal.realm != self.realm and not incoming_trust:
            raise StoreError(
                f"principal {principal.unparse()} is not in this store's realm {self.realm} "
                f"(of other realms, only krbtgt/{self.realm}@OTHER, a trust's key, is kept)"
            )
        return principal

    def _invalidate(self, name: str) -> None:
        self._cache.pop(name)

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
            now = self._monotonic()
            cached = self._cache.get(name, now)
            if cached is not None:
                return cached[0]
            entry = self._load(name)
            # misses are remembered too: scans stay cheap
            self._cache.put(name, (entry,), principal_entry_size(name, entry), now)
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

    def record_preauth_failure(
        self, name: str, now: datetime, window: timedelta | None = None
    ) -> None:
        """Count a failure durably (failure_counts.py), or raise
        PreauthAccountingUnavailable and keep it for the next write that succeeds."""
        interval = self.failure_count_interval if window is None else window
        with self._lock:
            self._failures.keep(name, epoch(now), window_seconds(interval))
            self._write_failures(self._busy_timeout)

    def record_preauth_success(self, name: str, now: datetime) -> None:
        entry = self.get_principal(name)
        if entry is None or entry.fail_count == 0:
            return  # the common case: no write on the hot path
        try:
            with self._write() as db:
                db.execute("UPDATE principals SET fail_count = 0 WHERE name = ?", (name,))
                self._invalidate(name)
        except sqlite3.Error as exc:
            self._failures.failed(exc)
            raise PreauthAccountingUnavailable(
                f"cannot write {self.path}: {type(exc).__name__}: {exc}"
            ) from None

    def failures_recordable(self) -> bool:
        with self._lock:
            if self._failures.down_since is None:
                return True
            if not self._failures.retry_due():
                return False
            try:
                self._write_failures(RETRY_TIMEOUT)
            except PreauthAccountingUnavailable:
                return False
            return True

    def _write_failures(self, timeout: float) -> None:
        kept = list(self._failures.kept)
        try:
            if timeout != self._busy_timeout:
                set_busy_timeout(self._db, timeout)
            try:
                with self._write() as db:
                    write_failures(db, kept)
            finally:
                if timeout != self._busy_timeout:
                    set_busy_timeout(self._db, self._busy_timeout)
        except sqlite3.Error as exc:
            self._failures.failed(exc)
            raise PreauthAccountingUnavailable(
                f"cannot write {self.path}: {self._failures.last_error}"
            ) from None
        self._failures.written()
        for name, _, _ in kept:
            self._invalidate(name)

    def preauth_failures_kept(self) -> int:
        """Failures counted in memory only, waiting for the store to be writable again."""
        with self._lock:
            return len(self._failures.kept)
