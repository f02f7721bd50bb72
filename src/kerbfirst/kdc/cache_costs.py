"""What values held in the KDC's caches cost in memory, as BoundedCache counts it.

Estimates, not measurements: what matters is that they grow with everything a peer can
make large (names, reasons, key lists), so that a byte bound on a cache is a bound on
the memory it holds.
"""

from __future__ import annotations

from kerbfirst.kdc.audit import KdcAuditEvent
from kerbfirst.krb.database import PrincipalEntry

_OBJECT = 400  # an object with a dozen fixed fields and its slots


def event_size(event: KdcAuditEvent) -> int:
    return (
        _OBJECT
        + len(event.reason)
        + len(event.peer)
        + len(event.client or "")
        + len(event.service or "")
        + 8 * len(event.requested_etypes)
    )


def principal_entry_size(name: str, entry: PrincipalEntry | None) -> int:
    """A store lookup result: the name it was asked for, and the entry (None: not found)."""
    size = len(name) + 60
    if entry is not None:
        size += _OBJECT + len(entry.name)
        for key in entry.keys:
            size += 150 + len(key.contents) + len(key.salt) + len(key.s2kparams or b"")
    return size
