"""What the IAKerb acceptor refuses, and how: each case ends in the right error (and
Kerberos error code), one audit event with the right outcome, and no crash."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kerbfirst.gss.errors import (
    DefectiveToken,
    DuplicateToken,
    GssError,
    KerberosErrorToken,
    NoContext,
)
from kerbfirst.gss.iakerb import (
    FinishedMismatch,
    FinishedMissing,
    ForwardToKdc,
    IakerbAuditEvent,
    IakerbInitiator,
    IakerbOutcome,
    IakerbVariant,
    KdcFailure,
)
from kerbfirst.gss.krb5_initiator import Krb5Initiator
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.wire.constants import (
    KRB_AP_ERR_BAD_INTEGRITY,
    KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE,
    KRB_AP_ERR_IAKERB_KDC_NOT_FOUND,
    KRB_AP_ERR_REPEAT,
)
from kerbfirst.wire.gss_framing import OID_IAKERB, decode_gss_token
from kerbfirst.wire.iakerb import (
    IakerbHeader,
    decode_iakerb_token,
    encode_iakerb_token,
)
from kerbfirst.wire.krb5 import KrbError

from .iakerb_env import (
    ALICE_PASSWORD,
    REALM,
    SERVICE,
    T0,
    Realm,
    acceptor_for,
    converse,
    make_realm,
    realm_resolver,
)


def _initiator(kdc_realm: Realm, **kw: object) -> IakerbInitiator:
    args: dict[str, object] = {"service": SERVICE, "client": "alice", "realm": REALM,
                               "password": ALICE_PASSWORD, "random": kdc_realm.random}
    args.update(kw)
    return IakerbInitiator(**args)  # type: ignore[arg-type]


def _kdc_error_of(token: bytes) -> int:
    return KrbError.decode(decode_iakerb_token(token).message).error_code


def test_realm_not_configured_is_85() -> None:
    realm = make_realm()
    events: list[IakerbAuditEvent] = []
    acc = acceptor_for(realm, events=events)
    ini = _initiator(realm, client="alice", realm="ELSEWHERE.TEST")
    with pytest.raises(KerberosErrorToken) as err:
        converse(ini, acc, realm_resolver(realm))
    assert err.value.krb_error == KRB_AP_ERR_IAKERB_KDC_NOT_FOUND
    assert "no KDC for realm ELSEWHERE.TEST" in str(err.value)
    assert _kdc_error_of(acc.transcript.messages[-1][1]) == 85
    acc.abandon(T0)
    assert [e.outcome for e in events] == [IakerbOutcome.REALM_NOT_CONFIGURED]
    assert events[0].result_code == 85 and events[0].target_realm == "ELSEWHERE.TEST"


def test_kdc_no_response_is_86() -> None:
    realm = make_realm()
    events: list[IakerbAuditEvent] = []
    acc = acceptor_for(realm, events=events)
    ini = _initiator(realm)

    def silent(target: str, message: bytes) -> KdcFailure:
        return KdcFailure(KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE, "timed out")

    with pytest.raises(KerberosErrorToken) as err:
        converse(ini, acc, silent)
    assert err.value.krb_error == KRB_AP_ERR_IAKERB_KDC_NO_RESPONSE
    acc.abandon(T0)
    assert [e.outcome for e in events] == [IakerbOutcome.KDC_NO_RESPONSE]


def test_non_kdc_reply_is_relayed_as_86() -> None:
    realm = make_realm()
    acc = acceptor_for(realm)
    effect = acc.step(_initiator(realm).step(None, now=T0), now=T0)  # type: ignore[arg-type]
    assert isinstance(effect, ForwardToKdc)
    token = acc.kdc_reply(b"\x30\x00 not a KDC reply", now=T0)
    assert _kdc_error_of(token) == 86


@pytest.mark.parametrize("variant", list(IakerbVariant))
def test_tampered_transcript_fails_finished(variant: IakerbVariant) -> None:
    """A cookie slipped into the first token: the KDC exchange still works, but the
    transcripts differ, and the AP-REQ's KRB-FINISHED does not verify."""
    realm = make_realm()
    events: list[IakerbAuditEvent] = []
    acc = acceptor_for(realm, events=events)

    def tamper(i: int, token: bytes) -> bytes:
        if i != 0:
            return token
        parsed = decode_iakerb_token(token)
        header = IakerbHeader(parsed.target_realm, b"injected", None, parsed.variant)
        return encode_iakerb_token(header, parsed.message)

    with pytest.raises(FinishedMismatch) as err:
        converse(_initiator(realm, variant=variant), acc, realm_resolver(realm), tamper=tamper)
    assert err.value.krb_error == KRB_AP_ERR_BAD_INTEGRITY
    assert err.value.output_token is not None  # a KRB-ERROR token owed to the initiator
    assert not acc.complete
    assert [e.outcome for e in events] == [IakerbOutcome.FINISHED_MISMATCH]


