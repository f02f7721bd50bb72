"""KDC throughput over UDP: MIT krb5kdc against kerbfirst's KDC, same run, same generator.

    .venv-dev/bin/python bench/kdc_bench.py [--seconds 5] [--workers 1 2] [--etype 18]
        [--rounds 3] [--compiled]

For each KDC and worker count: a throwaway realm (BENCH.TEST) on a free loopback port with
alice (password; pre-authentication required) and host/bench.test (random keys), both with
only the benchmarked enctype; the krbtgt has all four AES keys, in the same order in both
KDCs (so TGTs are encrypted in aes256-cts-hmac-sha1-96 by both). Every request is built
before the clock starts with kerbfirst's wire + crypto and is distinct (its own nonce,
timestamp and confounders), so no reply cache can answer it:
- AS-REQ/s: AS-REQs carrying a valid PA-ENC-TIMESTAMP (RFC 4120 5.2.7.2);
- TGS-REQ/s: TGS-REQs for host/bench.test built from a TGT first obtained from that KDC.
Both KDCs log one line per request to a file on tmpfs (/dev/shm): MIT's [logging] kdc =
FILE:..., ours the JSON-lines audit log in its realm directory.

Both run with their defaults otherwise. Differences worth knowing when reading the ratio:
MIT 1.20 puts a PAC in every ticket (we do not), and with +requires_preauth its DB2 module
records last_success on every AS exchange (a database write; `disable_last_success` is
off by default); we write nothing on success. "cpu us" is the server's CPU time (all its
processes, user + system) per reply: less sensitive than the rates to other load.

The generator's own ceiling is measured against a trivial UDP echo server and printed;
by default there is one generator process per KDC worker (one generator could not keep
two MIT workers busy on a 2-core machine). `--compare-src DIR/src` also serves another
kerbfirst checkout in the same run (before/after figures); `--compiled` first builds the
mypyc-compiled hot path (scripts/build_compiled.py) in the temporary directory and serves it
as a third row, "kerbfirst (compiled)". Everything runs on loopback,
and every process started here is stopped at the end (SIGTERM, then SIGKILL).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path.insert(0, str(SRC))
sys.path.insert(0, str(HERE))

from loadgen import LoadResult, blast_parallel  # noqa: E402
from procs import build_compiled  # noqa: E402

from kerbfirst.client import AsExchange, Credential, TgsExchange  # noqa: E402
from kerbfirst.crypto import get_profile, string_to_key  # noqa: E402
from kerbfirst.krb.names import default_salt, parse_principal  # noqa: E402

REALM = "BENCH.TEST"
PASSWORD = "bench-password-1"  # no spaces: kadmin.local -q splits on them
SERVICE = "host/bench.test"
# The krbtgt's keys in both KDCs, in kerbfirst's SUPPORTED_ETYPES order (18, 17, 20, 19).
MIT_ALL_ENCTYPES = (
    "aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal "
    "aes256-cts-hmac-sha384-192:normal aes128-cts-hmac-sha256-128:normal"
)
PYTHON = sys.executable
WINDOW = 32


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return int(port)
    raise RuntimeError("no free loopback port")


# ------------------------------------------------------------------ process bookkeeping


def tree_pids(pid: int) -> list[int]:
    """pid and all its descendants (from /proc/*/task/*/children)."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in os.listdir(f"/proc/{p}/task"):
                with contextlib.suppress(OSError):
                    children = Path(f"/proc/{p}/task/{task}/children").read_text()
                    todo += [int(x) for x in children.split()]
    return out


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU time of these processes so far."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for p in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / tick


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group (the server and its workers), then SIGKILL."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # stragglers in the group


# ------------------------------------------------------------------ requests


@dataclass
class Realm:
    name: str  # "MIT krb5kdc" or "kerbfirst"
    addr: tuple[str, int]
    proc: subprocess.Popen[bytes]
    log_path: Path


def long_term_key(etype: int):  # type: ignore[no-untyped-def]
    name, _ = parse_principal("alice", REALM)
    salt = default_salt(name.name_string, REALM)  # "BENCH.TESTalice"
    return string_to_key(etype, PASSWORD.encode(), salt)


def as_requests(etype: int, n: int) -> list[bytes]:
    """Distinct pre-authenticated AS-REQs (own nonce, timestamp and confounder each)."""
    key = long_term_key(etype)
    now = datetime.now(UTC)
    return [
        AsExchange("alice", REALM, key=key, random=os.urandom, etypes=(etype,)).first_request(
            now + timedelta(microseconds=i)
        )
        for i in range(n)
    ]


def udp_exchange(addr: tuple[str, int], request: bytes, timeout: float = 2.0) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(request, addr)
        return s.recv(65536)


