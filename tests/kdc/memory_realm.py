"""A throwaway in-memory realm for tests: a PrincipalDatabase, a Kdc and its audit log.

The SQLite database lives on the `store` branch; these tests depend only on the
PrincipalDatabase protocol of krb/database.py.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta
from functools import cache

from kerbfirst.crypto import string_to_key
from kerbfirst.kdc import Kdc, KdcAuditEvent, KdcPolicy
from kerbfirst.krb.database import KeyEntry, PrincipalEntry
from kerbfirst.krb.names import default_salt, parse_principal

REALM = "TEST.REALM"
ALICE = f"alice@{REALM}"
ALICE_PASSWORD = "correct horse battery staple"
SERVICE = f"host/server.test.realm@{REALM}"
KRBTGT = f"krbtgt/{REALM}@{REALM}"
ALL_ETYPES = (18, 17, 20, 19)
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


class MemoryDatabase:
    """PrincipalDatabase in a dict, with MIT lockout.c counting (window reset)."""

    def __init__(self, window: timedelta = timedelta(minutes=10)) -> None:
        self.entries: dict[str, PrincipalEntry] = {}
        self.window = window
        self.lookups = 0

    def add(self, entry: PrincipalEntry) -> None:
        self.entries[entry.name] = entry

    def get_principal(self, name: str) -> PrincipalEntry | None:
        self.lookups += 1
        return self.entries.get(name)

    def record_preauth_failure(
        self, name: str, now: datetime, window: timedelta | None = None
    ) -> None:
        e = self.entries[name]
        window = self.window if window is None else window
        stale = e.last_failed is None or now - e.last_failed > window
        count = 1 if stale else e.fail_count + 1
        self.entries[name] = dataclasses.replace(e, fail_count=count, last_failed=now)

    def record_preauth_success(self, name: str, now: datetime) -> None:
        e = self.entries[name]
        self.entries[name] = dataclasses.replace(e, fail_count=0, last_failed=None)

    def failures_recordable(self) -> bool:
        return True


@cache
def password_keys(
    name: str, password: str, etypes: tuple[int, ...] = ALL_ETYPES, kvno: int = 1
) -> tuple[KeyEntry, ...]:
    principal, realm = parse_principal(name)
    salt = default_salt(principal.name_string, realm)
    return tuple(
        KeyEntry(kvno, e, string_to_key(e, password.encode(), salt).contents, salt)
        for e in etypes
    )


def random_keys(rng: random.Random, etypes: tuple[int, ...] = ALL_ETYPES, kvno: int = 1):
    return tuple(KeyEntry(kvno, e, rng.randbytes(16 if e in (17, 19) else 32)) for e in etypes)


@dataclasses.dataclass
class Realm:
    db: MemoryDatabase
    kdc: Kdc
    events: list[KdcAuditEvent]
    rng: random.Random
    policy: KdcPolicy

    def random(self, n: int) -> bytes:
        return self.rng.randbytes(n)

    def handle(self, request: bytes, now: datetime = T0, transport: str = "udp") -> bytes | None:
        return self.kdc.handle(request, peer="127.0.0.1", transport=transport, now=now)

    def key_of(self, name: str, etype: int) -> KeyEntry:
        return next(k for k in self.db.entries[name].keys if k.etype == etype)


def make_realm(*, seed: int = 1, **policy_args: object) -> Realm:
    rng = random.Random(seed)
    db = MemoryDatabase()
    policy = KdcPolicy(realm=REALM, **policy_args)  # type: ignore[arg-type]
    db.add(PrincipalEntry(name=KRBTGT, keys=random_keys(rng), allow_as_service=True))
    db.add(PrincipalEntry(name=ALICE, keys=password_keys(ALICE, ALICE_PASSWORD)))
    db.add(PrincipalEntry(name=SERVICE, keys=random_keys(rng)))
    events: list[KdcAuditEvent] = []
    kdc = Kdc(database=db, policy=policy, random=rng.randbytes, audit=events.append)
    return Realm(db, kdc, events, rng, policy)


def run_as(
    realm: Realm,
    *,
    password: str = ALICE_PASSWORD,
    principal: str = "alice",
    now: datetime = T0,
    client_now: datetime | None = None,
    **exchange_args: object,
) -> object:
    """Drive an AsExchange against the realm's KDC; returns the Credential (or raises)."""
    from kerbfirst.client import AsExchange

    client_now = client_now or now
    exchange = AsExchange(
        principal, REALM, password=password, random=realm.random, **exchange_args  # type: ignore[arg-type]
    )
    out: object = exchange.first_request(client_now)
    while isinstance(out, bytes):
        reply = realm.handle(out, now)
        if reply is None:
            raise AssertionError("the KDC dropped a request from our own client")
        out = exchange.receive(reply, client_now)
    return out
