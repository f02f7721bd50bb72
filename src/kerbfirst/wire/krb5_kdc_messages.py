"""The KDC exchanges' messages (RFC 4120 5.3, 5.4): Ticket, EncTicketPart, KDC-REQ and its body,
KDC-REP and EncKDCRepPart. Part of kerbfirst.wire.krb5, whose docstring states the contract;
import them from there."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Final

from kerbfirst.wire.der import Reader

# Annotations only: a runtime import between the class modules would let the codec
# modules (imported at the bottom of each) find a sibling not yet defined.
if TYPE_CHECKING:
    from kerbfirst.wire.krb5_parts import (
        AuthorizationDataEntry,
        EncryptedData,
        EncryptionKey,
        HostAddress,
        LastReqEntry,
        PaData,
        PrincipalName,
        TransitedEncoding,
    )


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


# The codec modules import the classes above; importing them last keeps the cycle safe
# whichever module is imported first (the methods resolve `_encode`/`_decode` at call time).
from kerbfirst.wire import krb5_decode as _decode  # noqa: E402
from kerbfirst.wire import krb5_encode as _encode  # noqa: E402
