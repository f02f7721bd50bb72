"""KDC memory under unauthenticated floods: MIT krb5kdc and kerbfirst's KDC, same run, same
requests; server RSS (all processes) before, after each flood and after a pause.

    .venv-dev/bin/python bench/kdc_flood_bench.py [--workers 1 2] [--big 500]
        [--names 2000] [--huge-names 100] [--settle 30]

Each KDC serves a throwaway realm (kdc_bench.py's BENCH.TEST on a free loopback port;
MIT's made with kdb5_util). After a warm-up of 50 requests of each kind, three floods,
each request unique (its own nonce and client name), sent over TCP one after another:
- `--big` AS-REQs of ~1,000,000 bytes: an unknown client, one padata of an unassigned
  type carrying the bulk (below MIT's 1 MiB TCP limit);
- `--names` AS-REQs for unknown clients with 16 KiB names (16 components of 1 KiB, the
  most kerbfirst's decoder accepts);
- `--huge-names` AS-REQs for unknown clients named by one 1,000,000-byte component.
kerbfirst is served twice: with its defaults (requests above 64 KiB are refused at the
length prefix, so the 1 MB floods are cheap for it) and with `[kdc] max_message_size =
"1M"`, MIT's limit, so that every 1 MB request is decoded, answered, cached and audited;
`--compare-src` adds a third, older kerbfirst (before/after figures).
RSS is VmRSS summed over the server's processes; "growth" is the largest RSS seen after
a flood or the pause minus the RSS after warm-up. Everything runs on loopback; every
process started here is stopped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import shutil
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from kdc_bench import (  # noqa: E402
    REALM,
    Realm,
    free_port,
    log,
    mit_realm,
    our_realm,
    running,
    tree_pids,
    wait_ready,
)

from kerbfirst.wire import constants as c  # noqa: E402
from kerbfirst.wire.krb5 import KdcReq, KdcReqBody, PaData, PrincipalName  # noqa: E402

ETYPE = 18


def as_req(cname: tuple[str, ...], nonce: int, padata: bytes = b"") -> bytes:
    now = datetime.now(UTC)
    body = KdcReqBody(
        kdc_options=0,
        cname=PrincipalName(c.NT_PRINCIPAL, cname),
        realm=REALM,
        sname=PrincipalName(c.NT_SRV_INST, ("krbtgt", REALM)),
        from_=None,
        till=now + timedelta(hours=10),
        rtime=None,
        nonce=nonce,
        etype=(18, 17),
    )
    pa = (PaData(9999, padata),) if padata else None
    return KdcReq(c.KRB_AS_REQ, pa, body).encode()


def big(i: int) -> bytes:
    return as_req((f"nobody{i}",), i, padata=bytes(1_000_000 - 200))


def named(i: int) -> bytes:
    return as_req((f"{i:010d}" + "u" * 1014,) + ("v" * 1024,) * 15, i)


def huge_named(i: int) -> bytes:
    return as_req((f"{i:010d}" + "w" * (1_000_000 - 10),), i)


def tcp_send(addr: tuple[str, int], message: bytes, timeout: float = 30.0) -> bool:
    """One framed request (RFC 4120 7.2.2); True when a reply came back."""
    try:
        with socket.create_connection(addr, timeout=timeout) as s:
            s.sendall(len(message).to_bytes(4, "big") + message)
            head = s.recv(4, socket.MSG_WAITALL)
            if len(head) != 4:
                return False
            n = int.from_bytes(head, "big")
            return len(s.recv(n, socket.MSG_WAITALL)) == n
    except OSError:  # refused by its length prefix: closed while still sending
        return False


def rss_mib(realm: Realm) -> float:
    total = 0
    for pid in tree_pids(realm.proc.pid):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total / 1024


def flood(realm: Realm, make: Callable[[int], bytes], count: int, base: int) -> tuple[int, float]:
    answered, started = 0, time.monotonic()
    for i in range(count):
        answered += tcp_send(realm.addr, make(base + i))
    return answered, time.monotonic() - started


def measure(realm: Realm, args: argparse.Namespace) -> list[float]:
    """[after warm-up, after big, after names, after huge names, after the pause] (MiB)."""
    wait_ready(realm.addr, realm.proc, ETYPE)
    for make in (big, named, huge_named):
        flood(realm, make, 50, 10_000_000)
    figures = [rss_mib(realm)]
    for name, make, count, base in (
        ("1 MB AS-REQs", big, args.big, 20_000_000),
        ("16 KiB names", named, args.names, 30_000_000),
        ("1 MB names", huge_named, args.huge_names, 40_000_000),
    ):
        answered, took = flood(realm, make, count, base)
        figures.append(rss_mib(realm))
        log(f"  {name}: {count} sent, {answered} answered in {took:.1f} s; "
            f"RSS {figures[-1]:.0f} MiB")
    time.sleep(args.settle)
    figures.append(rss_mib(realm))
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--big", type=int, default=500, help="~1 MB AS-REQs")
    ap.add_argument("--names", type=int, default=2000, help="AS-REQs with 16 KiB names")
    ap.add_argument("--huge-names", type=int, default=100, help="AS-REQs with 1 MB names")
    ap.add_argument("--settle", type=float, default=30.0, help="pause before the last RSS")
    ap.add_argument("--compare-src", type=Path, metavar="SRC",
                    help="also serve kerbfirst from this src/ directory with its defaults "
                    "(e.g. an older checkout: git archive REV src | tar -x -C DIR)")
    args = ap.parse_args()
    for tool in ("krb5kdc", "kdb5_util", "kadmin.local"):
        if shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install krb5-kdc krb5-admin-server")

    def one_mebibyte(d: Path) -> None:
        conf = d / "kerbfirst.toml"
        conf.write_text(conf.read_text().replace('max_message_size = "64K"',
                                                 'max_message_size = "1M"'))

    kinds: list[tuple[str, Callable[..., Realm]]] = [
        ("MIT krb5kdc", mit_realm),
        ("kerbfirst", our_realm),
        ("kerbfirst 1M", functools.partial(our_realm, label="kerbfirst 1M",
                                           configure=one_mebibyte)),
    ]
    if args.compare_src is not None:
        kinds.append(("kerbfirst old", functools.partial(
            our_realm, src=args.compare_src.resolve(), label="kerbfirst old")))
    rows: list[tuple[str, int, list[float]]] = []
    base = Path(tempfile.mkdtemp(prefix="kdc-flood-", dir="/dev/shm"))
    try:
        for workers in args.workers:
            for label, make in kinds:
                realm = make(base / f"{len(rows)}", free_port(), ETYPE, workers)
                with running(realm):
                    log(f"{label}, {workers} worker(s)")
                    rows.append((label, workers, measure(realm, args)))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(f"\nServer RSS (MiB, all processes) under unauthenticated TCP floods: {args.big} x "
          f"1 MB AS-REQs, {args.names} x 16 KiB names, {args.huge_names} x 1 MB names; "
          f"'settled' {args.settle:g} s later\n")
    head = (f"{'KDC':<13} {'workers':>7} {'warm':>6} {'1MB req':>8} {'16K name':>9} "
            f"{'1MB name':>9} {'settled':>8} {'growth':>7}")
    print(head)
    print("-" * len(head))
    for label, workers, f in rows:
        print(f"{label:<13} {workers:>7} {f[0]:>6.0f} {f[1]:>8.0f} {f[2]:>9.0f} {f[3]:>9.0f} "
              f"{f[4]:>8.0f} {max(f[1:]) - f[0]:>7.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
