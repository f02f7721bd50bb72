"""The decoder's fast paths give exactly what the general path gives, errors included:
one-octet INTEGERs, long-form lengths of one and two octets (minimal or not), and the
memo of decoded KerberosTimes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.wire import der
from kerbfirst.wire import krb5 as k
from kerbfirst.wire.der import DecodeError

# ------------------------------------------------------------------ INTEGER


@pytest.mark.parametrize("octet", range(256))
def test_one_octet_integers_are_twos_complement(octet: int) -> None:
    value = der.Reader.top(bytes((0x02, 1, octet)), "t").integer("t")
    assert value == int.from_bytes(bytes((octet,)), "big", signed=True)


def test_one_octet_integer_edges() -> None:
    assert der.Reader.top(b"\x02\x01\x80", "t").integer("t") == -128
    assert der.Reader.top(b"\x02\x01\xff", "t").integer("t") == -1
    assert der.Reader.top(b"\x02\x01\x7f", "t").integer("t") == 127
    # the range check still applies to the fast path: -1 is no Microseconds value
    with pytest.raises(DecodeError, match=r"t: -1 is outside 0\.\.999999") as info:
        der.Reader.top(b"\x02\x01\xff", "t").microseconds("t")
    assert info.value.offset == 2
    with pytest.raises(DecodeError, match=r"-128 is outside 0\.\.5"):
        der.Reader.top(b"\x02\x01\x80", "t").integer("t", 0, 5)
    # a signed one-octet kvno is kept as sent (UInt32 accepts the signed form)
    assert der.Reader.top(b"\x02\x01\xfe", "t").uint32("t") == -2


@given(st.binary(min_size=1, max_size=9))
def test_integers_of_any_width_match_int_from_bytes(content: bytes) -> None:
    data = der.tlv(der.TAG_INTEGER, content)
    got = der.Reader.top(data, "t").integer("t", -(2**71), 2**71)
    assert got == int.from_bytes(content, "big", signed=True)


def test_integer_refusals_unchanged() -> None:
    with pytest.raises(DecodeError, match="t: empty INTEGER") as info:
        der.Reader.top(b"\x02\x00", "t").integer("t")
    assert info.value.offset == 2
    with pytest.raises(DecodeError, match="INTEGER of 10 octets is out of range"):
        der.Reader.top(b"\x02\x0a" + b"\x00" * 10, "t").integer("t")


# ------------------------------------------------------------------ long-form lengths


def long_forms(content_length: int) -> list[bytes]:
    """Every length encoding read_header accepts for this length: short (when it fits),
    then 0x81..0x84 long forms, minimal or not (X.690 8.1.3; DER wants the minimal one,
    the decoder is lenient)."""
    forms = [bytes((content_length,))] if content_length < 0x80 else []
    for n in (1, 2, 3, 4):
        if content_length < 1 << (8 * n):
            forms.append(bytes((0x80 | n,)) + content_length.to_bytes(n, "big"))
    return forms


@pytest.mark.parametrize("size", [0, 5, 127, 128, 255, 256, 300, 65535, 65536])
def test_every_length_form_reads_the_same_content(size: int) -> None:
    content = bytes(i & 0xFF for i in range(size))
    octets = der.encode_octet_string(content)
    for form in long_forms(len(octets)):
        # a [1] field of a SEQUENCE, then the OCTET STRING inside it
        field = b"\xa1" + form + octets
        seq = der.tlv(0x30, field)
        fields = der.Reader.top(seq, "t").fields(2, "t")
        assert fields[0] is None
        field_reader = fields[1]
        assert field_reader is not None
        assert field_reader.octets("t") == content
        # a field in this form as an element of a SEQUENCE OF
        items = der.Reader.top(der.tlv(0x30, field + field), "t").items("t")
        assert [i.raw() for i in items] == [field, field]
    for form in long_forms(size):
        # the OCTET STRING itself in every form, read by _one's fast and general paths
        element = b"\x04" + form + content
        assert der.Reader.top(element, "t").octets("t") == content
        items = der.Reader.top(der.tlv(0x30, element), "t").items("t")
        assert [i.octets("t") for i in items] == [content]


def test_non_minimal_long_lengths_in_a_message_decode_as_minimal() -> None:
    key = k.EncryptionKey(18, b"k" * 32)
    data = key.encode()
    assert data[:7] == b"\x30\x29\xa0\x03\x02\x01\x12"
    # the SEQUENCE in 0x81 form, field [0] in 0x82 form, field [1] in 0x81 form
    f0 = b"\xa0\x82\x00\x03\x02\x01\x12"
    f1 = b"\xa1\x81\x22" + data[9:]
    assert data[7:9] == b"\xa1\x22"
    body = f0 + f1
    assert k.EncryptionKey.decode(b"\x30\x81" + bytes((len(body),)) + body) == key
    assert k.EncryptionKey.decode(b"\x30\x82\x00" + bytes((len(body),)) + body) == key


@pytest.mark.parametrize(
    "field,match",
    [
        (b"\xa0\x81", "truncated length field"),  # no room for the length octet
        (b"\xa0\x82\x00", "truncated length field"),
        (b"\xa0\x81\x05\x02\x01", "element length 5 exceeds the 2 bytes available"),
        (b"\xa0\x82\x00\x05\x02\x01", "element length 5 exceeds the 2 bytes available"),
        (b"\xa0\x82\xff\xff", "element length 65535 exceeds the 0 bytes available"),
        (b"\xa0\x80\x02\x01\x00\x00\x00", "indefinite length"),
    ],
)
def test_long_lengths_that_do_not_fit_are_refused_as_before(field: bytes, match: str) -> None:
    seq = der.tlv(0x30, field)
    with pytest.raises(DecodeError, match=f"t: {match}") as info:
        der.Reader.top(seq, "t").fields(2, "t")
    assert info.value.offset == 2  # the field's identifier octet
    with pytest.raises(DecodeError, match=f"t: {match}"):
        der.Reader.top(seq, "t").items("t")


@pytest.mark.parametrize(
    "data,match",
    [
        (b"\x04\x81", "truncated length field"),
        (b"\x04\x82\x00", "truncated length field"),
        (b"\x04\x81\x03ab", "element length 3 exceeds the 2 bytes available"),
        (b"\x04\x82\x00\x03ab", "element length 3 exceeds the 2 bytes available"),
        (b"\x04\x81\x01ab", "1 unexpected bytes after the element"),
        (b"\x04\x82\x00\x01ab", "1 unexpected bytes after the element"),
        (b"\x02\x81\x01\x05", r"expected tag 0x04, found tag 0x02"),
    ],
)
def test_one_element_long_lengths_refused_as_before(data: bytes, match: str) -> None:
    with pytest.raises(DecodeError, match=f"t: {match}"):
        der.Reader.top(data, "t").octets("t")


@given(st.integers(0, 0xFFFF), st.integers(1, 4))
@settings(max_examples=200)
def test_read_header_long_lengths_match_int_from_bytes(length: int, n: int) -> None:
    if length >= 1 << (8 * n):
        n = 2
    data = b"\x04" + bytes((0x80 | n,)) + length.to_bytes(n, "big") + b"\x00" * length
    assert der.read_header(data, 0, len(data)) == (0x04, 2 + n, 2 + n + length)


# ------------------------------------------------------------------ KerberosTime memo


def time_element(text: bytes) -> bytes:
    return der.tlv(der.TAG_GENERALIZED_TIME, text)


def test_equal_time_bytes_give_the_memoised_datetime() -> None:
    text = b"20250102030405Z"
    first = der.Reader.top(time_element(text), "t").kerberos_time("t")
    assert first == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    # the same bytes elsewhere: inside a SEQUENCE field, at another offset
    seq = der.sequence(der.explicit(0, der.encode_integer(7)), der.explicit(1, time_element(text)))
    field = der.Reader.top(seq, "t").fields(2, "t")[1]
    assert field is not None
    assert field.kerberos_time("t") is first
    assert der._TIME_MEMO[text] is first


def test_invalid_times_are_refused_after_a_valid_one_is_memoised() -> None:
    der.Reader.top(time_element(b"20250228030405Z"), "t").kerberos_time("t")
    for bad, match in [
        (b"20250230030405Z", "invalid date or time"),  # February 30th
        (b"20250228240405Z", "invalid date or time"),  # hour 24
        (b"20250228030405z", "KerberosTime must be YYYYMMDDHHMMSSZ"),
        (b"2025022803040Z5", "KerberosTime must be YYYYMMDDHHMMSSZ"),
        (b"+2025022803045Z", "KerberosTime must be YYYYMMDDHHMMSSZ"),
        (b"2025022803_405Z", "KerberosTime must be YYYYMMDDHHMMSSZ"),
        (b"20250228030405", "KerberosTime must be YYYYMMDDHHMMSSZ"),
        (b"20250228030405.5Z", "KerberosTime must be YYYYMMDDHHMMSSZ"),
        (b"20250228030405Z" + b"\x00", "KerberosTime must be YYYYMMDDHHMMSSZ"),
    ]:
        for _ in range(2):  # and again: a refusal is never remembered
            with pytest.raises(DecodeError, match=f"t: {match}") as info:
                der.Reader.top(time_element(bad), "t").kerberos_time("t")
            assert info.value.offset == 2
        assert bad not in der._TIME_MEMO
    # the memoised valid time is still given for its own bytes, not for a longer window
    with pytest.raises(DecodeError, match="unexpected bytes after"):
        der.Reader.top(time_element(b"20250228030405Z") + b"\x00", "t").kerberos_time("t")


def test_time_memo_is_bounded() -> None:
    start = datetime(2030, 1, 1, tzinfo=UTC).timestamp()
    for i in range(der._TIME_MEMO_SIZE + 10):
        when = datetime.fromtimestamp(start + i, UTC)
        encoded = der.encode_kerberos_time(when)
        assert der.Reader.top(encoded, "t").kerberos_time("t") == when
        assert len(der._TIME_MEMO) <= der._TIME_MEMO_SIZE
    assert len(der._TIME_MEMO) >= 1  # the latest one, at least, is kept


@given(
    st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32),
    st.integers(0, 25), st.integers(0, 61), st.integers(0, 61),
)  # fmt: skip
@settings(max_examples=500)
def test_time_parse_matches_datetime(y: int, mo: int, d: int, h: int, mi: int, s: int) -> None:
    text = f"{y:04d}{mo:02d}{d:02d}{h:02d}{mi:02d}{s:02d}Z".encode()
    try:
        expected = datetime(y, mo, d, h, mi, s, tzinfo=UTC)
    except ValueError:
        with pytest.raises(DecodeError, match="invalid date or time"):
            der.Reader.top(time_element(text), "t").kerberos_time("t")
    else:
        for _ in range(2):  # parsed, then memoised
            assert der.Reader.top(time_element(text), "t").kerberos_time("t") == expected


# ------------------------------------------------------------------ encoder lengths


def minimal_length(n: int) -> bytes:
    """X.690 10.1 spelled out: short form below 128, else 0x80|count and the octets."""
    if n < 0x80:
        return bytes((n,))
    octets = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(octets),)) + octets


def test_encoded_lengths_are_minimal_for_every_length_up_to_70000() -> None:
    for n in [*range(70_000), 2**24 - 1, 2**24, 2**32 - 1]:
        assert der.encode_length(n) == minimal_length(n), n
        assert der.header(0xA3, n) == b"\xa3" + minimal_length(n), n


@pytest.mark.parametrize("size", [0, 127, 128, 255, 256, 65535, 65536])
def test_tlv_reads_back_through_the_decoder(size: int) -> None:
    content = b"\x5a" * size
    element = der.tlv(der.TAG_OCTET_STRING, content)
    assert element[0] == der.TAG_OCTET_STRING
    assert der.read_header(element, 0, len(element)) == (4, len(element) - size, len(element))
    assert der.Reader.top(element, "t").octets("t") == content
