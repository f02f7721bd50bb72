"""RFC 4120 message types as typed, immutable values.

The classes live in krb5_parts.py (building blocks), krb5_kdc_messages.py (KDC exchanges)
and krb5_ap_messages.py (AP exchange, KRB-ERROR); this module is where they are imported
from, with the SEQUENCE OF helpers and the KDC message dispatcher.

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
- Immutable by declaration: every field is `Final`, set once in an explicit `__init__`, so
  `mypy --strict` (run on every change) refuses any later assignment, and in the compiled
  build (scripts/build_compiled.py) the attributes are read-only at run time. Not
  `frozen=True`: a frozen dataclass's generated `__init__` sets each field through
  `object.__setattr__`, about 4x slower per object, and the KDC builds some forty of these
  per request (measured: 9-15% of its instructions per AS/TGS exchange). Equality and
  hashing are the dataclass's, by value; `raw` fields are not part of the value.
"""

from __future__ import annotations

from kerbfirst.wire.der import DecodeError, Reader
from kerbfirst.wire.krb5_ap_messages import ApRep, ApReq, Authenticator, EncApRepPart, KrbError
from kerbfirst.wire.krb5_kdc_messages import (
    EncKdcRepPart,
    EncTicketPart,
    KdcRep,
    KdcReq,
    KdcReqBody,
    Ticket,
)
from kerbfirst.wire.krb5_parts import (
    AuthorizationDataEntry,
    Checksum,
    EncryptedData,
    EncryptionKey,
    EtypeInfo2Entry,
    HostAddress,
    LastReqEntry,
    PaData,
    PaEncTsEnc,
    PaPacRequest,
    PrincipalName,
    TransitedEncoding,
)


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

# After the classes: the codec modules import them (see krb5_parts.py).
from kerbfirst.wire import krb5_decode as _decode  # noqa: E402
from kerbfirst.wire import krb5_encode as _encode  # noqa: E402
