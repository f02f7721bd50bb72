"""Authenticated HTTP requests per second: kerbfirst's ASGI Negotiate middleware under
uvicorn against Apache httpd with mod_auth_gssapi (MIT's acceptor), same run, same client,
same tickets.

    /work/main/.venv/bin/python bench/web_bench.py [--seconds 5] [--connections 4]

A throwaway realm (kerbfirst's KDC, `kerbfirst` command) has alice and HTTP/localhost;
both servers get the same keytab. Every request carries a NEW Negotiate context (a fresh
SPNEGO NegTokenInit with a krb5 AP-REQ, mutual authentication asked, its own
authenticator so no replay cache answers it), sent preemptively on a reused keep-alive
connection; the tokens are built before the clock starts, and the client is a raw-socket
HTTP/1.1 loop (33,000 req/s against uvicorn alone), so the rate is the servers'.
Both answer with their AP-REP on the 200. `--connections` client threads, each with its
own connection, run for `--seconds` against each server in turn.

Ours: uvicorn with one, then two worker processes (one event loop each) serving a bare
ASGI app behind NegotiateMiddleware. Apache: one event-MPM process with 25 threads
(mod_auth_gssapi 1.6.4, Debian 12). The client threads share the machine's two cores with
the servers, so the rates are a comparison in one run, not either server's ceiling.
"overhead us" is the middleware's cost per authenticated request: the time per
request through uvicorn with the middleware minus without it (same app, no
Authorization), and "acceptor us" the in-process time of NegotiateServer for one token.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
SRC = HERE.parent / "src"
sys.path[:0] = [str(SRC), str(HERE.parent / "tests")]

from procs import free_port, wait_port  # noqa: E402

from kerbfirst.store.keytab import keytab_key_lookup  # noqa: E402
from kerbfirst.web.client_credentials import KerberosCredentials  # noqa: E402
from kerbfirst.web.negotiate import (  # noqa: E402
    HttpRequestInfo,
    NegotiateConfig,
    NegotiateServer,
)

REALM = "WEBBENCH.TEST"
PASSWORD = "bench password"
SPN = "HTTP/localhost"
PYTHON = sys.executable
KERBFIRST = str(Path(sys.executable).parent / "kerbfirst")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)




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


def tokens(creds: KerberosCredentials, n: int) -> list[str]:
    """n distinct `Negotiate <NegTokenInit>` headers (new context each)."""
    import base64

    out = []
    for _ in range(n):
        ini = creds.initiator(SPN)
        tok = ini.step(None, now=datetime.now(UTC))
        assert tok is not None
        out.append("Negotiate " + base64.b64encode(tok).decode())
    return out


def _get(sock: socket.socket, request: bytes, buf: bytearray) -> int:
    """Send one request, read its response (Content-Length framed); return the status."""
    sock.sendall(request)
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("server closed the connection")
        rest += chunk
    buf[:] = rest[length:]
    return int(head.split(b" ", 2)[1])


def blast(port: int, path: str, headers: list[str], connections: int,
          seconds: float) -> tuple[float, int]:
    """Requests per second of 200s over `connections` keep-alive connections, each request
    with the next prebuilt Authorization (none when empty). A raw-socket client: it must
    not be what limits the rate."""
    per = [headers[i::connections] for i in range(connections)]
    counts = [0] * connections
    failures = [0] * connections
    stop_at = [0.0]

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
                if _get(sock, request, buf) == 200:
                    counts[i] += 1
                else:
                    failures[i] += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(connections)]
    start = time.monotonic()
    stop_at[0] = start + seconds
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    return sum(counts) / elapsed, sum(failures)


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


def uvicorn_proc(d: Path, port: int, keytab: Path, with_auth: bool,
                 workers: int = 1) -> subprocess.Popen[bytes]:
    (d / "bench_app.py").write_text(APP)
    env = {**os.environ, "PYTHONPATH": f"{SRC}:{d}", "BENCH_KEYTAB": str(keytab),
           "BENCH_REALM": REALM, "BENCH_AUTH": "1" if with_auth else "0"}
    return subprocess.Popen([PYTHON, "-m", "uvicorn", "bench_app:asgi", "--host", "127.0.0.1",
                             "--port", str(port), "--workers", str(workers), "--log-level",
                             "error", "--lifespan", "off", "--no-access-log"], env=env,
                            start_new_session=True)


def acceptor_us(keytab: Path, creds: KerberosCredentials, n: int = 500) -> float:
    server = NegotiateServer(NegotiateConfig(key_lookup=keytab_key_lookup(keytab),
                                             realm=REALM))
    hs = tokens(creds, n)
    start = time.perf_counter()
    for i, h in enumerate(hs):
        out = server.authenticate_sync(HttpRequestInfo(h, ("c", i), "127.0.0.1:1",
                                                       "localhost"))
        assert out.status == 200
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    from web.apache import apache_gssapi  # tests/web/apache.py: the same throwaway httpd

    d = Path(tempfile.mkdtemp(prefix="kf-webbench-"))
    try:
        with realm(d) as (kdc_port, keytab, conf):
            creds = KerberosCredentials.from_password(f"alice@{REALM}", PASSWORD,
                                                      kdcs=[f"127.0.0.1:{kdc_port}"])
            n = int(args.seconds * 4000) + 1000
            log(f"building {n} tokens per server ...")
            rows = []
            port = free_port()
            plain = uvicorn_proc(d, port, keytab, with_auth=False)
            try:
                wait_port(port, plain)
                plain_rate, _ = blast(port, "/", [""] * n * 4,
                                      args.connections, args.seconds)
            finally:
                stop(plain)
            for workers in (1, 2):
                port = free_port()
                ours = uvicorn_proc(d, port, keytab, with_auth=True, workers=workers)
                try:
                    wait_port(port, ours)
                    time.sleep(1.0 if workers > 1 else 0)  # let every worker start
                    rate, fails = blast(port, "/", tokens(creds, n),
                                        args.connections, args.seconds)
                    rows.append((f"kerbfirst ASGI (uvicorn, {workers} process"
                                 f"{'es' if workers > 1 else ''})", rate, fails))
                finally:
                    stop(ours)
            with apache_gssapi(keytab, conf) as aport:
                arate, afails = blast(aport, "/index.html", tokens(creds, n),
                                      args.connections, args.seconds)
                rows.append(("Apache mod_auth_gssapi (event, 1 process)", arate, afails))
            acc = acceptor_us(keytab, creds)
        print(f"{'server':44} {'auth req/s':>10} {'failed':>7}")
        for name, r, f in rows:
            print(f"{name:44} {r:10.0f} {f:7d}")
        apache = rows[-1][1]
        print(f"ratio kerbfirst/Apache: {rows[0][1] / apache:.2f} (1 process), "
              f"{rows[1][1] / apache:.2f} (2 processes)")
        print(f"uvicorn without the middleware: {plain_rate:.0f} req/s; middleware overhead "
              f"{(1 / rows[0][1] - 1 / plain_rate) * 1e6:.0f} us per authenticated request; "
              f"acceptor in-process {acc:.0f} us per token")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