def test_ap_req_without_finished_is_refused() -> None:
    realm = make_realm()
    events: list[IakerbAuditEvent] = []
    acc = acceptor_for(realm, events=events)
    ini = _initiator(realm)

    def strip_finished(i: int, token: bytes) -> bytes:
        if decode_gss_token(token).tok_id != b"\x01\x00":
            return token
        cred = ini.service_credential
        assert cred is not None
        plain = Krb5Initiator(ticket=cred.ticket, session_key=cred.session_key,
                              client=cred.client, client_realm=cred.crealm, now=T0,
                              random=realm.random, mech_oid=OID_IAKERB)
        return plain.initial_token()

    with pytest.raises(FinishedMissing):
        converse(ini, acc, realm_resolver(realm), tamper=strip_finished)
    assert [e.outcome for e in events] == [IakerbOutcome.FINISHED_MISSING]


def test_replayed_ap_req_is_refused() -> None:
    realm = make_realm()
    cache = ReplayCache()
    events: list[IakerbAuditEvent] = []
    first = acceptor_for(realm, cache=cache, events=events)
    ini = IakerbInitiator(service=SERVICE, client="alice", realm=REALM,
                          password=ALICE_PASSWORD, random=realm.random)
    tokens = converse(ini, first, realm_resolver(realm))
    ap_req = tokens[6]
    with pytest.raises(NoContext):
        first.step(ap_req, now=T0)
    # The attacker replays the whole conversation's last token to a fresh acceptor.
    second = acceptor_for(realm, cache=cache, events=events)
    with pytest.raises(DuplicateToken) as err:
        second.step(ap_req, now=T0 + timedelta(seconds=1))
    assert err.value.krb_error == KRB_AP_ERR_REPEAT
    assert [e.outcome for e in events] == [IakerbOutcome.AUTHENTICATED, IakerbOutcome.REPLAY]


def test_oversized_token_and_message() -> None:
    realm = make_realm()
    events: list[IakerbAuditEvent] = []
    acc = acceptor_for(realm, events=events, max_kdc_message=2000)
    header = IakerbHeader(REALM)
    with pytest.raises(DefectiveToken, match="exceeds"):
        acc.step(encode_iakerb_token(header, b"\x6a" + bytes(70_000)), now=T0)
    acc2 = acceptor_for(realm, events=events, max_kdc_message=2000)
    with pytest.raises(DefectiveToken, match="exceeds"):
        acc2.step(encode_iakerb_token(header, b"\x6a" + bytes(3000)), now=T0)
    assert [e.outcome for e in events] == [IakerbOutcome.OVERSIZED] * 2


def test_hop_cap() -> None:
    realm = make_realm()
    events: list[IakerbAuditEvent] = []
    acc = acceptor_for(realm, events=events, max_hops=2)
    with pytest.raises(DefectiveToken, match="round trips"):
        converse(_initiator(realm), acc, realm_resolver(realm))
    assert [e.outcome for e in events] == [IakerbOutcome.TOO_MANY_HOPS]


@pytest.mark.parametrize("token", [
    b"\x05\x01",
    b"\x05\x01\x30\x00",
    b"\x05\x01\x30\x03\xa1\x01\x0c",
    encode_iakerb_token(IakerbHeader(REALM), b"\x30\x03\x02\x01\x05"),  # not a KDC request
    encode_iakerb_token(IakerbHeader(REALM), b"\x6a\x03\x02\x01\x05"),  # undecodable AS-REQ
    encode_iakerb_token(IakerbHeader(""), b"\x6a\x03\x02\x01\x05"),  # empty realm
    encode_iakerb_token(IakerbHeader("R", variant=IakerbVariant.MIT_OLD), b"", framed=False),
    b"\x60\x80\x06\x06\x2b\x06\x01\x05\x02\x05",
    b"",
    b"\x00" * 10,
])
def test_malformed_tokens_are_defective(token: bytes) -> None:
    realm = make_realm()
    events: list[IakerbAuditEvent] = []
    acc = acceptor_for(realm, events=events)
    with pytest.raises(GssError):
        acc.step(token, now=T0)
    assert len(events) == 1 and events[0].outcome in (
        IakerbOutcome.DEFECTIVE_TOKEN, IakerbOutcome.AP_REQ_REFUSED)


def test_variant_switch_mid_conversation_is_refused() -> None:
    realm = make_realm()
    acc = acceptor_for(realm)
    ini = _initiator(realm)
    effect = acc.step(ini.step(None, now=T0), now=T0)  # type: ignore[arg-type]
    assert isinstance(effect, ForwardToKdc)
    acc.kdc_reply(realm_resolver(realm)(effect.realm, effect.message), now=T0)
    old = encode_iakerb_token(IakerbHeader(REALM, variant=IakerbVariant.MIT_OLD),
                              effect.message, framed=False)
    with pytest.raises(DefectiveToken, match="variant"):
        acc.step(old, now=T0)


def test_step_while_kdc_reply_outstanding() -> None:
    realm = make_realm()
    acc = acceptor_for(realm)
    tok = _initiator(realm).step(None, now=T0)
    assert isinstance(tok, bytes)
    assert isinstance(acc.step(tok, now=T0), ForwardToKdc)
    with pytest.raises(NoContext):
        acc.step(tok, now=T0)
