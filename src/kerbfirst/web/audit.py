"""One audit record per HTTP authentication decision, in the shape `kerbfirst audit
ingest` reads as kerbfirst's own (the flat `AuthEvent.to_record()` fields), with Windows'
event numbers so the workbench counts them beside Windows' logs:

    decision           event_id  disposition  status       Windows' equivalent
    kerberos accepted  4624      allowed      0x0          Security 4624, package Kerberos
    iakerb accepted    4624      allowed      0x0          (extra.mechanism = "iakerb")
    ntlm accepted      4624      allowed      0x0          Security 4624, package NTLM
    ntlm refused       4002      blocked      0xC0000418   NTLM/Operational 4002, blocked
    epa failure        4625      failed       0xC000035B   STATUS_BAD_BINDINGS
    realm not allowed  4625      failed       0xC000015B   STATUS_LOGON_TYPE_NOT_GRANTED
    refused (other)    4625      failed       0xC000006D   STATUS_LOGON_FAILURE

`source` + `record_id` is the ingest's de-duplication key: the source names this process
and its start, the record id counts up. No field holds a token or key material.
"""

from __future__ import annotations

import enum
import itertools
import os
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from kerbfirst.store.audit_log import JsonLinesAuditLog
from kerbfirst.web.ntlm_governed import peer_host


class HttpAuthDecision(enum.StrEnum):
    KERBEROS_ACCEPTED = "kerberos-accepted"
    IAKERB_ACCEPTED = "iakerb-accepted"
    NTLM_ACCEPTED = "ntlm-accepted"
    NTLM_REFUSED = "ntlm-refused"
    EPA_FAILURE = "epa-failure"
    REALM_NOT_ALLOWED = "realm-not-allowed"
    REFUSED = "refused"


_SHAPE: dict[HttpAuthDecision, tuple[int, str, str]] = {
    HttpAuthDecision.KERBEROS_ACCEPTED: (4624, "allowed", "0x0"),
    HttpAuthDecision.IAKERB_ACCEPTED: (4624, "allowed", "0x0"),
    HttpAuthDecision.NTLM_ACCEPTED: (4624, "allowed", "0x0"),
    HttpAuthDecision.NTLM_REFUSED: (4002, "blocked", "0xC0000418"),
    HttpAuthDecision.EPA_FAILURE: (4625, "failed", "0xC000035B"),
    HttpAuthDecision.REALM_NOT_ALLOWED: (4625, "failed", "0xC000015B"),
    HttpAuthDecision.REFUSED: (4625, "failed", "0xC000006D"),
}


@dataclass(frozen=True, slots=True)
class WebAuditEvent:
    time: datetime
    decision: HttpAuthDecision
    reason: str
    client_address: str
    target: str  # the service principal (or Host) the client authenticated to
    principal: str | None = None
    mechanism: str = "kerberos"  # kerberos | iakerb | ntlm | negotiate (NTLM in SPNEGO)
    extra: Mapping[str, str] = field(default_factory=dict)


AuditSink = Callable[[WebAuditEvent], None]

_HOST = socket.gethostname()


class AuditRecords:
    """Turns WebAuditEvents into ingest-ready records (thread-safe numbering)."""

    def __init__(self, *, source: str | None = None, host: str = _HOST) -> None:
        tag = os.urandom(4).hex()  # one source per process start: record ids restart at 1
        self.source = source or f"kerbfirst-web:{host}:{os.getpid()}:{tag}"
        self.host = host
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, event: WebAuditEvent) -> dict[str, Any]:
        with self._lock:
            record_id = next(self._ids)
        event_id, disposition, status = _SHAPE[event.decision]
        principal = event.principal or ""
        if "@" in principal:  # Kerberos: user@REALM
            user, _, domain = principal.rpartition("@")
        else:  # NTLM: DOMAIN\user (MS-NLMP 2.2.1.3), or a bare user
            domain, _, user = principal.rpartition("\\")
        # Windows logs the address alone (IpAddress) and the port apart (IpPort): the
        # workbench keys a flow by client, and a port would make each connection one.
        address, port = _split_peer(event.client_address)
        mechanism = {"iakerb": "kerberos", "kerberos": "kerberos", "ntlm": "ntlm",
                     "negotiate": "negotiate"}.get(event.mechanism, "unknown")
        return {
            "source": self.source, "record_id": record_id, "time": event.time.isoformat(),
            "host": self.host, "provider": "kerbfirst-web", "event_id": event_id,
            "role": "server-incoming", "client_address": address,
            "target_name": event.target, "user": user, "domain": domain,
            "mechanism": mechanism, "disposition": disposition, "status": status,
            "extra": {"decision": event.decision.value, "reason": event.reason[:500],
                      "mechanism": event.mechanism, **({"IpPort": port} if port else {}),
                      **dict(event.extra)},
        }


def _split_peer(peer: str) -> tuple[str, str]:
    """'192.0.2.7:51234' / '[2001:db8::1]:443' / a bare address -> (address, port)."""
    address = peer_host(peer)
    return address, peer.rpartition(":")[2] if address != peer else ""


def json_lines_sink(path: str | os.PathLike[str]) -> AuditSink:
    """Append each event to a JSON-lines file (0600, atomic appends: store/audit_log.py)."""
    log = JsonLinesAuditLog(path)
    records = AuditRecords()

    def sink(event: WebAuditEvent) -> None:
        log.write(records.record(event))

    return sink


__all__ = ["AuditRecords", "AuditSink", "HttpAuthDecision", "WebAuditEvent", "json_lines_sink"]
