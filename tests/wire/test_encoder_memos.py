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


def test_last_req_memo_gives_the_encoding_of_its_own_tuple() -> None:
    entries = (LastReqEntry(0, EPOCH),)
    first = krb5_encode.last_req(entries)
    assert krb5_encode.last_req(entries) is first  # the same tuple: from the memo
    equal = (LastReqEntry(0, EPOCH),)
    assert krb5_encode.last_req(equal) == first  # an equal tuple: encoded, same bytes
    expected = der.sequence_of((LastReqEntry(0, EPOCH).encode(),))
    assert first == expected
    two = (LastReqEntry(0, EPOCH), LastReqEntry(6, datetime(2025, 1, 2, tzinfo=UTC)))
    assert krb5_encode.last_req(two) == der.sequence_of(tuple(e.encode() for e in two))


def test_last_req_memo_checks_identity_not_only_the_id() -> None:
    entries = (LastReqEntry(6, datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)),)
    # An entry filed under this tuple's id but for another tuple (as if the id had been
    # reused after that tuple died) must not be served.
    stranger = (LastReqEntry(0, EPOCH),)
    krb5_encode._LAST_REQ_CACHE[id(entries)] = (stranger, b"not this")
    assert krb5_encode.last_req(entries) == der.sequence_of((entries[0].encode(),))


def test_last_req_memo_is_bounded() -> None:
    kept = []
    for i in range(krb5_encode._LAST_REQ_CACHE_SIZE + 10):
        entries = (LastReqEntry(i, EPOCH),)
        kept.append(entries)
        assert krb5_encode.last_req(entries) == der.sequence_of((entries[0].encode(),))
        assert len(krb5_encode._LAST_REQ_CACHE) <= krb5_encode._LAST_REQ_CACHE_SIZE
