"""What values held in the KDC's caches cost in memory, as BoundedCache counts it.

Estimates, not measurements: what matters is that they grow with everything a peer can
make large (names, reasons, key lists), so that a byte bound on a cache is a bound on
the memory it holds.
"""

from __future__ import annotations

from kerbfirst.kdc.audit import KdcAuditEvent
from kerbfirst.krb.database import OBJECT_BYTES


def event_size(event: KdcAuditEvent) -> int:
    return (
        OBJECT_BYTES
        + len(event.reason)
        + len(event.peer)
        + len(event.client or "")
        + len(event.service or "")
        + 8 * len(event.requested_etypes)
    )
