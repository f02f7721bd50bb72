"""Receive-side sequence number checking for per-message tokens (RFC 4121 4.2.3, RFC 2743
1.2.3), with the outcomes of MIT krb5's g_seqstate (lib/gssapi/generic/util_seqstate.c).

Numbers are taken relative to the first one expected (the peer's initial sequence number)
modulo 2**32 (RFC 1964 tokens) or 2**64 (RFC 4121 tokens), so wrap-around needs no special
case. A relative number at or past the next one expected is new: it moves the window on
(a GAP when it skipped some, reported only with sequencing). One behind it is looked up in
a bitmap of the 64 numbers before the next expected: seen there, it is a DUPLICATE (with
replay detection); further back it is OLD (UNSEQ with sequencing); otherwise it is marked
and reported UNSEQ with sequencing. Because of the modular rule, a number *below* the
initial one is far in the future, not old: Windows' SPNEGO mechListMIC carries sequence
number 0 whatever the AP-REP's was, and MIT accepts it this way.
"""

from __future__ import annotations

import enum

from kerbfirst.gss.errors import DuplicateToken, GapToken, OldToken, SequenceError, UnseqToken

WINDOW = 64  # numbers behind the next expected that replay detection remembers


class SeqOutcome(enum.Enum):
    """GSS supplementary status of one received sequence number (RFC 2743 1.2.1.1)."""

    COMPLETE = "complete"
    GAP = "gap"  # GSS_S_GAP_TOKEN: later than expected, earlier tokens missing
    UNSEQ = "unseq"  # GSS_S_UNSEQ_TOKEN: earlier than expected (sequencing only)
    OLD = "old"  # GSS_S_OLD_TOKEN: too old to check for duplication
    DUPLICATE = "duplicate"  # GSS_S_DUPLICATE_TOKEN: already received


class SequenceWindow:
    def __init__(self, first: int, *, replay: bool, sequence: bool, wide: bool = True) -> None:
        self.replay = replay
        self.sequence = sequence
        self.mask = (1 << 64) - 1 if wide else (1 << 32) - 1
        self.base = first & self.mask  # the peer's initial sequence number
        self.next = 0  # the next number expected, relative to base
        self._seen = 0  # bit i-1 set: relative number next-i was received

    def outcome(self, seq: int) -> SeqOutcome:
        """Record `seq` and classify it as MIT's g_seqstate_check does."""
        if not self.replay and not self.sequence:
            return SeqOutcome.COMPLETE
        rel = (seq - self.base) & self.mask
        if rel >= self.next:
            offset = rel - self.next
            shift = offset + 1
            self._seen = ((self._seen << shift) | 1) & ((1 << WINDOW) - 1) if shift < WINDOW \
                else 1
            self.next = (rel + 1) & self.mask
            return SeqOutcome.GAP if offset > 0 and self.sequence else SeqOutcome.COMPLETE
        offset = self.next - rel
        if offset > WINDOW:
            return SeqOutcome.UNSEQ if self.sequence else SeqOutcome.OLD
        bit = 1 << (offset - 1)
        if self.replay and self._seen & bit:
            return SeqOutcome.DUPLICATE
        self._seen |= bit
        return SeqOutcome.UNSEQ if self.sequence else SeqOutcome.COMPLETE

    def check(self, seq: int, payload: bytes) -> None:
        """Record `seq`; raise a SequenceError carrying `payload` unless it is in order."""
        result = self.outcome(seq)
        error: SequenceError | None = None
        if result is SeqOutcome.GAP:
            error = GapToken(f"sequence number {seq} skipped earlier tokens", payload=payload)
        elif result is SeqOutcome.UNSEQ:
            error = UnseqToken(f"sequence number {seq} arrived out of order", payload=payload)
        elif result is SeqOutcome.OLD:
            error = OldToken(f"sequence number {seq} is too old to check", payload=payload)
        elif result is SeqOutcome.DUPLICATE:
            error = DuplicateToken(f"sequence number {seq} was already received",
                                   payload=payload)
        if error is not None:
            raise error
