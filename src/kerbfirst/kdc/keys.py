"""Long-term keys as the KDC uses them: pick by etype and kvno.

Derived keys (RFC 3961 5.3 DK, RFC 8009 KDF) are cached by crypto/ per (etype, key bytes,
usage), so building a `Key` per request costs nothing worth caching here.
"""

from __future__ import annotations

from collections.abc import Iterable

from kerbfirst.krb.database import KeyEntry, PrincipalEntry

# RFC 3962 section 6 / RFC 8009 section 5: the key sizes of the four enctypes.
KEY_BYTES = {17: 16, 18: 32, 19: 16, 20: 32}


def current_kvno(entry: PrincipalEntry) -> int:
    """The highest kvno of the entry's keys (0 without keys)."""
    # Plain loops here and below, not max()/dict/set over generators: these run several
    # times per request and the loops cost a third as much (and compile well under mypyc).
    keys = entry.keys
    if not keys:
        return 0
    kvno = keys[0].kvno
    for k in keys:
        if k.kvno > kvno:
            kvno = k.kvno
    return kvno


def find_key(entry: PrincipalEntry, etype: int, kvno: int | None = None) -> KeyEntry | None:
    """The key of `etype` with `kvno` (None: the current, highest, kvno)."""
    if kvno is None:
        kvno = current_kvno(entry)
    for k in entry.keys:
        if k.etype == etype and k.kvno == kvno:
            return k
    return None


def _current_key(keys: tuple[KeyEntry, ...], etype: int, kvno: int) -> KeyEntry | None:
    # the last one listed, should an entry hold two keys of one etype and kvno
    for i in range(len(keys) - 1, -1, -1):
        k = keys[i]
        if k.etype == etype and k.kvno == kvno:
            return k
    return None


def first_shared_key(
    entry: PrincipalEntry, etypes: Iterable[int], allowed: frozenset[int]
) -> KeyEntry | None:
    """The current key whose etype comes first in `etypes` (the client's preference order,
    RFC 4120 3.1.3) and is allowed by the realm."""
    kvno = current_kvno(entry)
    keys = entry.keys
    for etype in etypes:
        if etype in allowed:
            found = _current_key(keys, etype, kvno)
            if found is not None:
                return found
    return None


def ticket_key(entry: PrincipalEntry, preference: tuple[int, ...]) -> KeyEntry | None:
    """The current key the server's tickets are encrypted in: the realm's preferred etype
    among the server's keys (MIT uses the first key of the entry, ordered the same way)."""
    kvno = current_kvno(entry)
    keys = entry.keys
    for etype in preference:
        found = _current_key(keys, etype, kvno)
        if found is not None:
            return found
    return None
