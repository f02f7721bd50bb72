"""The real IAKerb topology, built from network namespaces (ip netns, veth):

    [client 10.201.1.1] --veth-- [10.201.1.2 server 10.201.2.1] --veth-- [10.201.2.2 kdc]

The server namespace does not forward packets and the client has no route to the KDC's
subnet. Our LocalKDC runs in the kdc namespace, our IAKerb acceptor in the server
namespace. From the client namespace, MIT `kinit` (plain Kerberos) fails, and MIT
`gss-client -iakerb` through the server succeeds. The KDC logs the peer of every request
it receives: all come from the server, none from the client.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from peerlib import peer_env, require_program, write_krb5_conf

from .iakerb_env import ALICE_PASSWORD, REALM

pytestmark = [pytest.mark.peer, pytest.mark.netns]

SEED = 17
CLIENT, SERVER_C, SERVER_K, KDC = "10.201.1.1", "10.201.1.2", "10.201.2.1", "10.201.2.2"
IAKERB_PORT = 4444
HOST = "server.test.realm"
TIMEOUT = 20.0


def _ip(*args: str) -> None:
    done = subprocess.run([require_program("ip"), *args], capture_output=True, text=True,
                          timeout=TIMEOUT, check=False)
    if done.returncode != 0:
        pytest.fail(f"`ip {' '.join(args)}` failed ({done.returncode}): "
                    f"{(done.stderr or done.stdout).strip()}", pytrace=False)


@pytest.fixture
def topology() -> Iterator[dict[str, str]]:
    if os.geteuid() != 0:
        pytest.fail("the netns topology test needs root (ip netns add); run CI as root")
    tag = f"{os.getpid() % 100000}"
    ns = {"client": f"kfc{tag}", "server": f"kfs{tag}", "kdc": f"kfk{tag}"}
    created: list[str] = []
    try:
        for name in ns.values():
            _ip("netns", "add", name)
            created.append(name)
            _ip("-n", name, "link", "set", "lo", "up")
        _ip("link", "add", f"vc{tag}", "type", "veth", "peer", "name", f"vs{tag}")
        _ip("link", "set", f"vc{tag}", "netns", ns["client"])
        _ip("link", "set", f"vs{tag}", "netns", ns["server"])
        _ip("link", "add", f"vk{tag}", "type", "veth", "peer", "name", f"vd{tag}")
        _ip("link", "set", f"vk{tag}", "netns", ns["server"])
        _ip("link", "set", f"vd{tag}", "netns", ns["kdc"])
        for name, dev, addr in ((ns["client"], f"vc{tag}", CLIENT),
                                (ns["server"], f"vs{tag}", SERVER_C),
                                (ns["server"], f"vk{tag}", SERVER_K),
                                (ns["kdc"], f"vd{tag}", KDC)):
            _ip("-n", name, "addr", "add", f"{addr}/24", "dev", dev)
            _ip("-n", name, "link", "set", dev, "up")
        yield ns
    finally:
        for name in created:
            subprocess.run([require_program("ip"), "netns", "del", name], capture_output=True,
                           timeout=TIMEOUT, check=False)


class Role:
    """A netns_roles.py process in a namespace; its stdout lines arrive on a queue."""

    def __init__(self, netns: str, *args: str) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        self.proc = subprocess.Popen(
            [require_program("ip"), "netns", "exec", netns, sys.executable,
             str(Path(__file__).with_name("netns_roles.py")), *args],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        self.seen: list[str] = []
        self.wait_for("READY")

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, text: str) -> None:
        while True:
            try:
                line = self.lines.get(timeout=TIMEOUT)
            except queue.Empty:
                pytest.fail(f"no {text!r} from {self.proc.args}; output so far: {self.seen}")
            self.seen.append(line)
            if line.startswith(text):
                return

    def stop(self) -> list[str]:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return self.seen


def test_client_without_line_of_sight_gets_kerberos_through_iakerb(
        topology: dict[str, str], tmp_path: Path) -> None:
    conf = write_krb5_conf(tmp_path / "krb5.conf", REALM, [f"{KDC}:88"],
                           extra_libdefaults={"dns_canonicalize_hostname": "false"})
    conf.write_text(conf.read_text() + f"\n[domain_realm]\n    {HOST} = {REALM}\n")
    env = peer_env(conf, tmp_path / "ccache")
    kdc = Role(topology["kdc"], "kdc", KDC, "88", str(SEED))
    server = None
    try:
        server = Role(topology["server"], "server", SERVER_C, str(IAKERB_PORT), str(SEED),
                      f"{KDC}:88")
        ip = require_program("ip")
        plain = subprocess.run(
            [ip, "netns", "exec", topology["client"], require_program("kinit"), "alice"],
            input=ALICE_PASSWORD + "\n", env=env, capture_output=True, text=True,
            timeout=TIMEOUT, check=False)
        assert plain.returncode != 0, plain.stdout + plain.stderr
        assert "Cannot contact any KDC" in plain.stderr, plain.stderr
        iakerb = subprocess.run(
            [ip, "netns", "exec", topology["client"], require_program("gss-client"), "-iakerb",
             "-user", "alice", "-pass", ALICE_PASSWORD, "-port", str(IAKERB_PORT), SERVER_C,
             f"host@{HOST}", "across the namespaces"],
            env=env, capture_output=True, text=True, timeout=TIMEOUT, check=False)
        assert iakerb.returncode == 0, iakerb.stdout + iakerb.stderr
        assert "Signature verified" in iakerb.stdout, iakerb.stdout
        server.wait_for("{")
    finally:
        server_lines = server.stop() if server is not None else []
        kdc_lines = kdc.stop()
    requests = [line.split()[1] for line in kdc_lines if line.startswith("REQUEST ")]
    assert len(requests) == 3, kdc_lines  # AS-REQ, AS-REQ with pre-auth, TGS-REQ
    assert all(peer.startswith(f"{SERVER_K}:") for peer in requests), requests
    assert not any(CLIENT in line for line in kdc_lines), kdc_lines
    events = [json.loads(line) for line in server_lines if line.startswith("{")]
    assert [e["outcome"] for e in events] == ["authenticated"], server_lines
    assert events[0]["peer"].startswith(f"{CLIENT}:") and events[0]["kdc"] == f"{KDC}:88"
