"""One dedicated thread per worker process on which every KDC handler call runs.

Why a thread at all: the KDC core is sans-I/O but its principal database may block
(SQLite). Running it on the event loop would freeze read timeouts, signal handling and
the shutdown grace period while a query runs. Why exactly one: the handler object need
not be thread-safe, and an SQLite connection must stay on the thread that opened it
(sqlite3 check_same_thread), so the handler is also *built* on this thread. Parallelism
comes from worker processes, as with MIT krb5kdc's `-w`.

The thread waits in a selector on a wake-up socket and on the UDP sockets it was given
(`add_reader`): datagrams are read, answered and replied to here, without the event
loop: handing each datagram from the loop to this thread and back would add a Task, two
thread switches and two GIL hand-offs to every request (bench/kdc_bench.py measures the
KDC's rate). Stream requests still come from the loop, as jobs (`call`).

A daemon thread (not concurrent.futures) so that a handler stuck forever cannot keep
the process from exiting after the grace period.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import selectors
import socket
import threading
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_Job = tuple[Callable[[], Any], "asyncio.Future[Any] | None"]


class HandlerThread:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._selector = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._selector.register(self._wake_r, selectors.EVENT_READ, None)
        self._thread = threading.Thread(target=self._run, name="kdc-handler", daemon=True)
        self._thread.start()

    async def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` on the handler thread; its exception is re-raised here."""
        future: asyncio.Future[T] = self._loop.create_future()
        self._put((fn, future))
        return await future

    def add_reader(self, sock: socket.socket, on_readable: Callable[[], None]) -> None:
        """From now on, call `on_readable` on the handler thread whenever `sock` has
        data. It must not raise, and should read a bounded batch and return, so that
        queued jobs get their turn."""
        self._put((lambda: self._selector.register(sock, selectors.EVENT_READ, on_readable), None))

    async def remove_reader(self, sock: socket.socket) -> None:
        """Stop watching `sock`; once this returns the thread no longer touches it."""

        def unregister() -> None:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)

        await self.call(unregister)

    def stop(self) -> None:
        """Let the thread exit once the jobs already queued are done."""
        self._put(None)

    def _put(self, job: _Job | None) -> None:
        self._jobs.put(job)
        # A full wake-up buffer means the thread is already due to wake; closed: stopped.
        with contextlib.suppress(BlockingIOError, OSError):
            self._wake_w.send(b"\0")

    def _run(self) -> None:
        try:
            while self._run_jobs():
                for key, _ in self._selector.select():
                    if key.data is None:
                        with contextlib.suppress(BlockingIOError, OSError):
                            while self._wake_r.recv(4096):
                                pass
                    else:
                        with contextlib.suppress(BaseException):  # readers catch their own
                            key.data()
        finally:
            self._selector.close()
            self._wake_r.close()
            self._wake_w.close()

    def _run_jobs(self) -> bool:
        """Every job queued so far; False once stop() was reached."""
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return True
            if job is None:
                return False
            fn, future = job
            if future is None:
                with contextlib.suppress(BaseException):  # fire-and-forget jobs catch their own
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
