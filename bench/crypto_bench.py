"""Micro-benchmark of the crypto hot path (not a test).

Prints, per enctype, operations per second of encrypt+decrypt of a 200-byte message with
the derived-key cache warm (the KDC's steady state), of encrypt under a key used once
(cache=False: a TGS reply's subkey), of make_checksum over the same message, and the time
of one string-to-key with the default iteration count. Rates are the best of
several repeats, so a busy machine disturbs them less.

    PYTHONPATH=src .venv-dev/bin/python bench/crypto_bench.py [repeats]
"""

from __future__ import annotations

import sys
import time
import timeit
from collections.abc import Callable

from kerbfirst.crypto import (
    SUPPORTED_ETYPES,
    Key,
    decrypt,
    encrypt,
    get_profile,
    make_checksum,
    random_to_key,
    string_to_key,
)

MESSAGE = bytes(range(200))
CONFOUNDER = bytes(16)
NUMBER = 5000


def _best_rate(statement: Callable[[], object], repeats: int) -> float:
    best = min(timeit.repeat(statement, number=NUMBER, repeat=repeats))
    return NUMBER / best


def _bench(key: Key, repeats: int) -> tuple[float, float, float, float]:
    def round_trip() -> None:
        decrypt(key, 3, encrypt(key, 3, MESSAGE, confounder=CONFOUNDER))

    def one_shot() -> None:
        encrypt(key, 3, MESSAGE, confounder=CONFOUNDER, cache=False)

    def checksum() -> None:
        make_checksum(key, 6, MESSAGE)

    start = time.perf_counter()
    string_to_key(key.etype, b"password", b"TEST.REALMalice")
    s2k_ms = (time.perf_counter() - start) * 1000
    return (
        _best_rate(round_trip, repeats),
        _best_rate(one_shot, repeats),
        _best_rate(checksum, repeats),
        s2k_ms,
    )


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print(f"{'enctype':<28} {'enc+dec/s':>11} {'one-shot/s':>11} {'checksum/s':>11} {'s2k ms':>8}")
    for etype in SUPPORTED_ETYPES:
        profile = get_profile(etype)
        key = random_to_key(etype, bytes(range(profile.key_size)))
        round_trips, one_shots, checksums, s2k_ms = _bench(key, repeats)
        print(
            f"{profile.name:<28} {round_trips:>11,.0f} {one_shots:>11,.0f} "
            f"{checksums:>11,.0f} {s2k_ms:>8.1f}"
        )


if __name__ == "__main__":
    main()
