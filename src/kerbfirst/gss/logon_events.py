"""The Security logon events of kerbfirst's acceptors, shaped as Windows writes them: 4624
(an account was successfully logged on) and 4625 (an account failed to log on), in the
NXLog JSON form `kerbfirst audit ingest` reads as it reads Windows' own.

This is the one place such a document is built: the NTLM acceptor's events
(gss/ntlm_events.py) and the Kerberos logons of the web middleware and gateway
(web/audit.py) and of the GSS sample-protocol server (net/iakerb_server.py) all come from
`logon_event`; store/windows_event_log.py numbers and writes them.

The fields are those of Windows' 4624/4625 that apply to a network logon at a service:
TargetUserName, TargetDomainName, LogonType 3 (network), LogonProcessName ("Kerberos",
or "NtLmSsp " with Windows' trailing space), AuthenticationPackageName ("Kerberos",
"NTLM"), WorkstationName, LmPackageName, KeyLength, ProcessId, ProcessName, IpAddress,
IpPort, and on failure Status, SubStatus (NTSTATUS, MS-ERREF 2.3.1) and FailureReason.
Subject and logon-id fields are Windows' values for a network logon (NULL SID, 0x0).
`KerbfirstAcceptor` names which of kerbfirst's acceptors logged it; Windows has no such
field, and the ingest keeps a Kerberos logon only when it is there (Windows' own Kerberos
4624s are not NTLM evidence and would swamp the store). No field holds a token or a key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime

from kerbfirst.wire.gss_framing import OID_NTLMSSP

PROVIDER_SECURITY = "Microsoft-Windows-Security-Auditing"
CHANNEL_SECURITY = "Security"
ACCEPTOR_FIELD = "KerbfirstAcceptor"
PACKAGE_KERBEROS = "Kerberos"
PACKAGE_NTLM = "NTLM"

# NTSTATUS values (MS-ERREF 2.3.1) Windows reports in 4625's Status and SubStatus.
STATUS_SUCCESS = "0x0"
STATUS_LOGON_FAILURE = "0xC000006D"
STATUS_NO_SUCH_USER = "0xC0000064"
STATUS_WRONG_PASSWORD = "0xC000006A"  # noqa: S105 (a status code)
STATUS_TIME_DIFFERENCE = "0xC0000133"
STATUS_NTLM_BLOCKED = "0xC0000418"
STATUS_BAD_BINDINGS = "0xC000035B"  # the channel bindings do not match
STATUS_NO_LOGON_SERVERS = "0xC000005E"
STATUS_LOGON_TYPE_NOT_GRANTED = "0xC000015B"

_LOGON_PROCESS = {PACKAGE_KERBEROS: "Kerberos", PACKAGE_NTLM: "NtLmSsp "}


@dataclasses.dataclass(frozen=True, slots=True)
class Logon:
    """One logon at one of kerbfirst's acceptors, success (`status` 0x0) or failure."""

    time: datetime
    package: str  # PACKAGE_KERBEROS | PACKAGE_NTLM
    acceptor: str  # which acceptor: "kerbfirst-web", "kerbfirst-iakerb", "kerbfirst-http"...
    host: str  # the reporting computer: the service's host name
    client_address: str  # the TCP peer, "ip", "ip:port" or "[v6]:port"
    user: str = ""
    domain: str = ""  # Kerberos realm or NTLM domain
    workstation: str = ""  # NTLM's claimed workstation; Kerberos names none
    service: str = ""  # the service principal / target the client authenticated to
    target_machine: str = ""  # the server name a policy decides on (default: `host`)
    status: str = STATUS_SUCCESS
    sub_status: str = STATUS_SUCCESS
    failure: str = ""  # why, in words, on failure
    lm_package: str = "-"  # NTLM only: "NTLM V2"
    process: str = "-"
    pid: int = 0
    extra: Mapping[str, str] = dataclasses.field(default_factory=dict)


