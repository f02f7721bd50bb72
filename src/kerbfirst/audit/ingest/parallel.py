"""Read several log files at once, in worker processes (`iter_events(..., jobs=N)`).

The CLI's `--jobs N` does not use this: shipping every event back to one process costs
more than the parallel parse saves (bench: 0.39x of the raw parse with 2 jobs); it uses
audit/parallel_ingest.py, whose workers also classify and write. This stays for callers
that want the events themselves.

One EVTX parse runs on one core (the evtx package holds the GIL and reads a file in
order; bench/audit_ingest_bench.py measured no gain from threads), so a folder of logs is
read file-parallel instead: worker w reads files w, w+N, w+2N, ... and streams each
file's events in batches through its own bounded queue. The parent takes the files in
their sorted order, so events, counters, warnings and the nothing-read decision are
exactly those of the sequential reader, and deduplication (first occurrence wins)
cannot change. Memory: at most QUEUE_BATCHES batches of BATCH events per worker are
in flight. Workers are spawned, not forked: the parent may already run threads (the
progress bar, pyarrow's pool), and forking a threaded process can deadlock the child.
"""

from __future__ import annotations

import multiprocessing
import queue
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest.stats import IngestStats, ReadContext

BATCH = 2000  # events per message: pickling cost is per message, memory per batch
QUEUE_BATCHES = 8
POLL_SECONDS = 1.0  # how often the parent checks that a silent worker is still alive

# (events, records_read, skipped, corrupt, yielded, warnings, done, failure)
Message = tuple[list[AuthEvent], int, int, int, int, list[str], bool, str | None]


class WorkerError(RuntimeError):
    """A worker process failed in a way the sequential reader would have raised."""


def _worker(paths: list[str], out: Any, batch_size: int) -> None:
    for path in paths:
        try:
            _read_into(path, out, batch_size)
        except BaseException as exc:  # anything the sequential reader would raise
            out.put(("crash", f"{path}: {type(exc).__name__}: {exc}"))
            return


def _read_into(path: str, out: Any, batch_size: int) -> None:
    from kerbfirst.audit.ingest import read_one_file

    stats = IngestStats()
    messages: list[str] = []
    ctx = ReadContext(path, stats, messages.append)
    sent = [0, 0, 0, 0]
    batch: list[AuthEvent] = []

    def send(done: bool, failure: str | None) -> None:
        now = [stats.records_read, stats.records_skipped_irrelevant,
               stats.records_corrupt, stats.events_yielded]
        delta = [a - b for a, b in zip(now, sent, strict=True)]
        sent[:] = now
        out.put(("batch", (batch[:], *delta, messages[:], done, failure)))
        batch.clear()
        messages.clear()

    reader = read_one_file(Path(path), ctx)
    while True:
        try:
            batch.append(next(reader))
        except StopIteration as stop:
            send(True, stop.value)
            return
        if len(batch) >= batch_size:
            send(False, None)


def read_files_parallel(
    files: list[Path],
    stats: IngestStats,
    warn: Callable[[str], None],
    jobs: int,
    failures: list[str],
) -> Generator[AuthEvent, None, bool]:
    """Yield the events of `files` in order; append failures; return whether anything
    could be read (iter_events raises IngestError when not)."""
    n = min(jobs, len(files))
    mp = multiprocessing.get_context("spawn")
    queues = [mp.Queue(maxsize=QUEUE_BATCHES) for _ in range(n)]
    workers = [
        mp.Process(target=_worker, args=([str(f) for f in files[w::n]], queues[w], BATCH),
                   name=f"kerbfirst-ingest-{w}", daemon=True)
        for w in range(n)
    ]
    for w in workers:
        w.start()
    any_read = False
    try:
        for i, path in enumerate(files):
            stats.current_file = str(path)
            ctx = ReadContext(str(path), stats, warn)
            while True:
                kind, payload = _receive(queues[i % n], workers[i % n])
                if kind == "crash":
                    raise WorkerError(payload)
                events, read, skipped, corrupt, yielded, messages, done, failure = payload
                for m in messages:
                    ctx.warn(m)
                stats.records_read += read
                stats.records_skipped_irrelevant += skipped
                stats.records_corrupt += corrupt
                stats.events_yielded += yielded
                yield from events
                if done:
                    break
            if failure is None:
                any_read = True
            else:
                failures.append(failure)
            stats.files_done += 1
    finally:
        for w in workers:
            if w.is_alive():
                w.terminate()
            w.join()
        for q in queues:
            q.close()
            q.cancel_join_thread()
    return any_read


def _receive(source: Any, worker: Any) -> tuple[str, Any]:
    while True:
        try:
            item: tuple[str, Any] = source.get(timeout=POLL_SECONDS)
        except queue.Empty:
            if not worker.is_alive():
                try:  # it may have put its last message just before exiting
                    late: tuple[str, Any] = source.get(timeout=POLL_SECONDS)
                except queue.Empty:
                    pass
                else:
                    return late
                raise WorkerError(
                    f"ingest worker {worker.name} exited with code {worker.exitcode} "
                    "before it finished (out of memory?); run again with --jobs 1"
                ) from None
            continue
        return item
