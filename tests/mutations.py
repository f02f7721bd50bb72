"""One Hypothesis strategy for the fuzz-style property tests: a real message with a few
bytes overwritten, cut out or inserted, the edits that reach a parser's deeper branches
more often than random bytes do."""

from __future__ import annotations

from collections.abc import Sequence

from hypothesis import strategies as st


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes], *, min_edits: int = 1,
            max_edits: int = 6, max_cut: int = 16) -> bytes:
    """One of `seeds` with `min_edits`..`max_edits` edits (an empty result stops early)."""
    out = bytearray(draw(st.sampled_from(list(seeds))))
    for _ in range(draw(st.integers(min_edits, max_edits))):
        if not out:
            break
        pos = draw(st.integers(0, len(out) - 1))
        op = draw(st.integers(0, 2))
        if op == 0:
            out[pos] = draw(st.integers(0, 255))
        elif op == 1:
            del out[pos:pos + draw(st.integers(1, max_cut))]
        else:
            out[pos:pos] = draw(st.binary(min_size=1, max_size=16))
    return bytes(out)
