"""Bounded DER decoders for the RFC 4120 messages of kerbfirst.wire.krb5 (RFC 4120 section 5).

Each `x(r)` reads one element from a `der.Reader` window. Unknown integer values
(etypes, padata types, error codes) are kept; unknown higher context tags are skipped
(RFC 4120 5.1: the SEQUENCEs are extensible). msg-type must agree with the APPLICATION
tag, as in MIT krb5's decoder. Use the `decode()` methods on the message classes, or
`decode_kdc_message` for whatever arrives at a KDC or a proxy.
"""

from __future__ import annotations

from collections.abc import Callable
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
from kerbfirst.wire.der import MAX_DEPTH, DecodeError, Reader, required
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

_APP: Final = 0x60  # APPLICATION, constructed


def _opt_time(r: Reader | None, what: str) -> datetime | None:
    return None if r is None else r.kerberos_time(what)


def _check_msg_type(got: int, expected: int, what: str, offset: int) -> None:
    if got != expected:
        raise DecodeError(
            f"{what}: msg-type {got} does not match its APPLICATION tag {expected}", offset
        )


# Sizes far beyond anything a real peer sends, refused while decoding, before a value is
# built: a KDC faces unauthenticated peers, and everything it decodes from them may be
# logged, compared, looked up and remembered. Real clients (MIT, Heimdal, Windows) send
# 1-3 name components (RFC 4120 6.2: krbtgt/REALM, host/fqdn), DNS-length realms and
# host names (at most 255 octets, RFC 1035 2.3.4), fewer than ten enctypes, a few
# padata and at most a handful of addresses (MIT sends none by default).
MAX_NAME_COMPONENTS: Final = 16
MAX_NAME_COMPONENT_OCTETS: Final = 1024
MAX_REALM_OCTETS: Final = 1024
MAX_REQUEST_ETYPES: Final = 64
MAX_ADDRESSES: Final = 64
MAX_PADATA: Final = 64
MAX_ADDITIONAL_TICKETS: Final = 8

# A KDC decodes the same few names over and over (krbtgt, its clients, its services):
# remember recent ones by their exact encoding. PrincipalName is immutable, so sharing is
# safe; only names that decoded are remembered, and only where the nesting bound could not
# have refused them (a PrincipalName is 3 levels deep), so the results are what decoding
# would give. Only short encodings are kept (a peer chooses the names it sends): at most
# _NAME_CACHE_SIZE * _NAME_CACHE_MAX_BYTES of keys, whatever a peer sends.
_NAME_CACHE: Final[dict[bytes, PrincipalName]] = {}
_NAME_CACHE_SIZE: Final = 4096
_NAME_CACHE_MAX_BYTES: Final = 256
_NAME_DEPTH: Final = 3


def principal_name(r: Reader) -> PrincipalName:
    cacheable = r.depth + _NAME_DEPTH < MAX_DEPTH and r.end - r.pos <= _NAME_CACHE_MAX_BYTES
    if cacheable:
        raw = r.data[r.pos : r.end]
        cached = _NAME_CACHE.get(raw)
        if cached is not None:
            r.pos = r.end
            return cached
    at = r.pos
    f = r.fields(2, "PrincipalName")
    names = required(f, 1, "PrincipalName", at).items(
        "PrincipalName name-string", MAX_NAME_COMPONENTS
    )
    name = PrincipalName(
        required(f, 0, "PrincipalName", at).int32("PrincipalName name-type"),
        tuple(
            n.kerberos_string("PrincipalName name-string", MAX_NAME_COMPONENT_OCTETS)
            for n in names
        ),
    )
    if cacheable:
        if len(_NAME_CACHE) >= _NAME_CACHE_SIZE:
            _NAME_CACHE.clear()
        _NAME_CACHE[raw] = name
    return name


def host_address(r: Reader) -> HostAddress:
    at = r.pos
    f = r.fields(2, "HostAddress")
    return HostAddress(
        required(f, 0, "HostAddress", at).int32("HostAddress addr-type"),
        required(f, 1, "HostAddress", at).octets("HostAddress address"),
    )


def host_addresses(r: Reader) -> tuple[HostAddress, ...]:
    return tuple([host_address(i) for i in r.items("HostAddresses", MAX_ADDRESSES)])


def encryption_key(r: Reader) -> EncryptionKey:
    at = r.pos
    f = r.fields(2, "EncryptionKey")
    return EncryptionKey(
        required(f, 0, "EncryptionKey", at).int32("EncryptionKey keytype"),
        required(f, 1, "EncryptionKey", at).octets("EncryptionKey keyvalue"),
    )


