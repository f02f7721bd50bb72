"""Every rule on generated events of every type; every cause and rule reached."""

from __future__ import annotations

import dataclasses

import pytest

from kerbfirst.audit.classify import RULES, classify, target_is_ip
from kerbfirst.audit.events import Cause, Remedy
from kerbfirst.audit.fixtures import EVENT_IDS, SCENARIOS, generate, to_evtx_json
from kerbfirst.audit.ingest.evtx_reader import event_from_evtx_json

RECORDS = list(generate(seed=11))
WINDOWS_FIELDS = ("LmPackageName", "NtlmVersion", "EventID", "TargetUserSid", "UserName",
                  "TargetName", "NtlmUsageId", "DomainName", "SChannelType", "TrustName",
                  "Status", "KerberosStatus", "IpAddress", "MechanismOID")


def _event(rec):  # through the evtx JSON shape, as ingest sees it
    event = event_from_evtx_json(to_evtx_json(rec), "generated")
    assert event is not None, rec
    return event


@pytest.mark.parametrize("rec", RECORDS, ids=lambda r: f"{r.event_id}-{r.scenario.cause}")
def test_scenario_gets_its_cause_remedy_and_evidence(rec):
    event = classify(_event(rec))
    assert (event.cause, event.remedy) == (rec.scenario.cause, rec.scenario.remedy), (
        event.evidence, rec.data)
    rule, _, detail = event.evidence.partition(": ")
    assert rule in {r.name for r in RULES}
    if rule != "unknown":
        assert any(f in detail for f in WINDOWS_FIELDS), event.evidence


def test_every_event_type_and_cause_and_rule_is_covered():
    wanted = ({8001, 8002, 8003, 8004, 8005, 8006} | set(range(4001, 4007))
              | {4013, 4015} | set(range(4020, 4026)) | set(range(4030, 4034))
              | {4624, 4625, 4776, 4768, 4769, 4771, 6038, 6039})
    assert wanted <= EVENT_IDS
    assert {s.cause for s in SCENARIOS} == set(Cause)
    assert {s.remedy for s in SCENARIOS} == set(Remedy)
    used = {classify(_event(r)).evidence.split(":", 1)[0] for r in RECORDS}
    assert used == {r.name for r in RULES}


def test_rules_are_documented_and_unknown_is_last():
    assert RULES[-1].name == "unknown"
    assert len({r.name for r in RULES}) == len(RULES)
    for rule in RULES:
        assert len(rule.doc) > 20, rule.name


def test_order_ntlmv1_beats_target_ip_and_anonymous():
    rec = next(r for r in RECORDS if r.event_id == 4020
               and r.scenario.cause is Cause.TARGET_IS_IP)
    event = _event(rec)
    event.ntlm_version = event.ntlm_version.__class__("NTLMv1")
    event.user = ""
    assert classify(event).cause is Cause.NTLMV1_OR_LM


def test_classify_is_in_place_and_overwrites():
    event = _event(RECORDS[0])
    event.cause, event.evidence = Cause.ANONYMOUS, "stale"
    assert classify(event) is event
    assert event.cause is Cause.TARGET_IS_IP and event.evidence != "stale"


def test_failed_4625_null_sid_is_not_anonymous():
    rec = next(r for r in RECORDS if r.event_id == 4625
               and r.scenario.remedy is Remedy.OWNED_EXCEPTION)
    assert rec.data["TargetUserSid"] == "S-1-0-0"
    assert classify(_event(rec)).cause is not Cause.ANONYMOUS


def test_4769_principal_unknown_is_spn_missing_and_kerberos():
    rec = next(r for r in RECORDS if r.event_id == 4769)
    event = classify(_event(rec))
    assert event.mechanism.value == "kerberos"
    assert event.cause is Cause.SPN_MISSING and "0x7" in event.evidence
    assert event.target_name.startswith("cifs/")


def test_extra_kerberos_status_from_a_correlator_is_read():
    rec = next(r for r in RECORDS if r.event_id == 8001 and r.scenario.cause is Cause.UNKNOWN)
    event = dataclasses.replace(_event(rec), extra={"KerberosStatus": "0x7"})
    assert classify(event).cause is Cause.SPN_MISSING


@pytest.mark.parametrize(("name", "is_ip"), [
    ("10.0.0.5", True), ("cifs/10.0.0.5", True), ("HOST/10.0.0.5:445", True),
    ("http/[fe80::1]:8080", True), ("fe80::1", True), ("cifs/fs01.corp.example.com", False),
    ("fs01", False), ("", False), ("cifs/10.0.0", False), ("ldap/2001:db8::1", True),
])
def test_target_is_ip(name, is_ip):
    assert target_is_ip(name) is is_ip
