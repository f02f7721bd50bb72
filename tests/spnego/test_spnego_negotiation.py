"""SpnegoInitiator <-> SpnegoAcceptor over our krb5 mechanism: optimistic token, second choice
with mechListMIC both ways, downgrade attempts, MS krb5 OID, NTLM policy, rejections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from spnego_helpers import FakeNtlm, Unusable, acceptor, exchange, krb5_initiator

from gss.fixtures import NOW, counter_random
from kerbfirst.crypto import Key
from kerbfirst.gss.errors import BadMic, DefectiveToken, GssError, NoCredential
from kerbfirst.gss.replay import ReplayCache
from kerbfirst.gss.spnego_acceptor import SpnegoAcceptor, krb5_factory
from kerbfirst.gss.spnego_initiator import BadMechanismListUnprotected, SpnegoInitiator
from kerbfirst.gss.spnego_select import (
    DowngradeRefused,
    NegotiationRejected,
    NtlmRefused,
    NtlmRequest,
    NtlmVerdict,
)
from kerbfirst.wire import spnego as w
from kerbfirst.wire.gss_framing import (
    OID_IAKERB,
    OID_KRB5,
    OID_KRB5_MS,
    OID_NTLMSSP,
    OID_SPNEGO,
    decode_gss_token,
    encode_gss_token,
)


def resp(token: bytes) -> w.NegTokenResp:
    tok = w.decode_negotiation_token(token)
    assert isinstance(tok, w.NegTokenResp)
    return tok


def init(token: bytes) -> w.NegTokenInit:
    tok = w.decode_initial_token(token)
    assert isinstance(tok, w.NegTokenInit)
    return tok


def assert_contexts_work(ini: SpnegoInitiator, acc: SpnegoAcceptor) -> None:
    assert ini.complete and acc.complete
    assert ini.context is not None and acc.context is not None
    acc.context.verify_mic(b"from the initiator", ini.context.get_mic(b"from the initiator"))
    sealed = acc.context.wrap(b"from the acceptor")
    assert ini.context.unwrap(sealed).data == b"from the acceptor"


def test_first_choice_uses_optimistic_token_without_mic() -> None:
    ini = SpnegoInitiator([krb5_initiator()])
    acc = acceptor([OID_KRB5])
    trace = exchange(ini, acc)
    assert len(trace) == 2  # NegTokenInit with the AP-REQ; accept-completed with the AP-REP
    first = init(trace[0])
    assert first.mech_types == (OID_KRB5,) and first.mech_token is not None
    reply = resp(trace[1])
    assert reply.neg_state == w.NegState.ACCEPT_COMPLETED
    assert reply.supported_mech == OID_KRB5
    assert reply.response_token is not None
    assert decode_gss_token(reply.response_token).tok_id == b"\x02\x00"  # AP-REP
    assert reply.mech_list_mic is None
    assert acc.mic is not None and not acc.mic.sent and not acc.mic.received
    assert_contexts_work(ini, acc)
    assert acc.context is not None and acc.context.client == "alice@GSS.TEST"


def test_second_choice_requires_and_verifies_mics() -> None:
    """Initiator offers [IAKerb, krb5]; the acceptor supports only krb5 (RFC 4178 5)."""
    iakerb = Unusable(OID_IAKERB)  # its optimistic token must never reach any mechanism
    iakerb.step = lambda token, *, now: b"\x60\x03\x06\x01\x00"  # type: ignore[method-assign]
    ini = SpnegoInitiator([iakerb, krb5_initiator()])
    acc = acceptor([OID_KRB5])
    trace = exchange(ini, acc)
    assert init(trace[0]).mech_types == (OID_IAKERB, OID_KRB5)
    first = resp(trace[1])
    assert (first.neg_state, first.supported_mech) == (w.NegState.REQUEST_MIC, OID_KRB5)
    assert first.response_token is None
    assert resp(trace[2]).response_token is not None  # the AP-REQ, now
    third = resp(trace[3])
    assert third.neg_state == w.NegState.ACCEPT_INCOMPLETE
    assert third.response_token is not None and third.mech_list_mic is not None
    assert resp(trace[4]).mech_list_mic is not None  # the initiator's MIC closes it
    assert len(trace) == 5
    assert ini.selected == OID_KRB5 and acc.selected == OID_KRB5
    assert acc.mic is not None and acc.mic.sent and acc.mic.received
    assert ini.mic is not None and ini.mic.sent and ini.mic.received
    assert_contexts_work(ini, acc)


def test_second_choice_without_mutual_authentication() -> None:
    """No AP-REP: the initiator's MIC travels with its AP-REQ, the acceptor answers with its."""
    ini = SpnegoInitiator([FakeNtlm(), krb5_initiator(flags=0)])
    acc = acceptor([OID_KRB5])
    trace = exchange(ini, acc)
    assert len(trace) == 4
    third = resp(trace[2])
    assert third.response_token is not None and third.mech_list_mic is not None
    last = resp(trace[3])
    assert last.neg_state == w.NegState.ACCEPT_COMPLETED and last.mech_list_mic is not None
    assert ini.complete and acc.complete


