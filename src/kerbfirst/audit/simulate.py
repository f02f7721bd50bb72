"""What breaks if we enforce: the stored NTLM flows run through a policy.

Every flow of the failure map (client, server, account, process, cause) is decided by the
pure policy core (`kerbfirst.policy`) at one date. The result lists the flows, users and
hosts that would fail, the flows an exception saves, and the exceptions that are unused
(active but matching no flow: remove them) or expired (they allow nothing any more).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.table import Table
from rich.text import Text

from kerbfirst.audit.analytics import Flow
from kerbfirst.audit.events import Cause
from kerbfirst.audit.export import narrowed_note
from kerbfirst.policy import Decision, ExceptionEntry, NtlmAttempt, Policy, PolicyError

MAX_POLICY_BYTES = 1 << 20  # a policy file is hand-written; refuse anything absurd


def load_policy(path: Path) -> Policy:
    """Read and validate a TOML policy file; PolicyError names the file and the problem."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy file: {exc.strerror or exc}") from exc
    if len(raw) > MAX_POLICY_BYTES:
        raise PolicyError(f"{path}: policy file larger than {MAX_POLICY_BYTES} bytes")
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{path}: not valid TOML: {exc}") from exc
    try:
        return Policy.from_dict(data)
    except PolicyError as exc:
        raise PolicyError(f"{path}: {exc}") from exc


class SimulatedOutcome(NamedTuple):
    """One NTLM flow and what the simulated policy decides for it."""

    flow: Flow
    decision: Decision


class Party(NamedTuple):
    """A user or host that would lose NTLM somewhere."""

    name: str
    flows: int
    events: int
    servers: int  # distinct servers (for users and clients) or clients (for servers)


class ExceptionUse(NamedTuple):
    entry: ExceptionEntry
    flows: int  # flows it saves (active) or would match (expired)
    events: int


class NarrowedUse(NamedTuple):
    """An exception narrowed to clients or users, which Windows settings cannot express:
    exported, it allows every client; `flows`/`events` are what that lets through that
    the policy itself would refuse."""

    entry: ExceptionEntry
    note: str
    flows: int
    events: int


class Simulation(NamedTuple):
    at: date
    mode: str
    flows: int
    events: int
    would_fail: list[SimulatedOutcome]
    saved: list[SimulatedOutcome]
    users: list[Party]
    clients: list[Party]
    servers: list[Party]
    exceptions_used: list[ExceptionUse]
    exceptions_unused: list[ExceptionEntry]
    exceptions_expired: list[ExceptionUse]
    exceptions_narrowed: list[NarrowedUse]


def _policy_flow(f: Flow) -> NtlmAttempt:
    # The longest form of the server's name seen: a NetBIOS pattern matches an FQDN, and
    # an FQDN pattern needs one.
    return NtlmAttempt(f.client, f.server_name or f.server, f.user, f.domain,
                      f.cause == Cause.NTLMV1_OR_LM)


def _parties(outcomes: list[SimulatedOutcome], name: Any, other: Any) -> list[Party]:
    flows: dict[str, int] = defaultdict(int)
    events: dict[str, int] = defaultdict(int)
    others: dict[str, set[str]] = defaultdict(set)
    for o in outcomes:
        key = name(o.flow)
        flows[key] += 1
        events[key] += o.flow.events
        others[key].add(other(o.flow))
    out = [Party(k, flows[k], events[k], len(others[k])) for k in flows]
    return sorted(out, key=lambda p: (-p.events, p.name))


def simulate(policy: Policy, flows: Iterable[Flow], *, at: date) -> Simulation:
    would_fail: list[SimulatedOutcome] = []
    saved: list[SimulatedOutcome] = []
    n_flows = n_events = 0
    all_flows = list(flows)
    for f in all_flows:
        n_flows += 1
        n_events += f.events
        d = policy.decide(_policy_flow(f), at)
        if d.would_block:
            would_fail.append(SimulatedOutcome(f, d))
        elif d.exception is not None:
            saved.append(SimulatedOutcome(f, d))
    used: dict[str, list[SimulatedOutcome]] = defaultdict(list)
    for o in saved:
        if o.decision.exception is not None:
            used[o.decision.exception.id].append(o)
    narrowed = []
    for e in policy.active_exceptions(at):
        if e.client or e.user:
            wide = dataclasses.replace(e, client=None, user=None)
            extra = [o.flow for o in would_fail
                     if not (o.flow.cause == Cause.NTLMV1_OR_LM and policy.refuse_ntlmv1)
                     and wide.matches(_policy_flow(o.flow))]
            narrowed.append(NarrowedUse(e, narrowed_note(e), len(extra),
                                        sum(f.events for f in extra)))
    expired = []
    for e in policy.exceptions:
        if e.expired(at):
            hits = [f for f in all_flows if e.matches(_policy_flow(f))]
            expired.append(ExceptionUse(e, len(hits), sum(f.events for f in hits)))
    return Simulation(
        at=at,
        mode=policy.mode.value,
        flows=n_flows,
        events=n_events,
        would_fail=would_fail,
        saved=saved,
        users=_parties(would_fail, lambda f: f.account, lambda f: f.server),
        clients=_parties(would_fail, lambda f: f.client, lambda f: f.server),
        servers=_parties(would_fail, lambda f: f.server, lambda f: f.client),
        exceptions_used=[
            ExceptionUse(e, len(used[e.id]), sum(o.flow.events for o in used[e.id]))
            for e in policy.exceptions
            if used.get(e.id)
        ],
        exceptions_unused=[
            e for e in policy.exceptions if not e.expired(at) and not used.get(e.id)
        ],
        exceptions_expired=expired,
        exceptions_narrowed=narrowed,
    )


