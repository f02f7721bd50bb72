"""The ingest pipeline: read -> classify -> store, on one core or several (`jobs`).

`kerbfirst audit ingest [--jobs N]`. With one job (or one file) it is
``store.append(classify(e) for e in iter_events(files))``. One EVTX parse runs on one
core (the evtx package holds the GIL), and shipping events back to one writing process
costs more than the parse saves. So with N jobs a worker does the whole pipeline for a
contiguous range of the sorted input files -- parse, classify, deduplicate against the
committed store, write Parquet -- and sends back only counters,
warnings and the names of the files it wrote. Those are *staged* (hidden names,
store.EventStore.stage); when every worker has finished, the parent drops the rows a
later worker shares with an earlier one (store_merge: first occurrence in file order
wins, as in the serial ingest) and renames the files into place. A failed or interrupted
run commits nothing: every staged file, also those of a killed worker, is removed.

The store then holds the same rows as after `--jobs 1` (split into files differently);
counters and the nothing-read decision are the same; warnings arrive in file order
after the workers finished. Memory: each worker is bounded like a serial append, with
1/N of the key budget; the parent holds one day's keys while merging.

Workers are started from a fork server (multiprocessing "forkserver") that imported
the heavy libraries once: the parent may already run threads (the progress bar, pyarrow's
pool), and forking a threaded process can deadlock the child; a fresh interpreter per
worker ("spawn") pays ~0.3 s of imports each time.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

from kerbfirst.audit.classify import classify
from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest import IngestStats, expand_paths, nothing_read, read_files
from kerbfirst.audit.ingest.stats import MAX_KEPT_WARNINGS, ReadContext
from kerbfirst.audit.store import AppendResult, EventStore
from kerbfirst.audit.store_keys import DEFAULT_KEY_BUDGET
from kerbfirst.audit.store_merge import drop_earlier_duplicates

__all__ = ["WorkerError", "classified", "ingest_to_store", "split_by_size"]

PROGRESS_SECONDS = 0.2  # how often a worker reports its counters
POLL_SECONDS = 0.25  # how often the parent checks that silent workers are alive
START_METHOD = "forkserver"
# What the fork server imports once, so workers start in ~20 ms. Third-party modules
# only: Python 3.11's fork server ignores the parent's sys.path, so a kerbfirst module
# preloaded there could come from another checkout than the parent's (a test run from a
# source tree); a worker imports kerbfirst itself (~30 ms) after it got the right path.
FORKSERVER_PRELOAD = ("duckdb", "evtx", "orjson", "pyarrow", "pyarrow.compute",
                      "pyarrow.parquet")

# counters a worker reports, as deltas: IngestStats field names
_COUNTERS = ("records_read", "records_skipped_irrelevant", "records_corrupt",
             "events_yielded", "kerberos_failures", "explicit_credentials", "kerberos_logons",
             "files_done")


class WorkerError(RuntimeError):
    """A worker process failed in a way the serial ingest would have raised."""


def classified(files: Sequence[Path], stats: IngestStats, warn: Callable[[str], None],
               failures: list[str], any_read: list[bool]) -> Iterator[AuthEvent]:
    """read -> classify for `files`, in order: the one place the two steps meet (the
    serial ingest and every worker run it). Appends to `failures`; sets any_read[0]
    once the files are exhausted."""
    reader = read_files(files, stats, warn, failures)
    while True:
        try:
            event = next(reader)
        except StopIteration as stop:
            any_read[0] = bool(stop.value)
            return
        yield classify(event)


class _Done(NamedTuple):
    result: AppendResult
    staged: list[str]
    failures: list[str]
    any_read: bool
    warnings_unsent: int
    cpu_seconds: float
    dc_hosts: list[str]


def split_by_size(files: Sequence[Path], n: int) -> list[list[Path]]:
    """Contiguous ranges of `files` (kept in order) of about equal total size, at most
    `n`, none empty. Contiguous, so "an earlier worker" means "an earlier file"."""
    sizes = [_size(f) for f in files]
    total = sum(sizes) or 1
    groups: list[list[Path]] = [[] for _ in range(max(1, n))]
    acc = 0
    for f, size in zip(files, sizes, strict=True):
        # the worker whose share holds the middle of this file
        w = min(len(groups) - 1, int((acc + size / 2) * len(groups) / total))
        groups[w].append(f)
        acc += size
    return [g for g in groups if g]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0  # read_one_file will say what is wrong with it


def ingest_to_store(
    paths: Sequence[str | Path],
    store: EventStore,
    *,
    jobs: int = 1,
    stats: IngestStats,
    warn: Callable[[str], None],
    batch_size: int = 50_000,
    key_budget: int = DEFAULT_KEY_BUDGET,
) -> AppendResult:
    """Read, classify and store every event of `paths`, with up to `jobs` worker
    processes. Raises IngestError when nothing could be read (nothing is then
    committed), WorkerError when a worker failed (nothing committed either)."""
    files = expand_paths([os.fspath(p) for p in paths])
    groups = split_by_size(files, min(jobs, len(files)))
    if len(groups) < 2:
        stats.files_total = len(files)
        failures: list[str] = []
        any_read = [False]
        result = store.append(classified(files, stats, warn, failures, any_read),
                              batch_size=batch_size, key_budget=key_budget)
        stats.current_file = ""
        if not any_read[0]:
            raise nothing_read(failures)
        store.ensure()
        store.add_dc_hosts(stats.dc_hosts)
        return result
    stats.files_total = len(files)
    tag = uuid.uuid4().hex
    mp: Any = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        mp.set_forkserver_preload(list(FORKSERVER_PRELOAD))
    messages: Any = mp.Queue()
    workers = [
        mp.Process(target=_worker, name=f"kerbfirst-ingest-{w}", daemon=True,
                   args=(w, [str(f) for f in group], str(store.root), tag, batch_size,
                         max(1, key_budget // len(groups)), messages))
        for w, group in enumerate(groups)
    ]
    done: list[_Done | None] = [None] * len(workers)
    warnings: list[list[str]] = [[] for _ in workers]
    staged: list[Path] = []
    gone: set[int] = set()  # workers seen exited without their "done" message yet
    try:
        for p in workers:
            p.start()
        while any(d is None for d in done):
            try:
                w, kind, payload = messages.get(timeout=POLL_SECONDS)
            except queue.Empty:
                check_alive(workers, done, gone)
                continue
            if kind == "progress":
                deltas, current = payload
                for name, delta in zip(_COUNTERS, deltas, strict=True):
                    setattr(stats, name, getattr(stats, name) + delta)
                stats.current_file = current
            elif kind == "warn":
                warnings[w].append(payload)
            elif kind == "done":
                done[w] = payload
                stats.worker_cpu_seconds += payload.cpu_seconds
                stats.dc_hosts.update(payload.dc_hosts)
                staged.extend(Path(name) for name in payload.staged)
            else:  # "crash"
                raise WorkerError(f"ingest worker {w} failed: {payload}; "
                                  "run again with --jobs 1 to see where")
        stats.current_file = ""
        finished = [d for d in done if d is not None]
        ctx = ReadContext("", stats, warn)
        for w, msgs in enumerate(warnings):  # file order: the ranges are contiguous
            for m in msgs:
                ctx.warn(m)
            stats.warnings_total += finished[w].warnings_unsent
        if not any(d.any_read for d in finished):
            raise nothing_read([f for d in finished for f in d.failures])
        kept, dropped = drop_earlier_duplicates([[Path(p) for p in d.staged]
                                                 for d in finished])
        written = store.commit(f for group in kept for f in group)
        staged = []
        store.ensure()
        store.add_dc_hosts(stats.dc_hosts)
    except BaseException:
        for p in workers:
            if p.is_alive():
                p.terminate()
        for p in workers:
            if p.pid is not None:
                p.join()
        store.discard(staged, tag=tag)
        raise
    finally:
        for p in workers:
            if p.pid is not None:
                p.join()
        messages.close()
        messages.cancel_join_thread()
    return AppendResult(
        added=sum(d.result.added for d in finished) - dropped,
        duplicates=sum(d.result.duplicates for d in finished) + dropped,
        files_written=written,
    )


def check_alive(workers: list[Any], done: list[_Done | None], gone: set[int]) -> None:
    """Called when no message came for POLL_SECONDS. A worker that exited cleanly had
    flushed its last message into the pipe (multiprocessing joins a queue's feeder at
    exit), so a clean exit seen on one poll must have delivered "done" by the next;
    one killed by a signal never does."""
    for w, p in enumerate(workers):
        if done[w] is not None or p.exitcode is None:
            continue
        if p.exitcode != 0 or w in gone:
            raise WorkerError(
                f"ingest worker {w} exited with code {p.exitcode} before it finished "
                "(out of memory?); run again with --jobs 1"
            )
        gone.add(w)


def _worker(w: int, files: list[str], root: str, tag: str, batch_size: int,
            key_budget: int, out: Any) -> None:
    stats = IngestStats()
    sent = [0] * len(_COUNTERS)
    last = [time.monotonic()]
    shipped = [0]
    unsent = [0]
    failures: list[str] = []
    any_read = [False]

    def warn(message: str) -> None:
        if shipped[0] < MAX_KEPT_WARNINGS:  # the parent keeps no more than that either
            shipped[0] += 1
            out.put((w, "warn", message))
        else:
            unsent[0] += 1

    def progress(force: bool) -> None:
        now = time.monotonic()
        if force or now - last[0] >= PROGRESS_SECONDS:
            last[0] = now
            current = [getattr(stats, name) for name in _COUNTERS]
            deltas = [a - b for a, b in zip(current, sent, strict=True)]
            sent[:] = current
            out.put((w, "progress", (deltas, stats.current_file)))

    def events() -> Iterator[AuthEvent]:
        for event in classified([Path(f) for f in files], stats, warn, failures, any_read):
            yield event
            progress(False)

    try:
        result, staged = EventStore(Path(root)).stage(
            events(), tag=tag, batch_size=batch_size, key_budget=key_budget)
    except BaseException as exc:  # anything the serial ingest would have raised
        out.put((w, "crash", f"{type(exc).__name__}: {exc}"))
        return
    progress(True)
    out.put((w, "done", _Done(result, [str(p) for p in staged], failures, any_read[0],
                              unsent[0], time.process_time(), sorted(stats.dc_hosts))))
