"""The building blocks of RFC 4120's messages (5.2): names, addresses, keys, encrypted data,
checksums, PA-DATA and the small SEQUENCEs inside them. Part of kerbfirst.wire.krb5, whose
docstring states the contract; import them from there."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Final

from kerbfirst.wire.der import Reader


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


# The codec modules import the classes of this module and its two siblings, which import
# nothing of each other at run time: importing the codec last, in each, lets any of the five
# modules be imported first (each class module is whole before its codec import runs; the
# methods resolve `_encode`/`_decode` at call time).
from kerbfirst.wire import krb5_decode as _decode  # noqa: E402
from kerbfirst.wire import krb5_encode as _encode  # noqa: E402
