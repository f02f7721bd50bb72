"""MIT credential cache files ("FILE:" ccaches), format version 4 (0x0504).

Layout (MIT krb5 "Credential cache file format", doc/formats/ccache_file_format.rst),
big-endian throughout in version 4:

    ccache      := uint16 0x0504, uint16 header_len, tag*, principal (the default/primary),
                   credential*
    tag         := uint16 tag, uint16 len, data   (tag 1: KDC time offset, int32 seconds +
                   int32 microseconds, written when the client corrected for clock skew)
    principal   := uint32 name_type, uint32 num_components, counted realm, counted component*
    credential  := principal client, principal server, keyblock, uint32 authtime,
                   uint32 starttime, uint32 endtime, uint32 renew_till, uint8 is_skey,
                   uint32 ticket_flags, addresses, authdata, counted ticket,
                   counted second_ticket
    keyblock    := uint16 enctype, counted data;  addresses := uint32 n, (uint16 type, counted)*
    authdata    := uint32 n, (uint16 ad_type, counted)*;  counted := uint32 length + data

Times are unsigned 32-bit (MIT reads them so since the 2038 work); 0 means "absent" for
starttime and renew_till. ticket_flags is the value of the first 32 bits of the
TicketFlags BIT STRING (RFC 4120 5.3), as in wire/constants.py. MIT also stores
configuration entries (server realm "X-CACHECONF:") as credentials; we keep them.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from typing import Any, cast

from kerbfirst.krb.names import Principal
from kerbfirst.store.binary import (
    FileFormatError,
    MitFileReader,
    bytes_text,
    counted32,
    i32,
    text_bytes,
    u8,
    u16,
    u32,
)
from kerbfirst.store.private_files import read_bounded, write_private_file
from kerbfirst.wire.krb5 import AuthorizationDataEntry, EncryptionKey, HostAddress

CCACHE_VERSION = 0x0504
TAG_KDC_TIME_OFFSET = 1
CONFIG_REALM = "X-CACHECONF:"

MAX_CCACHE_SIZE = 16 * 1024 * 1024
MAX_HEADER = 1024
MAX_COMPONENTS = 32
MAX_STRING = 4096
MAX_KEY = 256
MAX_LIST = 1024
MAX_BLOB = 1024 * 1024  # a ticket with a large PAC is tens of KiB; 1 MiB is generous
MAX_CREDENTIALS = 10000

# mypy does not see through wire.krb5's `frozen = dataclasses.dataclass(...)` alias and
# rejects positional construction; these casts keep the real wire types (drop them once
# wire/krb5.py decorates with dataclass_transform).
_HostAddress = cast(Any, HostAddress)
_AuthorizationDataEntry = cast(Any, AuthorizationDataEntry)
_EncryptionKey = cast(Any, EncryptionKey)


@dataclasses.dataclass(frozen=True, slots=True)
class CcacheCredential:
    client: Principal
    server: Principal
    key: EncryptionKey  # the session key (its repr hides the key value)
    authtime: datetime
    starttime: datetime | None
    endtime: datetime
    renew_till: datetime | None
    ticket: bytes  # DER Ticket as the KDC sent it
    ticket_flags: int = 0
    is_skey: bool = False
    addresses: tuple[HostAddress, ...] = ()
    authdata: tuple[AuthorizationDataEntry, ...] = ()
    second_ticket: bytes = b""

    @property
    def is_config(self) -> bool:
        """A cache configuration entry (MIT krb5_cc_set_config), not a ticket."""
        return self.server.realm == CONFIG_REALM


@dataclasses.dataclass(frozen=True, slots=True)
class Ccache:
    primary_principal: Principal
    credentials: tuple[CcacheCredential, ...]
    kdc_time_offset: tuple[int, int] | None = None  # (seconds, microseconds)
    other_tags: tuple[tuple[int, bytes], ...] = ()  # unknown header tags, kept


def _time(value: datetime | None, field: str) -> bytes:
    if value is None:
        return u32(0)
    if value.tzinfo is None:
        raise ValueError(f"{field} must be a timezone-aware datetime (UTC)")
    seconds = int(value.timestamp())
    if not 0 <= seconds <= 0xFFFFFFFF:
        raise ValueError(f"{field} {value.isoformat()} does not fit the ccache's 32-bit time")
    return u32(seconds)


def _from_time(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _encode_principal(p: Principal) -> bytes:
    parts = [u32(p.name_type & 0xFFFFFFFF), u32(len(p.components)), counted32(text_bytes(p.realm))]
    parts.extend(counted32(text_bytes(c)) for c in p.components)
    return b"".join(parts)


def _decode_principal(r: MitFileReader, field: str) -> Principal:
    name_type = r.u32(field + " name_type")
    count = r.u32(field + " num_components")
    if count > MAX_COMPONENTS:
        raise FileFormatError(f"{r.what}: {field} has {count} components (limit {MAX_COMPONENTS})")
    realm = bytes_text(r.counted32(field + " realm", MAX_STRING))
    comps = tuple(bytes_text(r.counted32(field + " component", MAX_STRING)) for _ in range(count))
    return Principal(comps, realm, name_type)


def encode_credential(c: CcacheCredential) -> bytes:
    parts = [
        _encode_principal(c.client),
        _encode_principal(c.server),
        u16(c.key.keytype),
        counted32(c.key.keyvalue),
        _time(c.authtime, "authtime"),
        _time(c.starttime, "starttime"),
        _time(c.endtime, "endtime"),
        _time(c.renew_till, "renew_till"),
        u8(1 if c.is_skey else 0),
        u32(c.ticket_flags & 0xFFFFFFFF),
        u32(len(c.addresses)),
    ]
    for a in c.addresses:
        parts += [u16(a.addr_type), counted32(a.address)]
    parts.append(u32(len(c.authdata)))
    for ad in c.authdata:
        parts += [u16(ad.ad_type), counted32(ad.ad_data)]
    parts += [counted32(c.ticket), counted32(c.second_ticket)]
    return b"".join(parts)


def encode_ccache(cache: Ccache) -> bytes:
    tags = b""
    if cache.kdc_time_offset is not None:
        sec, usec = cache.kdc_time_offset
        tags += u16(TAG_KDC_TIME_OFFSET) + u16(8) + i32(sec) + i32(usec)
    for tag, value in cache.other_tags:
        tags += u16(tag) + u16(len(value)) + value
    out = [u16(CCACHE_VERSION), u16(len(tags)), tags, _encode_principal(cache.primary_principal)]
    out.extend(encode_credential(c) for c in cache.credentials)
    return b"".join(out)


def _decode_credential(r: MitFileReader) -> CcacheCredential:
    client = _decode_principal(r, "client")
    server = _decode_principal(r, "server")
    etype = r.u16("key enctype")
    key = r.counted32("key", MAX_KEY)
    authtime = r.u32("authtime")
    starttime = r.u32("starttime")
    endtime = r.u32("endtime")
    renew_till = r.u32("renew_till")
    is_skey = r.u8("is_skey") != 0
    flags = r.u32("ticket_flags")
    n_addr = r.u32("address count")
    if n_addr > MAX_LIST:
        raise FileFormatError(f"{r.what}: {n_addr} addresses (limit {MAX_LIST})")
    addresses = tuple(
        _HostAddress(r.u16("address type"), r.counted32("address", MAX_STRING))
        for _ in range(n_addr)
    )
    n_ad = r.u32("authdata count")
    if n_ad > MAX_LIST:
        raise FileFormatError(f"{r.what}: {n_ad} authdata elements (limit {MAX_LIST})")
    authdata = tuple(
        _AuthorizationDataEntry(r.u16("authdata type"), r.counted32("authdata", MAX_BLOB))
        for _ in range(n_ad)
    )
    ticket = r.counted32("ticket", MAX_BLOB)
    second = r.counted32("second_ticket", MAX_BLOB)
    return CcacheCredential(
        client=client,
        server=server,
        key=_EncryptionKey(etype, key),
        authtime=_from_time(authtime),
        starttime=_from_time(starttime) if starttime else None,
        endtime=_from_time(endtime),
        renew_till=_from_time(renew_till) if renew_till else None,
        ticket=ticket,
        ticket_flags=flags,
        is_skey=is_skey,
        addresses=addresses,
        authdata=authdata,
        second_ticket=second,
    )


def decode_ccache(data: bytes, what: str = "credential cache") -> Ccache:
    if len(data) > MAX_CCACHE_SIZE:
        raise FileFormatError(f"{what}: {len(data)} bytes, larger than {MAX_CCACHE_SIZE}")
    r = MitFileReader(data, what)
    version = r.u16("version")
    if version != CCACHE_VERSION:
        if version in (0x0501, 0x0502, 0x0503):
            raise FileFormatError(
                f"{what}: ccache version 0x{version:04x}; only version 4 (0x0504) is "
                "supported (MIT writes version 4 unless ccache_type is set in krb5.conf)"
            )
        raise FileFormatError(f"{what}: does not start with 0x0504; not an MIT credential cache")
    header_len = r.u16("header length")
    if header_len > MAX_HEADER:
        raise FileFormatError(f"{what}: header of {header_len} bytes (limit {MAX_HEADER})")
    header = MitFileReader(data, what + " header", r.pos, r.pos + header_len)
    if header_len > r.remaining():
        raise FileFormatError(f"{what}: header runs past the end of the file")
    r.pos += header_len
    offset: tuple[int, int] | None = None
    others: list[tuple[int, bytes]] = []
    while header.remaining() > 0:
        tag = header.u16("header tag")
        value = header.raw(header.u16("header tag length"), "header tag value")
        if tag == TAG_KDC_TIME_OFFSET:
            if len(value) != 8:
                raise FileFormatError(f"{what}: KDC time offset tag has {len(value)} bytes, not 8")
            v = MitFileReader(value, what)
            offset = (v.i32("offset seconds"), v.i32("offset microseconds"))
        else:
            others.append((tag, value))
    primary = _decode_principal(r, "default principal")
    creds: list[CcacheCredential] = []
    while r.remaining() > 0:
        if len(creds) >= MAX_CREDENTIALS:
            raise FileFormatError(f"{what}: more than {MAX_CREDENTIALS} credentials")
        creds.append(_decode_credential(r))
    return Ccache(primary, tuple(creds), offset, tuple(others))


def read_ccache(path: str | os.PathLike[str]) -> Ccache:
    data = read_bounded(path, MAX_CCACHE_SIZE, "credential cache")
    return decode_ccache(data, f"credential cache {os.fspath(path)!r}")


def write_ccache(
    path: str | os.PathLike[str],
    primary_principal: Principal,
    credentials: list[CcacheCredential] | tuple[CcacheCredential, ...],
    *,
    kdc_time_offset: tuple[int, int] | None = None,
) -> None:
    """Write a whole ccache atomically, mode 0600 (a credential cache holds session keys)."""
    cache = Ccache(primary_principal, tuple(credentials), kdc_time_offset)
    write_private_file(path, encode_ccache(cache))
