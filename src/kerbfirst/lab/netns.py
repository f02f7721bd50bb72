"""The lab's network: one network namespace per role, joined by two bridges that live in a
namespace of their own, with private addresses and no route off the machine.

    corp LAN 10.231.1.0/24: corp KDC .10, second-realm KDC .20, workgroup machine .30,
                            app server .40, corp client .50, second-realm client .60
    edge     10.231.2.0/24: app server .40, branch client .70, legacy device .80

Every veth is created inside the switch namespace with its peer moved straight into a role
namespace: nothing is ever attached to the host's namespace, no namespace has a default
route, and the app server does not forward (a new namespace starts with forwarding off), so
the branch client and the legacy device reach the app server and nothing else.

Names are `kflab<TAG>-<role>`, TAG derived from the lab directory, so two labs and a
leftover of either can be told apart and removed (`destroy`).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

PREFIX = "kflab"
TIMEOUT = 20.0
CORP_NET, EDGE_NET = "10.231.1", "10.231.2"
ETC_NETNS = Path("/etc/netns")


@dataclass(frozen=True)
class Host:
    role: str
    name: str  # DNS name in the lab
    corp: str | None  # address on the corp LAN
    edge: str | None  # address on the edge network


HOSTS: tuple[Host, ...] = (
    Host("kdc", "kdc.corp.lab", f"{CORP_NET}.10", None),
    Host("mit", "kdc.other.lab", f"{CORP_NET}.20", None),
    Host("wg", "wg01.corp.lab", f"{CORP_NET}.30", None),
    Host("app", "app.corp.lab", f"{CORP_NET}.40", f"{EDGE_NET}.40"),
    Host("corp", "pc01.corp.lab", f"{CORP_NET}.50", None),
    Host("other", "pc01.other.lab", f"{CORP_NET}.60", None),
    Host("branch", "br01.corp.lab", None, f"{EDGE_NET}.70"),
    Host("legacy", "scan01.corp.lab", None, f"{EDGE_NET}.80"),
)
BY_ROLE = {h.role: h for h in HOSTS}
SWITCH = "sw"


class NetnsError(Exception):
    """A namespace operation failed; the message names the command and its error."""


def tag_for(directory: Path) -> str:
    return hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:6]


def ns_name(tag: str, role: str) -> str:
    return f"{PREFIX}{tag}-{role}"


def address(role: str) -> str:
    """The address others use to reach `role` (its corp LAN address when it has one)."""
    h = BY_ROLE[role]
    return h.corp or h.edge or ""


def in_ns(tag: str, role: str, argv: list[str]) -> list[str]:
    return [_ip(), "netns", "exec", ns_name(tag, role), *argv]


def _ip() -> str:
    found = shutil.which("ip") or ("/usr/sbin/ip" if os.path.exists("/usr/sbin/ip") else None)
    if found is None:
        raise NetnsError("`ip` is missing: apt-get install iproute2")
    return found


def _run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([_ip(), *args], capture_output=True, text=True, timeout=TIMEOUT,
                          check=False)
    if check and done.returncode != 0:
        raise NetnsError(f"`ip {' '.join(args)}` failed ({done.returncode}): "
                         f"{(done.stderr or done.stdout).strip()}")
    return done


def existing(tag: str | None = None) -> list[str]:
    """The lab namespaces present now (of one lab, or of every lab when tag is None)."""
    out = _run("netns", "list", check=False).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    start = PREFIX if tag is None else f"{PREFIX}{tag}-"
    return sorted(n for n in names if n.startswith(start))


def _hosts_file(host: Host) -> str:
    lines = ["127.0.0.1 localhost", f"127.0.1.1 {host.name} {host.name.split('.')[0]}"]
    for other in HOSTS:
        if other is host:
            continue
        # The address this host can reach the other on (the app server has two).
        if host.corp and other.corp:
            lines.append(f"{other.corp} {other.name}")
        elif host.edge and other.edge:
            lines.append(f"{other.edge} {other.name}")
    return "\n".join(lines) + "\n"


def create(tag: str) -> list[str]:
    """Make the namespaces, bridges, links and addresses; on failure remove what was made."""
    if os.geteuid() != 0:
        raise NetnsError("the lab needs root (ip netns add): run it as root")
    if existing(tag):
        raise NetnsError(f"a lab with tag {tag} exists already ({', '.join(existing(tag))}): "
                         "run `kerbfirst lab down --dir DIR` first")
    sw = ns_name(tag, SWITCH)
    try:
        for name in [sw, *(ns_name(tag, h.role) for h in HOSTS)]:
            _run("netns", "add", name)
            _run("-n", name, "link", "set", "lo", "up")
        for bridge in ("brcorp", "bredge"):
            _run("-n", sw, "link", "add", bridge, "type", "bridge")
            _run("-n", sw, "link", "set", bridge, "up")
        for h in HOSTS:
            ns = ns_name(tag, h.role)
            for net, addr, bridge in (("c", h.corp, "brcorp"), ("e", h.edge, "bredge")):
                if addr is None:
                    continue
                port, dev = f"{h.role[:6]}-{net}", f"eth{net}"
                _run("-n", sw, "link", "add", port, "type", "veth", "peer", "name", dev,
                     "netns", ns)
                _run("-n", sw, "link", "set", port, "master", bridge)
                _run("-n", sw, "link", "set", port, "up")
                _run("-n", ns, "addr", "add", f"{addr}/24", "dev", dev)
                _run("-n", ns, "link", "set", dev, "up")
            hosts = ETC_NETNS / ns / "hosts"
            hosts.parent.mkdir(parents=True, exist_ok=True)
            hosts.write_text(_hosts_file(h))
    except BaseException:
        destroy(tag)
        raise
    return existing(tag)


def _kill_all(names: list[str]) -> None:
    """SIGTERM every process in the namespaces, then SIGKILL what is left after a grace."""
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 1.0)):
        pids = {int(p) for n in names
                for p in _run("netns", "pids", n, check=False).stdout.split() if p.isdigit()}
        if not pids:
            return
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not any(_run("netns", "pids", n, check=False).stdout.split() for n in names):
                return
            time.sleep(0.1)


def destroy(tag: str | None) -> list[str]:
    """Stop every process in the lab's namespaces and remove them (all labs' when tag is
    None); returns the names removed."""
    names = existing(tag)
    _kill_all(names)
    for name in names:
        _run("netns", "del", name, check=False)
        shutil.rmtree(ETC_NETNS / name, ignore_errors=True)
    return names


def isolation_problems(tag: str) -> list[str]:
    """What would let traffic off the machine: a default route in a namespace, a route to
    an outside address, a veth whose peer is outside the lab's namespaces, forwarding."""
    ours = set(existing(tag))
    problems = []
    for name in sorted(ours):
        routes = _run("-n", name, "route", "show", check=False).stdout
        if "default" in routes:
            problems.append(f"{name}: has a default route")
        probe = _run("-n", name, "route", "get", "192.0.2.1", check=False)
        if probe.returncode == 0:
            problems.append(f"{name}: routes 192.0.2.1 ({probe.stdout.strip()})")
        links = _run("-n", name, "-o", "link", "show", check=False).stdout
        for line in links.splitlines():
            if "link-netns" in line:
                peer_ns = line.split("link-netns", 1)[1].split()[0]
                if peer_ns not in ours:
                    problems.append(f"{name}: a link's peer is in namespace {peer_ns}")
            elif "link-netnsid" in line:  # a peer in an unnamed namespace: the host's
                problems.append(f"{name}: a link's peer is outside the lab: {line[:80]}")
        forwarding = subprocess.run(
            [_ip(), "netns", "exec", name, "cat", "/proc/sys/net/ipv4/ip_forward"],
            capture_output=True, text=True, timeout=TIMEOUT, check=False).stdout.strip()
        if forwarding == "1":
            problems.append(f"{name}: forwards IPv4")
    return problems
