"""SequenceWindow against MIT krb5's own sequence-state cases (lib/gssapi/generic/
t_seqstate.c: initial number, flags, width, then each number and its expected status):
wrap-around at 2**32 and 2**64, gaps, unsequenced, old and duplicate tokens."""

from __future__ import annotations

import pytest

from kerbfirst.gss.sequence import SeqOutcome, SequenceWindow

U32 = 2**32 - 1
U64 = 2**64 - 1
OK, GAP, UNSEQ, OLD, DUP = (SeqOutcome.COMPLETE, SeqOutcome.GAP, SeqOutcome.UNSEQ,
                            SeqOutcome.OLD, SeqOutcome.DUPLICATE)
NARROW, WIDE, BOTH = (False,), (True,), (False, True)

CASES = [
    # no replay or sequence checking
    (10, False, False, BOTH, [(11, OK), (10, OK), (10, OK), (9, OK)]),
    # basic sequencing
    (100, False, True, BOTH, [(100, OK), (102, GAP), (103, OK), (101, UNSEQ)]),
    (200, False, True, BOTH, [(201, GAP), (202, OK), (200, UNSEQ), (203, OK)]),
    # wrap-around
    (U32 - 1, False, True, NARROW, [(U32 - 1, OK), (U32, OK), (0, OK), (1, OK)]),
    (U32 - 1, False, True, NARROW, [(U32 - 1, OK), (0, GAP), (U32, UNSEQ), (1, OK)]),
    (U64 - 1, False, True, WIDE, [(U64 - 1, OK), (U64, OK), (0, OK), (1, OK)]),
    (U64 - 1, False, True, WIDE, [(U64 - 1, OK), (0, GAP), (U64, UNSEQ), (1, OK)]),
    # 64-bit numbers beyond the 32-bit range
    (U32 - 1, False, True, WIDE, [(U32 - 1, OK), (U32, OK), (U32 + 1, OK), (U32 + 2, OK)]),
    (U32 - 1, False, True, WIDE, [(U32 - 1, OK), (U32 + 1, GAP), (U32, UNSEQ), (U32 + 2, OK)]),
    (U32 - 1, False, True, WIDE, [(U32 - 1, OK), (U32, OK), (0, GAP)]),
    # a repeat without replay detection
    (250, False, True, BOTH, [(250, OK), (250, UNSEQ)]),
    # replay detection with and without sequencing
    (0, True, True, BOTH, [(5, GAP), (3, UNSEQ), (8, GAP), (3, DUP), (0, UNSEQ), (0, DUP),
                           (5, DUP), (3, DUP), (8, DUP), (9, OK)]),
    (0, True, False, BOTH, [(5, OK), (3, OK), (8, OK), (3, DUP), (0, OK), (0, DUP),
                            (5, DUP), (3, DUP), (8, DUP), (9, OK)]),
    # replay and sequencing across wrap-around; the last number is before the initial one
    (U64 - 5, True, True, WIDE, [(U64, GAP), (U64 - 2, UNSEQ), (0, OK), (U64, DUP),
                                 (U64, DUP), (2, GAP), (0, DUP), (1, UNSEQ), (U64 - 2, DUP),
                                 (U64 - 6, GAP)]),
    (U32 - 5, True, True, NARROW, [(U32, GAP), (U32 - 2, UNSEQ), (0, OK), (U32, DUP),
                                   (U32, DUP), (2, GAP), (0, DUP), (1, UNSEQ), (U32 - 2, DUP),
                                   (U32 - 6, GAP)]),
    # old-token edges: replays are detected up to 64 behind the next expected (1164)
    (1000, True, False, BOTH, [(1163, OK), (1100, OK), (1100, DUP), (1163, DUP), (1099, OLD),
                               (1100, DUP), (1150, OK), (1150, DUP), (1000, OLD), (999, OK)]),
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_mit_t_seqstate_case(case: int) -> None:
    initial, replay, sequence, widths, seqs = CASES[case]
    for wide in widths:
        window = SequenceWindow(initial, replay=replay, sequence=sequence, wide=wide)
        got = [window.outcome(seq) for seq, _ in seqs]
        assert got == [want for _, want in seqs], f"wide={wide}"


def test_a_number_below_the_initial_one_is_new_not_old() -> None:
    """Windows' mechListMIC: AP-REP sequence number 837135677, MIC sequence number 0."""
    window = SequenceWindow(837135677, replay=True, sequence=False)
    window.check(0, b"")  # raised OldToken before the modular rule
    with pytest.raises(Exception, match="already received"):
        window.check(0, b"")
    gapped = SequenceWindow(837135677, replay=True, sequence=True)
    assert gapped.outcome(0) is SeqOutcome.GAP
