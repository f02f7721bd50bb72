"""Deterministic generator of Windows NTLM evidence for every event type and every cause.

No public sample holds NTLM/Operational events (8001-8006, 4001-4006, 4013, 4015) or
the 24H2 enhanced-auditing events (4020-4025, 4030-4033), so tests and the benchmark use
records generated here, rendered the way each tool exports them:

- `to_wevtutil_xml`: one <Event> per line, exactly as `wevtutil qe LOG /f:xml` prints it
  (single-quoted attributes, System: Provider Name/Guid, EventID, Version, Level, Task,
  Opcode, Keywords, TimeCreated SystemTime with 7 fractional digits, EventRecordID,
  Correlation, Execution, Channel, Computer, Security; EventData/Data Name=...).
- `to_evtx_json`: the document the `evtx` package's `records_json()` yields (checked
  against the real samples in tests/data: "#attributes", null Correlation/Security,
  integers where the template type is an integer); `evtx_dump -o jsonl` writes the same.
- `to_nxlog`, `to_winlogbeat`: NXLog im_msvistalog JSON and Winlogbeat/ECS documents.
- CSV with NXLog-style column names.

Where the field names come from:
- Security 4624/4625/4776/4768/4769/4771: Microsoft's published event schemas (also
  visible in the real samples in tests/data).
- NTLM/Operational 8001-8006 / 4001-4006: the Microsoft-Windows-NTLM provider manifest (client:
  TargetName, UserName, DomainName, CallerPID, ProcessName, ClientLUID, ClientUserName,
  ClientDomainName, MechanismOID; DC: SChannelName, UserName, DomainName,
  WorkstationName, SChannelType). 8003's Workstation/LogonType are from the event text.
- 4020-4025 and 4030-4033: no public sample holds them either; their field names and
  types are those of the provider manifests of Windows 11 25H2/26H1 (build 26100/28000;
  Microsoft-Windows-NTLM for 4020-4025, Microsoft-Windows-Security-Netlogon for 4030-4033),
  as dumped by the jdu2600/Windows10EtwEvents project. 4020/4021 (client): Username,
  TargetService, TargetMachine, TargetIP, NtlmUsageId + NtlmUsageReason, NtlmVersion
  ("NTLMv2"), ProcessPID in hex, ...; 4022/4023 (server): RemoteClientMachine, ClientIP,
  Status, no usage reason; 4024/4025: the 4001 layout; 4030-4033 (DC): AccountName,
  AccountDomain, AccountMachine, ServerName, Forwarder* or ServerIP/ServerOS, Status.
  The usage codes used (1, 5, 6, 7) are KB5064479's. The values of the free-text status
  fields (MicStatus, ChannelBindingStatus, ...) and the NtlmUsageReason wording are
  placeholders: no public export shows them.

    python -m kerbfirst.audit.fixtures OUTDIR --events N [--seed S]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import gzip
import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from kerbfirst.audit.events import Cause, Remedy

C, R = Cause, Remedy
NTLM = ("Microsoft-Windows-NTLM", "{AC43300D-5FCC-4800-8E99-1BD3F85F0320}",
        "Microsoft-Windows-NTLM/Operational")
NETLOGON = ("Microsoft-Windows-Security-Netlogon", "{E5BA83F6-07D0-46B1-8BC7-7E669A1D31DC}",
            "Microsoft-Windows-NTLM/Operational")
SECURITY = ("Microsoft-Windows-Security-Auditing", "{54849625-5478-4994-A5BA-3E3B0328C30D}",
            "Security")
LSASRV = ("LsaSrv", "", "System")
NEGO_OID = "1.3.6.1.4.1.311.2.2.10"
INT_FIELDS = frozenset({"LogonType", "KeyLength", "SChannelType", "NtlmUsageId", "StatusMsg",
                        "TicketEncryptionType", "PreAuthType"})

_CLIENT = {"TargetName": "cifs/{server}.corp.example.com", "UserName": "{user}",
           "DomainName": "CORP", "CallerPID": "{pid}", "ProcessName": "{process}",
           "ClientLUID": "0x3e7", "ClientUserName": "{netbios}$", "ClientDomainName": "CORP",
           "MechanismOID": NEGO_OID}
_CLIENT24 = {"ProcessName": "{process}", "ProcessPID": "{pidhex}", "Username": "{user}",
             "DomainName": "CORP", "Hostname": "{netbios}", "SingleSignOn": "true",
             "TargetMachine": "{server}.corp.example.com", "TargetDomain": "corp.example.com",
             "TargetService": "cifs/{server}.corp.example.com", "TargetIP": "10.20.{n}.40",
             "TargetNetworkName": "{server}", "NtlmUsageId": "0",
             "NtlmUsageReason": "Unknown", "NegotiatedFlags": "0xe2888215",
             "NtlmVersion": "NTLMv2", "SessionKeyStatus": "Present",
             "ChannelBindingStatus": "Present", "ServiceBinding": "cifs/{server}",
             "MicStatus": "Present", "AvlFlags": "0x2", "AvlFlagsStr": "MIC present"}
_SERVER = {"CallerPID": "{pid}", "ProcessName": "{process}", "ClientLUID": "0x3e7",
           "ClientUserName": "{netbios}$", "ClientDomainName": "CORP", "MechanismOID": NEGO_OID}
_SERVER_IN_DOMAIN = {"UserName": "{user}", "DomainName": "CORP", "Workstation": "{client}",
                     "CallerPID": "{pid}", "ProcessName": "{process}", "LogonType": "3",
                     "MechanismOID": NEGO_OID}
_SERVER24 = {"ProcessName": "{process}", "ProcessPID": "{pidhex}", "Username": "{user}",
             "DomainName": "CORP", "RemoteClientMachine": "{client}", "ClientIP": "{ip}",
             "ClientNetworkName": "{client}", "NegotiatedFlags": "0xe2888215",
             "NtlmVersion": "NTLMv2", "SessionKeyStatus": "Present",
             "ChannelBindingStatus": "Present", "ServiceBinding": "cifs/{netbios}",
             "TargetMachine": "{netbios}", "TargetDomain": "CORP", "MicStatus": "Present",
             "AvFlags": "0x2", "AvFlagsStr": "MIC present", "Status": "0x0", "StatusMsg": "0"}
_DC = {"SChannelName": "{server}", "UserName": "{user}", "DomainName": "CORP",
       "WorkstationName": "{client}", "SChannelType": "2"}
_DC24_HEAD = {"DCName": "{netbios}", "AccountName": "{user}", "AccountDomain": "CORP",
              "AccountMachine": "{client}", "ServerName": "{server}", "ServerDomain": "CORP"}
_DC24_TAIL = {"NtlmVersion": "NTLMv2", "ServiceBinding": "cifs/{server}",
              "TargetMachine": "{server}", "TargetDomain": "CORP", "MicStatus": "Present",
              "AvFlags": "0x2", "AvFlagsStr": "MIC present", "Status": "0x0", "StatusMsg": "0"}
_DC24_FORWARDED = {**_DC24_HEAD, "ForwarderType": "Server", "ForwarderName": "{server}",
                   "ForwarderDomain": "CORP", "ForwarderIP": "{ip}", **_DC24_TAIL}  # 4030/4031
_DC24_DIRECT = {**_DC24_HEAD, "ServerIP": "{ip}", "ServerOS": "Windows Server 2025",
                **_DC24_TAIL}  # 4032/4033
_LOGON = {"SubjectUserSid": "S-1-0-0", "SubjectUserName": "-", "SubjectDomainName": "-",
          "SubjectLogonId": "0x0", "TargetUserSid": "S-1-5-21-1004336348-1177238915-"
          "682003330-1105", "TargetUserName": "{user}", "TargetDomainName": "CORP",
          "TargetLogonId": "0x5f2a1", "LogonType": "3", "LogonProcessName": "NtLmSsp ",
          "AuthenticationPackageName": "NTLM", "WorkstationName": "{client}",
          "LogonGuid": "{{00000000-0000-0000-0000-000000000000}}", "TransmittedServices": "-",
          "LmPackageName": "NTLM V2", "KeyLength": "128", "ProcessId": "0x0",
          "ProcessName": "-", "IpAddress": "{ip}", "IpPort": "49732"}
_FAILED = {**_LOGON, "TargetUserSid": "S-1-0-0", "Status": "0xc000006d",
           "FailureReason": "%%2313", "SubStatus": "0xc000006a", "LmPackageName": "-"}
_VALIDATE = {"PackageName": "MICROSOFT_AUTHENTICATION_PACKAGE_V1_0",
             "TargetUserName": "{user}", "Workstation": "{client}", "Status": "0x0"}
_TGS = {"TargetUserName": "{user}@CORP.EXAMPLE.COM", "TargetDomainName": "CORP.EXAMPLE.COM",
        "ServiceName": "cifs/{server}", "ServiceSid": "S-1-0-0", "TicketOptions": "0x40810000",
        "TicketEncryptionType": "4294967295", "IpAddress": "::ffff:{ip}", "IpPort": "50123",
        "Status": "0x7", "LogonGuid": "{{00000000-0000-0000-0000-000000000000}}",
        "TransmittedServices": "-"}
_TGT = {"TargetUserName": "{user}", "TargetDomainName": "CORP", "TargetSid": "S-1-0-0",
        "ServiceName": "krbtgt/CORP", "ServiceSid": "S-1-0-0", "TicketOptions": "0x40810010",
        "Status": "0xe", "TicketEncryptionType": "4294967295", "PreAuthType": "-",
        "IpAddress": "::ffff:{ip}", "IpPort": "50124"}
_PREAUTH = {"TargetUserName": "{user}", "TargetSid": "S-1-5-21-1-2-3-1105",
            "ServiceName": "krbtgt/CORP", "TicketOptions": "0x40810010", "Status": "0x25",
            "PreAuthType": "2", "IpAddress": "::ffff:{ip}", "IpPort": "50125"}


@dataclasses.dataclass(frozen=True, slots=True)
class Scenario:
    """One event type in one situation, with the classification it must get."""

    event_id: int
    provider: tuple[str, str, str]  # name, guid, channel
    host_kind: str  # "client", "server" or "dc": which machine reports it
    fields: dict[str, str]
    cause: Cause
    remedy: Remedy


def _s(eid: int, prov: tuple[str, str, str], kind: str, base: dict[str, str], cause: Cause,
       remedy: Remedy, **changes: str) -> Scenario:
    return Scenario(eid, prov, kind, {**base, **changes}, cause, remedy)


def _scenarios() -> tuple[Scenario, ...]:
    out: list[Scenario] = []
    local = "{netbios}"
    for eid in (8001, 4001):
        out += [
            _s(eid, NTLM, "client", _CLIENT, C.TARGET_IS_IP, R.REGISTER_SPN_USE_FQDN,
               TargetName="cifs/10.20.{n}.40"),
            _s(eid, NTLM, "client", _CLIENT, C.SPN_MISSING, R.REGISTER_SPN_USE_FQDN,
               TargetName=""),
            _s(eid, NTLM, "client", _CLIENT, C.LOCAL_ACCOUNT, R.LOCALKDC, DomainName=local),
            _s(eid, NTLM, "client", _CLIENT, C.APP_EXPLICIT_NTLM, R.SWITCH_TO_NEGOTIATE,
               MechanismOID="(NULL)"),
            _s(eid, NTLM, "client", _CLIENT, C.ANONYMOUS, R.RESTRICT_NULL_SESSIONS, UserName=""),
            _s(eid, NTLM, "client", _CLIENT, C.UNKNOWN, R.OWNED_EXCEPTION),
        ]
    for eid in (4020, 4021):
        out += [
            _s(eid, NTLM, "client", _CLIENT24, C.TARGET_IS_IP, R.REGISTER_SPN_USE_FQDN,
               NtlmUsageId="7", NtlmUsageReason="Target name is an IP address",
               TargetService="cifs/10.20.{n}.40", TargetMachine="10.20.{n}.40"),
            _s(eid, NTLM, "client", _CLIENT24, C.TARGET_IS_IP, R.REGISTER_SPN_USE_FQDN,
               TargetService="", TargetMachine="10.20.{n}.40"),
            _s(eid, NTLM, "client", _CLIENT24, C.SPN_MISSING, R.REGISTER_SPN_USE_FQDN,
               NtlmUsageId="5", NtlmUsageReason="Target name is missing",
               TargetService="", TargetMachine="", TargetNetworkName=""),
            _s(eid, NTLM, "client", _CLIENT24, C.SPN_MISSING, R.REGISTER_SPN_USE_FQDN,
               NtlmUsageId="6", NtlmUsageReason="Target name could not be resolved",
               TargetService="http/intranet-old", TargetMachine="intranet-old"),
            _s(eid, NTLM, "client", _CLIENT24, C.LOCAL_ACCOUNT, R.LOCALKDC,
               DomainName=local),
            _s(eid, NTLM, "client", _CLIENT24, C.APP_EXPLICIT_NTLM, R.SWITCH_TO_NEGOTIATE,
               NtlmUsageId="1", NtlmUsageReason="NTLM was called directly by the calling "
               "application."),
            _s(eid, NTLM, "client", _CLIENT24, C.ANONYMOUS, R.RESTRICT_NULL_SESSIONS, Username=""),
            _s(eid, NTLM, "client", _CLIENT24, C.NTLMV1_OR_LM, R.UPGRADE_OR_REPLACE_DEVICE,
               NtlmVersion="NTLMv1", MicStatus="Missing"),
            _s(eid, NTLM, "client", _CLIENT24, C.UNKNOWN, R.OWNED_EXCEPTION),
        ]
    for eid in (8002, 4002):
        out += [_s(eid, NTLM, "server", _SERVER, C.APP_EXPLICIT_NTLM, R.SWITCH_TO_NEGOTIATE,
                   MechanismOID="(NULL)"),
                _s(eid, NTLM, "server", _SERVER, C.UNKNOWN, R.OWNED_EXCEPTION)]
    for eid in (8003, 4003):
        out += [_s(eid, NTLM, "server", _SERVER_IN_DOMAIN, C.LOCAL_ACCOUNT, R.LOCALKDC,
                   DomainName=local),
                _s(eid, NTLM, "server", _SERVER_IN_DOMAIN, C.ANONYMOUS, R.RESTRICT_NULL_SESSIONS,
                   UserName=""),
                _s(eid, NTLM, "server", _SERVER_IN_DOMAIN, C.UNKNOWN, R.OWNED_EXCEPTION)]
    for eid in (4022, 4023):
        # No usage reason on the server side (the manifest has none): the cause comes
        # from the account, the version and the client's address.
        out += [
            _s(eid, NTLM, "server", _SERVER24, C.NTLMV1_OR_LM, R.UPGRADE_OR_REPLACE_DEVICE,
               NtlmVersion="NTLMv1"),
            _s(eid, NTLM, "server", _SERVER24, C.LOCAL_ACCOUNT, R.LOCALKDC, DomainName=local),
            _s(eid, NTLM, "server", _SERVER24, C.ANONYMOUS, R.RESTRICT_NULL_SESSIONS, Username=""),
            _s(eid, NTLM, "server", _SERVER24, C.UNKNOWN, R.IAKERB, ClientIP="81.2.69.{n}"),
            _s(eid, NTLM, "server", _SERVER24, C.UNKNOWN, R.OWNED_EXCEPTION,
               Status="0xC000006D", StatusMsg="3221225581"),  # STATUS_LOGON_FAILURE
            _s(eid, NTLM, "server", _SERVER24, C.UNKNOWN, R.OWNED_EXCEPTION),
        ]
    for eid in (8004, 8005, 8006, 4004, 4005, 4006):
        out += [_s(eid, NETLOGON, "dc", _DC, C.TRUST_PATH, R.OWNED_EXCEPTION,
                   SChannelType="4", SChannelName="PARTNER", DomainName="PARTNER"),
                _s(eid, NETLOGON, "dc", _DC, C.TRUST_PATH, R.OWNED_EXCEPTION,
                   DomainName="FABRIKAM"),
                _s(eid, NETLOGON, "dc", _DC, C.ANONYMOUS, R.RESTRICT_NULL_SESSIONS, UserName=""),
                _s(eid, NETLOGON, "dc", _DC, C.UNKNOWN, R.OWNED_EXCEPTION)]
    for eid in (4030, 4031, 4032, 4033):
        dc24 = _DC24_FORWARDED if eid in (4030, 4031) else _DC24_DIRECT
        out += [_s(eid, NETLOGON, "dc", dc24, C.TRUST_PATH, R.OWNED_EXCEPTION,
                   AccountDomain="PARTNER"),
                _s(eid, NETLOGON, "dc", dc24, C.TRUST_PATH, R.IAKERB, AccountDomain="PARTNER",
                   Status="0xC000005E", StatusMsg="3221225566"),  # STATUS_NO_LOGON_SERVERS
                _s(eid, NETLOGON, "dc", dc24, C.NTLMV1_OR_LM, R.UPGRADE_OR_REPLACE_DEVICE,
                   NtlmVersion="NTLMv1"),
                _s(eid, NETLOGON, "dc", dc24, C.ANONYMOUS, R.RESTRICT_NULL_SESSIONS,
                   AccountName=""),
                _s(eid, NETLOGON, "dc", dc24, C.UNKNOWN, R.OWNED_EXCEPTION)]
    for eid in (4013, 4024, 4025):  # the 4001 layout (manifest); the event means NTLMv1
        out.append(_s(eid, NTLM, "client", _CLIENT, C.NTLMV1_OR_LM,
                      R.UPGRADE_OR_REPLACE_DEVICE))
    out.append(_s(4015, NTLM, "client", {**_CLIENT, "MechanismOID": NEGO_OID},
                  C.APP_EXPLICIT_NTLM, R.SWITCH_TO_NEGOTIATE))
    out += [
        _s(4624, SECURITY, "server", _LOGON, C.NTLMV1_OR_LM, R.UPGRADE_OR_REPLACE_DEVICE,
           LmPackageName="NTLM V1"),
        _s(4624, SECURITY, "server", _LOGON, C.NTLMV1_OR_LM, R.UPGRADE_OR_REPLACE_DEVICE,
           LmPackageName="LM"),
        _s(4624, SECURITY, "server", _LOGON, C.ANONYMOUS, R.RESTRICT_NULL_SESSIONS,
           TargetUserSid="S-1-5-7", TargetUserName="ANONYMOUS LOGON",
           TargetDomainName="NT AUTHORITY"),
        _s(4624, SECURITY, "server", _LOGON, C.LOCAL_ACCOUNT, R.LOCALKDC,
           TargetDomainName=local),
        _s(4624, SECURITY, "server", _LOGON, C.UNKNOWN, R.IAKERB, IpAddress="81.2.69.{n}"),
        _s(4624, SECURITY, "server", _LOGON, C.UNKNOWN, R.OWNED_EXCEPTION),
        _s(4625, SECURITY, "server", _FAILED, C.UNKNOWN, R.OWNED_EXCEPTION,
           Status="0xc000006e", SubStatus="0xc0000418"),  # STATUS_NTLM_BLOCKED
        _s(4625, SECURITY, "server", _FAILED, C.LOCAL_ACCOUNT, R.LOCALKDC,
           TargetDomainName=local),
        _s(4625, SECURITY, "server", _FAILED, C.UNKNOWN, R.IAKERB, Status="0xc000005e",
           SubStatus="0x0"),
        _s(4625, SECURITY, "server", _FAILED, C.UNKNOWN, R.OWNED_EXCEPTION),
        _s(4776, SECURITY, "dc", _VALIDATE, C.UNKNOWN, R.OWNED_EXCEPTION),
        _s(4776, SECURITY, "dc", _VALIDATE, C.ANONYMOUS, R.RESTRICT_NULL_SESSIONS,
           TargetUserName=""),
        _s(4776, SECURITY, "dc", _VALIDATE, C.UNKNOWN, R.OWNED_EXCEPTION,
           Status="0xc000006a"),
        _s(4769, SECURITY, "dc", _TGS, C.SPN_MISSING, R.REGISTER_SPN_USE_FQDN),
        _s(4768, SECURITY, "dc", _TGT, C.UNKNOWN, R.OWNED_EXCEPTION),
        _s(4771, SECURITY, "dc", _PREAUTH, C.UNKNOWN, R.OWNED_EXCEPTION),
        _s(6038, LSASRV, "server", {}, C.UNKNOWN, R.OWNED_EXCEPTION),
        # Both LsaSrv templates are empty; neither says which NTLM version was used.
        _s(6039, LSASRV, "server", {}, C.UNKNOWN, R.OWNED_EXCEPTION),
    ]
    return tuple(out)


SCENARIOS = _scenarios()
EVENT_IDS = frozenset(s.event_id for s in SCENARIOS)
# NXLog-style CSV: its own Hostname column is the reporting host, so a 24H2 EventData
# field of that name (4020/4021) has no column of its own (as in the NXLog JSON form).
_CSV_CORE = frozenset({"EventTime", "Hostname", "EventID", "SourceName", "Channel",
                       "EventRecordID"})
DATA_COLUMNS = tuple(sorted({k for s in SCENARIOS for k in s.fields} - _CSV_CORE))


@dataclasses.dataclass(slots=True)
class GeneratedRecord:
    scenario: Scenario
    host: str
    record_id: int
    time: datetime
    data: dict[str, str]

    @property
    def provider(self) -> str:
        return self.scenario.provider[0]

    @property
    def channel(self) -> str:
        return self.scenario.provider[2]

    @property
    def event_id(self) -> int:
        return self.scenario.event_id


_HOSTS = {"client": [f"WS{i:03d}.corp.example.com" for i in range(1, 41)],
          "server": [f"SRV{i:02d}.corp.example.com" for i in range(1, 11)],
          "dc": ["DC01.corp.example.com", "DC02.corp.example.com"]}
_USERS = ["alice", "bob", "carol", "dave", "svc_backup", "svc_sql", "erin", "frank"]
_PROCESSES = [r"C:\Windows\System32\svchost.exe", r"C:\Program Files\Legacy\scan.exe",
              r"C:\Windows\explorer.exe", r"C:\Program Files\ERP\erpclient.exe"]


def generate(seed: int, count: int | None = None,
             start: datetime = datetime(2025, 1, 6, tzinfo=UTC),
             spacing: timedelta = timedelta(seconds=5)) -> Iterator[GeneratedRecord]:
    """Every scenario once (in table order), then random scenarios up to `count`; each
    record up to `spacing` after the one before."""
    rng = random.Random(seed)
    counters: dict[tuple[str, str], int] = {}
    total = len(SCENARIOS) if count is None else count
    t = start
    for i in range(total):
        sc = SCENARIOS[i] if i < len(SCENARIOS) else rng.choice(SCENARIOS)
        host = rng.choice(_HOSTS[sc.host_kind])
        netbios = host.split(".", 1)[0]
        values = {"host": host, "netbios": netbios, "user": rng.choice(_USERS),
                  "server": rng.choice(_HOSTS["server"]).split(".", 1)[0],
                  "client": rng.choice(_HOSTS["client"]).split(".", 1)[0],
                  "ip": f"10.1.{rng.randrange(256)}.{rng.randrange(1, 255)}",
                  "pid": str(rng.randrange(400, 20000)), "process": rng.choice(_PROCESSES),
                  "n": str(rng.randrange(1, 255))}
        values["pidhex"] = f"0x{int(values['pid']):08x}"  # HexInt32 fields (ProcessPID)
        data = {k: v.format_map(values) for k, v in sc.fields.items()}
        key = (host, sc.provider[2])
        counters[key] = counters.get(key, 0) + 1
        t += timedelta(microseconds=rng.randrange(1, max(2, int(spacing / timedelta(
            microseconds=1)))))
        yield GeneratedRecord(sc, host, counters[key], t, data)


def _system_time(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"  # Windows prints 100 ns ticks


def to_wevtutil_xml(r: GeneratedRecord) -> str:
    name, guid, channel = r.scenario.provider
    prov = f"<Provider Name={quoteattr(name)}" + (f" Guid={quoteattr(guid)}/>" if guid else "/>")
    prov = prov.replace('"', "'")
    eid = (f"<EventID Qualifiers='32768'>{r.event_id}</EventID>" if not guid
           else f"<EventID>{r.event_id}</EventID>")
    data = "".join(f"<Data Name='{k}'>{escape(v)}</Data>" for k, v in r.data.items())
    return (
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
        f"{prov}{eid}<Version>0</Version><Level>4</Level><Task>0</Task><Opcode>0</Opcode>"
        "<Keywords>0x8000000000000000</Keywords>"
        f"<TimeCreated SystemTime='{_system_time(r.time)}'/>"
        f"<EventRecordID>{r.record_id}</EventRecordID><Correlation/>"
        "<Execution ProcessID='812' ThreadID='1204'/>"
        f"<Channel>{escape(channel)}</Channel><Computer>{escape(r.host)}</Computer>"
        f"<Security/></System><EventData>{data}</EventData></Event>"
    )


def _typed(k: str, v: str) -> Any:
    return int(v) if k in INT_FIELDS and v.isdigit() else v


def to_evtx_json(r: GeneratedRecord) -> dict[str, Any]:
    name, guid, channel = r.scenario.provider
    attrs = {"Name": name, "Guid": guid} if guid else {"Name": name}
    eid: Any = r.event_id if guid else {"#attributes": {"Qualifiers": 32768},
                                         "#text": r.event_id}
    return {"Event": {
        "#attributes": {"xmlns": "http://schemas.microsoft.com/win/2004/08/events/event"},
        "System": {
            "Provider": {"#attributes": attrs}, "EventID": eid, "Version": 0, "Level": 4,
            "Task": 0, "Opcode": 0, "Keywords": "0x8000000000000000",
            "TimeCreated": {"#attributes": {"SystemTime": _system_time(r.time)[:-2] + "Z"}},
            "EventRecordID": r.record_id, "Correlation": None,
            "Execution": {"#attributes": {"ProcessID": 812, "ThreadID": 1204}},
            "Channel": channel, "Computer": r.host, "Security": None},
        "EventData": {k: _typed(k, v) for k, v in r.data.items()} or None,
    }}


def to_nxlog(r: GeneratedRecord) -> dict[str, Any]:
    name, guid, channel = r.scenario.provider
    # EventData first, NXLog's own fields after: a 24H2 EventData "Hostname" (4020/4021)
    # must not replace the reporting host.
    return {**r.data, "EventTime": r.time.strftime("%Y-%m-%d %H:%M:%S"), "Hostname": r.host,
            "Keywords": "0x8000000000000000", "EventType": "INFO", "SeverityValue": 2,
            "Severity": "INFO", "EventID": r.event_id, "SourceName": name,
            "ProviderGuid": guid, "Version": 0, "Task": 0, "OpcodeValue": 0,
            "EventRecordID": r.record_id, "ProcessID": 812, "ThreadID": 1204,
            "Channel": channel, "EventReceivedTime": r.time.strftime(
                "%Y-%m-%d %H:%M:%S"), "SourceModuleName": "eventlog",
            "SourceModuleType": "im_msvistalog"}


def to_winlogbeat(r: GeneratedRecord) -> dict[str, Any]:
    name, guid, channel = r.scenario.provider
    return {"@timestamp": r.time.isoformat().replace("+00:00", "Z"),
            "event": {"code": str(r.event_id), "provider": name, "kind": "event"},
            "host": {"name": r.host.lower()},
            "winlog": {"channel": channel, "computer_name": r.host,
                       "event_id": str(r.event_id), "provider_name": name,
                       "provider_guid": guid, "record_id": r.record_id, "api": "wineventlog",
                       "event_data": dict(r.data)}}


CSV_HEADER = ("EventTime", "Hostname", "EventID", "SourceName", "Channel", "EventRecordID",
              *DATA_COLUMNS)


def to_csv_row(r: GeneratedRecord) -> list[str]:
    return [r.time.strftime("%Y-%m-%d %H:%M:%S.%f"), r.host, str(r.event_id), r.provider,
            r.channel, str(r.record_id), *(r.data.get(c, "") for c in DATA_COLUMNS)]


FORMATS = ("xml", "evtx-jsonl", "nxlog", "winlogbeat", "csv")


def _open_text(path: Path, gz: bool) -> IO[str]:
    if gz:
        return gzip.open(path, "wt", encoding="utf-8", newline="")
    return path.open("w", encoding="utf-8", newline="")


def write_fixtures(outdir: Path, *, seed: int, events: int | None = None,
                   formats: tuple[str, ...] = FORMATS, gz: bool = False,
                   spacing: timedelta = timedelta(seconds=5)) -> dict[str, Path]:
    """Write the same generated records in each format; returns format -> path."""
    outdir.mkdir(parents=True, exist_ok=True)
    names = {"xml": "events.xml", "evtx-jsonl": "events.evtx.jsonl",
             "nxlog": "events.nxlog.jsonl", "winlogbeat": "events.winlogbeat.jsonl",
             "csv": "events.csv"}
    paths = {f: outdir / (names[f] + (".gz" if gz else "")) for f in formats}
    with contextlib.ExitStack() as stack:
        handles = {f: stack.enter_context(_open_text(p, gz)) for f, p in paths.items()}
        writer = csv.writer(handles["csv"]) if "csv" in handles else None
        if writer is not None:
            writer.writerow(CSV_HEADER)
        if "xml" in handles:
            handles["xml"].write("<Events>\n")
        dumps = json.dumps
        for r in generate(seed, events, spacing=spacing):
            for f, h in handles.items():
                if f == "xml":
                    h.write(to_wevtutil_xml(r) + "\n")
                elif f == "evtx-jsonl":
                    h.write(dumps(to_evtx_json(r), separators=(",", ":")) + "\n")
                elif f == "nxlog":
                    h.write(dumps(to_nxlog(r)) + "\n")
                elif f == "winlogbeat":
                    h.write(dumps(to_winlogbeat(r)) + "\n")
                elif writer is not None:
                    writer.writerow(to_csv_row(r))
        if "xml" in handles:
            handles["xml"].write("</Events>\n")
    return paths


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kerbfirst.audit.fixtures",
                                 description="Generate Windows NTLM evidence fixtures.")
    ap.add_argument("outdir", type=Path)
    ap.add_argument("--events", type=int, default=None,
                    help=f"records per format (default: each of the {len(SCENARIOS)} "
                    "scenarios once)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--formats", default=",".join(FORMATS),
                    help=f"comma-separated subset of {', '.join(FORMATS)}")
    ap.add_argument("--gzip", action="store_true", help="write .gz files")
    args = ap.parse_args(argv)
    formats = tuple(f for f in args.formats.split(",") if f)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        ap.error(f"unknown format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}")
    for f, p in write_fixtures(args.outdir, seed=args.seed, events=args.events,
                               formats=formats, gz=args.gzip).items():
        print(f"{f}: {p} ({p.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
