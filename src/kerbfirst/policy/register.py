"""The exception register as data to edit and review (pure): add, renew, revoke with
validation; expiring, shadowed; the TOML text of a policy. `kerbfirst policy` (cli/policy.py)
does the file work and keeps the history (store/ntlm_register.py).

Validation of a change (beyond what `Policy.from_dict` checks of every entry): an expiry
must lie in the future and no further than the policy's `max_exception_days`
(`DEFAULT_MAX_DAYS` when the policy sets none); a renewal needs a reason; ids are unique.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
import tomllib
from collections.abc import Sequence
from datetime import date, timedelta

from kerbfirst.policy.ntlm import ExceptionEntry, Policy, PolicyError

DEFAULT_MAX_DAYS = 365
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")


def max_days(policy: Policy) -> int:
    return policy.max_exception_days or DEFAULT_MAX_DAYS


def check_expiry(policy: Policy, expires: date, today: date) -> None:
    if expires < today:
        raise PolicyError(f"expires {expires.isoformat()} is in the past (today is "
                          f"{today.isoformat()})")
    limit = today + timedelta(days=max_days(policy))
    if expires > limit:
        raise PolicyError(
            f"expires {expires.isoformat()} is more than {max_days(policy)} days away: the "
            f"policy's max_exception_days allows {limit.isoformat()} at the latest. "
            "Exceptions are short-lived on purpose; renew it when the time comes")


def find(policy: Policy, exception_id: str) -> ExceptionEntry:
    for e in policy.exceptions:
        if e.id == exception_id:
            return e
    known = ", ".join(e.id for e in policy.exceptions[:10]) or "none"
    raise PolicyError(f"no exception {exception_id!r} in the register (ids: {known})")


def add(policy: Policy, entry: ExceptionEntry, today: date) -> Policy:
    if not _ID.match(entry.id):
        raise PolicyError(f"exception id {entry.id!r}: use letters, digits and . _ : - "
                          "(at most 64 characters), e.g. EX-17")
    if any(e.id == entry.id for e in policy.exceptions):
        raise PolicyError(f"exception {entry.id!r} exists already; renew it or pick another id")
    for field in ("target", "owner", "reason", "compensating_control"):
        if not getattr(entry, field).strip():
            raise PolicyError(f"{field} is required: every exception is owned, expiring and "
                              "justified")
    check_expiry(policy, entry.expires, today)
    return dataclasses.replace(policy, exceptions=(*policy.exceptions, entry))


def renew(policy: Policy, exception_id: str, expires: date, today: date) -> Policy:
    old = find(policy, exception_id)
    if expires <= old.expires:
        raise PolicyError(f"{exception_id} already runs to {old.expires.isoformat()}; a "
                          "renewal must extend it (to shorten it, revoke and add)")
    check_expiry(policy, expires, today)
    new = dataclasses.replace(old, expires=expires)
    return dataclasses.replace(
        policy, exceptions=tuple(new if e.id == exception_id else e for e in policy.exceptions))


def revoke(policy: Policy, exception_id: str) -> Policy:
    find(policy, exception_id)
    return dataclasses.replace(
        policy, exceptions=tuple(e for e in policy.exceptions if e.id != exception_id))


def scope_json(policy: Policy) -> dict[str, object]:
    """The blocking scope and the exception maximum, as the history records them."""
    return {"estate": policy.block_estate, "servers": list(policy.block_servers),
            "clients": list(policy.block_clients), "max_exception_days": policy.max_exception_days}


def rescope(policy: Policy, *, estate: bool | None = None,
            servers: Sequence[str] | None = None, clients: Sequence[str] | None = None,
            max_exception_days: int | None = None) -> Policy:
    """The policy with a new blocking scope (None leaves a part as it is), validated as a
    policy file is: the patterns, and a scope that still blocks something."""
    data = tomllib.loads(to_toml(policy))
    scope = data["scope"]
    if estate is not None:
        scope["estate"] = estate
    if servers is not None:
        scope["servers"] = list(servers)
    if clients is not None:
        scope["clients"] = list(clients)
    if max_exception_days is not None:
        data["max_exception_days"] = max_exception_days
    return Policy.from_dict(data)


def expiring(policy: Policy, today: date, within: timedelta) -> list[ExceptionEntry]:
    """Live exceptions whose last day falls within `within` of today, soonest first."""
    last = today + within
    live = [e for e in policy.exceptions if not e.expired(today) and e.expires <= last]
    return sorted(live, key=lambda e: (e.expires, e.id))


def _covers(broad: str | None, narrow: str | None) -> bool:
    if broad is None:
        return True
    if narrow is None:
        return False
    return fnmatch.fnmatchcase(narrow.casefold(), broad.casefold())


def shadowed(policy: Policy, today: date) -> list[tuple[ExceptionEntry, ExceptionEntry]]:
    """(narrow, broad) pairs: every flow `narrow` allows, the live `broad` allows too and
    for at least as long, so `narrow` adds nothing but a second owner to ask."""
    out = []
    for narrow in policy.exceptions:
        for broad in policy.candidates(narrow.target):
            if broad is narrow or broad.expired(today) or broad.expires < narrow.expires:
                continue
            if (_covers(broad.target, narrow.target) and _covers(broad.client, narrow.client)
                    and _covers(broad.user, narrow.user)):
                out.append((narrow, broad))
                break
    return out


def entry_json(e: ExceptionEntry) -> dict[str, str | None]:
    return {"id": e.id, "target": e.target, "client": e.client, "user": e.user,
            "owner": e.owner, "expires": e.expires.isoformat(), "reason": e.reason,
            "compensating_control": e.compensating_control}


def _q(s: str) -> str:
    out = s.replace("\\", "\\\\").replace('"', '\\"')
    out = "".join(c if c >= " " and c != "\x7f" else f"\\u{ord(c):04x}" for c in out)
    return f'"{out}"'


def to_toml(policy: Policy) -> str:
    """The policy file's text (format: policy/ntlm.py); `Policy.from_dict(tomllib.loads(
    to_toml(p)))` equals `p`."""
    lines = ["# kerbfirst NTLM policy (format: kerbfirst/policy/ntlm.py). Edited by",
             "# `kerbfirst policy`; every change is recorded in the .history.jsonl beside it.",
             f"mode = {_q(policy.mode.value)}",
             f"refuse_ntlmv1 = {'true' if policy.refuse_ntlmv1 else 'false'}"]
    if policy.max_exception_days is not None:
        lines.append(f"max_exception_days = {policy.max_exception_days}")
    lines += ["", "[scope]", f"estate = {'true' if policy.block_estate else 'false'}",
              f"servers = [{', '.join(_q(s) for s in policy.block_servers)}]",
              f"clients = [{', '.join(_q(c) for c in policy.block_clients)}]"]
    for e in policy.exceptions:
        lines += ["", "[[exception]]", f"id = {_q(e.id)}", f"target = {_q(e.target)}"]
        if e.client is not None:
            lines.append(f"client = {_q(e.client)}")
        if e.user is not None:
            lines.append(f"user = {_q(e.user)}")
        lines += [f"owner = {_q(e.owner)}", f"expires = {e.expires.isoformat()}",
                  f"reason = {_q(e.reason)}",
                  f"compensating_control = {_q(e.compensating_control)}"]
    return "\n".join(lines) + "\n"
