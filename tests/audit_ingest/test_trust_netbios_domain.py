"""A domain whose NetBIOS name is not the first label of its DNS name (ad.contoso.com,
NetBIOS CONTOSO, a common layout) has no trust path to itself: its own users' NTLM
pass-through on its DC was classified trust-path (remedy IAKerb) for every event. A
user of another domain (FABRIKAM) still is."""

from __future__ import annotations

import json

from kerbfirst.audit.classify import classify
from kerbfirst.audit.events import Cause
from kerbfirst.audit.ingest.jsonl_reader import event_from_json


def _pass_through(domain: str, host: str = "DC01.ad.contoso.com") -> Cause:
    doc = {"EventID": 8004, "SourceName": "Microsoft-Windows-NTLM",
           "Channel": "Microsoft-Windows-NTLM/Operational", "Hostname": host,
           "EventTime": "2024-05-01 10:00:00", "RecordNumber": 1,
           "SChannelName": "APP07", "UserName": "bob", "DomainName": domain,
           "WorkstationName": "WKS01", "SChannelType": "2"}
    event = event_from_json(json.loads(json.dumps(doc)), "x")
    assert event is not None
    return classify(event).cause


def test_own_domain_by_netbios_name_is_no_trust_path() -> None:
    assert _pass_through("CONTOSO") is not Cause.TRUST_PATH
    assert _pass_through("AD") is not Cause.TRUST_PATH
    assert _pass_through("ad.contoso.com") is not Cause.TRUST_PATH


def test_other_domain_is_a_trust_path() -> None:
    assert _pass_through("FABRIKAM") is Cause.TRUST_PATH
    assert _pass_through("PARTNER", host="dc01.corp.example.com") is Cause.TRUST_PATH
