"""A UDP load generator for KDC benchmarks: the same for MIT's krb5kdc and ours.

Requests are built before the clock starts (every one distinct: its own nonce and
pre-authentication timestamp, so neither KDC's reply cache answers it), then sent over one
UDP socket with a fixed window of requests in flight. Replies are classified by their
outer APPLICATION tag (RFC 4120 section 5.10): 0x6b AS-REP, 0x6d TGS-REP, 0x7e KRB-ERROR.

`blast` sends a fixed list; with `duration` it stops counting at a deadline (a timed
measurement). `blast_parallel` runs the same in several forked processes that start
together, for when one Python process cannot saturate the server.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
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
    def total(self) -> int:
        return sum(self.replies.values())

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    @property
    def total_rate(self) -> float:
        return self.total / self.elapsed if self.elapsed else 0.0

    def merge(self, other: LoadResult) -> LoadResult:
        """Two generators that ran at the same time: counts add, the clock is shared."""
        return LoadResult(
            sent=self.sent + other.sent,
            replies=self.replies + other.replies,
            lost=self.lost + other.lost,
            elapsed=max(self.elapsed, other.elapsed),
        )


def blast(
    addr: tuple[str, int],
    requests: Sequence[bytes],
    *,
    window: int = 32,
    idle_timeout: float = 1.0,
    duration: float | None = None,
    start_at: float | None = None,
) -> LoadResult:
    """Send requests once each, keeping `window` in flight; count replies by kind.

    With `duration`, only replies received within `duration` seconds of the start are
    counted (and the elapsed time is the duration, or less if the requests ran out); the
    replies still in flight at the deadline are drained, uncounted. `start_at` is a
    time.perf_counter() value to wait for first (several generators start together).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    sock.connect(addr)
    sock.setblocking(False)
    replies: Counter[str] = Counter()
    nxt = 0
    in_flight = 0
    lost = 0
    total = len(requests)
    if start_at is not None:
        while (wait := start_at - time.perf_counter()) > 0:
            time.sleep(min(wait, 0.05))
    start = time.perf_counter()
    deadline = start + duration if duration is not None else float("inf")
    last_reply = start
    while nxt < total and in_flight < window:
        nxt += 1
        if _send(sock, requests[nxt - 1]):
            in_flight += 1
        else:
            lost += 1
    while in_flight:
        now = time.perf_counter()
        if now >= deadline:
            break
        ready, _, _ = select.select([sock], [], [], min(idle_timeout, deadline - now))
        if not ready:
            if time.perf_counter() < deadline:
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
            last_reply = time.perf_counter()
        while nxt < total and in_flight < window:
            nxt += 1
            if _send(sock, requests[nxt - 1]):
                in_flight += 1
            else:
                lost += 1
    # Timed and not out of requests: the full duration; otherwise until the last reply.
    elapsed = duration if duration is not None and nxt < total else last_reply - start
    _drain(sock, in_flight, idle_timeout)
    sock.close()
    return LoadResult(sent=nxt, replies=replies, lost=lost, elapsed=elapsed)


def _send(sock: socket.socket, request: bytes) -> bool:
    """False when the server is gone (ICMP port unreachable, reported on a later send)."""
    try:
        sock.send(request)
    except ConnectionRefusedError:
        return False
    return True


def _drain(sock: socket.socket, in_flight: int, idle_timeout: float) -> None:
    """Read (and forget) the replies still on their way, so they cannot leak into the
    next measurement's counts or queue on the server."""
    while in_flight > 0:
        ready, _, _ = select.select([sock], [], [], idle_timeout)
        if not ready:
            return
        try:
            while True:
                sock.recv(65536)
                in_flight -= 1
        except (BlockingIOError, ConnectionRefusedError):
            pass


def _child(
    conn: multiprocessing.connection.Connection,
    addr: tuple[str, int],
    requests: Sequence[bytes],
    window: int,
    duration: float | None,
    start_at: float,
) -> None:
    result = blast(addr, requests, window=window, duration=duration, start_at=start_at)
    conn.send((result.sent, dict(result.replies), result.lost, result.elapsed))
    conn.close()


def blast_parallel(
    addr: tuple[str, int],
    request_sets: Sequence[Sequence[bytes]],
    *,
    window: int = 32,
    duration: float | None = None,
) -> LoadResult:
    """One forked generator process per request set, all starting at the same instant.

    fork (not spawn): the children inherit the prebuilt requests without pickling them.
    """
    if len(request_sets) == 1:
        return blast(addr, request_sets[0], window=window, duration=duration)
    ctx = multiprocessing.get_context("fork")
    start_at = time.perf_counter() + 0.3  # time for every child to be forked and waiting
    children = []
    for requests in request_sets:
        parent_end, child_end = ctx.Pipe(duplex=False)
        proc = ctx.Process(
            target=_child, args=(child_end, addr, requests, window, duration, start_at)
        )
        proc.start()
        child_end.close()
        children.append((proc, parent_end))
    merged: LoadResult | None = None
    for proc, parent_end in children:
        timeout = (duration or 60.0) + 30.0
        if not parent_end.poll(timeout):
            proc.kill()
            raise RuntimeError("a load generator process did not report back")
        sent, replies, lost, elapsed = parent_end.recv()
        proc.join(5)
        result = LoadResult(sent=sent, replies=Counter(replies), lost=lost, elapsed=elapsed)
        merged = result if merged is None else merged.merge(result)
    if merged is None:
        raise ValueError("no request sets")
    return merged