def _rewrite_init(mech_types: tuple[str, ...], *, keep_token: bool) -> Any:
    def tamper(i: int, token: bytes) -> bytes:
        if i != 0:
            return token
        tok = init(token)
        return w.encode_initial_token(
            w.NegTokenInit(mech_types, mech_token=tok.mech_token if keep_token else None))
    return tamper


def test_stripped_preferred_mechanism_is_detected_by_the_initiator() -> None:
    """An attacker deletes IAKerb (and its token) so that the acceptor picks krb5 thinking it
    was the first choice; the acceptor sends no MIC, and the initiator refuses."""
    ini = SpnegoInitiator([krb5_initiator(OID_IAKERB, seed=b"ia"), krb5_initiator()])
    acc = acceptor([OID_IAKERB, OID_KRB5])
    with pytest.raises(BadMechanismListUnprotected, match="downgrade"):
        exchange(ini, acc, tamper=_rewrite_init((OID_KRB5,), keep_token=False))
    assert not ini.complete


def test_stripped_list_with_mics_fails_mic_verification() -> None:
    """Same attack against an acceptor that always sends a MIC (Windows): the MIC covers the
    list it received, which is not the list the initiator sent."""
    ini = SpnegoInitiator([krb5_initiator(OID_IAKERB, seed=b"ia"), krb5_initiator()])
    acc = acceptor([OID_IAKERB, OID_KRB5], always_mic=True)
    with pytest.raises(BadMic, match="mechanism list was altered"):
        exchange(ini, acc, tamper=_rewrite_init((OID_KRB5,), keep_token=False))


def test_reordered_list_is_refused() -> None:
    ini = SpnegoInitiator([krb5_initiator(OID_IAKERB, seed=b"ia"), krb5_initiator()])
    acc = acceptor([OID_IAKERB, OID_KRB5])
    with pytest.raises(GssError):
        exchange(ini, acc, tamper=_rewrite_init((OID_KRB5, OID_IAKERB), keep_token=True))
    assert not ini.complete


def test_tampered_mic_refused_by_each_side() -> None:
    def flip(index: int) -> Any:
        def tamper(i: int, token: bytes) -> bytes:
            if i != index:
                return token
            tok = resp(token)
            assert tok.mech_list_mic is not None
            mic = tok.mech_list_mic[:-1] + bytes((tok.mech_list_mic[-1] ^ 1,))
            return w.NegTokenResp(tok.neg_state, tok.supported_mech, tok.response_token,
                                  mic).encode()
        return tamper

    ini = SpnegoInitiator([FakeNtlm(), krb5_initiator()])
    with pytest.raises(BadMic):
        exchange(ini, acceptor([OID_KRB5]), tamper=flip(3))  # the acceptor's MIC
    acc = acceptor([OID_KRB5])
    with pytest.raises(BadMic) as info:
        exchange(SpnegoInitiator([FakeNtlm(), krb5_initiator()]), acc, tamper=flip(4))
    assert info.value.output_token is not None
    assert resp(info.value.output_token).neg_state == w.NegState.REJECT
    assert not acc.complete and acc.context is None


def test_acceptor_always_mic_first_choice() -> None:
    """MS behaviour: a MIC both ways even for the first choice; our initiator answers it."""
    ini = SpnegoInitiator([krb5_initiator()])
    acc = acceptor([OID_KRB5], always_mic=True)
    trace = exchange(ini, acc)
    assert len(trace) == 3
    reply = resp(trace[1])
    assert reply.neg_state == w.NegState.ACCEPT_INCOMPLETE and reply.mech_list_mic is not None
    assert resp(trace[2]).mech_list_mic is not None
    assert_contexts_work(ini, acc)


