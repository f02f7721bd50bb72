"""Helpers for the NTLM tests: an acceptor configured as a web service, and pyspnego's
pure-Python NTLM client (a real, independent MS-NLMP implementation) as the peer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime

from spnego.channel_bindings import GssChannelBindings

import spnego
from kerbfirst.gss import ntlm_crypto as nc
from kerbfirst.gss.ntlm import (
    GateVerdict,
    NtHashVerifier,
    NtlmAcceptContext,
    NtlmAcceptorConfig,
    NtlmClaim,
    NtlmGate,
    NtlmVerifier,
)
from kerbfirst.gss.replay import ReplayCache

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
PASSWORD = "Correct horse 7!"
ACCOUNTS = {("alice", "CORP"): nc.nt_hash(PASSWORD)}
WEB = NtlmAcceptorConfig(service_names=("HTTP/web.corp.example",), nb_computer="WEB",
                         nb_domain="CORP", dns_computer="web.corp.example",
                         dns_domain="corp.example")
CERT_A = hashlib.sha256(b"certificate of web.corp.example").digest()
CERT_B = hashlib.sha256(b"certificate of files.corp.example").digest()


def allow_all(attempt: NtlmClaim) -> GateVerdict:
    return GateVerdict(True, "test gate: allowed")


def lookup(user: str, domain: str) -> bytes | None:
    return ACCOUNTS.get((user.casefold(), domain.upper()))


def acceptor(config: NtlmAcceptorConfig = WEB, *, gate: NtlmGate = allow_all,
             cb: bytes | None = None, replay: ReplayCache | None = None,
             verifier: Callable[[str, str], bytes | None] | NtlmVerifier = lookup,
             ) -> NtlmAcceptContext:
    cache = replay if replay is not None else ReplayCache()
    checker = verifier if hasattr(verifier, "verify") else NtHashVerifier(verifier)
    return NtlmAcceptContext(config, checker, replay=cache,
                             gate=gate, channel_bindings=cb, client_address="192.0.2.7")


def client(*, user: str = "CORP\\alice", password: str = PASSWORD,
           host: str = "web.corp.example", cert: bytes | None = None) -> spnego.ContextProxy:
    bindings = None
    if cert is not None:
        bindings = GssChannelBindings(application_data=nc.tls_server_end_point(cert))
    return spnego.client(user, password, hostname=host, service="HTTP", protocol="ntlm",
                         channel_bindings=bindings, options=spnego.NegotiateOptions.use_ntlm)


def exchange(ctx: NtlmAcceptContext, peer: spnego.ContextProxy, *, now: datetime = NOW,
             auth_now: datetime | None = None) -> tuple[bytes, bytes, bytes]:
    """(negotiate, challenge, authenticate) after running the acceptor's first step."""
    negotiate = peer.step()
    assert negotiate is not None
    challenge = ctx.challenge(negotiate, server_challenge=bytes(range(8)), now=now)
    authenticate = peer.step(challenge)
    assert authenticate is not None
    return negotiate, challenge, authenticate
