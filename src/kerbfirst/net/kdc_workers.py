"""Pre-fork worker processes for the KDC, supervised by the parent.

Why bind once and fork, rather than SO_REUSEPORT:
- it also works for the UNIX stream socket (Linux has no SO_REUSEPORT for AF_UNIX);
- port 0 resolves once, so every worker serves the one port that was reported;
- no other process of the same user can join the port group and steal requests,
  which SO_REUSEPORT allows;
- the kernel already hands each datagram and each accepted connection to exactly one
  of the processes waiting on a shared socket, which is all the balancing a KDC needs.
This is also what MIT krb5kdc -w does.

The parent holds no event loop and no threads (fork-safe). It blocks SIGTERM, SIGINT and
SIGCHLD and waits for them with sigtimedwait, so no signal can arrive between a check and
a wait. On SIGTERM/SIGINT it forwards SIGTERM to every worker, which stops accepting and
finishes in-flight requests for the grace period; after grace + 2 s stragglers get SIGKILL.
A worker that dies while the server is running is restarted, unless workers keep dying
(then the server gives up rather than fork in a tight loop).

A worker must not outlive its parent: the parent killed with SIGKILL (an administrator's
kill -9, the OOM killer) cannot forward SIGTERM, and orphaned workers would go on serving
the shared sockets, so the next `kdc serve` could not bind them. On Linux each worker
asks for SIGTERM when its parent dies (prctl(2) PR_SET_PDEATHSIG) and finishes as on any
SIGTERM; it also checks whether the parent is already gone (the death may come between
fork and prctl).
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

_STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
_WAITED = frozenset({signal.SIGTERM, signal.SIGINT, signal.SIGCHLD})
_RESTART_WINDOW = 10.0  # seconds
_RESTARTS_ALLOWED = 5  # within the window, before the parent gives up

WorkerMain = Callable[[Callable[[], None]], int]
"""A worker's body. It must call its argument (release_signals) once it has installed its
own SIGTERM/SIGINT handlers; it returns the worker's exit code."""


def supervise_workers(worker_main: WorkerMain, workers: int, *, grace: float,
                      on_stop: Callable[[], None] | None = None) -> int:
    """Fork `workers` processes running `worker_main` and supervise them until a stop signal.

    Returns 0 when every worker exited cleanly after SIGTERM/SIGINT, 1 otherwise.
    """
    if workers < 1:
        raise ValueError("workers must be at least 1")
    original_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _WAITED)
    children: dict[int, float] = {}  # pid -> start time (monotonic)
    deaths: collections.deque[float] = collections.deque()
    stopping = False
    status = 0
    kill_deadline: float | None = None

    def spawn() -> None:
        pid = _fork_worker(worker_main, original_mask)
        children[pid] = time.monotonic()

    def stop_all() -> None:
        nonlocal stopping, kill_deadline
        if not stopping and on_stop is not None:
            on_stop()  # e.g. systemd's STOPPING=1
        stopping = True
        kill_deadline = time.monotonic() + grace + 2.0
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    try:
        for _ in range(workers):
            spawn()
        while children:
            wait = 1.0 if kill_deadline is None else max(0.05, kill_deadline - time.monotonic())
            info = signal.sigtimedwait(_WAITED, min(wait, 1.0))
            if info is not None and info.si_signo in _STOP_SIGNALS and not stopping:
                log.info(
                    "KDC received %s; stopping %d workers",
                    signal.Signals(info.si_signo).name,
                    len(children),
                )
                stop_all()
            for pid, code in _reap():
                started = children.pop(pid, None)
                if started is None:
                    continue
                if stopping:
                    if code != 0:
                        status = 1
                    continue
                log.error("KDC worker %d exited with %s; restarting it", pid, code)
                now = time.monotonic()
                deaths.append(now)
                while deaths and deaths[0] < now - _RESTART_WINDOW:
                    deaths.popleft()
                if len(deaths) > _RESTARTS_ALLOWED:
                    log.error(
                        "KDC workers keep dying (%d in %.0f s); shutting down",
                        len(deaths),
                        _RESTART_WINDOW,
                    )
                    status = 1
                    stop_all()
                else:
                    spawn()
            if kill_deadline is not None and time.monotonic() >= kill_deadline and children:
                log.error("KDC workers %s did not stop in time; killing them", sorted(children))
                status = 1
                for pid in children:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                kill_deadline = time.monotonic() + 5.0
    except BaseException:
        for pid in children:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in children:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        raise
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, original_mask)
    return status


def _reap() -> list[tuple[int, int]]:
    """Every child that has exited, as (pid, exit code; -N for signal N)."""
    exited = []
    while True:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            break
        exited.append((pid, os.waitstatus_to_exitcode(wait_status)))
    return exited


_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """In a worker: SIGTERM when `parent` exits (see the module docstring). SIGTERM is
    blocked until the worker's own handler is installed, so it is never lost."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _fork_worker(worker_main: WorkerMain, original_mask: set[signal.Signals | int]) -> int:
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    # Child. Never return into the parent's code: always os._exit.
    code = 1
    _die_with_parent(parent)

    def release_signals() -> None:
        signal.pthread_sigmask(signal.SIG_SETMASK, original_mask)

    try:
        code = worker_main(release_signals)
    except BaseException as exc:
        log.error("KDC worker %d failed: %s", os.getpid(), type(exc).__name__)
    finally:
        logging.shutdown()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
