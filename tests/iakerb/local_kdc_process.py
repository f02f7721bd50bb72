"""A LocalKDC reached only over a UNIX socket (the Windows model: a LocalKDC that only the
IAKerb acceptor talks to), served by kerbfirst.net.kdc_server in its own process.

usage: python local_kdc_process.py SEED UNIX_PATH
The realm is tests/kdc/memory_realm.py's, built from SEED, so the test process can build
the same service keys. Prints one JSON line with the bound addresses, then serves until
SIGTERM.
"""

from __future__ import annotations

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).parents[1]))

from kdc.memory_realm import make_realm
from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_server import KdcServerConfig, run_kdc_server


def main() -> int:
    seed, path = int(sys.argv[1]), sys.argv[2]
    realm = make_realm(seed=seed)
    config = KdcServerConfig(unix_paths=(path,), unix_mode=0o600, shutdown_grace=1.0)

    def announce(addresses: tuple[KdcAddress, ...]) -> None:
        print(json.dumps([str(a) for a in addresses]), flush=True)

    return run_kdc_server(lambda: realm.kdc, config, on_listening=announce)


if __name__ == "__main__":
    sys.exit(main())
