"""One dedicated thread per worker process on which every KDC handler call runs.

Why a thread at all: the KDC core is sans-I/O but its principal database may block
(SQLite). Running it on the event loop would freeze read timeouts, signal handling and
the shutdown grace period while a query runs. Why exactly one: the handler object need
not be thread-safe, and an SQLite connection must stay on the thread that opened it
(sqlite3 check_same_thread), so the handler is also *built* on this thread. Parallelism
comes from worker processes, as with MIT krb5kdc's `-w`.

A daemon thread (not concurrent.futures) so that a handler stuck forever cannot keep
the process from exiting after the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[[], Any], "asyncio.Future[Any] | None"]


class HandlerThread:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="kdc-handler", daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the handler thread; its exception is re-raised here."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._jobs.put((fn, future))
        return await future

    def submit(self, fn: Callable[[], None]) -> None:
        """Run `fn` on the handler thread without waiting for it (it must not raise: what
        it raises is swallowed). The UDP path uses this to answer a whole batch of
        datagrams per thread hop, rather than paying a hop and a wake-up per datagram."""
        self._jobs.put((fn, None))

    def stop(self) -> None:
        """Let the thread exit once the jobs already queued are done."""
        self._jobs.put(None)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            fn, future = job
            if future is None:
                with contextlib.suppress(BaseException):  # submit()'s jobs catch their own
                    fn()
                continue
            try:
                result = fn()
            except Exception as exc:  # handed to the awaiting coroutine, never lost
                self._deliver(future, None, exc)
            except BaseException as exc:  # SystemExit etc. must not kill the thread silently
                self._deliver(future, None, RuntimeError(f"handler raised {type(exc).__name__}"))
            else:
                self._deliver(future, result, None)

    def _deliver(
        self, future: asyncio.Future[Any], result: object, exc: BaseException | None
    ) -> None:
        def settle() -> None:
            if future.done():  # the awaiting side gave up (cancelled at shutdown)
                return
            if exc is not None:
                future.set_exception(exc)
            else:
                future.set_result(result)

        with contextlib.suppress(RuntimeError):  # the loop is already closed
            self._loop.call_soon_threadsafe(settle)
