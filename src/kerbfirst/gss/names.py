"""Principal names as the strings users compare with MIT's output ("host/h.example@REALM").

RFC 1964 2.1.1 / MIT krb5_unparse_name: components joined by "/", "@REALM" appended; the
separators are escaped with a backslash inside components.
"""

from __future__ import annotations

from kerbfirst.wire.krb5 import PrincipalName


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("/", "\\/").replace("@", "\\@")


def unparse(name: PrincipalName, realm: str) -> str:
    return "/".join(_escape(c) for c in name.name_string) + "@" + _escape(realm)
