"""IAKerb bytes: the draft-03 framing (draft-ietf-kitten-iakerb-03 3.1) and a Windows
client's first token, MIT's IAKERB-HEADER reference encodings
(src/tests/asn.1/reference_encode.out, both before and after MIT commit 04f9c19c), and the
variants told apart on the wire."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.client import AsExchange
from kerbfirst.crypto import Key, checksum_type
from kerbfirst.gss.checksum import GssChecksum
from kerbfirst.gss.iakerb_finished import (
    FinishedMismatch,
    FinishedMissing,
    make_finished,
    verify_finished,
)
from kerbfirst.wire.der import DecodeError
from kerbfirst.wire.iakerb import (
    WINDOWS_HEADER_FLAGS,
    IakerbHeader,
    IakerbVariant,
    decode_finished,
    decode_iakerb_token,
    encode_iakerb_token,
    is_iakerb_token,
)
from kerbfirst.wire.krb5 import KdcReq

from .iakerb_env import T0

WINDOWS_PREFIX = bytes.fromhex("6081fe06062b0601050205" "0501" "3017a10c0c0a") + b"WIN25H2INS" + (
    bytes.fromhex("a30703050000000000"))


def _as_req_of_length(n: int) -> bytes:
    """A real AS-REQ (from our client) of exactly n bytes, by choosing the name's length."""
    for length in range(1, 200):
        ex = AsExchange("u" * length, "WIN25H2INS", password="x", random=lambda k: b"\x42" * k)
        req = ex.first_request(T0)
        if len(req) == n:
            return req
    raise AssertionError(f"no AS-REQ of {n} bytes")


def test_windows_first_token_bytes() -> None:
    as_req = _as_req_of_length(0xFE - 8 - 2 - 25)
    header = IakerbHeader("WIN25H2INS", header_flags=WINDOWS_HEADER_FLAGS)
    token = encode_iakerb_token(header, as_req)
    assert token.startswith(WINDOWS_PREFIX)
    assert token[len(WINDOWS_PREFIX):] == as_req and len(token) == 3 + 0xFE
    parsed = decode_iakerb_token(token)
    assert parsed.variant is IakerbVariant.DRAFT03 and parsed.framed
    assert parsed.target_realm == "WIN25H2INS" and parsed.header.header_flags == bytes(4)
    assert parsed.message == as_req and parsed.raw == token
    assert KdcReq.decode(parsed.message).req_body.realm == "WIN25H2INS"


@pytest.mark.parametrize("hex_header,variant", [
    ("3018a10a0c086b72623564617461a20a04086b72623564617461", IakerbVariant.DRAFT03),
    ("3018a10a04086b72623564617461a20a04086b72623564617461", IakerbVariant.MIT_OLD),
])
def test_mit_reference_headers(hex_header: str, variant: IakerbVariant) -> None:
    data = bytes.fromhex(hex_header)
    header = IakerbHeader.decode(data)
    assert header == IakerbHeader("krb5data", b"krb5data", None, variant)
    assert header.encode() == data


def test_old_variant_later_tokens_are_unframed() -> None:
    header = IakerbHeader("R.TEST", variant=IakerbVariant.MIT_OLD)
    token = encode_iakerb_token(header, b"\x6b\x00", framed=False)
    assert token[:8] == bytes.fromhex("0501300aa1080406")
    parsed = decode_iakerb_token(token)
    assert not parsed.framed and parsed.variant is IakerbVariant.MIT_OLD
    assert is_iakerb_token(token)


def test_draft03_tokens_must_be_framed() -> None:
    token = encode_iakerb_token(IakerbHeader("R"), b"\x6b\x00", framed=False)
    with pytest.raises(DecodeError, match="framing"):
        decode_iakerb_token(token)


def test_unknown_header_fields_are_skipped() -> None:
    data = bytes.fromhex("300aa1030c0152a403020100")  # [4] INTEGER 0: a later extension
    assert IakerbHeader.decode(data).target_realm == "R"


def test_ap_req_is_not_an_iakerb_token() -> None:
    ap_req = bytes.fromhex("601206062b06010502050100") + b"\x6e\x00"
    assert not is_iakerb_token(ap_req)
    assert not is_iakerb_token(b"")


@pytest.mark.parametrize("variant,ext_type,usage", [
    (IakerbVariant.DRAFT03, 2, 41), (IakerbVariant.MIT_OLD, 1, 42)])
def test_finished_parameters(variant: IakerbVariant, ext_type: int, usage: int) -> None:
    from kerbfirst.crypto import make_checksum

    key = Key(18, bytes(range(32)))
    t, data = make_finished(key, b"transcript", variant)
    assert t == ext_type
    cksum = decode_finished(data)
    assert cksum.cksumtype == checksum_type(18)
    assert cksum.checksum == make_checksum(key, usage, b"transcript")
    gss = GssChecksum(0, extensions=((t, data),))
    verify_finished(gss, key, b"transcript", variant)
    with pytest.raises(FinishedMismatch):
        verify_finished(gss, key, b"transcripT", variant)
    other = IakerbVariant.MIT_OLD if variant is IakerbVariant.DRAFT03 else IakerbVariant.DRAFT03
    with pytest.raises(FinishedMissing):
        verify_finished(gss, key, b"transcript", other)


@settings(max_examples=150, deadline=None)
@given(realm=st.text(max_size=40), cookie=st.none() | st.binary(max_size=40),
       flags=st.none() | st.binary(min_size=1, max_size=8), msg=st.binary(max_size=200),
       variant=st.sampled_from(list(IakerbVariant)), framed=st.booleans())
def test_header_round_trip(realm: str, cookie: bytes | None, flags: bytes | None, msg: bytes,
                           variant: IakerbVariant, framed: bool) -> None:
    framed = framed or variant is IakerbVariant.DRAFT03
    header = IakerbHeader(realm, cookie, flags, variant)
    token = encode_iakerb_token(header, msg, framed=framed)
    parsed = decode_iakerb_token(token)
    assert (parsed.header, parsed.message, parsed.framed, parsed.raw) == (
        header, msg, framed, token)