def get_tgt(addr: tuple[str, int], etype: int) -> Credential:
    exchange = AsExchange("alice", REALM, key=long_term_key(etype), random=os.urandom,
                          etypes=(etype,))
    now = datetime.now(UTC)
    out = exchange.receive(udp_exchange(addr, exchange.first_request(now)), now)
    if not isinstance(out, Credential):
        raise RuntimeError("AS exchange did not finish in one round trip")
    return out


def tgs_requests(tgt: Credential, etype: int, n: int) -> list[bytes]:
    now = datetime.now(UTC)
    return [
        TgsExchange(tgt, f"{SERVICE}@{REALM}", random=os.urandom, etypes=(etype,)).first_request(
            now + timedelta(microseconds=i)
        )
        for i in range(n)
    ]


def wait_ready(addr: tuple[str, int], proc: subprocess.Popen[bytes], etype: int) -> None:
    probe = as_requests(etype, 1)[0]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"KDC exited with {proc.returncode} while starting")
        try:
            udp_exchange(addr, probe, timeout=0.2)
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("KDC did not answer within 20 s")


# ------------------------------------------------------------------ the two KDCs


def mit_env(d: Path) -> dict[str, str]:
    return {**os.environ, "KRB5_CONFIG": str(d / "krb5.conf"),
            "KRB5_KDC_PROFILE": str(d / "kdc.conf")}


def run(cmd: list[str], env: dict[str, str], stdin: str | None = None) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, check=False,
                          input=None if stdin is None else stdin.encode())
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed: {done.stderr.decode(errors='replace')}")


