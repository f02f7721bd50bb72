"""The acceptor under the NTLM policy with pyspnego as the client: audit mode, enforce mode,
exceptions, expiry (injected clock), policy reload; the Windows-shaped log read back by
`kerbfirst audit ingest`'s reader and classifier, as it reads Windows' own."""

from __future__ import annotations

import os
from datetime import date, timedelta
from pathlib import Path

import pytest

from kerbfirst.audit.classify import classify
from kerbfirst.audit.events import AuthEvent, Cause, Disposition
from kerbfirst.audit.ingest import IngestStats, iter_events
from kerbfirst.gss import ntlm_crypto as nc
from kerbfirst.gss.ntlm import NtHashVerifier, NtlmFault, NtlmLogonRefused
from kerbfirst.gss.ntlm_governed import NtlmGovernor, service_host
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.policy import Policy
from kerbfirst.store.ntlm_policy_file import PolicyFile
from kerbfirst.store.windows_event_log import WindowsEventLog
from ntlm.peer import CERT_A, NOW, WEB, client, lookup

EXCEPTION = """
[[exception]]
id = "EX-WEB"
target = "web.corp.example"
client = "192.0.2.*"
user = "CORP\\\\alice"
owner = "web-team@corp.example"
expires = {expires}
reason = "legacy kiosk browser without Kerberos"
compensating_control = "kiosk VLAN, TLS with EPA"
"""


