"""How fast is SqlitePrincipalStore.get_principal, the KDC's per-request lookup?

Run: .venv-dev/bin/python bench/store_bench.py   (from the repository root)
Prints per-call latency for cache hits, remembered misses and cold loads.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time
from datetime import UTC, datetime

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src"))

from kerbfirst.store.masterkey import create_master_key
from kerbfirst.store.principals import SqlitePrincipalStore

REALM = "BENCH.TEST"
N_PRINCIPALS = 2000
CALLS = 200_000


def per_call(fn: object, names: list[str], calls: int) -> float:
    get = fn
    assert callable(get)
    start = time.perf_counter()
    n = len(names)
    for i in range(calls):
        get(names[i % n])
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        master = create_master_key(pathlib.Path(d) / "mk")
        store = SqlitePrincipalStore(pathlib.Path(d) / "db", master, realm=REALM)
        now = datetime.now(UTC)
        t = time.perf_counter()
        for i in range(N_PRINCIPALS):
            store.add_principal(f"user{i}", now=now)
        print(f"add_principal (random keys, 4 etypes): "
              f"{(time.perf_counter() - t) / N_PRINCIPALS * 1e3:.2f} ms each (fsync per commit)")
        names = [f"user{i}@{REALM}" for i in range(N_PRINCIPALS)]
        missing = [f"ghost{i}@{REALM}" for i in range(N_PRINCIPALS)]

        store._cache.clear()
        cold = per_call(store.get_principal, names, N_PRINCIPALS)
        hit = per_call(store.get_principal, names, CALLS)
        miss = per_call(store.get_principal, missing, CALLS)
        print(f"get_principal cold load (SQLite + 4 AES-GCM decrypts): {cold:.1f} us/call")
        print(f"get_principal cache hit (incl. PRAGMA data_version):   {hit:.2f} us/call")
        print(f"get_principal remembered miss:                          {miss:.2f} us/call")

        other = SqlitePrincipalStore(pathlib.Path(d) / "db", master, realm=REALM)
        t = time.perf_counter()
        rounds = 50
        for i in range(rounds):
            other.record_preauth_failure(names[i], now)  # another connection commits...
            store.get_principal(names[i])  # ...so this call drops the cache and reloads
        print(f"get_principal after another connection wrote: "
              f"{(time.perf_counter() - t) / rounds * 1e3:.2f} ms per write+reload")
        s = time.perf_counter()
        for _ in range(CALLS):
            store.record_preauth_success(names[N_PRINCIPALS - 1], now)
        print(f"record_preauth_success with count 0 (no write):         "
              f"{(time.perf_counter() - s) / CALLS * 1e6:.2f} us/call")


if __name__ == "__main__":
    main()
