"""PersistentAesCts (long-lived OpenSSL contexts, cts.py) is byte-identical to textbook CTS.

The reference below is RFC 3962 5 written out block by block with a fresh raw-AES context
per block, independent of cts.py's bulk-CBC, state-masking and zero-block techniques.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from hypothesis import given
from hypothesis import strategies as st

from kerbfirst.crypto import IntegrityError, KerberosCryptoError, Key, decrypt, encrypt
from kerbfirst.crypto.cts import AesCts, PersistentAesCts

BLOCK = 16


def _aes(key: bytes, block: bytes) -> bytes:
    return Cipher(algorithms.AES(key), modes.ECB()).encryptor().update(block)


def _aes_inverse(key: bytes, block: bytes) -> bytes:
    return Cipher(algorithms.AES(key), modes.ECB()).decryptor().update(block)


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


def reference_encrypt(key: bytes, plaintext: bytes) -> bytes:
    """RFC 3962 5: CBC from a zero state over the zero-padded input, then the last two
    blocks swapped and the output truncated to the input length."""
    tail = len(plaintext) - BLOCK * ((len(plaintext) - 1) // BLOCK)
    padded = plaintext + bytes(BLOCK - tail)
    chain, state = [], bytes(BLOCK)
    for i in range(0, len(padded), BLOCK):
        state = _aes(key, _xor(padded[i : i + BLOCK], state))
        chain.append(state)
    if len(chain) == 1:
        return chain[0]
    return b"".join(chain[:-2]) + chain[-1] + chain[-2][:tail]


def reference_decrypt(key: bytes, ciphertext: bytes) -> bytes:
    if len(ciphertext) == BLOCK:
        return _aes_inverse(key, ciphertext)
    tail = len(ciphertext) - BLOCK * ((len(ciphertext) - 1) // BLOCK)
    head, c_n, stolen = (
        ciphertext[: -BLOCK - tail],
        ciphertext[-BLOCK - tail : -tail],
        ciphertext[-tail:],
    )
    x = _aes_inverse(key, c_n)  # = C_{n-1} XOR (P_n | zeros)
    c_prev = stolen + x[tail:]
    p_n = _xor(x[:tail], stolen)
    blocks = [head[i : i + BLOCK] for i in range(0, len(head), BLOCK)] + [c_prev]
    out, state = [], bytes(BLOCK)
    for block in blocks:
        out.append(_xor(_aes_inverse(key, block), state))
        state = block
    return b"".join(out) + p_n


aes_keys = st.sampled_from([16, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n))
lengths = st.one_of(
    st.integers(min_value=16, max_value=200),
    st.sampled_from([16, 32, 48, 64, 128, 192]),  # single blocks and whole-block inputs
)
operations = st.lists(
    st.tuples(
        st.sampled_from(["encrypt", "decrypt", "round trip"]),
        lengths.flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    ),
    min_size=1,
    max_size=25,
)


@given(key=aes_keys, steps=operations)
def test_persistent_contexts_match_textbook_cts(key: bytes, steps: list[tuple[str, bytes]]) -> None:
    persistent, fresh = PersistentAesCts(key), AesCts(key)
    for kind, data in steps:
        if kind in ("encrypt", "round trip"):
            expected = reference_encrypt(key, data)
            assert persistent.encrypt(data) == expected
            assert fresh.encrypt(data) == expected
            if kind == "round trip":
                assert persistent.decrypt(expected) == data
        else:  # arbitrary bytes decrypt too: CTS is a permutation of each length
            expected = reference_decrypt(key, data)
            assert persistent.decrypt(data) == expected
            assert fresh.decrypt(data) == expected
            assert reference_encrypt(key, expected) == data


@given(
    etype_and_key=st.sampled_from([(17, 16), (18, 32), (19, 16), (20, 32)]).flatmap(
        lambda p: st.tuples(st.just(p[0]), st.binary(min_size=p[1], max_size=p[1]))
    ),
    messages=st.lists(st.binary(max_size=200), min_size=1, max_size=8),
    confounder=st.binary(min_size=16, max_size=16),
)
def test_cached_and_one_shot_keys_encrypt_identically(
    etype_and_key: tuple[int, bytes], messages: list[bytes], confounder: bytes
) -> None:
    """The public API: the cached derived key's persistent contexts (used again and again,
    interleaved with decryption) and a one-shot key's fresh ones give the same bytes."""
    key = Key(*etype_and_key)
    for usage, message in enumerate(messages):
        sealed = encrypt(key, usage % 3, message, confounder=confounder)
        assert sealed == encrypt(key, usage % 3, message, confounder=confounder, cache=False)
        assert decrypt(key, usage % 3, sealed) == message