def test_windows_style_completed_reply_with_mic() -> None:
    """A Windows acceptor answers accept-completed with AP-REP and a MIC; we verify it and,
    as MIT does, answer with our own MIC."""
    ini = SpnegoInitiator([krb5_initiator()])
    acc = acceptor([OID_KRB5], always_mic=True)
    first = ini.step(None, now=NOW)
    assert first is not None
    reply = acc.step(first, now=NOW)
    assert isinstance(reply, bytes)
    r = resp(reply)
    completed = w.NegTokenResp(w.NegState.ACCEPT_COMPLETED, r.supported_mech,
                               r.response_token, r.mech_list_mic).encode()
    last = ini.step(completed, now=NOW)
    assert ini.complete and last is not None and resp(last).mech_list_mic is not None


@pytest.mark.parametrize("offered", [(OID_KRB5_MS, OID_KRB5), (OID_KRB5_MS,)])
def test_ms_krb5_oid_is_krb5(offered: tuple[str, ...]) -> None:
    ini = SpnegoInitiator([krb5_initiator(oid, seed=oid.encode()) for oid in offered])
    acc = acceptor([OID_KRB5])
    trace = exchange(ini, acc)
    reply = resp(trace[1])
    assert reply.supported_mech == OID_KRB5_MS  # echoed as the initiator spelled it
    assert reply.neg_state == w.NegState.ACCEPT_COMPLETED and reply.mech_list_mic is None
    assert_contexts_work(ini, acc)


def test_iakerb_oid_accepted_for_final_ap_req() -> None:
    """IAKerb selected; its final AP-REQ (framed with the IAKerb OID, or krb5's as MIT's
    IAKerb initiator does) is accepted by the krb5 acceptor behind it."""
    for framing in (OID_IAKERB, OID_KRB5):
        mech = krb5_initiator(framing, seed=framing.encode())
        mech.mech_oid = OID_IAKERB  # type: ignore[misc]
        ini = SpnegoInitiator([mech])
        acc = acceptor([OID_IAKERB])
        exchange(ini, acc)
        assert acc.selected == OID_IAKERB
        assert_contexts_work(ini, acc)


def test_negtokeninit2_with_hints_accepted() -> None:
    mech = krb5_initiator()
    token = mech.step(None, now=NOW)
    assert isinstance(token, bytes)
    init2 = w.NegTokenInit((OID_KRB5,), mech_token=token,
                           neg_hints=w.NegHints(w.MS_HINT_NAME))
    acc = acceptor([OID_KRB5])
    reply = acc.step(w.encode_initial_token(init2), now=NOW)
    assert isinstance(reply, bytes) and resp(reply).neg_state == w.NegState.ACCEPT_COMPLETED
    assert acc.complete


def test_prefer_acceptor_order() -> None:
    ini = SpnegoInitiator([krb5_initiator(OID_IAKERB, seed=b"ia"), krb5_initiator()])
    acc = acceptor([OID_KRB5, OID_IAKERB], prefer_acceptor_order=True)
    exchange(ini, acc)
    assert acc.selected == OID_KRB5 and acc.mic is not None and acc.mic.received
    assert_contexts_work(ini, acc)


# ------------------------------------------------------------------ NTLM


def test_downgrade_to_ntlm_refused_even_when_policy_allows() -> None:
    ini = SpnegoInitiator([krb5_initiator(), FakeNtlm()])
    acc = acceptor([OID_NTLMSSP], ntlm_gate=lambda r: NtlmVerdict(True, "exception EX-1"))
    with pytest.raises(DowngradeRefused, match="refusing the downgrade") as info:
        exchange(ini, acc)
    assert info.value.output_token is not None
    reject = resp(info.value.output_token)
    assert reject.neg_state == w.NegState.REJECT and reject.supported_mech is None


def test_ntlm_refused_by_default() -> None:
    acc = acceptor([OID_KRB5, OID_NTLMSSP])
    with pytest.raises(NtlmRefused, match="refused by default"):
        exchange(SpnegoInitiator([FakeNtlm()]), acc)


