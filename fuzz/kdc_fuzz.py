"""Fuzz target: the KDC's request handler.

`Kdc.handle` must never raise, whatever the bytes: every malformed request is answered with
a KRB-ERROR or dropped (None). The KDC runs on a real SQLite store in a temporary realm,
with a fixed clock so the seeds' pre-authentication timestamps stay valid; the seeds are
real AS-REQs (with and without PA-ENC-TIMESTAMP) and TGS-REQs from kerbfirst's client.

Two modes, chosen by the first input byte: raw bytes (the decoder's bounds), and
structure-aware (a real request decoded, some of its fields replaced with fuzzer-chosen
values, re-encoded as valid DER) so that mutations reach the AS/TGS checks and issuing
instead of stopping in the decoder.
"""

from __future__ import annotations

import dataclasses
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
    from kerbfirst.wire.krb5 import KdcReq, PaData, PrincipalName

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


DECODED = [KdcReq.decode(seed) for seed in SEEDS]
NAMES = [("alice",), ("krbtgt", REALM), ("host", "svc"), ("nobody",), ("krbtgt", "OTHER"), ()]


def _structured(fdp: atheris.FuzzedDataProvider) -> bytes:
    """A real request with fuzzer-chosen options, names, etypes, times, nonce and padata."""
    req = fdp.PickValueInList(DECODED)
    body = req.req_body
    changes: dict[str, object] = {}
    if fdp.ConsumeBool():
        changes["kdc_options"] = fdp.ConsumeIntInRange(0, 2**32 - 1)
    if fdp.ConsumeBool():
        changes["etype"] = tuple(fdp.ConsumeIntListInRange(fdp.ConsumeIntInRange(0, 6), -30, 30))
    if fdp.ConsumeBool():
        changes["nonce"] = fdp.ConsumeIntInRange(0, 2**32 - 1)
    if fdp.ConsumeBool():
        changes["sname"] = PrincipalName(fdp.ConsumeIntInRange(0, 11), fdp.PickValueInList(NAMES))
    if fdp.ConsumeBool():
        changes["cname"] = PrincipalName(1, fdp.PickValueInList(NAMES))
    for field in ("till", "rtime", "from_"):
        if fdp.ConsumeBool():
            changes[field] = datetime.fromtimestamp(
                fdp.ConsumeIntInRange(0, 2**35), tz=UTC
            ).replace(microsecond=0)
    if fdp.ConsumeBool():
        changes["realm"] = fdp.PickValueInList([REALM, "OTHER", "", REALM.lower()])
    padata = list(req.padata or ())
    if padata and fdp.ConsumeBool():
        i = fdp.ConsumeIntInRange(0, len(padata) - 1)
        value = bytearray(padata[i].padata_value)
        for _ in range(fdp.ConsumeIntInRange(1, 4)):
            if value:
                value[fdp.ConsumeIntInRange(0, len(value) - 1)] = fdp.ConsumeIntInRange(0, 255)
        padata[i] = PaData(
            fdp.PickValueInList([padata[i].padata_type, 2, 1, 19, 128, 136]), bytes(value)
        )
    if fdp.ConsumeBool():
        padata.append(PaData(fdp.ConsumeIntInRange(-5, 200), fdp.ConsumeBytes(64)))
    try:
        new = dataclasses.replace(
            req, req_body=dataclasses.replace(body, **changes), padata=tuple(padata) or None
        )
        return new.encode()
    except ValueError:  # a value the encoder refuses (out of range): not a request at all
        return b""


def test_one_input(data: bytes) -> None:
    if data[:1] and data[0] & 1:
        data = _structured(atheris.FuzzedDataProvider(data[1:]))
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
