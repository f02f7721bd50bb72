"""Binding the KDC's listening sockets, and removing its UNIX socket files again.

Binding is separate from serving so that the supervising parent can bind once and hand
the same sockets to every forked worker (see kdc_workers).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket
import stat
from collections.abc import Sequence

from kerbfirst.net.listener import Listener
from kerbfirst.net.systemd import take_passed_listeners

_LISTEN_BACKLOG = 128


def bind_listeners(
    *,
    udp: Sequence[tuple[str, int]],
    tcp: Sequence[tuple[str, int]],
    unix: Sequence[str],
    unix_mode: int,
) -> list[Listener]:
    """Bind every configured address; on any failure close what was bound and re-raise.

    A host with port 0 in both `udp` and `tcp` gets one port for both: a client's
    krb5.conf names one port per KDC and tries UDP and TCP on it (RFC 4120 7.2), so
    two different kernel-chosen ports would leave one transport unreachable.

    Under socket activation (sd_listen_fds(3): sockets passed by systemd to this process)
    the passed sockets are returned instead: the .socket unit decides the addresses."""
    passed = take_passed_listeners()
    if passed is not None:
        return passed
    bound: list[Listener] = []
    try:
        paired = [(host, port) for host, port in tcp if port == 0 and (host, 0) in udp]
        for host, port in udp:
            if (host, port) in paired:
                udp_sock, tcp_sock = _bind_pair(host)
                bound.append(Listener("udp", udp_sock))
                bound.append(Listener("tcp", tcp_sock))
            else:
                bound.append(Listener("udp", _bind_inet(socket.SOCK_DGRAM, host, port)))
        for host, port in tcp:
            if (host, port) not in paired:
                bound.append(Listener("tcp", _bind_inet(socket.SOCK_STREAM, host, port)))
        for path in unix:
            bound.append(_bind_unix(path, unix_mode))
    except BaseException:
        close_listeners(bound, remove_unix_files=True)
        raise
    return bound


def close_listeners(listeners: Sequence[Listener], *, remove_unix_files: bool) -> None:
    """Close the sockets; remove UNIX socket files that are still the ones we created."""
    for listener in listeners:
        listener.sock.close()
        if remove_unix_files and listener.transport == "unix":
            remove_unix_socket(listener.path, listener.file_id)


def remove_unix_socket(path: str, file_id: tuple[int, int] | None) -> None:
    """Unlink `path` only if it is still our socket (a successor may have replaced it)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if stat.S_ISSOCK(st.st_mode) and (st.st_dev, st.st_ino) == file_id:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


_PAIR_TRIES = 32  # kernel-chosen UDP ports tried until TCP's same port is free too


def _bind_pair(host: str) -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on `host` with the same kernel-chosen port."""
    for _ in range(_PAIR_TRIES):
        udp_sock = _bind_inet(socket.SOCK_DGRAM, host, 0)
        try:
            return udp_sock, _bind_inet(socket.SOCK_STREAM, host, udp_sock.getsockname()[1])
        except OSError as exc:
            udp_sock.close()
            if exc.errno != errno.EADDRINUSE:
                raise
    raise OSError(
        errno.EADDRINUSE, f"cannot bind UDP and TCP {host}: no port free for both"
    )


def _bind_inet(kind: socket.SocketKind, host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, kind)
    try:
        if kind == socket.SOCK_STREAM:
            # Restart without waiting out TIME_WAIT; this is not SO_REUSEPORT, nobody else
            # can bind the port while we hold it.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            # Name the one address that failed: with several listeners, which is busy?
            proto = "TCP" if kind == socket.SOCK_STREAM else "UDP"
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            raise OSError(
                exc.errno, f"cannot bind {proto} {shown}: {exc.strerror or exc}"
            ) from exc
        if kind == socket.SOCK_STREAM:
            sock.listen(_LISTEN_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


def _bind_unix(path: str, mode: int) -> Listener:
    if not os.path.isabs(path):
        raise ValueError(f"KDC unix socket path {path!r} must be absolute")
    _remove_stale_unix_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        # The umask makes the file appear with at most `mode`: no window in which a
        # chmod has not yet happened. The parent is single-threaded here.
        old_umask = os.umask(0o777 & ~mode)
        try:
            sock.bind(path)
        except OSError as exc:
            raise OSError(
                exc.errno, f"cannot bind UNIX socket {path}: {exc.strerror or exc}"
            ) from exc
        finally:
            os.umask(old_umask)
        os.chmod(path, mode)
        st = os.lstat(path)
        sock.listen(_LISTEN_BACKLOG)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return Listener("unix", sock, path=path, file_id=(st.st_dev, st.st_ino))


def _remove_stale_unix_socket(path: str) -> None:
    """Unlink a socket file left by a crashed server; refuse anything else."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise FileExistsError(
            errno.EEXIST, f"{path} exists and is not a socket; remove it or choose another path"
        )
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(1.0)
    try:
        probe.connect(path)
    except (ConnectionRefusedError, FileNotFoundError):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        return
    finally:
        probe.close()
    raise OSError(errno.EADDRINUSE, f"another server is listening on {path}; stop it first")
