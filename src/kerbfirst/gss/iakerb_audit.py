"""One typed audit event per IAKerb conversation at the acceptor (the proxy), written to
the same JSON-lines stream as the KDC's events (store/audit_log.JsonLinesAuditLog).

A conversation ends in exactly one outcome from a closed set (Heimdal's kdc_audit style).
No field holds key material or a KDC message.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any


class IakerbOutcome(enum.StrEnum):
    AUTHENTICATED = "authenticated"  # AP-REQ accepted, finished checksum verified
    REALM_NOT_CONFIGURED = "realm-not-configured"  # answered KRB-ERROR 85
    KDC_NO_RESPONSE = "kdc-no-response"  # answered KRB-ERROR 86
    TOO_MANY_HOPS = "too-many-hops"
    OVERSIZED = "oversized"  # a token or KDC message above the cap
    DEFECTIVE_TOKEN = "defective-token"  # noqa: S105 (not a secret): malformed IAKerb or AP-REQ token
    FINISHED_MISSING = "finished-missing"  # an IAKerb conversation without KRB-FINISHED
    FINISHED_MISMATCH = "finished-mismatch"  # transcript tampered with
    REPLAY = "replay"  # the AP-REQ's authenticator was seen before
    AP_REQ_REFUSED = "ap-req-refused"  # any other Kerberos refusal of the AP-REQ
    ABANDONED = "abandoned"  # the peer went away before the AP-REQ


@dataclasses.dataclass(frozen=True, slots=True)
class IakerbAuditEvent:
    time: datetime
    outcome: IakerbOutcome
    reason: str
    peer: str
    variant: str | None  # "draft-03" | "mit-old" | None (no IAKerb token seen)
    target_realm: str | None
    client: str | None  # from the tunnelled AS/TGS-REQ, or the AP-REQ's ticket once accepted
    service: str | None
    kdc: str | None  # the KDC address (or "in-process") that answered, last used
    hops: int  # KDC messages forwarded to a KDC; realm discovery is not one
    result_code: int = 0  # the Kerberos error sent to the peer, 0 on success
    kind: str = "iakerb"

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time.isoformat(),
            "kind": self.kind,
            "outcome": self.outcome.value,
            "result_code": self.result_code,
            "reason": self.reason,
            "peer": self.peer,
            "transport": "iakerb",
            "variant": self.variant,
            "target_realm": self.target_realm,
            "client": self.client,
            "service": self.service,
            "kdc": self.kdc,
            "hops": self.hops,
        }
