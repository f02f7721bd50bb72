"""DER strictness and decoder bounds: what real peers send is accepted, what attackers send
is refused quickly with a DecodeError naming the problem and the offset."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
import wire_strategies as ws
from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.wire import constants as c
from kerbfirst.wire import der
from kerbfirst.wire import krb5 as k
from kerbfirst.wire.der import DecodeError, EncodeError

T0 = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
BODY = k.KdcReqBody(
    kdc_options=c.KDC_OPT_FORWARDABLE | c.KDC_OPT_RENEWABLE_OK,
    cname=k.PrincipalName(c.NT_PRINCIPAL, ("alice",)),
    realm="TEST.REALM",
    sname=k.PrincipalName(c.NT_SRV_INST, ("krbtgt", "TEST.REALM")),
    from_=None,
    till=T0,
    rtime=None,
    nonce=123456789,
    etype=(18, 17),
)
AS_REQ = k.KdcReq(c.KRB_AS_REQ, (k.PaData(c.PA_PAC_REQUEST, b"0\x05\xa0\x03\x01\x01\xff"),), BODY)


def split_fields(seq: bytes) -> dict[int, bytes]:
    """{n: inner element} of a SEQUENCE of [n] EXPLICIT fields (test helper)."""
    _, pos, end = der.read_header(seq, 0, len(seq))
    out = {}
    while pos < end:
        tag, cs, ce = der.read_header(seq, pos, end)
        out[tag - 0xA0] = seq[cs:ce]
        pos = ce
    return out


def join_fields(fields: dict[int, bytes]) -> bytes:
    return der.sequence(*(der.explicit(n, fields[n]) for n in sorted(fields)))


def body_with(**changes: bytes | None) -> bytes:
    """BODY's DER with fields replaced (f4=b"...") or removed (f4=None)."""
    fields = split_fields(BODY.encode())
    for name, value in changes.items():
        if value is None:
            fields.pop(int(name[1:]), None)
        else:
            fields[int(name[1:])] = value
    return join_fields(fields)


# ------------------------------------------------------------------ encoding


@pytest.mark.parametrize(
    "value,expected",
    [
        (0, "020100"), (127, "02017f"), (128, "02020080"), (-1, "0201ff"),
        (-128, "020180"), (-129, "0202ff7f"), (2**31 - 1, "02047fffffff"),
        (2**32 - 1, "020500ffffffff"), (-(2**31), "020480000000"),
    ],
)  # fmt: skip
def test_integers_are_minimal(value: int, expected: str) -> None:
    assert der.encode_integer(value).hex() == expected
    assert der.Reader.top(bytes.fromhex(expected), "t").integer("t", -(2**63), 2**63) == value


@pytest.mark.parametrize("n", [0, 1, 127, 128, 255, 256, 65535, 65536, 2**24])
def test_lengths_are_minimal(n: int) -> None:
    enc = der.encode_length(n)
    if n < 128:
        assert enc == bytes([n])
    else:
        assert enc[0] == 0x80 | (len(enc) - 1) and enc[1] != 0
        assert int.from_bytes(enc[1:], "big") == n


def test_time_and_flags_forms() -> None:
    assert der.encode_kerberos_time(T0) == b"\x18\x0f20250102030405Z"
    assert der.encode_kerberos_flags(0x40810010).hex() == "03050040810010"
    with pytest.raises(EncodeError, match="naive"):
        der.encode_kerberos_time(datetime(2025, 1, 1))
    with pytest.raises(EncodeError):
        der.encode_kerberos_flags(1 << 32)
    with pytest.raises(EncodeError):
        der.encode_int32(2**31)
    with pytest.raises(EncodeError):
        der.encode_microseconds(10**6)


def test_kerberos_string_is_general_string_utf8() -> None:
    assert der.encode_kerberos_string("é") == b"\x1b\x02\xc3\xa9"
    bad = k.PrincipalName(1, ("x",)).encode().replace(b"\x1b\x01x", b"\x1b\x01\xff")
    with pytest.raises(DecodeError, match="UTF-8"):
        k.PrincipalName.decode(bad)


# ------------------------------------------------------------------ leniency


@pytest.mark.parametrize(
    "content,expected",
    [
        (b"\x00", 0),  # empty bit string
        (b"\x07\x80", 0x80000000),  # one bit
        (b"\x00\x50", 0x50000000),  # Kerberos flags in one octet (seen from old peers)
        (b"\x00\x40\x81", 0x40810000),
        (b"\x00\x40\x81\x00\x10\xff\xff", 0x40810010),  # longer: truncated to 32 bits
        (b"\x04\xff", 0xF0000000),  # unused bits are ignored
    ],
)
def test_flags_of_any_length_decode(content: bytes, expected: int) -> None:
    body = k.KdcReqBody.decode(body_with(f0=der.tlv(der.TAG_BIT_STRING, content)))
    assert body.kdc_options == expected


