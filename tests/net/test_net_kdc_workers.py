"""run_kdc_server as a real process: worker processes, SIGTERM/SIGINT, supervision."""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import selectors
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator

import pytest

from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_transport import send_to_kdc, send_to_kdc_sync

HERE = pathlib.Path(__file__).resolve().parent
SRC = HERE.parents[1] / "src"


class ServerProcess:
    def __init__(self, workers: int, unix_path: str, handler: str) -> None:
        env = dict(os.environ, PYTHONPATH=f"{SRC}{os.pathsep}{HERE}")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "kdc_server_process.py"), str(workers), unix_path, handler],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        line = self._read_line(timeout=10)
        self.addresses = {
            t: KdcAddress(t, host=h, port=p, path=path) for t, h, p, path in json.loads(line)
        }

    def _read_line(self, timeout: float) -> str:
        assert self.proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout):
                self.proc.kill()
                pytest.fail(f"the KDC server process did not start: {self.stderr()}")
        line = self.proc.stdout.readline().decode()
        if not line:
            pytest.fail(f"the KDC server process exited: {self.stderr()}")
        return line

    def stderr(self) -> str:
        if self.proc.poll() is None:
            return "(still running)"
        assert self.proc.stderr is not None
        return self.proc.stderr.read().decode(errors="replace")[-2000:]

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 8.0) -> int:
        self.proc.send_signal(signum)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail(f"the KDC server did not exit within {timeout} s of signal {signum}")


@pytest.fixture
def server_process(tmp_path: pathlib.Path) -> Iterator[Callable[[int, str], ServerProcess]]:
    started: list[ServerProcess] = []

    def start(workers: int, handler: str) -> ServerProcess:
        server = ServerProcess(workers, str(tmp_path / "kdc.sock"), handler)
        started.append(server)
        return server

    yield start
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait()


async def _pids(kdc: KdcAddress, count: int) -> set[bytes]:
    replies = await asyncio.gather(
        *(send_to_kdc(b"sleep:30", [kdc], timeout=5) for _ in range(count))
    )
    return set(replies)


def test_two_workers_serve_one_port(server_process: Callable[[int, str], ServerProcess]) -> None:
    server = server_process(2, "PidHandler")
    seen: set[bytes] = set()
    deadline = time.monotonic() + 10
    while len(seen) < 2 and time.monotonic() < deadline:
        for transport in ("udp", "tcp"):
            seen |= asyncio.run(_pids(server.addresses[transport], 8))
    assert len(seen) == 2, f"replies came from {seen}; expected two worker processes"
    assert all(reply.startswith(b"pid:") for reply in seen)
    assert str(server.proc.pid).encode() not in b"".join(seen)  # workers, not the parent
    assert server.stop() == 0


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_finishes_in_flight_request_and_exits_cleanly(
    server_process: Callable[[int, str], ServerProcess], workers: int
) -> None:
    server = server_process(workers, "SleepingHandler")
    unix = server.addresses["unix"]
    assert os.path.exists(unix.path)

    async def in_flight_then_sigterm() -> bytes:
        request = asyncio.create_task(send_to_kdc(b"sleep:600", [unix], timeout=5))
        await asyncio.sleep(0.2)  # the request is now in the handler
        server.proc.send_signal(signal.SIGTERM)
        return await request

    started = time.monotonic()
    assert asyncio.run(in_flight_then_sigterm()).endswith(b"|sleep:600")
    assert server.proc.wait(5) == 0, server.stderr()
    assert time.monotonic() - started < 5
    assert not os.path.exists(unix.path), "the UNIX socket file must be removed on exit"


def test_sigint_stops_workers(server_process: Callable[[int, str], ServerProcess]) -> None:
    server = server_process(2, "EchoHandler")
    assert send_to_kdc_sync(b"hello", [server.addresses["tcp"]], timeout=3).endswith(b"|hello")
    assert server.stop(signal.SIGINT) == 0, server.stderr()
    assert not os.path.exists(server.addresses["unix"].path)


def test_dead_worker_is_replaced(server_process: Callable[[int, str], ServerProcess]) -> None:
    server = server_process(2, "PidHandler")
    tcp = server.addresses["tcp"]
    victim = int(send_to_kdc_sync(b"x", [tcp], timeout=3)[4:])
    os.kill(victim, signal.SIGKILL)
    seen: set[bytes] = set()
    deadline = time.monotonic() + 10
    while len(seen - {b"pid:%d" % victim}) < 2 and time.monotonic() < deadline:
        seen |= asyncio.run(_pids(tcp, 8))
    assert len(seen - {b"pid:%d" % victim}) == 2, f"after killing {victim}, replies from {seen}"
    assert server.stop() == 0, server.stderr()


def test_workers_that_keep_failing_make_the_server_give_up(
    server_process: Callable[[int, str], ServerProcess],
) -> None:
    server = server_process(2, "BrokenFactory")
    assert server.proc.wait(10) == 1
    stderr = server.stderr()
    assert "keep dying" in stderr and "OSError" in stderr
    assert "database unavailable" not in stderr  # exception text is not logged
    assert not os.path.exists(server.addresses["unix"].path)


def _gone(pid: int) -> bool:
    """Exited (a zombie waiting for init to reap it counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def test_workers_do_not_outlive_a_parent_killed_with_sigkill(
    server_process: Callable[[int, str], ServerProcess],
) -> None:
    """kill -9 of the supervising parent (no SIGTERM to forward) must not leave orphaned
    workers serving the port: the next `kdc serve` could not bind it."""
    server = server_process(2, "PidHandler")
    tcp = server.addresses["tcp"]
    workers: set[bytes] = set()
    deadline = time.monotonic() + 10
    while len(workers) < 2 and time.monotonic() < deadline:
        workers |= asyncio.run(_pids(tcp, 8))
    pids = [int(reply[4:]) for reply in workers]
    assert len(pids) == 2, workers
    server.proc.kill()
    server.proc.wait(5)
    deadline = time.monotonic() + 8
    while not all(_gone(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    alive = [pid for pid in pids if not _gone(pid)]
    for pid in alive:  # do not leave them behind for the next test
        os.kill(pid, signal.SIGKILL)
    assert not alive, f"workers {alive} still serve {tcp} after their parent was killed"
