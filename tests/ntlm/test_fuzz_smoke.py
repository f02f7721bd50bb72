"""A few thousand mutations of real exchanges through the fuzz harness: malformed input
never escapes the acceptor as anything but NtlmLogonRefused (fuzz/ntlm_fuzz.py runs it longer)."""

from __future__ import annotations

import random

from ntlm.fuzz_harness import run_one, seed_inputs


def test_seeds_are_real_exchanges() -> None:
    from kerbfirst.gss.ntlm import NtlmLogonRefused  # noqa: F401

    seeds = seed_inputs()
    assert len(seeds) == 4


def test_mutated_exchanges_never_crash() -> None:
    rng = random.Random(16)
    seeds = seed_inputs()
    for i in range(3000):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            pos = rng.randrange(len(data))
            if op < 0.6:
                data[pos] = rng.randrange(256)
            elif op < 0.8:
                del data[pos:pos + rng.randint(1, 16)]
            else:
                data[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
        run_one(bytes(data))
        if i % 500 == 0:
            run_one(bytes(data[: rng.randrange(len(data) + 1)]))
