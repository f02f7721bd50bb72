"""Principal -> local user name, as MIT krb5's auth_to_local (krb5.conf(5), [realms]
auth_to_local; krb5_aname_to_localname), and the allowed realms.

Supported, in MIT's syntax and semantics:

    DEFAULT                         a one-component principal of the default realm maps to
                                    that component ("alice@EXAMPLE.COM" -> "alice")
    RULE:[n:fmt](regex)s/re/rep/g   for a principal of exactly n components: build the
                                    selection string from fmt ($0 the realm, $1..$n the
                                    components), keep it only when the regex matches all
                                    of it, then apply the sed substitutions in order ("g":
                                    every match, else the first)

Rules are tried in order; the first that yields a name wins. Not supported (refused when
the rules are parsed, never ignored): `RULE:` without a selection pattern, MIT's
`$$` escapes, and the `LOCAL`/module forms. A principal no rule maps keeps its full text
(mod_auth_gssapi's GssapiLocalName behaves the same).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kerbfirst.krb.names import parse_name

_RULE = re.compile(r"RULE:\[(\d+):([^\]]*)\](?:\(([^)]*)\))?(.*)\Z", re.DOTALL)
_SED = re.compile(r"s/((?:[^/\\]|\\.)*)/((?:[^/\\]|\\.)*)/(g?)")
MAX_RULES = 256
MAX_COMPONENTS = 8


class RuleError(ValueError):
    """An auth_to_local rule that cannot be used: the message says which and why."""


@dataclass(frozen=True, slots=True)
class _Rule:
    components: int
    fmt: str
    select: re.Pattern[str] | None
    subs: tuple[tuple[re.Pattern[str], str, bool], ...]
    text: str


def _sed_replacement(rep: str) -> str:
    # sed's "&" is the whole match; a Python replacement spells it \g<0>.
    out, i = [], 0
    while i < len(rep):
        ch = rep[i]
        if ch == "\\" and i + 1 < len(rep):
            out.append(rep[i + 1] if rep[i + 1] in "&/\\" else "\\" + rep[i + 1])
            i += 2
            continue
        out.append(r"\g<0>" if ch == "&" else ch.replace("\\", "\\\\"))
        i += 1
    return "".join(out)


def parse_rule(text: str) -> _Rule | None:
    """One rule; None is DEFAULT."""
    text = text.strip()
    if text == "DEFAULT":
        return None
    m = _RULE.match(text)
    if m is None:
        raise RuleError(f"auth_to_local rule {text!r} is neither DEFAULT nor "
                        "RULE:[n:fmt](regex)s/re/rep/[g] (krb5.conf(5))")
    n, fmt, select, rest = int(m.group(1)), m.group(2), m.group(3), m.group(4)
    if not 1 <= n <= MAX_COMPONENTS:
        raise RuleError(f"auth_to_local rule {text!r}: component count {n} is not 1..8")
    for ref in re.findall(r"\$(\d+)", fmt):
        if int(ref) > n:
            raise RuleError(f"auth_to_local rule {text!r}: ${ref} but only {n} components")
    subs: list[tuple[re.Pattern[str], str, bool]] = []
    pos = 0
    rest = rest.strip()
    while pos < len(rest):
        sm = _SED.match(rest, pos)
        if sm is None:
            raise RuleError(f"auth_to_local rule {text!r}: {rest[pos:]!r} is not s/re/rep/[g]")
        subs.append((_compile(sm.group(1), text), _sed_replacement(sm.group(2)),
                     sm.group(3) == "g"))
        pos = sm.end()
        while pos < len(rest) and rest[pos] in " \t":
            pos += 1
    return _Rule(n, fmt, _compile(select, text) if select is not None else None,
                 tuple(subs), text)


def _compile(pattern: str, rule: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise RuleError(f"auth_to_local rule {rule!r}: bad regex {pattern!r}: {exc}") from None


class AuthToLocal:
    """The ordered auth_to_local rules of one realm configuration."""

    def __init__(self, rules: Sequence[str] = ("DEFAULT",), *, default_realm: str) -> None:
        if len(rules) > MAX_RULES:
            raise RuleError(f"more than {MAX_RULES} auth_to_local rules")
        self.default_realm = default_realm
        self._rules = [parse_rule(r) for r in rules]

    def local_name(self, principal: str) -> str | None:
        """The local name, or None when no rule maps `principal`."""
        parsed = parse_name(principal)
        components, realm = parsed.components, parsed.realm
        for rule in self._rules:
            if rule is None:
                if realm == self.default_realm and len(components) == 1:
                    return components[0]
                continue
            if len(components) != rule.components:
                continue
            selected = _format(rule.fmt, components, realm)
            # MIT requires the match to cover the whole selection string (aname_do_match).
            if rule.select is not None and rule.select.fullmatch(selected) is None:
                continue
            for pattern, rep, every in rule.subs:
                selected = pattern.sub(rep, selected, count=0 if every else 1)
            if selected:
                return selected
        return None


def _format(fmt: str, components: tuple[str, ...], realm: str) -> str:
    def ref(m: re.Match[str]) -> str:
        i = int(m.group(1))
        return realm if i == 0 else components[i - 1]

    return re.sub(r"\$(\d+)", ref, fmt)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def has_control_characters(name: str) -> bool:
    """A C0 control or DEL: legal in a Kerberos name (RFC 4120 6.2), not in an HTTP field
    value (RFC 9110 5.5), and an escape sequence in a log or terminal."""
    return _CONTROL.search(name) is not None


def principal_realm(principal: str) -> str:
    """The realm of an MIT-form principal name, unescaped: in 'a@B\\@C' it is 'B@C'
    (an escaped '@' is not the separator)."""
    return parse_name(principal).realm


def realm_allowed(principal: str, allowed: Iterable[str] | None) -> bool:
    """Realm names compare exactly (RFC 4120 6.1: case-sensitive); None allows any."""
    if allowed is None:
        return True
    return principal_realm(principal) in set(allowed)


__all__ = ["AuthToLocal", "RuleError", "has_control_characters", "parse_rule", "principal_realm",
           "realm_allowed"]
