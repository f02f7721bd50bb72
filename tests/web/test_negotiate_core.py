"""The Negotiate core without HTTP: multi-leg IAKerb bound to the connection, the bounded
context table with expiry, auth_to_local and allowed realms, the NTLM refusal and the NTLM
plug-in point, and audit records that `kerbfirst audit ingest` reads."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from iakerb.iakerb_env import ALICE_PASSWORD, REALM, SERVICE, T0, Realm, key_lookup, make_realm
from kerbfirst.audit.ingest.jsonl_reader import event_from_json
from kerbfirst.gss.iakerb_initiator import IakerbInitiator
from kerbfirst.gss.spnego_initiator import SpnegoInitiator
from kerbfirst.net.iakerb_proxy import RealmRoute
from kerbfirst.web.audit import WebAuditEvent
from kerbfirst.web.negotiate import (
    HttpRequestInfo,
    NegotiateConfig,
    NegotiateResult,
    NegotiateServer,
    Pending,
)
from kerbfirst.web.ntlm_hook import NtlmFlow, NtlmStep


@pytest.fixture(scope="module")
def realm() -> Realm:
    return make_realm(seed=15)


def _server(realm: Realm, events: list[WebAuditEvent] | None = None,
            **kw: object) -> NegotiateServer:
    config = NegotiateConfig(key_lookup=key_lookup(realm), realm=REALM,
                             kdc_routes={REALM: RealmRoute(local_kdc=realm.kdc)},
                             audit=events.append if events is not None else None,
                             **kw)  # type: ignore[arg-type]
    return NegotiateServer(config, random=realm.random, clock=lambda: T0)


def _req(token: bytes | None, conn: object = ("10.0.0.1", 5000), scheme: str = "Negotiate",
         ) -> HttpRequestInfo:
    auth = None if token is None else f"{scheme} {base64.b64encode(token).decode()}"
    return HttpRequestInfo(auth, conn, "10.0.0.1:5000", "server.test.realm")


def _drive(server: NegotiateServer, req: HttpRequestInfo, now: datetime = T0) -> NegotiateResult:
    result = server.begin(req, now)
    while isinstance(result, Pending):
        reply = server.config.kdc_routes[REALM].local_kdc.handle(  # type: ignore[union-attr]
            result.effect.message, peer="t", transport="iakerb", now=now)
        result = server.resume(result, reply or b"", "in-process", now)
    return result


def _token_of(outcome: NegotiateResult) -> bytes:
    scheme, _, b64 = outcome.www_authenticate[0].partition(" ")
    assert scheme == "Negotiate" and b64
    return base64.b64decode(b64)


def _iakerb_spnego(realm: Realm) -> SpnegoInitiator:
    return SpnegoInitiator([IakerbInitiator(service=SERVICE, client="alice", realm=REALM,
                                            password=ALICE_PASSWORD, random=realm.random)])


def test_iakerb_multi_leg_bound_to_connection(realm: Realm) -> None:
    events: list[WebAuditEvent] = []
    server = _server(realm, events)
    ini = _iakerb_spnego(realm)
    out = _drive(server, _req(ini.step(None, now=T0)))
    legs = 0
    while out.status == 401:
        assert server.contexts() == 1  # the conversation waits in the table
        legs += 1
        out = _drive(server, _req(ini.step(_token_of(out), now=T0)))
    assert out.status == 200 and out.user is not None
    assert (out.user.principal, out.user.local_name, out.user.mechanism) == (
        f"alice@{REALM}", "alice", "iakerb")
    assert legs >= 2 and server.contexts() == 0
    ini.step(_token_of(out), now=T0)  # the final token verifies: mutual authentication
    assert ini.complete
    assert [e.decision.value for e in events] == ["iakerb-accepted"]


def test_continuation_on_another_connection_is_refused(realm: Realm) -> None:
    server = _server(realm)
    ini = _iakerb_spnego(realm)
    out = _drive(server, _req(ini.step(None, now=T0), conn=("10.0.0.1", 5000)))
    assert out.status == 401
    stolen = ini.step(_token_of(out), now=T0)
    other = _drive(server, _req(stolen, conn=("10.0.0.2", 6000)))
    assert other.status == 401 and other.user is None
    assert server.contexts() == 1  # the real client's conversation is untouched


def test_table_is_bounded_and_expires(realm: Realm) -> None:
    server = _server(realm, max_contexts=2, context_timeout=timedelta(seconds=30))
    for port in range(3):
        ini = _iakerb_spnego(realm)
        assert _drive(server, _req(ini.step(None, now=T0), conn=("h", port))).status == 401
    assert server.contexts() == 2  # the oldest half-open conversation was evicted
    ini = _iakerb_spnego(realm)
    later = T0 + timedelta(seconds=31)
    _drive(server, _req(ini.step(None, now=T0), conn=("h", 99)), now=later)
    assert server.contexts() == 1  # the two expired ones are gone


def test_no_authorization_challenges_and_garbage_is_refused(realm: Realm) -> None:
    server = _server(realm)
    out = server.begin(_req(None), T0)
    assert isinstance(out, NegotiateResult) and out.status == 401
    assert out.www_authenticate == ("Negotiate",)
    bad = server.begin(HttpRequestInfo("Negotiate !!!", "c", "a", "h"), T0)
    assert isinstance(bad, NegotiateResult) and bad.status == 401 and "base64" in bad.reason
    basic = server.begin(HttpRequestInfo("Basic YTpi", "c", "a", "h"), T0)
    assert isinstance(basic, NegotiateResult) and basic.status == 401


NTLM_NEGOTIATE = b"NTLMSSP\x00\x01\x00\x00\x00" + bytes(24)


def test_ntlm_refused_by_default_with_audit(realm: Realm) -> None:
    events: list[WebAuditEvent] = []
    server = _server(realm, events)
    for scheme in ("NTLM", "Negotiate"):
        out = server.begin(_req(NTLM_NEGOTIATE, scheme=scheme), T0)
        assert isinstance(out, NegotiateResult) and out.status == 401
        assert "NTLM is refused" in out.reason and "NTLM" not in out.www_authenticate
    assert [(e.decision.value, e.mechanism) for e in events] == [
        ("ntlm-refused", "ntlm"), ("ntlm-refused", "negotiate")]


class _FakeNtlm:
    """A stand-in for the governed NTLM acceptor (not yet in the tree): the plug-in point
    is what is tested. NEGOTIATE -> CHALLENGE, then AUTHENTICATE -> alice, or a refusal."""

    def __init__(self, refuse: bool = False) -> None:
        self.flows: list[NtlmFlow] = []
        self.refuse = refuse

    def new_context(self, flow: NtlmFlow) -> _FakeNtlm:
        self.flows.append(flow)
        return self

    def step(self, token: bytes, *, now: datetime) -> NtlmStep:
        if token[8] == 1:
            return NtlmStep(b"NTLMSSP\x00\x02\x00\x00\x00challenge", False, None)
        if self.refuse:
            return NtlmStep(None, False, None, "NTLMv1 is refused by policy")
        return NtlmStep(None, True, "alice@CORP")


def test_ntlm_plug_in_point(realm: Realm) -> None:
    fake = _FakeNtlm()
    server = _server(realm, ntlm=fake, allowed_realms=["CORP"])
    out = server.begin(_req(NTLM_NEGOTIATE, scheme="NTLM"), T0)
    assert isinstance(out, NegotiateResult) and out.status == 401
    assert out.www_authenticate[0].startswith("NTLM ")
    done = server.begin(_req(b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(20), scheme="NTLM"), T0)
    assert isinstance(done, NegotiateResult) and done.status == 200 and done.user is not None
    assert (done.user.principal, done.user.mechanism) == ("alice@CORP", "ntlm")
    assert fake.flows[0].scheme == "NTLM" and fake.flows[0].spn == "HTTP/server.test.realm"
    refusing = _server(realm, ntlm=_FakeNtlm(refuse=True))
    refusing.begin(_req(NTLM_NEGOTIATE, scheme="NTLM"), T0)
    no = refusing.begin(_req(b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(20), scheme="NTLM"), T0)
    assert isinstance(no, NegotiateResult) and no.status == 401 and "NTLMv1" in no.reason
    elsewhere = _server(realm, ntlm=_FakeNtlm(), allowed_realms=["OTHER.EXAMPLE"])
    elsewhere.begin(_req(NTLM_NEGOTIATE, scheme="NTLM"), T0)
    other = elsewhere.begin(_req(b"NTLMSSP\x00\x03\x00\x00\x00" + bytes(20), scheme="NTLM"), T0)
    assert isinstance(other, NegotiateResult) and other.status == 403 and "CORP" in other.reason


def test_audit_records_are_read_by_the_ingest(tmp_path: Path) -> None:
    from kerbfirst.web.audit import HttpAuthDecision, windows_event

    for decision, principal in [(HttpAuthDecision.KERBEROS_ACCEPTED, f"alice@{REALM}"),
                                (HttpAuthDecision.NTLM_REFUSED, None),
                                (HttpAuthDecision.EPA_FAILURE, None)]:
        doc = windows_event(WebAuditEvent(T0, decision, "why", "10.0.0.1:5000",
                                          "HTTP/web1", principal, "kerberos"))
        event = event_from_json(json.loads(json.dumps({**doc, "EventRecordID": 7})),
                                "web.jsonl")
        assert event is not None and event.host == "web1"
        assert event.event_id == {"kerberos-accepted": 4624, "ntlm-refused": 4002,
                                  "epa-failure": 4625}[decision.value]
        assert event.extra["Decision"] == decision.value
        assert event.client_address == "10.0.0.1"
    assert event.disposition.value == "failed" and event.status == "0xC000035B"
    assert event.mechanism.value == "kerberos"


def test_kerbfirst_audit_ingest_reads_the_web_log(tmp_path: Path) -> None:
    import subprocess
    import sys

    from kerbfirst.web.audit import HttpAuthDecision, json_lines_sink

    log = tmp_path / "web.jsonl"
    sink = json_lines_sink(log)
    for decision in (HttpAuthDecision.KERBEROS_ACCEPTED, HttpAuthDecision.IAKERB_ACCEPTED,
                     HttpAuthDecision.NTLM_REFUSED, HttpAuthDecision.EPA_FAILURE):
        sink(WebAuditEvent(T0, decision, "why", "10.0.0.1:5000", "HTTP/web1",
                           f"alice@{REALM}" if "accepted" in decision.value else None))
    assert oct(log.stat().st_mode & 0o777) == "0o600"
    got = subprocess.run([sys.executable, "-m", "kerbfirst.cli.main", "audit", "ingest",
                          str(log), "--store", str(tmp_path / "store"), "-q"],
                         capture_output=True, text=True, timeout=120, check=False)
    assert got.returncode == 0, got.stderr
    out = " ".join((got.stdout + got.stderr).split())  # rich wraps the line
    assert "4 records read, 1 NTLM events" in out, out
    assert "3 Kerberos logons at kerbfirst's services" in out, out
    assert "0 corrupt" in out, out


def test_mutated_tokens_never_raise(realm: Realm) -> None:
    """Malformed Authorization tokens are answered, never raised out of the core."""
    import random

    server = _server(realm)
    rng = random.Random(15)
    seed = _iakerb_spnego(realm).step(None, now=T0)
    assert seed is not None
    for i in range(1500):
        token = bytearray(seed)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(token) + 1)
            if rng.random() < 0.6 and pos < len(token):
                token[pos] = rng.randrange(256)
            elif rng.random() < 0.5:
                del token[pos:pos + rng.randint(1, 8)]
            else:
                token[pos:pos] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 4)))
        out = _drive(server, _req(bytes(token), conn=("m", i % 5)))
        assert out.status in (200, 401, 403)
