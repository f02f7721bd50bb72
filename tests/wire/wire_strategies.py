"""Hypothesis strategies for every kerbfirst.wire.krb5 type, and converters to the value
form asn1tools uses for the RFC 4120 module in rfc4120.asn (the test oracle)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from kerbfirst.wire import krb5 as k

INT32 = st.integers(-(2**31), 2**31 - 1)
UINT32 = st.integers(0, 2**32 - 1)
USEC = st.integers(0, 999999)
FLAGS = st.integers(0, 2**32 - 1)
BLOB = st.binary(max_size=80)
TEXT = st.text(max_size=20)  # any Unicode: KerberosString is UTF-8 on our wire
TIME = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59)
).map(lambda d: d.replace(microsecond=0, tzinfo=UTC))


def _opt(s: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.none() | s


def _tup(s: st.SearchStrategy[Any], max_size: int = 3) -> st.SearchStrategy[tuple[Any, ...]]:
    return st.lists(s, max_size=max_size).map(tuple)


principal_names = st.builds(k.PrincipalName, INT32, _tup(TEXT))
host_addresses = st.builds(k.HostAddress, INT32, BLOB)
encryption_keys = st.builds(k.EncryptionKey, INT32, BLOB)
encrypted_data = st.builds(k.EncryptedData, INT32, _opt(UINT32), BLOB)
checksums = st.builds(k.Checksum, INT32, BLOB)
pa_data = st.builds(k.PaData, INT32, BLOB)
ad_entries = st.builds(k.AuthorizationDataEntry, INT32, BLOB)
last_req_entries = st.builds(k.LastReqEntry, INT32, TIME)
transited = st.builds(k.TransitedEncoding, INT32, BLOB)
tickets = st.builds(k.Ticket, TEXT, principal_names, encrypted_data, st.just(5))
enc_ticket_parts = st.builds(
    k.EncTicketPart,
    FLAGS, encryption_keys, TEXT, principal_names, transited, TIME, _opt(TIME), TIME,
    _opt(TIME), _opt(_tup(host_addresses)), _opt(_tup(ad_entries)),
)  # fmt: skip
kdc_req_bodies = st.builds(
    k.KdcReqBody,
    FLAGS, _opt(principal_names), TEXT, _opt(principal_names), _opt(TIME), TIME,
    _opt(TIME), UINT32, _tup(INT32, 6), _opt(_tup(host_addresses)), _opt(encrypted_data),
    _opt(_tup(tickets, 2)),
)  # fmt: skip
kdc_reqs = st.builds(
    k.KdcReq, st.sampled_from([10, 12]), _opt(_tup(pa_data)), kdc_req_bodies, st.just(5)
)
kdc_reps = st.builds(
    k.KdcRep,
    st.sampled_from([11, 13]), _opt(_tup(pa_data)), TEXT, principal_names, tickets,
    encrypted_data, st.just(5),
)  # fmt: skip
enc_kdc_rep_parts = st.builds(
    k.EncKdcRepPart,
    encryption_keys, _tup(last_req_entries), UINT32, _opt(TIME), FLAGS, TIME, _opt(TIME),
    TIME, _opt(TIME), TEXT, principal_names, _opt(_tup(host_addresses)), _opt(_tup(pa_data)),
    st.sampled_from([25, 26]),
)  # fmt: skip
ap_reqs = st.builds(k.ApReq, FLAGS, tickets, encrypted_data, st.just(5), st.just(14))
authenticators = st.builds(
    k.Authenticator,
    TEXT, principal_names, USEC, TIME, _opt(checksums), _opt(encryption_keys), _opt(UINT32),
    _opt(_tup(ad_entries)), st.just(5),
)  # fmt: skip
ap_reps = st.builds(k.ApRep, encrypted_data, st.just(5), st.just(15))
enc_ap_rep_parts = st.builds(k.EncApRepPart, TIME, USEC, _opt(encryption_keys), _opt(UINT32))
krb_errors = st.builds(
    k.KrbError,
    INT32, TIME, USEC, TEXT, principal_names, _opt(TIME), _opt(USEC), _opt(TEXT),
    _opt(principal_names), _opt(TEXT), _opt(BLOB), st.just(5), st.just(30),
)  # fmt: skip
pa_enc_ts_encs = st.builds(k.PaEncTsEnc, TIME, _opt(USEC))
etype_info2_entries = st.builds(k.EtypeInfo2Entry, INT32, _opt(TEXT), _opt(BLOB))
pa_pac_requests = st.builds(k.PaPacRequest, st.booleans())


# ------------------------------------------------------- asn1tools value form


def s(text: str) -> str:
    """asn1tools writes GeneralString as Latin-1: hand it our UTF-8 bytes that way."""
    return text.encode("utf-8").decode("latin-1")


def flags(v: int) -> tuple[bytes, int]:
    return (v.to_bytes(4, "big"), 32)


def _put(d: dict[str, Any], key: str, value: Any, conv: Any = None) -> None:
    if value is not None:
        d[key] = conv(value) if conv else value


def a_principal(p: k.PrincipalName) -> dict[str, Any]:
    return {"name-type": p.name_type, "name-string": [s(n) for n in p.name_string]}


def a_addr(a: k.HostAddress) -> dict[str, Any]:
    return {"addr-type": a.addr_type, "address": a.address}


def a_addrs(addrs: tuple[k.HostAddress, ...]) -> list[dict[str, Any]]:
    return [a_addr(a) for a in addrs]


def a_key(key: k.EncryptionKey) -> dict[str, Any]:
    return {"keytype": key.keytype, "keyvalue": key.keyvalue}


def a_enc(e: k.EncryptedData) -> dict[str, Any]:
    d: dict[str, Any] = {"etype": e.etype, "cipher": e.cipher}
    _put(d, "kvno", e.kvno)
    return d


def a_cksum(c: k.Checksum) -> dict[str, Any]:
    return {"cksumtype": c.cksumtype, "checksum": c.checksum}


def a_pa(p: k.PaData) -> dict[str, Any]:
    return {"padata-type": p.padata_type, "padata-value": p.padata_value}


def a_pas(ps: tuple[k.PaData, ...]) -> list[dict[str, Any]]:
    return [a_pa(p) for p in ps]


def a_ad(ad: tuple[k.AuthorizationDataEntry, ...]) -> list[dict[str, Any]]:
    return [{"ad-type": e.ad_type, "ad-data": e.ad_data} for e in ad]


def a_lr(e: k.LastReqEntry) -> dict[str, Any]:
    return {"lr-type": e.lr_type, "lr-value": e.lr_value}


def a_tr(t: k.TransitedEncoding) -> dict[str, Any]:
    return {"tr-type": t.tr_type, "contents": t.contents}


def a_ticket(t: k.Ticket) -> dict[str, Any]:
    return {
        "tkt-vno": t.tkt_vno,
        "realm": s(t.realm),
        "sname": a_principal(t.sname),
        "enc-part": a_enc(t.enc_part),
    }


def a_enc_ticket_part(t: k.EncTicketPart) -> dict[str, Any]:
    d: dict[str, Any] = {
        "flags": flags(t.flags),
        "key": a_key(t.key),
        "crealm": s(t.crealm),
        "cname": a_principal(t.cname),
        "transited": a_tr(t.transited),
        "authtime": t.authtime,
        "endtime": t.endtime,
    }
    _put(d, "starttime", t.starttime)
    _put(d, "renew-till", t.renew_till)
    _put(d, "caddr", t.caddr, a_addrs)
    _put(d, "authorization-data", t.authorization_data, a_ad)
    return d


def a_req_body(b: k.KdcReqBody) -> dict[str, Any]:
    d: dict[str, Any] = {
        "kdc-options": flags(b.kdc_options),
        "realm": s(b.realm),
        "till": b.till,
        "nonce": b.nonce,
        "etype": list(b.etype),
    }
    _put(d, "cname", b.cname, a_principal)
    _put(d, "sname", b.sname, a_principal)
    _put(d, "from", b.from_)
    _put(d, "rtime", b.rtime)
    _put(d, "addresses", b.addresses, a_addrs)
    _put(d, "enc-authorization-data", b.enc_authorization_data, a_enc)
    _put(d, "additional-tickets", b.additional_tickets, lambda ts: [a_ticket(t) for t in ts])
    return d


def a_kdc_req(r: k.KdcReq) -> dict[str, Any]:
    d: dict[str, Any] = {"pvno": r.pvno, "msg-type": r.msg_type, "req-body": a_req_body(r.req_body)}
    _put(d, "padata", r.padata, a_pas)
    return d


def a_kdc_rep(r: k.KdcRep) -> dict[str, Any]:
    d: dict[str, Any] = {
        "pvno": r.pvno,
        "msg-type": r.msg_type,
        "crealm": s(r.crealm),
        "cname": a_principal(r.cname),
        "ticket": a_ticket(r.ticket),
        "enc-part": a_enc(r.enc_part),
    }
    _put(d, "padata", r.padata, a_pas)
    return d


def a_enc_kdc_rep_part(p: k.EncKdcRepPart) -> dict[str, Any]:
    d: dict[str, Any] = {
        "key": a_key(p.key),
        "last-req": [a_lr(e) for e in p.last_req],
        "nonce": p.nonce,
        "flags": flags(p.flags),
        "authtime": p.authtime,
        "endtime": p.endtime,
        "srealm": s(p.srealm),
        "sname": a_principal(p.sname),
    }
    _put(d, "key-expiration", p.key_expiration)
    _put(d, "starttime", p.starttime)
    _put(d, "renew-till", p.renew_till)
    _put(d, "caddr", p.caddr, a_addrs)
    _put(d, "encrypted-pa-data", p.encrypted_pa_data, a_pas)
    return d


def a_ap_req(r: k.ApReq) -> dict[str, Any]:
    return {
        "pvno": r.pvno,
        "msg-type": r.msg_type,
        "ap-options": flags(r.ap_options),
        "ticket": a_ticket(r.ticket),
        "authenticator": a_enc(r.authenticator),
    }


def a_authenticator(a: k.Authenticator) -> dict[str, Any]:
    d: dict[str, Any] = {
        "authenticator-vno": a.authenticator_vno,
        "crealm": s(a.crealm),
        "cname": a_principal(a.cname),
        "cusec": a.cusec,
        "ctime": a.ctime,
    }
    _put(d, "cksum", a.cksum, a_cksum)
    _put(d, "subkey", a.subkey, a_key)
    _put(d, "seq-number", a.seq_number)
    _put(d, "authorization-data", a.authorization_data, a_ad)
    return d


def a_ap_rep(r: k.ApRep) -> dict[str, Any]:
    return {"pvno": r.pvno, "msg-type": r.msg_type, "enc-part": a_enc(r.enc_part)}


def a_enc_ap_rep_part(p: k.EncApRepPart) -> dict[str, Any]:
    d: dict[str, Any] = {"ctime": p.ctime, "cusec": p.cusec}
    _put(d, "subkey", p.subkey, a_key)
    _put(d, "seq-number", p.seq_number)
    return d


def a_krb_error(e: k.KrbError) -> dict[str, Any]:
    d: dict[str, Any] = {
        "pvno": e.pvno,
        "msg-type": e.msg_type,
        "stime": e.stime,
        "susec": e.susec,
        "error-code": e.error_code,
        "realm": s(e.realm),
        "sname": a_principal(e.sname),
    }
    _put(d, "ctime", e.ctime)
    _put(d, "cusec", e.cusec)
    _put(d, "crealm", e.crealm, s)
    _put(d, "cname", e.cname, a_principal)
    _put(d, "e-text", e.e_text, s)
    _put(d, "e-data", e.e_data)
    return d


def a_pa_enc_ts_enc(p: k.PaEncTsEnc) -> dict[str, Any]:
    d: dict[str, Any] = {"patimestamp": p.patimestamp}
    _put(d, "pausec", p.pausec)
    return d


def a_etype_info2_entry(e: k.EtypeInfo2Entry) -> dict[str, Any]:
    d: dict[str, Any] = {"etype": e.etype}
    _put(d, "salt", e.salt, s)
    _put(d, "s2kparams", e.s2kparams)
    return d