def encrypted_data(r: Reader) -> EncryptedData:
    at = r.pos
    f = r.fields(3, "EncryptedData")
    kvno = f[1]
    return EncryptedData(
        required(f, 0, "EncryptedData", at).int32("EncryptedData etype"),
        None if kvno is None else kvno.uint32("EncryptedData kvno"),
        required(f, 2, "EncryptedData", at).octets("EncryptedData cipher"),
    )


def checksum(r: Reader) -> Checksum:
    at = r.pos
    f = r.fields(2, "Checksum")
    return Checksum(
        required(f, 0, "Checksum", at).int32("Checksum cksumtype"),
        required(f, 1, "Checksum", at).octets("Checksum checksum"),
    )


def pa_data(r: Reader) -> PaData:
    at = r.pos
    f = r.fields(3, "PA-DATA")  # first tag is [1] (RFC 4120 5.2.7)
    return PaData(
        required(f, 1, "PA-DATA", at).int32("PA-DATA padata-type"),
        required(f, 2, "PA-DATA", at).octets("PA-DATA padata-value"),
    )


def method_data(r: Reader) -> tuple[PaData, ...]:
    return tuple([pa_data(i) for i in r.items("METHOD-DATA", MAX_PADATA)])


def authorization_data_entry(r: Reader) -> AuthorizationDataEntry:
    at = r.pos
    f = r.fields(2, "AuthorizationData entry")
    return AuthorizationDataEntry(
        required(f, 0, "AuthorizationData entry", at).int32("AuthorizationData ad-type"),
        required(f, 1, "AuthorizationData entry", at).octets("AuthorizationData ad-data"),
    )


def authorization_data(r: Reader) -> tuple[AuthorizationDataEntry, ...]:
    return tuple([authorization_data_entry(i) for i in r.items("AuthorizationData")])


def last_req_entry(r: Reader) -> LastReqEntry:
    at = r.pos
    f = r.fields(2, "LastReq entry")
    return LastReqEntry(
        required(f, 0, "LastReq entry", at).int32("LastReq lr-type"),
        required(f, 1, "LastReq entry", at).kerberos_time("LastReq lr-value"),
    )


def transited_encoding(r: Reader) -> TransitedEncoding:
    at = r.pos
    f = r.fields(2, "TransitedEncoding")
    return TransitedEncoding(
        required(f, 0, "TransitedEncoding", at).int32("TransitedEncoding tr-type"),
        required(f, 1, "TransitedEncoding", at).octets("TransitedEncoding contents"),
    )


# A client presents the same TGT in every TGS-REQ for hours: remember recent decodings.
# Decoding is a pure function of the bytes (and of the depth, which bounds nesting), and a
# Ticket is immutable, so a hit is exactly what decoding again would return. Only small
# tickets are kept (a TGT is some hundreds of bytes, 1-2 KB with a PAC): at most
# _TICKET_MEMO_SIZE * _TICKET_MEMO_MAX_BYTES of memory, whatever a peer sends.
_TICKET_MEMO: Final[dict[tuple[int, bytes], Ticket]] = {}
_TICKET_MEMO_SIZE: Final = 1024
_TICKET_MEMO_MAX_BYTES: Final = 4096


def ticket(r: Reader) -> Ticket:
    at = r.pos
    raw = r.raw()
    memo_key = (r.depth, raw)
    hit = _TICKET_MEMO.get(memo_key) if len(raw) <= _TICKET_MEMO_MAX_BYTES else None
    if hit is not None:
        r.pos = r.end  # consumed, as enter() below would have
        return hit
    f = r.enter(_APP | APP_TICKET, "Ticket").fields(4, "Ticket")
    decoded = Ticket(
        tkt_vno=required(f, 0, "Ticket", at).int32("Ticket tkt-vno"),
        realm=required(f, 1, "Ticket", at).kerberos_string("Ticket realm", MAX_REALM_OCTETS),
        sname=principal_name(required(f, 2, "Ticket", at)),
        enc_part=encrypted_data(required(f, 3, "Ticket", at)),
        raw=raw,
    )
    if len(raw) <= _TICKET_MEMO_MAX_BYTES:
        # Emptied when full, as the encoder's memos (der._TIME_CACHE, _NAME_CACHE): clear()
        # is one atomic step for threads sharing this module (GSS acceptors, the KDC),
        # where evicting "the oldest" is two, and two threads could evict the same one.
        if len(_TICKET_MEMO) >= _TICKET_MEMO_SIZE:
            _TICKET_MEMO.clear()
        _TICKET_MEMO[memo_key] = decoded
    return decoded


