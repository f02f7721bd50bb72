"""What an administrator meets running `kerbfirst kdc serve` (real processes): listen
addresses checked when the realm is made and when the config is read, a busy address
named exactly, `kdc serve --unix`, and a full disk reported without a traceback."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kerbfirst.client import AsExchange
from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_transport import send_to_kdc_sync
from kerbfirst.net.krb_error_code import krb_error_code
from peerlib import free_port
from tiny_fs import fill, tiny_tmpfs

KF = [sys.executable, "-m", "kerbfirst.cli.main"]
REALM = "OPS.TEST"


def kf(
    *args: str, stdin: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KF, *args], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
    )


def _clean_failure(done: subprocess.CompletedProcess[str], *expected: str) -> None:
    out = done.stdout + done.stderr
    assert done.returncode == 1, out
    assert "Traceback" not in out and "error:" in out, out
    for text in expected:
        assert text in " ".join(out.split()), out  # rich may wrap long lines


def _init(directory: Path, port: int) -> None:
    done = kf("realm", "init", "--dir", str(directory), "--realm", REALM,
              "--listen", f"127.0.0.1:{port}")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize(
    ("listen", "says"),
    [("127.0.0.1:99999", "port '99999'"), ("127.0.0.1:-1", "port '-1'"),
     ("no such host!:88", "'no such host!'"), ("tcp/127.0.0.1:88", "expected host:port")],
)
def test_realm_init_refuses_a_bad_listen_address(tmp_path: Path, listen: str, says: str) -> None:
    done = kf("realm", "init", "--dir", str(tmp_path / "r"), "--realm", REALM, "--listen", listen)
    _clean_failure(done, says)
    assert not (tmp_path / "r" / "kerbfirst.toml").exists()


def test_kdc_serve_refuses_a_bad_listen_address_in_the_config(tmp_path: Path) -> None:
    directory = tmp_path / "r"
    _init(directory, free_port())
    conf = directory / "kerbfirst.toml"
    text = conf.read_text()
    conf.write_text(text.replace(text.split('listen = ["')[1].split('"')[0], "127.0.0.1:99999"))
    _clean_failure(kf("kdc", "serve", "--dir", str(directory)), "[kdc] listen", "99999")
    conf.write_text(text)
    _clean_failure(kf("kdc", "serve", "--dir", str(directory), "--listen", "localhost:70000"),
                   "--listen", "70000")


def _serve(directory: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return kf("kdc", "serve", "--dir", str(directory), *extra, timeout=30)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_busy_address_error_names_the_busy_one(tmp_path: Path, workers: str) -> None:
    directory = tmp_path / "r"
    port = free_port()
    _init(directory, port)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.bind(("127.0.0.1", port))
        _clean_failure(_serve(directory, "--workers", workers), f"UDP 127.0.0.1:{port}")
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        tcp.bind(("127.0.0.1", port))
        tcp.listen()
        _clean_failure(_serve(directory, "--workers", workers), f"TCP 127.0.0.1:{port}")
    sock_path = directory / "kdc.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as unix:
        unix.bind(str(sock_path))
        unix.listen()
        done = _serve(directory, "--workers", workers)
        _clean_failure(done, str(sock_path))
        assert f"127.0.0.1:{port}" not in done.stderr  # the clash is not blamed on UDP/TCP


def test_kdc_serve_takes_unix(tmp_path: Path) -> None:
    directory = tmp_path / "r"
    port = free_port()
    _init(directory, port)
    path = tmp_path / "other.sock"
    proc = subprocess.Popen([*KF, "kdc", "serve", "--dir", str(directory), "--unix", str(path)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 20
        while not path.exists():
            assert proc.poll() is None, proc.communicate()[0]
            assert time.monotonic() < deadline, "kdc serve --unix did not create its socket"
            time.sleep(0.05)
        assert not (directory / "kdc.sock").exists()  # --unix replaces the config's sockets
        request = _as_req()
        reply = send_to_kdc_sync(request, [KdcAddress("unix", path=str(path))], timeout=5)
        assert krb_error_code(reply) == 6  # an answer from the KDC: client not found
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0, proc.communicate()[0]
    assert not path.exists()


def _as_req() -> bytes:
    exchange = AsExchange("nobody", REALM, password="x", random=lambda n: bytes(n))
    return exchange.first_request(datetime.now(UTC))


def test_principal_add_on_a_full_disk_is_a_clear_error(tmp_path: Path) -> None:
    with tiny_tmpfs(tmp_path / "fs", "512k") as fs:
        directory = fs / "r"
        _init(directory, free_port())
        fill(fs)
        done = kf("principal", "add", "bob", "--dir", str(directory), "--password-stdin",
                  stdin="bob password 1\n")
        _clean_failure(done, "disk space")
        (fs / "filler").unlink()
        listed = kf("principal", "list", "--dir", str(directory), "--json")
        assert listed.returncode == 0 and "bob@" not in listed.stdout  # nothing half-added


@pytest.mark.parametrize("room", [0, 24 * 1024], ids=["full", "room-for-the-key-only"])
def test_realm_init_on_a_full_disk_is_a_clear_error_and_leaves_nothing(
    tmp_path: Path, room: int
) -> None:
    """It ended in a traceback and left master.key (and half a store) behind, so every
    later `realm init` refused to overwrite the master key."""
    with tiny_tmpfs(tmp_path / "fs", "512k") as fs:
        filler = fill(fs)
        os.truncate(filler, max(0, filler.stat().st_size - room))
        directory = fs / "r"
        _clean_failure(
            kf("realm", "init", "--dir", str(directory), "--realm", REALM, "--listen",
               f"127.0.0.1:{free_port()}"),
            "nothing was created", "disk space",
        )
        assert not directory.exists(), list(directory.iterdir())
        filler.unlink()
        _init(directory, free_port())  # with room again, init just works


def test_a_unix_path_too_long_once_resolved_is_refused_at_init(tmp_path: Path) -> None:
    """The default `kdc.sock` lives in the realm directory: a deep directory makes it longer
    than a UNIX socket address holds (108 bytes with the NUL), which only the bind in
    `kdc serve` found."""
    deep = tmp_path / ("d" * 60) / ("e" * 40)
    done = kf("realm", "init", "--dir", str(deep), "--realm", REALM, "--listen",
              f"127.0.0.1:{free_port()}")
    _clean_failure(done, "kdc.sock", "more than a UNIX socket address holds")
    assert not (deep / "kerbfirst.toml").exists()
    # A short absolute --unix for the same directory is fine.
    done = kf("realm", "init", "--dir", str(deep), "--realm", REALM, "--listen",
              f"127.0.0.1:{free_port()}", "--unix", str(tmp_path / "k.sock"))
    assert done.returncode == 0, done.stdout + done.stderr


def test_kdc_serve_port_0_serves_udp_and_tcp_on_one_port(tmp_path: Path) -> None:
    """A client's krb5.conf names one port per KDC for both transports (RFC 4120 7.2)."""
    directory = tmp_path / "r"
    _init(directory, free_port())
    proc = subprocess.Popen(
        [*KF, "kdc", "serve", "--dir", str(directory), "--listen", "127.0.0.1:0", "--unix", ""],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        assert proc.stdout is not None
        line = ""
        while "listening on" not in line:
            more = proc.stdout.readline()
            assert more, f"kdc serve exited: {line}"
            line = " ".join((line + more).split())
        ports = {t: int(p) for t, p in re.findall(r"(udp|tcp)/127\.0\.0\.1:(\d+)", line)}
        assert set(ports) == {"udp", "tcp"}, line
        assert ports["udp"] == ports["tcp"], f"UDP and TCP on different ports: {line}"
        for transport in ("udp", "tcp"):
            reply = send_to_kdc_sync(
                _as_req(), [KdcAddress(transport, host="127.0.0.1", port=ports["udp"])],
                timeout=5,
            )
            assert krb_error_code(reply) == 6, transport
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--listen", "127.0.0.1:{p}", "--listen", "127.0.0.1:{p}"], "same address"),
        (["--listen", "0.0.0.0:{p}", "--listen", "127.0.0.1:{p}"], "same address"),
        (["--listen", "127.0.0.1:{p}", "--unix", "a.sock", "--unix", "a.sock"], "listed twice"),
    ],
    ids=["same", "wildcard", "unix"],
)
def test_addresses_that_clash_with_each_other_are_refused_at_init(
    tmp_path: Path, args: list[str], says: str
) -> None:
    """Accepted, they made a realm whose `kdc serve` failed "Address already in use" (or
    "another server is listening"), blaming a clash that was the configuration's own."""
    port = str(free_port())
    done = kf("realm", "init", "--dir", str(tmp_path / "r"), "--realm", REALM,
              *[a.replace("{p}", port) for a in args])
    _clean_failure(done, says)
    assert not (tmp_path / "r" / "kerbfirst.toml").exists()
    # kdc serve --listen refuses them too, before binding anything.
    if "--unix" not in args:
        directory = tmp_path / "ok"
        _init(directory, int(port))
        listen = [a.replace("{p}", port) for a in args if a != "--listen"]
        served = _serve(directory, "--listen", listen[0], "--listen", listen[1])
        _clean_failure(served, "same address")
