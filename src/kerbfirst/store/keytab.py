"""MIT keytab files, format version 0x502: encode, decode, write atomically with mode 0600.

Layout (MIT krb5 "keytab file format", doc/formats/keytab_file_format.rst), big-endian:

    keytab       := 0x05 0x02 entry*
    entry        := int32 size, then `size` bytes of record (size < 0: a hole of -size bytes
                    left by a deleted entry, skipped)
    record       := uint16 num_components, counted realm, counted component*,
                    uint32 name_type, uint32 timestamp, uint8 vno8,
                    uint16 enctype, counted key, [uint32 vno32]   (counted = uint16 length + data)

The 8-bit kvno wraps at 256; the trailing 32-bit kvno, when present and non-zero, is the
real one (MIT krb5_ktfileint_read_entry). We always write both.
"""

from __future__ import annotations

import dataclasses
import os

from kerbfirst.crypto import Key
from kerbfirst.krb.names import Principal
from kerbfirst.krb.rd_req import KeyLookup
from kerbfirst.store.binary import (
    FileFormatError,
    MitFileReader,
    bytes_text,
    counted16,
    i32,
    text_bytes,
    u8,
    u16,
    u32,
)
from kerbfirst.store.private_files import read_bounded, write_private_file

KEYTAB_VERSION = 0x0502
MAX_KEYTAB_SIZE = 16 * 1024 * 1024
MAX_ENTRY_SIZE = 64 * 1024
MAX_COMPONENTS = 32
MAX_STRING = 4096
MAX_KEY = 256


@dataclasses.dataclass(frozen=True, slots=True)
class KeytabEntry:
    principal: Principal
    timestamp: int  # seconds since the epoch, when the key was written (uint32)
    kvno: int
    etype: int
    key: bytes = dataclasses.field(repr=False)


def encode_entry(entry: KeytabEntry) -> bytes:
    p = entry.principal
    if not 0 <= entry.kvno <= 0xFFFFFFFF:
        raise ValueError(f"kvno {entry.kvno} does not fit the keytab's 32-bit field")
    if not 0 <= entry.timestamp <= 0xFFFFFFFF:
        raise ValueError(f"timestamp {entry.timestamp} does not fit the keytab's 32-bit field")
    if not 0 <= entry.etype <= 0xFFFF:
        raise ValueError(f"enctype {entry.etype} does not fit the keytab's 16-bit field")
    if len(p.components) > MAX_COMPONENTS:
        raise ValueError(f"principal {p} has more than {MAX_COMPONENTS} components")
    parts = [u16(len(p.components)), counted16(text_bytes(p.realm), "realm")]
    parts.extend(counted16(text_bytes(c), "principal component") for c in p.components)
    parts.append(u32(p.name_type & 0xFFFFFFFF))
    parts.append(u32(entry.timestamp))
    parts.append(u8(entry.kvno & 0xFF))
    parts.append(u16(entry.etype))
    parts.append(counted16(entry.key, "key"))
    parts.append(u32(entry.kvno))
    record = b"".join(parts)
    return i32(len(record)) + record


def encode_keytab(entries: list[KeytabEntry] | tuple[KeytabEntry, ...]) -> bytes:
    return u16(KEYTAB_VERSION) + b"".join(encode_entry(e) for e in entries)


def _decode_record(r: MitFileReader) -> KeytabEntry:
    count = r.u16("num_components")
    if count > MAX_COMPONENTS:
        raise FileFormatError(
            f"{r.what}: entry has {count} name components (limit {MAX_COMPONENTS})"
        )
    realm = bytes_text(r.counted16("realm", MAX_STRING))
    comps = tuple(bytes_text(r.counted16("principal component", MAX_STRING)) for _ in range(count))
    name_type = r.u32("name_type")
    timestamp = r.u32("timestamp")
    kvno = r.u8("vno8")
    etype = r.u16("enctype")
    key = r.counted16("key", MAX_KEY)
    if r.remaining() >= 4:
        vno32 = r.u32("vno32")
        if vno32:
            kvno = vno32
    # Anything after (Heimdal writes a uint32 of flags) is ignored, as MIT does.
    return KeytabEntry(Principal(comps, realm, name_type), timestamp, kvno, etype, key)


