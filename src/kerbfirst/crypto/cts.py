"""AES in CBC mode with ciphertext stealing, as Kerberos defines it (RFC 3962 section 5).

The Kerberos variant always swaps the last two blocks when there is more than one block, even
when the input is a whole number of blocks (the CS3 variant of NIST SP 800-38A's addendum).
The initial cipher state is always zero: every Kerberos use of these enctypes starts from it
(RFC 3961 5.3 "initial cipher state", RFC 4121 4.2.3).

Speed. Creating an OpenSSL context (`Cipher.encryptor()` / `decryptor()`) costs several
times more than encrypting a few hundred bytes with it, and the KDC encrypts and decrypts
under the same few derived keys over and over. So `PersistentAesCts`, which operations.py
caches once per derived key, keeps one CBC encryption context and one CBC decryption
context alive for the key's lifetime. A CBC context carries a chaining state S from one
`update()` to the next: the last ciphertext block it processed (whole blocks only, so
nothing is ever buffered and finalize() is never needed). Each call still computes CBC with
a zero initial state, because:

- Encryption: CBC computes C_1 = E(P_1 XOR S). Feeding P_1 XOR S instead of P_1 gives
  C_1 = E(P_1), exactly the zero-IV result, and the rest of the chain depends only on C_1.
  The context's new state is the last ciphertext block it produced, which we record.
- Decryption: CBC computes P_i = D(C_i) XOR C_{i-1}, with C_0 = S. We feed one zero block
  before the ciphertext and drop its (meaningless) output: the zero block becomes C_0, so
  every following block decrypts exactly as with a zero IV, whatever S was. No state needs
  tracking, and a failed or abandoned decryption cannot affect the next one. (Cheaper than
  XOR-ing S into the first output block: one more AES block instead of Python integer work.)

Either way every call is CBC with the zero initial state of RFC 3961 5.3 / RFC 3962 5, so
the output is byte-identical to a fresh context's (tests/crypto check this on random
interleavings of calls). A context is not safe for concurrent use, and one cached key can be
used from several threads (the KDC's handler, GSS acceptors): each context has a lock taken
without blocking, and a call that finds it busy uses a fresh context instead (`AesCts`, the
base class, which also serves keys used only once).
"""

from __future__ import annotations

import threading

from cryptography.hazmat.primitives.ciphers import Cipher, CipherContext, algorithms, modes

from .errors import KerberosCryptoError

BLOCK = 16
_ZERO_BLOCK = bytes(BLOCK)
_CBC_ZERO = modes.CBC(_ZERO_BLOCK)  # modes hold no key; one instance serves every cipher

AesCbc = Cipher[modes.CBC]


def aes_cbc_zero(key: bytes) -> AesCbc:
    """An AES-CBC cipher with a zero IV, for a one-off use of a key (key derivation, PRF)."""
    return Cipher(algorithms.AES(key), _CBC_ZERO)


def encrypt_block(cipher: AesCbc, block: bytes) -> bytes:
    """Raw AES of one block: CBC with a zero IV over a single block is the block cipher."""
    return cipher.encryptor().update(block)


def _check_length(data: bytes) -> int:
    length = len(data)
    if length < BLOCK:
        raise KerberosCryptoError(f"CTS input must be at least {BLOCK} bytes, got {length}")
    return length


def _cbc_input(plaintext: bytes, length: int, state: int) -> bytes:
    """The CBC input for CTS: plaintext zero-padded to whole blocks, its first block XORed
    with the context's chaining state (see the module docstring; 0 for a fresh context)."""
    pad = -length % BLOCK
    if pad:
        plaintext += _ZERO_BLOCK[:pad]
    if state:
        first = (int.from_bytes(plaintext[:BLOCK], "big") ^ state).to_bytes(BLOCK, "big")
        return first + plaintext[BLOCK:]
    return plaintext