def event_time(now: datetime) -> str:
    """NXLog's EventTime: UTC, "YYYY-MM-DD HH:MM:SS.ffffff"."""
    return now.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def split_peer(address: str) -> tuple[str, str]:
    """'192.0.2.7:51234' -> ('192.0.2.7', '51234'); '[2001:db8::1]:443' -> ('2001:db8::1',
    '443'); a bare address (IPv4 or IPv6) has no port ('-' as Windows writes it)."""
    if address.startswith("["):
        host, _, rest = address[1:].partition("]")
        return host, rest.removeprefix(":") or "-"
    if address.count(":") == 1:
        host, _, port = address.partition(":")
        return host, port or "-"
    return address or "-", "-"


def split_principal(principal: str) -> tuple[str, str]:
    """'alice@REALM' -> ('alice', 'REALM') at the last unescaped '@' (RFC 1964 2.1.1);
    'DOMAIN\\user' -> ('user', 'DOMAIN')."""
    i = len(principal) - 1
    while i >= 0:
        if principal[i] == "@" and (i == 0 or principal[i - 1] != "\\"):
            return principal[:i], principal[i + 1:]
        i -= 1
    if "\\" in principal:
        domain, _, user = principal.partition("\\")
        return user, domain
    return principal, ""


def logon_event(logon: Logon) -> dict[str, object]:
    """The NXLog-form 4624 or 4625 document for one logon, without EventRecordID (the
    writer numbers it)."""
    ok = logon.status == STATUS_SUCCESS
    ip, port = split_peer(logon.client_address)
    doc: dict[str, object] = {
        "EventTime": event_time(logon.time), "Hostname": logon.host,
        "SourceName": PROVIDER_SECURITY, "Channel": CHANNEL_SECURITY,
        "EventID": 4624 if ok else 4625,
        "SubjectUserSid": "S-1-0-0", "SubjectUserName": "-", "SubjectDomainName": "-",
        "SubjectLogonId": "0x0",
        "TargetUserName": logon.user or "-", "TargetDomainName": logon.domain or "-",
        "LogonType": "3", "LogonProcessName": _LOGON_PROCESS.get(logon.package, logon.package),
        "AuthenticationPackageName": logon.package,
        "WorkstationName": logon.workstation or "-",
        "LmPackageName": logon.lm_package, "KeyLength": "0",
        "ProcessId": hex(logon.pid), "ProcessName": logon.process,
        "IpAddress": ip, "IpPort": port,
        ACCEPTOR_FIELD: logon.acceptor,
    }
    doc["TargetMachine"] = logon.target_machine or logon.host
    if logon.service:
        doc["ServiceName"] = logon.service
    if not ok:
        doc.update(Status=logon.status, SubStatus=logon.sub_status,
                   FailureReason=logon.failure[:200])
    doc.update(logon.extra)
    return doc


def ntlm_blocked_event(*, time: datetime, acceptor: str, host: str, client_address: str,
                       user: str = "", domain: str = "", spnego: bool, pid: int = 0,
                       extra: Mapping[str, str] | None = None) -> dict[str, object]:
    """NTLM/Operational 4002 ("incoming NTLM traffic to servers that are blocked"): NTLM
    refused before any NTLM acceptor saw it (none is configured, or SPNEGO would not
    select it). `spnego`: the client offered NTLMSSP inside SPNEGO (MechanismOID set), not
    NTLM by name ("(NULL)")."""
    ip, _ = split_peer(client_address)
    return {"EventTime": event_time(time), "Hostname": host,
            "SourceName": "Microsoft-Windows-NTLM",
            "Channel": "Microsoft-Windows-NTLM/Operational", "EventID": 4002,
            "CallerPID": str(pid), "ProcessName": acceptor,
            "ClientUserName": user or "-", "ClientDomainName": domain or "-",
            "ClientIP": ip, "TargetMachine": host, "Status": STATUS_NTLM_BLOCKED,
            "MechanismOID": OID_NTLMSSP if spnego else "(NULL)",
            ACCEPTOR_FIELD: acceptor, **(extra or {})}


__all__ = ["ACCEPTOR_FIELD", "CHANNEL_SECURITY", "PACKAGE_KERBEROS", "PACKAGE_NTLM",
           "PROVIDER_SECURITY", "Logon", "event_time", "logon_event", "ntlm_blocked_event",
           "split_peer",
           "split_principal"]
