"""Differential tests against asn1tools compiled from RFC 4120's ASN.1 module (rfc4120.asn):
for generated values, our DER equals asn1tools' DER, our decoder reads asn1tools' bytes
back to the same value, and every type round-trips through our own codec."""

from __future__ import annotations

import pathlib
from collections.abc import Callable
from typing import Any

import asn1tools
import pytest
import wire_strategies as ws
from hypothesis import given, settings
from hypothesis import strategies as st

from kerbfirst.wire import krb5 as k

ORACLE = asn1tools.compile_files(str(pathlib.Path(__file__).with_name("rfc4120.asn")), "der")

# (our class, strategy, ASN.1 type name (or a function of the value), to-asn1tools converter)
CASES: list[tuple[type[Any], st.SearchStrategy[Any], Any, Callable[[Any], Any]]] = [
    (k.PrincipalName, ws.principal_names, "PrincipalName", ws.a_principal),
    (k.HostAddress, ws.host_addresses, "HostAddress", ws.a_addr),
    (k.EncryptionKey, ws.encryption_keys, "EncryptionKey", ws.a_key),
    (k.EncryptedData, ws.encrypted_data, "EncryptedData", ws.a_enc),
    (k.Checksum, ws.checksums, "Checksum", ws.a_cksum),
    (k.PaData, ws.pa_data, "PA-DATA", ws.a_pa),
    (k.TransitedEncoding, ws.transited, "TransitedEncoding", ws.a_tr),
    (k.Ticket, ws.tickets, "Ticket", ws.a_ticket),
    (k.EncTicketPart, ws.enc_ticket_parts, "EncTicketPart", ws.a_enc_ticket_part),
    (k.KdcReqBody, ws.kdc_req_bodies, "KDC-REQ-BODY", ws.a_req_body),
    (k.KdcReq, ws.kdc_reqs, lambda v: "AS-REQ" if v.msg_type == 10 else "TGS-REQ", ws.a_kdc_req),
    (k.KdcRep, ws.kdc_reps, lambda v: "AS-REP" if v.msg_type == 11 else "TGS-REP", ws.a_kdc_rep),
    (
        k.EncKdcRepPart,
        ws.enc_kdc_rep_parts,
        lambda v: "EncASRepPart" if v.app_tag == 25 else "EncTGSRepPart",
        ws.a_enc_kdc_rep_part,
    ),
    (k.ApReq, ws.ap_reqs, "AP-REQ", ws.a_ap_req),
    (k.Authenticator, ws.authenticators, "Authenticator", ws.a_authenticator),
    (k.ApRep, ws.ap_reps, "AP-REP", ws.a_ap_rep),
    (k.EncApRepPart, ws.enc_ap_rep_parts, "EncAPRepPart", ws.a_enc_ap_rep_part),
    (k.KrbError, ws.krb_errors, "KRB-ERROR", ws.a_krb_error),
    (k.PaEncTsEnc, ws.pa_enc_ts_encs, "PA-ENC-TS-ENC", ws.a_pa_enc_ts_enc),
    (k.EtypeInfo2Entry, ws.etype_info2_entries, "ETYPE-INFO2-ENTRY", ws.a_etype_info2_entry),
    (
        k.PaPacRequest,
        ws.pa_pac_requests,
        "KERB-PA-PAC-REQUEST",
        lambda p: {"include-pac": p.include_pac},
    ),
    (k.LastReqEntry, ws.last_req_entries, None, ws.a_lr),
    (k.AuthorizationDataEntry, ws.ad_entries, None, lambda e: None),
]


def _type_name(spec: Any, value: Any) -> str:
    return spec(value) if callable(spec) else str(spec)


@pytest.mark.parametrize("cls,strategy,spec,conv", CASES, ids=[c[0].__name__ for c in CASES])
def test_round_trip(cls: type[Any], strategy: Any, spec: Any, conv: Any) -> None:
    @settings(max_examples=60, deadline=None)
    @given(strategy)
    def check(value: Any) -> None:
        data = value.encode()
        back = cls.decode(data)
        assert back == value
        assert back.encode() == data  # DER is canonical: re-encoding is byte-identical

    check()


