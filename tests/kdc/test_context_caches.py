"""What KdcContext and keys.py compute once or faster must equal the plain definition."""

from __future__ import annotations

from memory_realm import REALM, make_realm

from kerbfirst.kdc import context
from kerbfirst.kdc.keys import current_kvno, find_key, first_shared_key, ticket_key
from kerbfirst.krb.database import KeyEntry, PrincipalEntry
from kerbfirst.krb.names import unparse_principal
from kerbfirst.wire.krb5 import PrincipalName


def test_principal_text_equals_unparse_and_stays_bounded(monkeypatch) -> None:
    ctx = make_realm().kdc._ctx
    names = [
        PrincipalName(1, ("alice",)),
        PrincipalName(2, ("host", "a/b@c\\d")),  # escapes
        PrincipalName(1, ("x" * 300,)),  # too long to keep
    ]
    for name in names:
        for realm in (REALM, "OTHER@REALM"):
            assert ctx.principal_text(name, realm) == unparse_principal(name, realm)
            assert ctx.principal_text(name, realm) == unparse_principal(name, realm)
    assert len(ctx.names) == 4
    # the name type is not part of the text, so not of the key either
    assert ctx.principal_text(PrincipalName(2, ("alice",)), REALM) == f"alice@{REALM}"
    monkeypatch.setattr(context, "PRINCIPAL_TEXT_CACHE_SIZE", 5)
    for i in range(12):
        ctx.principal_text(PrincipalName(1, (f"user{i}",)), REALM)
        assert len(ctx.names) <= 5


def _entry(*keys: tuple[int, int, bytes]) -> PrincipalEntry:
    return PrincipalEntry("p@R", tuple(KeyEntry(kvno, etype, b) for kvno, etype, b in keys))


def test_key_choice_uses_the_highest_kvno_only() -> None:
    entry = _entry((1, 18, b"a"), (1, 17, b"b"), (3, 17, b"c"), (2, 18, b"d"))
    assert current_kvno(entry) == 3 and current_kvno(_entry()) == 0
    assert find_key(entry, 17) is entry.keys[2] and find_key(entry, 18) is None
    assert find_key(entry, 18, 2) is entry.keys[3]
    allowed = frozenset((17, 18))
    assert first_shared_key(entry, (18, 17), allowed) is entry.keys[2]
    assert first_shared_key(entry, (18,), allowed) is None
    assert first_shared_key(entry, (17,), frozenset((18,))) is None
    assert ticket_key(entry, (18, 17)) is entry.keys[2]
    assert ticket_key(_entry((1, 20, b"x")), (18, 17)) is None
    # two keys of one etype and kvno: the last one listed is the one used
    twice = _entry((1, 18, b"a"), (1, 18, b"b"))
    assert first_shared_key(twice, (18,), allowed) is twice.keys[1]
    assert ticket_key(twice, (18,)) is twice.keys[1]


def test_session_etype_prefers_an_etype_the_server_has() -> None:
    ctx = make_realm().kdc._ctx
    server = _entry((1, 17, bytes(16)), (2, 18, bytes(32)))
    assert ctx.session_etype((17, 18), server) == 18  # 17 is only at the old kvno
    assert ctx.session_etype((20, 23), server) == 20  # none shared: first allowed
    assert ctx.session_etype((23,), server) is None
