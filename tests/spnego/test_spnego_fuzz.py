"""Malformed, truncated and mutated SPNEGO tokens: both state machines raise nothing but the
GssError family, and an acceptor that failed owes its peer a reject NegTokenResp."""

from __future__ import annotations

import contextlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spnego_helpers import FakeNtlm, acceptor, exchange, krb5_initiator

from gss.fixtures import NOW
from kerbfirst.gss.errors import GssError
from kerbfirst.gss.spnego_initiator import SpnegoInitiator
from kerbfirst.wire import spnego as w
from kerbfirst.wire.gss_framing import OID_KRB5


def _second_choice_trace() -> list[bytes]:
    return exchange(SpnegoInitiator([FakeNtlm(), krb5_initiator()]), acceptor([OID_KRB5]))


TRACE = _second_choice_trace()  # 5 tokens: I, A, I, A, I


def _mutate(token: bytes, data: st.DataObject) -> bytes:
    raw = bytearray(token)
    for _ in range(data.draw(st.integers(0, 3), label="flips")):
        i = data.draw(st.integers(0, len(raw) - 1))
        raw[i] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans(), label="truncate"):
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    if data.draw(st.booleans(), label="append"):
        raw += data.draw(st.binary(max_size=8))
    return bytes(raw)


def _check_reject(exc: GssError) -> None:
    assert exc.output_token is not None
    tok = w.decode_negotiation_token(exc.output_token)
    assert isinstance(tok, w.NegTokenResp) and tok.neg_state == w.NegState.REJECT


@given(st.integers(0, 4), st.data())
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_token_at_any_point(index: int, data: st.DataObject) -> None:
    """Replay the good exchange up to token `index`, mutate it, deliver it."""
    ini = SpnegoInitiator([FakeNtlm(), krb5_initiator()])
    acc = acceptor([OID_KRB5])
    token = ini.step(None, now=NOW)
    for i in range(index):
        assert token is not None
        token = acc.step(token, now=NOW) if i % 2 == 0 else ini.step(token, now=NOW)
    assert isinstance(token, bytes) and token == TRACE[index]
    bad = _mutate(token, data)
    receiver = acc if index % 2 == 0 else ini
    try:
        receiver.step(bad, now=NOW)
    except GssError as exc:
        if receiver is acc:
            _check_reject(exc)


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_random_bytes(data: bytes) -> None:
    for candidate in (data, b"\x60" + bytes((len(data) & 0x7F,)) + data):
        acc = acceptor([OID_KRB5])
        try:
            acc.step(candidate, now=NOW)
        except GssError as exc:
            _check_reject(exc)
        ini = SpnegoInitiator([krb5_initiator()])
        ini.step(None, now=NOW)
        with contextlib.suppress(GssError):
            ini.step(candidate, now=NOW)
