"""SPNEGO messages (RFC 4178 4.2, MS-SPNG 2.2.1): differential tests against asn1tools compiled
from the RFC's ASN.1 (rfc4178.asn), Hypothesis round trips, known bytes, and bad input."""

from __future__ import annotations

import contextlib
import pathlib
from typing import Any

import asn1tools
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.wire import spnego as s
from kerbfirst.wire.der import DecodeError, EncodeError
from kerbfirst.wire.gss_framing import OID_IAKERB, OID_KRB5, OID_KRB5_MS, OID_NTLMSSP

ORACLE = asn1tools.compile_files(str(pathlib.Path(__file__).with_name("rfc4178.asn")), "der")

oids = st.one_of(
    st.sampled_from([OID_KRB5, OID_KRB5_MS, OID_IAKERB, OID_NTLMSSP, "1.3.6.1.4.1.311.2.2.30"]),
    st.tuples(st.integers(0, 2), st.integers(0, 39), st.lists(st.integers(0, 2**40), max_size=6))
    .map(lambda t: ".".join(str(a) for a in (t[0], t[1], *t[2]))),
)
octets = st.binary(max_size=300)
bit_strings = st.tuples(st.binary(min_size=1, max_size=5), st.integers(0, 7)).map(
    lambda t: (t[0][:-1] + bytes((t[0][-1] & (0xFF << t[1]) & 0xFF,)), t[1]))
opt = st.none().__or__


def inits(init2: bool) -> st.SearchStrategy[s.NegTokenInit]:
    hints = st.builds(s.NegHints, opt(st.text(max_size=40)), opt(octets))
    return st.builds(
        s.NegTokenInit,
        mech_types=st.lists(oids, min_size=0 if init2 else 1, max_size=6).map(tuple),
        req_flags=opt(bit_strings), mech_token=opt(octets), mech_list_mic=opt(octets),
        neg_hints=hints if init2 else st.none(), init2=st.just(init2),
    )


resps = st.builds(s.NegTokenResp, opt(st.sampled_from(list(s.NegState))), opt(oids),
                  opt(octets), opt(octets))


def _flags(f: tuple[bytes, int]) -> tuple[bytes, int]:
    return f[0], 8 * len(f[0]) - f[1]


def to_asn1tools(tok: s.NegotiationToken) -> tuple[str, Any]:
    d: dict[str, Any] = {}
    if isinstance(tok, s.NegTokenResp):
        if tok.neg_state is not None:
            d["negState"] = tok.neg_state.name.lower().replace("_", "-")
        for key, value in (("supportedMech", tok.supported_mech),
                           ("responseToken", tok.response_token),
                           ("mechListMIC", tok.mech_list_mic)):
            if value is not None:
                d[key] = value
        return "NegotiationToken", ("negTokenResp", d)
    if tok.mech_types or not tok.is_init2:
        d["mechTypes"] = list(tok.mech_types)
    if tok.req_flags is not None:
        d["reqFlags"] = _flags(tok.req_flags)
    if tok.mech_token is not None:
        d["mechToken"] = tok.mech_token
    if tok.mech_list_mic is not None:
        d["mechListMIC"] = tok.mech_list_mic
    if tok.is_init2:
        if tok.neg_hints is not None:
            h = tok.neg_hints
            d["negHints"] = {k: v for k, v in (("hintName", h.hint_name),
                                               ("hintAddress", h.hint_address)) if v is not None}
        return "NegotiationToken2", ("negTokenInit2", d)
    return "NegotiationToken", ("negTokenInit", d)


@given(st.one_of(inits(False), inits(True), resps))
@settings(max_examples=400, deadline=None)
def test_matches_asn1tools_and_round_trips(tok: s.NegotiationToken) -> None:
    # asn1tools encodes GeneralString as ASCII; compare on the ASCII subset only
    if (isinstance(tok, s.NegTokenInit) and tok.neg_hints and tok.neg_hints.hint_name
            and not tok.neg_hints.hint_name.isascii()):
        tok = s.NegTokenInit(tok.mech_types, tok.req_flags, tok.mech_token,
                             tok.mech_list_mic, s.NegHints("ascii", None), True)
    data = tok.encode()
    type_name, value = to_asn1tools(tok)
    assert data == ORACLE.encode(type_name, value)
    back = s.decode_negotiation_token(data)
    assert back == tok
    if isinstance(back, s.NegTokenInit) and back.mech_types:
        # the MIC input is the MechTypeList exactly as it sat in the token
        assert back.mech_types_der == s.encode_mech_type_list(tok.mech_types)
        assert back.mech_types_der in data
    # the oracle reads our bytes back to the same value
    assert ORACLE.decode(type_name, data) == value


@given(inits(False))
@settings(max_examples=100, deadline=None)
def test_initial_token_framing(tok: s.NegTokenInit) -> None:
    framed = s.encode_initial_token(tok)
    assert framed[0] == 0x60
    assert b"\x06\x06\x2b\x06\x01\x05\x05\x02" + tok.encode() in framed
    assert s.decode_initial_token(framed) == tok
    assert s.framed_mech_oid(framed) == "1.3.6.1.5.5.2"


