"""Fuzz target: the KDC's request handler (issue 2, "Bad input").

`Kdc.handle` must never raise, whatever the bytes: every malformed request is answered with
a KRB-ERROR or dropped (None). The KDC runs on a real SQLite store in a temporary realm,
with a fixed clock so the seeds' pre-authentication timestamps stay valid; the seeds are
real AS-REQs (with and without PA-ENC-TIMESTAMP) and TGS-REQs from kerbfirst's client.
"""

from __future__ import annotations

import os
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["kerbfirst"]):
    from kerbfirst.client import AsExchange, TgsExchange
    from kerbfirst.kdc.audit import KdcAuditEvent
    from kerbfirst.kdc.policy import KdcPolicy, LockoutPolicy
    from kerbfirst.kdc.service import Kdc
    from kerbfirst.store.masterkey import create_master_key
    from kerbfirst.store.principals import SqlitePrincipalStore

REALM = "FUZZ.TEST"
NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
REPLY_TAGS = {0x6B, 0x6D, 0x7E}  # AS-REP, TGS-REP, KRB-ERROR (RFC 4120 5.10)
events = 0


def _audit(event: KdcAuditEvent) -> None:
    global events
    event.to_json()  # the audit event must always serialise
    events += 1


def _build() -> tuple[Kdc, list[bytes]]:
    root = Path(tempfile.mkdtemp(prefix="kerbfirst-fuzz-"))
    store = SqlitePrincipalStore(
        root / "principals.db", create_master_key(root / "master.key"), realm=REALM
    )
    for name, pw in ((f"krbtgt/{REALM}", None), ("alice", "alice-pw"), ("host/svc", None)):
        store.add_principal(f"{name}@{REALM}", password=pw, now=NOW)
    # Lock-out off: the fuzzer sends many bad pre-auths and we want every path reachable.
    policy = KdcPolicy(realm=REALM, lockout=LockoutPolicy(threshold=0), reply_cache_size=256)
    kdc = Kdc(database=store, policy=policy, random=os.urandom, audit=_audit)
    seeds: list[bytes] = []
    for etype in (17, 18, 19, 20):
        exchange = AsExchange(
            "alice", REALM, random=os.urandom, password="alice-pw", etypes=(etype,)
        )
        req = exchange.first_request(NOW)
        seeds.append(req)
        step = exchange.receive(kdc.handle(req, peer="seed", transport="udp", now=NOW) or b"", NOW)
        assert isinstance(step, bytes)
        seeds.append(step)
        tgt = exchange.receive(kdc.handle(step, peer="seed", transport="udp", now=NOW) or b"", NOW)
        assert not isinstance(tgt, bytes)
        tgs = TgsExchange(tgt, "host/svc", random=os.urandom)
        seeds.append(tgs.first_request(NOW))
        seeds.append(TgsExchange.renewal(tgt, random=os.urandom).first_request(NOW))
    return kdc, seeds


KDC, SEEDS = _build()


def test_one_input(data: bytes) -> None:
    reply = KDC.handle(data, peer="127.0.0.1:1", transport="udp", now=NOW)
    if reply is not None and (not reply or reply[0] not in REPLY_TAGS):
        raise RuntimeError(f"reply is not a Kerberos reply or KRB-ERROR: {reply[:16].hex()}")


def main() -> None:
    corpus = [a for a in sys.argv[1:] if not a.startswith("-")]
    if corpus:
        d = Path(corpus[0])
        d.mkdir(parents=True, exist_ok=True)
        for i, seed in enumerate(SEEDS):
            (d / f"seed-{i:02d}").write_bytes(seed)
    atheris.Setup(sys.argv, test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
