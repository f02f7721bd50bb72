"""A listening socket of the KDC as bound here or passed in by systemd (systemd.py)."""

from __future__ import annotations

import dataclasses
import socket
from typing import Literal

from kerbfirst.net.kdc_address import KdcAddress

ListenerTransport = Literal["udp", "tcp", "unix"]


@dataclasses.dataclass(frozen=True, slots=True)
class Listener:
    """A bound (and for streams, listening) socket. For unix, the file's identity too."""

    transport: ListenerTransport
    sock: socket.socket
    path: str = ""
    file_id: tuple[int, int] | None = None  # (st_dev, st_ino) of the socket file we created

    def address(self) -> KdcAddress:
        if self.transport == "unix":
            return KdcAddress("unix", path=self.path)
        host, port = self.sock.getsockname()[:2]
        return KdcAddress(self.transport, host=host, port=port)
