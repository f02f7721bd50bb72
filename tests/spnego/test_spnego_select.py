"""Mechanism selection (spnego_select.py) as a pure function, and the IAKerb proxy effect
passing through the SPNEGO acceptor."""

from __future__ import annotations

from datetime import datetime

import pytest
from spnego_helpers import acceptor

from gss.fixtures import NOW
from kerbfirst.gss.mechanism import ForwardToKdc, KdcFailure
from kerbfirst.gss.spnego_acceptor import SpnegoAcceptor
from kerbfirst.gss.spnego_select import (
    DowngradeRefused,
    NegotiationRejected,
    NtlmRefused,
    NtlmRequest,
    NtlmVerdict,
    Selection,
    select_mechanism,
)
from kerbfirst.wire import spnego as w
from kerbfirst.wire.gss_framing import OID_IAKERB, OID_KRB5, OID_KRB5_MS, OID_NTLMSSP

NEGOEX = "1.3.6.1.4.1.311.2.2.30"


def allow(request: NtlmRequest) -> NtlmVerdict:
    return NtlmVerdict(True, "exception EX-1")


@pytest.mark.parametrize("offered,supported,kw,expected", [
    ((OID_IAKERB, OID_KRB5), (OID_KRB5,), {}, Selection(OID_KRB5, 1)),
    ((OID_IAKERB, OID_KRB5), (OID_KRB5, OID_IAKERB), {}, Selection(OID_IAKERB, 0)),
    ((OID_IAKERB, OID_KRB5), (OID_KRB5, OID_IAKERB), {"prefer_acceptor_order": True},
     Selection(OID_KRB5, 1)),
    ((OID_KRB5_MS, OID_KRB5, NEGOEX, OID_NTLMSSP), (OID_KRB5, OID_NTLMSSP), {},
     Selection(OID_KRB5_MS, 0)),  # what Windows offers
    ((OID_NTLMSSP, OID_KRB5), (OID_NTLMSSP, OID_KRB5), {"ntlm_gate": allow},
     Selection(OID_KRB5, 1)),  # Kerberos wins even over the initiator's NTLM preference
    ((OID_NTLMSSP, OID_KRB5), (OID_NTLMSSP,), {"ntlm_gate": allow},
     Selection(OID_NTLMSSP, 0)),  # the initiator preferred NTLM: no downgrade; policy allows
    ((NEGOEX, OID_NTLMSSP), (OID_KRB5, OID_NTLMSSP), {"ntlm_gate": allow},
     Selection(OID_NTLMSSP, 1)),
])
def test_selection(offered: tuple[str, ...], supported: tuple[str, ...], kw: dict[str, object],
                   expected: Selection) -> None:
    assert select_mechanism(offered, supported, **kw) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("offered,supported,error,match", [
    ((OID_KRB5_MS, OID_NTLMSSP), (OID_NTLMSSP,), DowngradeRefused, OID_KRB5_MS),
    ((OID_IAKERB, OID_NTLMSSP), (OID_NTLMSSP,), DowngradeRefused, "enable IAKerb"),
    ((OID_NTLMSSP,), (OID_KRB5, OID_NTLMSSP), NtlmRefused, "policy exception"),
    ((OID_NTLMSSP, OID_KRB5), (OID_NTLMSSP,), NtlmRefused, "refused by default"),
    ((NEGOEX,), (OID_KRB5,), NegotiationRejected, "no mechanism in common"),
    ((NEGOEX, OID_NTLMSSP), (OID_KRB5, OID_IAKERB), NtlmRefused, "does not offer it"),
    ((), (OID_KRB5,), NegotiationRejected, "offered \\[none\\]"),
])
def test_refusals(offered: tuple[str, ...], supported: tuple[str, ...],
                  error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        select_mechanism(offered, supported)


def test_downgrade_refused_without_asking_the_gate() -> None:
    asked: list[NtlmRequest] = []

    def gate(request: NtlmRequest) -> NtlmVerdict:
        asked.append(request)
        return NtlmVerdict(True, "yes")

    with pytest.raises(DowngradeRefused):
        select_mechanism((OID_KRB5, OID_NTLMSSP), (OID_NTLMSSP,), ntlm_gate=gate)
    assert asked == []


def test_acceptor_config_errors() -> None:
    with pytest.raises(ValueError, match="no factory"):
        acceptor([OID_KRB5, "1.2.3.4"])


class FakeProxy:
    """An IAKerb-like acceptor: the first token needs the KDC, the reply completes it."""

    def __init__(self, oid: str) -> None:
        self.mech_oid = oid
        self.complete = False
        self.context: object = None

    def step(self, token: bytes | None, *, now: datetime) -> ForwardToKdc:
        return ForwardToKdc("EXAMPLE.TEST", b"as-req")

    def kdc_reply(self, reply: bytes | KdcFailure, *, now: datetime, kdc: str = "") -> bytes:
        assert reply == b"as-rep"
        return b"proxied " + reply


def test_forward_to_kdc_passes_through_and_reply_is_wrapped() -> None:
    acc = SpnegoAcceptor({OID_IAKERB: FakeProxy})  # type: ignore[dict-item]
    first = w.encode_initial_token(w.NegTokenInit((OID_IAKERB,), mech_token=b"iakerb-token"))
    effect = acc.step(first, now=NOW)
    assert effect == ForwardToKdc("EXAMPLE.TEST", b"as-req")
    reply = w.decode_negotiation_token(acc.kdc_reply(b"as-rep", now=NOW))
    assert reply == w.NegTokenResp(w.NegState.ACCEPT_INCOMPLETE, OID_IAKERB, b"proxied as-rep")
    assert not acc.complete