def _policy(path: Path, mode: str, *, exception: bool = False,
            expires: date = date(2026, 12, 31)) -> None:
    text = f'mode = "{mode}"\n[scope]\nestate = true\n'
    if exception:
        text += EXCEPTION.format(expires=expires.isoformat())
    tmp = path.with_suffix(".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class Env:
    def __init__(self, tmp: Path) -> None:
        self.policy_path = tmp / "ntlm-policy.toml"
        self.log_path = tmp / "ntlm-events.jsonl"
        self.errors: list[str] = []
        self.changes: list[Policy] = []
        self.policy = PolicyFile(self.policy_path, check_interval=0,
                                 on_error=self.errors.append, on_change=self.changes.append)
        self.log = WindowsEventLog(self.log_path)
        self.gov = NtlmGovernor(WEB, NtHashVerifier(lookup), policy=self.policy.current,
                                replay=ReplayCache(), sink=self.log.write,
                                host="web.corp.example", process="kerbfirst-test", pid=4242)

    def attempt(self, *, now=NOW, tls=False, **client_kw):  # type: ignore[no-untyped-def]
        cb = nc.tls_server_end_point(CERT_A) if tls else None
        ctx = self.gov.context(client_address="192.0.2.7", channel_bindings=cb)
        peer = client(cert=CERT_A if tls else None, **client_kw)
        challenge = ctx.challenge(peer.step(), server_challenge=os.urandom(8), now=now)
        return ctx, ctx.authenticate(peer.step(challenge), now=now)

    def refused(self, *, now=NOW, **client_kw) -> NtlmLogonRefused:  # type: ignore[no-untyped-def]
        with pytest.raises(NtlmLogonRefused) as info:
            self.attempt(now=now, **client_kw)
        return info.value

    def events(self) -> list[AuthEvent]:
        warnings: list[str] = []
        out = [classify(e) for e in iter_events([self.log_path], stats=IngestStats(),
                                                warn=warnings.append)]
        assert not warnings, warnings
        return out


@pytest.fixture
def env(tmp_path: Path) -> Env:
    return Env(tmp_path)


def test_no_policy_file_refuses_and_says_why(env: Env) -> None:
    refusal = env.refused()
    assert refusal.fault is NtlmFault.POLICY and "no NTLM policy is loaded" in refusal.detail
    assert env.errors and "cannot read the policy file" in env.errors[0]
    events = env.events()
    assert [e.event_id for e in events] == [4023, 4625]  # 4023: no channel binding
    assert events[1].disposition is Disposition.BLOCKED


def test_enforce_without_exception_blocks_and_logs_4003(env: Env) -> None:
    _policy(env.policy_path, "enforce")
    refusal = env.refused()
    assert "no exception could allow it: none names server web.corp.example" in refusal.detail
    events = {e.event_id: e for e in env.events()}
    assert set(events) == {4023, 4003, 4625}
    blocked = events[4003]
    assert blocked.disposition is Disposition.BLOCKED
    assert (blocked.user, blocked.domain, blocked.client_address) == ("alice", "CORP",
                                                                       "192.0.2.7")
    assert events[4625].status == "0xC0000418" and events[4625].disposition is (
        Disposition.BLOCKED)
    assert "no exception could allow it" in blocked.extra["PolicyReason"]
    assert events[4023].extra["PolicyDecision"] == "blocked"


def test_audit_mode_allows_and_logs_would_be_blocked(env: Env) -> None:
    _policy(env.policy_path, "audit")
    _, identity = env.attempt()
    assert identity.user == "alice"
    events = {e.event_id: e for e in env.events()}
    assert set(events) == {4023, 8003, 4624}
    assert events[8003].disposition is Disposition.AUDIT
    assert events[4624].disposition is Disposition.ALLOWED
    assert events[8003].extra["PolicyDecision"] == "would be blocked"


def test_exception_allows_then_expiry_refuses_naming_it(env: Env) -> None:
    _policy(env.policy_path, "enforce", exception=True, expires=date(2026, 12, 4))
    ctx, _ = env.attempt()
    assert ctx.decision is not None and ctx.decision.exception is not None
    assert ctx.decision.exception.id == "EX-WEB"
    # the same client the next day: the exception expired at the end of 2026-12-04
    later = NOW + timedelta(days=1)
    refusal = env.refused(now=later)
    assert "EX-WEB would have allowed it but expired on 2026-12-04" in refusal.detail
    # another account from the excepted client is not covered, and the reason says so
    refusal = env.refused(user="CORP\\bob", password="x")
    assert "EX-WEB covers web.corp.example but only from 192.0.2.* and as CORP\\alice" in (
        refusal.detail)
    events = env.events()
    first = [e for e in events if e.event_id == 4624]
    assert len(first) == 1 and first[0].extra["PolicyException"] == "EX-WEB"
    near = [e for e in events if e.event_id == 4003]
    assert [e.extra["PolicyNearException"] for e in near] == ["EX-WEB", "EX-WEB"]


def test_tls_with_channel_bindings_and_mic_is_the_information_event(env: Env) -> None:
    _policy(env.policy_path, "enforce", exception=True)
    env.attempt(tls=True)
    usage = [e for e in env.events() if e.event_id in (4022, 4023)]
    assert [e.event_id for e in usage] == [4022]
    assert usage[0].extra["ChannelBindingStatus"] == "Present"
    assert usage[0].extra["MicStatus"] == "Present"


def test_ntlmv1_is_logged_with_its_cause(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    _policy(env.policy_path, "enforce", exception=True)
    monkeypatch.setenv("LM_COMPAT_LEVEL", "1")
    env.refused()
    events = env.events()
    assert {e.event_id for e in events} == {4023, 4003, 4625}
    assert all(e.cause is Cause.NTLMV1_OR_LM for e in events), [e.evidence for e in events]


def test_local_account_cause(tmp_path: Path) -> None:
    env = Env(tmp_path)
    _policy(env.policy_path, "audit")
    env.gov.host = "corp"  # the account's domain is this host: a local (LocalKDC) account
    env.attempt()
    logon = [e for e in env.events() if e.event_id == 4624]
    assert logon[0].cause is Cause.LOCAL_ACCOUNT, logon[0].evidence


def test_policy_reload_and_bad_file_keeps_the_last_good(env: Env) -> None:
    _policy(env.policy_path, "enforce", exception=True)
    env.attempt()
    env.policy_path.write_text('mode = "enforce"\n[scope]\nestate = true\n[[exception]]\n'
                               'target = "web"\n')
    _, identity = env.attempt()  # the broken file did not replace the good policy
    assert identity.user == "alice"
    assert env.policy.error is not None and "missing owner" in env.policy.error
    assert "the last good policy stays in force" in env.policy.error
    _policy(env.policy_path, "enforce")  # a good file without the exception takes effect
    env.refused()
    assert env.policy.error is None
    assert [len(p.exceptions) for p in env.changes] == [1, 0]


def test_service_host() -> None:
    assert service_host("HTTP/web.corp.example") == "web.corp.example"
    assert service_host("HTTP/web.corp.example:8443@CORP.EXAMPLE") == "web.corp.example"
    assert service_host("cifs/fs01/corp.example") == "fs01"
    assert service_host("web") == "web"


def test_event_record_ids_never_repeat_across_writers(tmp_path: Path) -> None:
    # two writers (a restart, or two workers) on one log: the ingest keeps every event
    a = WindowsEventLog(tmp_path / "log.jsonl")
    b = WindowsEventLog(tmp_path / "log.jsonl")
    doc = {"EventTime": "2026-12-04 12:00:00", "Hostname": "web", "EventID": 4624,
           "SourceName": "Microsoft-Windows-Security-Auditing", "Channel": "Security",
           "AuthenticationPackageName": "NTLM", "TargetUserName": "alice"}
    for _ in range(50):
        a.write(doc)
        b.write(doc)
    a.close()
    b.close()
    events = list(iter_events([tmp_path / "log.jsonl"], stats=IngestStats(), warn=print))
    assert len({e.record_id for e in events}) == 100


def test_a_claimed_workstation_name_does_not_satisfy_a_client_limit(env: Env) -> None:
    _policy(env.policy_path, "audit")
    ctx, _ = env.attempt()
    workstation = ctx.attempt.workstation  # what pyspnego's client calls itself
    assert workstation
    env.policy_path.write_text(
        'mode = "enforce"\n[scope]\nestate = true\n[[exception]]\nid = "EX-WS"\n'
        f'target = "web.corp.example"\nclient = "{workstation}"\nowner = "o"\n'
        'expires = 2026-12-31\nreason = "r"\ncompensating_control = "c"\n')
    refusal = env.refused()  # anyone can type that name into AUTHENTICATE
    assert "EX-WS covers web.corp.example but only from" in refusal.detail
    env.gov.trust_workstation_name = True  # an operator who trusts the names on this network
    env.attempt()