def test_unknown_extension_fields_are_skipped_and_unknown_numbers_kept() -> None:
    body = k.KdcReqBody.decode(body_with(f20=der.sequence(der.encode_integer(7))))
    assert body == BODY
    odd = k.PaData(padata_type=31337, padata_value=b"?")
    assert k.PaData.decode(odd.encode()) == odd  # unknown padata type kept as a number


def test_enc_kdc_rep_part_accepts_either_application_tag() -> None:
    part = k.EncKdcRepPart(
        key=k.EncryptionKey(18, b"k" * 32), last_req=(), nonce=1, key_expiration=None,
        flags=c.TKT_FLG_INITIAL, authtime=T0, starttime=None, endtime=T0, renew_till=None,
        srealm="R", sname=k.PrincipalName(2, ("krbtgt", "R")), app_tag=26,
    )  # fmt: skip
    data = part.encode()
    assert data[0] == 0x7A
    assert k.EncKdcRepPart.decode(data).app_tag == 26
    assert k.EncKdcRepPart.decode(b"\x79" + data[1:]).app_tag == 25


def test_negative_nonce_from_signed_peers_is_kept() -> None:
    body = k.KdcReqBody.decode(
        BODY.encode().replace(
            b"\xa7\x06\x02\x04\x07\x5b\xcd\x15", b"\xa7\x06\x02\x04\xf5\x5b\xcd\x15"
        )
    )
    assert body.nonce < 0
    assert k.KdcReqBody.decode(body.encode()) == body


# ------------------------------------------------------------------ refusals


@pytest.mark.parametrize(
    "data,match",
    [
        (b"", "expected an element"),
        (b"\x6a", "no length"),
        (b"\x6a\x80\x00\x00", "indefinite length"),
        (b"\x6a\x85\x01\x00\x00\x00\x00", "length field of 5"),
        (b"\x6a\x84\x7f\xff\xff\xff", "exceeds"),
        (b"\x6a\x03\x30\x01", "exceeds"),
        (b"\x6b\x00", "AS-REP: expected an element"),
        (b"\x04\x00", "not a KDC message"),
    ],
)
def test_malformed_headers(data: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=match):
        k.decode_kdc_message(data)


def test_trailing_garbage_refused() -> None:
    data = AS_REQ.encode()
    with pytest.raises(DecodeError, match="unexpected bytes after") as info:
        k.decode_kdc_message(data + b"\x00")
    assert info.value.offset == len(data)


def test_field_errors_name_field_and_offset() -> None:
    data = AS_REQ.encode().replace(b"\x1b\x05alice", b"\x04\x05alice")
    with pytest.raises(DecodeError, match=r"PrincipalName name-string: expected tag 0x1b") as info:
        k.KdcReq.decode(data)
    assert data[info.value.offset : info.value.offset + 7] == b"\x04\x05alice"


@pytest.mark.parametrize(
    "old,new,match",
    [
        (b"\xa2\x03\x02\x01\x0a", b"\xa2\x03\x02\x01\x0c", "does not match"),  # msg-type 12
        (b"\xa7\x06\x02\x04", b"\xa7\x06\x04\x04", "expected tag 0x02"),
        (b"\x18\x0f2025", b"\x18\x0f2025"[:-4] + b"0000", "invalid date"),
        (b"0102030405Z", b"0102030405+", "YYYYMMDDHHMMSSZ"),
        (b"\xa7\x06", b"\xa8\x06", "repeated or out of order"),  # nonce moved onto [8]
    ],
)
def test_bad_fields_refused(old: bytes, new: bytes, match: str) -> None:
    data = AS_REQ.encode()
    assert old in data
    with pytest.raises(DecodeError, match=match):
        k.KdcReq.decode(data.replace(old, new, 1))


def test_missing_required_field_refused() -> None:
    with pytest.raises(DecodeError, match=r"KDC-REQ-BODY: required field \[7\] is missing"):
        k.KdcReqBody.decode(body_with(f7=None))
    # till is REQUIRED in RFC 4120 but OPTIONAL here, for peers that omit it
    assert k.KdcReqBody.decode(body_with(f5=None)).till is None


