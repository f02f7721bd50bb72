"""Token layouts checked byte by byte against RFC 2743 3.1, RFC 4121 4.1.1 and 4.2.6."""

from __future__ import annotations

import hashlib
import struct

import pytest

from kerbfirst.crypto import decrypt, get_profile
from kerbfirst.gss.checksum import ChannelBindings, GssChecksum
from kerbfirst.gss.errors import BadMechanism, DefectiveToken
from kerbfirst.gss.krb5_tokens import KRB5_OID, MAX_TOKEN_SIZE, frame, unframe_krb5
from kerbfirst.wire.krb5 import ApReq, Authenticator

from .fixtures import NOW, pair

KRB5_OID_TLV = bytes.fromhex("06092a864886f712010202")


def test_initial_token_framing_and_authenticator() -> None:
    ini, _, ticket, _ = pair()
    tok = ini.initial_token(extensions=[(2, b"\xaa\xbb")])
    assert tok[0] == 0x60
    # long-form DER length of the whole InitialContextToken
    n = tok[1] & 0x7F
    assert tok[1] & 0x80 and int.from_bytes(tok[2 : 2 + n], "big") == len(tok) - 2 - n
    rest = tok[2 + n :]
    assert rest[:11] == KRB5_OID_TLV and rest[11:13] == b"\x01\x00"
    ap_req = ApReq.decode(rest[13:])
    assert ap_req.ap_options == 0x20000000  # mutual-required, RFC 4120 5.5.1 bit 2
    assert ap_req.ticket.enc_part.cipher == ticket.enc_part.cipher
    auth = Authenticator.decode(decrypt(ini.session_key, 11, ap_req.authenticator.cipher))
    assert auth.cksum is not None and auth.cksum.cksumtype == 0x8003
    c = auth.cksum.checksum
    assert c[:4] == b"\x10\x00\x00\x00" and c[4:20] == bytes(16)
    assert struct.unpack("<I", c[20:24])[0] == ini.flags == 0x3E
    assert c[24:] == b"\x00\x00\x00\x02\x00\x00\x00\x02\xaa\xbb"  # type, length big-endian
    assert auth.subkey is not None and ini.subkey is not None
    assert auth.subkey.keyvalue == ini.subkey.contents
    assert auth.seq_number == ini.seq_number < 2**30
    assert auth.ctime == NOW.replace(microsecond=0) and auth.cusec == NOW.microsecond


def test_channel_binding_hash_rfc4121_4_1_1_2() -> None:
    cb = ChannelBindings(2, b"\x7f\x00\x00\x01", 2, b"\x7f\x00\x00\x02", b"app")
    expected = hashlib.md5(
        b"\x02\x00\x00\x00\x04\x00\x00\x00\x7f\x00\x00\x01"
        b"\x02\x00\x00\x00\x04\x00\x00\x00\x7f\x00\x00\x02"
        b"\x03\x00\x00\x00app"
    ).digest()
    assert cb.digest() == expected
    parsed = GssChecksum.decode(GssChecksum(0x22, expected, None, ((1, b"x"),)).encode())
    assert parsed.bindings_hash == expected and parsed.flags == 0x22
    assert parsed.extensions == ((1, b"x"),)


def test_framing_short_and_long_lengths() -> None:
    small = frame(KRB5_OID, b"\x02\x00", b"")
    assert small == b"\x60\x0d" + KRB5_OID_TLV + b"\x02\x00"
    big = frame(KRB5_OID, b"\x01\x00", bytes(300))
    assert big[:4] == b"\x60\x82\x01\x39" and big[4:17] == KRB5_OID_TLV + b"\x01\x00"
    assert unframe_krb5(big, frozenset({KRB5_OID})) == (KRB5_OID, b"\x01\x00", bytes(300))
    with pytest.raises(BadMechanism):
        unframe_krb5(frame("1.3.6.1.5.2.5", b"\x01\x00", b""), frozenset({KRB5_OID}))
    with pytest.raises(DefectiveToken):
        unframe_krb5(big + b"\x00", frozenset({KRB5_OID}))
    with pytest.raises(DefectiveToken):
        unframe_krb5(b"\x60" + bytes(MAX_TOKEN_SIZE), frozenset({KRB5_OID}))


def test_mic_token_layout() -> None:
    ini, acc, _, _ = pair()
    acc.step(ini.initial_token(), now=NOW)
    assert acc.context is not None
    mic = acc.context.get_mic(b"data")
    seq = acc.context._send_seq - 1
    # TOK_ID 04 04 | flags SentByAcceptor|AcceptorSubkey | filler | SND_SEQ | checksum
    assert mic[:8] == b"\x04\x04\x05\xff\xff\xff\xff\xff"
    assert mic[8:16] == struct.pack(">Q", seq)
    assert len(mic) == 16 + get_profile(18).mac_size


def test_wrap_token_layouts() -> None:
    ini, acc, _, _ = pair()
    reply = acc.step(ini.initial_token(), now=NOW)
    assert reply is not None
    ini.step(reply)
    ctx = ini.context
    assert ctx is not None and ctx.keys.acceptor_subkey is not None
    sealed = ctx.wrap(b"payload")
    # initiator, Sealed, AcceptorSubkey; EC 0, RRC 0
    assert sealed[:8] == b"\x05\x04\x06\xff\x00\x00\x00\x00"
    assert sealed[8:16] == struct.pack(">Q", ini.seq_number)
    plain = decrypt(ctx.keys.acceptor_subkey, 24, sealed[16:])
    assert plain == b"payload" + sealed[:16]  # encrypted copy of the header (RFC 4121 4.2.4)
    clear = ctx.wrap(b"payload", confidential=False)
    mac = get_profile(18).mac_size
    assert clear[:8] == b"\x05\x04\x04\xff" + struct.pack(">HH", mac, 0)
    assert clear[16:-mac] == b"payload"
