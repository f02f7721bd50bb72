"""What a request carries through gather -> check -> issue, and how a check refuses it.

MIT krb5's KDC threads one `kdc_request_state` through the exchange and every check
returns a protocol error and a status string for the log (kdc/kdc_util.c). Here a check
raises `Refusal(code, outcome, reason)`; the single exit in service.py turns it into a
KRB-ERROR and the one audit event of the request.
"""

from __future__ import annotations

from datetime import datetime

from kerbfirst.kdc.audit import KdcAuditEvent, Outcome, RequestKind
from kerbfirst.wire.krb5 import PrincipalName


class Refusal(Exception):
    """A request the KDC answers with a KRB-ERROR. Not a bug: an expected outcome."""

    def __init__(
        self, code: int, outcome: Outcome, reason: str, *, e_data: bytes | None = None
    ) -> None:
        super().__init__(reason)
        self.code = code
        self.outcome = outcome
        self.reason = reason
        self.e_data = e_data


class RequestState:
    """Mutable record of one request: filled as facts become known, frozen into the audit
    event at the single exit. Slots keep it cheap (one per request on the hot path)."""

    __slots__ = (
        "client",
        "client_name",
        "client_realm",
        "endtime",
        "kind",
        "now",
        "outcome",
        "peer",
        "preauth_type",
        "reason",
        "reply_etype",
        "requested_etypes",
        "server_name",
        "service",
        "session_etype",
        "ticket_etype",
        "ticket_flags",
        "transport",
    )

    def __init__(self, *, now: datetime, peer: str, transport: str) -> None:
        self.now = now
        self.peer = peer
        self.transport = transport
        self.kind = RequestKind.UNKNOWN
        self.outcome = Outcome.GRANTED
        self.reason = ""
        self.client: str | None = None
        self.service: str | None = None
        # what the KRB-ERROR names (RFC 4120 5.9.1: sname is required, cname optional)
        self.client_name: PrincipalName | None = None
        self.client_realm: str | None = None
        self.server_name: PrincipalName | None = None
        self.requested_etypes: tuple[int, ...] = ()
        self.ticket_etype: int | None = None
        self.session_etype: int | None = None
        self.reply_etype: int | None = None
        self.ticket_flags: int | None = None
        self.preauth_type: int | None = None
        self.endtime: datetime | None = None

    def event(self, outcome: Outcome, result_code: int, reason: str) -> KdcAuditEvent:
        return KdcAuditEvent(
            time=self.now,
            kind=self.kind,
            outcome=outcome,
            result_code=result_code,
            reason=reason,
            peer=self.peer,
            transport=self.transport,
            client=self.client,
            service=self.service,
            requested_etypes=self.requested_etypes,
            ticket_etype=self.ticket_etype,
            session_etype=self.session_etype,
            reply_etype=self.reply_etype,
            ticket_flags=self.ticket_flags,
            preauth_type=self.preauth_type,
            ticket_endtime=self.endtime,
        )

