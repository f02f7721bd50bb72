"""`kerbfirst iakerb serve --dir` runs its in-process LocalKDC off the event loop: while one
client's AS-REQ waits on the principal database (a wrong password: the KDC records the
pre-authentication failure, and the SQLite write lock is held by another process), an
unrelated client (realm discovery) is answered at once. Before, the KDC ran on the event
loop and the unrelated client waited as long as the lock was held."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

from kerbfirst.gss.iakerb import IakerbInitiator
from kerbfirst.net.iakerb_server import run_mechanism_client
from kerbfirst.wire.iakerb import decode_iakerb_token

from .test_serve_process import KF, MIT_122_DISCOVERY, Serve, _exchange

REALM = "SLOW.TEST"
SERVICE = "host/server.slow.test"
PASSWORD = "alice pw for the slow test"
HOLD = 4.0  # seconds the other process holds the database's write lock

LOCKER = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("ROLLBACK")
"""


def _kf(*args: str, stdin: str | None = None) -> None:
    got = subprocess.run([*KF, *args], input=stdin, capture_output=True, text=True, timeout=60,
                         check=False)
    assert got.returncode == 0, got.stderr


def test_a_blocked_kdc_request_does_not_stall_other_clients(tmp_path: Path) -> None:
    d = tmp_path / "realm"
    _kf("realm", "init", "--dir", str(d), "--realm", REALM, "--listen", "127.0.0.1:0")
    _kf("principal", "add", "alice", "--password-stdin", "--dir", str(d), stdin=PASSWORD + "\n")
    _kf("principal", "add", SERVICE, "--random", "--dir", str(d))
    keytab = tmp_path / "svc.keytab"
    _kf("keytab", "export", SERVICE, "--out", str(keytab), "--dir", str(d))
    serve = Serve(["--keytab", str(keytab), "--dir", str(d), "--timeout", "8"])
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(d / "principals.db"),
                               str(HOLD)], stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout is not None and locker.stdout.readline().strip() == "locked"

        async def scenario() -> tuple[float, float, str]:
            async def slow_client() -> float:
                ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM,
                                      password="not the password", random=os.urandom)
                started = time.monotonic()
                with contextlib.suppress(Exception):  # refused: only its duration matters
                    await run_mechanism_client("127.0.0.1", serve.port, ini, b"x", timeout=15)
                return time.monotonic() - started

            slow = asyncio.create_task(slow_client())
            await asyncio.sleep(0.5)  # the slow client's AS-REQ now waits on the lock
            started = time.monotonic()
            reply = await _exchange(serve.port, MIT_122_DISCOVERY)
            quick = time.monotonic() - started
            return quick, await slow, decode_iakerb_token(reply).target_realm

        quick, slow, realm = asyncio.run(scenario())
    finally:
        locker.kill()
        locker.wait()
        serve.stop()
    assert realm == REALM
    assert slow > 1.5, f"the lock did not hold the slow client up ({slow:.2f} s)"
    assert quick < 0.5, f"the unrelated client waited {quick:.2f} s behind the locked KDC"