def mit_realm(d: Path, port: int, etype: int, workers: int) -> Realm:
    enctype = get_profile(etype).name
    d.mkdir(parents=True)
    log_path = d / "kdc.log"
    (d / "krb5.conf").write_text(
        f"[libdefaults]\n default_realm = {REALM}\n"
        f"[realms]\n {REALM} = {{\n  kdc = 127.0.0.1:{port}\n }}\n"
    )
    (d / "kdc.conf").write_text(
        f"[kdcdefaults]\n kdc_listen = 127.0.0.1:{port}\n kdc_tcp_listen = 127.0.0.1:{port}\n"
        f"[realms]\n {REALM} = {{\n"
        f"  database_name = {d}/principal\n  key_stash_file = {d}/stash\n"
        f"  acl_file = {d}/kadm5.acl\n  master_key_type = aes256-cts-hmac-sha1-96\n"
        f"  supported_enctypes = {MIT_ALL_ENCTYPES}\n }}\n"
        f"[logging]\n kdc = FILE:{log_path}\n default = FILE:{log_path}\n"
    )
    env = mit_env(d)
    run(["kdb5_util", "create", "-s", "-r", REALM, "-P", "master-pw"], env)
    run(["kadmin.local", "-r", REALM, "-q",
         f"addprinc +requires_preauth -e {enctype}:normal -pw {PASSWORD} alice"], env)
    run(["kadmin.local", "-r", REALM, "-q",
         f"addprinc -randkey -e {enctype}:normal {SERVICE}"], env)
    cmd = ["krb5kdc", "-n", "-r", REALM] + (["-w", str(workers)] if workers > 1 else [])
    proc = subprocess.Popen(cmd, env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Realm("MIT krb5kdc", ("127.0.0.1", port), proc, log_path)


def init_our_realm(d: Path, port: int, etype: int, src: Path = SRC) -> list[str]:
    """BENCH.TEST in directory d with alice and the service (kdc_icount.py uses it too);
    returns the command line that runs kerbfirst's CLI from src."""
    enctype = get_profile(etype).name
    env = {**os.environ, "PYTHONPATH": str(src)}
    cli = [PYTHON, "-c", "from kerbfirst.cli.main import app; app()"]
    run([*cli, "realm", "init", "--dir", str(d), "--realm", REALM,
         "--listen", f"127.0.0.1:{port}", "--unix", str(d / "kdc.sock")], env)
    run([*cli, "principal", "add", "alice", "--dir", str(d), "--password-stdin", "-e", enctype],
        env, stdin=f"{PASSWORD}\n")
    run([*cli, "principal", "add", SERVICE, "--dir", str(d), "--random", "-e", enctype], env)
    return cli


def our_realm(d: Path, port: int, etype: int, workers: int, src: Path = SRC,
              label: str = "kerbfirst", configure: Any = None) -> Realm:
    """`configure(d)`, when given, may edit the realm's kerbfirst.toml before it is served."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    cli = init_our_realm(d, port, etype, src)
    if configure is not None:
        configure(d)
    proc = subprocess.Popen([*cli, "kdc", "serve", "--dir", str(d), "--workers", str(workers)],
                            env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Realm(label, ("127.0.0.1", port), proc, d / "kdc-audit.jsonl")


# ------------------------------------------------------------------ measuring


@dataclass
class Figure:
    rate: float
    errors: int
    lost: int
    cpu_us: float  # server CPU time per reply, microseconds


def split(requests: list[bytes], parts: int) -> list[list[bytes]]:
    return [requests[i::parts] for i in range(parts)]


def measure(realm: Realm, requests: list[bytes], seconds: float, generators: int) -> Figure:
    pids = tree_pids(realm.proc.pid)
    cpu0 = cpu_seconds(pids)
    result: LoadResult = blast_parallel(realm.addr, split(requests, generators),
                                        window=WINDOW, duration=seconds)
    cpu = cpu_seconds(pids) - cpu0
    # CPU includes the drain after the deadline; per reply over every reply seen.
    replies = max(1, result.total)
    return Figure(result.rate, result.replies["krb-error"] + result.replies["other"],
                  result.lost, 1e6 * cpu / replies)


def bench_kdc(realm: Realm, etype: int, seconds: float, generators: int) -> tuple[Figure, Figure]:
    wait_ready(realm.addr, realm.proc, etype)
    # Warm-up: a second of each kind, which also estimates how many requests to build.
    warm_as = measure(realm, as_requests(etype, 3000), 1.0, generators)
    tgt = get_tgt(realm.addr, etype)
    warm_tgs = measure(realm, tgs_requests(tgt, etype, 3000), 1.0, generators)
    n_as = int(max(warm_as.rate, 500) * seconds * 1.5) + 1000
    n_tgs = int(max(warm_tgs.rate, 500) * seconds * 1.5) + 1000
    as_fig = measure(realm, as_requests(etype, n_as), seconds, generators)
    tgs_fig = measure(realm, tgs_requests(tgt, etype, n_tgs), seconds, generators)
    return as_fig, tgs_fig


ECHO_SERVER = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1], flush=True)
while True:
    data, addr = s.recvfrom(65536)
    s.sendto(b"\\x6b" + data[1:], addr)
"""


def echo_ceiling(etype: int, seconds: float, generators: int) -> float:
    """Replies per second of the generator against a server that does nothing."""
    proc = subprocess.Popen([PYTHON, "-c", ECHO_SERVER], stdout=subprocess.PIPE,
                            start_new_session=True)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        reqs = as_requests(etype, 1000)
        requests = (reqs * 200)[: 200_000]
        blast_parallel(("127.0.0.1", port), split(requests[:5000], generators), window=WINDOW,
                       duration=0.5)
        return blast_parallel(("127.0.0.1", port), split(requests, generators), window=WINDOW,
                              duration=seconds).rate
    finally:
        stop(proc)


@contextlib.contextmanager
def running(realm: Realm) -> Iterator[Realm]:
    try:
        yield realm
    finally:
        stop(realm.proc)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=5.0, help="measured seconds per figure")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--etype", type=int, default=18, choices=(17, 18, 19, 20))
    ap.add_argument("--generators", type=int, default=0,
                    help="load generator processes (default: one per KDC worker; with one "
                    "generator for 2 workers MIT krb5kdc measured generator-bound)")
    ap.add_argument("--only", choices=("mit", "ours"), help="benchmark one KDC only")
    ap.add_argument("--compare-src", type=Path, action="append", default=[], metavar="SRC",
                    help="also serve kerbfirst from this src/ directory (e.g. an older "
                    "checkout: git archive REV src | tar -x -C DIR), labelled by DIR's name")
    ap.add_argument("--rounds", type=int, default=1,
                    help="repeat every measurement this many times, interleaved, and add a "
                    "table of medians (ratios taken per round, against that round's MIT)")
    ap.add_argument("--compiled", action="store_true",
                    help="also serve kerbfirst with its hot path compiled by mypyc (built "
                    "first in a temporary directory; needs gcc and the Python headers)")
    args = ap.parse_args()
    for tool in ("krb5kdc", "kdb5_util", "kadmin.local"):
        if args.only != "ours" and shutil.which(tool) is None:
            sys.exit(f"{tool} not found: apt-get install krb5-kdc krb5-admin-server")

    base = Path(tempfile.mkdtemp(prefix="kdc-bench-", dir="/dev/shm"))
    rows: list[tuple[str, int, Figure, Figure, int]] = []  # (..., round)
    try:
        compiled_src = build_compiled(base) if args.compiled and args.only != "mit" else SRC
        ceilings = {}
        for g in sorted({args.generators or w for w in args.workers}):
            ceilings[g] = echo_ceiling(args.etype, min(args.seconds, 3.0), g)
            log(f"generator ceiling, {g} process(es) (UDP echo): {ceilings[g]:,.0f} replies/s")
        kinds: list[tuple[str, Any]] = [("mit", mit_realm), ("ours", our_realm)]
        for src in args.compare_src:
            label = f"ours@{src.resolve().parent.name}"[:14]
            kinds.append(("ours", functools.partial(our_realm, src=src.resolve(), label=label)))
        if args.compiled:
            kinds.append(("ours", functools.partial(our_realm, src=compiled_src,
                                                    label="kerbfirst (compiled)")))
        for rnd in range(args.rounds):
            for workers in args.workers:
                for tag, make in kinds:
                    if args.only and args.only != tag:
                        continue
                    d = base / f"{tag}-{workers}-{len(rows)}"
                    realm = make(d, free_port(), args.etype, workers)
                    with running(realm):
                        log(f"{realm.name}, {workers} worker(s), round {rnd + 1}: measuring")
                        as_fig, tgs_fig = bench_kdc(realm, args.etype, args.seconds,
                                                    args.generators or workers)
                    rows.append((realm.name, workers, as_fig, tgs_fig, rnd))
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(f"\nKDC throughput over UDP, enctype {args.etype} ({get_profile(args.etype).name}), "
          f"{args.seconds:g} s per figure, window {WINDOW} per generator process "
          f"({args.generators or 'one per worker'}); request logs on tmpfs")
    shown = ", ".join(f"{n} process(es) {v:,.0f}/s" for n, v in ceilings.items())
    print(f"load generator ceiling (UDP echo server): {shown}\n")
    width = max([14, *(len(name) for name, *_ in rows)])  # 14 unless --compiled
    head = (f"{'KDC':<{width}} {'workers':>7} {'AS/s':>8} {'TGS/s':>8} {'errors':>7} {'lost':>5} "
            f"{'AS cpu us':>9} {'TGS cpu us':>10} {'AS ours/MIT':>11} {'TGS ours/MIT':>12}")
    mit = {(w, r): (a, t) for name, w, a, t, r in rows if name.startswith("MIT")}

    def ratios(name: str, workers: int, rnd: int, a: Figure, t: Figure) -> tuple[float, float]:
        base = mit.get((workers, rnd))
        if name.startswith("MIT") or base is None:
            return float("nan"), float("nan")
        return (a.rate / base[0].rate if base[0].rate else float("nan"),
                t.rate / base[1].rate if base[1].rate else float("nan"))

    def shown(x: float) -> str:
        return "" if x != x else f"{x:.2f}"  # NaN: no ratio (MIT's own row)

    for rnd in range(args.rounds):
        if args.rounds > 1:
            print(f"round {rnd + 1}")
        print(head)
        print("-" * len(head))
        for name, workers, a, t, r in rows:
            if r != rnd:
                continue
            ra, rt = ratios(name, workers, r, a, t)
            print(f"{name:<{width}} {workers:>7} {a.rate:>8,.0f} {t.rate:>8,.0f} "
                  f"{a.errors + t.errors:>7} {a.lost + t.lost:>5} {a.cpu_us:>9.0f} "
                  f"{t.cpu_us:>10.0f} {shown(ra):>11} {shown(rt):>12}")
        print()
    if args.rounds > 1:
        print(f"medians over {args.rounds} rounds (each ratio against the same round's MIT)")
        print(head)
        print("-" * len(head))
        for name, workers in dict.fromkeys((n, w) for n, w, *_ in rows):
            mine = [(a, t, r) for n, w, a, t, r in rows if (n, w) == (name, workers)]
            med = statistics.median
            ra = med(ratios(name, workers, r, a, t)[0] for a, t, r in mine)
            rt = med(ratios(name, workers, r, a, t)[1] for a, t, r in mine)
            print(f"{name:<{width}} {workers:>7} {med(a.rate for a, _, _ in mine):>8,.0f} "
                  f"{med(t.rate for _, t, _ in mine):>8,.0f} "
                  f"{sum(a.errors + t.errors for a, t, _ in mine):>7} "
                  f"{sum(a.lost + t.lost for a, t, _ in mine):>5} "
                  f"{med(a.cpu_us for a, _, _ in mine):>9.0f} "
                  f"{med(t.cpu_us for _, t, _ in mine):>10.0f} {shown(ra):>11} {shown(rt):>12}")
    print("\nerrors: KRB-ERROR replies in the measured windows (must be 0); lost: requests "
          "unanswered for 1 s;\ncpu us: server CPU time (all its processes) per reply.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
