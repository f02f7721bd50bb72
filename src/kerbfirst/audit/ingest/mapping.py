"""Map one Windows event (System header + named EventData fields) onto an AuthEvent.

Every reader (EVTX, wevtutil XML, NXLog/Winlogbeat JSON lines, CSV) reduces a record to
the same flat form -- host, channel, provider, event id, record id, time and a dict of
EventData fields -- and calls `build_event`. Fields are read BY NAME, never by position
(the 24H2 schema is still moving between Windows builds), and each of our
attributes accepts the name variants listed below.

The 24H2 enhanced-auditing events (4020-4025, 4030-4033) appear in no public sample; their
field names are those of the provider manifests of Windows 11 25H2/26H1 (dumped by the
jdu2600/Windows10EtwEvents project; see audit/fixtures.py): 4020/4021 Username,
TargetService/TargetMachine, NtlmUsageId (the code) and NtlmUsageReason (its text),
ProcessPID; 4022/4023 RemoteClientMachine, ClientIP, Status; 4030-4033 (provider
Security-Netlogon) AccountName, AccountDomain, AccountMachine, ServerName, Status. Older
guesses stay accepted as variants. A field we do not recognise is kept in `extra`
(bounded, e.g. NtlmUsageReason, TargetIP, MicStatus), so nothing is lost when Windows
renames one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from kerbfirst.audit.events import (
    INT32_MAX,
    INT32_MIN,
    RECORD_ID_MAX,
    AccountScope,
    AuthEvent,
    AuthMechanism,
    Disposition,
    NtlmVersion,
    Role,
)
from kerbfirst.audit.ingest.values import (
    content_record_id,
    normalize_status,
    parse_int,
)
from kerbfirst.audit.names import netbios_name, target_is_ip

PROVIDER_NTLM = "Microsoft-Windows-NTLM"
PROVIDER_NETLOGON = "Microsoft-Windows-Security-Netlogon"
PROVIDER_SECURITY = "Microsoft-Windows-Security-Auditing"
PROVIDER_LSASRV = "LsaSrv"
CHANNEL_NTLM = "Microsoft-Windows-NTLM/Operational"

# NTLM/Operational event ids and the side that reports them (the provider manifest of
# Microsoft-Windows-NTLM: 8001/4001 outgoing, 8002-8003/4002-4003 incoming, 8004-8006 DC).
NTLM_OPERATIONAL_ROLES: dict[int, Role] = {
    8001: Role.CLIENT_OUTGOING, 4001: Role.CLIENT_OUTGOING,
    8002: Role.SERVER_INCOMING, 4002: Role.SERVER_INCOMING,
    8003: Role.SERVER_INCOMING, 4003: Role.SERVER_INCOMING,  # in-domain, on the member server
    8004: Role.DC_PASSTHROUGH, 4004: Role.DC_PASSTHROUGH,
    8005: Role.DC_PASSTHROUGH, 4005: Role.DC_PASSTHROUGH,
    8006: Role.DC_PASSTHROUGH, 4006: Role.DC_PASSTHROUGH,
    4013: Role.CLIENT_OUTGOING,  # NTLMv1 attempt failed; the 4001 (client) template
    4015: Role.CLIENT_OUTGOING,  # an application on this host was refused NTLM
    4020: Role.CLIENT_OUTGOING, 4021: Role.CLIENT_OUTGOING,
    4022: Role.SERVER_INCOMING, 4023: Role.SERVER_INCOMING,
    4024: Role.CLIENT_OUTGOING, 4025: Role.CLIENT_OUTGOING,  # NTLMv1-derived SSO credential
    4030: Role.DC_PASSTHROUGH, 4031: Role.DC_PASSTHROUGH,
    4032: Role.DC_PASSTHROUGH, 4033: Role.DC_PASSTHROUGH,
}
SECURITY_NTLM_IDS = frozenset({4624, 4625, 4776})
KERBEROS_IDS = frozenset({4768, 4769, 4771})  # kept only when they explain a fallback
# Kerberos errors (RFC 4120 7.5.9) after which a Negotiate client falls back to NTLM for
# that server: the service is unknown (7), the request cannot be met (policy 0xC, option
# 0xD, no common enctype 0xE, user-to-user required 0x1B), the ticket does not decrypt at
# the service (0x1F integrity, 0x29 modified: an SPN on the wrong account), clock skew
# (0x25). Not bad passwords (0x18), unknown (0x6), disabled (0x12) or expired (0x17)
# clients: those fail over NTLM too, and a password spray is full of them.
KERBEROS_FALLBACK_CODES = frozenset({0x7, 0xC, 0xD, 0xE, 0x1B, 0x1F, 0x25, 0x29})
LSASRV_IDS = frozenset({6038, 6039})
# Security 4648, explicit credentials: kept when the target is an IP address (Kerberos
# has no service ticket for an address, so that logon was NTLM).
EXPLICIT_CREDENTIAL_IDS = frozenset({4648})
# Events that mean NTLMv1 by themselves. Not LsaSrv 6038/6039: both templates are empty
# (manifest) and their text only says that NTLM is in use.
NTLMV1_EVENT_IDS = frozenset({4013, 4024, 4025})
# Every event id any reader needs to look at: a cheap pre-filter before full parsing.
RELEVANT_IDS = (frozenset(NTLM_OPERATIONAL_ROLES) | SECURITY_NTLM_IDS | KERBEROS_IDS
                | LSASRV_IDS | EXPLICIT_CREDENTIAL_IDS)

STATUS_NTLM_BLOCKED = "0xC0000418"

# Field-name variants, first non-empty wins. Order = most specific first.
# TargetService is the SPN of 4020/4021, TargetMachine its host (an IP when the
# application named the server by address); TargetIP is the resolved address and is not a
# name, so it stays in extra.
F_TARGET = ("TargetName", "TargetService", "TargetMachine", "TargetServerName", "ServiceName",
            "SChannelName", "ServerName", "TargetInfo")
# "Username" (lower-case n) is the 24H2 spelling; names are compared exactly.
F_USER = ("UserName", "Username", "TargetUserName", "AccountName", "User")
F_DOMAIN = ("DomainName", "TargetDomainName", "AccountDomain", "Domain")
F_CLIENT_HOST = ("WorkstationName", "Workstation", "RemoteClientMachine", "AccountMachine",
                 "ClientName", "ClientMachineName", "ClientWorkstationName", "Hostname")
F_CLIENT_ADDR = ("IpAddress", "ClientAddress", "ClientIpAddress", "ClientIPAddress", "ClientIP",
                 "IPAddress", "SourceAddress")
F_PROCESS = ("ProcessName", "CallerProcessName", "ApplicationName")
F_PID = ("CallerPID", "ProcessPID", "ProcessId", "ProcessID", "CallerProcessId")
# The code (KB5064479). NtlmUsageReason, its text, is kept in extra for the analyst.
F_USAGE_REASON = ("NtlmUsageId", "UsageReason", "UsageReasonCode", "NtlmReason")
F_VERSION = ("LmPackageName", "NtlmVersion", "NTLMVersion", "NtlmProtocolVersion")
F_MECH_OID = ("MechanismOID", "MechanismOid", "Mechanism")
F_PACKAGE = ("AuthenticationPackageName", "PackageName", "SecurityPackage", "NegotiatedPackage")
F_SCHANNEL_TYPE = ("SChannelType", "SecureChannelType")
F_STATUS = ("Status", "ErrorCode", "Result", "ResultCode")

MAPPED_FIELDS = frozenset(
    F_TARGET + F_USER + F_DOMAIN + F_CLIENT_HOST + F_CLIENT_ADDR + F_PROCESS + F_PID
    + F_USAGE_REASON + F_VERSION + F_MECH_OID + F_PACKAGE + F_SCHANNEL_TYPE + F_STATUS
    + ("SubStatus", "LogonProcessName", "IpPort")
)
# Fields never worth keeping (GUIDs, zero LUIDs): they would only bloat the store.
DROPPED_FIELDS = frozenset({"LogonGuid", "TransmittedServices", "KeyLength", "IpPort",
                            "SubjectLogonId", "TargetLogonId", "ImpersonationLevel",
                            "RestrictedAdminMode", "VirtualAccount", "ElevatedToken",
                            "TargetLinkedLogonId", "TargetOutboundUserName",
                            "TargetOutboundDomainName"})
# Bounds on `extra` so a hostile or exotic record cannot blow up the store.
MAX_EXTRA_FIELDS = 24
MAX_EXTRA_KEY = 64
MAX_EXTRA_VALUE = 256
MAX_FIELD = 512  # any mapped string is cut here too

# NTLMSSP's SPNEGO mechanism OID (MS-NLMP 1.9): present when Negotiate chose NTLM.
NTLMSSP_OID = "1.3.6.1.4.1.311.2.2.10"

_EMPTY = frozenset({"", "-", "(NULL)", "NULL", "%%1793"})


def _clean(value: object) -> str:
    if value is None:
        return ""
    s = value if isinstance(value, str) else str(value)
    s = s.strip()
    if s in _EMPTY:
        return ""
    return s[:MAX_FIELD]


_SLOTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("target", F_TARGET), ("user", F_USER), ("domain", F_DOMAIN),
    ("client_host", F_CLIENT_HOST), ("addr", F_CLIENT_ADDR), ("process", F_PROCESS),
    ("pid", F_PID), ("reason", F_USAGE_REASON), ("version", F_VERSION),
    ("status", F_STATUS), ("sct", F_SCHANNEL_TYPE),
)
# field name -> (slot, rank): one pass over the record instead of a lookup per variant
_FIELD_SLOT: dict[str, tuple[str, int]] = {
    name: (slot, rank) for slot, names in _SLOTS for rank, name in enumerate(names)
}


def _collect(data: Mapping[str, object]) -> tuple[dict[str, str], dict[str, str]]:
    """(slot -> best-ranked non-empty value, unmapped non-empty fields, bounded)."""
    found: dict[str, str] = {}
    ranks: dict[str, int] = {}
    rest: dict[str, str] = {}
    slot_of = _FIELD_SLOT.get
    for key, value in data.items():
        hit = slot_of(key)
        if hit is None:
            if key in MAPPED_FIELDS or key in DROPPED_FIELDS or len(rest) >= MAX_EXTRA_FIELDS:
                continue
            v = _clean(value)
            if v:
                rest[key[:MAX_EXTRA_KEY]] = v[:MAX_EXTRA_VALUE]
            continue
        slot, rank = hit
        if rank < ranks.get(slot, 99):
            v = _clean(value)
            if v:
                found[slot] = v
                ranks[slot] = rank
    return found, rest


def _first(data: Mapping[str, object], names: tuple[str, ...]) -> tuple[str, str]:
    """(field name, cleaned value) of the first non-empty variant, or ("", "")."""
    for name in names:
        v = data.get(name)
        if v is not None:
            s = _clean(v)
            if s:
                return name, s
    return "", ""


def _ntlm_version(value: str) -> NtlmVersion:
    v = value.upper().replace(" ", "").replace("NTLM", "")
    if value.upper() == "LM":
        return NtlmVersion.LM
    if v in ("V1", "1"):
        return NtlmVersion.NTLMV1
    if v in ("V2", "2"):
        return NtlmVersion.NTLMV2
    return NtlmVersion.UNKNOWN


def is_relevant(provider: str, channel: str, event_id: int, data: Mapping[str, object]) -> bool:
    """Whether this record is an NTLM event or a Kerberos event that explains one."""
    if event_id in NTLM_OPERATIONAL_ROLES:
        return provider in (PROVIDER_NTLM, PROVIDER_NETLOGON) or channel == CHANNEL_NTLM
    if event_id in LSASRV_IDS:
        return provider == PROVIDER_LSASRV
    if provider != PROVIDER_SECURITY and channel != "Security":
        return False
    if event_id in (4624, 4625):
        return is_ntlm_logon(data) or is_own_kerberos_logon(data)
    if event_id == 4776:
        return True
    if event_id in KERBEROS_IDS:
        return parse_int(_clean(data.get("Status")) or "0") in KERBEROS_FALLBACK_CODES
    if event_id in EXPLICIT_CREDENTIAL_IDS:
        return any(target_is_ip(_clean(data.get(f))) for f in ("TargetServerName",
                                                                "TargetInfo"))
    return False


# The field by which kerbfirst's own acceptors sign their Security logons (the event
# builder gss/logon_events.py writes it; Windows has no such field).
KERBFIRST_ACCEPTOR_FIELD = "KerbfirstAcceptor"


def is_own_kerberos_logon(data: Mapping[str, object]) -> bool:
    """A 4624/4625 Kerberos logon at one of kerbfirst's acceptors: kept so the workbench
    counts Kerberos at kerbfirst's services beside their NTLM. Windows' own Kerberos
    logons are not NTLM evidence and are not kept (they would swamp the store)."""
    return (_clean(data.get("AuthenticationPackageName")).upper() == "KERBEROS"
            and _clean(data.get(KERBFIRST_ACCEPTOR_FIELD)).startswith("kerbfirst"))


def is_ntlm_logon(data: Mapping[str, object]) -> bool:
    """4624/4625 that NTLM performed: the package is NTLM, LmPackageName is set, or the
    logon process is "NtLmSsp " (with Windows' trailing space)."""
    if _clean(data.get("AuthenticationPackageName")).upper() == "NTLM":
        return True
    if _clean(data.get("LmPackageName")):
        return True
    return _clean(data.get("LogonProcessName")) == "NtLmSsp"


def _disposition(event_id: int, status: str, sub_status: str) -> Disposition:
    if 8001 <= event_id <= 8006:
        return Disposition.AUDIT
    if 4001 <= event_id <= 4015:
        return Disposition.BLOCKED
    if event_id == 4024:  # NTLMv1-derived SSO credential: audited, the logon went on
        return Disposition.AUDIT
    if event_id == 4025:  # ... and blocked
        return Disposition.BLOCKED
    if 4020 <= event_id <= 4033:
        # 24H2 usage events record authentications that happened (KB5064479): even ids
        # are Information, odd ids the Warning form for a weaker one (NTLMv1, no channel
        # binding, no MIC), not "would be blocked". Status (server and DC events) says
        # whether the logon itself failed.
        if status and parse_int(status) not in (0, None):
            return Disposition.BLOCKED if status == STATUS_NTLM_BLOCKED else Disposition.FAILED
        return Disposition.ALLOWED
    if event_id in KERBEROS_IDS:
        return Disposition.FAILED
    if STATUS_NTLM_BLOCKED in (status, sub_status):
        return Disposition.BLOCKED
    if event_id == 4625:
        return Disposition.FAILED
    if event_id == 4776 and status and parse_int(status) != 0:
        return Disposition.FAILED
    return Disposition.ALLOWED


def _mechanism(
    event_id: int, data: Mapping[str, object], usage_reason: int | None
) -> AuthMechanism:
    if event_id in KERBEROS_IDS:
        return AuthMechanism.KERBEROS
    if event_id in (4624, 4625) and is_own_kerberos_logon(data):
        return AuthMechanism.KERBEROS
    if event_id in EXPLICIT_CREDENTIAL_IDS:
        return AuthMechanism.EXPLICIT_CREDENTIALS
    if event_id == 4015 or usage_reason == 1:
        return AuthMechanism.NTLM
    _, oid = _first(data, F_MECH_OID)
    if oid:
        # Negotiate (SPNEGO) names the mechanism it chose; a caller of the NTLM package
        # itself has no SPNEGO mechanism OID.
        return AuthMechanism.NEGOTIATE if NTLMSSP_OID in oid else AuthMechanism.UNKNOWN
    if event_id in NTLM_OPERATIONAL_ROLES and "MechanismOID" in data:
        return AuthMechanism.NTLM  # field present but "(NULL)": NTLM was called by name
    name, package = _first(data, ("SecurityPackage", "NegotiatedPackage"))
    if name:
        up = package.upper()
        if up == "NTLM":
            return AuthMechanism.NTLM
        if up == "NEGOTIATE":
            return AuthMechanism.NEGOTIATE
    # 4624/4625 report "NTLM" as the package whether or not Negotiate chose it.
    return AuthMechanism.UNKNOWN


def account_scope(domain: str, host: str, client_host: str) -> AccountScope:
    """LOCAL when the account's domain is a machine's SAM: "." (how a local logon names
    it), the reporting host's NetBIOS name, or the client workstation's (the client's
    own local account, sent to a server that cannot validate it)."""
    dom = domain.upper()
    if dom == ".":
        return AccountScope.LOCAL
    if not dom or dom == "NT AUTHORITY":
        return AccountScope.UNKNOWN
    if dom == netbios_name(host):
        return AccountScope.LOCAL
    if client_host and dom == netbios_name(client_host):
        return AccountScope.LOCAL
    return AccountScope.DOMAIN


def _int32(value: int | None) -> int | None:
    """A code that fits the store's 32-bit column, or None (the text then goes to extra):
    a hostile or garbled number must not stop a whole batch from being written."""
    return value if value is not None and INT32_MIN <= value <= INT32_MAX else None


def build_event(
    *,
    host: str,
    channel: str,
    provider: str,
    event_id: int,
    record_id: int | None,
    time: datetime,
    data: Mapping[str, object],
    file: str,
) -> AuthEvent:
    """One AuthEvent from a relevant record (call `is_relevant` first). Raises ValueError
    for a record the store could not hold (the readers count it as corrupt and go on).
    `record_id` None: the export carried no EventRecordID; a content-derived one is used
    (and extra["record_id"] says so)."""
    derived = record_id is None
    if record_id is None:
        record_id = content_record_id(
            host.upper(), channel, event_id, time.isoformat(),
            sorted((str(k), _clean(v)) for k, v in data.items() if _clean(v)))
    if not 0 <= record_id <= RECORD_ID_MAX:
        raise ValueError(f"record id {record_id} is outside 0..{RECORD_ID_MAX}")
    role = NTLM_OPERATIONAL_ROLES.get(event_id)
    if event_id in EXPLICIT_CREDENTIAL_IDS:
        role = Role.CLIENT_OUTGOING  # logged by the client that used the credentials
    if role is None:
        if event_id in (4624, 4625) or event_id in LSASRV_IDS:
            role = Role.SERVER_INCOMING
        else:  # 4776 and the KDC's own 4768/4769/4771: reported by the DC
            role = Role.DC_PASSTHROUGH

    found, rest = _collect(data)
    get = found.get
    target = get("target", "")
    user = get("user", "")
    domain = get("domain", "")
    client_host = get("client_host", "")
    if not client_host and role is Role.CLIENT_OUTGOING:
        client_host = host
    addr = get("addr", "")
    if addr.startswith("::ffff:"):
        addr = addr[7:]
    process = get("process", "") or _clean(data.get("LogonProcessName"))
    reason_text = get("reason", "")
    usage_reason = _int32(parse_int(reason_text)) if reason_text else None
    version_text = get("version", "")
    version = _ntlm_version(version_text) if version_text else NtlmVersion.UNKNOWN
    if event_id in NTLMV1_EVENT_IDS and version is NtlmVersion.UNKNOWN:
        version = NtlmVersion.NTLMV1
    status = normalize_status(get("status", ""))
    sub_status = normalize_status(_clean(data.get("SubStatus")))
    if event_id == 4625 and sub_status and parse_int(sub_status) != 0:
        status = sub_status
    sct = get("sct", "")
    secure_channel_type = _int32(parse_int(sct)) if sct else None

    scope = account_scope(domain, host, client_host)

    extra: dict[str, str] = {"file": file}
    if derived:
        extra["record_id"] = "content"
    pid = get("pid", "")
    if pid and parse_int(pid) != 0:
        extra["pid"] = pid  # kept apart so `process` groups across process restarts
    if reason_text and usage_reason is None:
        extra["UsageReason"] = reason_text[:MAX_EXTRA_VALUE]
    if sct and secure_channel_type is None:
        extra["SChannelType"] = sct[:MAX_EXTRA_VALUE]
    if len(rest) >= MAX_EXTRA_FIELDS:
        rest["_truncated"] = "1"
    extra.update(rest)

    return AuthEvent(
        source=f"{host}/{channel}",
        record_id=record_id,
        time=time,
        host=host,
        provider=provider,
        event_id=event_id,
        role=role,
        client_host=client_host,
        client_address=addr,
        target_name=target,
        user=user,
        domain=domain,
        account_scope=scope,
        process=process,
        ntlm_version=version,
        mechanism=_mechanism(event_id, data, usage_reason),
        usage_reason=usage_reason,
        disposition=_disposition(event_id, status, sub_status),
        status=status,
        secure_channel_type=secure_channel_type,
        extra=extra,
    )
