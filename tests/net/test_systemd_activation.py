"""`kerbfirst kdc serve` under systemd: socket activation (sd_listen_fds(3)) and readiness
notification (sd_notify(3)).

The activation test runs the real `kerbfirst kdc serve` under systemd's own
`systemd-socket-activate` (Debian's systemd package; it needs no running systemd), which
binds UDP and TCP on one port and a UNIX socket (two activators nested, as the first only
makes datagram sockets and passes its socket on), and a realm whose own configuration names
a port nothing listens on: MIT's kinit over UDP and over TCP, and kerbfirst's kinit over the
UNIX socket, can only succeed through the passed sockets. NOTIFY_SOCKET is a datagram socket
this test listens on.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerbfirst.net import systemd
from kerbfirst.net.kdc_sockets import bind_listeners, close_listeners
from peerlib import free_port, peer_env, require_program, run_peer, write_krb5_conf

REALM = "ACTIVATED.TEST"
PASSWORD = "activated pw 1"
KF = [sys.executable, "-m", "kerbfirst.cli.main"]
TIMEOUT = 20.0


def test_passed_sockets_reads_the_environment_for_this_process_only() -> None:
    env = {"LISTEN_PID": "4242", "LISTEN_FDS": "3",
           "LISTEN_FDNAMES": "kerberos-udp:kerberos-tcp:kerberos-unix"}
    assert [(s.fd, s.name) for s in systemd.passed_sockets(env, pid=4242)] == [
        (3, "kerberos-udp"), (4, "kerberos-tcp"), (5, "kerberos-unix")]
    assert systemd.passed_sockets(env, pid=4243) == []  # inherited by a child: not its own
    assert systemd.passed_sockets({}, pid=4242) == []
    unnamed = systemd.passed_sockets({"LISTEN_PID": "7", "LISTEN_FDS": "1"}, pid=7)
    assert [(s.fd, s.name) for s in unnamed] == [(3, "unknown")]


@pytest.mark.parametrize("env,message", [
    ({"LISTEN_PID": "7", "LISTEN_FDS": "x"}, "is not a count"),
    ({"LISTEN_PID": "7", "LISTEN_FDS": "0"}, "is not a count"),
    ({"LISTEN_PID": "7", "LISTEN_FDS": "99999"}, "is not a count"),
    ({"LISTEN_PID": "7", "LISTEN_FDS": "2", "LISTEN_FDNAMES": "a"}, "names 1 sockets"),
])
def test_malformed_activation_environment_is_refused(env: dict[str, str], message: str) -> None:
    with pytest.raises(systemd.ActivationError, match=message):
        systemd.passed_sockets(env, pid=7)


def test_bind_listeners_binds_when_nothing_was_passed() -> None:
    env_before = dict(os.environ)
    listeners = bind_listeners(udp=[("127.0.0.1", 0)], tcp=[], unix=[], unix_mode=0o600)
    try:
        assert [listener.transport for listener in listeners] == ["udp"]
    finally:
        close_listeners(listeners, remove_unix_files=True)
    assert dict(os.environ) == env_before


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(TIMEOUT)
    try:
        yield sock, path
    finally:
        sock.close()


def test_notify_sends_one_datagram_to_a_path_and_an_abstract_socket(
        notify_socket: tuple[socket.socket, str]) -> None:
    sock, path = notify_socket
    assert systemd.notify("READY=1", {"NOTIFY_SOCKET": path})
    assert sock.recv(4096) == b"READY=1"
    name = f"kerbfirst-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as abstract:
        abstract.bind("\0" + name)
        abstract.settimeout(TIMEOUT)
        assert systemd.notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name})
        assert abstract.recv(4096) == b"STOPPING=1"
    assert not systemd.notify("READY=1", {})  # no service manager: nothing sent, no error
    assert not systemd.notify("READY=1", {"NOTIFY_SOCKET": str(Path(path).with_name("none"))})


def _kf(*args: str, stdin: str | None = None) -> str:
    done = subprocess.run([*KF, *args], input=stdin, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, f"kerbfirst {' '.join(args)}: {done.stdout}{done.stderr}"
    return done.stdout + done.stderr


def _messages(sock: socket.socket, until: str, proc: subprocess.Popen[str]) -> list[str]:
    seen: list[str] = []
    while not any(until in m for m in seen):
        try:
            seen.append(sock.recv(4096).decode())
        except TimeoutError:
            proc.kill()
            output = proc.communicate()[0]
            pytest.fail(f"no {until!r} on NOTIFY_SOCKET within {TIMEOUT}s; got {seen}; "
                        f"the KDC's output: {output}")
    return seen


@pytest.mark.peer
def test_kdc_serve_answers_mit_kinit_on_sockets_passed_by_systemd_socket_activate(
        tmp_path: Path, notify_socket: tuple[socket.socket, str]) -> None:
    activate = require_program("systemd-socket-activate")
    notify, notify_path = notify_socket
    realm_dir = tmp_path / "realm"
    unused = free_port()  # the realm's own --listen: nothing ever listens there
    _kf("realm", "init", "--dir", str(realm_dir), "--realm", REALM,
        "--listen", f"127.0.0.1:{unused}")
    _kf("principal", "add", "alice", "--password-stdin", "--dir", str(realm_dir),
        stdin=PASSWORD + "\n")
    port = free_port()
    unix_path = tmp_path / "kdc.sock"
    # systemd-socket-activate passes only LISTEN_* and the -E variables on.
    pass_env = [f"-E{name}={os.environ.get(name, '')}" for name in ("PYTHONPATH", "PATH")]
    kdc = subprocess.Popen(
        [activate, "--datagram", "-l", f"127.0.0.1:{port}", "--fdname=kerberos-udp",
         *pass_env, activate, "-l", f"127.0.0.1:{port}", "-l", str(unix_path),
         "--fdname=kerberos-udp:kerberos-tcp:kerberos-unix", *pass_env,
         f"-ENOTIFY_SOCKET={notify_path}",
         *KF, "kdc", "serve", "--dir", str(realm_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    try:
        # The activators start the KDC on the first datagram (no Accept=); once it is up,
        # it says READY=1. The datagram (malformed) is sent until then: the activator may
        # not have bound the port yet. The KDC drops or refuses each one.
        deadline = time.monotonic() + TIMEOUT
        notify.settimeout(0.5)
        states: list[str] = []
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as wake:
            while not states and time.monotonic() < deadline:
                wake.sendto(b"wake up", ("127.0.0.1", port))
                with contextlib.suppress(TimeoutError):
                    states.append(notify.recv(4096).decode())
        notify.settimeout(TIMEOUT)
        states += _messages(notify, "READY=1", kdc) if "READY=1" not in "".join(states) else []
        results = {}
        for transport, limit in (("udp", "1465"), ("tcp", "1")):
            conf = write_krb5_conf(tmp_path / f"{transport}.conf", REALM, [f"127.0.0.1:{port}"],
                                   extra_libdefaults={"udp_preference_limit": limit})
            env = peer_env(conf, tmp_path / f"{transport}.ccache")
            results[transport] = run_peer(["kinit", "alice"], env=env, input=PASSWORD + "\n",
                                          timeout=TIMEOUT)
        ours = _kf("kinit", "alice", "--password-stdin", "--realm", REALM,
                   "--kdc", f"unix:{unix_path}", "--ccache", str(tmp_path / "unix.ccache"),
                   stdin=PASSWORD + "\n")
        kdc.send_signal(signal.SIGTERM)
        states += _messages(notify, "STOPPING=1", kdc)
        code = kdc.wait(timeout=TIMEOUT)
    finally:
        if kdc.poll() is None:
            kdc.kill()
            kdc.wait()
    log = kdc.stdout.read() if kdc.stdout else ""
    for transport, done in results.items():
        assert done.returncode == 0, f"MIT kinit over {transport}: {done.stderr}\n{log}"
    assert f"credentials for alice@{REALM}" in ours
    assert code == 0, log
    assert f"udp/127.0.0.1:{port}" in log and f"tcp/127.0.0.1:{port}" in log, log
    assert f"unix:{unix_path}" in log, log
    assert any(s.startswith("READY=1") and f"127.0.0.1:{port}" in s for s in states), states
    events = [json.loads(line) for line in (realm_dir / "kdc-audit.jsonl").read_text().splitlines()]
    granted = {e["transport"] for e in events if e["outcome"] == "granted"}
    assert {"udp", "tcp", "unix"} <= granted, events
