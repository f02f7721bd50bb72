"""GSS-API InitialContextToken framing (RFC 2743 3.1) and OIDs, against asn1tools and
the byte layouts of RFC 4121 and draft-ietf-kitten-iakerb."""

from __future__ import annotations

import contextlib

import asn1tools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.wire import gss_framing as g
from kerbfirst.wire.der import DecodeError, EncodeError

OIDS = asn1tools.compile_string("M DEFINITIONS ::= BEGIN O ::= OBJECT IDENTIFIER END", "der")

oids = st.one_of(
    st.tuples(st.integers(0, 1), st.integers(0, 39)),
    st.tuples(st.just(2), st.integers(0, 2**40)),
).flatmap(
    lambda head: st.lists(st.integers(0, 2**64), max_size=8).map(
        lambda tail: ".".join(str(a) for a in (*head, *tail))
    )
)


@pytest.mark.parametrize(
    "oid,der_hex",
    [
        (g.OID_KRB5, "06092a864886f712010202"),
        (g.OID_KRB5_MS, "06092a864882f712010202"),
        (g.OID_IAKERB, "06062b0601050205"),
        (g.OID_SPNEGO, "06062b0601050502"),
        (g.OID_NTLMSSP, "060a2b06010401823702020a"),
    ],
)
def test_known_mechanism_oids(oid: str, der_hex: str) -> None:
    assert g.encode_oid(oid).hex() == der_hex
    assert g.decode_oid(bytes.fromhex(der_hex)) == oid


@given(oids)
@settings(max_examples=200, deadline=None)
def test_oid_matches_asn1tools(oid: str) -> None:
    data = g.encode_oid(oid)
    assert data == OIDS.encode("O", oid)
    assert g.decode_oid(data) == oid


@pytest.mark.parametrize("bad", ["1", "3.1", "1.40", "1.2.-3", "a.b", ""])
def test_bad_oids_refused_on_encode(bad: str) -> None:
    with pytest.raises(EncodeError):
        g.encode_oid(bad)


@pytest.mark.parametrize(
    "data,match",
    [
        ("0600", "OID of 0 octets"),
        ("06022a86", "ends inside"),
        ("06032a8001", "non-minimal"),
        ("0601", "exceeds"),
    ],
)
def test_bad_oids_refused_on_decode(data: str, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        g.decode_oid(bytes.fromhex(data))


def test_iakerb_token_layout() -> None:
    # RFC 2743 3.1 framing, draft-ietf-kitten-iakerb-03 3.1 body:
    # 60 len | 06 06 2b 06 01 05 02 05 | 05 01 | IAKERB-HEADER | KDC message
    inner = b"\x30\x00" + b"\x6a\x00"
    token = g.encode_gss_token(g.OID_IAKERB, inner, g.TOK_ID_IAKERB_PROXY)
    assert token == bytes([0x60, 14]) + bytes.fromhex("06062b0601050205") + b"\x05\x01" + inner
    assert g.decode_gss_token(token) == g.GssToken(g.OID_IAKERB, b"\x05\x01", inner)


def test_krb5_ap_req_token_with_long_length() -> None:
    inner = b"\x6e\x82\x01\x00" + bytes(256)
    token = g.encode_gss_token(g.OID_KRB5, inner, g.TOK_ID_KRB_AP_REQ)
    assert token[:4] == b"\x60\x82\x01\x11"  # 11 (OID) + 2 (TOK_ID) + 260 = 0x111
    assert g.decode_gss_token(token) == (g.OID_KRB5, b"\x01\x00", inner)


def test_spnego_token_has_no_tok_id() -> None:
    token = g.encode_gss_token(g.OID_SPNEGO, b"\xa0\x00")
    assert g.decode_gss_token(token, has_tok_id=False) == (g.OID_SPNEGO, None, b"\xa0\x00")


@given(oids, st.binary(max_size=300), st.none() | st.binary(min_size=2, max_size=2))
@settings(max_examples=200, deadline=None)
def test_gss_token_round_trip(oid: str, inner: bytes, tok_id: bytes | None) -> None:
    token = g.encode_gss_token(oid, inner, tok_id)
    got = g.decode_gss_token(token, has_tok_id=tok_id is not None)
    assert got == (oid, tok_id, inner)


@pytest.mark.parametrize(
    "data,match",
    [
        ("6100", "expected an InitialContextToken"),
        ("6003040100", "expected the mechanism OID"),
        ("600906062b060105020505", "TOK_ID"),
        ("600a06062b06010502050501ff", "unexpected bytes"),
        ("6080", "indefinite"),
    ],
)
def test_bad_gss_tokens(data: str, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        g.decode_gss_token(bytes.fromhex(data))


@given(st.binary(max_size=64))
@settings(max_examples=300, deadline=None)
def test_random_bytes_raise_only_decode_error(data: bytes) -> None:
    for has_tok_id in (True, False):
        with contextlib.suppress(DecodeError):
            g.decode_gss_token(b"\x60" + bytes([len(data)]) + data, has_tok_id=has_tok_id)
        with contextlib.suppress(DecodeError):
            g.decode_gss_token(data, has_tok_id=has_tok_id)
