"""The 24H2 enhanced NTLM auditing events read with their manifest field names.

Field names and types: the Microsoft-Windows-NTLM and Microsoft-Windows-Security-Netlogon
provider manifests of Windows 11 25H2/26H1 (see audit/fixtures.py). Meanings: KB5064479.
"""

from __future__ import annotations

from kerbfirst.audit.classify import classify
from kerbfirst.audit.events import Cause, Disposition, NtlmVersion, Role
from kerbfirst.audit.fixtures import generate, to_evtx_json, to_nxlog
from kerbfirst.audit.ingest.evtx_reader import event_from_evtx_json
from kerbfirst.audit.ingest.jsonl_reader import event_from_json

RECORDS = list(generate(seed=3))


def _record(event_id, cause, **data_check):
    for rec in RECORDS:
        if rec.event_id == event_id and rec.scenario.cause is cause and all(
            rec.data.get(k) == v for k, v in data_check.items()
        ):
            return rec
    raise LookupError((event_id, cause, data_check))


def _event(rec):
    event = event_from_evtx_json(to_evtx_json(rec), "generated")
    assert event is not None
    return classify(event)


def test_client_4020_fields_by_their_manifest_names():
    rec = _record(4020, Cause.SPN_MISSING, NtlmUsageId="6")
    e = _event(rec)
    assert e.role is Role.CLIENT_OUTGOING
    assert e.user == rec.data["Username"]  # lower-case n in 24H2
    assert e.target_name == "http/intranet-old"  # TargetService, the SPN
    assert e.usage_reason == 6
    assert e.extra["NtlmUsageReason"] == "Target name could not be resolved"
    assert e.extra["TargetIP"] == rec.data["TargetIP"]  # an address, not a name: kept aside
    assert e.extra["pid"] == rec.data["ProcessPID"] and e.extra["pid"].startswith("0x")
    assert e.ntlm_version is NtlmVersion.NTLMV2
    assert e.disposition is Disposition.ALLOWED
    assert e.evidence == "spn-missing: NtlmUsageId=6 (target name not resolvable)"


def test_target_machine_ip_without_spn_is_target_is_ip():
    rec = _record(4021, Cause.TARGET_IS_IP, TargetService="")
    e = _event(rec)
    assert e.target_name == rec.data["TargetMachine"]
    assert e.cause is Cause.TARGET_IS_IP


def test_levels_are_not_blocking_except_4025():
    # Odd ids are the Warning form (weaker NTLM), still an authentication that happened.
    assert _event(_record(4021, Cause.UNKNOWN)).disposition is Disposition.ALLOWED
    assert _event(_record(4023, Cause.UNKNOWN, Status="0x0")).disposition is (
        Disposition.ALLOWED)
    assert _event(_record(4024, Cause.NTLMV1_OR_LM)).disposition is Disposition.AUDIT
    assert _event(_record(4025, Cause.NTLMV1_OR_LM)).disposition is Disposition.BLOCKED
    failed = _event(_record(4023, Cause.UNKNOWN, Status="0xC000006D"))
    assert failed.disposition is Disposition.FAILED and failed.status == "0xC000006D"


def test_server_4022_client_machine_and_address():
    rec = _record(4022, Cause.UNKNOWN, Status="0x0")
    e = _event(rec)
    assert e.role is Role.SERVER_INCOMING
    assert e.client_host == rec.data["RemoteClientMachine"]
    assert e.client_address == rec.data["ClientIP"]
    assert e.usage_reason is None  # servers log no usage reason


def test_dc_4030_netlogon_account_fields_in_every_dialect():
    rec = _record(4030, Cause.TRUST_PATH, Status="0x0")
    assert rec.provider == "Microsoft-Windows-Security-Netlogon"
    for event in (event_from_evtx_json(to_evtx_json(rec), "x"),
                  event_from_json(to_nxlog(rec), "x")):
        assert event is not None
        e = classify(event)
        assert e.role is Role.DC_PASSTHROUGH
        assert (e.user, e.domain) == (rec.data["AccountName"], "PARTNER")
        assert e.client_host == rec.data["AccountMachine"]
        assert e.cause is Cause.TRUST_PATH, e.evidence


def test_lsasrv_6039_is_not_taken_for_ntlmv1():
    rec = _record(6039, Cause.UNKNOWN)
    e = _event(rec)
    assert e.ntlm_version is NtlmVersion.UNKNOWN and e.cause is Cause.UNKNOWN


def test_unconfirmed_usage_code_is_shown_not_guessed():
    rec = _record(4020, Cause.UNKNOWN)
    doc = to_evtx_json(rec)
    data = doc["Event"]["EventData"]
    data["NtlmUsageId"] = 9  # "no line of sight to a DC" in third-party tools only
    data["NtlmUsageReason"] = "No line of sight to a domain controller"
    event = event_from_evtx_json(doc, "x")
    assert event is not None
    e = classify(event)
    assert e.cause is Cause.UNKNOWN
    assert "NtlmUsageId=9 (No line of sight to a domain controller)" in e.evidence
