"""The decoder's fast paths give exactly what the general path gives, errors included:
the memo of decoded KerberosTimes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.wire import der
from kerbfirst.wire.der import DecodeError

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