# ------------------------------------------------------------------ output


def _flow_json(o: SimulatedOutcome) -> dict[str, Any]:
    f = o.flow
    return {
        "client": f.client, "server": f.server, "account": f.account, "process": f.process,
        "cause": f.cause, "remedy": f.remedy, "events": f.events,
        "first_seen": f.first_seen.isoformat(), "last_seen": f.last_seen.isoformat(),
        "allowed": o.decision.allowed, "would_block": o.decision.would_block,
        "exception": o.decision.exception.id if o.decision.exception else None,
        "reason": o.decision.reason,
    }


def _exception_json(e: ExceptionEntry) -> dict[str, Any]:
    return {
        "id": e.id, "target": e.target, "client": e.client, "user": e.user,
        "owner": e.owner, "expires": e.expires.isoformat(), "reason": e.reason,
        "compensating_control": e.compensating_control,
    }


def to_json(sim: Simulation) -> dict[str, Any]:
    return {
        "at": sim.at.isoformat(),
        "mode": sim.mode,
        "totals": {
            "flows": sim.flows, "events": sim.events,
            "would_fail_flows": len(sim.would_fail),
            "would_fail_events": sum(o.flow.events for o in sim.would_fail),
            "saved_flows": len(sim.saved),
            "saved_events": sum(o.flow.events for o in sim.saved),
        },
        "would_fail": [_flow_json(o) for o in sim.would_fail],
        "saved_by_exception": [_flow_json(o) for o in sim.saved],
        "users": [p._asdict() for p in sim.users],
        "clients": [p._asdict() for p in sim.clients],
        "servers": [p._asdict() for p in sim.servers],
        "exceptions_used": [
            dict(_exception_json(u.entry), flows=u.flows, events=u.events)
            for u in sim.exceptions_used
        ],
        "exceptions_unused": [_exception_json(e) for e in sim.exceptions_unused],
        "exceptions_expired": [
            dict(_exception_json(u.entry), flows=u.flows, events=u.events)
            for u in sim.exceptions_expired
        ],
        "exceptions_narrowed": [
            dict(_exception_json(n.entry), note=n.note, windows_also_allows_flows=n.flows,
                 windows_also_allows_events=n.events)
            for n in sim.exceptions_narrowed
        ],
    }


def _row(table: Table, *cells: object) -> None:
    # Text, not str: a str cell is parsed as Rich markup, and event data is attacker-chosen.
    table.add_row(*(Text(str(c)) for c in cells))


def render(sim: Simulation, console: Console, *, limit: int = 25) -> None:
    """Rich tables; every cell is passed as plain text (event data may contain markup)."""
    fail_events = sum(o.flow.events for o in sim.would_fail)
    verb = "would fail" if sim.mode == "audit" else "will fail"
    console.print(
        f"Policy mode {sim.mode}, at {sim.at.isoformat()}: {len(sim.would_fail)} of "
        f"{sim.flows} NTLM flows ({fail_events} of {sim.events} events) {verb}; "
        f"{len(sim.saved)} flows saved by an exception.",
        markup=False, highlight=False,
    )
    t = Table(title=f"Flows that {verb} (top {limit})")
    for col in ("client", "server", "account", "process", "cause", "events", "why"):
        t.add_column(col, justify="right" if col == "events" else "left")
    for o in sim.would_fail[:limit]:
        f = o.flow
        _row(t, f.client, f.server, f.account, f.process, f.cause, str(f.events),
                  o.decision.reason)
    console.print(t)
    for title, parties, other in (
        ("Users that lose NTLM", sim.users, "servers"),
        ("Clients that lose NTLM", sim.clients, "servers"),
        ("Servers that lose NTLM", sim.servers, "clients"),
    ):
        pt = Table(title=f"{title} (top {limit})")
        for col in ("name", "flows", "events", other):
            pt.add_column(col, justify="left" if col == "name" else "right")
        for p in parties[:limit]:
            _row(pt, p.name, str(p.flows), str(p.events), str(p.servers))
        console.print(pt)
    st = Table(title="Flows saved by an exception")
    for col in ("client", "server", "account", "events", "exception", "owner", "expires"):
        st.add_column(col)
    for o in sim.saved[:limit]:
        e = o.decision.exception
        if e is not None:
            _row(st, o.flow.client, o.flow.server, o.flow.account, str(o.flow.events),
                       e.id, e.owner, e.expires.isoformat())
    console.print(st)
    et = Table(title="Exceptions to review")
    for col in ("exception", "target", "owner", "expires", "status"):
        et.add_column(col)
    for e in sim.exceptions_unused:
        _row(et, e.id, e.target, e.owner, e.expires.isoformat(), "unused: matches no flow")
    for u in sim.exceptions_expired:
        _row(et, u.entry.id, u.entry.target, u.entry.owner, u.entry.expires.isoformat(),
                   f"expired: would match {u.flows} flows")
    for n in sim.exceptions_narrowed:
        _row(et, n.entry.id, n.entry.target, n.entry.owner, n.entry.expires.isoformat(),
             f"narrowed: Windows cannot narrow it; exported, it also lets through {n.flows} "
             "flows this simulation refuses")
    console.print(et)
    for n in sim.exceptions_narrowed:
        console.print(f"Note: {n.note}.", markup=False, highlight=False)
