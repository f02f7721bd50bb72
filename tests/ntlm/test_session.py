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


def test_spnego_with_pyspnego_then_sealed_messages_both_ways() -> None:
    """SPNEGO (RFC 4178) carrying our NTLM: pyspnego's Negotiate client, our SpnegoAcceptor;
    both mechListMICs verify, and after them both sides restart RC4 (MS-SPNG 3.3.5.1), so
    sealed messages still interoperate."""
    import os

    import spnego
    from kerbfirst.gss.ntlm import NtHashVerifier
    from kerbfirst.gss.ntlm_governed import NtlmGovernor
    from kerbfirst.gss.ntlm_mech import NtlmMechanism
    from kerbfirst.gss.replay import ReplayCache
    from kerbfirst.gss.spnego_acceptor import SpnegoAcceptor
    from kerbfirst.gss.spnego_select import NtlmVerdict
    from kerbfirst.policy import Mode, Policy
    from kerbfirst.wire.gss_framing import OID_NTLMSSP
    from ntlm.peer import WEB, lookup

    policy = Policy(Mode.AUDIT, block_estate=True)
    gov = NtlmGovernor(WEB, NtHashVerifier(lookup), policy=lambda: policy,
                       replay=ReplayCache(), sink=lambda d: None, host="web.corp.example",
                       mechanism_oid=OID_NTLMSSP)
    auth = NtlmMechanism(gov, random=os.urandom)
    acc = SpnegoAcceptor(
        {OID_NTLMSSP: lambda oid: auth.conversation(spnego=True)},  # type: ignore[dict-item]
        ntlm_gate=lambda r: NtlmVerdict(True, "the NTLM policy decides per attempt"))
    peer = spnego.client("CORP\\alice", "Correct horse 7!", hostname="web.corp.example",
                         service="HTTP", protocol="negotiate")
    token = peer.step()
    while token is not None:
        out = acc.step(token, now=NOW)
        token = peer.step(out) if out is not None else None
    assert acc.complete and peer.complete
    ours = acc.context
    wrapped = peer.wrap(b"to the server").data
    assert ours.unseal(wrapped[16:], wrapped[:16]) == b"to the server"
    sealed, signature = ours.seal(b"to the client")
    assert peer.unwrap(signature + sealed).data == b"to the client"


def test_bad_mech_list_mic_is_a_spnego_refusal() -> None:
    """SPNEGO's mechListMIC check (RFC 4178 5) refuses an NTLM signature that does not verify
    as it refuses a krb5 one: BadMic, a GssError, not an exception its carriers miss."""
    from kerbfirst.gss.errors import BadMic
    from kerbfirst.gss.spnego_acceptor import MicState

    peer, ours = _pair()
    state = MicState(b"\x30\x0c\x06\x0a\x2b\x06\x01\x04\x01\x82\x37\x02\x02\x0a",
                     required=True)
    mic = peer.sign(b"another mechanism list")
    with pytest.raises(BadMic, match="mechListMIC does not verify"):
        state.verify(ours, mic, NOW)