def test_ntlm_allowed_by_policy_when_only_ntlm_is_offered() -> None:
    asked: list[NtlmRequest] = []

    def gate(request: NtlmRequest) -> NtlmVerdict:
        asked.append(request)
        return NtlmVerdict(True, "exception EX-7 (printer firmware)")

    acc = acceptor([OID_KRB5, OID_NTLMSSP], ntlm_gate=gate)
    trace = exchange(SpnegoInitiator([FakeNtlm()]), acc)
    assert asked == [NtlmRequest((OID_NTLMSSP,))]
    assert acc.selected == OID_NTLMSSP and len(trace) == 3


def test_kerberos_wins_over_initiators_ntlm_preference() -> None:
    """NTLM is never selected silently when Kerberos could serve, and the gate is not even
    asked; krb5 is then a second choice, so MICs protect the list."""
    asked: list[NtlmRequest] = []

    def gate(request: NtlmRequest) -> NtlmVerdict:
        asked.append(request)
        return NtlmVerdict(True, "allowed")

    ini = SpnegoInitiator([FakeNtlm(), krb5_initiator()])
    acc = acceptor([OID_NTLMSSP, OID_KRB5], ntlm_gate=gate)
    exchange(ini, acc)
    assert acc.selected == OID_KRB5 and asked == []
    assert acc.mic is not None and acc.mic.received and acc.mic.sent


def test_no_common_mechanism() -> None:
    with pytest.raises(NegotiationRejected, match="no mechanism in common"):
        exchange(SpnegoInitiator([krb5_initiator()]), acceptor([OID_IAKERB]))


# ------------------------------------------------------------------ failures


def test_krb_error_reaches_the_initiator_inside_reject() -> None:
    def wrong_key(principal: str, kvno: int | None, etype: int) -> Key | None:
        return Key(etype, bytes(32))

    acc = SpnegoAcceptor({OID_KRB5: krb5_factory(key_lookup=wrong_key,
                                                 replay_cache=ReplayCache(),
                                                 random=counter_random(b"a"))})
    ini = SpnegoInitiator([krb5_initiator()])
    first = ini.step(None, now=NOW)
    assert first is not None
    with pytest.raises(GssError, match="does not decrypt") as info:
        acc.step(first, now=NOW)
    reject = info.value.output_token
    assert reject is not None
    tok = resp(reject)
    assert tok.neg_state == w.NegState.REJECT and tok.response_token is not None
    assert decode_gss_token(tok.response_token).tok_id == b"\x03\x00"  # the KRB-ERROR
    with pytest.raises(NegotiationRejected, match="Kerberos error 31"):
        ini.step(reject, now=NOW)


def test_unusable_mechanism_left_out_of_the_list() -> None:
    class NoTicket(Unusable):
        def step(self, token: bytes | None, *, now: datetime) -> bytes | None:
            raise NoCredential("no ticket for IAKerb")

    ini = SpnegoInitiator([NoTicket(OID_IAKERB), krb5_initiator()])
    acc = acceptor([OID_IAKERB, OID_KRB5])
    trace = exchange(ini, acc)
    assert init(trace[0]).mech_types == (OID_KRB5,)
    assert [oid for oid, _ in ini.skipped] == [OID_IAKERB]
    assert acc.mic is not None and not acc.mic.required  # krb5 is now the first choice
    with pytest.raises(NoCredential):
        SpnegoInitiator([NoTicket(OID_IAKERB)]).step(None, now=NOW)


def test_bare_krb5_token_refused_with_clear_error() -> None:
    token = krb5_initiator().step(None, now=NOW)
    assert isinstance(token, bytes)
    with pytest.raises(GssError, match="not SPNEGO"):
        acceptor().step(token, now=NOW)


def test_sequence_errors() -> None:
    ini = SpnegoInitiator([krb5_initiator()])
    acc = acceptor()
    first = ini.step(None, now=NOW)
    assert first is not None
    bare_resp = w.NegTokenResp(w.NegState.ACCEPT_INCOMPLETE).encode()
    with pytest.raises(DefectiveToken, match="initial token is not a valid SPNEGO token"):
        acceptor().step(bare_resp, now=NOW)
    with pytest.raises(DefectiveToken, match="is a NegTokenResp"):
        acceptor().step(encode_gss_token(OID_SPNEGO, bare_resp), now=NOW)
    reply = acc.step(first, now=NOW)
    assert isinstance(reply, bytes)
    with pytest.raises(GssError):
        acc.step(first, now=NOW)  # complete: no more tokens
    ini.step(reply, now=NOW)
    with pytest.raises(GssError):
        ini.step(reply, now=NOW)
