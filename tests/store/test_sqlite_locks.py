"""The store never drops SQLite's POSIX locks: a second store opened (and closed) in the same
process leaves the first one's locks in place, so another process that closes the database
cannot fold the WAL away under it, and the first store keeps seeing later commits.

On Linux, close(2) of any descriptor of a file drops every POSIX lock the process holds on
it; opening a store used to open and close such a descriptor (to create the file 0600).
"""

from __future__ import annotations

import pathlib
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime

import pytest
from tests.store.peers import python_env

from kerbfirst.store.masterkey import create_master_key
from kerbfirst.store.principals import SqlitePrincipalStore

REALM = "LOCKS.TEST"
NOW = datetime(2030, 1, 1, tzinfo=UTC)

# Another process that adds a principal through the store and closes it, as
# `kerbfirst principal add` does. Closing is when SQLite, if it can take an exclusive lock,
# checkpoints the WAL into the database and deletes -wal and -shm.
_ADD_AND_CLOSE = (
    "import sys\n"
    "from datetime import UTC, datetime\n"
    "from kerbfirst.store.principals import SqlitePrincipalStore\n"
    "with SqlitePrincipalStore(sys.argv[1], bytes.fromhex(sys.argv[2]), realm=sys.argv[3]) as s:\n"
    "    s.add_principal(sys.argv[4], now=datetime(2030, 1, 1, tzinfo=UTC))\n"
)

# A process that only reads with the sqlite3 module and closes (like `sqlite3 principals.db`).
_READ_AND_CLOSE = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1])\n"
    "print(db.execute('SELECT COUNT(*) FROM principals').fetchone()[0])\n"
    "db.close()\n"
)


def _run(code: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=60,
        env=python_env(), check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture
def master(tmp_path: pathlib.Path) -> bytes:
    return create_master_key(tmp_path / "master.key")


def test_second_store_in_process_keeps_the_first_ones_locks(
    tmp_path: pathlib.Path, master: bytes
) -> None:
    db = tmp_path / "principals.db"
    kdc = SqlitePrincipalStore(db, master, realm=REALM)  # a serving KDC's connection
    assert kdc.get_principal(f"first@{REALM}") is None
    # `kdc serve` with one worker used to open a check store, then the worker's: the second
    # open closed a descriptor of the file and so dropped the first connection's locks.
    SqlitePrincipalStore(db, master, realm=REALM).close()
    wal = pathlib.Path(f"{db}-wal")
    assert wal.exists()
    for n, name in enumerate(("first", "second", "third"), start=1):
        _run(_ADD_AND_CLOSE, str(db), master.hex(), REALM, name)
        assert _run(_READ_AND_CLOSE, str(db)).strip() == str(n)
        # The WAL is still there: the other processes could not take the exclusive lock
        # that folding and deleting it needs, because this process still holds its share.
        assert wal.exists(), f"another process deleted {wal} while the store was open"
        entry = kdc.get_principal(f"{name}@{REALM}")
        assert entry is not None, f"the open store does not see {name}, added by another process"
    kdc.close()


# A KDC-like process: its store, plus a second one opened and closed in the same process (as
# `kdc serve` with one worker did); it counts a failure per line read, then dies without
# closing anything, as after kill -9.
_KDC_PROCESS = (
    "import os, sys\n"
    "from datetime import UTC, datetime\n"
    "from kerbfirst.store.principals import SqlitePrincipalStore\n"
    "path, key, realm = sys.argv[1], bytes.fromhex(sys.argv[2]), sys.argv[3]\n"
    "kdc = SqlitePrincipalStore(path, key, realm=realm)\n"
    "SqlitePrincipalStore(path, key, realm=realm).close()\n"
    "now = datetime(2030, 1, 1, tzinfo=UTC)\n"
    "print('ready', flush=True)\n"
    "for line in sys.stdin:\n"
    "    kdc.record_preauth_failure('alice@' + realm, now)\n"
    "    print('counted', flush=True)\n"
    "os._exit(0)\n"
)


def test_kdc_writes_survive_other_processes_closing(
    tmp_path: pathlib.Path, master: bytes
) -> None:
    """The KDC's own writes (failure counts) go to the live WAL, never to one another
    process has deleted: all are there after the KDC dies without closing."""
    db = tmp_path / "principals.db"
    with SqlitePrincipalStore(db, master, realm=REALM) as admin:
        admin.add_principal("alice", password="alice password", now=NOW)
    kdc = subprocess.Popen(
        [sys.executable, "-c", _KDC_PROCESS, str(db), master.hex(), REALM],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=python_env(),
    )
    assert kdc.stdin is not None and kdc.stdout is not None
    try:
        assert kdc.stdout.readline().strip() == "ready"
        for i in range(12):
            kdc.stdin.write("fail\n")
            kdc.stdin.flush()
            assert kdc.stdout.readline().strip() == "counted"
            # An administrator's command in between: it writes, then closes.
            _run(_ADD_AND_CLOSE, str(db), master.hex(), REALM, f"user{i}")
        kdc.stdin.close()
        assert kdc.wait(timeout=30) == 0
    finally:
        if kdc.poll() is None:
            kdc.kill()
            kdc.wait()
    raw = sqlite3.connect(db)
    assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    raw.close()
    with SqlitePrincipalStore(db, master, realm=REALM) as again:
        assert again.get_info("alice").fail_count == 12
        assert len(again.list_principals()) == 13
