"""The NTLM policy: where NTLM is blocked, the exception register, and decisions.

Pure (docs/architecture.md): no file, no clock. The caller reads the policy file (TOML, with
`tomllib`) and passes the parsed dict to `Policy.from_dict`; `now` is an argument of every
decision. The same `Policy` drives the enforcement simulation (`kerbfirst audit simulate`)
and the Windows export (`kerbfirst audit export-policy`).

Policy file format (TOML; examples/ntlm-policy.toml is a complete example)::

    mode = "audit"            # "audit": NTLM in scope is logged as "would be blocked"
                              # "enforce": NTLM in scope is refused
    refuse_ntlmv1 = true      # optional, default true: NTLMv1/LM in scope is blocked
                              # even when an exception matches: NTLMv1 is never safe
    max_exception_days = 180  # optional: `kerbfirst policy exception add/renew` refuse an
                              # expiry further away than this

    [scope]                   # where NTLM is blocked; at least one of the three
    estate = false            # true: everywhere
    servers = ["FS01", "*.legacy.corp.example"]   # NTLM *to* these servers
    clients = ["KIOSK*"]      # NTLM *from* these clients

    [[exception]]             # the exception register: owned, expiring, justified
    target = "PRN03"          # server name or pattern (required)
    client = "WS00*"          # optional: only from these clients (host name or IP address)
    user = "CORP\\\\svc_scan"   # optional: only this account (DOMAIN\\user or user)
    owner = "print-team@corp.example"         # required
    expires = 2025-12-31      # required, a TOML date; the exception holds through that day
    reason = "firmware has no Kerberos"       # required
    compensating_control = "VLAN 40, SMB signing required"   # required
    id = "EX-17"              # optional label; default "exception-N"

Names match case-insensitively with `*` and `?` wildcards (as ClientAllowedNTLMServers
does). A pattern without a dot and without wildcards also matches the first label of a fully
qualified name, because Windows names a server by NetBIOS name or FQDN interchangeably:
`FS01` matches `fs01.corp.example`.

A flow is blocked when it is in scope (estate, or its server or its client matches) and no
unexpired exception matches it. In audit mode the decision still says `would_block`, but
`allowed` stays true: audit mode shows what enforcement would break. A blocked decision
names the exception that would have allowed the flow (`near`: one that matched but has
expired, else one for the same server that differs in client or account) or says that no
exception names the server. Look-ups go through an index of the targets
(policy/ntlm_index.py), not a scan of the register.
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from kerbfirst.policy.ntlm_index import TargetIndex


class PolicyError(ValueError):
    """The policy is invalid; the message names the entry and the field to fix."""


class Mode(enum.StrEnum):
    AUDIT = "audit"
    ENFORCE = "enforce"


def _match_name(pattern: str, name: str) -> bool:
    p, n = pattern.casefold(), name.casefold()
    if fnmatch.fnmatchcase(n, p):
        return True
    # NetBIOS name vs FQDN: a bare short pattern matches the host label of an FQDN.
    return "." not in p and not any(c in p for c in "*?[") and n.split(".", 1)[0] == p


def _match_account(pattern: str, user: str, domain: str) -> bool:
    if "\\" in pattern:
        return fnmatch.fnmatchcase(f"{domain}\\{user}".casefold(), pattern.casefold())
    return fnmatch.fnmatchcase(user.casefold(), pattern.casefold())


class NtlmAttempt(NamedTuple):
    """One NTLM authentication as the policy sees it: who (client, account) reaches what
    (server). (audit.analytics.Flow is the aggregate the workbench counts.)"""

    client: str
    server: str
    user: str = ""
    domain: str = ""
    ntlmv1: bool = False  # NTLMv1 or LM was used
    client_address: str = ""  # the client's IP address, when the caller knows it


@dataclasses.dataclass(frozen=True, slots=True)
class ExceptionEntry:
    """One entry of the exception register: owned, expiring, justified."""

    id: str
    target: str
    owner: str
    expires: date  # valid through this day
    reason: str
    compensating_control: str
    client: str | None = None
    user: str | None = None

    def expired(self, today: date) -> bool:
        return today > self.expires

    def matches(self, flow: NtlmAttempt) -> bool:
        if not _match_name(self.target, flow.server):
            return False
        if self.client is not None and not (
            _match_name(self.client, flow.client)
            or (flow.client_address and _match_name(self.client, flow.client_address))
        ):
            return False
        return self.user is None or _match_account(self.user, flow.user, flow.domain)

    def describe(self) -> str:
        who = f" from {self.client}" if self.client else ""
        acct = f" as {self.user}" if self.user else ""
        return (
            f"{self.id}: NTLM to {self.target}{who}{acct}, owner {self.owner}, "
            f"expires {self.expires.isoformat()}"
        )


class Decision(NamedTuple):
    allowed: bool  # the authentication goes through under this policy's mode
    would_block: bool  # enforcement would refuse it (in audit mode: is logged as such)
    exception: ExceptionEntry | None  # the exception that let it through, if any
    reason: str
    near: ExceptionEntry | None = None  # blocked: the exception that came closest


@dataclasses.dataclass(frozen=True, slots=True)
class Policy:
    mode: Mode
    block_estate: bool = False
    block_servers: tuple[str, ...] = ()
    block_clients: tuple[str, ...] = ()
    exceptions: tuple[ExceptionEntry, ...] = ()
    refuse_ntlmv1: bool = True
    max_exception_days: int | None = None
    _index: TargetIndex = dataclasses.field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", TargetIndex(self.exceptions))

    def candidates(self, server: str) -> list[ExceptionEntry]:
        """The exceptions whose target may match `server`, in register order (indexed)."""
        return [self.exceptions[i] for i in self._index.candidates(server)]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Policy:
        """Validate a parsed policy file; PolicyError names what is wrong and where."""
        return _parse_policy(data)

    def scope_reason(self, flow: NtlmAttempt) -> str | None:
        """Why the flow is in the blocking scope, or None when it is not."""
        if self.block_estate:
            return "NTLM is blocked estate-wide"
        for p in self.block_servers:
            if _match_name(p, flow.server):
                return f"NTLM to server {flow.server} is blocked (scope.servers {p!r})"
        for p in self.block_clients:
            if _match_name(p, flow.client):
                return f"NTLM from client {flow.client} is blocked (scope.clients {p!r})"
        return None

    def active_exceptions(self, now: date | datetime) -> list[ExceptionEntry]:
        today = _day(now)
        return [e for e in self.exceptions if not e.expired(today)]

    def decide(self, flow: NtlmAttempt, now: date | datetime) -> Decision:
        today = _day(now)
        scope = self.scope_reason(flow)
        if scope is None:
            return Decision(True, False, None, "not in the blocking scope")
        audit = self.mode is Mode.AUDIT
        candidates = self.candidates(flow.server)
        live = expired = None
        for entry in candidates:
            if entry.matches(flow):
                if not entry.expired(today):
                    live = entry
                    break
                expired = expired or entry
        if flow.ntlmv1 and self.refuse_ntlmv1:
            named = f" ({live.id} does not extend to it)" if live else ""
            return Decision(
                audit, True, None,
                f"{scope}; NTLMv1/LM is refused even with an exception{named}", live
            )
        if live is not None:
            return Decision(True, False, live, f"{scope}; allowed by {live.describe()}")
        if expired is not None:
            note = (f"; exception {expired.id} would have allowed it but expired on "
                    f"{expired.expires.isoformat()}: renew it or move this flow to Kerberos")
            return Decision(audit, True, None, scope + note, expired)
        near = next((e for e in candidates if not e.expired(today)), None)
        if near is not None:
            note = (f"; no exception allows it: {near.id} covers {near.target} but only "
                    f"{_limits(near)}")
        else:
            note = f"; no exception could allow it: none names server {flow.server}"
        return Decision(audit, True, None, scope + note, near)


def _limits(entry: ExceptionEntry) -> str:
    parts = []
    if entry.client:
        parts.append(f"from {entry.client}")
    if entry.user:
        parts.append(f"as {entry.user}")
    return " and ".join(parts) or "under other conditions"


def _day(now: date | datetime) -> date:
    return now.date() if isinstance(now, datetime) else now


# ------------------------------------------------------------------ parsing and validation

_TOP_KEYS = {"mode", "scope", "exception", "refuse_ntlmv1", "max_exception_days"}
_SCOPE_KEYS = {"estate", "servers", "clients"}
_EXC_REQUIRED = ("target", "owner", "expires", "reason", "compensating_control")
_EXC_KEYS = {*_EXC_REQUIRED, "client", "user", "id"}


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise PolicyError(f"{where} must be a list of server/client names, e.g. [\"FS01\"]")
    out = []
    for v in value:
        if not isinstance(v, str) or not v.strip():
            raise PolicyError(f"{where} contains {v!r}: each entry must be a non-empty name")
        out.append(v.strip())
    return tuple(out)


def _parse_policy(data: Mapping[str, Any]) -> Policy:
    if not isinstance(data, Mapping):
        raise PolicyError("the policy must be a TOML table (key = value lines)")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise PolicyError(
            f"unknown policy key(s) {sorted(unknown)}; known keys: {sorted(_TOP_KEYS)}"
        )
    mode_text = data.get("mode")
    try:
        mode = Mode(str(mode_text))
    except ValueError:
        raise PolicyError(
            f"mode = {mode_text!r} is not valid: write mode = \"audit\" or mode = \"enforce\""
        ) from None
    refuse_v1 = data.get("refuse_ntlmv1", True)
    if not isinstance(refuse_v1, bool):
        raise PolicyError("refuse_ntlmv1 must be true or false")
    max_days = data.get("max_exception_days")
    if max_days is not None and (
        isinstance(max_days, bool) or not isinstance(max_days, int) or max_days < 1
    ):
        raise PolicyError("max_exception_days must be a whole number of days, at least 1")
    scope = data.get("scope", {})
    if not isinstance(scope, Mapping):
        raise PolicyError("[scope] must be a table with estate, servers and/or clients")
    unknown = set(scope) - _SCOPE_KEYS
    if unknown:
        raise PolicyError(
            f"unknown [scope] key(s) {sorted(unknown)}; known: estate, servers, clients"
        )
    estate = scope.get("estate", False)
    if not isinstance(estate, bool):
        raise PolicyError("scope.estate must be true or false")
    servers = _names(scope.get("servers", []), "scope.servers")
    clients = _names(scope.get("clients", []), "scope.clients")
    if not (estate or servers or clients):
        raise PolicyError(
            "the policy blocks nothing: set scope.estate = true or list scope.servers "
            "or scope.clients"
        )
    raw = data.get("exception", [])
    if not isinstance(raw, Sequence) or isinstance(raw, str):
        raise PolicyError("exceptions are written as [[exception]] tables")
    entries = [_parse_exception(i, e) for i, e in enumerate(raw, start=1)]
    ids = [e.id for e in entries]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise PolicyError(f"exception id(s) {dup} are used more than once; ids must be unique")
    return Policy(mode, estate, servers, clients, tuple(entries), refuse_v1, max_days)


def _parse_exception(n: int, raw: Any) -> ExceptionEntry:
    where = f"exception #{n}"
    if not isinstance(raw, Mapping):
        raise PolicyError(f"{where} must be a table ([[exception]])")
    if isinstance(raw.get("id"), str) and raw["id"].strip():
        where = f"exception #{n} ({raw['id'].strip()})"
    unknown = set(raw) - _EXC_KEYS
    if unknown:
        raise PolicyError(
            f"{where}: unknown field(s) {sorted(unknown)}; known: {sorted(_EXC_KEYS)}"
        )
    missing = [k for k in _EXC_REQUIRED if k not in raw or raw[k] in ("", None)]
    if missing:
        raise PolicyError(
            f"{where} is missing {', '.join(missing)}: every exception must be owned, "
            "expiring and justified (target, owner, expires, reason, compensating_control)"
        )
    expires = raw["expires"]
    if isinstance(expires, datetime):
        expires = expires.date()
    if not isinstance(expires, date):
        raise PolicyError(
            f"{where}: expires = {expires!r} must be a TOML date such as expires = 2025-12-31 "
            "(no quotes)"
        )
    texts: dict[str, str] = {}
    for k in ("target", "owner", "reason", "compensating_control", "client", "user", "id"):
        v = raw.get(k)
        if v is None:
            continue
        if not isinstance(v, str) or not v.strip():
            raise PolicyError(f"{where}: {k} must be a non-empty string")
        texts[k] = v.strip()
    return ExceptionEntry(
        id=texts.get("id", f"exception-{n}"),
        target=texts["target"],
        owner=texts["owner"],
        expires=expires,
        reason=texts["reason"],
        compensating_control=texts["compensating_control"],
        client=texts.get("client"),
        user=texts.get("user"),
    )
