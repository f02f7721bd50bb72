"""The NTLM policy core: parsing, validation, scope, exceptions, decisions."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from kerbfirst.policy import Mode, NtlmAttempt, Policy, PolicyError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ntlm-policy.toml"

EXC = {
    "target": "PRN03",
    "owner": "print-team",
    "expires": date(2025, 6, 30),
    "reason": "firmware",
    "compensating_control": "VLAN 40",
}


def policy(**over: object) -> Policy:
    data: dict[str, object] = {"mode": "enforce", "scope": {"estate": True}, "exception": [EXC]}
    data.update(over)
    return Policy.from_dict(data)


def test_example_file_parses() -> None:
    p = Policy.from_dict(tomllib.loads(EXAMPLE.read_text()))
    assert p.mode is Mode.ENFORCE and p.block_estate
    assert [e.id for e in p.exceptions] == ["EX-1", "EX-2", "EX-3", "EX-4"]
    assert p.exceptions[3].user == "CORP\\svc_backup"
    assert p.exceptions[1].expires == date(2025, 3, 31)


def test_enforce_blocks_and_exception_saves() -> None:
    p = policy()
    now = datetime(2025, 5, 1, tzinfo=UTC)
    d = p.decide(NtlmAttempt("WS1", "FS01"), now)
    assert (d.allowed, d.would_block, d.exception) == (False, True, None)
    assert "estate-wide" in d.reason
    d = p.decide(NtlmAttempt("WS1", "prn03.corp.example"), now)  # NetBIOS pattern matches FQDN
    assert (d.allowed, d.would_block) == (True, False)
    assert d.exception is not None and d.exception.owner == "print-team"


def test_audit_mode_allows_but_reports() -> None:
    d = policy(mode="audit").decide(NtlmAttempt("WS1", "FS01"), date(2025, 5, 1))
    assert (d.allowed, d.would_block) == (True, True)


def test_exception_expiry_is_inclusive_then_blocks() -> None:
    p = policy()
    assert p.decide(NtlmAttempt("WS1", "PRN03"), date(2025, 6, 30)).allowed
    d = p.decide(NtlmAttempt("WS1", "PRN03"), date(2025, 7, 1))
    assert (d.allowed, d.would_block) == (False, True)
    assert "expired on 2025-06-30" in d.reason
    assert p.active_exceptions(date(2025, 7, 1)) == []


def test_scope_servers_and_clients() -> None:
    p = policy(scope={"servers": ["*.legacy.example", "FS01"], "clients": ["KIOSK*"]}, exception=[])
    day = date(2025, 1, 1)
    assert p.decide(NtlmAttempt("WS1", "app.legacy.example"), day).would_block
    assert p.decide(NtlmAttempt("WS1", "fs01"), day).would_block
    assert p.decide(NtlmAttempt("kiosk7", "anything"), day).would_block
    d = p.decide(NtlmAttempt("WS1", "SQL02"), day)
    assert (d.allowed, d.would_block, d.reason) == (True, False, "not in the blocking scope")
    # a pattern with a dot is not shortened: FS01.other does not match FS01.corp
    p2 = policy(scope={"servers": ["fs01.other"]}, exception=[])
    assert not p2.decide(NtlmAttempt("WS1", "FS01.corp"), day).would_block


def test_exception_narrowed_by_client_and_user() -> None:
    exc = dict(EXC, target="SQL02*", client="WS00*", user="CORP\\svc_*")
    p = policy(exception=[exc])
    day = date(2025, 1, 1)
    assert p.decide(NtlmAttempt("WS001", "SQL02", "svc_backup", "corp"), day).allowed
    assert not p.decide(NtlmAttempt("WS001", "SQL02", "alice", "CORP"), day).allowed
    assert not p.decide(NtlmAttempt("LAB1", "SQL02", "svc_backup", "CORP"), day).allowed
    exc_user_only = dict(EXC, target="SQL02", user="svc_backup")
    assert policy(exception=[exc_user_only]).decide(
        NtlmAttempt("X", "SQL02", "SVC_BACKUP", "OTHER"), day
    ).allowed


def test_ntlmv1_is_refused_even_with_exception() -> None:
    d = policy().decide(NtlmAttempt("WS1", "PRN03", ntlmv1=True), date(2025, 1, 1))
    assert (d.allowed, d.would_block, d.exception) == (False, True, None)
    lenient = policy(refuse_ntlmv1=False)
    assert lenient.decide(NtlmAttempt("WS1", "PRN03", ntlmv1=True), date(2025, 1, 1)).allowed


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "block", "scope": {"estate": True}}, "mode = 'block' is not valid"),
        ({"mode": "audit"}, "blocks nothing"),
        ({"mode": "audit", "scope": {"estate": True}, "colour": 1}, "unknown policy key"),
        ({"mode": "audit", "scope": {"servers": "FS01"}}, "scope.servers must be a list"),
        ({"mode": "audit", "scope": {"estate": "yes"}}, "scope.estate must be true or false"),
        (
            {"mode": "audit", "scope": {"estate": True}, "exception": [{"target": "X"}]},
            "exception #1 is missing owner, expires, reason, compensating_control",
        ),
        (
            {"mode": "audit", "scope": {"estate": True},
             "exception": [dict(EXC, owner="")]},
            "missing owner",
        ),
        (
            {"mode": "audit", "scope": {"estate": True},
             "exception": [dict(EXC, expires="2025-01-01")]},
            "must be a TOML date",
        ),
        (
            {"mode": "audit", "scope": {"estate": True},
             "exception": [dict(EXC, id="A"), dict(EXC, id="A")]},
            "used more than once",
        ),
        (
            {"mode": "audit", "scope": {"estate": True}, "exception": [dict(EXC, colour="x")]},
            "unknown field",
        ),
    ],
)
def test_invalid_policies_are_refused_with_a_clear_message(
    data: dict[str, object], message: str
) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(")):
        Policy.from_dict(data)


def test_owned_expiring_from_toml() -> None:
    text = """
mode = "enforce"
[scope]
estate = true
[[exception]]
target = "PRN03"
reason = "r"
compensating_control = "c"
expires = 2025-01-01
"""
    with pytest.raises(PolicyError, match="missing owner"):
        Policy.from_dict(tomllib.loads(text))
