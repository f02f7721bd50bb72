"""Memory of `kerbfirst iakerb serve` under a connection flood, beside MIT's gss-server.

    PYTHONPATH=src python bench/iakerb_conn_bench.py [--connections 600] [--announce 1048576]
        [--src DIR]   # another checkout's src/ for the kerbfirst server (e.g. the old code)

Each connection opens a sample-protocol context (NOOP|CONTEXT_NEXT), announces a context
token of --announce bytes and sends all of it but the last byte, then stays open: the most
a server can be made to buffer per connection. Reported for each server: RSS (VmRSS of its
process) before, with all connections open, and 6 s after they all closed; plus how many
connections the server closed itself while they were being opened, and how many could not
connect at all (a server that does not accept fills its listen backlog; after 20 such the
flood stops). The anchor is
MIT krb5's `gss-server -iakerb` (krb5-gss-samples), which serves one connection at a time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from procs import free_port, rss_mib, wait_port

from kerbfirst.krb.names import Principal
from kerbfirst.store.keytab import KeytabEntry, write_keytab

NOOP_CONTEXT_NEXT = bytes((0x11,)) + struct.pack(">I", 0)
CONTEXT = 0x02





def flood(port: int, n: int, announce: int) -> tuple[list[socket.socket], int, int]:
    body = bytes(announce - 1)
    held: list[socket.socket] = []
    refused, unaccepted = 0, 0
    for _ in range(n):
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
        except OSError:  # the listen backlog is full: the server is not accepting
            unaccepted += 1
            if unaccepted >= 20:
                break
            continue
        try:
            s.sendall(NOOP_CONTEXT_NEXT + bytes((CONTEXT,)) + struct.pack(">I", announce))
            s.settimeout(0.5)
            s.sendall(body)
        except OSError:  # the server closed it: over the cap or the token bound
            pass
        held.append(s)
    return held, refused, unaccepted


def closed_by_server(held: list[socket.socket]) -> int:
    closed = 0
    for s in held:
        try:
            closed += s.recv(1, socket.MSG_DONTWAIT) == b""
        except BlockingIOError:
            pass
        except OSError:  # reset: closed by the server
            closed += 1
    return closed


def measure(name: str, argv: list[str], env: dict[str, str], port: int, n: int,
            announce: int) -> None:
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_port(port, proc)
        time.sleep(1)
        before = rss_mib(proc.pid)
        held, refused, unaccepted = flood(port, n, announce)
        time.sleep(2)
        during = rss_mib(proc.pid)
        refused = closed_by_server(held)
        for s in held:
            s.close()
        time.sleep(6)
        after = rss_mib(proc.pid)
        print(f"{name:28s} RSS before {before:6.1f} MiB  with {n} open {during:6.1f} MiB  "
              f"6 s after close {after:6.1f} MiB  closed by server {refused}"
              + (f", connect timed out {unaccepted} (then stopped)" if unaccepted else ""),
              flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--connections", type=int, default=600)
    ap.add_argument("--announce", type=int, default=1 << 20)
    ap.add_argument("--src", type=Path, default=Path(__file__).resolve().parents[1] / "src")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="iakerb-conn-bench-"))
    keytab = work / "svc.keytab"
    write_keytab(keytab, [KeytabEntry(Principal(("host", "bench.test"), "BENCH.TEST", 3),
                                      int(time.time()), 1, 18, os.urandom(32))])
    conf = work / "krb5.conf"
    conf.write_text("[libdefaults]\n default_realm = BENCH.TEST\n"
                    "[realms]\n BENCH.TEST = {\n  kdc = 127.0.0.1:9\n }\n")
    env = dict(os.environ, PYTHONPATH=str(args.src), KRB5_CONFIG=str(conf),
               KRB5RCACHEDIR=str(work))
    port = free_port()
    measure(f"kerbfirst ({args.src})"[-28:], [
        sys.executable, "-m", "kerbfirst.cli.main", "iakerb", "serve", "--keytab", str(keytab),
        "--listen", f"127.0.0.1:{port}", "--realm-kdc", "BENCH.TEST=tcp/127.0.0.1:9",
        "--realm", "BENCH.TEST"], env, port, args.connections, args.announce)
    gss_server = shutil.which("gss-server")
    if gss_server is None:
        print("MIT gss-server not found (apt-get install krb5-gss-samples): no anchor")
    else:
        port = free_port()
        measure("MIT gss-server -iakerb", [
            gss_server, "-iakerb", "-port", str(port), "-keytab", str(keytab),
            "host@bench.test"], env, port, args.connections, args.announce)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
