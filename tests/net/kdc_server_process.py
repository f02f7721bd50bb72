"""Runs run_kdc_server in a subprocess for the signal and worker tests.

usage: python kdc_server_process.py WORKERS UNIX_PATH HANDLER
Prints one JSON line with the bound addresses, then serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import json
import logging
import sys

import kdc_test_handlers

from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_server import KdcServerConfig, run_kdc_server


def main() -> int:
    workers, unix_path, handler_name = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    config = KdcServerConfig(
        udp_listen=(("127.0.0.1", 0),),
        tcp_listen=(("127.0.0.1", 0),),
        unix_paths=(unix_path,),
        workers=workers,
        shutdown_grace=3.0,
    )

    def announce(addresses: tuple[KdcAddress, ...]) -> None:
        print(json.dumps([[a.transport, a.host, a.port, a.path] for a in addresses]), flush=True)

    return run_kdc_server(getattr(kdc_test_handlers, handler_name), config, on_listening=announce)


if __name__ == "__main__":
    sys.exit(main())
