"""No reflection: what does not decode as a KDC request gets no answer (as from MIT's
krb5kdc), absurd sizes are refused while decoding, and a KRB-ERROR never echoes the
request (fixed e-texts), so it is never much larger than what caused it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flood_requests import as_req
from memory_realm import T0, make_realm

from kerbfirst.kdc import Outcome
from kerbfirst.kdc.error_text import E_TEXT
from kerbfirst.kdc.service import DROP_AUDIT_PER_SECOND
from kerbfirst.wire import constants as c
from kerbfirst.wire.krb5 import (
    KdcReq,
    KdcReqBody,
    KrbError,
    PaData,
    PrincipalName,
    decode_kdc_message,
)
from kerbfirst.wire.krb5_decode import (
    MAX_NAME_COMPONENT_OCTETS,
    MAX_NAME_COMPONENTS,
    MAX_PADATA,
    MAX_REALM_OCTETS,
    MAX_REQUEST_ETYPES,
)


@pytest.mark.parametrize(
    "datagram",
    [b"\x6a\x00", b"\x6c\x00", b"\x6a", b"\x6c\x80", b"\x6a\x84\xff\xff\xff\xff", bytes(100),
     b"\x6a\x03\x02\x01\x05", b"\x7e\x00", b"garbage" * 20],
)
def test_undecodable_requests_get_no_answer(datagram: bytes) -> None:
    realm = make_realm()
    assert realm.handle(datagram) is None
    assert realm.kdc.dropped == 1
    (event,) = realm.events
    assert event.outcome is Outcome.BAD_REQUEST


@pytest.mark.parametrize(
    "request_bytes",
    [
        as_req(("a",) * (MAX_NAME_COMPONENTS + 1)),
        as_req(("a" * (MAX_NAME_COMPONENT_OCTETS + 1),)),
        as_req(realm="R" * (MAX_REALM_OCTETS + 1)),
        as_req(etypes=(18,) * (MAX_REQUEST_ETYPES + 1)),
        as_req(padata=(PaData(128, b"0"),) * (MAX_PADATA + 1)),
    ],
    ids=["components", "component", "realm", "etypes", "padata"],
)
def test_absurd_sizes_are_refused_unanswered(request_bytes: bytes) -> None:
    realm = make_realm()
    assert realm.handle(request_bytes) is None
    assert realm.kdc.dropped == 1
    assert realm.db.lookups == 0  # refused while decoding, before any lookup


def test_sizes_at_the_limits_are_served() -> None:
    realm = make_realm()
    request = as_req(
        ("a" * MAX_NAME_COMPONENT_OCTETS,) * MAX_NAME_COMPONENTS,
        etypes=(18,) * MAX_REQUEST_ETYPES,
    )
    err = decode_kdc_message(realm.handle(request) or b"")
    assert isinstance(err, KrbError) and err.error_code == c.KDC_ERR_C_PRINCIPAL_UNKNOWN


@pytest.mark.parametrize(
    "request_bytes",
    [
        as_req(("x" * 1000, "y" * 1000, "z" * 1000)),  # unknown, long names
        as_req(("nobody",), etypes=tuple(range(-30, 30))),  # long enctype list
        as_req(("nobody",), etypes=(1, 3, 23)),  # nothing supported
        as_req(("alice",), realm="OTHER." + "R" * 900),  # wrong realm
        as_req(("q",)),  # small
    ],
    ids=["long-names", "many-etypes", "no-etype", "wrong-realm", "small"],
)
def test_error_replies_do_not_echo_and_stay_small(request_bytes: bytes) -> None:
    realm = make_realm()
    reply = realm.handle(request_bytes)
    assert reply is not None
    err = decode_kdc_message(reply)
    assert isinstance(err, KrbError)
    assert err.e_text is None or err.e_text in E_TEXT.values()  # fixed, never echoed
    # MIT bounds its errors at about 1.5x the request; a small request may get a small
    # fixed-size error (header, realm, krbtgt name, times, a fixed text)
    assert len(reply) <= max(1.5 * len(request_bytes), 350), (len(reply), len(request_bytes))


def test_error_text_never_carries_request_strings() -> None:
    realm = make_realm()
    marker = "MARKER" * 20
    for request in (
        as_req((marker,)),
        as_req(("alice",), realm=marker),
        as_req((marker,), etypes=(1,)),
    ):
        err = decode_kdc_message(realm.handle(request) or b"")
        assert isinstance(err, KrbError)
        assert marker not in (err.e_text or "")
        assert "MARKER" in (realm.events[-1].client or "") + realm.events[-1].reason + (
            realm.events[-1].service or ""
        ) or realm.events[-1].outcome is Outcome.WRONG_REALM


def test_drops_are_audited_rate_limited_and_counted() -> None:
    realm = make_realm()
    for _ in range(100):
        realm.kdc.handle(b"\x6a\x00", peer="p", transport="udp", now=T0)
    assert realm.kdc.dropped == 100
    assert len(realm.events) == DROP_AUDIT_PER_SECOND
    realm.kdc.handle(b"\x6c\x00", peer="p", transport="udp", now=T0 + timedelta(seconds=1))
    assert f"{100 - DROP_AUDIT_PER_SECOND} more requests" in realm.events[-1].reason


def _without_sname(msg_type: int, cname: tuple[str, ...] | None, padata: bool) -> bytes:
    body = KdcReqBody(
        kdc_options=0,
        cname=None if cname is None else PrincipalName(c.NT_PRINCIPAL, cname),
        realm="",
        sname=None,
        from_=None,
        till=None,
        rtime=None,
        nonce=0,
        etype=(),
    )
    pa = (PaData(c.PA_TGS_REQ, b""),) if padata else None
    return KdcReq(msg_type, pa, body).encode()


@pytest.mark.parametrize(
    ("msg_type", "cname"),
    [(c.KRB_AS_REQ, None), (c.KRB_AS_REQ, ("alice",)), (c.KRB_TGS_REQ, None)],
    ids=["as-bare", "as-cname", "tgs-bare"],
)
def test_a_request_naming_no_server_gets_no_answer(
    msg_type: int, cname: tuple[str, ...] | None
) -> None:
    """The smallest decodable KDC-REQ (40 bytes: no names, no times, no enctypes) got a
    122-byte KRB-ERROR, a 3x reflector; MIT krb5kdc sends nothing for a request without
    a server name."""
    realm = make_realm()
    request = _without_sname(msg_type, cname, padata=False)
    assert realm.handle(request) is None
    assert realm.kdc.dropped == 1
    # A TGS-REQ carrying its ticket may leave sname out (a renewal): it is still judged.
    assert realm.handle(_without_sname(c.KRB_TGS_REQ, None, padata=True)) is not None
