"""AES in CBC mode with ciphertext stealing, as Kerberos defines it (RFC 3962 section 5).

The Kerberos variant always swaps the last two blocks when there is more than one block, even
when the input is a whole number of blocks (NIST SP 800-38A addendum's CS3). Encryption is one
bulk AES-CBC call over the zero-padded input followed by that swap and a truncation; this is
exactly CBC-CTS because CBC over zero padding yields the same last block. Decryption needs the
last full ciphertext block decrypted first to rebuild the stolen bytes, then one bulk CBC call.
The initial cipher state is always zero: every Kerberos use of these enctypes starts from it
(RFC 3961 5.3 "initial cipher state", RFC 4121 4.2.3).
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from .errors import KerberosCryptoError

BLOCK = 16
_ZERO_IV = bytes(BLOCK)
_ZERO_BLOCK = bytes(BLOCK)
# Mode objects hold no key and are immutable, so one instance of each serves every call.
_CBC_ZERO = modes.CBC(_ZERO_IV)
_ECB = modes.ECB()  # noqa: S305 - used only for single raw blocks (CTS tail, DR, PRF)


def ecb_encrypt(aes: algorithms.AES, data: bytes) -> bytes:
    """Raw AES on whole blocks; equal to CBC with a zero IV for one block."""
    encryptor = Cipher(aes, _ECB).encryptor()
    return encryptor.update(data)


def cts_encrypt(aes: algorithms.AES, plaintext: bytes) -> bytes:
    """Encrypt plaintext (at least one block) with AES-CBC-CTS and a zero initial state."""
    length = len(plaintext)
    if length < BLOCK:
        raise KerberosCryptoError(f"CTS input must be at least {BLOCK} bytes, got {length}")
    pad = -length % BLOCK
    encryptor = Cipher(aes, _CBC_ZERO).encryptor()
    if pad:
        plaintext = plaintext + _ZERO_BLOCK[:pad]
    out = encryptor.update(plaintext)
    if length == BLOCK:
        return out
    tail = BLOCK - pad  # bytes of the final (partial) block, 1..16
    # C_1 .. C_{n-2} | C_n | first `tail` bytes of C_{n-1}
    return out[: -2 * BLOCK] + out[-BLOCK:] + out[-2 * BLOCK : -2 * BLOCK + tail]


def cts_decrypt(aes: algorithms.AES, ciphertext: bytes) -> bytes:
    """Invert cts_encrypt. The caller has already verified integrity where the profile allows."""
    length = len(ciphertext)
    if length < BLOCK:
        raise KerberosCryptoError(f"CTS input must be at least {BLOCK} bytes, got {length}")
    if length == BLOCK:
        return Cipher(aes, _ECB).decryptor().update(ciphertext)
    tail = length - BLOCK * ((length - 1) // BLOCK)  # 1..16
    split = length - BLOCK - tail
    last_full = ciphertext[split : split + BLOCK]  # this is C_n, the real last block
    stolen = ciphertext[split + BLOCK :]  # first `tail` bytes of C_{n-1}
    # D(C_n) = C_{n-1} XOR (P_n | zeros), so its last bytes ARE the stolen bytes of C_{n-1}.
    decrypted_last = Cipher(aes, _ECB).decryptor().update(last_full)
    previous = stolen + decrypted_last[tail:]
    decryptor = Cipher(aes, _CBC_ZERO).decryptor()
    # One bulk CBC pass over C_1..C_{n-1}, C_n: its last block is P_n padded with zeros.
    plain = decryptor.update(ciphertext[:split] + previous + last_full)
    return plain[:length]
