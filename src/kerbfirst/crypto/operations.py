"""The public operations: validation, enctype dispatch and the derived-key cache.

Derived keys (Ke, Ki, Kc of RFC 3961 5.3 / RFC 8009 5) depend only on (etype, key contents,
usage), and a KDC sees few keys and fewer usages, so they are memoised in bounded LRU caches
(functools.lru_cache: C-implemented and thread-safe). Ke is cached as a PersistentAesCts,
which keeps its OpenSSL contexts alive between calls and is safe to share between threads
(cts.py); Ki and Kc as HmacKey objects holding their precomputed HMAC states (hmac_key.py).

A key used for one message (encrypt(..., cache=False)) takes the opposite route: no cache
entry, no persistent contexts, no HMAC precomputation; it pays only for what that one
message needs (AesCts, OneShotHmac).
"""

from __future__ import annotations

import hmac
from functools import lru_cache

from . import rfc3962, rfc8009
from .cts import AesCts, PersistentAesCts
from .errors import IntegrityError, KerberosCryptoError
from .hmac_key import HmacKey, Mac, OneShotHmac
from .profiles import EnctypeProfile, Key, get_profile

# RFC 3962 4 asks for a limit of at least 50,000 if one is enforced; MIT krb5 refuses counts
# of 2**24 and above. A spoofed s2kparams must not buy an attacker minutes of our CPU.
MAX_ITERATIONS = 1 << 24
DERIVED_KEY_CACHE_SIZE = 4096

_KC, _KE, _KI = 0x99, 0xAA, 0x55  # RFC 3961 5.3 / RFC 8009 5 well-known constants


def _usage(usage: int) -> int:
    if not 0 <= usage <= 0xFFFFFFFF:
        raise KerberosCryptoError(f"key usage must be a 32-bit unsigned number, got {usage}")
    return usage


def _profile_for(key: Key) -> EnctypeProfile:
    return get_profile(key.etype)


def _derive(profile: EnctypeProfile, base: bytes, usage: int, kind: int, nbits: int) -> bytes:
    constant = usage.to_bytes(4, "big") + bytes((kind,))
    if profile.is_rfc8009:
        return rfc8009.kdf(base, constant, nbits, profile.hash_name)
    return rfc3962.derive_key(base, constant)


@lru_cache(maxsize=1024)
def _ke_ki_constants(usage: int) -> tuple[bytes, bytes]:
    """The DK constants of a usage's Ke and Ki (RFC 3961 5.3: usage | 0xAA, usage | 0x55),
    n-folded once: they depend on the usage only, and a KDC uses a handful of usages."""
    prefix = usage.to_bytes(4, "big")
    return (
        rfc3962.fold_constant(prefix + bytes((_KE,))),
        rfc3962.fold_constant(prefix + bytes((_KI,))),
    )


def _derive_ke_ki(profile: EnctypeProfile, base: bytes, usage: int) -> tuple[bytes, bytes]:
    # RFC 8009 5: Ke is the AES key size, Ki is the MAC size; RFC 3962 derives full-size keys.
    if profile.is_rfc8009:
        return (
            _derive(profile, base, usage, _KE, profile.key_size * 8),
            _derive(profile, base, usage, _KI, profile.mac_size * 8),
        )
    ke, ki = rfc3962.derive_keys(base, *_ke_ki_constants(usage))
    return ke, ki


@lru_cache(maxsize=DERIVED_KEY_CACHE_SIZE)
def _encryption_keys(etype: int, base: bytes, usage: int) -> tuple[PersistentAesCts, HmacKey]:
    profile = get_profile(etype)
    ke, ki = _derive_ke_ki(profile, base, usage)
    return PersistentAesCts(ke), HmacKey(ki, profile.hash_name)


@lru_cache(maxsize=DERIVED_KEY_CACHE_SIZE)
def _checksum_key(etype: int, base: bytes, usage: int) -> HmacKey:
    profile = get_profile(etype)
    return HmacKey(_derive(profile, base, usage, _KC, profile.mac_size * 8), profile.hash_name)


def clear_derived_key_cache() -> None:
    """Forget every cached derived key (e.g. after a key rollover, to drop old material)."""
    _encryption_keys.cache_clear()
    _checksum_key.cache_clear()


def derive_usage_keys(key: Key, usage: int) -> tuple[bytes, bytes, bytes]:
    """(Ke, Ki, Kc) for a key and usage; for tests and diagnostics, not the hot path."""
    profile = _profile_for(key)
    _usage(usage)
    return (
        _derive(profile, key.contents, usage, _KE, profile.key_size * 8),
        _derive(profile, key.contents, usage, _KI, profile.mac_size * 8),
        _derive(profile, key.contents, usage, _KC, profile.mac_size * 8),
    )


def _iterations(profile: EnctypeProfile, params: bytes | None) -> int:
    if params is None:
        return profile.default_iterations
    if len(params) != 4:
        raise KerberosCryptoError(
            f"s2kparams for {profile.name} must be a 4-byte iteration count, "
            f"got {len(params)} bytes"
        )
    count = int.from_bytes(params, "big")
    # RFC 3962 4: 00 00 00 00 means 2**32 iterations, which is far past any sane bound.
    if count == 0 or count > MAX_ITERATIONS:
        shown = 1 << 32 if count == 0 else count
        raise KerberosCryptoError(
            f"refusing a PBKDF2 iteration count of {shown}: the limit is {MAX_ITERATIONS} "
            "(a spoofed KDC reply can demand absurd counts; RFC 3962 4)"
        )
    return count


