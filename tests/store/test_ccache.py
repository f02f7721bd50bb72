"""Credential caches: MIT klist reads ours; we read back byte for byte."""

from __future__ import annotations

import pathlib
import stat
from datetime import UTC, datetime

import pytest
from tests.store.der_ticket import ticket_der
from tests.store.peers import run_mit

from kerbfirst.krb.names import parse_name
from kerbfirst.store.binary import FileFormatError
from kerbfirst.store.ccache import (
    Ccache,
    CcacheCredential,
    decode_ccache,
    encode_ccache,
    read_ccache,
    write_ccache,
)
from kerbfirst.wire.constants import (
    TKT_FLG_FORWARDABLE,
    TKT_FLG_INITIAL,
    TKT_FLG_PRE_AUTH,
    TKT_FLG_RENEWABLE,
)
from kerbfirst.wire.krb5 import AuthorizationDataEntry, EncryptionKey, HostAddress

ALICE = parse_name("alice@DEMO.TEST")
TGT = CcacheCredential(
    client=ALICE,
    server=parse_name("krbtgt/DEMO.TEST@DEMO.TEST"),
    key=EncryptionKey(18, bytes(range(32))),
    authtime=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
    starttime=None,
    endtime=datetime(2030, 1, 2, 13, 4, 5, tzinfo=UTC),
    renew_till=datetime(2030, 1, 9, 3, 4, 5, tzinfo=UTC),
    ticket=ticket_der("DEMO.TEST", ("krbtgt", "DEMO.TEST"), 17, 2, b"x" * 60),
    ticket_flags=TKT_FLG_FORWARDABLE | TKT_FLG_RENEWABLE | TKT_FLG_INITIAL | TKT_FLG_PRE_AUTH,
    addresses=(HostAddress(2, bytes([127, 0, 0, 1])),),
)
SERVICE = CcacheCredential(
    client=ALICE,
    server=parse_name("HTTP/web.demo.test@DEMO.TEST"),
    key=EncryptionKey(20, bytes(32)),
    authtime=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC),
    starttime=datetime(2030, 1, 2, 4, 0, 0, tzinfo=UTC),
    endtime=datetime(2030, 1, 2, 13, 4, 5, tzinfo=UTC),
    renew_till=None,
    ticket=ticket_der("DEMO.TEST", ("HTTP", "web.demo.test"), 20, 5, b"y" * 80),
    ticket_flags=TKT_FLG_FORWARDABLE | TKT_FLG_PRE_AUTH,
    authdata=(AuthorizationDataEntry(1, b"\x30\x00"),),
    second_ticket=b"",
)
CONFIG = CcacheCredential(  # what MIT's krb5_cc_set_config writes (e.g. after FAST)
    client=ALICE,
    server=parse_name("krb5_ccache_conf_data/fast_avail/krbtgt\\/DEMO.TEST\\@DEMO.TEST@X-CACHECONF:"),
    key=EncryptionKey(0, b""),
    authtime=datetime.fromtimestamp(0, UTC),
    starttime=None,
    endtime=datetime.fromtimestamp(0, UTC),
    renew_till=None,
    ticket=b"yes",
)


def test_mit_klist_reads_our_ccache(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "cc"
    write_ccache(path, ALICE, [CONFIG, TGT, SERVICE], kdc_time_offset=(5, 0))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    result = run_mit(["klist", "-c", str(path), "-e", "-f", "-a"], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"Ticket cache: FILE:{path}" in out
    assert "Default principal: alice@DEMO.TEST" in out
    # starttime absent: MIT shows the authtime; flags F R I A from our ticket_flags bits
    assert "01/02/30 03:04:05  01/02/30 13:04:05  krbtgt/DEMO.TEST@DEMO.TEST" in out
    assert "renew until 01/09/30 03:04:05, Flags: FRIA" in out
    assert "Etype (skey, tkt): aes256-cts-hmac-sha1-96, aes128-cts-hmac-sha1-96" in out
    assert "Addresses: localhost" in out
    assert "01/02/30 04:00:00  01/02/30 13:04:05  HTTP/web.demo.test@DEMO.TEST" in out
    assert "Flags: FA" in out
    assert "aes256-cts-hmac-sha384-192, aes256-cts-hmac-sha384-192" in out
    assert "X-CACHECONF" not in out  # klist hides configuration entries; they must parse


def test_roundtrip_is_byte_exact(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "cc"
    write_ccache(path, ALICE, [CONFIG, TGT, SERVICE], kdc_time_offset=(-7, 250))
    data = path.read_bytes()
    cache = read_ccache(path)
    assert cache == Ccache(ALICE, (CONFIG, TGT, SERVICE), (-7, 250))
    assert cache.credentials[0].is_config and not cache.credentials[1].is_config
    assert encode_ccache(cache) == data
    assert "bytes" not in repr(cache.credentials[1].key)  # the session key is never printed


def test_header_tags_and_empty_cache() -> None:
    data = encode_ccache(Ccache(ALICE, (), None, ((99, b"abc"),)))
    assert data[:4] == b"\x05\x04\x00\x07"
    assert decode_ccache(data) == Ccache(ALICE, (), None, ((99, b"abc"),))


@pytest.mark.parametrize(
    ("data", "match"),
    [
        (b"\x05\x03", "version 4"),
        (b"\x01\x02", "not an MIT credential cache"),
        (b"\x05\x04\x00\x0c\x00\x01\x00\x08", "truncated|past the end"),
        (b"\x05\x04\x00\x00\x00\x00\x00\x01\x00\x00\x00\xff", "limit"),
        (b"\x05\x04\x00\x00\x00\x00\x00\x01\x00\x00\x00\x00\xff\xff\xff\xff", "over the limit"),
    ],
)
def test_malformed_ccaches_are_refused(data: bytes, match: str) -> None:
    with pytest.raises(FileFormatError, match=match):
        decode_ccache(data)


def test_every_truncation_is_a_clear_error() -> None:
    data = encode_ccache(Ccache(ALICE, (TGT, SERVICE)))
    for cut in range(len(data)):
        try:
            decoded = decode_ccache(data[:cut])
        except FileFormatError:
            continue
        assert decoded.credentials == (TGT, SERVICE)[: len(decoded.credentials)]


def test_naive_datetime_is_refused() -> None:
    import dataclasses

    bad = dataclasses.replace(TGT, endtime=datetime(2030, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        encode_ccache(Ccache(ALICE, (bad,)))
