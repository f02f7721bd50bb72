"""Principal names in MIT's text form (krb5_parse_name / krb5_unparse_name).

"host/server.example.test@EXAMPLE.TEST": components joined by "/", then "@" and the realm;
"/", "@" and "\\" inside a component are escaped with a backslash, as MIT does, so that the
text form is unambiguous. The KDC database is keyed by this form (kdc/database.py).
"""

from __future__ import annotations

from kerbfirst.wire.constants import NT_PRINCIPAL, NT_SRV_INST
from kerbfirst.wire.krb5 import PrincipalName

_ESCAPES = {
    "\\": "\\\\", "/": "\\/", "@": "\\@", "\n": "\\n", "\t": "\\t", "\b": "\\b", "\0": "\\0"
}
_UNESCAPES = {"n": "\n", "t": "\t", "b": "\b", "0": "\0"}
_COMPONENT_TABLE = str.maketrans(_ESCAPES)
_REALM_TABLE = str.maketrans({k: v for k, v in _ESCAPES.items() if k != "/"})


def unparse_principal(name: PrincipalName, realm: str) -> str:
    """MIT krb5_unparse_name: the database key of a principal."""
    components = "/".join(c.translate(_COMPONENT_TABLE) for c in name.name_string)
    return f"{components}@{realm.translate(_REALM_TABLE)}"


def parse_principal(text: str, default_realm: str | None = None) -> tuple[PrincipalName, str]:
    """MIT krb5_parse_name: "alice", "alice@REALM", "host/h.example.test@REALM".

    The name type is NT_SRV_INST for krbtgt/..., NT_PRINCIPAL otherwise (what kinit sends).
    Raises ValueError naming the problem when the text is not a principal name.
    """
    components: list[str] = []
    current: list[str] = []
    realm: str | None = None
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text):
                raise ValueError(f"principal name {text!r} ends with a lone backslash")
            nxt = text[i + 1]
            current.append(_UNESCAPES.get(nxt, nxt))
            i += 2
            continue
        if ch == "@" and realm is None:
            components.append("".join(current))
            current = []
            realm = ""
        elif ch == "/" and realm is None:
            components.append("".join(current))
            current = []
        elif ch == "@":
            raise ValueError(f"principal name {text!r} has a second unescaped '@'")
        else:
            current.append(ch)
        i += 1
    if realm is None:
        components.append("".join(current))
        realm = default_realm
    else:
        realm = "".join(current)
    if not realm:
        raise ValueError(f"principal name {text!r} has no realm and no default realm was given")
    if not components or any(c == "" for c in components):
        raise ValueError(f"principal name {text!r} has an empty component")
    name_type = NT_SRV_INST if components[0] == "krbtgt" else NT_PRINCIPAL
    return PrincipalName(name_type, tuple(components)), realm


def krbtgt_name(realm: str) -> PrincipalName:
    """The ticket-granting service of a realm, RFC 4120 section 7.3."""
    return PrincipalName(NT_SRV_INST, ("krbtgt", realm))


def default_salt(name: PrincipalName, realm: str) -> bytes:
    """RFC 4120 section 4: the realm followed by every component, without separators."""
    return (realm + "".join(name.name_string)).encode("utf-8")