def enc_ticket_part(r: Reader) -> EncTicketPart:
    at = r.pos
    w = "EncTicketPart"
    f = r.enter(_APP | APP_ENC_TICKET_PART, w).fields(11, w)
    caddr, ad = f[9], f[10]
    return EncTicketPart(
        flags=required(f, 0, w, at).kerberos_flags("EncTicketPart flags"),
        key=encryption_key(required(f, 1, w, at)),
        crealm=required(f, 2, w, at).kerberos_string("EncTicketPart crealm"),
        cname=principal_name(required(f, 3, w, at)),
        transited=transited_encoding(required(f, 4, w, at)),
        authtime=required(f, 5, w, at).kerberos_time("EncTicketPart authtime"),
        starttime=_opt_time(f[6], "EncTicketPart starttime"),
        endtime=required(f, 7, w, at).kerberos_time("EncTicketPart endtime"),
        renew_till=_opt_time(f[8], "EncTicketPart renew-till"),
        caddr=None if caddr is None else host_addresses(caddr),
        authorization_data=None if ad is None else authorization_data(ad),
    )


def kdc_req_body(r: Reader) -> KdcReqBody:
    at = r.pos
    w = "KDC-REQ-BODY"
    f = r.fields(12, w)
    cname, sname, addrs, enc_ad, tickets = f[1], f[3], f[9], f[10], f[11]
    extra = (
        None
        if tickets is None
        else tuple([ticket(t) for t in tickets.items(w, MAX_ADDITIONAL_TICKETS)])
    )
    return KdcReqBody(
        kdc_options=required(f, 0, w, at).kerberos_flags("KDC-REQ-BODY kdc-options"),
        cname=None if cname is None else principal_name(cname),
        realm=required(f, 2, w, at).kerberos_string("KDC-REQ-BODY realm", MAX_REALM_OCTETS),
        sname=None if sname is None else principal_name(sname),
        from_=_opt_time(f[4], "KDC-REQ-BODY from"),
        till=_opt_time(f[5], "KDC-REQ-BODY till"),
        rtime=_opt_time(f[6], "KDC-REQ-BODY rtime"),
        nonce=required(f, 7, w, at).uint32("KDC-REQ-BODY nonce"),
        etype=tuple(
            [e.int32("KDC-REQ-BODY etype") for e in required(f, 8, w, at).items(
                "KDC-REQ-BODY etype", MAX_REQUEST_ETYPES
            )]
        ),
        addresses=None if addrs is None else host_addresses(addrs),
        enc_authorization_data=None if enc_ad is None else encrypted_data(enc_ad),
        additional_tickets=extra,
    )


def kdc_req(r: Reader) -> KdcReq:
    at = r.pos
    tag = r.peek_tag("KDC-REQ")
    if tag not in (_APP | KRB_AS_REQ, _APP | KRB_TGS_REQ):
        raise DecodeError(f"KDC-REQ: expected AS-REQ or TGS-REQ, found tag 0x{tag:02x}", at)
    w = "AS-REQ" if tag == _APP | KRB_AS_REQ else "TGS-REQ"
    f = r.enter(tag, w).fields(5, w)  # first tag is [1] (RFC 4120 5.4.1)
    msg_type = required(f, 2, w, at).int32(f"{w} msg-type")
    _check_msg_type(msg_type, tag & 0x1F, w, at)
    padata, body = f[3], required(f, 4, w, at)
    raw_body = body.raw()
    return KdcReq(
        msg_type=msg_type,
        padata=None if padata is None else method_data(padata),
        req_body=kdc_req_body(body),
        pvno=required(f, 1, w, at).int32(f"{w} pvno"),
        raw_req_body=raw_body,
    )


def kdc_rep(r: Reader) -> KdcRep:
    at = r.pos
    tag = r.peek_tag("KDC-REP")
    if tag not in (_APP | KRB_AS_REP, _APP | KRB_TGS_REP):
        raise DecodeError(f"KDC-REP: expected AS-REP or TGS-REP, found tag 0x{tag:02x}", at)
    w = "AS-REP" if tag == _APP | KRB_AS_REP else "TGS-REP"
    f = r.enter(tag, w).fields(7, w)
    msg_type = required(f, 1, w, at).int32(f"{w} msg-type")
    _check_msg_type(msg_type, tag & 0x1F, w, at)
    padata = f[2]
    return KdcRep(
        msg_type=msg_type,
        padata=None if padata is None else method_data(padata),
        crealm=required(f, 3, w, at).kerberos_string(f"{w} crealm"),
        cname=principal_name(required(f, 4, w, at)),
        ticket=ticket(required(f, 5, w, at)),
        enc_part=encrypted_data(required(f, 6, w, at)),
        pvno=required(f, 0, w, at).int32(f"{w} pvno"),
    )


