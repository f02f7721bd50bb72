"""Ingest throughput: records/s of the raw `evtx` parse against ours, same files, same run.

    /work/main/.venv/bin/python bench/audit_ingest_bench.py [--reps 30] [--dense-events 200000]
        [--big-gb 0]

(a) raw evtx: iterate PyEvtxParser.records_json() and touch each record (nothing else);
    also records() (XML), to justify the choice of JSON.
(b) ours: iter_events + classify on the same files.
(c) ours + kerbfirst.audit.store.EventStore.append (Parquet), when the store exists.
(d) python-evtx on the small sample, for scale.
Then an NTLM-dense input (generated evtx JSON lines, every record relevant): raw json.loads
per line against ours, and optionally a multi-GB generated file to watch peak memory.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import evtx

from kerbfirst.audit.classify import classify
from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.fixtures import write_fixtures
from kerbfirst.audit.ingest import IngestStats, iter_events

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "evtx"
FILES = [DATA / "security.evtx", DATA / "Security_with_size_t.evtx"]


def timed(fn: Callable[[], int]) -> tuple[int, float]:
    t = time.perf_counter()
    n = fn()
    return n, time.perf_counter() - t


def raw_json(files: list[Path], reps: int) -> int:
    n = 0
    for _ in range(reps):
        for f in files:
            for rec in evtx.PyEvtxParser(str(f)).records_json():
                n += len(rec["data"]) > 0
    return n


def raw_xml(files: list[Path], reps: int) -> int:
    n = 0
    for _ in range(reps):
        for f in files:
            for rec in evtx.PyEvtxParser(str(f)).records():
                n += len(rec["data"]) > 0
    return n


def ours(files: list[Path], reps: int, sink: Callable[[object], None] | None = None) -> int:
    stats = IngestStats()

    def events() -> Iterator[AuthEvent]:
        # one iter_events per repetition: expand_paths (rightly) drops repeated paths
        for _ in range(reps):
            for e in iter_events(files, stats=stats, warn=lambda m: None):
                yield classify(e)

    if sink is None:
        for _ in events():
            pass
    else:
        sink(events())
    return stats.records_read


def python_evtx(path: Path) -> int:
    from Evtx.Evtx import Evtx  # python-evtx, pure Python

    n = 0
    with Evtx(str(path)) as log:
        for rec in log.records():
            n += len(rec.xml()) > 0
    return n


def report(label: str, n: int, secs: float, base: float | None = None) -> float:
    rate = n / secs if secs else float("inf")
    ratio = f"  {rate / base:5.2f}x raw" if base else ""
    print(f"{label:<44} {n:>10} rec {secs:8.3f} s {rate:>12,.0f} rec/s{ratio}")
    return rate


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=30, help="times each sample file is read")
    ap.add_argument("--dense-events", type=int, default=200_000)
    ap.add_argument("--big-gb", type=float, default=0.0,
                    help="also ingest a generated file of this many GB (memory check)")
    args = ap.parse_args()
    files = [f for f in FILES if f.is_file()]
    if not files:
        print(f"samples missing under {DATA}", file=sys.stderr)
        return 1

    print(f"== EVTX: {', '.join(f.name for f in files)} x {args.reps} (real Security logs)")
    base = report("(a) raw evtx records_json()", *timed(lambda: raw_json(files, args.reps)))
    report("    raw evtx records() (XML)", *timed(lambda: raw_xml(files, args.reps)), base)
    report("(b) ours: parse + classify", *timed(lambda: ours(files, args.reps)), base)
    try:
        from kerbfirst.audit.store import EventStore
    except ImportError:
        print("(c) skipped: kerbfirst.audit.store.EventStore not on this branch")
    else:
        with tempfile.TemporaryDirectory() as tmp:
            store = EventStore(Path(tmp))
            report("(c) ours: parse + classify + EventStore",
                   *timed(lambda: ours(files, args.reps, store.append)), base)  # type: ignore[arg-type]
    small = DATA / "Security_with_size_t.evtx"
    try:
        report("(d) python-evtx, Security_with_size_t only", *timed(lambda: python_evtx(small)),
               base)
    except ImportError:
        print("(d) skipped: pip install python-evtx")

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        write_fixtures(out, seed=1, events=args.dense_events, formats=("evtx-jsonl",))
        dense = out / "events.evtx.jsonl"
        print(f"\n== NTLM-dense: {args.dense_events} generated records, evtx JSON lines "
              f"({dense.stat().st_size / 1e6:.0f} MB), every record relevant")

        def raw_loads() -> int:
            n = 0
            with dense.open("rb") as fh:
                for line in fh:
                    n += len(json.loads(line)) > 0
            return n

        base = report("raw: read + json.loads", *timed(raw_loads))
        report("ours: parse + classify", *timed(lambda: ours([dense], 1)), base)

        if args.big_gb > 0:
            per_record = dense.stat().st_size / args.dense_events
            n = int(args.big_gb * 1e9 / per_record)
            write_fixtures(out, seed=2, events=n, formats=("nxlog",), gz=False)
            big = out / "events.nxlog.jsonl"
            print(f"\n== big: {big.stat().st_size / 1e9:.2f} GB NXLog JSON lines")
            report("ours: parse + classify", *timed(lambda: ours([big], 1)))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
