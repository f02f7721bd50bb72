"""Lock-out that holds: the KDC with the real SQLite store, in process, clock controlled.

- the policy's window reaches the store (MIT failcnt_interval: older failures stop counting);
- a failure that cannot be written gets no verdict (fail closed), simulated with an SQLite
  authorizer and for real with a second process holding the store's write lock;
- what an unauthenticated client reads in a KRB-ERROR: one fixed text per error code.
"""

from __future__ import annotations

import os
import pathlib
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from kerbfirst.client import AsExchange, Credential, KerberosError
from kerbfirst.kdc import Kdc, KdcPolicy, LockoutPolicy, Outcome
from kerbfirst.kdc.audit import KdcAuditEvent
from kerbfirst.krb.names import krbtgt_name
from kerbfirst.store.masterkey import create_master_key
from kerbfirst.store.principals import SqlitePrincipalStore
from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import KdcReq, KdcReqBody, KrbError, PrincipalName, decode_kdc_message

REALM = "LOCK.TEST"
ALICE = f"alice@{REALM}"
PASSWORD = "alice's real password"
T0 = datetime(2030, 6, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Setup:
    def __init__(self, tmp: pathlib.Path, policy: KdcPolicy, **store_args: object) -> None:
        self.clock = Clock()
        self.path = tmp / "principals.db"
        self.master = create_master_key(tmp / "master.key")
        self.store = SqlitePrincipalStore(
            self.path, self.master, realm=REALM, monotonic=self.clock, **store_args  # type: ignore[arg-type]
        )
        self.store.add_principal(f"krbtgt/{REALM}", now=T0)
        self.store.add_principal("alice", password=PASSWORD, now=T0)
        self.store.add_principal("bob", password="bob's password", now=T0)
        self.events: list[KdcAuditEvent] = []
        self.kdc = Kdc(
            database=self.store, policy=policy, random=os.urandom, audit=self.events.append
        )

    def kinit(self, password: str, now: datetime, principal: str = "alice") -> Credential:
        exchange = AsExchange(principal, REALM, password=password, random=os.urandom)
        out: object = exchange.first_request(now)
        while isinstance(out, bytes):
            reply = self.kdc.handle(out, peer="127.0.0.1:1", transport="udp", now=now)
            assert reply is not None
            out = exchange.receive(reply, now)
        assert isinstance(out, Credential)
        return out

    def refused(self, password: str, now: datetime, principal: str = "alice") -> KerberosError:
        with pytest.raises(KerberosError) as info:
            self.kinit(password, now, principal)
        return info.value

    def fail_count(self, name: str = "alice") -> int:
        return self.store.get_info(name).fail_count


def _policy(**lockout: object) -> KdcPolicy:
    return KdcPolicy(realm=REALM, lockout=LockoutPolicy(**lockout))  # type: ignore[arg-type]


@pytest.fixture
def setup(tmp_path: pathlib.Path) -> Iterator[Setup]:
    s = Setup(tmp_path, _policy(threshold=5, window=timedelta(seconds=8),
                                duration=timedelta(minutes=10)))
    yield s
    s.store.close()


# ---------------------------------------------------------------- the window (MIT failcnt_interval)


def test_failures_older_than_the_window_no_longer_count(setup: Setup) -> None:
    """Threshold 5, window 8 s: 4 failures, 10 s of quiet, one more: not locked."""
    for i in range(4):
        assert setup.refused("wrong", T0 + timedelta(seconds=i)).code == c.KDC_ERR_PREAUTH_FAILED
    assert setup.fail_count() == 4
    later = T0 + timedelta(seconds=3 + 10)
    assert setup.refused("wrong", later).code == c.KDC_ERR_PREAUTH_FAILED
    assert setup.fail_count() == 1  # the count restarted (MIT lockout.c)
    assert isinstance(setup.kinit(PASSWORD, later + timedelta(seconds=1)), Credential)
    assert setup.fail_count() == 0
    # Within the window the same five failures do lock out, until the duration has passed.
    for i in range(5):
        setup.refused("wrong", later + timedelta(seconds=2 + i))
    locked = setup.refused(PASSWORD, later + timedelta(seconds=8))
    assert locked.code == c.KDC_ERR_CLIENT_REVOKED
    assert setup.events[-1].outcome is Outcome.CLIENT_LOCKED_OUT
    assert isinstance(setup.kinit(PASSWORD, later + timedelta(minutes=11)), Credential)


# ---------------------------------------------------------------- e-text


def _as_req(name: str, sname: PrincipalName | None = None) -> bytes:
    body = KdcReqBody(
        kdc_options=0,
        cname=PrincipalName(c.NT_PRINCIPAL, (name,)),
        realm=REALM,
        sname=sname or krbtgt_name(REALM),
        from_=None,
        till=T0 + timedelta(hours=10),
        rtime=None,
        nonce=4711,
        etype=(18, 17),
    )
    return KdcReq(msg_type=c.KRB_AS_REQ, padata=None, req_body=body, pvno=5).encode()


def _krb_error(setup: Setup, request: bytes, now: datetime) -> KrbError:
    reply = setup.kdc.handle(request, peer="127.0.0.1:1", transport="udp", now=now)
    msg = decode_kdc_message(reply or b"")
    assert isinstance(msg, KrbError)
    return msg


def test_locked_and_disabled_read_the_same_and_reveal_no_state(setup: Setup) -> None:
    for i in range(5):
        setup.refused("wrong", T0 + timedelta(seconds=i))
    setup.store.set_attributes("bob", disabled=True, now=T0)
    now = T0 + timedelta(seconds=30)
    locked = _krb_error(setup, _as_req("alice"), now)
    locked_reason = setup.events[-1].reason
    disabled = _krb_error(setup, _as_req("bob"), now)
    assert locked.error_code == disabled.error_code == c.KDC_ERR_CLIENT_REVOKED
    assert locked.e_text == disabled.e_text == "Client's credentials have been revoked"
    assert locked.e_data is None and disabled.e_data is None
    # The detail is in the audit log, for the administrator.
    assert "locked out after 5 failed pre-authentications (threshold 5)" in locked_reason
    assert setup.events[-1].outcome is Outcome.CLIENT_REVOKED


def test_locked_and_disabled_read_the_same_whatever_else_is_wrong(setup: Setup) -> None:
    """The client's state must not leak through the order of the checks: with a server
    that may not be asked for (disabled, not a service) or a client entry past its
    expiry, a locked-out client still gets what a disabled one gets."""
    for i in range(5):
        setup.refused("wrong", T0 + timedelta(seconds=i))
    setup.store.set_attributes("bob", disabled=True, now=T0)
    setup.store.add_principal("svc/off", now=T0)
    setup.store.set_attributes("svc/off", disabled=True, now=T0)
    setup.store.add_principal("svc/noas", now=T0, allow_as_service=False)
    now = T0 + timedelta(seconds=30)
    for parts in (("svc", "off"), ("svc", "noas")):
        sname = PrincipalName(c.NT_SRV_INST, parts)
        locked = _krb_error(setup, _as_req("alice", sname), now)
        disabled = _krb_error(setup, _as_req("bob", sname), now)
        assert (locked.error_code, locked.e_text, locked.e_data) == (
            disabled.error_code, disabled.e_text, disabled.e_data
        ), parts
    for name in ("alice", "bob"):
        setup.store.set_attributes(name, expires=T0 + timedelta(seconds=10), now=T0)
    locked = _krb_error(setup, _as_req("alice"), now)
    disabled = _krb_error(setup, _as_req("bob"), now)
    assert (locked.error_code, locked.e_text) == (disabled.error_code, disabled.e_text)


def test_error_texts_are_fixed_per_code(setup: Setup) -> None:
    wrong = setup.refused("wrong", T0)
    assert (wrong.code, wrong.e_text) == (c.KDC_ERR_PREAUTH_FAILED, "Preauthentication failed")
    assert "kvno" in setup.events[-1].reason  # the audit keeps it, the client does not get it
    unknown = _krb_error(setup, _as_req("nobody-" + "x" * 40), T0)
    assert unknown.error_code == c.KDC_ERR_C_PRINCIPAL_UNKNOWN
    assert unknown.e_text == "Client not found in Kerberos database"
    required = _krb_error(setup, _as_req("alice"), T0)
    assert required.error_code == c.KDC_ERR_PREAUTH_REQUIRED
    assert required.e_text == "Additional pre-authentication required"
    for err in (wrong.e_text or "", unknown.e_text, required.e_text):
        assert "alice" not in err and "nobody" not in err and REALM not in err


# ---------------------------------------------------------------- fail closed


def _deny_updates(action: int, table: str | None, *_: object) -> int:
    if action == sqlite3.SQLITE_UPDATE and table == "principals":
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def test_a_failure_that_cannot_be_written_gets_no_verdict(setup: Setup) -> None:
    """Simulated write failure: SQLite refuses every UPDATE of the principals table."""
    setup.store._db.set_authorizer(_deny_updates)
    wrong = setup.refused("wrong", T0)
    assert (wrong.code, wrong.e_text) == (
        c.KDC_ERR_SVC_UNAVAILABLE,
        "A service is not available that is required to process the request",
    )
    event = setup.events[-1]
    assert event.outcome is Outcome.STORE_UNAVAILABLE and event.result_code == 29
    assert "wrong password" in event.reason and "could not be counted" in event.reason
    assert setup.store.preauth_failures_kept() == 1
    # Right and wrong passwords now read the same: neither is judged.
    right = setup.refused(PASSWORD, T0 + timedelta(seconds=1))
    assert (right.code, right.e_text) == (wrong.code, wrong.e_text)
    assert "not judged" in setup.events[-1].reason
    setup.clock.t += 1.5  # a retry is due; the write still fails
    assert setup.refused(PASSWORD, T0 + timedelta(seconds=2)).code == c.KDC_ERR_SVC_UNAVAILABLE
    # Writable again: the kept failure is written first, then attempts are judged.
    setup.store._db.set_authorizer(None)
    setup.clock.t += 1.5
    assert setup.refused("wrong", T0 + timedelta(seconds=3)).code == c.KDC_ERR_PREAUTH_FAILED
    assert setup.fail_count() == 2 and setup.store.preauth_failures_kept() == 0
    assert isinstance(setup.kinit(PASSWORD, T0 + timedelta(seconds=4)), Credential)
    assert setup.fail_count() == 0


def test_failures_kept_through_an_outage_count_towards_lock_out(setup: Setup) -> None:
    for i in range(4):
        setup.refused("wrong", T0 + timedelta(seconds=i))
    setup.store._db.set_authorizer(_deny_updates)
    assert setup.refused("wrong", T0 + timedelta(seconds=4)).code == c.KDC_ERR_SVC_UNAVAILABLE
    setup.store._db.set_authorizer(None)
    setup.clock.t += 1.5
    # The fifth failure, kept in memory, is written before this attempt is judged, and the
    # attempt is checked against it: locked out, even with the right password.
    locked = setup.refused(PASSWORD, T0 + timedelta(seconds=5))
    assert locked.code == c.KDC_ERR_CLIENT_REVOKED
    assert setup.events[-1].outcome is Outcome.CLIENT_LOCKED_OUT
    assert setup.fail_count() == 5


def test_a_count_that_cannot_be_reset_gets_no_ticket(setup: Setup) -> None:
    setup.refused("wrong", T0)
    setup.store._db.set_authorizer(_deny_updates)
    assert setup.refused(PASSWORD, T0 + timedelta(seconds=1)).code == c.KDC_ERR_SVC_UNAVAILABLE
    assert setup.events[-1].outcome is Outcome.STORE_UNAVAILABLE


_HOLD_WRITE_LOCK = (
    "import sqlite3, sys\n"
    "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
    "db.execute('BEGIN IMMEDIATE')\n"
    "print('locked', flush=True)\n"
    "sys.stdin.read()\n"
    "db.execute('ROLLBACK')\n"
)


def test_a_second_process_holding_the_write_lock(tmp_path: pathlib.Path) -> None:
    setup = Setup(tmp_path, _policy(threshold=3), busy_timeout=0.3)
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLD_WRITE_LOCK, str(setup.path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "locked"
        wrong = setup.refused("wrong", T0)
        assert wrong.code == c.KDC_ERR_SVC_UNAVAILABLE
        assert "database is locked" in setup.events[-1].reason
        right = setup.refused(PASSWORD, T0 + timedelta(seconds=1))
        assert (right.code, right.e_text) == (wrong.code, wrong.e_text)
        # Guessing on while the lock is held never gets a verdict, and never a lock-out
        # bypass: every attempt is refused before the password is looked at.
        for i in range(10):
            setup.clock.t += 1.5
            assert setup.refused("guess", T0 + timedelta(seconds=2 + i)).code == 29
    finally:
        holder.stdin.close()
        assert holder.wait(timeout=30) == 0
    setup.clock.t += 1.5
    assert setup.refused("wrong", T0 + timedelta(seconds=20)).code == c.KDC_ERR_PREAUTH_FAILED
    assert setup.fail_count() == 2  # the one judged under the lock, and this one
    assert isinstance(setup.kinit(PASSWORD, T0 + timedelta(seconds=21)), Credential)
    setup.store.close()