def test_windows_negtokeninit2_known_bytes() -> None:
    """The NegTokenInit2 Windows and Samba servers send in SMB2 NEGOTIATE (MS-SPNG 2.2.1):
    NTLM only, hintName "not_defined_in_RFC4178@please_ignore"."""
    data = bytes.fromhex(
        "604806062b0601050502a03e303ca00e300c060a2b06010401823702020a"
        "a32a3028a0261b246e6f745f646566696e65645f696e5f524643343137384070"
        "6c656173655f69676e6f7265")
    tok = s.decode_initial_token(data)
    assert isinstance(tok, s.NegTokenInit)
    assert tok.is_init2
    assert tok.mech_types == (OID_NTLMSSP,)
    assert tok.neg_hints == s.NegHints(s.MS_HINT_NAME, None)
    assert tok.mech_list_mic is None
    assert s.encode_initial_token(tok) == data


def test_mech_types_der_kept_as_received() -> None:
    """A non-minimal length inside mechTypes decodes, and the MIC input is the bytes as sent,
    not a re-encoding (RFC 4178 5)."""
    oid = bytes.fromhex("06092a864886f712010202")
    odd_list = b"\x30\x81" + bytes((len(oid),)) + oid  # long-form length: BER, not DER
    body = b"\xa0" + bytes((len(odd_list),)) + odd_list
    data = b"\xa0" + bytes((len(body) + 2,)) + b"\x30" + bytes((len(body),)) + body
    tok = s.decode_negotiation_token(data)
    assert isinstance(tok, s.NegTokenInit)
    assert tok.mech_types == (OID_KRB5,)
    assert tok.mech_types_bytes() == odd_list != s.encode_mech_type_list([OID_KRB5])


@pytest.mark.parametrize("data,match", [
    ("", "expected an element"),
    ("a200", "expected \\[0\\] negTokenInit or \\[1\\] negTokenResp"),
    ("a0023000", "mechTypes is missing"),
    ("a0063004a0023000", "mechTypes is empty"),
    ("a1053003a0010a", "truncated|exceeds"),
    ("a1073005a0030a0104", "negState 4 is not 0..3"),
    ("a1073005a0030201" "00", "expected ENUMERATED"),
    ("a10a3008a1060604" "2b060105", None),  # a valid OID: decodes
    ("a1083006a1040602" "2b80", "OID ends inside"),
    ("a00f300da0073005060353" "0000a3020500", "neither a mechListMIC"),
    ("a1093007a3020400a0010a", "repeated or out of order|expected"),
    ("a10430028000", "expected a context tag"),
    ("a1023000ff", "unexpected bytes"),
])
def test_bad_tokens_refused(data: str, match: str | None) -> None:
    raw = bytes.fromhex(data)
    if match is None:
        s.decode_negotiation_token(raw)
        return
    with pytest.raises(DecodeError, match=match):
        s.decode_negotiation_token(raw)


def test_initial_token_for_another_mechanism_refused() -> None:
    framed = b"\x60\x0d\x06\x09\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01\x00"
    with pytest.raises(DecodeError, match="not SPNEGO"):
        s.decode_initial_token(framed)
    assert s.framed_mech_oid(framed) == OID_KRB5


def test_too_many_mechanisms_refused() -> None:
    many = tuple(f"1.3.6.1.4.1.{n}" for n in range(s.MAX_MECH_TYPES + 1))
    with pytest.raises(EncodeError, match="exceed"):
        s.NegTokenInit(many).encode()
    body = s.encode_mech_type_list(many[:-1])[2:] + b"\x06\x05\x2b\x06\x01\x04\x01"
    mech_list = b"\x30\x82" + len(body).to_bytes(2, "big") + body
    inner = b"\xa0\x82" + len(mech_list).to_bytes(2, "big") + mech_list
    seq = b"\x30\x82" + len(inner).to_bytes(2, "big") + inner
    data = b"\xa0\x82" + len(seq).to_bytes(2, "big") + seq
    with pytest.raises(DecodeError, match="more than 64 elements"):
        s.decode_negotiation_token(data)


def test_strict_encode() -> None:
    with pytest.raises(EncodeError, match="at least one mechanism"):
        s.NegTokenInit(()).encode()
    with pytest.raises(EncodeError):
        s.NegTokenInit((OID_KRB5,), req_flags=(b"", 3)).encode()


@given(st.binary(max_size=200))
@settings(max_examples=500, deadline=None)
def test_random_bytes_only_decode_error(data: bytes) -> None:
    for decode in (s.decode_negotiation_token, s.decode_initial_token):
        with contextlib.suppress(DecodeError):
            decode(data)


@given(st.one_of(inits(False), inits(True), resps), st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_tokens_only_decode_error(tok: s.NegotiationToken, data: st.DataObject) -> None:
    raw = bytearray(tok.encode())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    for candidate in (bytes(raw), bytes(raw[:cut])):
        with contextlib.suppress(DecodeError):
            s.decode_negotiation_token(candidate)