def string_to_key(etype: int, password: bytes, salt: bytes, params: bytes | None = None) -> Key:
    """Derive the long-term key from a password (RFC 3962 4, RFC 8009 4).

    `params` is the s2kparams of PA-ETYPE-INFO2 (4-byte big-endian iteration count); None
    means the enctype's default (4096 for 17/18, 32768 for 19/20).
    """
    profile = get_profile(etype)
    iterations = _iterations(profile, params)
    if profile.is_rfc8009:
        contents = rfc8009.string_to_key(
            password, salt, iterations, profile.key_size, profile.hash_name, profile.name
        )
    else:
        contents = rfc3962.string_to_key(password, salt, iterations, profile.key_size)
    return Key(etype, contents)


def random_to_key(etype: int, data: bytes) -> Key:
    """The identity for AES (RFC 3962 6, RFC 8009 5); data must be exactly the key size."""
    profile = get_profile(etype)
    if len(data) != profile.key_size:
        raise KerberosCryptoError(
            f"random-to-key for {profile.name} needs {profile.key_size} bytes, got {len(data)}"
        )
    return Key(etype, bytes(data))


def encrypt(
    key: Key, usage: int, plaintext: bytes, *, confounder: bytes, cache: bool = True
) -> bytes:
    """Encrypt with the caller's 16-byte random confounder (this layer has no randomness).

    cache=False: the key is used once (a TGS-REQ's authenticator subkey), so its derived
    keys are computed without entering the cache, where they would only evict keys that
    recur and keep the garbage collector busy with objects that are never used again, and
    without the persistent contexts and HMAC states that only pay off over many messages."""
    profile = _profile_for(key)
    if len(confounder) != profile.confounder_size:
        raise KerberosCryptoError(
            f"{profile.name} needs a {profile.confounder_size}-byte confounder, "
            f"got {len(confounder)} bytes"
        )
    ke: AesCts
    ki: Mac
    if cache:
        ke, ki = _encryption_keys(key.etype, key.contents, _usage(usage))
    else:
        ke_bytes, ki_bytes = _derive_ke_ki(profile, key.contents, _usage(usage))
        ke, ki = AesCts(ke_bytes), OneShotHmac(ki_bytes, profile.hash_name)
    if profile.is_rfc8009:
        return rfc8009.encrypt(ke, ki, confounder, plaintext, profile.mac_size)
    return rfc3962.encrypt(ke, ki, confounder, plaintext)


def decrypt(key: Key, usage: int, ciphertext: bytes) -> bytes:
    """Decrypt and verify. Any malformed, truncated or tampered input raises IntegrityError."""
    profile = _profile_for(key)
    ke, ki = _encryption_keys(key.etype, key.contents, _usage(usage))
    try:
        if profile.is_rfc8009:
            return rfc8009.decrypt(ke, ki, ciphertext, profile.confounder_size, profile.mac_size)
        return rfc3962.decrypt(ke, ki, ciphertext, profile.confounder_size)
    except IntegrityError:
        raise
    except (KerberosCryptoError, ValueError, TypeError) as exc:
        # Defence in depth: a peer's bytes must never surface as anything but IntegrityError.
        raise IntegrityError(f"ciphertext is malformed: {exc}") from exc


def make_checksum(key: Key, usage: int, data: bytes) -> bytes:
    """The enctype's keyed checksum (cksumtype 15/16/19/20) over data."""
    profile = _profile_for(key)
    kc = _checksum_key(key.etype, key.contents, _usage(usage))
    if profile.is_rfc8009:
        return rfc8009.checksum(kc, data, profile.mac_size)
    return rfc3962.checksum(kc, data)


def verify_checksum(key: Key, usage: int, data: bytes, checksum: bytes) -> bool:
    """Constant-time comparison of a received checksum with the expected one."""
    return hmac.compare_digest(make_checksum(key, usage, data), checksum)


def prf(key: Key, data: bytes) -> bytes:
    """The enctype's pseudo-random function (RFC 3962 4: 16 bytes; RFC 8009 5: 32/48 bytes)."""
    profile = _profile_for(key)
    if profile.is_rfc8009:
        return rfc8009.prf(key.contents, data, profile.prf_size, profile.hash_name)
    return rfc3962.prf(key.contents, data)


def _prf_plus(key: Key, pepper: bytes, size: int) -> bytes:
    """PRF+ of RFC 6113 5.1: PRF(key, 1 | pepper) | PRF(key, 2 | pepper) | ..., truncated."""
    out = b""
    counter = 1
    while len(out) < size:
        out += prf(key, bytes((counter,)) + pepper)
        counter += 1
    return out[:size]


def cf2(etype: int, key1: Key, key2: Key, pepper1: bytes, pepper2: bytes) -> Key:
    """KRB-FX-CF2 of RFC 6113 5.1: random-to-key(PRF+(key1, pepper1) XOR PRF+(key2, pepper2)),
    producing a key of `etype` (its key-generation seed length is its key size for AES)."""
    profile = get_profile(etype)
    size = profile.key_size
    left = int.from_bytes(_prf_plus(key1, pepper1, size), "big")
    right = int.from_bytes(_prf_plus(key2, pepper2, size), "big")
    return random_to_key(etype, (left ^ right).to_bytes(size, "big"))
