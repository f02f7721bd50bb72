"""Find the exceptions whose target can match a server without scanning the register.

Targets are names or `*`/`?`/`[...]` patterns, compared without case (policy/ntlm.py). The
index buckets each entry by what its target pattern pins down:

- a plain name: the whole name (casefolded); a plain name without a dot also under its
  NetBIOS label, which matches the first label of an FQDN;
- a pattern with a literal prefix (`app7-*`): under that prefix, cut to `KEY` characters;
- a pattern starting with a wildcard whose literal tail holds a dot
  (`*.legacy.corp.example`, `*-db.corp.example`): under the tail from its first dot
  (`.legacy.corp.example`, `.corp.example`); a name can only match if it ends so;
- another pattern starting with a wildcard (`*x`): under its last `KEY` literal characters;
- a pattern with no literal end (`*`, `[a-f]*`): a short list checked for every server.

A look-up gathers the buckets the server name can fall in (its whole name, its first
label, its first 1..KEY characters, each of its dot-suffixes, its last 1..KEY characters)
and the catch-all list, then the caller checks each candidate's full pattern. Candidates
come back in register order, so the first matching entry is the one a linear scan would
pick.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

KEY = 8
_WILD = "*?["


class _Targeted(Protocol):
    @property
    def target(self) -> str: ...


def _literal_ends(pattern: str) -> tuple[str, str]:
    """(literal prefix, literal suffix). With a `[...]` set the suffix is left empty: a set
    may hold `*` or `]`, so where the literal tail starts is not worth parsing for."""
    first = min(pattern.index(c) for c in _WILD if c in pattern)
    if "[" in pattern:
        return pattern[:first], ""
    last = max(pattern.rindex(c) for c in "*?" if c in pattern)
    return pattern[:first], pattern[last + 1:]


class TargetIndex:
    def __init__(self, entries: Sequence[_Targeted]) -> None:
        self._exact: dict[str, list[int]] = defaultdict(list)
        self._label: dict[str, list[int]] = defaultdict(list)
        self._prefix: dict[str, list[int]] = defaultdict(list)
        self._suffix: dict[str, list[int]] = defaultdict(list)
        self._domain: dict[str, list[int]] = defaultdict(list)
        self._anywhere: list[int] = []
        for i, entry in enumerate(entries):
            p = entry.target.casefold()
            if not any(c in p for c in _WILD):
                self._exact[p].append(i)
                if "." not in p:
                    self._label[p].append(i)
                continue
            head, tail = _literal_ends(p)
            if head:
                self._prefix[head[:KEY]].append(i)
            elif "." in tail:
                self._domain[tail[tail.index("."):]].append(i)
            elif tail:
                self._suffix[tail[-KEY:]].append(i)
            else:
                self._anywhere.append(i)

    def candidates(self, server: str) -> list[int]:
        """Register positions of the entries whose target may match `server`, in order."""
        s = server.casefold()
        found: set[int] = set(self._anywhere)
        found.update(self._exact.get(s, ()))
        found.update(self._label.get(s.split(".", 1)[0], ()))
        for k in range(1, min(KEY, len(s)) + 1):
            found.update(self._prefix.get(s[:k], ()))
            found.update(self._suffix.get(s[-k:], ()))
        dot = s.find(".")
        while dot != -1:
            found.update(self._domain.get(s[dot:], ()))
            dot = s.find(".", dot + 1)
        return sorted(found)
