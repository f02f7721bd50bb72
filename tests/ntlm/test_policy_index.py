"""The policy's indexed look-up agrees with a linear scan of the register, and blocked
decisions name the exception that came closest."""

from __future__ import annotations

import random
from datetime import date

import pytest

from kerbfirst.policy import ExceptionEntry, Mode, NtlmAttempt, Policy, PolicyError

TODAY = date(2026, 12, 4)
NAMES = ["fs01", "FS01.corp.example", "prn03", "prn03.corp.example", "sql02.corp.example",
         "web.legacy.corp.example", "a.b", "x", "10.1.2.3", "kiosk7", "PRN*",
         "*.legacy.corp.example", "*", "?s01", "fs0[1-3]", "*x", "sql*.corp.*", "[*]x", "*[.]b",
         "*-db.corp.example", "*.corp.example", "app7-*", "*a.b", "*.b", "applicationserver*"]


def _entry(i: int, target: str, **kw: object) -> ExceptionEntry:
    base: dict[str, object] = dict(id=f"EX-{i}", target=target, owner="o", expires=TODAY,
                                   reason="r", compensating_control="c")
    base.update(kw)
    return ExceptionEntry(**base)  # type: ignore[arg-type]


def _linear(policy: Policy, flow: NtlmAttempt) -> ExceptionEntry | None:
    return next((e for e in policy.exceptions if e.matches(flow) and not e.expired(TODAY)),
                None)


@pytest.mark.parametrize("seed", range(5))
def test_index_agrees_with_a_linear_scan(seed: int) -> None:
    rng = random.Random(seed)
    entries = tuple(_entry(i, rng.choice(NAMES), client=rng.choice([None, "WS*", "10.1.*"]),
                           expires=TODAY if rng.random() < 0.8 else date(2026, 1, 1))
                    for i in range(300))
    policy = Policy(Mode.ENFORCE, block_estate=True, exceptions=entries)
    servers = [n.replace("*", "q").replace("?", "f").replace("[1-3]", "2") for n in NAMES] + [
        "fs01.corp.example", "prn03.other.example", "web.legacy.corp.example", "zzz",
        "sql9.corp.x", "*x", "a.b", "PRN", "qx",
        "x-db.corp.example", "db.corp.example", "app7-9", "applicationserver12", "ca.b", "b"]
    for server in servers:
        for client in ("WS7", "10.1.9.9", "other"):
            flow = NtlmAttempt(client=client, server=server, client_address="10.1.2.3")
            expected = _linear(policy, flow)
            got = policy.decide(flow, TODAY)
            assert got.exception == expected, (server, client)


def test_client_pattern_matches_the_address() -> None:
    policy = Policy(Mode.ENFORCE, block_estate=True,
                    exceptions=(_entry(1, "web", client="192.0.2.*"),))
    assert policy.decide(NtlmAttempt("WS1", "web.corp.example", client_address="192.0.2.7"),
                         TODAY).allowed
    assert not policy.decide(NtlmAttempt("WS1", "web.corp.example", client_address="198.51.100.1"),
                             TODAY).allowed


def test_blocked_decisions_name_the_nearest_exception() -> None:
    expired = _entry(1, "web", user="alice", expires=date(2026, 11, 30))
    other_client = _entry(2, "files", client="WS00*")
    policy = Policy(Mode.ENFORCE, block_estate=True, exceptions=(expired, other_client))
    d = policy.decide(NtlmAttempt("WS1", "web.corp.example", "alice", "CORP"), TODAY)
    assert not d.allowed and d.near == expired
    assert "EX-1 would have allowed it but expired on 2026-11-30" in d.reason
    d = policy.decide(NtlmAttempt("WS1", "files", "bob"), TODAY)
    assert d.near == other_client and "EX-2 covers files but only from WS00*" in d.reason
    d = policy.decide(NtlmAttempt("WS1", "printer"), TODAY)
    assert d.near is None and "no exception could allow it: none names server printer" in (
        d.reason)
    # audit mode: allowed, but logged as would-be-blocked with the same explanation
    audit = Policy(Mode.AUDIT, block_estate=True, exceptions=(expired,))
    d = audit.decide(NtlmAttempt("WS1", "web", "alice"), TODAY)
    assert d.allowed and d.would_block and d.near == expired


def test_ntlmv1_is_refused_even_with_a_live_exception_which_is_named() -> None:
    policy = Policy(Mode.ENFORCE, block_estate=True, exceptions=(_entry(1, "web"),))
    d = policy.decide(NtlmAttempt("WS1", "web", ntlmv1=True), TODAY)
    assert not d.allowed and d.near is not None and "EX-1 does not extend to it" in d.reason


def test_max_exception_days_is_validated() -> None:
    base = {"mode": "enforce", "scope": {"estate": True}}
    assert Policy.from_dict({**base, "max_exception_days": 90}).max_exception_days == 90
    for bad in (0, -1, "90", True):
        with pytest.raises(PolicyError, match="max_exception_days"):
            Policy.from_dict({**base, "max_exception_days": bad})
