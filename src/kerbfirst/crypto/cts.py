"""AES in CBC mode with ciphertext stealing, as Kerberos defines it (RFC 3962 section 5).

The Kerberos variant always swaps the last two blocks when there is more than one block, even
when the input is a whole number of blocks (the CS3 variant of NIST SP 800-38A's addendum).
The initial cipher state is always zero: every Kerberos use of these enctypes starts from it
(RFC 3961 5.3 "initial cipher state", RFC 4121 4.2.3).

Speed: a `Cipher` object is immutable and safe to share, so callers cache one per derived key
(`aes_cbc_zero`); each call then creates exactly one OpenSSL context, the dominant cost.
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import KerberosCryptoError

BLOCK = 16
_ZERO_BLOCK = bytes(BLOCK)
_CBC_ZERO = modes.CBC(_ZERO_BLOCK)  # modes hold no key; one instance serves every cipher

AesCbc = Cipher[modes.CBC]


def aes_cbc_zero(key: bytes) -> AesCbc:
    """An AES-CBC cipher with a zero IV, to be cached alongside the derived key."""
    return Cipher(algorithms.AES(key), _CBC_ZERO)


def encrypt_block(cipher: AesCbc, block: bytes) -> bytes:
    """Raw AES of one block: CBC with a zero IV over a single block is the block cipher."""
    return cipher.encryptor().update(block)


def _xor_block(a: bytes, b: bytes) -> bytes:
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(BLOCK, "big")


def cts_encrypt(cipher: AesCbc, plaintext: bytes) -> bytes:
    """Encrypt plaintext (at least one block) with AES-CBC-CTS and a zero initial state.

    One bulk CBC pass over the zero-padded input, then the last-two-block swap: CBC over zero
    padding yields exactly CTS's last block, and the stolen bytes are the head of C_{n-1}.
    """
    length = len(plaintext)
    if length < BLOCK:
        raise KerberosCryptoError(f"CTS input must be at least {BLOCK} bytes, got {length}")
    pad = -length % BLOCK
    out = cipher.encryptor().update(plaintext + _ZERO_BLOCK[:pad] if pad else plaintext)
    if length == BLOCK:
        return out
    tail = BLOCK - pad  # bytes of the final (partial) block, 1..16
    # C_1 .. C_{n-2} | C_n | first `tail` bytes of C_{n-1}
    return out[: -2 * BLOCK] + out[-BLOCK:] + out[-2 * BLOCK : -2 * BLOCK + tail]


def cts_decrypt(cipher: AesCbc, ciphertext: bytes) -> bytes:
    """Invert cts_encrypt with one CBC decryption context.

    C_n (the full block before the stolen bytes) is decrypted first: D(C_n) = C_{n-1} XOR
    (P_n | zeros), so its last bytes restore the stolen part of C_{n-1}. The same context then
    decrypts C_1..C_{n-1}, C_n in bulk; its chaining state is C_n instead of the zero IV, so
    only the first output block needs correcting by XOR with C_n.
    """
    length = len(ciphertext)
    if length < BLOCK:
        raise KerberosCryptoError(f"CTS input must be at least {BLOCK} bytes, got {length}")
    decryptor = cipher.decryptor()
    if length == BLOCK:
        return decryptor.update(ciphertext)
    tail = length - BLOCK * ((length - 1) // BLOCK)  # 1..16
    split = length - BLOCK - tail
    last_full = ciphertext[split : split + BLOCK]
    previous = ciphertext[split + BLOCK :] + decryptor.update(last_full)[tail:]
    plain = decryptor.update(ciphertext[:split] + previous + last_full)
    return _xor_block(plain[:BLOCK], last_full) + plain[BLOCK:length]
