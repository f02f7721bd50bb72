"""Per-event causes that are true: null sessions logged as NTLM V1, local accounts named
'.' or by a machine's name."""

from __future__ import annotations

from kerbfirst.audit.classify import classify
from kerbfirst.audit.events import AccountScope, Cause, Remedy
from kerbfirst.audit.ingest.jsonl_reader import event_from_json


def _4624(**fields: str):
    doc = {"EventTime": "2026-03-02 10:00:00", "Hostname": "SRV01.corp.example.com",
           "EventID": 4624, "SourceName": "Microsoft-Windows-Security-Auditing",
           "Channel": "Security", "RecordNumber": 7, "LogonType": "3",
           "LogonProcessName": "NtLmSsp ", "AuthenticationPackageName": "NTLM",
           "LmPackageName": "NTLM V2", "TargetUserSid": "S-1-5-21-1-2-3-1001",
           "TargetUserName": "alice", "TargetDomainName": "CORP",
           "WorkstationName": "WKS01", "IpAddress": "10.0.0.5", **fields}
    event = event_from_json(doc, "t")
    assert event is not None
    return classify(event)


def test_anonymous_logon_with_ntlm_v1_is_a_null_session_not_an_ntlmv1_device():
    e = _4624(TargetUserSid="S-1-5-7", TargetUserName="ANONYMOUS LOGON",
              TargetDomainName="NT AUTHORITY", LmPackageName="NTLM V1")
    assert (e.cause, e.remedy) == (Cause.ANONYMOUS, Remedy.RESTRICT_NULL_SESSIONS)
    # a named user with NTLM V1 still is an NTLMv1 client
    e = _4624(LmPackageName="NTLM V1")
    assert (e.cause, e.remedy) == (Cause.NTLMV1_OR_LM, Remedy.UPGRADE_OR_REPLACE_DEVICE)


def test_local_accounts_named_dot_or_by_a_machine_name():
    for domain in (".", "SRV01", "srv01", "WKS01"):
        e = _4624(TargetDomainName=domain)
        assert e.account_scope is AccountScope.LOCAL, domain
        assert (e.cause, e.remedy) == (Cause.LOCAL_ACCOUNT, Remedy.LOCALKDC), domain
    e = _4624()
    assert e.account_scope is AccountScope.DOMAIN and e.cause is not Cause.LOCAL_ACCOUNT


def test_unknown_from_the_security_log_says_why_and_what_next():
    e = _4624(TargetUserName="carol")
    assert e.cause is Cause.UNKNOWN
    assert e.evidence.startswith("unknown: no rule matched (EventID=4624); not determinable")
    assert "turn on NTLM auditing" in e.evidence and "SRV01.corp.example.com" in e.evidence
