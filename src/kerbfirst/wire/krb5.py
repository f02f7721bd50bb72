"""RFC 4120 message types as typed, immutable values.

CONTRACT (shared by kdc/, client/, gss/, store/): class and field names here are fixed.
Each top-level message gets `encode(self) -> bytes` (strict DER) and
`@classmethod decode(cls, data: bytes) -> Self` (bounded, lenient where real peers are,
raising kerbfirst.wire.der.DecodeError). Optional fields are None when absent.

Representation choices:
- KerberosTime is a timezone-aware UTC datetime with whole seconds (RFC 4120 5.2.3).
- KerberosFlags are ints: the big-endian value of the first 32 bits (constants.py).
- Integers that name things (etypes, padata types, error codes) stay plain ints.
- `raw` fields keep the exact bytes received for what is later checksummed or
  re-embedded (DESIGN.md: the PA-TGS-REQ checksum covers the req-body as sent).
  `Ticket.encode()` (and every message embedding a Ticket) emits `Ticket.raw` when it is
  set, so a received ticket travels on unchanged; `dataclasses.replace` copies `raw`, so
  pass `raw=None` when changing a decoded Ticket. `KdcReq.encode()` always encodes
  `req_body` (DER is canonical); `raw_req_body` is only what was received.
- Every class here has encode()/decode(); decode takes bytes, bytearray or memoryview and
  refuses trailing bytes. The codec lives in der.py, krb5_encode.py and krb5_decode.py.
- Times must be timezone-aware; encode drops sub-second parts. Encode errors are
  der.EncodeError (a ValueError).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

from kerbfirst.wire.der import DecodeError, Reader

# Spelled out on each class (not through an alias) so that mypy sees the dataclasses.
frozen = dataclasses.dataclass(frozen=True, slots=True)


@dataclasses.dataclass(frozen=True, slots=True)
class PrincipalName:
    name_type: int
    name_string: tuple[str, ...]

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.principal_name(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> PrincipalName:
        """Decode exactly one PrincipalName; raises DecodeError."""
        return _decode.principal_name(Reader.top(data, "PrincipalName"))


@dataclasses.dataclass(frozen=True, slots=True)
class HostAddress:
    addr_type: int
    address: bytes

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.host_address(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> HostAddress:
        """Decode exactly one HostAddress; raises DecodeError."""
        return _decode.host_address(Reader.top(data, "HostAddress"))


@dataclasses.dataclass(frozen=True, slots=True)
class EncryptionKey:
    keytype: int
    keyvalue: bytes = dataclasses.field(repr=False)  # never in logs

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.encryption_key(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncryptionKey:
        """Decode exactly one EncryptionKey; raises DecodeError."""
        return _decode.encryption_key(Reader.top(data, "EncryptionKey"))


@dataclasses.dataclass(frozen=True, slots=True)
class EncryptedData:
    etype: int
    kvno: int | None
    cipher: bytes

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.encrypted_data(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncryptedData:
        """Decode exactly one EncryptedData; raises DecodeError."""
        return _decode.encrypted_data(Reader.top(data, "EncryptedData"))


@dataclasses.dataclass(frozen=True, slots=True)
class Checksum:
    cksumtype: int
    checksum: bytes

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.checksum(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Checksum:
        """Decode exactly one Checksum; raises DecodeError."""
        return _decode.checksum(Reader.top(data, "Checksum"))


@dataclasses.dataclass(frozen=True, slots=True)
class PaData:
    padata_type: int
    padata_value: bytes

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.pa_data(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> PaData:
        """Decode exactly one PA-DATA; raises DecodeError."""
        return _decode.pa_data(Reader.top(data, "PA-DATA"))


@dataclasses.dataclass(frozen=True, slots=True)
class AuthorizationDataEntry:
    ad_type: int
    ad_data: bytes

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.authorization_data_entry(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> AuthorizationDataEntry:
        """Decode exactly one AuthorizationData entry; raises DecodeError."""
        return _decode.authorization_data_entry(Reader.top(data, "AuthorizationData entry"))


@dataclasses.dataclass(frozen=True, slots=True)
class LastReqEntry:
    lr_type: int
    lr_value: datetime

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.last_req_entry(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> LastReqEntry:
        """Decode exactly one LastReq entry; raises DecodeError."""
        return _decode.last_req_entry(Reader.top(data, "LastReq entry"))


@dataclasses.dataclass(frozen=True, slots=True)
class TransitedEncoding:
    tr_type: int
    contents: bytes

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.transited_encoding(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> TransitedEncoding:
        """Decode exactly one TransitedEncoding; raises DecodeError."""
        return _decode.transited_encoding(Reader.top(data, "TransitedEncoding"))


@dataclasses.dataclass(frozen=True, slots=True)
class Ticket:  # [APPLICATION 1]
    realm: str
    sname: PrincipalName
    enc_part: EncryptedData
    tkt_vno: int = 5
    raw: bytes | None = dataclasses.field(default=None, compare=False)  # as received

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.ticket(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Ticket:
        """Decode exactly one Ticket; raises DecodeError."""
        return _decode.ticket(Reader.top(data, "Ticket"))


@dataclasses.dataclass(frozen=True, slots=True)
class EncTicketPart:  # [APPLICATION 3]
    flags: int
    key: EncryptionKey
    crealm: str
    cname: PrincipalName
    transited: TransitedEncoding
    authtime: datetime
    starttime: datetime | None
    endtime: datetime
    renew_till: datetime | None
    caddr: tuple[HostAddress, ...] | None = None
    authorization_data: tuple[AuthorizationDataEntry, ...] | None = None

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.enc_ticket_part(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncTicketPart:
        """Decode exactly one EncTicketPart; raises DecodeError."""
        return _decode.enc_ticket_part(Reader.top(data, "EncTicketPart"))


@dataclasses.dataclass(frozen=True, slots=True)
class KdcReqBody:
    kdc_options: int
    cname: PrincipalName | None
    realm: str
    sname: PrincipalName | None
    from_: datetime | None
    till: datetime | None  # REQUIRED in RFC 4120; MIT sends it, Windows may send far future
    rtime: datetime | None
    nonce: int  # UInt32
    etype: tuple[int, ...]  # in the client's order of preference
    addresses: tuple[HostAddress, ...] | None = None
    enc_authorization_data: EncryptedData | None = None
    additional_tickets: tuple[Ticket, ...] | None = None

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.kdc_req_body(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> KdcReqBody:
        """Decode exactly one KDC-REQ-BODY; raises DecodeError."""
        return _decode.kdc_req_body(Reader.top(data, "KDC-REQ-BODY"))


@dataclasses.dataclass(frozen=True, slots=True)
class KdcReq:  # AS-REQ [APPLICATION 10] / TGS-REQ [APPLICATION 12]
    msg_type: int  # KRB_AS_REQ or KRB_TGS_REQ; also chooses the APPLICATION tag
    padata: tuple[PaData, ...] | None
    req_body: KdcReqBody
    pvno: int = 5
    raw_req_body: bytes | None = dataclasses.field(default=None, compare=False)  # as sent

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.kdc_req(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> KdcReq:
        """Decode exactly one KDC-REQ; raises DecodeError."""
        return _decode.kdc_req(Reader.top(data, "KDC-REQ"))


@dataclasses.dataclass(frozen=True, slots=True)
class KdcRep:  # AS-REP [APPLICATION 11] / TGS-REP [APPLICATION 13]
    msg_type: int
    padata: tuple[PaData, ...] | None
    crealm: str
    cname: PrincipalName
    ticket: Ticket
    enc_part: EncryptedData
    pvno: int = 5

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.kdc_rep(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> KdcRep:
        """Decode exactly one KDC-REP; raises DecodeError."""
        return _decode.kdc_rep(Reader.top(data, "KDC-REP"))


@dataclasses.dataclass(frozen=True, slots=True)
class EncKdcRepPart:  # EncASRepPart [APPLICATION 25] / EncTGSRepPart [APPLICATION 26]
    key: EncryptionKey
    last_req: tuple[LastReqEntry, ...]
    nonce: int
    key_expiration: datetime | None
    flags: int
    authtime: datetime
    starttime: datetime | None
    endtime: datetime
    renew_till: datetime | None
    srealm: str
    sname: PrincipalName
    caddr: tuple[HostAddress, ...] | None = None
    encrypted_pa_data: tuple[PaData, ...] | None = None  # RFC 6806 [12]
    app_tag: int = 25  # 25 or 26; MIT's client accepts either for both replies

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.enc_kdc_rep_part(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncKdcRepPart:
        """Decode exactly one EncKDCRepPart; raises DecodeError."""
        return _decode.enc_kdc_rep_part(Reader.top(data, "EncKDCRepPart"))


@dataclasses.dataclass(frozen=True, slots=True)
class ApReq:  # [APPLICATION 14]
    ap_options: int
    ticket: Ticket
    authenticator: EncryptedData
    pvno: int = 5
    msg_type: int = 14

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.ap_req(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> ApReq:
        """Decode exactly one AP-REQ; raises DecodeError."""
        return _decode.ap_req(Reader.top(data, "AP-REQ"))


@dataclasses.dataclass(frozen=True, slots=True)
class Authenticator:  # [APPLICATION 2]
    crealm: str
    cname: PrincipalName
    cusec: int
    ctime: datetime
    cksum: Checksum | None = None
    subkey: EncryptionKey | None = None
    seq_number: int | None = None
    authorization_data: tuple[AuthorizationDataEntry, ...] | None = None
    authenticator_vno: int = 5

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.authenticator(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> Authenticator:
        """Decode exactly one Authenticator; raises DecodeError."""
        return _decode.authenticator(Reader.top(data, "Authenticator"))


@dataclasses.dataclass(frozen=True, slots=True)
class ApRep:  # [APPLICATION 15]
    enc_part: EncryptedData
    pvno: int = 5
    msg_type: int = 15

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.ap_rep(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> ApRep:
        """Decode exactly one AP-REP; raises DecodeError."""
        return _decode.ap_rep(Reader.top(data, "AP-REP"))


@dataclasses.dataclass(frozen=True, slots=True)
class EncApRepPart:  # [APPLICATION 27]
    ctime: datetime
    cusec: int
    subkey: EncryptionKey | None = None
    seq_number: int | None = None

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.enc_ap_rep_part(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EncApRepPart:
        """Decode exactly one EncAPRepPart; raises DecodeError."""
        return _decode.enc_ap_rep_part(Reader.top(data, "EncAPRepPart"))


@dataclasses.dataclass(frozen=True, slots=True)
class KrbError:  # [APPLICATION 30]
    error_code: int
    stime: datetime
    susec: int
    realm: str
    sname: PrincipalName
    ctime: datetime | None = None
    cusec: int | None = None
    crealm: str | None = None
    cname: PrincipalName | None = None
    e_text: str | None = None
    e_data: bytes | None = None
    pvno: int = 5
    msg_type: int = 30

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.krb_error(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> KrbError:
        """Decode exactly one KRB-ERROR; raises DecodeError."""
        return _decode.krb_error(Reader.top(data, "KRB-ERROR"))


@dataclasses.dataclass(frozen=True, slots=True)
class PaEncTsEnc:
    patimestamp: datetime
    pausec: int | None = None

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.pa_enc_ts_enc(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> PaEncTsEnc:
        """Decode exactly one PA-ENC-TS-ENC; raises DecodeError."""
        return _decode.pa_enc_ts_enc(Reader.top(data, "PA-ENC-TS-ENC"))


@dataclasses.dataclass(frozen=True, slots=True)
class EtypeInfo2Entry:
    etype: int
    salt: str | None = None
    s2kparams: bytes | None = None

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.etype_info2_entry(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> EtypeInfo2Entry:
        """Decode exactly one ETYPE-INFO2-ENTRY; raises DecodeError."""
        return _decode.etype_info2_entry(Reader.top(data, "ETYPE-INFO2-ENTRY"))


@dataclasses.dataclass(frozen=True, slots=True)
class PaPacRequest:  # MS-KILE 2.2.3 KERB-PA-PAC-REQUEST
    include_pac: bool

    def encode(self) -> bytes:
        """DER encoding (RFC 4120 section 5)."""
        return _encode.pa_pac_request(self)

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> PaPacRequest:
        """Decode exactly one KERB-PA-PAC-REQUEST; raises DecodeError."""
        return _decode.pa_pac_request(Reader.top(data, "KERB-PA-PAC-REQUEST"))


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
