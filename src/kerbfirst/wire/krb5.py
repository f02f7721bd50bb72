"""RFC 4120 message types as typed, immutable values.

One module for all 24 classes, past the usual ~400 lines on purpose: the mypyc-compiled
build cannot import several compiled modules that import each other in a cycle (a
segfault at import), and the classes and the codec modules need each other; one class
module and the codec form the one cycle that compiles.

CONTRACT (shared by kdc/, client/, gss/, store/): class and field names here are fixed.
Each top-level message gets `encode(self) -> bytes` (strict DER) and
`@classmethod decode(cls, data: bytes) -> Self` (bounded, lenient where real peers are,
raising kerbfirst.wire.der.DecodeError). Optional fields are None when absent.

Representation choices:
- KerberosTime is a timezone-aware UTC datetime with whole seconds (RFC 4120 5.2.3).
- KerberosFlags are ints: the big-endian value of the first 32 bits (constants.py).
- Integers that name things (etypes, padata types, error codes) stay plain ints.
- `raw` fields keep the exact bytes received for what is later checksummed or
  re-embedded (RFC 4120 5.5.1: the PA-TGS-REQ checksum covers the req-body as sent).
  `Ticket.encode()` (and every message embedding a Ticket) emits `Ticket.raw` when it is
  set, so a received ticket travels on unchanged; `dataclasses.replace` copies `raw`, so
  pass `raw=None` when changing a decoded Ticket. `KdcReq.encode()` always encodes
  `req_body` (DER is canonical); `raw_req_body` is only what was received.
- Every class here has encode()/decode(); decode takes bytes, bytearray or memoryview and
  refuses trailing bytes. The codec lives in der.py, krb5_encode.py and krb5_decode.py.
- Times must be timezone-aware; encode drops sub-second parts. Encode errors are
  der.EncodeError (a ValueError).
- Immutable by declaration: every field is `Final`, set once in an explicit `__init__`, so
  `mypy --strict` (run on every change) refuses any later assignment, and in the compiled
  build (scripts/build_compiled.py) the attributes are read-only at run time. Not
  `frozen=True`: a frozen dataclass's generated `__init__` sets each field through
  `object.__setattr__`, several times slower per object, and the KDC builds some forty of
  these per request (bench/kdc_icount.py counts the cost). Equality and
  hashing are the dataclass's, by value; `raw` fields are not part of the value.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Final

from kerbfirst.wire.der import DecodeError, Reader


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class PrincipalName:
    name_type: Final[int]
    name_string: Final[tuple[str, ...]]

    def __init__(self, name_type: int, name_string: tuple[str, ...]) -> None:
        self.name_type = name_type
        self.name_string = name_string

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.principal_name(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> PrincipalName:
        """Decode exactly one PrincipalName; raises DecodeError."""
        return _decode.principal_name(Reader.top(data, "PrincipalName"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class HostAddress:
    addr_type: Final[int]
    address: Final[bytes]

    def __init__(self, addr_type: int, address: bytes) -> None:
        self.addr_type = addr_type
        self.address = address

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.host_address(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> HostAddress:
        """Decode exactly one HostAddress; raises DecodeError."""
        return _decode.host_address(Reader.top(data, "HostAddress"))


@dataclasses.dataclass(slots=True, init=False, repr=False, unsafe_hash=True)
class EncryptionKey:
    keytype: Final[int]
    keyvalue: Final[bytes]  # never in logs

    def __init__(self, keytype: int, keyvalue: bytes) -> None:
        self.keytype = keytype
        self.keyvalue = keyvalue

    def __repr__(self) -> str:
        # keyvalue: never in logs or tracebacks
        return f"EncryptionKey(keytype={self.keytype!r})"

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.encryption_key(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncryptionKey:
        """Decode exactly one EncryptionKey; raises DecodeError."""
        return _decode.encryption_key(Reader.top(data, "EncryptionKey"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class EncryptedData:
    etype: Final[int]
    kvno: Final[int | None]
    cipher: Final[bytes]

    def __init__(self, etype: int, kvno: int | None, cipher: bytes) -> None:
        self.etype = etype
        self.kvno = kvno
        self.cipher = cipher

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.encrypted_data(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncryptedData:
        """Decode exactly one EncryptedData; raises DecodeError."""
        return _decode.encrypted_data(Reader.top(data, "EncryptedData"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class Checksum:
    cksumtype: Final[int]
    checksum: Final[bytes]

    def __init__(self, cksumtype: int, checksum: bytes) -> None:
        self.cksumtype = cksumtype
        self.checksum = checksum

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.checksum(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Checksum:
        """Decode exactly one Checksum; raises DecodeError."""
        return _decode.checksum(Reader.top(data, "Checksum"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class PaData:
    padata_type: Final[int]
    padata_value: Final[bytes]

    def __init__(self, padata_type: int, padata_value: bytes) -> None:
        self.padata_type = padata_type
        self.padata_value = padata_value

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.pa_data(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> PaData:
        """Decode exactly one PA-DATA; raises DecodeError."""
        return _decode.pa_data(Reader.top(data, "PA-DATA"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class AuthorizationDataEntry:
    ad_type: Final[int]
    ad_data: Final[bytes]

    def __init__(self, ad_type: int, ad_data: bytes) -> None:
        self.ad_type = ad_type
        self.ad_data = ad_data

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.authorization_data_entry(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> AuthorizationDataEntry:
        """Decode exactly one AuthorizationData entry; raises DecodeError."""
        return _decode.authorization_data_entry(Reader.top(data, "AuthorizationData entry"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class LastReqEntry:
    lr_type: Final[int]
    lr_value: Final[datetime]

    def __init__(self, lr_type: int, lr_value: datetime) -> None:
        self.lr_type = lr_type
        self.lr_value = lr_value

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.last_req_entry(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> LastReqEntry:
        """Decode exactly one LastReq entry; raises DecodeError."""
        return _decode.last_req_entry(Reader.top(data, "LastReq entry"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class TransitedEncoding:
    tr_type: Final[int]
    contents: Final[bytes]

    def __init__(self, tr_type: int, contents: bytes) -> None:
        self.tr_type = tr_type
        self.contents = contents

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.transited_encoding(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> TransitedEncoding:
        """Decode exactly one TransitedEncoding; raises DecodeError."""
        return _decode.transited_encoding(Reader.top(data, "TransitedEncoding"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class PaEncTsEnc:
    patimestamp: Final[datetime]
    pausec: Final[int | None]

    def __init__(self, patimestamp: datetime, pausec: int | None = None) -> None:
        self.patimestamp = patimestamp
        self.pausec = pausec

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.pa_enc_ts_enc(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> PaEncTsEnc:
        """Decode exactly one PA-ENC-TS-ENC; raises DecodeError."""
        return _decode.pa_enc_ts_enc(Reader.top(data, "PA-ENC-TS-ENC"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class EtypeInfo2Entry:
    etype: Final[int]
    salt: Final[str | None]
    s2kparams: Final[bytes | None]

    def __init__(self, etype: int, salt: str | None = None, s2kparams: bytes | None = None) -> None:
        self.etype = etype
        self.salt = salt
        self.s2kparams = s2kparams

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.etype_info2_entry(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EtypeInfo2Entry:
        """Decode exactly one ETYPE-INFO2-ENTRY; raises DecodeError."""
        return _decode.etype_info2_entry(Reader.top(data, "ETYPE-INFO2-ENTRY"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class PaPacRequest:  # MS-KILE 2.2.3 KERB-PA-PAC-REQUEST
    include_pac: Final[bool]

    def __init__(self, include_pac: bool) -> None:
        self.include_pac = include_pac

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.pa_pac_request(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> PaPacRequest:
        """Decode exactly one KERB-PA-PAC-REQUEST; raises DecodeError."""
        return _decode.pa_pac_request(Reader.top(data, "KERB-PA-PAC-REQUEST"))


@dataclasses.dataclass(slots=True, init=False, eq=False)
class Ticket:  # [APPLICATION 1]
    realm: Final[str]
    sname: Final[PrincipalName]
    enc_part: Final[EncryptedData]
    tkt_vno: Final[int]
    raw: Final[bytes | None]  # as received

    def __init__(
        self,
        realm: str,
        sname: PrincipalName,
        enc_part: EncryptedData,
        tkt_vno: int = 5,
        raw: bytes | None = None,
    ) -> None:
        self.realm = realm
        self.sname = sname
        self.enc_part = enc_part
        self.tkt_vno = tkt_vno
        self.raw = raw

    def _key(self) -> tuple[object, ...]:
        # raw is not part of the value: a decoded message equals one built in code
        return (self.realm, self.sname, self.enc_part, self.tkt_vno)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Ticket):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.ticket(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Ticket:
        """Decode exactly one Ticket; raises DecodeError."""
        return _decode.ticket(Reader.top(data, "Ticket"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class EncTicketPart:  # [APPLICATION 3]
    flags: Final[int]
    key: Final[EncryptionKey]
    crealm: Final[str]
    cname: Final[PrincipalName]
    transited: Final[TransitedEncoding]
    authtime: Final[datetime]
    starttime: Final[datetime | None]
    endtime: Final[datetime]
    renew_till: Final[datetime | None]
    caddr: Final[tuple[HostAddress, ...] | None]
    authorization_data: Final[tuple[AuthorizationDataEntry, ...] | None]

    def __init__(
        self,
        flags: int,
        key: EncryptionKey,
        crealm: str,
        cname: PrincipalName,
        transited: TransitedEncoding,
        authtime: datetime,
        starttime: datetime | None,
        endtime: datetime,
        renew_till: datetime | None,
        caddr: tuple[HostAddress, ...] | None = None,
        authorization_data: tuple[AuthorizationDataEntry, ...] | None = None,
    ) -> None:
        self.flags = flags
        self.key = key
        self.crealm = crealm
        self.cname = cname
        self.transited = transited
        self.authtime = authtime
        self.starttime = starttime
        self.endtime = endtime
        self.renew_till = renew_till
        self.caddr = caddr
        self.authorization_data = authorization_data

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.enc_ticket_part(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncTicketPart:
        """Decode exactly one EncTicketPart; raises DecodeError."""
        return _decode.enc_ticket_part(Reader.top(data, "EncTicketPart"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class KdcReqBody:
    kdc_options: Final[int]
    cname: Final[PrincipalName | None]
    realm: Final[str]
    sname: Final[PrincipalName | None]
    from_: Final[datetime | None]
    till: Final[datetime | None]  # REQUIRED in RFC 4120; MIT sends it, Windows may send far future
    rtime: Final[datetime | None]
    nonce: Final[int]  # UInt32
    etype: Final[tuple[int, ...]]  # in the client's order of preference
    addresses: Final[tuple[HostAddress, ...] | None]
    enc_authorization_data: Final[EncryptedData | None]
    additional_tickets: Final[tuple[Ticket, ...] | None]

    def __init__(
        self,
        kdc_options: int,
        cname: PrincipalName | None,
        realm: str,
        sname: PrincipalName | None,
        from_: datetime | None,
        till: datetime | None,
        rtime: datetime | None,
        nonce: int,
        etype: tuple[int, ...],
        addresses: tuple[HostAddress, ...] | None = None,
        enc_authorization_data: EncryptedData | None = None,
        additional_tickets: tuple[Ticket, ...] | None = None,
    ) -> None:
        self.kdc_options = kdc_options
        self.cname = cname
        self.realm = realm
        self.sname = sname
        self.from_ = from_
        self.till = till
        self.rtime = rtime
        self.nonce = nonce
        self.etype = etype
        self.addresses = addresses
        self.enc_authorization_data = enc_authorization_data
        self.additional_tickets = additional_tickets

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.kdc_req_body(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> KdcReqBody:
        """Decode exactly one KDC-REQ-BODY; raises DecodeError."""
        return _decode.kdc_req_body(Reader.top(data, "KDC-REQ-BODY"))


@dataclasses.dataclass(slots=True, init=False, eq=False)
class KdcReq:  # AS-REQ [APPLICATION 10] / TGS-REQ [APPLICATION 12]
    msg_type: Final[int]  # KRB_AS_REQ or KRB_TGS_REQ; also chooses the APPLICATION tag
    padata: Final[tuple[PaData, ...] | None]
    req_body: Final[KdcReqBody]
    pvno: Final[int]
    raw_req_body: Final[bytes | None]  # as sent

    def __init__(
        self,
        msg_type: int,
        padata: tuple[PaData, ...] | None,
        req_body: KdcReqBody,
        pvno: int = 5,
        raw_req_body: bytes | None = None,
    ) -> None:
        self.msg_type = msg_type
        self.padata = padata
        self.req_body = req_body
        self.pvno = pvno
        self.raw_req_body = raw_req_body

    def _key(self) -> tuple[object, ...]:
        # raw_req_body is not part of the value: a decoded message equals one built in code
        return (self.msg_type, self.padata, self.req_body, self.pvno)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, KdcReq):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.kdc_req(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> KdcReq:
        """Decode exactly one KDC-REQ; raises DecodeError."""
        return _decode.kdc_req(Reader.top(data, "KDC-REQ"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class KdcRep:  # AS-REP [APPLICATION 11] / TGS-REP [APPLICATION 13]
    msg_type: Final[int]
    padata: Final[tuple[PaData, ...] | None]
    crealm: Final[str]
    cname: Final[PrincipalName]
    ticket: Final[Ticket]
    enc_part: Final[EncryptedData]
    pvno: Final[int]

    def __init__(
        self,
        msg_type: int,
        padata: tuple[PaData, ...] | None,
        crealm: str,
        cname: PrincipalName,
        ticket: Ticket,
        enc_part: EncryptedData,
        pvno: int = 5,
    ) -> None:
        self.msg_type = msg_type
        self.padata = padata
        self.crealm = crealm
        self.cname = cname
        self.ticket = ticket
        self.enc_part = enc_part
        self.pvno = pvno

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.kdc_rep(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> KdcRep:
        """Decode exactly one KDC-REP; raises DecodeError."""
        return _decode.kdc_rep(Reader.top(data, "KDC-REP"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class EncKdcRepPart:  # EncASRepPart [APPLICATION 25] / EncTGSRepPart [APPLICATION 26]
    key: Final[EncryptionKey]
    last_req: Final[tuple[LastReqEntry, ...]]
    nonce: Final[int]
    key_expiration: Final[datetime | None]
    flags: Final[int]
    authtime: Final[datetime]
    starttime: Final[datetime | None]
    endtime: Final[datetime]
    renew_till: Final[datetime | None]
    srealm: Final[str]
    sname: Final[PrincipalName]
    caddr: Final[tuple[HostAddress, ...] | None]
    encrypted_pa_data: Final[tuple[PaData, ...] | None]  # RFC 6806 [12]
    app_tag: Final[int]  # 25 or 26; MIT's client accepts either for both replies

    def __init__(
        self,
        key: EncryptionKey,
        last_req: tuple[LastReqEntry, ...],
        nonce: int,
        key_expiration: datetime | None,
        flags: int,
        authtime: datetime,
        starttime: datetime | None,
        endtime: datetime,
        renew_till: datetime | None,
        srealm: str,
        sname: PrincipalName,
        caddr: tuple[HostAddress, ...] | None = None,
        encrypted_pa_data: tuple[PaData, ...] | None = None,
        app_tag: int = 25,
    ) -> None:
        self.key = key
        self.last_req = last_req
        self.nonce = nonce
        self.key_expiration = key_expiration
        self.flags = flags
        self.authtime = authtime
        self.starttime = starttime
        self.endtime = endtime
        self.renew_till = renew_till
        self.srealm = srealm
        self.sname = sname
        self.caddr = caddr
        self.encrypted_pa_data = encrypted_pa_data
        self.app_tag = app_tag

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.enc_kdc_rep_part(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncKdcRepPart:
        """Decode exactly one EncKDCRepPart; raises DecodeError."""
        return _decode.enc_kdc_rep_part(Reader.top(data, "EncKDCRepPart"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class ApReq:  # [APPLICATION 14]
    ap_options: Final[int]
    ticket: Final[Ticket]
    authenticator: Final[EncryptedData]
    pvno: Final[int]
    msg_type: Final[int]

    def __init__(
        self,
        ap_options: int,
        ticket: Ticket,
        authenticator: EncryptedData,
        pvno: int = 5,
        msg_type: int = 14,
    ) -> None:
        self.ap_options = ap_options
        self.ticket = ticket
        self.authenticator = authenticator
        self.pvno = pvno
        self.msg_type = msg_type

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.ap_req(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> ApReq:
        """Decode exactly one AP-REQ; raises DecodeError."""
        return _decode.ap_req(Reader.top(data, "AP-REQ"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class Authenticator:  # [APPLICATION 2]
    crealm: Final[str]
    cname: Final[PrincipalName]
    cusec: Final[int]
    ctime: Final[datetime]
    cksum: Final[Checksum | None]
    subkey: Final[EncryptionKey | None]
    seq_number: Final[int | None]
    authorization_data: Final[tuple[AuthorizationDataEntry, ...] | None]
    authenticator_vno: Final[int]

    def __init__(
        self,
        crealm: str,
        cname: PrincipalName,
        cusec: int,
        ctime: datetime,
        cksum: Checksum | None = None,
        subkey: EncryptionKey | None = None,
        seq_number: int | None = None,
        authorization_data: tuple[AuthorizationDataEntry, ...] | None = None,
        authenticator_vno: int = 5,
    ) -> None:
        self.crealm = crealm
        self.cname = cname
        self.cusec = cusec
        self.ctime = ctime
        self.cksum = cksum
        self.subkey = subkey
        self.seq_number = seq_number
        self.authorization_data = authorization_data
        self.authenticator_vno = authenticator_vno

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.authenticator(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Authenticator:
        """Decode exactly one Authenticator; raises DecodeError."""
        return _decode.authenticator(Reader.top(data, "Authenticator"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class ApRep:  # [APPLICATION 15]
    enc_part: Final[EncryptedData]
    pvno: Final[int]
    msg_type: Final[int]

    def __init__(self, enc_part: EncryptedData, pvno: int = 5, msg_type: int = 15) -> None:
        self.enc_part = enc_part
        self.pvno = pvno
        self.msg_type = msg_type

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.ap_rep(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> ApRep:
        """Decode exactly one AP-REP; raises DecodeError."""
        return _decode.ap_rep(Reader.top(data, "AP-REP"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class EncApRepPart:  # [APPLICATION 27]
    ctime: Final[datetime]
    cusec: Final[int]
    subkey: Final[EncryptionKey | None]
    seq_number: Final[int | None]

    def __init__(
        self,
        ctime: datetime,
        cusec: int,
        subkey: EncryptionKey | None = None,
        seq_number: int | None = None,
    ) -> None:
        self.ctime = ctime
        self.cusec = cusec
        self.subkey = subkey
        self.seq_number = seq_number

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.enc_ap_rep_part(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncApRepPart:
        """Decode exactly one EncAPRepPart; raises DecodeError."""
        return _decode.enc_ap_rep_part(Reader.top(data, "EncAPRepPart"))


@dataclasses.dataclass(slots=True, init=False, unsafe_hash=True)
class KrbError:  # [APPLICATION 30]
    error_code: Final[int]
    stime: Final[datetime]
    susec: Final[int]
    realm: Final[str]
    sname: Final[PrincipalName]
    ctime: Final[datetime | None]
    cusec: Final[int | None]
    crealm: Final[str | None]
    cname: Final[PrincipalName | None]
    e_text: Final[str | None]
    e_data: Final[bytes | None]
    pvno: Final[int]
    msg_type: Final[int]

    def __init__(
        self,
        error_code: int,
        stime: datetime,
        susec: int,
        realm: str,
        sname: PrincipalName,
        ctime: datetime | None = None,
        cusec: int | None = None,
        crealm: str | None = None,
        cname: PrincipalName | None = None,
        e_text: str | None = None,
        e_data: bytes | None = None,
        pvno: int = 5,
        msg_type: int = 30,
    ) -> None:
        self.error_code = error_code
        self.stime = stime
        self.susec = susec
        self.realm = realm
        self.sname = sname
        self.ctime = ctime
        self.cusec = cusec
        self.crealm = crealm
        self.cname = cname
        self.e_text = e_text
        self.e_data = e_data
        self.pvno = pvno
        self.msg_type = msg_type

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.krb_error(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> KrbError:
        """Decode exactly one KRB-ERROR; raises DecodeError."""
        return _decode.krb_error(Reader.top(data, "KRB-ERROR"))


# Plain SEQUENCE OF types (RFC 4120 5.2.7, 5.2.6, RFC 4120 e-data) and the dispatcher.
def encode_method_data(padata: tuple[PaData, ...]) -> bytes:
    """METHOD-DATA ::= SEQUENCE OF PA-DATA (also the e-data of KDC_ERR_PREAUTH_REQUIRED)."""
    return _encode.method_data(padata)


def decode_method_data(data: bytes | bytearray | memoryview) -> tuple[PaData, ...]:
    return _decode.method_data(Reader.top(data, "METHOD-DATA"))


def encode_etype_info2(entries: tuple[EtypeInfo2Entry, ...]) -> bytes:
    """ETYPE-INFO2 ::= SEQUENCE SIZE (1..MAX) OF ETYPE-INFO2-ENTRY (RFC 4120 5.2.7.5)."""
    return _encode.etype_info2(entries)


def decode_etype_info2(data: bytes | bytearray | memoryview) -> tuple[EtypeInfo2Entry, ...]:
    return _decode.etype_info2(Reader.top(data, "ETYPE-INFO2"))


def encode_authorization_data(entries: tuple[AuthorizationDataEntry, ...]) -> bytes:
    """AuthorizationData ::= SEQUENCE OF SEQUENCE {ad-type, ad-data} (RFC 4120 5.2.6)."""
    return _encode.authorization_data(entries)


def decode_authorization_data(
    data: bytes | bytearray | memoryview,
) -> tuple[AuthorizationDataEntry, ...]:
    return _decode.authorization_data(Reader.top(data, "AuthorizationData"))


def encode_host_addresses(addresses: tuple[HostAddress, ...]) -> bytes:
    return _encode.host_addresses(addresses)


def decode_host_addresses(data: bytes | bytearray | memoryview) -> tuple[HostAddress, ...]:
    return _decode.host_addresses(Reader.top(data, "HostAddresses"))


def encode_last_req(entries: tuple[LastReqEntry, ...]) -> bytes:
    return _encode.last_req(entries)


def decode_last_req(data: bytes | bytearray | memoryview) -> tuple[LastReqEntry, ...]:
    return _decode.last_req(Reader.top(data, "LastReq"))


def decode_kdc_message(data: bytes | bytearray | memoryview) -> KdcReq | KdcRep | KrbError:
    """AS-REQ/TGS-REQ, AS-REP/TGS-REP or KRB-ERROR, chosen by the outer APPLICATION tag."""
    return _decode.kdc_message(Reader.top(data, "KDC message"))


__all__ = [
    "ApRep",
    "ApReq",
    "Authenticator",
    "AuthorizationDataEntry",
    "Checksum",
    "DecodeError",
    "EncApRepPart",
    "EncKdcRepPart",
    "EncTicketPart",
    "EncryptedData",
    "EncryptionKey",
    "EtypeInfo2Entry",
    "HostAddress",
    "KdcRep",
    "KdcReq",
    "KdcReqBody",
    "KrbError",
    "LastReqEntry",
    "PaData",
    "PaEncTsEnc",
    "PaPacRequest",
    "PrincipalName",
    "Ticket",
    "TransitedEncoding",
    "decode_authorization_data",
    "decode_etype_info2",
    "decode_host_addresses",
    "decode_kdc_message",
    "decode_last_req",
    "decode_method_data",
    "encode_authorization_data",
    "encode_etype_info2",
    "encode_host_addresses",
    "encode_last_req",
    "encode_method_data",
]

# The codec modules import the classes above; importing them last keeps the cycle safe
# whichever module is imported first (the methods resolve `_encode`/`_decode` at call time).
from kerbfirst.wire import krb5_decode as _decode  # noqa: E402
from kerbfirst.wire import krb5_encode as _encode  # noqa: E402
