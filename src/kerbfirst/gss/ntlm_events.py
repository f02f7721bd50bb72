"""Each NTLM attempt at our acceptor as the events Windows writes for one, so that
`kerbfirst audit ingest` reads them as it reads Windows' own (its NXLog JSON form).

For one attempt a Windows server writes, and we write:

- Microsoft-Windows-NTLM/Operational 4022 (or 4023, the Warning form, when the
  authentication was weaker: NTLMv1/LM, no MIC, no channel binding), the 24H2 server
  usage event: Username, DomainName, RemoteClientMachine, ClientIP, NtlmVersion,
  MicStatus, ChannelBindingStatus, ServiceBinding, TargetMachine, Status.
- when the flow is in the NTLM policy's blocking scope and no exception allows it: 8003
  (audit mode: "would be blocked") or 4003 (enforce mode: blocked), the events of
  "Restrict NTLM: NTLM authentication in this domain", whose server exceptions are
  what our exception register holds: UserName, DomainName, Workstation, LogonType.
- Security 4624 (success) or 4625 (failure; Status/SubStatus as MS-ERREF NTSTATUS) with
  AuthenticationPackageName NTLM and LmPackageName, LogonProcessName "NtLmSsp ".

The policy's answer rides along in fields Windows does not have (PolicyMode,
PolicyDecision, PolicyException, PolicyNearException, PolicyReason); the ingest keeps
unknown fields, bounded, so the reason a flow was blocked, and the exception that would
have allowed it, reach the workbench.
"""

from __future__ import annotations

from typing import NamedTuple

from kerbfirst.gss.logon_events import (
    PACKAGE_NTLM,
    STATUS_BAD_BINDINGS,
    STATUS_LOGON_FAILURE,
    STATUS_NO_LOGON_SERVERS,
    STATUS_NO_SUCH_USER,
    STATUS_NTLM_BLOCKED,
    STATUS_SUCCESS,
    STATUS_TIME_DIFFERENCE,
    STATUS_WRONG_PASSWORD,
    Logon,
    event_time,
    logon_event,
)
from kerbfirst.gss.ntlm import NtlmClaim, NtlmFault
from kerbfirst.policy import Decision
from kerbfirst.wire.ntlm import NtlmVersion

PROVIDER_NTLM = "Microsoft-Windows-NTLM"
CHANNEL_NTLM = "Microsoft-Windows-NTLM/Operational"

_SUB_STATUS = {
    NtlmFault.POLICY: STATUS_NTLM_BLOCKED,
    NtlmFault.LM: STATUS_NTLM_BLOCKED,
    NtlmFault.NTLMV1: STATUS_NTLM_BLOCKED,
    NtlmFault.UNKNOWN_USER: STATUS_NO_SUCH_USER,
    NtlmFault.BAD_PASSWORD: STATUS_WRONG_PASSWORD,
    NtlmFault.CLOCK_SKEW: STATUS_TIME_DIFFERENCE,
    NtlmFault.UNVERIFIABLE: STATUS_NO_LOGON_SERVERS,
    NtlmFault.NO_CHANNEL_BINDINGS: STATUS_BAD_BINDINGS,
    NtlmFault.BAD_CHANNEL_BINDINGS: STATUS_BAD_BINDINGS,
}


class NtlmOutcome(NamedTuple):
    attempt: NtlmClaim
    decision: Decision | None  # None: refused before the policy was asked (anonymous)
    fault: NtlmFault | None  # None: authenticated
    detail: str
    policy_mode: str


def status_of(fault: NtlmFault | None) -> tuple[str, str]:
    """(Status, SubStatus) as Windows' 4625 reports them."""
    if fault is None:
        return STATUS_SUCCESS, STATUS_SUCCESS
    sub = _SUB_STATUS.get(fault, STATUS_LOGON_FAILURE)
    if sub == STATUS_NTLM_BLOCKED:
        return STATUS_NTLM_BLOCKED, STATUS_NTLM_BLOCKED
    return STATUS_LOGON_FAILURE, sub


def _policy_fields(outcome: NtlmOutcome) -> dict[str, str]:
    d = outcome.decision
    if d is None:
        return {"PolicyMode": outcome.policy_mode, "PolicyDecision": "not asked",
                "PolicyReason": outcome.detail}
    verdict = ("allowed by exception" if d.exception is not None else
               "blocked" if not d.allowed else
               "would be blocked" if d.would_block else "not in scope")
    fields = {"PolicyMode": outcome.policy_mode, "PolicyDecision": verdict,
              "PolicyReason": d.reason}
    if d.exception is not None:
        fields["PolicyException"] = d.exception.id
    if d.near is not None:
        fields["PolicyNearException"] = d.near.id
    return fields


def windows_events(outcome: NtlmOutcome, *, host: str, server: str, process: str, pid: int,
                   mechanism_oid: str = "(NULL)") -> list[dict[str, object]]:
    """The NXLog-form documents for one attempt, without EventRecordID (the log writer
    numbers them). `host` is the reporting machine; `server` the name the policy decided
    on (TargetMachine: Windows writes the NetBIOS name there, we write the name the
    exceptions are written against, so `audit simulate` decides the flow as we did);
    `mechanism_oid` is NTLMSSP's OID when SPNEGO chose NTLM, "(NULL)" when the client
    called NTLM by name (HTTP `NTLM`)."""
    a = outcome.attempt
    t = event_time(a.now)
    status, sub = status_of(outcome.fault)
    version = a.version.value
    weak = a.version is not NtlmVersion.NTLMV2 or not a.mic or not a.channel_bound
    policy = _policy_fields(outcome)

    def doc(event_id: int, provider: str, channel: str, **fields: object) -> dict[str, object]:
        return {"EventTime": t, "Hostname": host, "SourceName": provider, "Channel": channel,
                "EventID": event_id, **fields, **policy}

    usage = doc(
        4023 if weak else 4022, PROVIDER_NTLM, CHANNEL_NTLM,
        ProcessName=process, ProcessPID=hex(pid), Username=a.user, DomainName=a.domain,
        RemoteClientMachine=a.workstation, ClientIP=a.client_address,
        NegotiatedFlags=f"0x{a.flags:08x}", NtlmVersion=version,
        MicStatus="Present" if a.mic else "Missing",
        ChannelBindingStatus="Present" if a.channel_bound else "Missing",
        ServiceBinding=a.service, TargetMachine=server, Status=status,
    )
    out = [usage]
    d = outcome.decision
    if d is not None and d.would_block:
        out.append(doc(
            4003 if not d.allowed else 8003, PROVIDER_NTLM, CHANNEL_NTLM,
            UserName=a.user, DomainName=a.domain, Workstation=a.workstation,
            ClientIP=a.client_address, CallerPID=str(pid), ProcessName=process,
            LogonType="3", MechanismOID=mechanism_oid, TargetMachine=server,
            NtlmVersion=version,  # not in Windows' 8003; without it v1 would look unexplained
        ))
    out.append(logon_event(Logon(
        time=a.now, package=PACKAGE_NTLM, acceptor=process, host=host,
        client_address=a.client_address, user=a.user, domain=a.domain,
        workstation=a.workstation, service=a.service, target_machine=server,
        status=status, sub_status=sub,
        failure=outcome.detail if outcome.fault is not None else "",
        lm_package=a.version.lm_package, process=process, pid=pid, extra=policy)))
    return out
