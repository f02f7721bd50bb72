"""Authenticated HTTP requests per second: kerbfirst's ASGI Negotiate middleware under
uvicorn against Apache httpd with mod_auth_gssapi (MIT's acceptor), same run, same client,
same tickets.

    .venv-dev/bin/python bench/web_bench.py [--seconds 5] [--connections 4]
        [--rounds 3] [--build compiled|pure] [--compiled-src DIR]
        [--apache-replay-cache on|off] [--nice -10]

A throwaway realm (kerbfirst's KDC, `kerbfirst` command) has alice and HTTP/localhost;
both servers get the same keytab. Every request carries a NEW Negotiate context (a fresh
SPNEGO NegTokenInit with a krb5 AP-REQ, mutual authentication asked, its own
authenticator so no replay cache answers it), sent preemptively on a reused keep-alive
connection; the tokens are built before the clock starts, and the client is a raw-socket
HTTP/1.1 loop, so the rate is the servers'. A 200 counts only when it carries the
server's `WWW-Authenticate: Negotiate <AP-REP>` (mutual authentication); anything else
is a failure.

Ours runs the build `--build` names: by default the mypyc-compiled tree that
`pip install .` installs (scripts/build_compiled.py, built here in a temporary
directory, or `--compiled-src` for one built already), else the repository's src/ as
Python. uvicorn serves a bare ASGI app behind NegotiateMiddleware with httptools and
uvloop. Apache: event MPM, 25 threads per process, mod_auth_gssapi krb5 only, no
access log, error log at warn, and MIT's default replay cache (file2) as a production
httpd has it (ours always keeps its replay cache; `--apache-replay-cache off` measures
Apache without).

Two layouts, each server alike in it:
- "1 core": the server (one uvicorn worker; one httpd process) pinned to CPU 0 with
  `taskset`, the client pinned to CPU 1, so the client never takes the server's CPU.
- "2 cores": the server unpinned with two processes (uvicorn --workers 2; httpd
  StartServers 2), the client sharing both cores with it. The kernel hands the
  connections to whichever process accepts first, so the split between the two may be
  uneven, for either server.
On a machine other work shares, the scheduler divides a core between sessions
(autogroups), so a pinned server waits for its core as long as other sessions run there.
Each server gets a session of its own, and as root the run gives it and the client's
session the autogroup nice value --nice (default -10): both servers then keep their cores
alike, whatever else runs ("run-queue wait" reports the time the server still waited).
Each row runs --rounds times, ours and Apache alternating which goes first; medians are
printed with every round's rate. "CPU us/req" is the server's own CPU time (all its
processes and threads, from /proc) per authenticated request: what a request costs it,
whatever the client took.
"overhead us" is the middleware's CPU per authenticated request over uvicorn serving the
same app without it (no Authorization), and "acceptor us" the in-process time of
NegotiateServer for one token, in the build served.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path[:0] = [str(HERE), str(HERE.parent / "tests")]

from procs import (  # noqa: E402
    build_compiled,
    check_compiled,
    cpu_seconds,
    free_port,
    raise_priority,
    wait_port,
)

REALM = "WEBBENCH.TEST"
PASSWORD = "bench password"
SPN = "HTTP/localhost"
PYTHON = sys.executable
KERBFIRST = str(Path(sys.executable).parent / "kerbfirst")
ALL_CPUS = os.sched_getaffinity(0)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def use_tree(src: Path) -> None:
    """Import kerbfirst from `src` in this process (token building, the acceptor timing)."""
    sys.path.insert(0, str(src))
    import kerbfirst.wire.der

    log(f"this process imports kerbfirst.wire.der from {kerbfirst.wire.der.__file__}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def kf(*args: str, stdin: str | None = None) -> None:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    subprocess.run([KERBFIRST, *args], env=env, input=stdin, text=True, check=True,
                   capture_output=True, timeout=60)


@contextlib.contextmanager
def realm(d: Path) -> Iterator[tuple[int, Path, Path]]:
    """(KDC port, keytab, krb5.conf) of a served throwaway realm."""
    port = free_port()
    kf("realm", "init", "--dir", str(d / "realm"), "--realm", REALM, "--listen",
       f"127.0.0.1:{port}")
    kf("principal", "add", "alice", "--dir", str(d / "realm"), "--password-stdin",
       stdin=PASSWORD + "\n")
    kf("principal", "add", SPN, "--dir", str(d / "realm"), "--random")
    keytab = d / "http.keytab"
    kf("keytab", "export", SPN, "--dir", str(d / "realm"), "--out", str(keytab))
    conf = d / "krb5.conf"
    conf.write_text(f"[libdefaults]\n default_realm = {REALM}\n dns_lookup_kdc = false\n"
                    f"[realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n")
    proc = subprocess.Popen([KERBFIRST, "kdc", "serve", "--dir", str(d / "realm")],
                            env={**os.environ, "PYTHONPATH": str(SRC)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        wait_port(port, proc)
        yield port, keytab, conf
    finally:
        stop(proc)


def tokens(creds: Any, n: int) -> list[str]:
    """n distinct `Negotiate <NegTokenInit>` headers (new context each)."""
    out = []
    for _ in range(n):
        ini = creds.initiator(SPN)
        tok = ini.step(None, now=datetime.now(UTC))
        assert tok is not None
        out.append("Negotiate " + base64.b64encode(tok).decode())
    return out


def _get(sock: socket.socket, request: bytes, buf: bytearray) -> tuple[int, bool]:
    """Send one request, read its response (Content-Length framed); return the status and
    whether it carries a `WWW-Authenticate: Negotiate <token>`."""
    sock.sendall(request)
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    length = 0
    final_token = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"www-authenticate" and value.strip().lower().startswith(b"negotiate "):
            final_token = True
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        rest += chunk
    buf[:] = rest[length:]
    return int(head.split(b" ", 2)[1]), final_token


@dataclass
class Rate:
    per_second: float
    failures: int
    cpu_us: float  # the server's CPU per successful request
    wait_us: float  # time the server was runnable but waited for a CPU, per request
    ran_out: bool  # the prebuilt tokens ended before --seconds


def blast(port: int, path: str, headers: list[str], connections: int, seconds: float,
          server_pid: int, client_cpus: set[int] | None) -> Rate:
    """Requests per second of 200s over `connections` keep-alive connections, each request
    with the next prebuilt Authorization (none when empty: then any 200 counts). A
    raw-socket client: it must not be what limits the rate."""
    per = [headers[i::connections] for i in range(connections)]
    counts = [0] * connections
    failures = [0] * connections
    stop_at = [0.0]
    ran_out = [False]
    plain = not headers[0]

    def worker(i: int) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            buf = bytearray()
            for h in per[i]:
                if time.monotonic() >= stop_at[0]:
                    return
                auth = f"Authorization: {h}\r\n" if h else ""
                request = (f"GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\n{auth}\r\n"
                           ).encode()
                status, final_token = _get(sock, request, buf)
                if status == 200 and (final_token or plain):
                    counts[i] += 1
                else:
                    failures[i] += 1
            # One connection out of tokens ends the row for all: the rate is then measured
            # over the time every connection was busy, not diluted by idle ones.
            ran_out[0] = True
            stop_at[0] = min(stop_at[0], time.monotonic())

    if client_cpus is not None:
        os.sched_setaffinity(0, client_cpus)  # the client threads inherit it
    try:
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
        cpu_before, wait_before = cpu_seconds(server_pid)
        start = time.monotonic()
        stop_at[0] = start + seconds
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - start
        cpu_after, wait_after = cpu_seconds(server_pid)
    finally:
        os.sched_setaffinity(0, ALL_CPUS)
    done = sum(counts)
    per = max(done, 1) / 1e6
    return Rate(done / elapsed, sum(failures), (cpu_after - cpu_before) / per,
                (wait_after - wait_before) / per, ran_out[0])


APP = """
import os
from kerbfirst.store.keytab import keytab_key_lookup
from kerbfirst.web.asgi import NegotiateMiddleware
from kerbfirst.web.negotiate import NegotiateConfig, NegotiateServer


