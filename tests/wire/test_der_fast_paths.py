"""The decoder's fast paths give exactly what the general path gives, errors included:
one-octet INTEGERs and the memo of decoded KerberosTimes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.wire import der
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
