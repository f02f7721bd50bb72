"""krb5_encode's memos of recent encodings (principal names, LastReq) and der's OID memos
give what encoding anew gives, and stay bounded."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from kerbfirst.wire import der, krb5_encode
from kerbfirst.wire.krb5 import LastReqEntry, PrincipalName

EPOCH = datetime.fromtimestamp(0, UTC)


def test_equal_names_share_one_encoding_and_types_are_not_confused() -> None:
    first = krb5_encode.principal_name(PrincipalName(2, ("krbtgt", "R.TEST")))
    again = krb5_encode.principal_name(PrincipalName(2, ("krbtgt", "R.TEST")))
    assert again is first  # served from the memo
    other_type = krb5_encode.principal_name(PrincipalName(1, ("krbtgt", "R.TEST")))
    assert other_type != first
    for name, encoded in ((PrincipalName(2, ("krbtgt", "R.TEST")), first),
                          (PrincipalName(1, ("krbtgt", "R.TEST")), other_type)):  # fmt: skip
        assert PrincipalName.decode(encoded) == name


def test_name_memo_is_bounded() -> None:
    for i in range(krb5_encode._NAME_CACHE_SIZE + 10):
        name = PrincipalName(1, (f"user{i}",))
        assert PrincipalName.decode(krb5_encode.principal_name(name)) == name
        assert len(krb5_encode._NAME_CACHE) <= krb5_encode._NAME_CACHE_SIZE


def test_last_req_memo_serves_equal_entries_and_keeps_others_apart() -> None:
    entries = (LastReqEntry(0, EPOCH),)
    first = krb5_encode.last_req(entries)
    assert first == der.sequence_of((LastReqEntry(0, EPOCH).encode(),))
    assert krb5_encode.last_req(entries) is first  # from the memo
    # an equal tuple built anew (as the compiled build's boxing does): from the memo too
    assert krb5_encode.last_req((LastReqEntry(0, EPOCH),)) is first
    later = (LastReqEntry(0, datetime(2025, 1, 2, tzinfo=UTC)),)
    other_type = (LastReqEntry(6, EPOCH),)
    two = (LastReqEntry(0, EPOCH), LastReqEntry(6, datetime(2025, 1, 2, tzinfo=UTC)))
    for other in (later, other_type, two, ()):
        encoded = krb5_encode.last_req(other)
        assert encoded == der.sequence_of(tuple(e.encode() for e in other))
        assert encoded != first


def test_last_req_memo_is_bounded() -> None:
    kept = []
    for i in range(krb5_encode._LAST_REQ_CACHE_SIZE + 10):
        entries = (LastReqEntry(i, EPOCH),)
        kept.append(entries)
        assert krb5_encode.last_req(entries) == der.sequence_of((entries[0].encode(),))
        assert len(krb5_encode._LAST_REQ_CACHE) <= krb5_encode._LAST_REQ_CACHE_SIZE


def test_oid_memos_give_fresh_results_and_stay_bounded() -> None:
    krb5 = der.encode_oid("1.2.840.113554.1.2.2")
    assert krb5 == bytes.fromhex("06092a864886f712010202")
    assert der.encode_oid("1.2.840.113554.1.2.2") is krb5  # from the memo
    assert der.oid_from_content(krb5[2:]) == "1.2.840.113554.1.2.2"
    for i in range(der.OID_MEMO_SIZE + 20):
        dotted = f"1.3.6.1.4.1.{i}.7"
        encoded = der.encode_oid(dotted)
        assert der.oid_from_content(encoded[2:]) == dotted
        assert len(der._OID_DER) <= der.OID_MEMO_SIZE
        assert len(der._OID_TEXT) <= der.OID_MEMO_SIZE
    # refusals are not memoised: bad input is refused every time
    for _ in range(2):
        with pytest.raises(der.EncodeError):
            der.encode_oid("1.x.3")
        with pytest.raises(der.DecodeError):
            der.oid_from_content(b"\x2a\x80\x80\x01", 0)