DIFF_CASES = [c for c in CASES if c[2] is not None]


@pytest.mark.parametrize(
    "cls,strategy,spec,conv", DIFF_CASES, ids=[c[0].__name__ for c in DIFF_CASES]
)
def test_matches_asn1tools(cls: type[Any], strategy: Any, spec: Any, conv: Any) -> None:
    @settings(max_examples=60, deadline=None)
    @given(strategy)
    def check(value: Any) -> None:
        if isinstance(value, k.KdcReqBody | k.KdcReq):
            body = value if isinstance(value, k.KdcReqBody) else value.req_body
            if body.till is None:  # OPTIONAL only in our type (Windows); REQUIRED in RFC 4120
                return
        name = _type_name(spec, value)
        oracle_bytes = ORACLE.encode(name, conv(value))
        assert value.encode() == oracle_bytes
        assert cls.decode(oracle_bytes) == value

    check()


@given(st.lists(ws.pa_data, max_size=4).map(tuple))
@settings(max_examples=40, deadline=None)
def test_method_data(padata: tuple[k.PaData, ...]) -> None:
    data = k.encode_method_data(padata)
    assert data == ORACLE.encode("METHOD-DATA", ws.a_pas(padata))
    assert k.decode_method_data(data) == padata


@given(st.lists(ws.etype_info2_entries, min_size=1, max_size=4).map(tuple))
@settings(max_examples=40, deadline=None)
def test_etype_info2(entries: tuple[k.EtypeInfo2Entry, ...]) -> None:
    data = k.encode_etype_info2(entries)
    assert data == ORACLE.encode("ETYPE-INFO2", [ws.a_etype_info2_entry(e) for e in entries])
    assert k.decode_etype_info2(data) == entries


@given(st.lists(ws.ad_entries, max_size=4).map(tuple))
@settings(max_examples=40, deadline=None)
def test_authorization_data(entries: tuple[k.AuthorizationDataEntry, ...]) -> None:
    data = k.encode_authorization_data(entries)
    assert data == ORACLE.encode("AuthorizationData", ws.a_ad(entries))
    assert k.decode_authorization_data(data) == entries


@given(st.lists(ws.last_req_entries, max_size=4).map(tuple))
@settings(max_examples=40, deadline=None)
def test_last_req(entries: tuple[k.LastReqEntry, ...]) -> None:
    data = k.encode_last_req(entries)
    assert data == ORACLE.encode("LastReq", [ws.a_lr(e) for e in entries])
    assert k.decode_last_req(data) == entries


@given(st.lists(ws.host_addresses, max_size=4).map(tuple))
@settings(max_examples=40, deadline=None)
def test_host_addresses(addrs: tuple[k.HostAddress, ...]) -> None:
    data = k.encode_host_addresses(addrs)
    assert data == ORACLE.encode("HostAddresses", ws.a_addrs(addrs))
    assert k.decode_host_addresses(data) == addrs


@given(ws.kdc_reqs | ws.kdc_reps | ws.krb_errors)
@settings(max_examples=60, deadline=None)
def test_decode_kdc_message_dispatches(msg: k.KdcReq | k.KdcRep | k.KrbError) -> None:
    back = k.decode_kdc_message(msg.encode())
    assert type(back) is type(msg)
    assert back == msg


@given(ws.kdc_reqs)
@settings(max_examples=40, deadline=None)
def test_raw_ranges_are_the_bytes_as_sent(req: k.KdcReq) -> None:
    back = k.KdcReq.decode(req.encode())
    assert back.raw_req_body == req.req_body.encode()
    for sent, got in zip(
        req.req_body.additional_tickets or (), back.req_body.additional_tickets or (), strict=True
    ):
        assert got.raw == sent.encode()
