"""The n-fold operation of RFC 3961 section 5.1.

Used only to stretch the short key-derivation constants (usage number plus one octet,
"kerberos", "prf") to the AES block size in the RFC 3962 profile; results are cached
because the same few constants recur for every key.
"""

from __future__ import annotations

import math
from functools import lru_cache

from .errors import KerberosCryptoError


def n_fold(data: bytes, nbits: int) -> bytes:
    """Return the nbits-bit n-fold of data (RFC 3961 5.1). nbits must be a multiple of 8."""
    if nbits <= 0 or nbits % 8:
        raise KerberosCryptoError(
            f"n-fold output size must be a positive multiple of 8 bits, got {nbits}"
        )
    if not data:
        raise KerberosCryptoError("n-fold of an empty string is undefined (RFC 3961 5.1)")
    return _n_fold(bytes(data), nbits)


@lru_cache(maxsize=256)
def _n_fold(data: bytes, nbits: int) -> bytes:
    inbits = len(data) * 8
    lcm = inbits * nbits // math.gcd(inbits, nbits)
    value = int.from_bytes(data, "big")
    in_mask = (1 << inbits) - 1
    # Replicate the input lcm/inbits times, rotating each copy 13 more bits to the right.
    stretched = 0
    for i in range(lcm // inbits):
        shift = (13 * i) % inbits
        rotated = ((value >> shift) | (value << (inbits - shift))) & in_mask
        stretched = (stretched << inbits) | rotated
    # Add the nbits-wide chunks with ones'-complement (end-around carry) addition.
    out_mask = (1 << nbits) - 1
    total = 0
    while stretched:
        total += stretched & out_mask
        stretched >>= nbits
    while total >> nbits:
        total = (total & out_mask) + (total >> nbits)
    return total.to_bytes(nbits // 8, "big")
