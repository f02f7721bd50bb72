from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kerbfirst.store.names import Principal, PrincipalNameError, default_salt, parse_name


def test_simple_and_service_names() -> None:
    assert parse_name("alice@DEMO.TEST") == Principal(("alice",), "DEMO.TEST")
    p = parse_name("host/srv.demo.test@DEMO.TEST")
    assert p.components == ("host", "srv.demo.test")
    assert p.realm == "DEMO.TEST"
    assert p.unparse() == "host/srv.demo.test@DEMO.TEST"


def test_default_realm_applies_only_without_realm() -> None:
    assert parse_name("bob", default_realm="R").realm == "R"
    assert parse_name("bob@X", default_realm="R").realm == "X"
    with pytest.raises(PrincipalNameError, match="no realm"):
        parse_name("bob")


def test_escapes_follow_mit() -> None:
    p = parse_name(r"a\/b\@c\\d\n\t\b\0x/two@RE/ALM")
    assert p.components == ("a/b@c\\d\n\t\b\0x", "two")
    assert p.realm == "RE/ALM"  # "/" in the realm is ordinary (MIT parse.c)
    assert p.unparse() == r"a\/b\@c\\d\n\t\b\0x/two@RE\/ALM"
    assert parse_name(p.unparse()) == p


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("a@B@C", "second unescaped"),
        ("alice@", "empty realm"),
        ("@REALM", "no name"),
        ("alice\\", "lone backslash"),
        ("a/" * 40 + "x@R", "components"),
        ("a" * 5000, "characters"),
    ],
)
def test_malformed_names_are_refused(text: str, match: str) -> None:
    with pytest.raises(PrincipalNameError, match=match):
        parse_name(text)


def test_empty_components_are_kept() -> None:
    assert parse_name("a//b@R").components == ("a", "", "b")


def test_default_salt_is_realm_then_components() -> None:
    assert default_salt(parse_name("host/srv.demo.test@DEMO.TEST")) == b"DEMO.TESThostsrv.demo.test"
    assert default_salt(parse_name("alice@DEMO.TEST")) == b"DEMO.TESTalice"


component = st.text(min_size=1, max_size=12)


@given(st.lists(component, min_size=1, max_size=4), component)
def test_unparse_then_parse_roundtrips(components: list[str], realm: str) -> None:
    p = Principal(tuple(components), realm)
    assert parse_name(p.unparse()) == p
