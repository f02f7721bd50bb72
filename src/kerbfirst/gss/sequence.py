"""Receive-side sequence number checking for per-message tokens (RFC 4121 4.2.3, RFC 2743
1.2.3): a sliding window over the 64-bit sequence numbers, as MIT's g_seqnum does.

With replay detection a repeated number is a duplicate and one older than the window is old;
with sequencing a number past the next expected is a gap and one behind it is unsequenced.
"""

from __future__ import annotations

from kerbfirst.gss.errors import DuplicateToken, GapToken, OldToken, SequenceError, UnseqToken

WINDOW = 64


class SequenceWindow:
    def __init__(self, first: int, *, replay: bool, sequence: bool) -> None:
        self.replay = replay
        self.sequence = sequence
        self.next = first  # the next number expected
        self._seen = 0  # bit i set: number next-1-i was received

    def check(self, seq: int, payload: bytes) -> None:
        """Record `seq`; raise a SequenceError carrying `payload` if it is out of order."""
        error: SequenceError | None = None
        if seq >= self.next:
            shift = seq - self.next + 1
            self._seen = ((self._seen << shift) | 1) & ((1 << WINDOW) - 1) if shift < WINDOW else 1
            gap = seq > self.next
            self.next = seq + 1
            if gap and self.sequence:
                error = GapToken(f"sequence number {seq} skipped earlier tokens", payload=payload)
        else:
            offset = self.next - 1 - seq
            if offset >= WINDOW:
                if self.replay or self.sequence:
                    error = OldToken(f"sequence number {seq} is too old", payload=payload)
            elif self._seen & (1 << offset):
                if self.replay:
                    error = DuplicateToken(f"sequence number {seq} was already received",
                                           payload=payload)
            else:
                self._seen |= 1 << offset
                if self.sequence:
                    error = UnseqToken(f"sequence number {seq} arrived out of order",
                                       payload=payload)
        if error is not None:
            raise error
