"""Pure fixtures: a service key, a ticket made as a KDC would, and deterministic randomness."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from kerbfirst.crypto import Key, encrypt
from kerbfirst.gss.krb5_acceptor import Krb5Acceptor
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.wire.constants import KU_KDC_REP_TICKET, NT_PRINCIPAL, NT_SRV_HST
from kerbfirst.wire.krb5 import (
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    PrincipalName,
    Ticket,
    TransitedEncoding,
)

NOW = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
REALM = "GSS.TEST"
CLIENT = PrincipalName(NT_PRINCIPAL, ("alice",))
SERVICE = PrincipalName(NT_SRV_HST, ("host", "server.gss.test"))
SERVICE_STR = "host/server.gss.test@GSS.TEST"


def counter_random(seed: bytes = b"seed") -> Callable[[int], bytes]:
    """Deterministic bytes (SHA-256 in counter mode): tests stay reproducible."""
    state = {"n": 0}

    def random(n: int) -> bytes:
        out = b""
        while len(out) < n:
            state["n"] += 1
            out += hashlib.sha256(seed + state["n"].to_bytes(8, "big")).digest()
        return out[:n]

    return random


def make_ticket(
    service_key: Key, session_key: Key, *, kvno: int = 2, start: datetime | None = None,
    end: datetime | None = None, random: Callable[[int], bytes] | None = None,
) -> Ticket:
    rnd = random or counter_random(b"kdc")
    part = EncTicketPart(
        flags=0, key=EncryptionKey(session_key.etype, session_key.contents), crealm=REALM,
        cname=CLIENT, transited=TransitedEncoding(1, b""), authtime=NOW.replace(microsecond=0),
        starttime=start, endtime=end or NOW.replace(microsecond=0) + timedelta(hours=10),
        renew_till=None,
    )
    cipher = encrypt(service_key, KU_KDC_REP_TICKET, part.encode(), confounder=rnd(16))
    enc_part = EncryptedData(service_key.etype, kvno, cipher)
    return Ticket(realm=REALM, sname=SERVICE, enc_part=enc_part)


def keys(etype: int = 18) -> tuple[Key, Key]:
    size = 32 if etype in (18, 20) else 16
    return Key(etype, bytes(range(1, size + 1))), Key(etype, bytes(range(100, 100 + size)))


def lookup_for(service_key: Key, kvno: int = 2) -> Callable[[str, int | None, int], Key | None]:
    def lookup(principal: str, kv: int | None, etype: int) -> Key | None:
        if principal == SERVICE_STR and kv == kvno and etype == service_key.etype:
            return service_key
        return None

    return lookup


def pair(
    etype: int = 18, *, flags: int | None = None, now: datetime = NOW,
    cache: ReplayCache | None = None,
    use_subkey: bool = True, acceptor_subkey: bool = True, **acceptor_kw: object,
) -> tuple[Krb5Initiator, Krb5Acceptor, Ticket, Key]:
    service_key, session_key = keys(etype)
    ticket = make_ticket(service_key, session_key)
    kw: dict[str, object] = {} if flags is None else {"flags": flags}
    ini = Krb5Initiator(
        ticket=ticket, session_key=session_key, client=CLIENT, client_realm=REALM, now=now,
        random=counter_random(b"ini"), use_subkey=use_subkey, **kw,  # type: ignore[arg-type]
    )
    acc = Krb5Acceptor(
        key_lookup=lookup_for(service_key), replay_cache=ReplayCache() if cache is None else cache,
        random=counter_random(b"acc"), acceptor_subkey=acceptor_subkey,
        **acceptor_kw,  # type: ignore[arg-type]
    )
    return ini, acc, ticket, service_key
