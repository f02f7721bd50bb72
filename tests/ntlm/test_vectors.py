"""MS-NLMP 4.2 test vectors (differential: the published values) and the codecs' strictness."""

from __future__ import annotations

import struct

import pytest

from kerbfirst.gss import ntlm_crypto as nc
from kerbfirst.wire import ntlm as w

# MS-NLMP 4.2.1 common values, 4.2.4 NTLMv2.
USER, DOMAIN, PASSWORD = "User", "Domain", "Password"
SERVER_CHALLENGE = bytes.fromhex("0123456789abcdef")
CLIENT_CHALLENGE = bytes.fromhex("aaaaaaaaaaaaaaaa")
RANDOM_SESSION_KEY = bytes.fromhex("55" * 16)
# 4.2.4.3 CHALLENGE_MESSAGE, as published
CHALLENGE_4243 = bytes.fromhex(
    "4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef"
    "00000000000000002400240044000000060070170000000f5300650072007600"
    "6500720002000c0044006f006d00610069006e0001000c005300650072007600"
    "6500720000000000"
)


def _temp() -> bytes:
    info = w.encode_av_pairs([(w.AV_NB_DOMAIN_NAME, "Domain".encode("utf-16-le")),
                              (w.AV_NB_COMPUTER_NAME, "Server".encode("utf-16-le"))])
    return b"\x01\x01" + bytes(6) + bytes(8) + CLIENT_CHALLENGE + bytes(4) + info + bytes(4)


def test_nt_hash_4_2_2_1_2() -> None:
    assert nc.nt_hash(PASSWORD).hex() == "a4f49c406510bdcab6824ee7c30fd852"


def test_ntlmv2_4_2_4() -> None:
    key = nc.ntowf_v2(nc.nt_hash(PASSWORD), USER, DOMAIN)
    assert key.hex() == "0c868a403bfd7a93a3001ef22ef02e3f"
    assert nc.lmv2_response(key, SERVER_CHALLENGE, CLIENT_CHALLENGE).hex() == (
        "86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa")
    proof = nc.nt_proof(key, SERVER_CHALLENGE, _temp())
    assert proof.hex() == "68cd0ab851e51c96aabc927bebef6a1c"
    base = nc.session_base_key(key, proof)
    assert base.hex() == "8de40ccadbc14a82f15cb0ad0de95ca3"
    encrypted = nc.rc4(base, RANDOM_SESSION_KEY)
    assert encrypted.hex() == "c5dad2544fc9799094ce1ce90bc9d03e"
    assert nc.exported_session_key(base, encrypted, w.NEGOTIATE_KEY_EXCH,
                                   w.NEGOTIATE_KEY_EXCH) == RANDOM_SESSION_KEY


def test_challenge_4_2_4_3_decodes() -> None:
    msg = w.decode_challenge(CHALLENGE_4243)
    assert msg.flags == 0xE28A8233
    assert msg.server_challenge == SERVER_CHALLENGE
    assert msg.target_name == "Server"
    assert w.av_text(msg.target_info, w.AV_NB_DOMAIN_NAME) == "Domain"
    assert w.av_text(msg.target_info, w.AV_NB_COMPUTER_NAME) == "Server"
    again = w.encode_challenge(flags=msg.flags, server_challenge=msg.server_challenge,
                               target_name=msg.target_name,
                               target_info=w.encode_av_pairs(msg.target_info.items()),
                               version=CHALLENGE_4243[48:56])
    assert again == CHALLENGE_4243


def test_the_4_2_4_authenticate_verifies_with_our_verifier() -> None:
    from kerbfirst.gss.ntlm import NtHashVerifier, VerifyStatus

    key = nc.ntowf_v2(nc.nt_hash(PASSWORD), USER, DOMAIN)
    nt = nc.nt_proof(key, SERVER_CHALLENGE, _temp()) + _temp()
    verifier = NtHashVerifier(lambda u, d: nc.nt_hash(PASSWORD) if u == USER else None)
    ok = verifier.verify(USER, DOMAIN, SERVER_CHALLENGE, nt)
    assert ok.status is VerifyStatus.OK
    assert ok.session_base_key.hex() == "8de40ccadbc14a82f15cb0ad0de95ca3"
    bad = bytearray(nt)
    bad[20] ^= 1  # one bit of the client blob: the proof no longer matches
    assert verifier.verify(USER, DOMAIN, SERVER_CHALLENGE, bytes(bad)).status is (
        VerifyStatus.BAD_PASSWORD)
    assert verifier.verify("nobody", DOMAIN, SERVER_CHALLENGE, nt).status is (
        VerifyStatus.UNKNOWN_USER)


