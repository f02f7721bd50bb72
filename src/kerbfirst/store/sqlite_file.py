"""Opening the principal database file without breaking SQLite's locks.

SQLite coordinates processes with POSIX advisory locks (fcntl F_SETLK) on the database
file: in WAL mode every open connection holds a shared lock on it, and the last connection
to close, finding it can take an exclusive lock, folds the WAL into the database and
deletes `-wal` and `-shm`. POSIX locks belong to the (process, file) pair, not to the
descriptor, and close(2) of ANY descriptor of the file releases every lock the process
holds on it (POSIX.1-2017 fcntl(), "all locks associated with a file for a given process
shall be removed when a file descriptor for that file is closed by that process"; SQLite's
"How To Corrupt An SQLite Database File": "Posix advisory locking canceled by a separate
thread doing close()"). So this process never opens and closes a descriptor of a
database file that it may already hold open through SQLite:

- the file is created 0600 with O_CREAT|O_EXCL (a new inode, on which no connection can
  hold a lock yet), under a process-wide lock so that no other store of this process opens
  it between the create and the close; an existing file is left to SQLite alone;
- SQLite gives `-wal` and `-shm` the database file's mode, so they are 0600 too;
- SQLite itself shares one set of locks between the connections of one process to the
  same file, so two stores (a KDC and an administration call) in one process are safe.

A connection must also not cross fork(2) (same document: "Carrying an open database
connection across a fork()"): the KDC opens its store in each worker after the fork.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading

from kerbfirst.store.private_files import PRIVATE_MODE

_OPENING = threading.Lock()  # create-then-connect is one step for the threads of a process


def _create_private(path: str) -> None:
    try:
        fd = os.open(
            path,
            os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
            PRIVATE_MODE,
        )
    except FileExistsError:
        return  # SQLite's to open; never a descriptor of ours (see the module docstring)
    try:
        os.fchmod(fd, PRIVATE_MODE)  # a umask cannot widen it, an inherited default ACL could
    finally:
        os.close(fd)  # a brand-new inode: no lock of this process can be on it yet


def connect(path: str, *, busy_timeout: float) -> sqlite3.Connection:
    """An autocommit connection in WAL mode with synchronous=FULL and foreign keys on,
    waiting up to `busy_timeout` seconds for another writer's lock."""
    with _OPENING:
        if path != ":memory:":
            _create_private(path)
        db = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False, timeout=busy_timeout
        )
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = FULL")
        db.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        db.close()
        raise
    return db


def set_busy_timeout(db: sqlite3.Connection, seconds: float) -> None:
    db.execute(f"PRAGMA busy_timeout = {max(0, int(seconds * 1000))}")


class WriteTransaction:
    """`with WriteTransaction(db, lock) as db:` one BEGIN IMMEDIATE ... COMMIT under `lock`
    (the store's lock: one connection is shared by the threads of a store). IMMEDIATE takes
    the write lock at once, so two writers never both read and then both write (which
    fails with SQLITE_BUSY mid-transaction). An error, including one from COMMIT itself
    (SQLITE_FULL, an I/O error), rolls back: never half a change."""

    def __init__(self, db: sqlite3.Connection, lock: threading.RLock) -> None:
        self._db = db
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        return self._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                try:
                    self._db.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            else:
                self._rollback()
        finally:
            self._lock.release()

    def _rollback(self) -> None:
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
