"""A UDP load generator for KDC benchmarks: the same for MIT's krb5kdc and ours.

Requests are built before the clock starts (every one distinct: its own nonce and
pre-authentication timestamp, so neither KDC's reply cache answers it), then sent over one
UDP socket with a fixed window of requests in flight. Replies are classified by their
outer APPLICATION tag (RFC 4120 section 5.10): 0x6b AS-REP, 0x6d TGS-REP, 0x7e KRB-ERROR.
"""

from __future__ import annotations

import dataclasses
import select
import socket
import time
from collections import Counter
from collections.abc import Sequence

TAGS = {0x6B: "as-rep", 0x6D: "tgs-rep", 0x7E: "krb-error"}


@dataclasses.dataclass
class LoadResult:
    sent: int
    replies: Counter[str]
    lost: int
    elapsed: float

    @property
    def ok(self) -> int:
        return self.replies["as-rep"] + self.replies["tgs-rep"]

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0


def blast(
    addr: tuple[str, int], requests: Sequence[bytes], *, window: int = 32, idle_timeout: float = 1.0
) -> LoadResult:
    """Send every request once, keeping `window` in flight; count replies by kind."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.connect(addr)
    sock.setblocking(False)
    replies: Counter[str] = Counter()
    nxt = 0
    in_flight = 0
    lost = 0
    start = time.perf_counter()
    while nxt < len(requests) and in_flight < window:
        sock.send(requests[nxt])
        nxt += 1
        in_flight += 1
    while in_flight:
        ready, _, _ = select.select([sock], [], [], idle_timeout)
        if not ready:
            # A datagram was dropped somewhere: count the window as lost, keep going.
            lost += in_flight
            in_flight = 0
        else:
            while True:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    break
                except ConnectionRefusedError:
                    lost += 1
                    in_flight -= 1
                    continue
                replies[TAGS.get(data[0], "other")] += 1
                in_flight -= 1
        while nxt < len(requests) and in_flight < window:
            sock.send(requests[nxt])
            nxt += 1
            in_flight += 1
    elapsed = time.perf_counter() - start
    sock.close()
    return LoadResult(sent=len(requests), replies=replies, lost=lost, elapsed=elapsed)
