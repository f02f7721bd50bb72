"""HMAC (RFC 2104) with the key's inner and outer hash states computed once.

HMAC(K, m) = H((K' ^ opad) | H((K' ^ ipad) | m)), K' the key padded to the hash's block
size. The two keyed prefixes fill exactly one block each, so their hash states can be
computed once per key and copied per message: one state copy instead of an OpenSSL HMAC
context set up for every message. Kerberos derives a fixed Ki or Kc per (key, usage)
(RFC 3961 5.3, RFC 8009 5), and operations.py caches one HmacKey per derived key, so every
MAC on the KDC's hot path takes the fast route. The result is the standard HMAC: the tests
check it against `hmac`.

A key used for a single message (a TGS reply's one-shot subkey) gains nothing from the
precomputation, so OneShotHmac computes the same HMAC from scratch with the hash's own
constructor, cheaper than both HmacKey's setup and `hmac.digest`'s OpenSSL HMAC context.
Both are `Mac`s, the type the enctype modules take.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

_IPAD = bytes(b ^ 0x36 for b in range(256))  # translate() tables: XOR every key octet
_OPAD = bytes(b ^ 0x5C for b in range(256))

_HashNew = Callable[[bytes], "hashlib._Hash"]

# The hashes Kerberos AES enctypes use (RFC 3962 6, RFC 8009 5), with their block sizes.
# The named constructors skip hashlib.new's lookup by name.
_HASHES: dict[str, tuple[_HashNew, int]] = {
    "sha1": (hashlib.sha1, 64),
    "sha256": (hashlib.sha256, 64),
    "sha384": (hashlib.sha384, 128),
}


def _keyed_pads(key: bytes, hash_name: str) -> tuple[_HashNew, bytes, bytes]:
    """The hash's constructor, and the key XOR ipad and XOR opad (RFC 2104 2)."""
    known = _HASHES.get(hash_name)
    if known is None:  # any other hashlib name: HMAC is defined for every hash
        new: _HashNew = functools.partial(hashlib.new, hash_name)
        block = hashlib.new(hash_name).block_size
    else:
        new, block = known
    if len(key) > block:  # RFC 2104 2: longer keys are hashed first
        key = new(key).digest()
    padded = key.ljust(block, b"\0")
    return new, padded.translate(_IPAD), padded.translate(_OPAD)


class Mac:
    """An HMAC key: `digest(data)` is hmac.digest(key, data, hash_name)."""

    __slots__ = ("hash_name",)

    def __init__(self, hash_name: str) -> None:
        self.hash_name = hash_name

    def digest(self, data: bytes) -> bytes:
        raise NotImplementedError

    def __repr__(self) -> str:  # never the key material
        return f"{type(self).__name__}({self.hash_name})"


class OneShotHmac(Mac):
    """HMAC computed from scratch per message, for a key used once (module docstring)."""

    __slots__ = ("_ipad_key", "_new", "_opad_key")

    def __init__(self, key: bytes, hash_name: str) -> None:
        super().__init__(hash_name)
        self._new, self._ipad_key, self._opad_key = _keyed_pads(key, hash_name)

    def digest(self, data: bytes) -> bytes:
        new = self._new
        return new(self._opad_key + new(self._ipad_key + data).digest()).digest()


class HmacKey(Mac):
    """An HMAC key with its keyed inner and outer hash states precomputed."""

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes, hash_name: str) -> None:
        super().__init__(hash_name)
        new, ipad_key, opad_key = _keyed_pads(key, hash_name)
        self._inner = new(ipad_key)
        self._outer = new(opad_key)

    def digest(self, data: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()