def test_out_of_order_and_repeated_fields_refused() -> None:
    key = k.EncryptionKey(18, b"x")
    fields = key.encode()[2:]
    first, second = fields[:5], fields[5:]
    with pytest.raises(DecodeError, match="repeated or out of order"):
        k.EncryptionKey.decode(der.tlv(0x30, second + first))
    with pytest.raises(DecodeError, match="repeated or out of order"):
        k.EncryptionKey.decode(der.tlv(0x30, first + first + second))


def test_range_checks() -> None:
    big = der.explicit(0, der.encode_integer(2**31))
    with pytest.raises(DecodeError, match="outside"):
        k.EncryptionKey.decode(der.tlv(0x30, big + der.explicit(1, der.encode_octet_string(b""))))
    err = k.KrbError(0, T0, 0, "R", k.PrincipalName(1, ()))
    fields = split_fields(err.encode()[2:])
    fields[5] = der.encode_integer(1_000_000)
    data = der.application(30, join_fields(fields))
    with pytest.raises(DecodeError, match=r"outside 0\.\.999999"):
        k.KrbError.decode(data)


def test_size_bound() -> None:
    with pytest.raises(DecodeError, match="exceeds the 1048576 byte limit"):
        k.decode_kdc_message(b"\x6a" + b"\x00" * der.MAX_MESSAGE_SIZE)


def test_element_count_bound() -> None:
    etypes = der.tlv(0x30, b"\x02\x01\x12" * (der.MAX_ELEMENTS + 1))
    with pytest.raises(DecodeError, match=r"more than \d+ elements"):
        k.KdcReqBody.decode(body_with(f8=etypes))
    many = der.tlv(0x30, b"\x02\x01\x12" * (der.MAX_ELEMENTS + 1))
    with pytest.raises(DecodeError, match="more than 4096 elements"):
        der.Reader.top(many, "test").items("test")


def test_deep_nesting_refused_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    nested = b"\x05\x00"
    for _ in range(40):
        nested = der.tlv(0x30, nested)
    r = der.Reader.top(nested, "t")
    with pytest.raises(DecodeError, match="nesting deeper than 32"):
        for _ in range(40):
            r = r.enter(0x30, "t")
    # a 500 KB tower of SEQUENCEs inside an unknown extension field costs one skip
    tower = b"\x05\x00"
    while len(tower) < 500_000:
        tower = der.tlv(0x30, tower)
    # Counted, not timed: headers parsed while decoding, against a one-level extension.
    calls = 0
    real_read_header = der.read_header

    def counting_read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
        nonlocal calls
        calls += 1
        return real_read_header(data, pos, end)

    monkeypatch.setattr(der, "read_header", counting_read_header)
    assert k.KdcReqBody.decode(body_with(f30=b"\x05\x00")) == BODY
    baseline, calls = calls, 0
    assert k.KdcReqBody.decode(body_with(f30=tower)) == BODY
    assert calls <= baseline + 2  # the tower's own header, not one per level


# ------------------------------------------------------------------ mutations

MESSAGES = ws.kdc_reqs | ws.kdc_reps | ws.krb_errors | ws.ap_reqs | ws.enc_kdc_rep_parts
DECODERS = [
    k.decode_kdc_message, k.ApReq.decode, k.ApRep.decode, k.EncKdcRepPart.decode,
    k.Authenticator.decode, k.EncTicketPart.decode, k.decode_method_data, k.decode_etype_info2,
]  # fmt: skip


@given(MESSAGES, st.data())
@settings(max_examples=300, deadline=None)
def test_mutated_messages_raise_only_decode_error(msg: object, data: st.DataObject) -> None:
    raw = bytearray(msg.encode())  # type: ignore[attr-defined]
    for _ in range(data.draw(st.integers(1, 4))):
        op = data.draw(st.sampled_from(["flip", "set", "insert", "delete", "truncate"]))
        i = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[i] ^= 1 << data.draw(st.integers(0, 7))
        elif op == "set" and raw:
            raw[i] = data.draw(st.sampled_from([0x00, 0x7F, 0x80, 0x81, 0x84, 0xFF, 0x30, 0xA0]))
        elif op == "insert":
            raw[i:i] = data.draw(st.binary(min_size=1, max_size=4))
        elif op == "delete" and raw:
            del raw[i]
        elif op == "truncate":
            del raw[i:]
    for decode in DECODERS:
        with contextlib.suppress(DecodeError):
            decode(bytes(raw))


@given(st.binary(max_size=200))
@settings(max_examples=300, deadline=None)
def test_random_bytes_raise_only_decode_error(raw: bytes) -> None:
    for decode in DECODERS:
        with contextlib.suppress(DecodeError):
            decode(raw)
