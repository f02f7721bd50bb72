"""Keytabs: our encoder read by MIT klist, MIT ktutil's files read by our decoder."""

from __future__ import annotations

import os
import pathlib
import re
import stat

import pytest
from tests.store.peers import ktutil_keytab, run_mit

from kerbfirst.crypto import KerberosCryptoError
from kerbfirst.krb.names import parse_name
from kerbfirst.store.binary import FileFormatError
from kerbfirst.store.keytab import (
    KeytabEntry,
    decode_keytab,
    encode_keytab,
    keytab_key_lookup,
    read_keytab,
    write_keytab,
)

T0 = 1_800_000_000

ENTRIES = [
    KeytabEntry(parse_name("host/srv.demo.test@DEMO.TEST"), T0, 3, 18, bytes(range(32))),
    KeytabEntry(parse_name("host/srv.demo.test@DEMO.TEST"), T0, 3, 17, bytes(range(16))),
    KeytabEntry(parse_name("HTTP/web.demo.test@DEMO.TEST"), T0, 300, 20, bytes(range(100, 132))),
    KeytabEntry(parse_name("svc@DEMO.TEST"), T0, 70000, 19, b"\xaa" * 16),
]

KLIST_LINE = re.compile(r"^\s*(\d+)\s+\S+\s+\S+\s+(\S+)\s+\((\S+)\)\s+\(0x([0-9a-f]+)\)\s*$")


def _klist_keytab(path: pathlib.Path, tmp_path: pathlib.Path) -> list[tuple[int, str, str, str]]:
    result = run_mit(["klist", "-k", "-t", "-e", "-K", str(path)], tmp_path)
    assert result.returncode == 0, result.stderr
    rows = []
    for line in result.stdout.splitlines():
        m = KLIST_LINE.match(line)
        if m:
            rows.append((int(m[1]), m[2], m[3], m[4]))
    return rows


def test_mit_klist_reads_our_keytab(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "ours.keytab"
    write_keytab(path, ENTRIES)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    rows = _klist_keytab(path, tmp_path)
    assert rows == [
        (3, "host/srv.demo.test@DEMO.TEST", "aes256-cts-hmac-sha1-96", bytes(range(32)).hex()),
        (3, "host/srv.demo.test@DEMO.TEST", "aes128-cts-hmac-sha1-96", bytes(range(16)).hex()),
        # kvno 300 and 70000 need the 32-bit field: the 8-bit one alone would say 44 and 112
        (300, "HTTP/web.demo.test@DEMO.TEST", "aes256-cts-hmac-sha384-192",
         bytes(range(100, 132)).hex()),
        (70000, "svc@DEMO.TEST", "aes128-cts-hmac-sha256-128", ("aa" * 16)),
    ]


def test_we_read_mit_ktutil_keytab(tmp_path: pathlib.Path) -> None:
    path = ktutil_keytab(
        tmp_path,
        [
            ("alice@DEMO.TEST", 3, "aes256-cts-hmac-sha1-96", "Secret123"),
            ("host/srv.demo.test@DEMO.TEST", 300, "aes128-cts-hmac-sha256-128", "pw"),
        ],
    )
    entries = read_keytab(path)
    shown = _klist_keytab(path, tmp_path)
    assert [(e.kvno, e.principal.unparse(), e.key.hex()) for e in entries] == [
        (k, p, key) for k, p, _, key in shown
    ]
    assert [e.etype for e in entries] == [18, 19]
    assert entries[1].principal.components == ("host", "srv.demo.test")
    # Re-encoding MIT's file gives MIT's bytes back, except the timestamp we keep exactly too.
    assert encode_keytab(entries) == path.read_bytes()


def test_append_keeps_existing_entries(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "kt"
    write_keytab(path, ENTRIES[:1], append=True)  # append to a missing file creates it
    write_keytab(path, ENTRIES[1:], append=True)
    assert read_keytab(path) == ENTRIES
    write_keytab(path, ENTRIES[:1])  # without append: replaced
    assert read_keytab(path) == ENTRIES[:1]


def test_mode_is_0600_even_with_open_umask(tmp_path: pathlib.Path) -> None:
    old = os.umask(0)
    try:
        write_keytab(tmp_path / "kt", ENTRIES)
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "kt").stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["kt"]  # no temporary left behind


def test_holes_and_zero_size_terminate_like_mit() -> None:
    data = encode_keytab(ENTRIES[:2])
    first_len = int.from_bytes(data[2:6], "big", signed=True) + 4
    # A deleted entry: MIT negates its size and leaves the bytes in place.
    hole = (-(first_len - 4)).to_bytes(4, "big", signed=True) + data[6:2 + first_len]
    assert decode_keytab(data[:2] + hole + data[2 + first_len:]) == ENTRIES[1:2]
    assert decode_keytab(data + b"\0\0\0\0" + b"junk") == ENTRIES[:2]


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"", "empty"),
        (b"\x05\x01", "0x0501"),
        (b"\x04\x02", "0x05"),
        (b"\x05\x02\x00\x00\x00\x10\x00", "claims 16 bytes"),
        (b"\x05\x02\x7f\xff\xff\xff", "limit"),
        (b"\x05\x02\xff\xff\xff\x00", "hole"),
        (b"\x05\x02\x00\x00\x00\x04\x00\x01\x00\x09", "truncated"),
    ],
)
def test_malformed_keytabs_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(FileFormatError, match=match):
        decode_keytab(data)


