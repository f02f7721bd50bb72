"""The acceptor against pyspnego's NTLM client (an independent MS-NLMP implementation):
success with and without channel bindings, and every refusal a real client can provoke."""

from __future__ import annotations

import struct
from datetime import timedelta

import pytest

from kerbfirst.gss import ntlm_crypto as nc
from kerbfirst.gss.ntlm import GateVerdict, NtlmAcceptorConfig, NtlmFault, NtlmLogonRefused
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.wire import ntlm as w
from ntlm.peer import CERT_A, CERT_B, NOW, WEB, acceptor, client, exchange


def test_pyspnego_authenticates_without_tls() -> None:
    ctx = acceptor()
    peer = client()
    _, _, auth = exchange(ctx, peer)
    ident = ctx.authenticate(auth, now=NOW)
    assert (ident.user, ident.domain) == ("alice", "CORP")
    assert ident.target_name == "HTTP/web.corp.example"
    assert not ident.channel_bound
    # Both sides derived the same exported session key: pyspnego's signature verifies.
    assert peer.session_key == ident.session_key


def test_pyspnego_authenticates_with_channel_bindings_over_tls() -> None:
    ctx = acceptor(cb=nc.tls_server_end_point(CERT_A))
    peer = client(cert=CERT_A)
    _, _, auth = exchange(ctx, peer)
    ident = ctx.authenticate(auth, now=NOW)
    assert ident.channel_bound and peer.session_key == ident.session_key


def _refused(ctx, auth, fault: NtlmFault, now=NOW) -> NtlmLogonRefused:  # type: ignore[no-untyped-def]
    with pytest.raises(NtlmLogonRefused) as info:
        ctx.authenticate(auth, now=now)
    assert info.value.fault is fault, info.value.detail
    return info.value


def test_tls_without_channel_bindings_is_refused() -> None:
    ctx = acceptor(cb=nc.tls_server_end_point(CERT_A))
    _, _, auth = exchange(ctx, client())
    _refused(ctx, auth, NtlmFault.NO_CHANNEL_BINDINGS)


def test_relay_to_another_service_is_refused_by_target_name() -> None:
    # Captured toward web.corp.example over TLS, presented to files.corp.example over TLS.
    files = NtlmAcceptorConfig(service_names=("HTTP/files.corp.example",),
                               nb_computer="FILES", nb_domain="CORP")
    peer = client(cert=CERT_A)
    victim = acceptor(files, cb=nc.tls_server_end_point(CERT_B))
    # The relay forwards the victim's CHALLENGE to the client and the answer back.
    negotiate = peer.step()
    challenge = victim.challenge(negotiate, server_challenge=b"\x11" * 8, now=NOW)
    auth = peer.step(challenge)
    refusal = _refused(victim, auth, NtlmFault.WRONG_TARGET_NAME)
    assert "HTTP/web.corp.example" in refusal.detail


def test_relay_to_same_name_on_another_tls_channel_is_refused_by_channel_binding() -> None:
    # The attacker terminates the client's TLS (its own certificate) and relays to the real
    # service: the target name matches, the channel bindings do not.
    peer = client(cert=CERT_B)
    real = acceptor(cb=nc.tls_server_end_point(CERT_A))
    _, _, auth = exchange(real, peer)
    _refused(real, auth, NtlmFault.BAD_CHANNEL_BINDINGS)


def test_relay_from_tls_to_plain_http_is_refused() -> None:
    peer = client(cert=CERT_A)
    plain = acceptor()
    _, _, auth = exchange(plain, peer)
    _refused(plain, auth, NtlmFault.BAD_CHANNEL_BINDINGS)


def test_wrong_password_and_unknown_user() -> None:
    ctx = acceptor()
    _, _, auth = exchange(ctx, client(password="wrong"))
    _refused(ctx, auth, NtlmFault.BAD_PASSWORD)
    ctx = acceptor()
    _, _, auth = exchange(ctx, client(user="CORP\\mallory"))
    _refused(ctx, auth, NtlmFault.UNKNOWN_USER)