def decode_keytab(data: bytes, what: str = "keytab") -> list[KeytabEntry]:
    if len(data) > MAX_KEYTAB_SIZE:
        raise FileFormatError(f"{what}: {len(data)} bytes, larger than {MAX_KEYTAB_SIZE}")
    r = MitFileReader(data, what)
    if r.remaining() < 2:
        raise FileFormatError(f"{what}: empty or truncated file, not a keytab")
    first = r.u8("format byte")
    version = (first << 8) | r.u8("version byte")
    if first != 5:
        raise FileFormatError(f"{what}: does not start with 0x05; not an MIT-format keytab")
    if version != KEYTAB_VERSION:
        raise FileFormatError(
            f"{what}: keytab version 0x{version:04x}; only 0x0502 is supported "
            "(rewrite it with MIT ktutil: rkt, then wkt)"
        )
    entries: list[KeytabEntry] = []
    while r.remaining() > 0:
        if r.remaining() < 4:
            # MIT tolerates trailing padding shorter than a size field
            break
        size = r.i32("entry size")
        if size == 0:
            break  # MIT treats a zero size as the end of the entries
        if size < 0:
            hole = -size
            if hole > r.remaining():
                raise FileFormatError(f"{what}: hole of {hole} bytes runs past the end of the file")
            r.pos += hole
            continue
        if size > MAX_ENTRY_SIZE:
            raise FileFormatError(f"{what}: entry of {size} bytes (limit {MAX_ENTRY_SIZE})")
        if size > r.remaining():
            raise FileFormatError(
                f"{what}: entry at offset {r.pos - 4} claims {size} bytes, only "
                f"{r.remaining()} left"
            )
        sub = MitFileReader(data, what, r.pos, r.pos + size)
        entries.append(_decode_record(sub))
        r.pos += size
    return entries


def read_keytab(path: str | os.PathLike[str]) -> list[KeytabEntry]:
    data = read_bounded(path, MAX_KEYTAB_SIZE, "keytab")
    return decode_keytab(data, f"keytab {os.fspath(path)!r}")


def write_keytab(
    path: str | os.PathLike[str],
    entries: list[KeytabEntry] | tuple[KeytabEntry, ...],
    *,
    append: bool = False,
) -> None:
    """Write `entries` to `path` (mode 0600, atomic). With append, keep the existing entries.

    Appending rewrites the whole file through a temporary + rename rather than writing at
    the end in place: a crash then leaves either the old or the new keytab, never half an entry.
    """
    existing: list[KeytabEntry] = []
    if append:
        try:
            existing = read_keytab(path)
        except FileNotFoundError:
            existing = []
    write_private_file(path, encode_keytab([*existing, *entries]))


def keytab_key_lookup(path: str | os.PathLike[str]) -> KeyLookup:
    """A key lookup for Krb5Acceptor over an MIT keytab, read once now (as gss-server reads
    its -keytab): (principal, kvno, etype) -> key; kvno None picks the newest key. Of
    entries with the same principal, etype and kvno the first in the file counts."""
    entries = read_keytab(path)
    # Indexed once: the acceptor looks a key up for every AP-REQ.
    exact: dict[tuple[str, int, int], KeytabEntry] = {}
    newest: dict[tuple[str, int], KeytabEntry] = {}
    for e in entries:
        name = e.principal.unparse()
        exact.setdefault((name, e.etype, e.kvno), e)
        best = newest.get((name, e.etype))
        if best is None or e.kvno > best.kvno:
            newest[(name, e.etype)] = e
    keys: dict[tuple[str, int, int], Key] = {}

    def lookup(principal: str, kvno: int | None, etype: int) -> Key | None:
        entry = (newest.get((principal, etype)) if kvno is None
                 else exact.get((principal, etype, kvno)))
        if entry is None:
            return None
        at = (principal, etype, entry.kvno)
        key = keys.get(at)
        if key is None:
            # Key checks the length: a bad entry fails only the look-ups that reach it.
            key = keys[at] = Key(etype, entry.key)
        return key

    return lookup
