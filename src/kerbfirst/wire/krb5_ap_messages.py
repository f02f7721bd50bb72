"""The client/server messages (RFC 4120 5.5, 5.9.1): AP-REQ, Authenticator, AP-REP,
EncAPRepPart and KRB-ERROR. Part of kerbfirst.wire.krb5, whose docstring states the contract;
import them from there."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import TYPE_CHECKING, Final

from kerbfirst.wire.der import Reader

# Annotations only: a runtime import between the class modules would let the codec
# modules (imported at the bottom of each) find a sibling not yet defined.
if TYPE_CHECKING:
    from kerbfirst.wire.krb5_kdc_messages import Ticket
    from kerbfirst.wire.krb5_parts import (
        AuthorizationDataEntry,
        Checksum,
        EncryptedData,
        EncryptionKey,
        PrincipalName,
    )


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


# The codec modules import the classes above; importing them last keeps the cycle safe
# whichever module is imported first (the methods resolve `_encode`/`_decode` at call time).
from kerbfirst.wire import krb5_decode as _decode  # noqa: E402
from kerbfirst.wire import krb5_encode as _encode  # noqa: E402
