"""Interop with MIT krb5: keys MIT's ktutil derives from passwords must equal ours.

ktutil's `addent -password` runs MIT's krb5_c_string_to_key with the default salt (realm
followed by the name components) and the enctype's default s2kparams (4096 iterations for
17/18, 32768 for 19/20), then `wkt` writes a FILE keytab, which is parsed here.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from kerbfirst.crypto import SUPPORTED_ETYPES, get_profile, string_to_key

pytestmark = pytest.mark.peer

MAX_KEYTAB_BYTES = 1 << 20


@dataclass(frozen=True)
class KeytabEntry:
    realm: str
    components: tuple[str, ...]
    kvno: int
    etype: int
    key: bytes


def parse_keytab(data: bytes) -> list[KeytabEntry]:
    """Minimal reader of MIT's FILE keytab version 2 (doc/formats/keytab_file_format.rst):
    0x05 0x02, then big-endian signed 32-bit record lengths each followed by an entry
    (negative = hole, 0 = end)."""
    if len(data) > MAX_KEYTAB_BYTES or data[:2] != b"\x05\x02":
        raise ValueError("not a version 2 keytab")
    entries: list[KeytabEntry] = []
    pos = 2
    while pos + 4 <= len(data):
        (length,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if length == 0:
            break
        if length < 0:
            pos += -length
            continue
        record, pos = data[pos : pos + length], pos + length
        if len(record) != length:
            raise ValueError("truncated keytab record")
        off = 0

        def counted(off: int, rec: bytes = record) -> tuple[bytes, int]:
            (n,) = struct.unpack_from(">H", rec, off)
            return rec[off + 2 : off + 2 + n], off + 2 + n

        (count,) = struct.unpack_from(">H", record, off)
        off += 2
        realm, off = counted(off)
        components = []
        for _ in range(count):
            comp, off = counted(off)
            components.append(comp.decode())
        off += 4 + 4  # name type, timestamp
        kvno8 = record[off]
        off += 1
        etype, keylen = struct.unpack_from(">HH", record, off)
        off += 4
        key = record[off : off + keylen]
        off += keylen
        kvno = kvno8
        if off + 4 <= len(record):
            (kvno32,) = struct.unpack_from(">I", record, off)
            kvno = kvno32 or kvno8
        entries.append(KeytabEntry(realm.decode(), tuple(components), kvno, etype, key))
    return entries


def _mit_keytab(tmp_path: Path, principal: str, password: str, etypes: tuple[int, ...]) -> bytes:
    ktutil = shutil.which("ktutil")
    if ktutil is None:
        pytest.fail("MIT ktutil not found: install it with `apt-get install krb5-user`")
    out = tmp_path / "mit.keytab"
    script = "".join(
        f"addent -password -p {principal} -k 1 -e {get_profile(e).name}\n{password}\n"
        for e in etypes
    )
    script += f"wkt {out}\nquit\n"
    proc = subprocess.run(
        [ktutil], input=script.encode(), capture_output=True, timeout=60, check=False
    )
    if proc.returncode != 0 or not out.exists():
        pytest.fail(f"ktutil failed ({proc.returncode}): {proc.stderr.decode(errors='replace')}")
    return out.read_bytes()


@pytest.mark.parametrize(
    ("principal", "password", "salt"),
    [
        ("alice@TEST.REALM", "Secret-pw1", b"TEST.REALMalice"),
        # Non-ASCII password (UTF-8 bytes) and a two-component name: salt joins components.
        (
            "host/server.test.realm@TEST.REALM",
            "p\u00e4ssw\u00f6rd \u20ac",
            b"TEST.REALMhostserver.test.realm",
        ),
    ],
)
def test_string_to_key_matches_mit_ktutil(
    tmp_path: Path, principal: str, password: str, salt: bytes
) -> None:
    entries = parse_keytab(_mit_keytab(tmp_path, principal, password, SUPPORTED_ETYPES))
    assert sorted(e.etype for e in entries) == sorted(SUPPORTED_ETYPES)
    for entry in entries:
        assert entry.realm + "".join(entry.components) == salt.decode()
        assert entry.kvno == 1
        ours = string_to_key(entry.etype, password.encode("utf-8"), salt)
        assert ours.contents == entry.key, f"enctype {entry.etype} differs from MIT"


def test_wrong_password_differs_from_mit(tmp_path: Path) -> None:
    # Guards against a comparison that would pass vacuously.
    entries = parse_keytab(_mit_keytab(tmp_path, "alice@TEST.REALM", "right", (18,)))
    assert string_to_key(18, b"wrong", b"TEST.REALMalice").contents != entries[0].key
