"""One typed audit event per KDC request (as Heimdal's KDC logs: a closed set of outcomes).

The analytics side (audit/) reads these back as plain JSON without parsing prose. Every
field is a value a SIEM can index; key material never appears (no field holds a key).
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any, Final


class RequestKind(enum.StrEnum):
    """What was asked. Windows logs the same requests on a DC as Security 4768 (TGT,
    AS exchange), 4769 (service ticket, TGS exchange) and 4771 (pre-auth failed)."""

    AS_REQ = "as-req"
    TGS_REQ = "tgs-req"
    UNKNOWN = "unknown"  # undecodable: no message type could be read


class Outcome(enum.StrEnum):
    """A closed set, as Heimdal's kdc_audit outcomes: every request ends in exactly one."""

    GRANTED = "granted"
    RENEWED = "renewed"
    REPLAY_CACHE_HIT = "replay-cache-hit"  # identical retransmission, answered from cache
    PREAUTH_REQUIRED = "preauth-required"
    PREAUTH_FAILED = "preauth-failed"  # wrong long-term key (wrong password)
    CLIENT_UNKNOWN = "client-unknown"
    SERVER_UNKNOWN = "server-unknown"
    CLIENT_LOCKED_OUT = "client-locked-out"
    CLIENT_REVOKED = "client-revoked"  # disabled principal
    CLIENT_EXPIRED = "client-expired"
    SERVER_EXPIRED = "server-expired"
    ETYPE_NOSUPP = "etype-nosupp"  # e.g. an RC4-only or DES-only request
    SKEW = "skew"
    BAD_OPTION = "bad-option"
    NEVER_VALID = "never-valid"
    TICKET_EXPIRED = "ticket-expired"
    TICKET_NOT_YET_VALID = "ticket-not-yet-valid"
    BAD_INTEGRITY = "bad-integrity"  # ticket or authenticator did not decrypt
    CHECKSUM_FAILED = "checksum-failed"  # req-body does not match the authenticator
    WRONG_REALM = "wrong-realm"
    POLICY = "policy"
    STORE_UNAVAILABLE = "store-unavailable"  # pre-auth not judged: its result cannot be recorded
    BAD_REQUEST = "bad-request"  # malformed, wrong pvno, wrong message type
    INTERNAL_ERROR = "internal-error"  # a bug in kerbfirst; the reply is KRB_ERR_GENERIC


# Windows Security event ids of the same request on a domain controller.
_WINDOWS_EVENT = {RequestKind.AS_REQ: 4768, RequestKind.TGS_REQ: 4769}


# One per request: an explicit __init__ with Final attributes is immutable to mypy (and
# read-only under mypyc) without the per-field object.__setattr__ of a frozen dataclass's
# generated __init__, which costs about four times the plain stores.
@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class KdcAuditEvent:
    time: Final[datetime]
    kind: Final[RequestKind]
    outcome: Final[Outcome]
    result_code: Final[int]  # the Kerberos error number sent, 0 when a ticket was issued
    reason: Final[str]  # what happened, in words a person can act on
    peer: Final[str]
    transport: Final[str]  # "udp", "tcp", "iakerb", "kkdcp", ...
    client: Final[str | None]  # unparsed principal, as requested
    service: Final[str | None]
    requested_etypes: Final[tuple[int, ...]]
    ticket_etype: Final[int | None]  # enctype of the key the ticket is encrypted in
    session_etype: Final[int | None]
    reply_etype: Final[int | None]  # enctype of the key that encrypts the reply
    ticket_flags: Final[int | None]
    preauth_type: Final[int | None]  # padata type that authenticated the client
    ticket_endtime: Final[datetime | None]

    def __init__(
        self,
        time: datetime,
        kind: RequestKind,
        outcome: Outcome,
        result_code: int,
        reason: str,
        peer: str,
        transport: str,
        client: str | None = None,
        service: str | None = None,
        requested_etypes: tuple[int, ...] = (),
        ticket_etype: int | None = None,
        session_etype: int | None = None,
        reply_etype: int | None = None,
        ticket_flags: int | None = None,
        preauth_type: int | None = None,
        ticket_endtime: datetime | None = None,
    ) -> None:
        self.time = time
        self.kind = kind
        self.outcome = outcome
        self.result_code = result_code
        self.reason = reason
        self.peer = peer
        self.transport = transport
        self.client = client
        self.service = service
        self.requested_etypes = requested_etypes
        self.ticket_etype = ticket_etype
        self.session_etype = session_etype
        self.reply_etype = reply_etype
        self.ticket_flags = ticket_flags
        self.preauth_type = preauth_type
        self.ticket_endtime = ticket_endtime

    @property
    def windows_event_id(self) -> int | None:
        """4768/4769 as on a Windows DC; a failed pre-authentication is 4771 there."""
        if self.outcome is Outcome.PREAUTH_FAILED:
            return 4771
        return _WINDOWS_EVENT.get(self.kind)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types only: enums as strings, times as RFC 3339, flags as hex."""
        return {
            "time": self.time.isoformat(),
            "kind": self.kind.value,
            "windows_event_id": self.windows_event_id,
            "outcome": self.outcome.value,
            "result_code": self.result_code,
            "reason": self.reason,
            "peer": self.peer,
            "transport": self.transport,
            "client": self.client,
            "service": self.service,
            "requested_etypes": list(self.requested_etypes),
            "ticket_etype": self.ticket_etype,
            "session_etype": self.session_etype,
            "reply_etype": self.reply_etype,
            "ticket_flags": None if self.ticket_flags is None else f"0x{self.ticket_flags:08x}",
            "preauth_type": self.preauth_type,
            "ticket_endtime": (
                None if self.ticket_endtime is None else self.ticket_endtime.isoformat()
            ),
        }

    def to_json_line(self) -> str:
        """to_json() as one compact JSON text, exactly what json.dumps(to_json(),
        separators=(",", ":"), ensure_ascii=False) gives (tests check it), built directly:
        the KDC writes one per request, and the dict plus the generic encoder cost about
        a tenth of a compiled AS exchange."""
        flags = "null" if self.ticket_flags is None else f'"0x{self.ticket_flags:08x}"'
        end = "null" if self.ticket_endtime is None else f'"{self.ticket_endtime.isoformat()}"'
        etypes = ",".join(map(str, self.requested_etypes))
        return (
            f'{{"time":"{self.time.isoformat()}","kind":"{self.kind._value_}",'
            f'"windows_event_id":{_int(self.windows_event_id)},'
            f'"outcome":"{self.outcome._value_}","result_code":{int(self.result_code)},'
            f'"reason":{_str(self.reason)},"peer":{_str(self.peer)},'
            f'"transport":{_str(self.transport)},'
            f'"client":{_str(self.client)},"service":{_str(self.service)},'
            f'"requested_etypes":[{etypes}],"ticket_etype":{_int(self.ticket_etype)},'
            f'"session_etype":{_int(self.session_etype)},'
            f'"reply_etype":{_int(self.reply_etype)},"ticket_flags":{flags},'
            f'"preauth_type":{_int(self.preauth_type)},"ticket_endtime":{end}}}'
        )


def _str(value: str | None) -> str:
    return "null" if value is None else encode_basestring(value)


def _int(value: int | None) -> str:
    return "null" if value is None else str(int(value))
