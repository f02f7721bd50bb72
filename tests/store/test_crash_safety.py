"""SIGKILL a writer at random moments: the database stays consistent and every key decrypts."""

from __future__ import annotations

import pathlib
import random
import signal
import sqlite3
import subprocess
import sys
import time

from tests.store.peers import python_env

from kerbfirst.store.masterkey import create_master_key
from kerbfirst.store.principals import SqlitePrincipalStore

REALM = "DEMO.TEST"
ROUNDS = 6


def test_sigkill_mid_write_leaves_a_consistent_store(tmp_path: pathlib.Path) -> None:
    master = create_master_key(tmp_path / "mk")
    db = tmp_path / "principals.db"
    SqlitePrincipalStore(db, master, realm=REALM).close()
    rng = random.Random()
    start = 0
    for _ in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.store.crash_writer", str(db), master.hex(), REALM,
             str(start)],
            stdout=subprocess.PIPE,
            env=python_env(),
            cwd=pathlib.Path(__file__).resolve().parents[2],
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == b"ready"
        time.sleep(rng.uniform(0.05, 0.4))
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
        child.stdout.close()

        raw = sqlite3.connect(db)
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        # Every principal has a complete current kvno (both etypes): no half-written rekey.
        rows = raw.execute(
            "SELECT p.name, COUNT(k.etype) FROM principals p JOIN keys k ON k.principal = p.name "
            "AND k.kvno = (SELECT MAX(kvno) FROM keys WHERE principal = p.name) GROUP BY p.name"
        ).fetchall()
        count = raw.execute("SELECT COUNT(*) FROM principals").fetchone()[0]
        raw.close()
        assert len(rows) == count
        assert all(n == 2 for _, n in rows)

        store = SqlitePrincipalStore(db, master, realm=REALM)
        assert store.verify_all_keys() >= 2 * count
        for info in store.list_principals():
            entry = store.get_principal(info.name)
            assert entry is not None and len(entry.keys) in (2, 4)
        start = count  # the next child continues with fresh names
        store.close()
    assert start > ROUNDS  # the children really wrote something