def test_every_truncation_is_a_clear_error() -> None:
    data = encode_keytab(ENTRIES)
    for cut in range(3, len(data)):
        try:
            decoded = decode_keytab(data[:cut])
        except FileFormatError:
            continue
        # Only a cut between entries (or inside a size field) may decode, to a prefix.
        assert decoded == ENTRIES[: len(decoded)]


def test_key_lookup_picks_newest_or_named_kvno_and_first_of_duplicates(
        tmp_path: pathlib.Path) -> None:
    """The acceptor's look-up (indexed once): kvno None is the newest key of that principal
    and enctype, a kvno names one, the first of equal entries counts, other principals and
    enctypes are not confused, and a key of the wrong length fails only its own look-up."""
    svc = parse_name("HTTP/web.demo.test@DEMO.TEST")
    path = tmp_path / "http.keytab"
    write_keytab(path, [
        KeytabEntry(svc, T0, 2, 17, b"\x02" * 16),
        KeytabEntry(svc, T0, 5, 17, b"\x05" * 16),
        KeytabEntry(svc, T0, 5, 17, b"\x55" * 16),  # a duplicate: the first one counts
        KeytabEntry(svc, T0, 3, 17, b"\x03" * 16),
        KeytabEntry(svc, T0, 4, 18, b"\x04" * 31),  # truncated aes256 key
        KeytabEntry(parse_name("host/web.demo.test@DEMO.TEST"), T0, 9, 17, b"\x09" * 16),
    ])
    lookup = keytab_key_lookup(path)
    name = "HTTP/web.demo.test@DEMO.TEST"
    newest = lookup(name, None, 17)
    assert newest is not None and newest.contents == b"\x05" * 16
    assert lookup(name, None, 17) is newest  # one Key per entry, built once
    named = lookup(name, 2, 17)
    assert named is not None and named.contents == b"\x02" * 16
    key3 = lookup(name, 3, 17)
    assert key3 is not None and key3.contents == b"\x03" * 16
    assert lookup(name, 9, 17) is None  # that kvno belongs to another principal
    assert lookup(name, None, 19) is None
    assert lookup("HTTP/other.demo.test@DEMO.TEST", None, 17) is None
    with pytest.raises(KerberosCryptoError, match="32 bytes"):
        lookup(name, 4, 18)