def enc_kdc_rep_part(r: Reader) -> EncKdcRepPart:
    at = r.pos
    tag = r.peek_tag("EncKDCRepPart")
    # MIT's client accepts either tag for either reply, and so do we.
    if tag not in (_APP | APP_ENC_AS_REP_PART, _APP | APP_ENC_TGS_REP_PART):
        raise DecodeError(f"EncKDCRepPart: expected [APPLICATION 25/26], found tag 0x{tag:02x}", at)
    w = "EncKDCRepPart"
    f = r.enter(tag, w).fields(13, w)
    caddr, pa = f[11], f[12]
    return EncKdcRepPart(
        key=encryption_key(required(f, 0, w, at)),
        last_req=last_req(required(f, 1, w, at)),
        nonce=required(f, 2, w, at).uint32("EncKDCRepPart nonce"),
        key_expiration=_opt_time(f[3], "EncKDCRepPart key-expiration"),
        flags=required(f, 4, w, at).kerberos_flags("EncKDCRepPart flags"),
        authtime=required(f, 5, w, at).kerberos_time("EncKDCRepPart authtime"),
        starttime=_opt_time(f[6], "EncKDCRepPart starttime"),
        endtime=required(f, 7, w, at).kerberos_time("EncKDCRepPart endtime"),
        renew_till=_opt_time(f[8], "EncKDCRepPart renew-till"),
        srealm=required(f, 9, w, at).kerberos_string("EncKDCRepPart srealm"),
        sname=principal_name(required(f, 10, w, at)),
        caddr=None if caddr is None else host_addresses(caddr),
        encrypted_pa_data=None if pa is None else method_data(pa),
        app_tag=tag & 0x1F,
    )


def ap_req(r: Reader) -> ApReq:
    at = r.pos
    w = "AP-REQ"
    f = r.enter(_APP | KRB_AP_REQ, w).fields(5, w)
    msg_type = required(f, 1, w, at).int32("AP-REQ msg-type")
    _check_msg_type(msg_type, KRB_AP_REQ, w, at)
    return ApReq(
        ap_options=required(f, 2, w, at).kerberos_flags("AP-REQ ap-options"),
        ticket=ticket(required(f, 3, w, at)),
        authenticator=encrypted_data(required(f, 4, w, at)),
        pvno=required(f, 0, w, at).int32("AP-REQ pvno"),
        msg_type=msg_type,
    )


def authenticator(r: Reader) -> Authenticator:
    at = r.pos
    w = "Authenticator"
    f = r.enter(_APP | APP_AUTHENTICATOR, w).fields(9, w)
    cksum, subkey, seq, ad = f[3], f[6], f[7], f[8]
    return Authenticator(
        crealm=required(f, 1, w, at).kerberos_string("Authenticator crealm"),
        cname=principal_name(required(f, 2, w, at)),
        cusec=required(f, 4, w, at).microseconds("Authenticator cusec"),
        ctime=required(f, 5, w, at).kerberos_time("Authenticator ctime"),
        cksum=None if cksum is None else checksum(cksum),
        subkey=None if subkey is None else encryption_key(subkey),
        seq_number=None if seq is None else seq.uint32("Authenticator seq-number"),
        authorization_data=None if ad is None else authorization_data(ad),
        authenticator_vno=required(f, 0, w, at).int32("Authenticator authenticator-vno"),
    )


def ap_rep(r: Reader) -> ApRep:
    at = r.pos
    w = "AP-REP"
    f = r.enter(_APP | KRB_AP_REP, w).fields(3, w)
    msg_type = required(f, 1, w, at).int32("AP-REP msg-type")
    _check_msg_type(msg_type, KRB_AP_REP, w, at)
    return ApRep(
        enc_part=encrypted_data(required(f, 2, w, at)),
        pvno=required(f, 0, w, at).int32("AP-REP pvno"),
        msg_type=msg_type,
    )


