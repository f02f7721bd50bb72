"""aes128/256-cts-hmac-sha1-96: RFC 3962 over the simplified profile of RFC 3961 section 5.3.

Functions here take raw key bytes and are wrapped (with validation and caching) by
operations.py; nothing here is part of the public API.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

from .cts import BLOCK, AesCts, aes_cbc_zero, encrypt_block
from .errors import IntegrityError
from .hmac_key import Mac
from .nfold import n_fold

MAC_SIZE = 12  # RFC 3962 6: HMAC output size h = 12 octets (96 bits)
_KERBEROS = b"kerberos"
_PRF_CONSTANT = b"prf"
_RAW_AES = modes.ECB()  # noqa: S305 - the raw block cipher of DR, see derive_keys


def derive_key(base: bytes, constant: bytes) -> bytes:
    """DK(base, constant) of RFC 3961 5.1; random-to-key is the identity for AES (RFC 3962 6).

    DR: K1 = E(base, n-fold(constant)), K2 = E(base, K1), ... concatenated and truncated to
    the key size. E of one block with a zero initial state is raw AES.
    """
    block = fold_constant(constant)
    # K2 = E(K1), K3 = E(K2), ...: exactly what CBC with a zero IV makes of the input
    # block followed by zero blocks (C_i = E(0 XOR C_{i-1})), so one cipher context
    # produces them all.
    blocks = -(-len(base) // BLOCK)
    out = aes_cbc_zero(base).encryptor().update(block + bytes(BLOCK * (blocks - 1)))
    return out[: len(base)]


def fold_constant(constant: bytes) -> bytes:
    """The DR input block of a constant: n-fold to the block size (RFC 3961 5.1 DK)."""
    return constant if len(constant) == BLOCK else n_fold(constant, BLOCK * 8)


def derive_keys(base: bytes, *constants: bytes) -> list[bytes]:
    """DK(base, c) for several constants at once, equal to derive_key for each (tested).
    A one-block constant is its own n-fold (RFC 3961 5.1), so callers may pass constants
    they folded once (fold_constant).

    DR's chain for each constant is K1 = E(base, n-fold(c)), K2 = E(base, K1), ...: the
    same raw AES on independent blocks. ECB here is that raw block cipher, not a mode
    applied to a message: one context encrypts every chain's next block in one call, so
    Ke and Ki of a new key cost one AES context and one update per key block (two for
    AES-256) instead of a context per key (a TGS reply's fresh subkey pays this on every
    request).
    """
    encryptor = Cipher(algorithms.AES(base), _RAW_AES).encryptor()
    outputs = [encryptor.update(b"".join([fold_constant(c) for c in constants]))]
    for _ in range(1, -(-len(base) // BLOCK)):
        outputs.append(encryptor.update(outputs[-1]))
    return [
        b"".join([out[i * BLOCK : (i + 1) * BLOCK] for out in outputs])[: len(base)]
        for i in range(len(constants))
    ]


def string_to_key(password: bytes, salt: bytes, iterations: int, key_size: int) -> bytes:
    """RFC 3962 4: tkey = random-to-key(PBKDF2-HMAC-SHA1(password, salt, iter, keylen));
    key = DK(tkey, "kerberos")."""
    tkey = PBKDF2HMAC(
        algorithm=hashes.SHA1(),  # noqa: S303 - mandated by RFC 3962 4 as the PBKDF2 PRF
        length=key_size,
        salt=salt,
        iterations=iterations,
    ).derive(password)
    return derive_key(tkey, _KERBEROS)


def prf(base: bytes, data: bytes) -> bytes:
    """RFC 3962 4: E(DK(key, "prf"), truncate-to-block(SHA-1(data))), 16 bytes."""
    digest = hashlib.sha1(data).digest()[:BLOCK]  # noqa: S324 - RFC 3962 4 specifies SHA-1
    return encrypt_block(aes_cbc_zero(derive_key(base, _PRF_CONSTANT)), digest)


def encrypt(ke: AesCts, ki: Mac, confounder: bytes, plaintext: bytes) -> bytes:
    """RFC 3961 5.3: C = E(Ke, conf | plaintext), H = HMAC-SHA1(Ki, conf | plaintext)[:12].
    No padding: CTS needs none (RFC 3962 6, "required padding: none")."""
    data = confounder + plaintext
    return ke.encrypt(data) + ki.digest(data)[:MAC_SIZE]


def decrypt(ke: AesCts, ki: Mac, ciphertext: bytes, confounder_size: int) -> bytes:
    """Inverse of encrypt. The MAC covers the plaintext here (MAC-then-encrypt of RFC 3961
    5.3), so decryption must come first; the compare is constant time."""
    if len(ciphertext) < confounder_size + MAC_SIZE:
        raise IntegrityError(
            f"ciphertext of {len(ciphertext)} bytes is shorter than the "
            f"{confounder_size + MAC_SIZE}-byte minimum of this enctype"
        )
    body, mac = ciphertext[:-MAC_SIZE], ciphertext[-MAC_SIZE:]
    data = ke.decrypt(body)
    if not hmac.compare_digest(ki.digest(data)[:MAC_SIZE], mac):
        raise IntegrityError("integrity check failed: wrong key or key usage, or tampered data")
    return data[confounder_size:]


def checksum(kc: Mac, data: bytes) -> bytes:
    """RFC 3962 7 / RFC 3961 5.4: HMAC-SHA1(Kc, data) truncated to 96 bits."""
    return kc.digest(data)[:MAC_SIZE]
