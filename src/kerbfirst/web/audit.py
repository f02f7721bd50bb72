"""One Windows-shaped event per HTTP authentication decision (built by
gss/logon_events.py, written by store/windows_event_log.py), so that `kerbfirst audit
ingest` reads the middleware's and the gateway's decisions as it reads Windows' own:

    decision           event                      Status / SubStatus
    kerberos accepted  Security 4624, Kerberos    -
    iakerb accepted    Security 4624, Kerberos    - (KerbfirstMechanism "iakerb")
    ntlm accepted      Security 4624, NTLM        -
    ntlm refused       NTLM/Operational 4002      0xC0000418 (no NTLM acceptor, or SPNEGO
                                                  refused to select NTLM)
    epa failure        Security 4625, Kerberos    0xC000006D / 0xC000035B (bad bindings)
    realm not allowed  Security 4625, Kerberos    0xC000015B (logon type not granted)
    refused (other)    Security 4625, Kerberos    0xC000006D / 0xC000006D

`Decision`, `KerbfirstMechanism` and `Reason` ride along as fields Windows does not have (the
ingest keeps them in `extra`). No field holds a token or key material.
"""

from __future__ import annotations

import enum
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from kerbfirst.gss.logon_events import (
    PACKAGE_KERBEROS,
    PACKAGE_NTLM,
    STATUS_BAD_BINDINGS,
    STATUS_LOGON_FAILURE,
    STATUS_LOGON_TYPE_NOT_GRANTED,
    STATUS_SUCCESS,
    Logon,
    logon_event,
    ntlm_blocked_event,
    split_principal,
)
from kerbfirst.store.windows_event_log import WindowsEventLog


class HttpAuthDecision(enum.StrEnum):
    KERBEROS_ACCEPTED = "kerberos-accepted"
    IAKERB_ACCEPTED = "iakerb-accepted"
    NTLM_ACCEPTED = "ntlm-accepted"
    NTLM_REFUSED = "ntlm-refused"
    EPA_FAILURE = "epa-failure"
    REALM_NOT_ALLOWED = "realm-not-allowed"
    REFUSED = "refused"


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
ACCEPTOR = "kerbfirst-web"
# (Status, SubStatus) of a refused Kerberos logon, as Windows' 4625 reports them.
_FAILURE = {
    HttpAuthDecision.EPA_FAILURE: (STATUS_LOGON_FAILURE, STATUS_BAD_BINDINGS),
    HttpAuthDecision.REALM_NOT_ALLOWED: (STATUS_LOGON_TYPE_NOT_GRANTED, STATUS_SUCCESS),
    HttpAuthDecision.REFUSED: (STATUS_LOGON_FAILURE, STATUS_LOGON_FAILURE),
}
_NTLM_DECISIONS = frozenset({HttpAuthDecision.NTLM_ACCEPTED, HttpAuthDecision.NTLM_REFUSED})


def _service_host(target: str, default: str) -> str:
    """'HTTP/web.example.com@REALM' -> 'web.example.com': the server the event names."""
    name = target.split("@", 1)[0]
    host = name.split("/", 2)[1] if "/" in name else name
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else (host or default)


def windows_event(event: WebAuditEvent, *, host: str = "") -> dict[str, object]:
    """The Windows-shaped document for one decision (gss/logon_events.py): a Security
    4624/4625 logon, or NTLM/Operational 4002 for NTLM refused without an NTLM acceptor.
    `host` is the reporting computer (default: the service's host)."""
    server = host or _service_host(event.target, _HOST)
    user, domain = split_principal(event.principal or "")
    extra = {"Decision": event.decision.value, "KerbfirstMechanism": event.mechanism,
             "Reason": event.reason[:200], **{k.capitalize(): v for k, v in event.extra.items()}}
    if event.decision is HttpAuthDecision.NTLM_REFUSED:
        return ntlm_blocked_event(time=event.time, acceptor=ACCEPTOR, host=server,
                                  client_address=event.client_address, user=user,
                                  domain=domain, spnego=event.mechanism == "negotiate",
                                  pid=os.getpid(), extra=extra)
    ntlm = event.decision is HttpAuthDecision.NTLM_ACCEPTED
    status, sub = _FAILURE.get(event.decision, (STATUS_SUCCESS, STATUS_SUCCESS))
    return logon_event(Logon(
        time=event.time, package=PACKAGE_NTLM if ntlm else PACKAGE_KERBEROS,
        acceptor=ACCEPTOR, host=server, client_address=event.client_address, user=user,
        domain=domain, service=event.target, status=status, sub_status=sub,
        failure=event.reason if status != STATUS_SUCCESS else "", process=ACCEPTOR,
        pid=os.getpid(), extra=extra))


def json_lines_sink(path: str | os.PathLike[str], *,
                    ntlm_logged_by_acceptor: bool = False) -> AuditSink:
    """Append each decision's Windows-shaped event to a JSON-lines file (0600, atomic
    appends: store/windows_event_log.py). `ntlm_logged_by_acceptor`: the NTLM acceptor
    writes its own events (the governed one does, gss/ntlm_events.py), so NTLM decisions
    are not written a second time here."""
    log = WindowsEventLog(path)

    def sink(event: WebAuditEvent) -> None:
        if ntlm_logged_by_acceptor and event.decision in _NTLM_DECISIONS \
                and event.mechanism == "ntlm":
            return
        log.write(windows_event(event))

    return sink


__all__ = ["ACCEPTOR", "AuditSink", "HttpAuthDecision", "WebAuditEvent", "json_lines_sink",
           "windows_event"]
