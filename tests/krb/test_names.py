from __future__ import annotations

import pathlib

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.store.peers import ktutil_keytab, run_mit

from kerbfirst.krb.names import (
    Principal,
    PrincipalNameError,
    default_salt,
    parse_name,
    parse_principal,
    unparse_name,
    unparse_principal,
)
from kerbfirst.store.keytab import KeytabEntry, read_keytab, write_keytab
from kerbfirst.wire.constants import NT_PRINCIPAL, NT_SRV_INST
from kerbfirst.wire.krb5 import PrincipalName

from .mit_names import MitNames


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
    p = parse_name(r"a\/b\@c\\d\n\t\b\0x/two@RE\/ALM")
    assert p.components == ("a/b@c\\d\n\t\b\0x", "two")
    assert p.realm == "RE/ALM"
    assert p.unparse() == r"a\/b\@c\\d\n\t\b\0x/two@RE\/ALM"
    assert parse_name(p.unparse()) == p


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("a@B@C", "second unescaped"),
        ("alice@RE/ALM", "unescaped '/' in its realm"),  # MIT parse.c: malformed
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
    assert default_salt(("host", "srv.demo.test"), "DEMO.TEST") == b"DEMO.TESThostsrv.demo.test"
    assert default_salt(("alice",), "DEMO.TEST") == b"DEMO.TESTalice"


component = st.text(min_size=1, max_size=12)


@given(st.lists(component, min_size=1, max_size=4), component)
def test_unparse_then_parse_roundtrips(components: list[str], realm: str) -> None:
    p = Principal(tuple(components), realm)
    assert parse_name(p.unparse()) == p


# ----------------------------------------------------------- the two bugs of three copies


def test_realm_with_slash_is_escaped_on_output() -> None:
    # One copy wrote "alice@A/B", which MIT cannot parse back (and which named another key
    # in the KDC database than the store's "alice@A\/B").
    assert unparse_principal(PrincipalName(1, ("alice",)), "A/B") == "alice@A\\/B"
    assert parse_name("alice@A\\/B") == Principal(("alice",), "A/B")


def test_control_characters_in_a_component_are_escaped() -> None:
    # One copy wrote a newline raw, so the keytab lookup missed the store's "\n" form.
    assert unparse_name(("a\nb", "c\td\b\0"), "R") == "a\\nb/c\\td\\b\\0@R"


def test_krbtgt_name_type_as_mit() -> None:
    assert parse_name("krbtgt/R@R").name_type == NT_SRV_INST
    assert parse_name("krbtgt/R/x@R").name_type == NT_PRINCIPAL
    assert parse_principal("alice", "X") == (PrincipalName(NT_PRINCIPAL, ("alice",)), "X")


# ------------------------------------------------------- MIT's libkrb5 as the oracle

MIT_CASES = [
    "alice@A/B", "alice@A\\/B", "a\\nb@R", "a/b@R", "a//b@R", "/@R", "a/@R", "a@b@c", "a\\",
    "a\\@b@R\\@S", "a@R/x", "a\\xb@R", "a@R\\nX", "a@A\\\\B", "krbtgt/R@R", "krbtgt@R",
    "krbtgt/R/x@R", "host/h.example.test@EXAMPLE.TEST", "alice", "host/h", "a\\/b",
    "x\\t\\b\\0y@R", "\\@@R", "a@\\@", "é/ü@RÉALM", "a@R@", "a\\\\@R", "a\\\\\\@R",
]
# Names MIT parses but kerbfirst refuses on purpose (documented in krb.names).
STRICTER = {"alice@", "@R", "a@", "@"}


@pytest.fixture(scope="module")
def mit() -> MitNames:
    return MitNames("DEF.TEST")


@pytest.mark.peer
@pytest.mark.parametrize("text", MIT_CASES)
def test_parse_agrees_with_mit(mit: MitNames, text: str) -> None:
    expected = mit.parse(text)
    if expected is None:
        with pytest.raises(PrincipalNameError):
            parse_name(text, default_realm="DEF.TEST")
        return
    ours = parse_name(text, default_realm="DEF.TEST")
    assert (ours.components, ours.realm, ours.name_type) == expected
    assert ours.unparse() == mit.unparse(ours.components, ours.realm)


@pytest.mark.peer
@given(st.text(alphabet="ab/@\\ntb0\n\t\b.", max_size=10))
def test_parse_agrees_with_mit_on_generated_text(text: str) -> None:
    mit = _MIT
    expected = mit.parse(text)
    try:
        ours = parse_name(text, default_realm="DEF.TEST")
    except PrincipalNameError:
        assert expected is None or text in STRICTER or _stricter(expected), (text, expected)
        return
    assert expected == (ours.components, ours.realm, ours.name_type), text


def _stricter(parsed: tuple[tuple[str, ...], str, int]) -> bool:
    components, realm, _ = parsed
    return realm == "" or components == ("",)


@pytest.mark.peer
@given(st.lists(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x2FF,
                                              exclude_categories=("Cs",)), max_size=6),
                min_size=1, max_size=3),
       st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x2FF,
                                      exclude_categories=("Cs",)), min_size=1, max_size=6))
def test_unparse_agrees_with_mit(components: list[str], realm: str) -> None:
    assert unparse_name(components, realm) == _MIT.unparse(tuple(components), realm)


_MIT = MitNames("DEF.TEST")


# ------------------------------------------------- MIT's programs on odd names, end to end

ODD_NAMES = [
    Principal(("host", "a/b"), "RE/ALM"),
    Principal(("svc", "line\nbreak", "tab\there"), "R@S"),
    Principal(("back\\slash", "nul\0", "bs\b"), "DEMO.TEST"),
]


@pytest.mark.peer
def test_mit_klist_shows_odd_names_as_we_unparse_them(tmp_path: pathlib.Path) -> None:
    """klist -k prints every keytab principal with krb5_unparse_name: the store writes the
    components and realm, MIT unparses them, and the text must be ours."""
    path = tmp_path / "odd.keytab"
    write_keytab(path, [KeytabEntry(p, 1_800_000_000, 1, 18, bytes(32)) for p in ODD_NAMES])
    result = run_mit(["klist", "-k", str(path)], tmp_path)
    assert result.returncode == 0, result.stderr
    shown = [line.split(None, 1)[1] for line in result.stdout.splitlines()[3:]]
    assert shown == [p.unparse() for p in ODD_NAMES]
    assert shown[0] == "host/a\\/b@RE\\/ALM"
    assert [parse_name(text) for text in shown] == ODD_NAMES


@pytest.mark.peer
def test_names_typed_into_mit_ktutil_parse_as_mit_did(tmp_path: pathlib.Path) -> None:
    """ktutil parses a typed name with krb5_parse_name and stores the components: reading
    its keytab back gives what our parser makes of the same text."""
    texts = ["host/a\\/b@RE\\/ALM", "svc/x\\ny@R\\@S", "a\\\\b/c@R", "krbtgt/R@R"]
    path = ktutil_keytab(tmp_path, [(text, 1, "aes256-cts", "pw") for text in texts])
    read = [entry.principal for entry in read_keytab(path)]
    assert [(p.components, p.realm) for p in read] == [
        (parse_name(t).components, parse_name(t).realm) for t in texts
    ]