@pytest.mark.parametrize("etype,size", [(17, 16), (18, 32), (19, 16), (20, 32)])
def test_failed_decryption_leaves_the_key_usable(etype: int, size: int) -> None:
    key, message, confounder = Key(etype, os.urandom(size)), os.urandom(47), os.urandom(16)
    sealed = encrypt(key, 4, message, confounder=confounder)
    tampered = sealed[:-1] + bytes((sealed[-1] ^ 1,))
    for bad in (tampered, sealed[:20], sealed[:-12], b"", bytes(len(sealed))):
        with pytest.raises(IntegrityError):
            decrypt(key, 4, bad)
        assert decrypt(key, 4, sealed) == message
        assert encrypt(key, 4, message, confounder=confounder) == sealed


def test_errors_inside_a_context_leave_it_usable() -> None:
    key = os.urandom(32)
    aes = PersistentAesCts(key)
    data = os.urandom(40)
    assert aes.encrypt(data) == reference_encrypt(key, data)  # non-zero chaining state now
    for call in (aes.encrypt, aes.decrypt):
        with pytest.raises(KerberosCryptoError):
            call(b"short")
        with pytest.raises(TypeError):  # fails inside the context's critical section
            call("not bytes, 32 characters long..")  # type: ignore[arg-type]
    for length in (16, 32, 40, 200):
        data = os.urandom(length)
        assert aes.encrypt(data) == reference_encrypt(key, data)
        assert aes.decrypt(data) == reference_decrypt(key, data)


def test_busy_context_falls_back_to_a_fresh_one_without_blocking() -> None:
    key = os.urandom(16)
    aes = PersistentAesCts(key)
    first = os.urandom(50)
    assert aes.encrypt(first) == reference_encrypt(key, first)
    # Hold both locks as another thread would: the calls must neither wait nor touch the
    # busy contexts' chaining state.
    with aes._encryptor_lock, aes._decryptor_lock:
        for length in (16, 33, 64):
            data = os.urandom(length)
            assert aes.encrypt(data) == reference_encrypt(key, data)
            assert aes.decrypt(data) == reference_decrypt(key, data)
    second = os.urandom(70)
    assert aes.encrypt(second) == reference_encrypt(key, second)
    assert aes.decrypt(aes.encrypt(second)) == second


@pytest.fixture
def frequent_thread_switches() -> Iterator[None]:
    """Make the interpreter switch threads every few bytecodes, so that calls on a shared
    key really do overlap (and the busy-context fallback runs)."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.usefixtures("frequent_thread_switches")
def test_threads_sharing_one_cached_key() -> None:
    key = Key(18, os.urandom(32))
    raw_key = os.urandom(16)
    aes = PersistentAesCts(raw_key)
    threads, rounds = 6, 150
    failures: list[str] = []
    barrier = threading.Barrier(threads)

    def hammer(seed: int) -> None:
        barrier.wait()
        for i in range(rounds):
            message = seed.to_bytes(2, "big") * (i % 90 + 1)
            confounder = bytes((seed,)) * 16
            sealed = encrypt(key, 7, message, confounder=confounder)
            if decrypt(key, 7, sealed) != message:
                failures.append(f"round trip thread {seed} round {i}")
            if sealed != encrypt(key, 7, message, confounder=confounder, cache=False):
                failures.append(f"ciphertext thread {seed} round {i}")
            data = message + bytes(16)
            out = aes.encrypt(data)
            if out != reference_encrypt(raw_key, data) or aes.decrypt(out) != data:
                failures.append(f"cts thread {seed} round {i}")

    workers = [threading.Thread(target=hammer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not any(worker.is_alive() for worker in workers), "a thread is stuck"
    assert failures == []