async def app(scope, receive, send):
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"2")]})
    await send({"type": "http.response.body", "body": b"ok"})


server = NegotiateServer(NegotiateConfig(
    key_lookup=keytab_key_lookup(os.environ["BENCH_KEYTAB"]), realm=os.environ["BENCH_REALM"]))
asgi = NegotiateMiddleware(app, server) if os.environ["BENCH_AUTH"] == "1" else app
"""


def uvicorn_proc(d: Path, src: Path, port: int, keytab: Path, with_auth: bool,
                 workers: int, cpus: str | None) -> subprocess.Popen[bytes]:
    (d / "bench_app.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": f"{src}:{d}", "BENCH_KEYTAB": str(keytab),
           "BENCH_REALM": REALM, "BENCH_AUTH": "1" if with_auth else "0"}
    pin = ["taskset", "-c", cpus] if cpus else []
    return subprocess.Popen([*pin, PYTHON, "-m", "uvicorn", "bench_app:asgi", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", str(workers),
                             "--http", "httptools", "--loop", "uvloop", "--log-level",
                             "error", "--lifespan", "off", "--no-access-log"], env=env,
                            start_new_session=True)


def acceptor_us(keytab: Path, creds: Any, n: int = 2000) -> float:
    from kerbfirst.store.keytab import keytab_key_lookup
    from kerbfirst.web.negotiate import HttpRequestInfo, NegotiateConfig, NegotiateServer

    server = NegotiateServer(NegotiateConfig(key_lookup=keytab_key_lookup(keytab),
                                             realm=REALM))
    hs = tokens(creds, n)
    start = time.perf_counter()
    for i, h in enumerate(hs):
        out = server.authenticate_sync(HttpRequestInfo(h, ("c", i), "127.0.0.1:1",
                                                       "localhost"))
        assert out.status == 200
    return (time.perf_counter() - start) / n * 1e6


@dataclass(frozen=True)
class Layout:
    name: str
    processes: int
    server_cpus: str | None
    client_cpus: set[int] | None


LAYOUTS = (Layout("1 core", 1, "0", {1}), Layout("2 cores", 2, None, None))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="per row and round")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of every row, Apache and ours alternating first; the "
                        "medians are reported (the machine is shared: one row varies)")
    parser.add_argument("--build", choices=("compiled", "pure"), default="compiled",
                        help="which kerbfirst uvicorn serves (default: the compiled tree)")
    parser.add_argument("--compiled-src", type=Path,
                        help="a tree scripts/build_compiled.py built (its src/), not rebuilt")
    parser.add_argument("--apache-replay-cache", choices=("on", "off"), default="on")
    parser.add_argument("--nice", type=int, default=-10,
                        help="scheduling priority of everything the run starts, as root "
                        "(0: unchanged)")
    args = parser.parse_args()
    if len(ALL_CPUS) < 2:
        raise SystemExit("needs two CPUs (server and client pinned apart)")
    before = Path("/proc/self/autogroup")
    own_nice = int(before.read_text().split()[-1]) if before.exists() else 0
    if args.nice and not raise_priority(os.getpid(), args.nice):
        log(f"could not set the autogroup nice value {args.nice} (root and "
            "CONFIG_SCHED_AUTOGROUP needed): rates will follow the machine's other load")
        args.nice = 0
    d = Path(tempfile.mkdtemp(prefix="kf-webbench-"))
    try:
        if args.build == "pure":
            src = SRC
        elif args.compiled_src:
            src = args.compiled_src.resolve()
            check_compiled(src)
        else:
            src = build_compiled(d)
        use_tree(src)
        from kerbfirst.web.client_credentials import KerberosCredentials

        results: dict[tuple[str, str], list[Rate]] = {}
        with realm(d) as (kdc_port, keytab, conf):
            creds = KerberosCredentials.from_password(f"alice@{REALM}", PASSWORD,
                                                      kdcs=[f"127.0.0.1:{kdc_port}"])
            bench = Bench(d, src, keytab, conf, creds, args)
            for round_ in range(args.rounds):
                for lay in LAYOUTS:
                    log(f"round {round_ + 1}, {lay.name}")
                    if lay.processes == 1:
                        results.setdefault((lay.name, "plain"), []).append(bench.plain(lay))
                    pair = [("ours", bench.ours), ("apache", bench.apache)]
                    for who, run in pair[::-1] if round_ % 2 else pair:
                        results.setdefault((lay.name, who), []).append(run(lay))
            acc = acceptor_us(keytab, creds)
        report(results, acc, args, src)
    finally:
        shutil.rmtree(d, ignore_errors=True)
        if args.nice:
            raise_priority(os.getpid(), own_nice)  # the caller's session, as it was


class Bench:
    """The rows of one run: ours, Apache and uvicorn without the middleware, per layout."""

    def __init__(self, d: Path, src: Path, keytab: Path, conf: Path, creds: Any,
                 args: argparse.Namespace) -> None:
        self.d, self.src, self.keytab, self.conf, self.creds = d, src, keytab, conf, creds
        self.args = args
        self.n = int(args.seconds * 24000) + 2000  # prebuilt tokens per row

    def _blast(self, port: int, path: str, headers: list[str], pid: int,
               lay: Layout) -> Rate:
        if self.args.nice:
            raise_priority(pid, self.args.nice)  # the server's own session
        return blast(port, path, headers, self.args.connections, self.args.seconds, pid,
                     lay.client_cpus)

    def plain(self, lay: Layout) -> Rate:
        port = free_port()
        proc = uvicorn_proc(self.d, self.src, port, self.keytab, False, 1, lay.server_cpus)
        try:
            wait_port(port, proc)
            return self._blast(port, "/", [""] * self.n * 3, proc.pid, lay)
        finally:
            stop(proc)

    def ours(self, lay: Layout) -> Rate:
        headers = tokens(self.creds, self.n)
        port = free_port()
        proc = uvicorn_proc(self.d, self.src, port, self.keytab, True, lay.processes,
                            lay.server_cpus)
        try:
            wait_port(port, proc)
            time.sleep(1.0 if lay.processes > 1 else 0)  # let every worker start
            return self._blast(port, "/", headers, proc.pid, lay)
        finally:
            stop(proc)

    def apache(self, lay: Layout) -> Rate:
        from web.apache import apache_gssapi  # tests/web/apache.py: the same throwaway httpd

        headers = tokens(self.creds, self.n)
        with apache_gssapi(self.keytab, self.conf, processes=lay.processes, log_level="warn",
                           replay_cache=self.args.apache_replay_cache == "on",
                           cpus=lay.server_cpus) as port:
            time.sleep(1.0 if lay.processes > 1 else 0)
            return self._blast(port, "/index.html", headers, _listener_pid(port), lay)


def _listener_pid(port: int) -> int:
    """The first process of the server listening on `port`: of the processes holding the
    socket (httpd's parent and its workers), the one whose parent does not hold it."""
    out = subprocess.run(["ss", "-Htlpn", f"sport = :{port}"], capture_output=True,
                         text=True, check=True).stdout
    pids = {int(m) for m in re.findall(r"pid=(\d+)", out)}
    for pid in pids:
        ppid = int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
        if ppid not in pids:
            return pid
    raise RuntimeError(f"no process listens on port {port}")


def _median(rates: list[Rate]) -> Rate:
    by_rate = sorted(rates, key=lambda r: r.per_second)
    mid = by_rate[len(by_rate) // 2]
    cpu = statistics.median(r.cpu_us for r in rates)
    wait = statistics.median(r.wait_us for r in rates)
    return Rate(mid.per_second, sum(r.failures for r in rates), cpu, wait,
                any(r.ran_out for r in rates))


def report(results: dict[tuple[str, str], list[Rate]], acc: float,
           args: argparse.Namespace, src: Path) -> None:
    build = "compiled" if src != SRC else "pure Python"
    names = {"ours": f"kerbfirst ASGI ({build})", "apache": "Apache mod_auth_gssapi",
             "plain": "uvicorn, no middleware"}
    print(f"kerbfirst served from {src} ({build}); Apache replay cache "
          f"{args.apache_replay_cache}; {args.connections} connections, {args.seconds:g} s "
          f"per row, median of {args.rounds} round(s)")
    print(f"{'layout':8} {'server':34} {'req/s':>6} {'failed':>6} {'CPU us/req':>10} "
          f"{'wait us/req':>11}  rounds")
    for (layout, who), rates in results.items():
        m = _median(rates)
        note = " (tokens ran out)" if m.ran_out else ""
        each = " ".join(f"{r.per_second:.0f}" for r in rates)
        print(f"{layout:8} {names[who]:34} {m.per_second:6.0f} {m.failures:6d} "
              f"{m.cpu_us:10.0f} {m.wait_us:11.0f}  {each}{note}")
    for layout in dict.fromkeys(lay for lay, _ in results):
        ours, apache = results[(layout, "ours")], results[(layout, "apache")]
        per_round = " ".join(f"{o.per_second / a.per_second:.2f}"
                             for o, a in zip(ours, apache, strict=True))
        mo, ma = _median(ours), _median(apache)
        print(f"ratio kerbfirst/Apache, {layout}: {mo.per_second / ma.per_second:.2f} req/s "
              f"(rounds {per_round}), {ma.cpu_us / mo.cpu_us:.2f} by CPU per request")
    plain = results.get(("1 core", "plain"))
    if plain:
        p, o = _median(plain), _median(results[("1 core", "ours")])
        print(f"middleware overhead (1 core): {o.cpu_us - p.cpu_us:.0f} CPU us per "
              f"authenticated request over uvicorn alone ({p.cpu_us:.0f} us); acceptor "
              f"in-process {acc:.0f} us per token")


if __name__ == "__main__":
    main()
