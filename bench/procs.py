"""Process helpers the benchmarks share: a free loopback port, waiting for a server to
listen, a process's resident memory and CPU time, the mypyc-compiled tree."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """Return once something accepts TCP connections on 127.0.0.1:port; exit the benchmark
    with the reason if `proc` ends first or nothing listens within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args!r} exited early")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise SystemExit(f"nothing listened on port {port}")


def rss_mib(pid: int) -> float:
    """VmRSS of process `pid` in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def _tree(pid: int) -> list[int]:
    """`pid` and every process descended from it (a server's workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:
            continue  # the process ended while we looked
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(CPU seconds, seconds spent runnable but waiting for a CPU) of process `pid` and its
    descendants, all threads included (proc(5): /proc/PID/task/TID/schedstat)."""
    cpu = wait = 0
    for p in _tree(pid):
        for task in Path(f"/proc/{p}/task").glob("*/schedstat"):
            try:
                on_cpu, waiting, _ = task.read_text().split()
            except (OSError, ValueError):
                continue  # the thread ended while we looked
            cpu += int(on_cpu)
            wait += int(waiting)
    return cpu / 1e9, wait / 1e9


def build_compiled(base: Path) -> Path:
    """The compiled tree's src/ (scripts/build_compiled.py, about a minute), checked to
    import .so files."""
    print("building the mypyc-compiled tree (scripts/build_compiled.py, ~1 min)",
          file=sys.stderr, flush=True)
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "build_compiled.py"),
                           str(base / "compiled"), "--quiet"],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise RuntimeError(f"compiled build failed: {done.stderr}{done.stdout}")
    src = Path(done.stdout.strip().splitlines()[-1])
    check_compiled(src)
    return src


def check_compiled(src: Path) -> None:
    """Raise unless `src` is a compiled tree (its DER codec imports as an extension)."""
    where = subprocess.run([sys.executable, "-c",
                            "import kerbfirst.wire.der as m; print(m.__file__)"],
                           env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True,
                           text=True, check=False).stdout.strip()
    if not where.endswith(".so"):
        raise RuntimeError(f"the compiled tree imports kerbfirst.wire.der from {where!r}")


def raise_priority(pid: int, nice: int) -> bool:
    """Give the scheduler autogroup of `pid` (its session: sched(7), "The autogroup
    feature") the nice value `nice`, so its processes keep their cores against other work on
    the machine; needs root for a negative value. False when the kernel or the caller does
    not allow it."""
    try:
        Path(f"/proc/{pid}/autogroup").write_text(f"{nice}\n")
    except OSError:
        return False
    return True
