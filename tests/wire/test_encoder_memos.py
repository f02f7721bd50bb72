"""krb5_encode's memos of recent encodings (principal names, LastReq) give what encoding
anew gives, and stay bounded."""

from __future__ import annotations

from datetime import UTC, datetime

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
