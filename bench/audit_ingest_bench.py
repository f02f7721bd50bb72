"""Ingest throughput: records/s of the raw `evtx` parse against ours, same files, same run.

    PYTHONPATH=src .venv-dev/bin/python bench/audit_ingest_bench.py \
        [--reps 20] [--rounds 7] [--jobs 1] [--dense-events 100000] [--big-gb 0]

Each round runs every measurement once, in turn (interleaved, so a noisy neighbour hits
all of them alike); the table shows medians over the rounds and, per round, the ratio to
the raw parse measured in that same round. Rates are records/s of wall time; the CPU
column is records per second of this process's CPU time (less sensitive to a shared box)
plus, for --jobs, the CPU time of its worker processes (so it shows what parallelism
costs in total work, not what it gains in wall time).

(a) raw evtx: iterate PyEvtxParser.records_json() and touch each record (nothing else);
    also records() (XML). Default parser settings (number_of_threads=0) for raw and ours.
(b) ours: iter_events + classify on the same files.
(c) ours + EventStore.append (Parquet, fresh store each round).
--jobs N adds (c) with N worker processes: `kerbfirst audit ingest --jobs N`'s path
    (pipeline.ingest_to_store: each worker parses, classifies and writes its own
    staged Parquet files for a range of the files; the parent merges and commits). It
    reads `reps` hardlinked copies of the samples in one call (distinct paths, so every
    copy is read; their records are duplicates, as in the serial measures). The anchor
    (a) stays one process with default parser settings: quote the ratio as "N processes
    against one". Workers fork from a fork server started in the first round (~0.3 s,
    paid once per process, like one CLI run): the first round's rate is also shown.
(d) python-evtx on the small sample, against (a) and (c) on that same file.
Then an NTLM-dense input (generated evtx JSON lines, every record relevant): raw
json.loads per line against ours. --big-gb N generates N GB of NXLog JSON lines, runs the
real CLI (`kerbfirst audit ingest`) on it in a child process, reports its peak RSS and
deletes the input and the store afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
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
from kerbfirst.audit.pipeline import ingest_to_store
from kerbfirst.audit.store import EventStore

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "evtx"
FILES = [DATA / "security.evtx", DATA / "Security_with_size_t.evtx"]
SMALL = DATA / "Security_with_size_t.evtx"
Measure = Callable[[], int]


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


def _classified(files: list[Path], reps: int, stats: IngestStats) -> Iterator[AuthEvent]:
    # one iter_events per repetition: expand_paths (rightly) drops repeated paths
    for _ in range(reps):
        for e in iter_events(files, stats=stats, warn=lambda m: None):
            yield classify(e)


_worker_cpu = [0.0]  # CPU seconds of the last measure's worker processes


def ours_jobs(copies: list[Path], jobs: int) -> int:
    """`kerbfirst audit ingest --jobs N` over `copies` (a folder's worth of files)."""
    stats = IngestStats()
    tmp = Path(tempfile.mkdtemp(prefix="kerbfirst-bench-store-"))
    _scratch.append(tmp)
    ingest_to_store(copies, EventStore(tmp), jobs=jobs, stats=stats, warn=lambda m: None)
    _worker_cpu[0] = stats.worker_cpu_seconds
    return stats.records_read


def ours(files: list[Path], reps: int) -> int:
    stats = IngestStats()
    for _ in _classified(files, reps, stats):
        pass
    return stats.records_read


_scratch: list[Path] = []  # stores to delete after the clock stopped (not part of ingest)


def ours_store(files: list[Path], reps: int) -> int:
    stats = IngestStats()
    tmp = Path(tempfile.mkdtemp(prefix="kerbfirst-bench-store-"))
    _scratch.append(tmp)
    EventStore(tmp).append(_classified(files, reps, stats))
    return stats.records_read


def python_evtx(path: Path) -> int:
    from Evtx.Evtx import Evtx  # python-evtx, pure Python

    n = 0
    with Evtx(str(path)) as log:
        for rec in log.records():
            n += len(rec.xml()) > 0
    return n


def run_rounds(rounds: int, measures: dict[str, Measure]) -> dict[str, list[tuple[float, float]]]:
    """Per measure: [(records/s wall, records/s CPU)] over interleaved rounds."""
    out: dict[str, list[tuple[float, float]]] = {k: [] for k in measures}
    for _ in range(rounds):
        for label, fn in measures.items():
            w, c = time.perf_counter(), time.process_time()
            _worker_cpu[0] = 0.0
            n = fn()
            w, c = time.perf_counter() - w, time.process_time() - c + _worker_cpu[0]
            out[label].append((n / w, n / c if c else float("inf")))
            while _scratch:
                shutil.rmtree(_scratch.pop(), ignore_errors=True)
    return out


def table(title: str, results: dict[str, list[tuple[float, float]]], base: str) -> None:
    print(f"\n== {title}")
    print(f"{'':<44} {'rec/s (median)':>15} {'x base':>7} {'CPU rec/s':>11} {'x base':>7}")
    for label, rows in results.items():
        wall = statistics.median(r[0] for r in rows)
        cpu = statistics.median(r[1] for r in rows)
        ratio = statistics.median(r[0] / b[0] for r, b in zip(rows, results[base], strict=True))
        cratio = statistics.median(r[1] / b[1] for r, b in zip(rows, results[base], strict=True))
        print(f"{label:<44} {wall:>15,.0f} {ratio:>6.2f}x {cpu:>11,.0f} {cratio:>6.2f}x")


def big_run(gb: float, dense_bytes_per_record: float) -> None:
    """The real CLI on a generated multi-GB input; peak RSS of that child process."""
    work = Path(tempfile.mkdtemp(prefix="kerbfirst-bench-big-"))
    try:
        n = int(gb * 1e9 / dense_bytes_per_record)
        t = time.perf_counter()
        big = write_fixtures(work / "in", seed=2, events=n, formats=("nxlog",))["nxlog"]
        size = big.stat().st_size
        print(f"\n== big: {size / 1e9:.2f} GB NXLog JSON lines, {n:,} records "
              f"(generated in {time.perf_counter() - t:.0f} s)")
        cmd = [sys.executable, "-c", "from kerbfirst.cli.main import app; app()",
               "audit", "ingest", "-q", "--store", str(work / "store"), str(big)]
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False,
                              env=dict(os.environ))
        secs = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(" ".join(cmd[3:]).replace(str(work), "$TMP"))
        print((proc.stdout.strip() or proc.stderr.strip()[-2000:]).replace(str(work), "$TMP"))
        print(f"exit {proc.returncode}; {secs:.0f} s, {n / secs:,.0f} records/s end to end; "
              f"peak RSS of the ingest process {peak:.0f} MiB")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20, help="times each sample file is read")
    ap.add_argument("--rounds", type=int, default=7, help="interleaved rounds (medians)")
    ap.add_argument("--dense-events", type=int, default=100_000)
    ap.add_argument("--jobs", type=int, default=1,
                    help="also measure ingest --jobs N (worker processes) over reps "
                    "hardlinked copies of the samples (raw stays one process: say so "
                    "when quoting it)")
    ap.add_argument("--big-gb", type=float, default=0.0,
                    help="also ingest a generated file of this many GB with the CLI "
                    "(memory check)")
    args = ap.parse_args()
    files = [f for f in FILES if f.is_file()]
    if len(files) != len(FILES):
        print(f"samples missing under {DATA}", file=sys.stderr)
        return 1
    reps = args.reps
    links = Path(tempfile.mkdtemp(prefix="kerbfirst-bench-links-"))
    copies: list[Path] = []
    for r in range(reps):
        for f in files:
            c = links / f"{r:04d}-{f.name}"  # distinct paths: expand_paths keeps each
            try:
                os.link(f, c)
            except OSError:
                shutil.copyfile(f, c)
            copies.append(c)
    print(f"evtx {getattr(evtx, '__version__', '?')}, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    measures: dict[str, Measure] = {
        "(a) raw evtx records_json()": lambda: raw_json(files, reps),
        "    raw evtx records() (XML)": lambda: raw_xml(files, reps),
        "(b) ours: parse + classify": lambda: ours(files, reps),
        "(c) ours: parse + classify + EventStore": lambda: ours_store(files, reps),
    }
    jobs_label = f"(c) ... --jobs {args.jobs} processes (copies)"
    if args.jobs > 1:
        jobs = args.jobs
        measures[jobs_label] = lambda: ours_jobs(copies, jobs)
    try:
        results = run_rounds(args.rounds, measures)
    finally:
        shutil.rmtree(links, ignore_errors=True)
    table(f"EVTX: {', '.join(f.name for f in files)} x {reps} (real Security logs, "
          f"{args.rounds} rounds)", results, "(a) raw evtx records_json()")
    if args.jobs > 1:
        first = results[jobs_label][0][0]
        print(f"{jobs_label}, first round (fork server start): {first:,.0f} rec/s, "
              f"{first / results['(a) raw evtx records_json()'][0][0]:.2f}x")

    try:
        import Evtx  # noqa: F401
    except ImportError:
        print("\n(d) skipped: pip install python-evtx")
    else:
        small = run_rounds(1, {
            "(d) python-evtx": lambda: python_evtx(SMALL),
            "    raw evtx records_json()": lambda: raw_json([SMALL], 1),
            "    ours: parse + classify + EventStore": lambda: ours_store([SMALL], 1),
        })
        table(f"{SMALL.name} once, against python-evtx", small, "(d) python-evtx")

    with tempfile.TemporaryDirectory() as tmp:
        dense = write_fixtures(Path(tmp), seed=1, events=args.dense_events,
                               formats=("evtx-jsonl",))["evtx-jsonl"]
        per_record = dense.stat().st_size / args.dense_events

        def raw_loads() -> int:
            n = 0
            with dense.open("rb") as fh:
                for line in fh:
                    n += len(json.loads(line)) > 0
            return n

        dense_results = run_rounds(max(1, args.rounds // 2), {
            "raw: read + json.loads": raw_loads,
            "ours: parse + classify": lambda: ours([dense], 1),
            "ours: parse + classify + EventStore": lambda: ours_store([dense], 1),
        })
        table(f"NTLM-dense: {args.dense_events:,} generated records, evtx JSON lines "
              f"({dense.stat().st_size / 1e6:.0f} MB), every record relevant",
              dense_results, "raw: read + json.loads")
    if args.big_gb > 0:
        big_run(args.big_gb, per_record * 0.97)  # NXLog lines are a little shorter
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this process: {peak:.0f} MiB; load average now "
          f"{os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
