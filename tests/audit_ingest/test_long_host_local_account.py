"""A member server whose host name is longer than 15 characters: its SAM domain (what a
local account's TargetDomainName says) is the NetBIOS name, the first 15 characters.
Such local-account logons were classified as domain accounts."""

from __future__ import annotations

from kerbfirst.audit.classify import classify
from kerbfirst.audit.events import AccountScope, Cause
from kerbfirst.audit.ingest.jsonl_reader import event_from_json


def _logon(host: str, domain: str, workstation: str = "WKS01") -> tuple[AccountScope, Cause]:
    event = event_from_json({
        "EventID": 4624, "SourceName": "Microsoft-Windows-Security-Auditing",
        "Channel": "Security", "Hostname": host, "EventTime": "2024-05-01 10:00:00",
        "RecordNumber": 9, "AuthenticationPackageName": "NTLM", "LmPackageName": "NTLM V2",
        "TargetUserName": "svc_report", "TargetDomainName": domain,
        "WorkstationName": workstation, "IpAddress": "10.0.0.8", "LogonType": "3"}, "x")
    assert event is not None
    e = classify(event)
    return e.account_scope, e.cause


def test_local_account_of_a_long_named_server() -> None:
    scope, cause = _logon("REPORTINGSERVER01.corp.example.com", "REPORTINGSERVER")
    assert (scope, cause) == (AccountScope.LOCAL, Cause.LOCAL_ACCOUNT)
    assert _logon("reportingserver01", "reportingserver")[0] is AccountScope.LOCAL


def test_local_account_of_a_long_named_client() -> None:
    scope, _ = _logon("SRV01.corp.example.com", "ENGINEERINGWKS0", "ENGINEERINGWKS0042")
    assert scope is AccountScope.LOCAL


def test_domain_account_stays_domain() -> None:
    assert _logon("REPORTINGSERVER01.corp.example.com", "CORP")[0] is AccountScope.DOMAIN
