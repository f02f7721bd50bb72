"""aes128-cts-hmac-sha256-128 and aes256-cts-hmac-sha384-192 (RFC 8009).

Differences from RFC 3962 that matter: keys come from an SP 800-108 counter-mode KDF over HMAC
(not DK/n-fold), the PBKDF2 salt is prefixed with the enctype name, and the MAC is
encrypt-then-MAC over IV | ciphertext, so integrity is checked before anything is decrypted.
"""

from __future__ import annotations

import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .cts import BLOCK, AesCts
from .errors import IntegrityError
from .hmac_key import Mac

_ZERO_IV = bytes(BLOCK)
_COUNTER_ONE = b"\x00\x00\x00\x01"
_PBKDF2_HASH: dict[str, type[hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
}


def kdf(key: bytes, label: bytes, nbits: int, hash_name: str, context: bytes = b"") -> bytes:
    """KDF-HMAC-SHA2(key, label, [context,] k) of RFC 8009 3: the first k bits of
    HMAC(key, 00000001 | label | 00 | context | k as a 32-bit big-endian number).
    One HMAC block always suffices: k <= 256 with SHA-256's 256 bits, <= 384 with SHA-384."""
    message = _COUNTER_ONE + label + b"\x00" + context + nbits.to_bytes(4, "big")
    return hmac.digest(key, message, hash_name)[: nbits // 8]


def string_to_key(
    password: bytes, salt: bytes, iterations: int, key_size: int, hash_name: str, etype_name: str
) -> bytes:
    """RFC 8009 4: saltp = enctype-name | 0x00 | salt;
    tkey = PBKDF2-HMAC-SHA2(password, saltp, iter, keylen); key = KDF(tkey, "kerberos", keylen)."""
    saltp = etype_name.encode("ascii") + b"\x00" + salt
    tkey = PBKDF2HMAC(
        algorithm=_PBKDF2_HASH[hash_name](),
        length=key_size,
        salt=saltp,
        iterations=iterations,
    ).derive(password)
    return kdf(tkey, b"kerberos", key_size * 8, hash_name)


def prf(base: bytes, data: bytes, prf_size: int, hash_name: str) -> bytes:
    """RFC 8009 5: PRF = KDF-HMAC-SHA2(base-key, "prf", octet-string, 256 or 384)."""
    return kdf(base, b"prf", prf_size * 8, hash_name, data)


def encrypt(
    ke: AesCts,
    ki: Mac,
    confounder: bytes,
    plaintext: bytes,
    mac_size: int,
) -> bytes:
    """RFC 8009 5: C = E(Ke, N | plaintext, IV=0); H = HMAC(Ki, IV | C) truncated."""
    body = ke.encrypt(confounder + plaintext)
    return body + ki.digest(_ZERO_IV + body)[:mac_size]


def decrypt(
    ke: AesCts,
    ki: Mac,
    ciphertext: bytes,
    confounder_size: int,
    mac_size: int,
) -> bytes:
    """Check HMAC(Ki, IV | C) in constant time first, then decrypt (RFC 8009 5)."""
    if len(ciphertext) < confounder_size + mac_size:
        raise IntegrityError(
            f"ciphertext of {len(ciphertext)} bytes is shorter than the "
            f"{confounder_size + mac_size}-byte minimum of this enctype"
        )
    body, mac = ciphertext[:-mac_size], ciphertext[-mac_size:]
    if not hmac.compare_digest(ki.digest(_ZERO_IV + body)[:mac_size], mac):
        raise IntegrityError("integrity check failed: wrong key or key usage, or tampered data")
    return ke.decrypt(body)[confounder_size:]


def checksum(kc: Mac, data: bytes, mac_size: int) -> bytes:
    """RFC 8009 5: HMAC(Kc, data) truncated to 128 or 192 bits."""
    return kc.digest(data)[:mac_size]