def _cts_order(out: bytes, length: int) -> bytes:
    """CBC output over the zero-padded input, reordered into CTS output (RFC 3962 5).

    CBC over zero padding yields exactly CTS's last block, and the stolen bytes are the
    head of C_{n-1}: C_1 .. C_{n-2} | C_n | first `tail` bytes of C_{n-1}."""
    if length == BLOCK:
        return out
    tail = length - BLOCK * ((length - 1) // BLOCK)  # bytes of the final (partial) block, 1..16
    return out[: -2 * BLOCK] + out[-BLOCK:] + out[-2 * BLOCK : -2 * BLOCK + tail]


def _cts_decrypt(decryptor: CipherContext, ciphertext: bytes, length: int) -> bytes:
    """Invert CTS with one CBC decryption context in any chaining state.

    Each update starts with a zero block, whose output is dropped, so that the blocks after
    it decrypt as under a zero IV (module docstring). C_n (the full block before the stolen
    bytes) is decrypted first: D(C_n) = C_{n-1} XOR (P_n | zeros), so its last bytes restore
    the stolen part of C_{n-1}; then C_1..C_{n-1}, C_n decrypt in bulk.
    """
    update = decryptor.update
    if length == BLOCK:
        return update(_ZERO_BLOCK + ciphertext)[BLOCK:]
    tail = length - BLOCK * ((length - 1) // BLOCK)  # 1..16
    split = length - BLOCK - tail
    last_full = ciphertext[split : split + BLOCK]
    previous = ciphertext[split + BLOCK :] + update(_ZERO_BLOCK + last_full)[BLOCK + tail :]
    plain = update(_ZERO_BLOCK + ciphertext[:split] + previous + last_full)
    return plain[BLOCK : BLOCK + length]


class AesCts:
    """AES-CBC-CTS under one key with a zero initial cipher state, a fresh OpenSSL context
    per call: for a key used once (a TGS reply's subkey), and the fallback of
    PersistentAesCts when its context is busy."""

    __slots__ = ("_cipher",)

    def __init__(self, key: bytes) -> None:
        self._cipher = Cipher(algorithms.AES(key), _CBC_ZERO)

    def encrypt(self, plaintext: bytes) -> bytes:
        """Encrypt plaintext (at least one block) with one CBC pass and the CTS swap."""
        length = _check_length(plaintext)
        out = self._cipher.encryptor().update(_cbc_input(plaintext, length, 0))
        return _cts_order(out, length)

    def decrypt(self, ciphertext: bytes) -> bytes:
        """Invert encrypt()."""
        length = _check_length(ciphertext)
        return _cts_decrypt(self._cipher.decryptor(), ciphertext, length)

    def __repr__(self) -> str:  # never the key material
        return f"{type(self).__name__}()"


class PersistentAesCts(AesCts):
    """AesCts with one long-lived encryption and one decryption context (module docstring),
    for derived keys that the cache keeps. Thread-safe; never blocks."""

    __slots__ = ("_decryptor", "_decryptor_lock", "_encryptor", "_encryptor_lock", "_state")

    def __init__(self, key: bytes) -> None:
        super().__init__(key)
        self._encryptor = self._cipher.encryptor()
        self._encryptor_lock = threading.Lock()
        self._state = 0  # the encryptor's chaining state (its last output block), as a number
        self._decryptor = self._cipher.decryptor()
        self._decryptor_lock = threading.Lock()

    def encrypt(self, plaintext: bytes) -> bytes:
        length = _check_length(plaintext)
        lock = self._encryptor_lock
        if not lock.acquire(False):  # never wait: a fresh context is cheaper
            return super().encrypt(plaintext)  # another thread is using the context
        try:
            out = self._encryptor.update(_cbc_input(plaintext, length, self._state))
            self._state = int.from_bytes(out[-BLOCK:], "big")
        except BaseException:
            # The chaining state is unknown after a failure: start again from a zero state.
            self._encryptor = self._cipher.encryptor()
            self._state = 0
            raise
        finally:
            lock.release()
        return _cts_order(out, length)

    def decrypt(self, ciphertext: bytes) -> bytes:
        length = _check_length(ciphertext)
        lock = self._decryptor_lock
        if not lock.acquire(False):  # never wait: a fresh context is cheaper
            return super().decrypt(ciphertext)  # another thread is using the context
        try:
            return _cts_decrypt(self._decryptor, ciphertext, length)
        except BaseException:
            # Not needed for correctness (each call resets the chain with its zero block),
            # but a context that raised is not trusted with the next message.
            self._decryptor = self._cipher.decryptor()
            raise
        finally:
            lock.release()