@pytest.mark.parametrize("level", ["0", "1", "2"])
def test_ntlmv1_and_lm_are_refused_even_when_the_gate_allows(
        level: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LM_COMPAT_LEVEL", level)
    ctx = acceptor()
    _, _, auth = exchange(ctx, client())
    _refused(ctx, auth, NtlmFault.NTLMV1)
    assert ctx.attempt is not None and ctx.attempt.version.value == "NTLMv1"


def test_timestamp_outside_window_is_refused() -> None:
    ctx = acceptor()
    _, _, auth = exchange(ctx, client())
    _refused(ctx, auth, NtlmFault.CLOCK_SKEW, now=NOW + timedelta(minutes=6))


def test_replayed_authenticate_is_refused() -> None:
    # A server that stores its challenge (stateless HTTP) sees the same AUTHENTICATE twice.
    cache = ReplayCache()
    first = acceptor(replay=cache)
    negotiate = (peer := client()).step()
    challenge = first.challenge(negotiate, server_challenge=bytes(range(8)), now=NOW)
    auth = peer.step(challenge)
    first.authenticate(auth, now=NOW)
    second = acceptor(replay=cache)
    second.challenge(negotiate, server_challenge=bytes(range(8)), now=NOW)
    _refused(second, auth, NtlmFault.REPLAY, now=NOW + timedelta(seconds=1))
    # and one context never takes two AUTHENTICATE messages
    _refused(first, auth, NtlmFault.STATE)


def test_tampered_negotiate_breaks_the_mic() -> None:
    ctx = acceptor()
    peer = client()
    negotiate = bytearray(peer.step())
    # A man in the middle clears NEGOTIATE_SIGN in the NEGOTIATE the server sees.
    flags = struct.unpack_from("<I", negotiate, 12)[0] & ~w.NEGOTIATE_SIGN
    struct.pack_into("<I", negotiate, 12, flags)
    challenge = ctx.challenge(bytes(negotiate), server_challenge=bytes(8), now=NOW)
    auth = peer.step(challenge)
    _refused(ctx, auth, NtlmFault.BAD_MIC)


def test_stripped_mic_is_refused() -> None:
    ctx = acceptor()
    _, _, auth = exchange(ctx, client())
    stripped = bytearray(auth)
    stripped[w.MIC_OFFSET:w.MIC_OFFSET + 16] = bytes(16)
    _refused(ctx, bytes(stripped), NtlmFault.BAD_MIC)


def test_gate_refusal_comes_before_the_password_check() -> None:
    seen = []

    def gate(attempt):  # type: ignore[no-untyped-def]
        seen.append(attempt)
        return GateVerdict(False, "blocked by test policy")

    def no_lookup(user: str, domain: str) -> bytes | None:
        raise AssertionError("the password must not be checked when the gate refuses")

    ctx = acceptor(gate=gate, verifier=no_lookup)
    _, _, auth = exchange(ctx, client(password="wrong"))
    refusal = _refused(ctx, auth, NtlmFault.POLICY)
    assert refusal.detail == "blocked by test policy"
    assert seen[0].user == "alice" and seen[0].domain == "CORP"
    assert seen[0].client_address == "192.0.2.7" and seen[0].service == "HTTP/web.corp.example"


def test_default_gate_refuses() -> None:
    from kerbfirst.gss.ntlm import NtHashVerifier, NtlmAcceptContext

    ctx = NtlmAcceptContext(WEB, NtHashVerifier(lambda u, d: None), replay=ReplayCache())
    _, _, auth = exchange(ctx, client())
    _refused(ctx, auth, NtlmFault.POLICY)


def test_authenticate_without_challenge_and_garbage() -> None:
    ctx = acceptor()
    _refused(ctx, b"NTLMSSP\x00\x03\x00\x00\x00", NtlmFault.STATE)
    ctx = acceptor()
    ctx.challenge(client().step(), server_challenge=bytes(8), now=NOW)
    _refused(ctx, b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(80), NtlmFault.MALFORMED)


def test_any_64_bit_timestamp_is_a_skew_refusal_not_a_crash() -> None:
    # Found by the fuzz harness: FILETIME 2**64-1 is past datetime's range.
    ctx = acceptor()
    ctx.challenge(client().step(), server_challenge=bytes(8), now=NOW)
    pairs = w.encode_av_pairs([(w.AV_TARGET_NAME, "HTTP/web.corp.example".encode("utf-16-le"))])
    blob = b"\x01\x01" + bytes(6) + b"\xff" * 8 + bytes(8) + bytes(4) + pairs
    auth = w.encode_authenticate(flags=w.NEGOTIATE_UNICODE, lm_response=bytes(24),
                                 nt_response=bytes(16) + blob, domain="CORP", user="alice",
                                 workstation="WS", encrypted_session_key=b"")
    _refused(ctx, auth, NtlmFault.CLOCK_SKEW)
