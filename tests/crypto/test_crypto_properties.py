"""Properties of the public API: round trips, integrity failures, validation, no secret leaks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.crypto import (
    MAX_ITERATIONS,
    SUPPORTED_ETYPES,
    IntegrityError,
    KerberosCryptoError,
    Key,
    UnsupportedEnctype,
    cf2,
    checksum_type,
    decrypt,
    encrypt,
    etype_for_checksum_type,
    etype_from_name,
    get_profile,
    make_checksum,
    n_fold,
    prf,
    random_to_key,
    string_to_key,
    verify_checksum,
)

etypes = st.sampled_from(SUPPORTED_ETYPES)
usages = st.integers(min_value=0, max_value=0xFFFFFFFF)
confounders = st.binary(min_size=16, max_size=16)


@st.composite
def keys(draw: st.DrawFn) -> Key:
    etype = draw(etypes)
    size = get_profile(etype).key_size
    return Key(etype, draw(st.binary(min_size=size, max_size=size)))


@settings(max_examples=300, deadline=None)
@given(key=keys(), usage=usages, plaintext=st.binary(max_size=200), confounder=confounders)
def test_encrypt_decrypt_round_trip(
    key: Key, usage: int, plaintext: bytes, confounder: bytes
) -> None:
    ciphertext = encrypt(key, usage, plaintext, confounder=confounder)
    profile = get_profile(key.etype)
    assert len(ciphertext) == profile.confounder_size + len(plaintext) + profile.mac_size
    assert decrypt(key, usage, ciphertext) == plaintext


@settings(max_examples=200, deadline=None)
@given(
    key=keys(),
    usage=usages,
    plaintext=st.binary(max_size=64),
    confounder=confounders,
    data=st.data(),
)
def test_any_single_bit_flip_is_an_integrity_error(
    key: Key, usage: int, plaintext: bytes, confounder: bytes, data: st.DataObject
) -> None:
    ciphertext = bytearray(encrypt(key, usage, plaintext, confounder=confounder))
    bit = data.draw(st.integers(min_value=0, max_value=len(ciphertext) * 8 - 1))
    ciphertext[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(IntegrityError):
        decrypt(key, usage, bytes(ciphertext))


@settings(max_examples=200, deadline=None)
@given(key=keys(), usage=usages, plaintext=st.binary(max_size=64), data=st.data())
def test_truncated_input_is_an_integrity_error(
    key: Key, usage: int, plaintext: bytes, data: st.DataObject
) -> None:
    ciphertext = encrypt(key, usage, plaintext, confounder=bytes(16))
    cut = data.draw(st.integers(min_value=0, max_value=len(ciphertext) - 1))
    with pytest.raises(IntegrityError):
        decrypt(key, usage, ciphertext[:cut])


@settings(max_examples=300, deadline=None)
@given(key=keys(), usage=usages, junk=st.binary(max_size=120))
def test_arbitrary_bytes_raise_only_integrity_error(key: Key, usage: int, junk: bytes) -> None:
    with pytest.raises(IntegrityError):
        decrypt(key, usage, junk)


@settings(max_examples=100, deadline=None)
@given(key=keys(), usage=st.integers(min_value=0, max_value=0xFFFFFFFE), plaintext=st.binary())
def test_other_usage_or_key_does_not_decrypt(key: Key, usage: int, plaintext: bytes) -> None:
    ciphertext = encrypt(key, usage, plaintext, confounder=b"\x01" * 16)
    with pytest.raises(IntegrityError):
        decrypt(key, usage + 1, ciphertext)
    other = Key(key.etype, bytes(b ^ 0xFF for b in key.contents))
    with pytest.raises(IntegrityError):
        decrypt(other, usage, ciphertext)


@settings(max_examples=100, deadline=None)
@given(key=keys(), usage=usages, data=st.binary(max_size=100))
def test_checksum_verifies_and_detects_changes(key: Key, usage: int, data: bytes) -> None:
    mac = make_checksum(key, usage, data)
    assert len(mac) == get_profile(key.etype).mac_size
    assert verify_checksum(key, usage, data, mac)
    assert not verify_checksum(key, usage, data + b"x", mac)
    assert not verify_checksum(key, usage ^ 1, data, mac)
    assert not verify_checksum(key, usage, data, mac[:-1])
    assert not verify_checksum(key, usage, data, bytes(len(mac)))


def test_confounder_changes_ciphertext_only_where_expected() -> None:
    key = random_to_key(18, bytes(range(32)))
    a = encrypt(key, 1, b"same message", confounder=bytes(16))
    b = encrypt(key, 1, b"same message", confounder=b"\x01" + bytes(15))
    assert a != b
    assert decrypt(key, 1, a) == decrypt(key, 1, b) == b"same message"


def test_enctype_profiles() -> None:
    assert SUPPORTED_ETYPES == (18, 17, 20, 19)
    facts = {
        e: (p.name, p.key_size, p.mac_size, p.checksum_type, p.default_iterations)
        for e in SUPPORTED_ETYPES
        for p in [get_profile(e)]
    }
    assert facts == {
        18: ("aes256-cts-hmac-sha1-96", 32, 12, 16, 4096),
        17: ("aes128-cts-hmac-sha1-96", 16, 12, 15, 4096),
        20: ("aes256-cts-hmac-sha384-192", 32, 24, 20, 32768),
        19: ("aes128-cts-hmac-sha256-128", 16, 16, 19, 32768),
    }
    for etype in SUPPORTED_ETYPES:
        assert get_profile(etype).block_size == 16
        assert get_profile(etype).confounder_size == 16
        assert etype_for_checksum_type(checksum_type(etype)) == etype


@pytest.mark.parametrize(
    ("name", "etype"),
    [
        ("aes256-cts-hmac-sha1-96", 18),
        ("AES256-CTS", 18),
        ("aes256-sha1", 18),
        ("aes128-cts-hmac-sha1-96", 17),
        ("aes128-sha1", 17),
        ("aes256-cts-hmac-sha384-192", 20),
        ("aes256-sha2", 20),
        ("aes128-cts-hmac-sha256-128", 19),
        ("aes128-sha2", 19),
        ("18", 18),
    ],
)
def test_etype_from_name(name: str, etype: int) -> None:
    assert etype_from_name(name) == etype


def test_refused_and_unknown_names() -> None:
    with pytest.raises(UnsupportedEnctype) as info:
        etype_from_name("rc4-hmac")
    assert info.value.etype == 23 and "refused" in str(info.value)
    with pytest.raises(UnsupportedEnctype) as info:
        etype_from_name("des-cbc-crc")
    assert info.value.etype == 1
    with pytest.raises(UnsupportedEnctype) as info:
        etype_from_name("aes512-magic")
    assert info.value.etype is None
    with pytest.raises(UnsupportedEnctype) as info:
        etype_from_name("23")
    assert info.value.etype == 23


@pytest.mark.parametrize("etype", [1, 3, 16, 23, 24, 25, 0, -1, 99])
def test_unsupported_enctypes_are_refused(etype: int) -> None:
    with pytest.raises(UnsupportedEnctype) as info:
        get_profile(etype)
    assert info.value.etype == etype
    assert "17" in str(info.value)  # the message says what IS supported
    with pytest.raises(UnsupportedEnctype):
        string_to_key(etype, b"pw", b"salt")
    with pytest.raises(UnsupportedEnctype):
        encrypt(Key(etype, bytes(16)), 1, b"", confounder=bytes(16))
    with pytest.raises(UnsupportedEnctype):
        decrypt(Key(etype, bytes(16)), 1, bytes(40))
    with pytest.raises(UnsupportedEnctype):
        checksum_type(etype)


def test_unsupported_checksum_type() -> None:
    for cksumtype in (1, 7, 8, 12, -138, 0x8003):
        with pytest.raises(UnsupportedEnctype):
            etype_for_checksum_type(cksumtype)


def test_key_never_prints_its_contents() -> None:
    secret = bytes.fromhex("00112233445566778899aabbccddeeff")
    key = Key(17, secret)
    for text in (repr(key), str(key), f"{key}"):
        assert secret.hex() not in text and "\\x" not in text and "contents" not in text
    assert repr(key) == "Key(etype=17)"


def test_key_equality_and_hash_cover_both_fields() -> None:
    key = Key(17, bytes(16))
    assert key == Key(17, bytes(16)) and hash(key) == hash(Key(17, bytes(16)))
    assert key != Key(17, bytes(15) + b"\x01")
    assert key != Key(19, bytes(16))
    assert key != (17, bytes(16))
    assert len({key, Key(17, bytes(16)), Key(19, bytes(16))}) == 2


def test_key_is_immutable(tmp_path: Path) -> None:
    """Key's fields are Final: mypy --strict refuses assignment (CI runs it on src), and the
    mypyc-compiled build also refuses it at run time. Pure Python does not check at run time:
    that is the price of the plain-store __init__ (profiles.Key)."""
    import kerbfirst.crypto.profiles as profiles_module

    snippet = tmp_path / "assign_key.py"
    snippet.write_text(
        "from kerbfirst.crypto import Key\n"
        "key = Key(17, bytes(16))\n"
        "key.etype = 18\n"
        "key.contents = bytes(16)\n"
    )
    src = Path(profiles_module.__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental",
         "--follow-imports=silent", str(snippet)],
        env={**os.environ, "MYPYPATH": str(src)}, capture_output=True, text=True,
        timeout=300, check=False,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'assign_key.py:3: error: Cannot assign to final attribute "etype"' in done.stdout
    assert 'assign_key.py:4: error: Cannot assign to final attribute "contents"' in done.stdout
    if not profiles_module.__file__.endswith(".py"):  # the compiled build: read-only slots
        key = Key(17, bytes(16))
        with pytest.raises(AttributeError):
            key.etype = 18  # type: ignore[misc]
        assert key.etype == 17


def test_key_validation() -> None:
    with pytest.raises(KerberosCryptoError, match="32 bytes"):
        Key(18, bytes(16))
    with pytest.raises(KerberosCryptoError, match="bytes"):
        Key(17, bytearray(16))  # type: ignore[arg-type]
    with pytest.raises(KerberosCryptoError):
        random_to_key(17, bytes(15))
    assert random_to_key(20, bytes(32)) == Key(20, bytes(32))


def test_string_to_key_parameter_bounds() -> None:
    with pytest.raises(KerberosCryptoError, match="4-byte"):
        string_to_key(17, b"pw", b"salt", b"\x00\x10\x00")
    # RFC 3962 4: 00 00 00 00 means 2**32 iterations: refused, not run.
    with pytest.raises(KerberosCryptoError, match="4294967296"):
        string_to_key(17, b"pw", b"salt", bytes(4))
    with pytest.raises(KerberosCryptoError, match="iteration count"):
        string_to_key(19, b"pw", b"salt", (MAX_ITERATIONS + 1).to_bytes(4, "big"))
    with pytest.raises(KerberosCryptoError, match="iteration count"):
        string_to_key(18, b"pw", b"salt", b"\xff\xff\xff\xff")
    # Default parameters equal explicit defaults.
    assert string_to_key(17, b"pw", b"salt") == string_to_key(
        17, b"pw", b"salt", (4096).to_bytes(4, "big")
    )


def test_encrypt_input_validation() -> None:
    key = random_to_key(17, bytes(16))
    for bad in (b"", bytes(15), bytes(17)):
        with pytest.raises(KerberosCryptoError, match="confounder"):
            encrypt(key, 1, b"x", confounder=bad)
    for usage in (-1, 1 << 32):
        with pytest.raises(KerberosCryptoError, match="usage"):
            encrypt(key, usage, b"x", confounder=bytes(16))
        with pytest.raises(KerberosCryptoError, match="usage"):
            make_checksum(key, usage, b"x")


def test_prf_sizes_and_determinism() -> None:
    for etype, size in ((17, 16), (18, 16), (19, 32), (20, 48)):
        key = random_to_key(etype, bytes(get_profile(etype).key_size))
        out = prf(key, b"input")
        assert len(out) == size
        assert out == prf(key, b"input") != prf(key, b"other")


@settings(max_examples=30, deadline=None)
@given(k1=keys(), k2=keys(), p1=st.binary(max_size=20), p2=st.binary(max_size=20), etype=etypes)
def test_cf2_is_symmetric_in_its_pairs(k1: Key, k2: Key, p1: bytes, p2: bytes, etype: int) -> None:
    # XOR commutes, so swapping (key, pepper) pairs must not change the result.
    out = cf2(etype, k1, k2, p1, p2)
    assert out.etype == etype and len(out.contents) == get_profile(etype).key_size
    assert out == cf2(etype, k2, k1, p2, p1)


def test_n_fold_validation() -> None:
    with pytest.raises(KerberosCryptoError):
        n_fold(b"", 64)
    with pytest.raises(KerberosCryptoError):
        n_fold(b"abc", 60)
    assert n_fold(b"kerberos", 64) == b"kerberos"


def test_encrypt_without_cache_leaves_the_derived_key_cache_alone() -> None:
    import os

    from kerbfirst.crypto import Key, decrypt, encrypt
    from kerbfirst.crypto.operations import _encryption_keys

    for etype, size in ((17, 16), (18, 32), (19, 16), (20, 32)):
        key = Key(etype, os.urandom(size))
        before = _encryption_keys.cache_info().currsize
        sealed = encrypt(key, 9, b"one-shot reply", confounder=os.urandom(16), cache=False)
        assert _encryption_keys.cache_info().currsize == before
        assert decrypt(key, 9, sealed) == b"one-shot reply"  # the same ciphertext as cached


@given(
    base=st.sampled_from([16, 24, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    constants=st.lists(st.binary(min_size=1, max_size=20), min_size=1, max_size=3),
)
def test_derive_keys_equals_derive_key_one_by_one(base: bytes, constants: list[bytes]) -> None:
    from kerbfirst.crypto.rfc3962 import derive_key, derive_keys

    assert derive_keys(base, *constants) == [derive_key(base, c) for c in constants]


@given(
    etype=st.sampled_from([17, 18]),
    seed=st.binary(min_size=32, max_size=32),
    usage=st.integers(min_value=0, max_value=0xFFFFFFFF),
)
def test_one_shot_ke_ki_equal_the_one_by_one_derivation(
    etype: int, seed: bytes, usage: int
) -> None:
    """The per-usage folded-constant memo and the two-chain derivation give RFC 3961 5.3's
    Ke and Ki, as derived one constant at once (derive_usage_keys), for any usage."""
    from kerbfirst.crypto.operations import _derive_ke_ki, _ke_ki_constants, derive_usage_keys

    key = Key(etype, seed[: get_profile(etype).key_size])
    expected = derive_usage_keys(key, usage)[:2]
    assert _derive_ke_ki(get_profile(etype), key.contents, usage) == expected
    assert _ke_ki_constants(usage) is _ke_ki_constants(usage)  # remembered ...
    assert _derive_ke_ki(get_profile(etype), key.contents, usage) == expected  # ... and right


def test_folded_constant_memo_is_bounded() -> None:
    from kerbfirst.crypto.operations import _ke_ki_constants

    limit = _ke_ki_constants.cache_info().maxsize
    assert limit is not None
    for usage in range(3 * limit):
        _ke_ki_constants(usage)
        assert _ke_ki_constants.cache_info().currsize <= limit
