"""Ticket lifetimes, RFC 4120 section 3.1.3 (AS) and 3.3.3 (TGS)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from kerbfirst.kdc.audit import Outcome
from kerbfirst.kdc.request import Refusal
from kerbfirst.wire.constants import KDC_ERR_CANNOT_POSTDATE, KDC_ERR_NEVER_VALID

# A KerberosTime of 19700101000000Z in `till` or `rtime` means "no limit" (MIT clients send
# it); so does anything past the end of time the KDC would compute.
KERBEROS_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TicketTimes(NamedTuple):
    starttime: datetime
    endtime: datetime
    renew_till: datetime | None  # None: the ticket is not renewable


def limit(requested: datetime | None) -> datetime | None:
    """None for "as long as allowed": absent or the epoch (RFC 4120 5.4.1, MIT's till 0)."""
    if requested is None or requested <= KERBEROS_EPOCH:
        return None
    return requested


def whole_seconds(t: datetime) -> datetime:
    """KerberosTime has no fraction (RFC 4120 5.2.3); tickets carry whole seconds."""
    return t.replace(microsecond=0)


def ticket_times(
    *,
    now: datetime,
    skew: timedelta,
    from_: datetime | None,
    till: datetime | None,
    rtime: datetime | None,
    max_life: timedelta,
    max_renewable_life: timedelta | None,
    renewable: bool,
    renewable_ok: bool,
    end_cap: datetime | None = None,
    renew_cap: datetime | None = None,
) -> TicketTimes:
    """Compute start, end and renew-till from the request and the limits.

    `max_renewable_life` None means renewable tickets are not allowed; `end_cap` and
    `renew_cap` are the TGT's endtime and renew-till in the TGS exchange (3.3.3: a derived
    ticket never outlives the ticket that obtained it).
    """
    start = whole_seconds(now)
    requested_start = limit(from_)
    if requested_start is not None and requested_start > now + skew:
        # 3.1.3: a start in the future needs POSTDATED; kerbfirst issues no postdated tickets.
        raise Refusal(
            KDC_ERR_CANNOT_POSTDATE,
            Outcome.BAD_OPTION,
            f"requested start {requested_start.isoformat()} is in the future; postdated "
            "tickets are not issued",
        )
    end = start + max_life
    requested_end = limit(till)
    if requested_end is not None and requested_end < end:
        end = requested_end
    if end_cap is not None and end_cap < end:
        end = end_cap
    if end <= start:
        raise Refusal(
            KDC_ERR_NEVER_VALID,
            Outcome.NEVER_VALID,
            f"requested end time {end.isoformat()} is not after the start time "
            f"{start.isoformat()}; check the client's clock and requested lifetime",
        )
    if max_renewable_life is None:
        return TicketTimes(start, end, None)
    renew_limit: datetime | None = None
    if renewable:
        renew_limit = limit(rtime)
    elif renewable_ok and (requested_end is None or requested_end > end):
        # 3.1.3 RENEWABLE-OK: the ticket could not last as long as asked, so make it
        # renewable up to the requested end instead.
        renewable = True
        renew_limit = requested_end
    if not renewable:
        return TicketTimes(start, end, None)
    renew_till = start + max_renewable_life
    if renew_limit is not None and renew_limit < renew_till:
        renew_till = renew_limit
    if renew_cap is not None and renew_cap < renew_till:
        renew_till = renew_cap
    if renew_till <= end:
        return TicketTimes(start, end, None)  # renewing could not extend it: not renewable
    return TicketTimes(start, end, renew_till)
