"""NTLM governance benchmark (not a test).

1. Policy decisions per second with a register of 10,000 exceptions (exact names, NetBIOS
   names, prefix and suffix wildcards, client and account restrictions, expired entries,
   a few catch-all `*` targets), flows that hit and miss; beside the same decisions made
   by scanning the register linearly (what the index replaces), as a ratio.
2. CPU per authentication of the NTLM acceptor (CHALLENGE + AUTHENTICATE of a pyspnego
   exchange: NTLMv2, MIC, channel bindings), bare and governed (policy of 10,000
   exceptions + Windows-shaped events to a discarding sink), beside the CPU of one
   Kerberos AP-REQ acceptance by our krb5 GSS acceptor (aes256-cts-hmac-sha1-96), in the
   same run.

    PYTHONPATH=src .venv-dev/bin/python bench/ntlm_bench.py [--n 300] [--repeats 3]
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from spnego.channel_bindings import GssChannelBindings

import spnego
from kerbfirst.crypto import Key, encrypt
from kerbfirst.gss import ntlm_crypto as nc
from kerbfirst.gss.krb5_acceptor import Krb5Acceptor
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.ntlm import (
    GateVerdict,
    NtHashVerifier,
    NtlmAcceptContext,
    NtlmAcceptorConfig,
    NtlmClaim,
)
from kerbfirst.gss.ntlm_governed import NtlmGovernor
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.policy import ExceptionEntry, Mode, NtlmAttempt, Policy
from kerbfirst.wire.constants import KU_KDC_REP_TICKET, NT_PRINCIPAL, NT_SRV_HST
from kerbfirst.wire.krb5 import (
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    PrincipalName,
    Ticket,
    TransitedEncoding,
)

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def register(n: int, rng: random.Random) -> tuple[ExceptionEntry, ...]:
    out = []
    for i in range(n):
        kind = rng.random()
        if kind < 0.55:
            target = f"srv{i}.corp.example"
        elif kind < 0.70:
            target = f"SRV{i}"
        elif kind < 0.85:
            target = f"app{i}-*"
        elif kind < 0.9997:
            target = f"*.site{i}.corp.example"
        else:
            target = "*"
        client = f"10.{i % 256}.*" if rng.random() < 0.3 else None
        user = f"CORP\\svc{i}" if rng.random() < 0.3 or target == "*" else None
        expires = date(2026, 1, 1) if rng.random() < 0.05 else date(2027, 6, 30)
        out.append(ExceptionEntry(f"EX-{i}", target, "owner@corp.example", expires, "reason",
                                  "control", client, user))
    return tuple(out)


def flows(n: int, size: int, rng: random.Random) -> list[NtlmAttempt]:
    out = []
    for _ in range(n):
        i = rng.randrange(size)
        server = rng.choice([f"srv{i}.corp.example", f"app{i}-7.corp.example",
                             f"web.site{i}.corp.example", f"unknown{i}.corp.example"])
        out.append(NtlmAttempt(client=f"WS{i}", server=server, user=f"svc{i}", domain="CORP",
                        client_address=f"10.{i % 256}.1.2"))
    return out


def linear_decide(policy: Policy, flow: NtlmAttempt) -> ExceptionEntry | None:
    return next((e for e in policy.exceptions
                 if e.matches(flow) and not e.expired(TODAY)), None)


def rate(fn: Callable[[], object], count: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return count / best


# ----------------------------------------------------------------------------- Kerberos

def krb5_tokens(n: int) -> tuple[list[bytes], Callable[[], Krb5Acceptor]]:
    service = PrincipalName(NT_SRV_HST, ("HTTP", "web.corp.example"))
    client = PrincipalName(NT_PRINCIPAL, ("alice",))
    service_key = Key(18, bytes(range(1, 33)))
    session_key = Key(18, bytes(range(100, 132)))
    part = EncTicketPart(flags=0, key=EncryptionKey(18, session_key.contents),
                         crealm="CORP.EXAMPLE", cname=client,
                         transited=TransitedEncoding(1, b""), authtime=NOW, starttime=None,
                         endtime=NOW + timedelta(hours=10), renew_till=None)
    cipher = encrypt(service_key, KU_KDC_REP_TICKET, part.encode(), confounder=bytes(16))
    ticket = Ticket("CORP.EXAMPLE", service, EncryptedData(18, 2, cipher))
    rng = random.Random(1)
    tokens = []
    for _ in range(n):
        ini = Krb5Initiator(ticket=ticket, session_key=session_key, client=client,
                            client_realm="CORP.EXAMPLE", now=NOW,
                            random=lambda k: rng.randbytes(k))
        tokens.append(ini.initial_token())
    name = "HTTP/web.corp.example@CORP.EXAMPLE"

    def lookup(principal: str, kvno: int | None, etype: int) -> Key | None:
        return service_key if principal == name else None

    def acceptor() -> Krb5Acceptor:
        return Krb5Acceptor(key_lookup=lookup, replay_cache=ReplayCache(),
                            random=lambda k: rng.randbytes(k))
    return tokens, acceptor


# --------------------------------------------------------------------------------- NTLM

CONFIG = NtlmAcceptorConfig(service_names=("HTTP/web.corp.example",), nb_computer="WEB",
                            nb_domain="CORP", dns_computer="web.corp.example")
CB = nc.tls_server_end_point(bytes(32))
HASHES = {("alice", "CORP"): nc.nt_hash("Correct horse 7!")}


def _lookup(user: str, domain: str) -> bytes | None:
    return HASHES.get((user.casefold(), domain.upper()))


def allow(attempt: NtlmClaim) -> GateVerdict:
    return GateVerdict(True, "")


def ntlm_exchanges(n: int) -> list[tuple[bytes, bytes, bytes]]:
    """(negotiate, server challenge, authenticate) of n pyspnego exchanges."""
    out = []
    for i in range(n):
        peer = spnego.client("CORP\\alice", "Correct horse 7!", hostname="web.corp.example",
                             service="HTTP", protocol="ntlm",
                             channel_bindings=GssChannelBindings(application_data=CB),
                             options=spnego.NegotiateOptions.use_ntlm)
        negotiate = peer.step()
        sc = i.to_bytes(8, "big")
        ctx = NtlmAcceptContext(CONFIG, NtHashVerifier(_lookup), replay=ReplayCache(),
                                channel_bindings=CB, gate=allow)
        challenge = ctx.challenge(negotiate, server_challenge=sc, now=NOW)
        out.append((negotiate, sc, peer.step(challenge)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=300, help="authentications per measurement")
    ap.add_argument("--exceptions", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    rng = random.Random(16)
    policy = Policy(Mode.ENFORCE, block_estate=True,
                    exceptions=register(args.exceptions, rng))
    sample = flows(20_000, args.exceptions, rng)
    linear_sample = sample[:500]
    for f in linear_sample:  # the two agree
        d = policy.decide(f, TODAY)
        if d.exception != linear_decide(policy, f):
            raise SystemExit(f"index and linear scan disagree on {f}")
    indexed = rate(lambda: [policy.decide(f, TODAY) for f in sample], len(sample),
                   args.repeats)
    linear = rate(lambda: [linear_decide(policy, f) for f in linear_sample],
                  len(linear_sample), args.repeats)
    allowed = sum(policy.decide(f, TODAY).exception is not None for f in sample)
    print(f"policy: {args.exceptions} exceptions, {len(sample)} flows "
          f"({allowed} allowed by an exception)")
    print(f"  indexed decide: {indexed:,.0f} decisions/s")
    print(f"  linear scan:    {linear:,.0f} decisions/s   (indexed/linear = "
          f"{indexed / linear:,.0f}x)")

    tokens, krb_acceptor = krb5_tokens(args.n)
    exchanges = ntlm_exchanges(args.n)

    def run_krb() -> None:
        for t in tokens:
            krb_acceptor().step(t, now=NOW)

    def run_ntlm() -> None:
        cache = ReplayCache()
        for negotiate, sc, auth in exchanges:
            ctx = NtlmAcceptContext(CONFIG, NtHashVerifier(_lookup), replay=cache,
                                    channel_bindings=CB, gate=allow)
            ctx.challenge(negotiate, server_challenge=sc, now=NOW)
            ctx.authenticate(auth, now=NOW)

    governed_policy = Policy(Mode.ENFORCE, block_estate=True, exceptions=(
        *policy.exceptions, ExceptionEntry("EX-WEB", "web.corp.example", "o", date(2027, 1, 1),
                                           "r", "c")))
    sink: list[object] = []

    def run_governed() -> None:
        sink.clear()
        gov = NtlmGovernor(CONFIG, NtHashVerifier(_lookup), policy=lambda: governed_policy,
                           replay=ReplayCache(), sink=sink.append, host="web.corp.example")
        for negotiate, sc, auth in exchanges:
            ctx = gov.context(client_address="10.1.1.1", channel_bindings=CB)
            ctx.challenge(negotiate, server_challenge=sc, now=NOW)
            ctx.authenticate(auth, now=NOW)

    k = rate(run_krb, args.n, args.repeats)
    n = rate(run_ntlm, args.n, args.repeats)
    g = rate(run_governed, args.n, args.repeats)
    print(f"acceptor CPU per authentication ({args.n} each, best of {args.repeats}):")
    print(f"  Kerberos AP-REQ (krb5 GSS acceptor, aes256): {1e6 / k:8.1f} us")
    print(f"  NTLMv2 + MIC + channel bindings, bare:       {1e6 / n:8.1f} us   "
          f"(NTLM/Kerberos = {k / n:.2f})")
    print(f"  NTLMv2, governed (policy + 3 events):        {1e6 / g:8.1f} us   "
          f"(NTLM/Kerberos = {k / g:.2f})")


if __name__ == "__main__":
    main()
