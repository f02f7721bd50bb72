"""Child process for the crash test: add and rekey principals forever until killed."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

from kerbfirst.store.principals import SqlitePrincipalStore


def main() -> None:
    path, master_hex, realm, start = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = SqlitePrincipalStore(path, bytes.fromhex(master_hex), realm=realm)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    print("ready", flush=True)
    i = start
    while True:
        store.add_principal(f"user{i}", etypes=(18, 17), now=now)  # random keys: fast
        store.rekey(f"user{i // 2}", keep_old=1, now=now)
        store.record_preauth_failure(f"user{i // 3}@{realm}", now)
        i += 1


if __name__ == "__main__":
    main()
