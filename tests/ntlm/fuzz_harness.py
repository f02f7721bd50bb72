"""The NTLM acceptor as the network meets it, for fuzz/ntlm_fuzz.py and a quick in-suite run.

An input is `len(NEGOTIATE)` (2 bytes, big-endian) + NEGOTIATE + AUTHENTICATE. The
acceptor's CHALLENGE is deterministic (fixed server challenge and time), so a seed recorded
from pyspnego's client is a valid exchange and mutations reach the MIC and replay checks.
The only exception allowed out of the acceptor is NtlmLogonRefused.
"""

from __future__ import annotations

import contextlib
import struct

from kerbfirst.gss import ntlm_crypto as nc
from kerbfirst.gss.ntlm import NtlmLogonRefused
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.wire import ntlm as w
from ntlm.peer import CERT_A, NOW, acceptor, client

SERVER_CHALLENGE = bytes(range(8))


def run_one(data: bytes) -> None:
    if len(data) < 2:
        return
    (n,) = struct.unpack_from(">H", data)
    negotiate, authenticate = data[2:2 + n], data[2 + n:]
    for decoder in (w.decode_negotiate, w.decode_challenge, w.decode_authenticate,
                    w.decode_client_challenge, w.decode_av_pairs):
        with contextlib.suppress(w.NtlmFormatError):
            decoder(authenticate)
    for cb in (None, nc.tls_server_end_point(CERT_A)):
        ctx = acceptor(cb=cb, replay=ReplayCache(max_entries=4))
        try:
            ctx.challenge(negotiate, server_challenge=SERVER_CHALLENGE, now=NOW)
            ctx.authenticate(authenticate, now=NOW)
        except NtlmLogonRefused:
            pass


def seed_inputs() -> list[bytes]:
    seeds = []
    for cert in (None, CERT_A):
        for password in ("Correct horse 7!", "wrong"):
            peer = client(cert=cert, password=password)
            negotiate = peer.step()
            assert negotiate is not None
            ctx = acceptor(cb=None if cert is None else nc.tls_server_end_point(cert))
            challenge = ctx.challenge(negotiate, server_challenge=SERVER_CHALLENGE, now=NOW)
            auth = peer.step(challenge)
            assert auth is not None
            seeds.append(struct.pack(">H", len(negotiate)) + negotiate + auth)
    return seeds