def enc_ap_rep_part(r: Reader) -> EncApRepPart:
    at = r.pos
    w = "EncAPRepPart"
    f = r.enter(_APP | APP_ENC_AP_REP_PART, w).fields(4, w)
    subkey, seq = f[2], f[3]
    return EncApRepPart(
        ctime=required(f, 0, w, at).kerberos_time("EncAPRepPart ctime"),
        cusec=required(f, 1, w, at).microseconds("EncAPRepPart cusec"),
        subkey=None if subkey is None else encryption_key(subkey),
        seq_number=None if seq is None else seq.uint32("EncAPRepPart seq-number"),
    )


def krb_error(r: Reader) -> KrbError:
    at = r.pos
    w = "KRB-ERROR"
    f = r.enter(_APP | KRB_ERROR, w).fields(13, w)
    msg_type = required(f, 1, w, at).int32("KRB-ERROR msg-type")
    _check_msg_type(msg_type, KRB_ERROR, w, at)
    cusec, crealm, cname, e_text, e_data = f[3], f[7], f[8], f[11], f[12]
    return KrbError(
        error_code=required(f, 6, w, at).int32("KRB-ERROR error-code"),
        stime=required(f, 4, w, at).kerberos_time("KRB-ERROR stime"),
        susec=required(f, 5, w, at).microseconds("KRB-ERROR susec"),
        realm=required(f, 9, w, at).kerberos_string("KRB-ERROR realm"),
        sname=principal_name(required(f, 10, w, at)),
        ctime=_opt_time(f[2], "KRB-ERROR ctime"),
        cusec=None if cusec is None else cusec.microseconds("KRB-ERROR cusec"),
        crealm=None if crealm is None else crealm.kerberos_string("KRB-ERROR crealm"),
        cname=None if cname is None else principal_name(cname),
        e_text=None if e_text is None else e_text.kerberos_string("KRB-ERROR e-text"),
        e_data=None if e_data is None else e_data.octets("KRB-ERROR e-data"),
        pvno=required(f, 0, w, at).int32("KRB-ERROR pvno"),
        msg_type=msg_type,
    )


def pa_enc_ts_enc(r: Reader) -> PaEncTsEnc:
    at = r.pos
    f = r.fields(2, "PA-ENC-TS-ENC")
    pausec = f[1]
    return PaEncTsEnc(
        patimestamp=required(f, 0, "PA-ENC-TS-ENC", at).kerberos_time("PA-ENC-TS-ENC patimestamp"),
        pausec=None if pausec is None else pausec.microseconds("PA-ENC-TS-ENC pausec"),
    )


def etype_info2_entry(r: Reader) -> EtypeInfo2Entry:
    at = r.pos
    w = "ETYPE-INFO2-ENTRY"
    f = r.fields(3, w)
    salt, params = f[1], f[2]
    return EtypeInfo2Entry(
        etype=required(f, 0, w, at).int32("ETYPE-INFO2-ENTRY etype"),
        salt=None if salt is None else salt.kerberos_string("ETYPE-INFO2-ENTRY salt"),
        s2kparams=None if params is None else params.octets("ETYPE-INFO2-ENTRY s2kparams"),
    )


def etype_info2(r: Reader) -> tuple[EtypeInfo2Entry, ...]:
    return tuple([etype_info2_entry(i) for i in r.items("ETYPE-INFO2")])


def pa_pac_request(r: Reader) -> PaPacRequest:
    at = r.pos
    f = r.fields(1, "KERB-PA-PAC-REQUEST")
    return PaPacRequest(
        required(f, 0, "KERB-PA-PAC-REQUEST", at).boolean("KERB-PA-PAC-REQUEST include-pac")
    )


_KDC_DISPATCH: dict[int, Callable[[Reader], KdcReq | KdcRep | KrbError]] = {
    _APP | KRB_AS_REQ: kdc_req,
    _APP | KRB_TGS_REQ: kdc_req,
    _APP | KRB_AS_REP: kdc_rep,
    _APP | KRB_TGS_REP: kdc_rep,
    _APP | KRB_ERROR: krb_error,
}


def kdc_message(r: Reader) -> KdcReq | KdcRep | KrbError:
    """Whatever a KDC, proxy or client receives, chosen by the outer APPLICATION tag."""
    tag = r.peek_tag("KDC message")
    decoder = _KDC_DISPATCH.get(tag)
    if decoder is None:
        raise DecodeError(
            f"not a KDC message: tag 0x{tag:02x} is none of AS-REQ, TGS-REQ, AS-REP, TGS-REP, "
            "KRB-ERROR",
            r.pos,
        )
    return decoder(r)


def last_req(r: Reader) -> tuple[LastReqEntry, ...]:
    return tuple([last_req_entry(i) for i in r.items("LastReq")])
