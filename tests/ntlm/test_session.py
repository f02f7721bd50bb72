"""NTLM session security against pyspnego's: its signatures and sealed messages verify
here, ours verify there; tampering and out-of-order sequence numbers are refused."""

from __future__ import annotations

import pytest

from kerbfirst.gss.ntlm_session import NtlmIntegrityError, NtlmSessionSecurity
from ntlm.peer import NOW, acceptor, client, exchange


def _pair():  # type: ignore[no-untyped-def]
    ctx = acceptor()
    peer = client()
    _, _, auth = exchange(ctx, peer)
    ident = ctx.authenticate(auth, now=NOW)
    return peer, NtlmSessionSecurity(ident.session_key, ident.flags, client=ident.user,
                                     service="HTTP/web.corp.example")


def test_signatures_both_ways() -> None:
    peer, ours = _pair()
    for i in range(3):
        message = f"message {i}".encode()
        ours.verify_mic(message, peer.sign(message))
        peer.verify(message, ours.get_mic(message))


def test_sealed_messages_both_ways() -> None:
    peer, ours = _pair()
    wrapped = peer.wrap(b"secret for the server").data
    assert ours.unseal(wrapped[16:], wrapped[:16]) == b"secret for the server"
    sealed, signature = ours.seal(b"secret for the client")
    assert peer.unwrap(signature + sealed).data == b"secret for the client"


def test_tampered_and_replayed_signatures_are_refused() -> None:
    peer, ours = _pair()
    mic = peer.sign(b"pay 10")
    with pytest.raises(NtlmIntegrityError, match="does not verify"):
        ours.verify_mic(b"pay 99", mic)
    peer, ours = _pair()
    first = peer.sign(b"one")
    ours.verify_mic(b"one", first)
    with pytest.raises(NtlmIntegrityError, match="sequence number 0, expected 1"):
        ours.verify_mic(b"one", first)
