"""Fields from an event's rendered text (the `Message` column of
`Get-WinEvent | Export-Csv`, which holds no EventData columns).

The Security event messages are "Label:<tab>Value" lines grouped under section headers
("New Logon:", "Network Information:", ...). The same label means different fields in
different sections (Account Name under "Subject:" is the caller, under "New Logon:" the
account that logged on), so a field is looked up by (section, label) first and by label
alone second. Labels are Microsoft's English message texts of the Security-Auditing and
NTLM providers; a message in another language yields no fields, and the CSV reader then
warns instead of losing the event silently.
"""

from __future__ import annotations

MAX_MESSAGE = 1 << 16

_IN_SECTION: dict[tuple[str, str], str] = {
    ("new logon", "security id"): "TargetUserSid",
    ("new logon", "account name"): "TargetUserName",
    ("new logon", "account domain"): "TargetDomainName",
    ("account for which logon failed", "security id"): "TargetUserSid",
    ("account for which logon failed", "account name"): "TargetUserName",
    ("account for which logon failed", "account domain"): "TargetDomainName",
    ("account whose credentials were used", "account name"): "TargetUserName",
    ("account whose credentials were used", "account domain"): "TargetDomainName",
    ("subject", "security id"): "SubjectUserSid",
    ("subject", "account name"): "SubjectUserName",
    ("subject", "account domain"): "SubjectDomainName",
    ("target server", "target server name"): "TargetServerName",
}
_ANY_SECTION: dict[str, str] = {
    "logon type": "LogonType",
    "workstation name": "WorkstationName",
    "source network address": "IpAddress",
    "network address": "IpAddress",
    "source port": "IpPort",
    "logon process": "LogonProcessName",
    "authentication package": "AuthenticationPackageName",
    "package name (ntlm only)": "LmPackageName",
    "status": "Status",
    "sub status": "SubStatus",
    "failure reason": "FailureReason",
    "process name": "ProcessName",
    # 4776
    "logon account": "TargetUserName",
    "source workstation": "Workstation",
    "error code": "Status",
    # NTLM/Operational 8001-8004
    "target server": "TargetName",
    "supplied user": "UserName",
    "supplied domain": "DomainName",
    "pid of client process": "CallerPID",
    "name of client process": "ProcessName",
    "mechanism oid": "MechanismOID",
    "calling client name": "ClientUserName",
    "calling client domain": "ClientDomainName",
    "secure channel name": "SChannelName",
    "secure channel type": "SChannelType",
    "user name": "UserName",
    "domain name": "DomainName",
}


def fields_from_message(text: str) -> dict[str, str]:
    """The EventData fields a rendered message names, by their Windows field names."""
    out: dict[str, str] = {}
    section = ""
    for raw in text[:MAX_MESSAGE].splitlines():
        line = raw.strip()
        if not line:
            continue
        label, sep, value = line.partition(":")
        if not sep:
            continue
        label = " ".join(label.split()).lower()
        value = value.strip()
        if not value:  # "New Logon:" opens a section
            section = label
            continue
        name = _IN_SECTION.get((section, label)) or _ANY_SECTION.get(label)
        if name and name not in out:
            out[name] = value
    return out