def test_channel_bindings_hash_layout() -> None:
    # RFC 4121 4.1.1.2 structure, all-zero addresses: 16 zero bytes, length, data.
    import hashlib

    data = b"tls-server-end-point:" + bytes(32)
    expect = hashlib.md5(bytes(16) + struct.pack("<I", len(data)) + data).digest()
    assert nc.channel_bindings_hash(data) == expect


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"NTLMSSP\x00" + struct.pack("<I", 1), "shorter"),
        (b"NTLMSSQ\x00" + bytes(24), "signature"),
        (b"NTLMSSP\x00" + struct.pack("<I", 2) + bytes(20), "MessageType"),
        (b"NTLMSSP\x00" + struct.pack("<II", 1, 0) + struct.pack("<HHI", 4, 4, 400) + bytes(8),
         "outside the payload"),
        (b"NTLMSSP\x00" + struct.pack("<I", 1) + bytes(5000), "exceeds"),
    ],
)
def test_negotiate_codec_is_strict(raw: bytes, words: str) -> None:
    with pytest.raises(w.NtlmFormatError, match=words):
        w.decode_negotiate(raw)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"\x01\x00\x02\x00", "runs past"),
        (b"\x06\x00\x02\x00ab\x00\x00\x00\x00", "must be 4"),
        (b"\x01\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00", "twice"),
        (b"\x01\x00\x00\x00", "without MsvAvEOL"),
        (b"\x00\x00\x00\x00\x01", "after MsvAvEOL"),
        (b"\x00\x00\x01\x00", "non-zero length"),
    ],
)
def test_av_pairs_are_strict(raw: bytes, words: str) -> None:
    with pytest.raises(w.NtlmFormatError, match=words):
        w.decode_av_pairs(raw)


def test_authenticate_field_bounds() -> None:
    good = w.encode_authenticate(flags=w.NEGOTIATE_UNICODE | w.NEGOTIATE_VERSION,
                                 lm_response=bytes(24), nt_response=b"x" * 60, domain="D",
                                 user="u", workstation="W", encrypted_session_key=bytes(16))
    msg = w.decode_authenticate(good)
    assert (msg.user, msg.domain, msg.workstation, msg.has_mic_field) == ("u", "D", "W", True)
    # user name length pointing past the end
    bad = bytearray(good)
    struct.pack_into("<HHI", bad, 36, 200, 200, 88)
    with pytest.raises(w.NtlmFormatError, match="UserName"):
        w.decode_authenticate(bytes(bad))
    # odd-length UTF-16
    bad = bytearray(good)
    struct.pack_into("<HHI", bad, 28, 1, 1, struct.unpack_from("<I", good, 32)[0])
    with pytest.raises(w.NtlmFormatError, match="UTF-16"):
        w.decode_authenticate(bytes(bad))
    # OEM strings are refused
    oem = w.encode_authenticate(flags=w.NEGOTIATE_OEM, lm_response=bytes(24),
                                nt_response=bytes(24), domain="D", user="u", workstation="W",
                                encrypted_session_key=b"")
    with pytest.raises(w.NtlmFormatError, match="Unicode"):
        w.decode_authenticate(oem)


def test_authenticate_header_follows_the_payload_not_the_version_flag() -> None:
    # curl echoes NEGOTIATE_VERSION from the CHALLENGE but starts its payload at 64.
    parts = [bytes(24), b"n" * 60, "D".encode("utf-16-le"), "u".encode("utf-16-le"),
             "W".encode("utf-16-le"), b""]
    fields, at = b"", 64
    for p in parts:
        fields += struct.pack("<HHI", len(p), len(p), at)
        at += len(p)
    raw = (w.SIGNATURE + struct.pack("<I", 3) + fields
           + struct.pack("<I", w.NEGOTIATE_UNICODE | w.NEGOTIATE_VERSION) + b"".join(parts))
    msg = w.decode_authenticate(raw)
    assert (msg.user, msg.has_mic_field, len(msg.lm_response)) == ("u", False, 24)
