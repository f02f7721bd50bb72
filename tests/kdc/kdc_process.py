"""`kerbfirst kdc serve` in its own process, as a user starts it, for flood and reflection
tests: a throwaway realm on a free loopback port, its RSS (all worker processes), and
plain UDP/TCP senders that wait a bounded time for a reply."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from peerlib import free_port

KF = [sys.executable, "-m", "kerbfirst.cli.main"]
REALM = "FLOOD.TEST"


class ServedRealm:
    def __init__(self, directory: Path, port: int, proc: subprocess.Popen[str]) -> None:
        self.directory = directory
        self.port = port
        self.proc = proc

    def pids(self) -> list[int]:
        """The server and its worker processes."""
        pid = self.proc.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            children = []
        return [pid, *map(int, children)]

    def rss_mib(self) -> float:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        return total / 1024


@contextlib.contextmanager
def served_realm(
    base: Path, *, workers: int = 1, max_message_size: str = "64K"
) -> Iterator[ServedRealm]:
    directory = base / "realm"
    port = free_port()
    init = subprocess.run(
        [*KF, "realm", "init", "--dir", str(directory), "--realm", REALM,
         "--listen", f"127.0.0.1:{port}", "--workers", str(workers)],
        capture_output=True, text=True, check=False, timeout=60,
    )
    assert init.returncode == 0, init.stderr
    conf = directory / "kerbfirst.toml"
    text = conf.read_text()
    conf.write_text(text.replace('"64K"', f'"{max_message_size}"'))
    proc = subprocess.Popen([*KF, "kdc", "serve", "--dir", str(directory)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while True:
            if proc.poll() is not None:
                pytest.fail(f"kdc serve exited: {proc.communicate()[0]}")
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline:
                pytest.fail("kdc serve did not listen within 20 s")
            time.sleep(0.05)
        served = ServedRealm(directory, port, proc)
        while len(served.pids()) < 1 + (workers if workers > 1 else 0):
            time.sleep(0.05)
        yield served
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()


def udp_ask(port: int, datagram: bytes, wait: float = 0.5) -> bytes | None:
    """The reply to one datagram, or None if none came within `wait` seconds."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(wait)
        s.sendto(datagram, ("127.0.0.1", port))
        try:
            return s.recv(65535)
        except TimeoutError:
            return None


def udp_replies(port: int, datagrams: list[bytes], wait: float = 0.5) -> list[bytes]:
    """Send every datagram from one socket; whatever came back within `wait` seconds."""
    replies = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for datagram in datagrams:
            s.sendto(datagram, ("127.0.0.1", port))
        s.settimeout(wait)
        with contextlib.suppress(TimeoutError):
            while True:
                replies.append(s.recv(65535))
    return replies


def tcp_ask(port: int, message: bytes, timeout: float = 10.0) -> bytes | None:
    """One framed request over TCP (RFC 4120 7.2.2); None when the server closed instead."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        try:
            s.sendall(len(message).to_bytes(4, "big") + message)
        except (BrokenPipeError, ConnectionResetError):
            return None  # refused by its length prefix, closed while we were still sending
        head = _read(s, 4)
        if head is None:
            return None
        return _read(s, int.from_bytes(head, "big"))


def _read(s: socket.socket, n: int) -> bytes | None:
    data = b""
    try:
        while len(data) < n:
            chunk = s.recv(n - len(data))
            if not chunk:
                return None
            data += chunk
    except ConnectionResetError:
        return None
    return data
