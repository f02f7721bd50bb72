"""Instructions per KDC request, in-process, counted by valgrind: a repeatable cost figure.

    .venv-dev/bin/python bench/kdc_icount.py [--kind as tgs] [--src DIR/src]

Wall-clock rates on these shared 2-core machines vary by a third from run to run; the number of
instructions the KDC core executes per request does not (within ~1%), so it is what changes to
the hot path are judged by, and kdc_bench.py's ratio against MIT krb5kdc is the end figure.

The realm is the one kdc_bench.py serves (BENCH.TEST made with `kerbfirst realm init` and
`principal add` in a temporary directory on /dev/shm: SQLite store, master key, JSON-lines
audit log), and the handler is built as `kdc serve` builds it in each worker; requests are
built as kdc_bench.py builds them (distinct: own nonce, timestamp, confounders; etype 18) and
handled with datetime.now(UTC) as the server does, reply cache on. Each figure is
(instructions of a run handling 20 + 300 requests - those of a run handling 20 + 50) / 250,
both runs under `valgrind --tool=callgrind`, so start-up and request building cancel out.
`--src` counts another tree, e.g. the compiled one from scripts/build_compiled.py.
Needs valgrind (apt-get install valgrind).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
WARM, SHORT, LONG, BUILT = 20, 50, 300, 400


def child(realm_dir: Path, kind: str, count: int) -> None:
    """Under valgrind: build BUILT requests, handle WARM + count of them."""
    from datetime import UTC, datetime

    import kerbfirst.crypto  # noqa: F401 - from --src's tree, before kdc_bench adds SRC

    sys.path.insert(0, str(HERE))
    import kdc_bench as b

    from kerbfirst.app.kdc import build_kdc
    from kerbfirst.app.realm_config import load_config
    from kerbfirst.client import AsExchange, Credential

    kdc = build_kdc(load_config(realm_dir))  # as one `kdc serve` worker

    def handle(request: bytes) -> bytes | None:
        return kdc.handle(request, peer="127.0.0.1", transport="udp", now=datetime.now(UTC))

    exchange = AsExchange("alice", b.REALM, key=b.long_term_key(18), random=os.urandom,
                          etypes=(18,))
    now = datetime.now(UTC)
    tgt = exchange.receive(handle(exchange.first_request(now)) or b"", now)
    if not isinstance(tgt, Credential):
        raise SystemExit("kdc_icount: the AS exchange for the TGT did not finish")
    requests = b.as_requests(18, BUILT) if kind == "as" else b.tgs_requests(tgt, 18, BUILT)
    for request in requests[: WARM + count]:
        reply = handle(request)
        if not reply or reply[0] not in (0x6B, 0x6D):  # AS-REP / TGS-REP, not a KRB-ERROR
            raise SystemExit(f"kdc_icount: a {kind} request was not granted")


def count_instructions(src: Path, realm_dir: Path, kind: str, count: int) -> int:
    done = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--child", str(realm_dir), kind, str(count)],
        env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True, check=False)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if done.returncode or not found:
        raise SystemExit(f"kdc_icount: the {kind} run failed:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--kind", nargs="+", choices=("as", "tgs"), default=["as", "tgs"])
    ap.add_argument("--src", type=Path, default=SRC, help="tree to count (default: src/)")
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("kdc_icount needs valgrind: apt-get install valgrind")
    base = Path(tempfile.mkdtemp(prefix="kdc-icount-", dir="/dev/shm"))
    try:
        sys.path.insert(0, str(HERE))
        import kdc_bench

        kdc_bench.init_our_realm(base / "realm", kdc_bench.free_port(), 18, args.src.resolve())
        for kind in args.kind:
            short = count_instructions(args.src.resolve(), base / "realm", kind, SHORT)
            long = count_instructions(args.src.resolve(), base / "realm", kind, LONG)
            print(f"{kind.upper()}-REQ: {(long - short) // (LONG - SHORT):,} instructions per "
                  f"request ({args.src})", flush=True)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
