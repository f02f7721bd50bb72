"""HmacKey (precomputed HMAC states) and OneShotHmac equal the standard library's HMAC."""

from __future__ import annotations

import hmac

from hypothesis import given
from hypothesis import strategies as st

from kerbfirst.crypto.hmac_key import HmacKey, OneShotHmac


@given(
    hash_name=st.sampled_from(["sha1", "sha256", "sha384"]),
    key=st.binary(min_size=0, max_size=200),  # past every block size (64, 64, 128)
    messages=st.lists(st.binary(max_size=300), min_size=1, max_size=3),
)
def test_hmac_key_equals_hmac(hash_name: str, key: bytes, messages: list[bytes]) -> None:
    for mac in (HmacKey(key, hash_name), OneShotHmac(key, hash_name)):
        for message in messages:  # the states are copied, never consumed: reuse must work
            assert mac.digest(message) == hmac.digest(key, message, hash_name)


@given(key=st.binary(max_size=80), message=st.binary(max_size=100))
def test_one_shot_hmac_with_a_hash_outside_its_table(key: bytes, message: bytes) -> None:
    assert OneShotHmac(key, "sha512").digest(message) == hmac.digest(key, message, "sha512")


def test_rfc2202_sha1_vector() -> None:
    # RFC 2202 section 3, test case 2.
    for mac in (HmacKey(b"Jefe", "sha1"), OneShotHmac(b"Jefe", "sha1")):
        digest = mac.digest(b"what do ya want for nothing?")
        assert digest.hex() == "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79"


def test_repr_hides_key() -> None:
    for mac in (HmacKey(b"Jefe", "sha1"), OneShotHmac(b"Jefe", "sha1")):
        assert "Jefe" not in repr(mac) and "sha1" in repr(mac)

