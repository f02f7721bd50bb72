"""HMAC (RFC 2104) with the key's inner and outer hash states computed once.

HMAC(K, m) = H((K' ^ opad) | H((K' ^ ipad) | m)), K' the key padded to the hash's block
size. The two keyed prefixes fill exactly one block each, so their hash states can be
computed once per key and copied per message: one state copy instead of an OpenSSL HMAC
context set up for every message (measured about 2.8x faster for a 300-byte message with
SHA-1). Kerberos derives a fixed Ki or Kc per (key, usage) (RFC 3961 5.3, RFC 8009 5),
and operations.py caches one HmacKey per derived key, so every MAC on the KDC's hot path
takes the fast route. The result is the standard HMAC: the tests check it against `hmac`.
"""

from __future__ import annotations

import hashlib

_IPAD = bytes(b ^ 0x36 for b in range(256))  # translate() tables: XOR every key octet
_OPAD = bytes(b ^ 0x5C for b in range(256))


class HmacKey:
    """One HMAC key; `digest(data)` is hmac.digest(key, data, hash_name)."""

    __slots__ = ("_inner", "_outer", "hash_name")

    def __init__(self, key: bytes, hash_name: str) -> None:
        inner = hashlib.new(hash_name)
        outer = hashlib.new(hash_name)
        block = inner.block_size
        if len(key) > block:  # RFC 2104 2: longer keys are hashed first
            key = hashlib.new(hash_name, key).digest()
        padded = key.ljust(block, b"\0")
        inner.update(padded.translate(_IPAD))
        outer.update(padded.translate(_OPAD))
        self._inner = inner
        self._outer = outer
        self.hash_name = hash_name

    def digest(self, data: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(data)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()

    def __repr__(self) -> str:  # never the key material
        return f"HmacKey({self.hash_name})"
