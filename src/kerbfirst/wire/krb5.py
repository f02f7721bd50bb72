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
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

frozen = dataclasses.dataclass(frozen=True, slots=True)


@frozen
class PrincipalName:
    name_type: int
    name_string: tuple[str, ...]


@frozen
class HostAddress:
    addr_type: int
    address: bytes


@frozen
class EncryptionKey:
    keytype: int
    keyvalue: bytes = dataclasses.field(repr=False)  # never in logs


@frozen
class EncryptedData:
    etype: int
    kvno: int | None
    cipher: bytes


@frozen
class Checksum:
    cksumtype: int
    checksum: bytes


@frozen
class PaData:
    padata_type: int
    padata_value: bytes


@frozen
class AuthorizationDataEntry:
    ad_type: int
    ad_data: bytes


@frozen
class LastReqEntry:
    lr_type: int
    lr_value: datetime


@frozen
class TransitedEncoding:
    tr_type: int
    contents: bytes


@frozen
class Ticket:  # [APPLICATION 1]
    realm: str
    sname: PrincipalName
    enc_part: EncryptedData
    tkt_vno: int = 5
    raw: bytes | None = dataclasses.field(default=None, compare=False)  # as received


@frozen
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


@frozen
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


@frozen
class KdcReq:  # AS-REQ [APPLICATION 10] / TGS-REQ [APPLICATION 12]
    msg_type: int  # KRB_AS_REQ or KRB_TGS_REQ; also chooses the APPLICATION tag
    padata: tuple[PaData, ...] | None
    req_body: KdcReqBody
    pvno: int = 5
    raw_req_body: bytes | None = dataclasses.field(default=None, compare=False)  # as sent


@frozen
class KdcRep:  # AS-REP [APPLICATION 11] / TGS-REP [APPLICATION 13]
    msg_type: int
    padata: tuple[PaData, ...] | None
    crealm: str
    cname: PrincipalName
    ticket: Ticket
    enc_part: EncryptedData
    pvno: int = 5


@frozen
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


@frozen
class ApReq:  # [APPLICATION 14]
    ap_options: int
    ticket: Ticket
    authenticator: EncryptedData
    pvno: int = 5
    msg_type: int = 14


@frozen
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


@frozen
class ApRep:  # [APPLICATION 15]
    enc_part: EncryptedData
    pvno: int = 5
    msg_type: int = 15


@frozen
class EncApRepPart:  # [APPLICATION 27]
    ctime: datetime
    cusec: int
    subkey: EncryptionKey | None = None
    seq_number: int | None = None


@frozen
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


@frozen
class PaEncTsEnc:
    patimestamp: datetime
    pausec: int | None = None


@frozen
class EtypeInfo2Entry:
    etype: int
    salt: str | None = None
    s2kparams: bytes | None = None


@frozen
class PaPacRequest:  # MS-KILE 2.2.3 KERB-PA-PAC-REQUEST
    include_pac: bool


# Plain SEQUENCE OF types get module-level helpers in the codec:
#   encode_method_data(tuple[PaData, ...]) / decode_method_data(bytes)   (METHOD-DATA, e-data)
#   encode_etype_info2(tuple[EtypeInfo2Entry, ...]) / decode_etype_info2(bytes)
#   encode_authorization_data(...) / decode_authorization_data(bytes)
# and dispatch on the outer APPLICATION tag:
#   decode_kdc_message(bytes) -> KdcReq | KdcRep | KrbError   (for KDCs, proxies, clients)
