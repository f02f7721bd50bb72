"""Principal names in MIT's text form: one parse and one unparse for every package.

MIT `krb5_parse_name` / `krb5_unparse_name` (src/lib/krb5/krb/parse.c, unparse.c):
"/" separates components, "@" introduces the realm, a backslash escapes the next character
and "\\n", "\\t", "\\b", "\\0" stand for newline, tab, backspace and NUL. On output "/",
"@", "\\" and those four control characters are escaped in every component AND in the
realm, so the text is unambiguous. When parsing, an unescaped "/" or a second "@" after
the realm separator makes the name malformed, as in MIT.

Stricter than MIT, on purpose: an empty realm ("alice@") and an empty name ("@REALM") are
refused with a reason, since no KDC can hold them; MIT parses both. A length and a
component count bound the parser.

The KDC database, the keytab and ccache files and the GSS acceptor all key principals by
`unparse_name`'s text, so the same principal always has the same key everywhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from kerbfirst.wire.constants import NT_PRINCIPAL, NT_SRV_INST
from kerbfirst.wire.krb5 import PrincipalName

MAX_NAME_LENGTH = 4096  # bound for parsing; MIT has no hard limit, real names are short
MAX_COMPONENTS = 32
TGS_NAME = "krbtgt"  # RFC 4120 7.3

_UNESCAPE = {"n": "\n", "t": "\t", "b": "\b", "0": "\0"}
_ESCAPE = {"\\": "\\\\", "/": "\\/", "@": "\\@", "\n": "\\n", "\t": "\\t", "\b": "\\b", "\0": "\\0"}
_ESCAPE_TABLE = str.maketrans(_ESCAPE)


class PrincipalNameError(ValueError):
    """A principal name string that cannot be parsed."""


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """A parsed principal: components, realm and the RFC 4120 6.2 name type."""

    components: tuple[str, ...]
    realm: str
    name_type: int = NT_PRINCIPAL

    def unparse(self) -> str:
        return unparse_name(self.components, self.realm)

    def wire(self) -> PrincipalName:
        return PrincipalName(self.name_type, self.components)

    @classmethod
    def from_wire(cls, name: PrincipalName, realm: str) -> Principal:
        return cls(tuple(name.name_string), realm, name.name_type)

    def __str__(self) -> str:
        return self.unparse()


def unparse_name(components: Sequence[str], realm: str) -> str:
    """MIT's unparsed form: escaped components joined by "/", then "@" and the escaped realm."""
    return "/".join(c.translate(_ESCAPE_TABLE) for c in components) + "@" + realm.translate(
        _ESCAPE_TABLE
    )


def unparse_principal(name: PrincipalName, realm: str) -> str:
    """`unparse_name` of a wire PrincipalName (the name type is not part of the text)."""
    return unparse_name(name.name_string, realm)


def default_name_type(components: Sequence[str]) -> int:
    """MIT parse.c: "krbtgt/REALM" is NT_SRV_INST; every other name NT_PRINCIPAL (the type
    is a hint only, RFC 4120 6.2, so NT_SRV_HST is never guessed from the text)."""
    return NT_SRV_INST if len(components) == 2 and components[0] == TGS_NAME else NT_PRINCIPAL


def parse_name(
    text: str,
    *,
    default_realm: str | None = None,
    name_type: int | None = None,
    referral_realm: bool = False,
) -> Principal:
    """Parse an MIT principal string; a name without "@REALM" takes `default_realm`, or
    with `referral_realm` the empty realm (MIT's referral realm, RFC 6806: the KDC says
    which realm the server is in).

    Raises PrincipalNameError naming what is wrong with the text.
    """
    if not text:
        raise PrincipalNameError("empty principal name; give e.g. alice@REALM or host/fqdn@REALM")
    if len(text) > MAX_NAME_LENGTH:
        raise PrincipalNameError(
            f"principal name is {len(text)} characters, more than the {MAX_NAME_LENGTH} allowed"
        )
    components: list[str] = []
    current: list[str] = []
    realm: list[str] | None = None
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            if i + 1 >= n:
                raise PrincipalNameError(f"principal name {text!r} ends with a lone backslash")
            nxt = text[i + 1]
            (realm if realm is not None else current).append(_UNESCAPE.get(nxt, nxt))
            i += 2
            continue
        if realm is not None:
            if ch == "@":
                raise PrincipalNameError(
                    f"principal name {text!r} has a second unescaped '@'; escape it as '\\@'"
                )
            if ch == "/":
                raise PrincipalNameError(
                    f"principal name {text!r} has an unescaped '/' in its realm; escape it "
                    "as '\\/'"
                )
            realm.append(ch)
        elif ch == "/":
            components.append("".join(current))
            current = []
            if len(components) >= MAX_COMPONENTS:
                raise PrincipalNameError(
                    f"principal name has more than {MAX_COMPONENTS} components"
                )
        elif ch == "@":
            realm = []
        else:
            current.append(ch)
        i += 1
    components.append("".join(current))
    if realm is None and referral_realm:
        realm_text = ""
    elif realm is None:
        if not default_realm:
            raise PrincipalNameError(
                f"principal name {text!r} has no realm and no default realm is configured"
            )
        realm_text = default_realm
    else:
        realm_text = "".join(realm)
        if not realm_text:
            raise PrincipalNameError(f"principal name {text!r} has an empty realm after '@'")
    if components == [""]:
        raise PrincipalNameError(f"principal name {text!r} has no name before the realm")
    comps = tuple(components)
    kind = default_name_type(comps) if name_type is None else name_type
    return Principal(comps, realm_text, kind)


def parse_principal(text: str, default_realm: str | None = None) -> tuple[PrincipalName, str]:
    """`parse_name` as the wire PrincipalName and the realm, the form the exchanges use."""
    principal = parse_name(text, default_realm=default_realm)
    return principal.wire(), principal.realm


def krbtgt_name(realm: str) -> PrincipalName:
    """The ticket-granting service of a realm, RFC 4120 section 7.3."""
    return PrincipalName(NT_SRV_INST, (TGS_NAME, realm))


def tgs_realm(name: PrincipalName) -> str | None:
    """X when `name` is krbtgt/X, the ticket-granting service of realm X (RFC 4120 7.3);
    a TGT for another realm than its issuer's is a cross-realm TGT."""
    parts = name.name_string
    return parts[1] if len(parts) == 2 and parts[0] == TGS_NAME else None


def default_salt(components: Sequence[str], realm: str) -> bytes:
    """RFC 4120 4 (MIT's "normal" salt): the realm followed by every component, without
    separators, UTF-8 encoded."""
    return (realm + "".join(components)).encode("utf-8", "surrogateescape")
