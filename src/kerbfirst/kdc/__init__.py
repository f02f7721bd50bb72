"""The KDC as a pure function of (request bytes, peer, now, database): AS and TGS
exchanges, pre-authentication, ticket policy, reply cache, one audit event per request."""

from kerbfirst.kdc.audit import KdcAuditEvent, Outcome, RequestKind
from kerbfirst.kdc.policy import KdcPolicy, LockoutPolicy
from kerbfirst.kdc.service import Kdc

__all__ = ["Kdc", "KdcAuditEvent", "KdcPolicy", "LockoutPolicy", "Outcome", "RequestKind"]
