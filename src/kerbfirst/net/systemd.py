"""systemd's socket activation and readiness protocol, as sd_listen_fds(3) and sd_notify(3)
specify them, without libsystemd.

Socket activation: the service manager (systemd, or `systemd-socket-activate` for a test)
binds the sockets a .socket unit lists and starts the service with them open from file
descriptor 3 (SD_LISTEN_FDS_START) on; LISTEN_FDS says how many, LISTEN_PID names the
process they are meant for (a child that inherited the environment must not take them),
and LISTEN_FDNAMES optionally names them (FileDescriptorName=), separated by ":".

Readiness: a service of Type=notify sends "READY=1" (and later "STOPPING=1") as one
datagram to the AF_UNIX socket NOTIFY_SOCKET names; a name starting with "@" is in the
abstract namespace.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass

from kerbfirst.net.listener import Listener

SD_LISTEN_FDS_START = 3
# A .socket unit lists a handful of sockets; far more means a broken environment.
_MAX_FDS = 1024
_NOTIFY_TIMEOUT = 2.0  # seconds; the manager reads its notify socket at once


class ActivationError(ValueError):
    """The activation environment is malformed or a passed descriptor is unusable."""


@dataclass(frozen=True, slots=True)
class PassedSocket:
    fd: int
    name: str  # FileDescriptorName=, or "unknown" as sd_listen_fds_with_names(3) says


def passed_sockets(env: Mapping[str, str] | None = None, pid: int | None = None
                   ) -> list[PassedSocket]:
    """The sockets the service manager passed to this process (empty when none were)."""
    env = os.environ if env is None else env
    if "LISTEN_FDS" not in env:
        return []
    listen_pid = env.get("LISTEN_PID", "")
    if not listen_pid.isdigit() or int(listen_pid) != (os.getpid() if pid is None else pid):
        return []  # meant for another process (the one that inherited this environment)
    count_text = env["LISTEN_FDS"]
    if not count_text.isdigit() or not 0 < int(count_text) <= _MAX_FDS:
        raise ActivationError(f"LISTEN_FDS={count_text!r} is not a count of sockets "
                              f"(1 to {_MAX_FDS})")
    count = int(count_text)
    names = env.get("LISTEN_FDNAMES", "").split(":") if env.get("LISTEN_FDNAMES") else []
    if names and len(names) != count:
        raise ActivationError(f"LISTEN_FDNAMES names {len(names)} sockets, LISTEN_FDS says "
                              f"{count}")
    return [PassedSocket(SD_LISTEN_FDS_START + i, names[i] if names else "unknown")
            for i in range(count)]


def take_passed_listeners(env: MutableMapping[str, str] | None = None) -> list[Listener] | None:
    """The passed sockets as the KDC's listeners, or None when nothing was passed.

    Datagram inet sockets serve UDP, stream inet sockets TCP, stream AF_UNIX sockets the
    local transport. The activation variables are removed once taken (sd_listen_fds with
    unset_environment), so worker processes and programs started later do not see them.
    The UNIX socket files belong to the service manager: they are never removed here."""
    env = os.environ if env is None else env
    passed = passed_sockets(env)
    if not passed:
        return None
    for key in ("LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"):
        env.pop(key, None)
    listeners = []
    for item in passed:
        try:
            sock = socket.socket(fileno=item.fd)
        except OSError as exc:
            raise ActivationError(f"passed descriptor {item.fd} ({item.name}) is not a socket: "
                                  f"{exc.strerror}") from None
        listeners.append(_listener(sock, item))
    return listeners


def _listener(sock: socket.socket, item: PassedSocket) -> Listener:
    stream = sock.type == socket.SOCK_STREAM
    if stream and not sock.getsockopt(socket.SOL_SOCKET, socket.SO_ACCEPTCONN):
        raise ActivationError(f"passed stream socket {item.fd} ({item.name}) is not listening "
                              "(Accept=yes is not supported: use Accept=no)")
    sock.setblocking(False)
    if sock.family == socket.AF_UNIX and stream:
        path = sock.getsockname()
        return Listener("unix", sock, path=path if isinstance(path, str) else "")
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        if stream:
            return Listener("tcp", sock)
        if sock.type == socket.SOCK_DGRAM:
            return Listener("udp", sock)
    raise ActivationError(f"passed socket {item.fd} ({item.name}) is neither UDP, TCP nor a "
                          "UNIX stream socket")


def notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send `state` (e.g. "READY=1") to the service manager; False when there is none.

    Errors reaching the manager are not fatal to the service (sd_notify's contract): they
    are reported through the return value only."""
    env = os.environ if env is None else env
    target = env.get("NOTIFY_SOCKET", "")
    if not target:
        return False
    if target[0] == "@":
        address = "\0" + target[1:]
    elif target[0] == "/":
        address = target
    else:
        return False  # vsock and other forms are not ours to speak
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.settimeout(_NOTIFY_TIMEOUT)
            sock.sendto(state.encode(), address)
    except OSError:
        return False
    return True
