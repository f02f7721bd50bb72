"""Principal names in MIT's string form: parse and unparse, pure.

MIT `krb5_parse_name` / `krb5_unparse_name` (src/lib/krb5/krb/parse.c, unparse.c):
"/" separates components, "@" introduces the realm, a backslash escapes the next
character; "\\n", "\\t", "\\b" and "\\0" stand for newline, tab, backspace and NUL.
On output, "/", "@", "\\" and those four control characters are escaped. Inside the
realm "/" is an ordinary character when parsing (MIT only splits components before "@").
"""

from __future__ import annotations

import dataclasses

from kerbfirst.wire.constants import NT_PRINCIPAL

MAX_NAME_LENGTH = 4096  # bound for parsing; MIT has no hard limit, real names are short
MAX_COMPONENTS = 32

_UNESCAPE = {"n": "\n", "t": "\t", "b": "\b", "0": "\0"}
_ESCAPE = {"\n": "\\n", "\t": "\\t", "\b": "\\b", "\0": "\\0", "\\": "\\\\", "/": "\\/", "@": "\\@"}


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

    def __str__(self) -> str:
        return self.unparse()


def _escape(text: str) -> str:
    if not any(c in _ESCAPE for c in text):
        return text
    return "".join(_ESCAPE.get(c, c) for c in text)


def unparse_name(components: tuple[str, ...] | list[str], realm: str) -> str:
    """MIT's unparsed form: escaped components joined by "/", then "@" and the realm."""
    return "/".join(_escape(c) for c in components) + "@" + _escape(realm)


def parse_name(
    text: str,
    *,
    default_realm: str | None = None,
    name_type: int | None = None,
) -> Principal:
    """Parse an MIT principal string.

    A name without "@REALM" takes `default_realm` (an error if there is none). When
    `name_type` is not given, a two-component name whose first component is a service
    ("host/...", "HTTP/...") is still NT_PRINCIPAL, as MIT does: the type is a hint only
    (RFC 4120 6.2), so we never guess NT_SRV_HST from the text.
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
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 >= n:
                raise PrincipalNameError(f"principal name {text!r} ends with a lone backslash")
            nxt = text[i + 1]
            (realm if realm is not None else current).append(_UNESCAPE.get(nxt, nxt))
            i += 2
            continue
        if realm is not None:
            if c == "@":
                raise PrincipalNameError(
                    f"principal name {text!r} has a second unescaped '@'; escape it as '\\@'"
                )
            realm.append(c)
        elif c == "/":
            components.append("".join(current))
            current = []
            if len(components) >= MAX_COMPONENTS:
                raise PrincipalNameError(
                    f"principal name has more than {MAX_COMPONENTS} components"
                )
        elif c == "@":
            realm = []
        else:
            current.append(c)
        i += 1
    components.append("".join(current))
    if realm is None:
        if default_realm is None:
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
    return Principal(
        tuple(components), realm_text, NT_PRINCIPAL if name_type is None else name_type
    )


def default_salt(principal: Principal) -> bytes:
    """MIT's default "normal" salt: the realm followed by every component, no separators.

    RFC 4120 4 ("the default salt string ... is the concatenation of the principal's realm
    and name components in order, with no separators"); UTF-8 encoded.
    """
    return (principal.realm + "".join(principal.components)).encode("utf-8", "surrogateescape")

