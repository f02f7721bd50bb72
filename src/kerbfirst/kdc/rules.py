"""Check rules the AS and the TGS exchange share (RFC 4120 3.1.3, 3.3.3; MIT kdc_util.c
validate_as_request / validate_tgs_request apply the same server and enctype checks)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from kerbfirst.kdc.audit import Outcome
from kerbfirst.kdc.keys import ticket_key
from kerbfirst.krb.database import PrincipalEntry
from kerbfirst.wire.constants import KDC_ERR_ETYPE_NOSUPP, KDC_ERR_POLICY, KDC_ERR_SERVICE_EXP

# What a check rule answers: None (passes) or (error code, audit outcome, reason).
Verdict = tuple[int, Outcome, str] | None


def offered_etypes_verdict(
    offered: tuple[int, ...], allowed: Collection[int], supported: tuple[int, ...]
) -> Verdict:
    """Refuse a request none of whose enctypes the realm allows."""
    if not any(e in allowed for e in offered):
        return (
            KDC_ERR_ETYPE_NOSUPP,
            Outcome.ETYPE_NOSUPP,
            f"client offered only enctypes {list(offered)}; this KDC serves only AES "
            f"{list(supported)} (RC4 and DES are refused); enable AES on the client",
        )
    return None


def server_verdict(
    server: PrincipalEntry, name: str, now: datetime, supported: tuple[int, ...]
) -> Verdict:
    """Refuse a server that may not be the server of a ticket, has expired, or has no key
    of an enctype the realm allows."""
    if server.disabled or not server.allow_as_service:
        return (
            KDC_ERR_POLICY,
            Outcome.POLICY,
            f"{name} may not be the server of a ticket (disabled or not a service)",
        )
    if server.expires is not None and server.expires <= now:
        return (
            KDC_ERR_SERVICE_EXP,
            Outcome.SERVER_EXPIRED,
            f"{name} expired at {server.expires.isoformat()}",
        )
    if ticket_key(server, supported) is None:
        return (
            KDC_ERR_ETYPE_NOSUPP,
            Outcome.ETYPE_NOSUPP,
            f"{name} has no key of an enctype this realm allows; rekey it",
        )
    return None
