"""DER encoders for the RFC 4120 messages of kerbfirst.wire.krb5 (RFC 4120 section 5).

Field numbers follow the ASN.1 module of RFC 4120 Appendix A. Optional fields that are
None are omitted; an empty tuple encodes an empty SEQUENCE OF (present but empty).
Use the `encode()` methods on the message classes; these functions are their bodies.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

from kerbfirst.wire.constants import (
    APP_AUTHENTICATOR,
    APP_ENC_AP_REP_PART,
    APP_ENC_AS_REP_PART,
    APP_ENC_TGS_REP_PART,
    APP_ENC_TICKET_PART,
    APP_TICKET,
    KRB_AP_REP,
    KRB_AP_REQ,
    KRB_AS_REP,
    KRB_AS_REQ,
    KRB_ERROR,
    KRB_TGS_REP,
    KRB_TGS_REQ,
)
from kerbfirst.wire.der import (
    SHORT_HEADERS,
    EncodeError,
    application,
    encode_boolean,
    encode_int32,
    encode_kerberos_flags,
    encode_kerberos_string,
    encode_kerberos_time,
    encode_microseconds,
    encode_octet_string,
    encode_uint32,
    header,
    sequence_of,
)
from kerbfirst.wire.krb5 import (
    ApRep,
    ApReq,
    Authenticator,
    AuthorizationDataEntry,
    Checksum,
    EncApRepPart,
    EncKdcRepPart,
    EncryptedData,
    EncryptionKey,
    EncTicketPart,
    EtypeInfo2Entry,
    HostAddress,
    KdcRep,
    KdcReq,
    KdcReqBody,
    KrbError,
    LastReqEntry,
    PaData,
    PaEncTsEnc,
    PaPacRequest,
    PrincipalName,
    Ticket,
    TransitedEncoding,
)


def _fields(*values: bytes | None) -> bytes:
    """SEQUENCE of [n] EXPLICIT fields, the n-th value being field [n] (from 0); None
    values are absent OPTIONAL fields, or numbers a type does not use."""
    # One join for the whole SEQUENCE: header and value of each field side by side.
    parts = []
    tag = 0xA0
    for v in values:
        if v is not None:
            n = len(v)
            parts.append(SHORT_HEADERS[tag][n] if n < 0x80 else header(tag, n))
            parts.append(v)
        tag += 1
    body = b"".join(parts)
    return header(0x30, len(body)) + body


def _opt_time(value: datetime | None) -> bytes | None:
    return None if value is None else encode_kerberos_time(value)


# The same few names are encoded in every reply (the client, krbtgt, services):
# PrincipalName is immutable, so remember recent encodings. Keyed by the (name-type,
# name-string) tuple, not the PrincipalName: the dataclass's generated __hash__ is a Python
# call that rebuilds that tuple anyway, and costs more than the encoding it saves. Only
# short names are kept (a KRB-ERROR carries the name a peer sent): at most
# _NAME_CACHE_SIZE * _NAME_CACHE_MAX_BYTES of encodings, whatever peers send.
_NAME_CACHE: Final[dict[tuple[int, tuple[str, ...]], bytes]] = {}
_NAME_CACHE_SIZE: Final = 4096
_NAME_CACHE_MAX_BYTES: Final = 256


def principal_name(p: PrincipalName) -> bytes:
    key = (p.name_type, p.name_string)
    try:
        cached = _NAME_CACHE.get(key)
    except TypeError:  # built with an unhashable name_string (a list): encode, don't keep
        cached = None
        hashable = False
    else:
        hashable = True
    if cached is not None:
        return cached
    encoded = _fields(
        encode_int32(p.name_type), sequence_of([encode_kerberos_string(s) for s in p.name_string])
    )
    if not hashable or len(encoded) > _NAME_CACHE_MAX_BYTES:
        return encoded
    if len(_NAME_CACHE) >= _NAME_CACHE_SIZE:
        _NAME_CACHE.clear()
    _NAME_CACHE[key] = encoded
    return encoded


def host_address(a: HostAddress) -> bytes:
    return _fields(encode_int32(a.addr_type), encode_octet_string(a.address))


def host_addresses(addrs: tuple[HostAddress, ...]) -> bytes:
    return sequence_of([host_address(a) for a in addrs])


def encryption_key(k: EncryptionKey) -> bytes:
    return _fields(encode_int32(k.keytype), encode_octet_string(k.keyvalue))


def encrypted_data(e: EncryptedData) -> bytes:
    return _fields(
        encode_int32(e.etype),  # [0]
        None if e.kvno is None else encode_uint32(e.kvno),  # [1]
        encode_octet_string(e.cipher),  # [2]
    )


def checksum(ck: Checksum) -> bytes:
    return _fields(encode_int32(ck.cksumtype), encode_octet_string(ck.checksum))


def pa_data(p: PaData) -> bytes:
    # PA-DATA's first tag is [1] (RFC 4120 5.2.7).
    return _fields(
        None,  # no [0]: the first tag is [1]
        encode_int32(p.padata_type),  # [1]
        encode_octet_string(p.padata_value),  # [2]
    )


def method_data(padata: tuple[PaData, ...]) -> bytes:
    return sequence_of([pa_data(p) for p in padata])


def authorization_data_entry(a: AuthorizationDataEntry) -> bytes:
    return _fields(encode_int32(a.ad_type), encode_octet_string(a.ad_data))


def authorization_data(ad: tuple[AuthorizationDataEntry, ...]) -> bytes:
    return sequence_of([authorization_data_entry(a) for a in ad])


def last_req_entry(e: LastReqEntry) -> bytes:
    return _fields(encode_int32(e.lr_type), encode_kerberos_time(e.lr_value))


def transited_encoding(t: TransitedEncoding) -> bytes:
    return _fields(encode_int32(t.tr_type), encode_octet_string(t.contents))


def ticket(t: Ticket) -> bytes:
    """A Ticket; its `raw` bytes when it was decoded, so it is re-embedded unchanged."""
    if t.raw is not None:
        return t.raw
    return application(
        APP_TICKET,
        _fields(
            encode_int32(t.tkt_vno),  # [0]
            encode_kerberos_string(t.realm),  # [1]
            principal_name(t.sname),  # [2]
            encrypted_data(t.enc_part),  # [3]
        ),
    )


def enc_ticket_part(t: EncTicketPart) -> bytes:
    ad = t.authorization_data
    return application(
        APP_ENC_TICKET_PART,
        _fields(
            encode_kerberos_flags(t.flags),  # [0]
            encryption_key(t.key),  # [1]
            encode_kerberos_string(t.crealm),  # [2]
            principal_name(t.cname),  # [3]
            transited_encoding(t.transited),  # [4]
            encode_kerberos_time(t.authtime),  # [5]
            _opt_time(t.starttime),  # [6]
            encode_kerberos_time(t.endtime),  # [7]
            _opt_time(t.renew_till),  # [8]
            None if t.caddr is None else host_addresses(t.caddr),  # [9]
            None if ad is None else authorization_data(ad),  # [10]
        ),
    )


def kdc_req_body(b: KdcReqBody) -> bytes:
    enc_ad, tickets = b.enc_authorization_data, b.additional_tickets
    return _fields(
        encode_kerberos_flags(b.kdc_options),  # [0]
        None if b.cname is None else principal_name(b.cname),  # [1]
        encode_kerberos_string(b.realm),  # [2]
        None if b.sname is None else principal_name(b.sname),  # [3]
        _opt_time(b.from_),  # [4]
        _opt_time(b.till),  # [5]
        _opt_time(b.rtime),  # [6]
        encode_uint32(b.nonce),  # [7]
        sequence_of([encode_int32(e) for e in b.etype]),  # [8]
        None if b.addresses is None else host_addresses(b.addresses),  # [9]
        None if enc_ad is None else encrypted_data(enc_ad),  # [10]
        None if tickets is None else sequence_of([ticket(t) for t in tickets]),  # [11]
    )


def kdc_req(r: KdcReq) -> bytes:
    """AS-REQ or TGS-REQ by msg_type; req-body is encoded from the fields (DER is canonical)."""
    if r.msg_type not in (KRB_AS_REQ, KRB_TGS_REQ):
        raise EncodeError(f"KDC-REQ msg_type must be 10 (AS) or 12 (TGS), not {r.msg_type}")
    # KDC-REQ's first tag is [1] (RFC 4120 5.4.1).
    return application(
        r.msg_type,
        _fields(
            None,  # no [0]: the first tag is [1]
            encode_int32(r.pvno),  # [1]
            encode_int32(r.msg_type),  # [2]
            None if r.padata is None else method_data(r.padata),  # [3]
            kdc_req_body(r.req_body),  # [4]
        ),
    )


def kdc_rep(r: KdcRep) -> bytes:
    if r.msg_type not in (KRB_AS_REP, KRB_TGS_REP):
        raise EncodeError(f"KDC-REP msg_type must be 11 (AS) or 13 (TGS), not {r.msg_type}")
    return application(
        r.msg_type,
        _fields(
            encode_int32(r.pvno),  # [0]
            encode_int32(r.msg_type),  # [1]
            None if r.padata is None else method_data(r.padata),  # [2]
            encode_kerberos_string(r.crealm),  # [3]
            principal_name(r.cname),  # [4]
            ticket(r.ticket),  # [5]
            encrypted_data(r.enc_part),  # [6]
        ),
    )


def enc_kdc_rep_part(p: EncKdcRepPart) -> bytes:
    if p.app_tag not in (APP_ENC_AS_REP_PART, APP_ENC_TGS_REP_PART):
        raise EncodeError(f"EncKDCRepPart app_tag must be 25 or 26, not {p.app_tag}")
    return application(
        p.app_tag,
        _fields(
            encryption_key(p.key),  # [0]
            last_req(p.last_req),  # [1]
            encode_uint32(p.nonce),  # [2]
            _opt_time(p.key_expiration),  # [3]
            encode_kerberos_flags(p.flags),  # [4]
            encode_kerberos_time(p.authtime),  # [5]
            _opt_time(p.starttime),  # [6]
            encode_kerberos_time(p.endtime),  # [7]
            _opt_time(p.renew_till),  # [8]
            encode_kerberos_string(p.srealm),  # [9]
            principal_name(p.sname),  # [10]
            None if p.caddr is None else host_addresses(p.caddr),  # [11]
            None if p.encrypted_pa_data is None else method_data(p.encrypted_pa_data),  # [12]
        ),
    )


def ap_req(r: ApReq) -> bytes:
    return application(
        KRB_AP_REQ,
        _fields(
            encode_int32(r.pvno),  # [0]
            encode_int32(r.msg_type),  # [1]
            encode_kerberos_flags(r.ap_options),  # [2]
            ticket(r.ticket),  # [3]
            encrypted_data(r.authenticator),  # [4]
        ),
    )


def authenticator(a: Authenticator) -> bytes:
    ad = a.authorization_data
    return application(
        APP_AUTHENTICATOR,
        _fields(
            encode_int32(a.authenticator_vno),  # [0]
            encode_kerberos_string(a.crealm),  # [1]
            principal_name(a.cname),  # [2]
            None if a.cksum is None else checksum(a.cksum),  # [3]
            encode_microseconds(a.cusec),  # [4]
            encode_kerberos_time(a.ctime),  # [5]
            None if a.subkey is None else encryption_key(a.subkey),  # [6]
            None if a.seq_number is None else encode_uint32(a.seq_number),  # [7]
            None if ad is None else authorization_data(ad),  # [8]
        ),
    )


def ap_rep(r: ApRep) -> bytes:
    return application(
        KRB_AP_REP,
        _fields(
            encode_int32(r.pvno),  # [0]
            encode_int32(r.msg_type),  # [1]
            encrypted_data(r.enc_part),  # [2]
        ),
    )


def enc_ap_rep_part(p: EncApRepPart) -> bytes:
    return application(
        APP_ENC_AP_REP_PART,
        _fields(
            encode_kerberos_time(p.ctime),  # [0]
            encode_microseconds(p.cusec),  # [1]
            None if p.subkey is None else encryption_key(p.subkey),  # [2]
            None if p.seq_number is None else encode_uint32(p.seq_number),  # [3]
        ),
    )


def krb_error(e: KrbError) -> bytes:
    return application(
        KRB_ERROR,
        _fields(
            encode_int32(e.pvno),  # [0]
            encode_int32(e.msg_type),  # [1]
            _opt_time(e.ctime),  # [2]
            None if e.cusec is None else encode_microseconds(e.cusec),  # [3]
            encode_kerberos_time(e.stime),  # [4]
            encode_microseconds(e.susec),  # [5]
            encode_int32(e.error_code),  # [6]
            None if e.crealm is None else encode_kerberos_string(e.crealm),  # [7]
            None if e.cname is None else principal_name(e.cname),  # [8]
            encode_kerberos_string(e.realm),  # [9]
            principal_name(e.sname),  # [10]
            None if e.e_text is None else encode_kerberos_string(e.e_text),  # [11]
            None if e.e_data is None else encode_octet_string(e.e_data),  # [12]
        ),
    )


def pa_enc_ts_enc(p: PaEncTsEnc) -> bytes:
    return _fields(
        encode_kerberos_time(p.patimestamp),
        None if p.pausec is None else encode_microseconds(p.pausec),
    )


def etype_info2_entry(e: EtypeInfo2Entry) -> bytes:
    return _fields(
        encode_int32(e.etype),  # [0]
        None if e.salt is None else encode_kerberos_string(e.salt),  # [1]
        None if e.s2kparams is None else encode_octet_string(e.s2kparams),  # [2]
    )


def etype_info2(entries: tuple[EtypeInfo2Entry, ...]) -> bytes:
    return sequence_of([etype_info2_entry(e) for e in entries])


def pa_pac_request(p: PaPacRequest) -> bytes:
    return _fields(
        encode_boolean(p.include_pac),
    )


# A KDC gives every reply the same LastReq (one entry: lr-type 0, "no information",
# RFC 4120 5.4.2): remember recent encodings. Keyed by the entries' (lr-type, lr-value)
# pairs, not by the LastReqEntry objects, whose dataclass __hash__ is a Python call each
# (a datetime keeps its own hash once computed). Not by the tuple's identity either: the
# compiled build boxes a fixed-length tuple attribute into a new tuple at each read.
# Emptied when full, as the other memos (one atomic step for threads sharing the module).
_LAST_REQ_CACHE: Final[dict[tuple[tuple[int, datetime], ...], bytes]] = {}
_LAST_REQ_CACHE_SIZE: Final = 64


def last_req(entries: tuple[LastReqEntry, ...]) -> bytes:
    key = tuple([(e.lr_type, e.lr_value) for e in entries])
    known = _LAST_REQ_CACHE.get(key)
    if known is not None:
        return known
    encoded = sequence_of([last_req_entry(e) for e in entries])
    if len(_LAST_REQ_CACHE) >= _LAST_REQ_CACHE_SIZE:
        _LAST_REQ_CACHE.clear()
    _LAST_REQ_CACHE[key] = encoded
    return encoded
