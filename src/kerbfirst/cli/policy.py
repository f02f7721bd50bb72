"""`kerbfirst policy`: the NTLM exception register as a tool.

    kerbfirst policy init --mode audit --estate --max-days 180
    kerbfirst policy mode enforce --why "audit report: no NTLM left outside exceptions"
    kerbfirst policy scope --no-estate --server 'fs*.corp.example' --why "file servers first"
    kerbfirst policy exception add --id EX-1 --target web.corp.example --client '192.0.2.*' \\
        --user 'CORP\\alice' --owner web-team@corp.example --expires 2027-03-31 \\
        --reason "kiosk browser has no Kerberos" --compensating-control "kiosk VLAN, EPA"
    kerbfirst policy exception renew EX-1 --expires 2027-06-30 --why "vendor fix slipped"
    kerbfirst policy exception revoke EX-1 --why "kiosks replaced"
    kerbfirst policy exception list | show EX-1
    kerbfirst policy expiring --within 30d
    kerbfirst policy unused --days 30 --store kerbfirst-audit
    kerbfirst policy shadowed
    kerbfirst policy export --out register.json
    kerbfirst policy export-samba --server FS01 --out /etc/samba/kerbfirst
    kerbfirst policy history [--verify]
    kerbfirst policy credential set alice --dir REALM_DIR | list | sweep

Every change is written to the policy file (atomically; services reload it) and appended to
its hash-chained history (store/ntlm_register.py), with who, when, what and why; nothing
ever rewrites the history, and `history --verify` proves it.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kerbfirst.cli import policy_credential, policy_export, policy_settings
from kerbfirst.cli.policy_common import (
    STATE,
    WhoOpt,
    current_time,
    fail,
    load_policy,
    policy_path,
    record_change,
)
from kerbfirst.policy import ExceptionEntry, Mode, Policy, PolicyError
from kerbfirst.policy import register as reg
from kerbfirst.store import ntlm_register as history

app = typer.Typer(help="The NTLM policy and its exception register: owned, expiring, "
                  "justified exceptions with a verifiable history.", no_args_is_help=True)
exception_app = typer.Typer(help="Add, renew, revoke, list and show exceptions.",
                            no_args_is_help=True)
app.add_typer(exception_app, name="exception")
app.add_typer(policy_credential.credential_app, name="credential")
app.command("export")(policy_export.export)
app.command("export-samba")(policy_export.export_samba)
app.command("mode")(policy_settings.set_mode)
app.command("scope")(policy_settings.set_scope)

PolicyOpt = Annotated[Path, typer.Option(
    "--policy", envvar="KERBFIRST_NTLM_POLICY",
    help="The policy file (TOML). Default ./ntlm-policy.toml, or $KERBFIRST_NTLM_POLICY.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.callback()
def _options(
    policy: PolicyOpt = Path("ntlm-policy.toml"),
    now: Annotated[str | None, typer.Option(
        "--now", hidden=True, help="Pretend the time is this ISO 8601 instant (tests).")] = None,
) -> None:
    STATE["policy"] = policy
    STATE["now"] = None if now is None else datetime.fromisoformat(now).astimezone(UTC)


def _expiry(text: str, what: str) -> date:
    """YYYY-MM-DD, or days or weeks from today ("90d", "12w"): the last day it holds."""
    m = re.fullmatch(r"\s*\+?(\d{1,5})\s*([dw])\s*", text)
    if m:
        n = int(m.group(1))
        return current_time().date() + (timedelta(weeks=n) if m.group(2) == "w"
                                        else timedelta(days=n))
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise fail(f"{what} must be a date YYYY-MM-DD or a count of days or weeks from "
                   f"today (90d, 12w), not {text!r}") from None


def _table(title: str, entries: list[ExceptionEntry], extra: dict[str, str] | None = None,
           ) -> None:
    t = Table(title=title)
    for col in ("id", "target", "client", "user", "owner", "expires", "reason"):
        t.add_column(col)
    if extra is not None:
        t.add_column("note")
    for e in entries:
        cells = [e.id, e.target, e.client or "*", e.user or "*", e.owner,
                 e.expires.isoformat(), e.reason]
        if extra is not None:
            cells.append(extra.get(e.id, ""))
        t.add_row(*(Text(c) for c in cells))  # register text is not Rich markup
    Console(highlight=False).print(t)


@app.command()
def init(
    mode: Annotated[Mode, typer.Option(help="audit: log what would be blocked; enforce: "
                                       "refuse it.")] = Mode.AUDIT,
    estate: Annotated[bool, typer.Option(help="Block NTLM everywhere.")] = False,
    server: Annotated[list[str] | None, typer.Option(
        help="Block NTLM to this server or pattern (repeatable).")] = None,
    client: Annotated[list[str] | None, typer.Option(
        help="Block NTLM from this client or pattern (repeatable).")] = None,
    max_days: Annotated[int, typer.Option(
        min=1, help="The longest an exception may run, in days.")] = 180,
    by: WhoOpt = None,
) -> None:
    """Create the policy file and start its history."""
    if policy_path().exists() or history.history_path(policy_path()).exists():
        raise fail(f"{policy_path()} (or its history) exists already; edit it with the exception "
                    "commands")
    try:
        policy = Policy.from_dict({"mode": mode.value, "max_exception_days": max_days,
                                   "scope": {"estate": estate, "servers": server or [],
                                             "clients": client or []}})
    except PolicyError as exc:
        raise fail(str(exc)) from None
    record_change(policy, action="init", eid=None, before=None, after=None,
                  why="policy created", by=by)
    typer.echo(f"created {policy_path()} ({mode.value} mode, exceptions at most {max_days} days)")


@exception_app.command("add")
def exception_add(
    exception_id: Annotated[str, typer.Option("--id", help="A short unique id, e.g. EX-17.")],
    target: Annotated[str, typer.Option(help="Server name or pattern NTLM may reach.")],
    owner: Annotated[str, typer.Option(help="Who answers for it (a mailbox or team).")],
    expires: Annotated[str, typer.Option(
        help="Last day it holds: YYYY-MM-DD, or days/weeks from today (90d, 12w).")],
    reason: Annotated[str, typer.Option(help="Why Kerberos cannot be used yet.")],
    compensating_control: Annotated[str, typer.Option(
        help="What limits the risk meanwhile (network segment, EPA, signing...).")],
    client: Annotated[str | None, typer.Option(
        help="Only from this client host name or IP pattern.")] = None,
    user: Annotated[str | None, typer.Option(
        help="Only this account (DOMAIN\\user or user). An exact account here also lets a "
        "LocalKDC account keep an NTLM credential while the exception lives.")] = None,
    by: WhoOpt = None,
) -> None:
    """Register an exception: owned, justified, expiring within the policy's maximum."""
    policy = load_policy()
    entry = ExceptionEntry(exception_id.strip(), target.strip(), owner.strip(),
                           _expiry(expires, "--expires"), reason.strip(),
                           compensating_control.strip(), client, user)
    try:
        new = reg.add(policy, entry, current_time().date())
    except PolicyError as exc:
        raise fail(str(exc)) from None
    record_change(new, action="add", eid=entry.id, before=None, after=entry, why=entry.reason,
                  by=by)
    typer.echo(f"added {entry.describe()}")


@exception_app.command("renew")
def exception_renew(
    exception_id: Annotated[str, typer.Argument(help="The exception's id.")],
    expires: Annotated[str, typer.Option(
        help="The new last day: YYYY-MM-DD, or days/weeks from today (120d, 16w).")],
    why: Annotated[str, typer.Option(help="Why it is still needed (recorded).")],
    by: WhoOpt = None,
) -> None:
    """Extend an exception, within the policy's maximum lifetime from today."""
    policy = load_policy()
    try:
        before = reg.find(policy, exception_id)
        new = reg.renew(policy, exception_id, _expiry(expires, "--expires"), current_time().date())
    except PolicyError as exc:
        raise fail(str(exc)) from None
    after = reg.find(new, exception_id)
    record_change(new, action="renew", eid=exception_id, before=before, after=after, why=why, by=by)
    typer.echo(f"renewed {after.describe()}")


@exception_app.command("revoke")
def exception_revoke(
    exception_id: Annotated[str, typer.Argument(help="The exception's id.")],
    why: Annotated[str, typer.Option(help="Why it goes (recorded).")],
    by: WhoOpt = None,
) -> None:
    """Remove an exception from the register (its history stays)."""
    policy = load_policy()
    try:
        before = reg.find(policy, exception_id)
        new = reg.revoke(policy, exception_id)
    except PolicyError as exc:
        raise fail(str(exc)) from None
    record_change(new, action="revoke", eid=exception_id, before=before, after=None, why=why, by=by)
    typer.echo(f"revoked {exception_id}; NTLM credentials it allowed are destroyed at the "
               "next policy reload")


@exception_app.command("list")
def exception_list(
    all_: Annotated[bool, typer.Option("--all", help="Include expired exceptions.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The register: live exceptions (with --all, expired ones too)."""
    policy = load_policy()
    today = current_time().date()
    entries = [e for e in policy.exceptions if all_ or not e.expired(today)]
    if as_json:
        typer.echo(json.dumps([reg.entry_json(e) for e in entries], indent=2))
        return
    _table(f"NTLM exceptions ({len(entries)})", entries,
           {e.id: "expired" for e in entries if e.expired(today)})


@exception_app.command("show")
def exception_show(exception_id: Annotated[str, typer.Argument(help="The exception's id.")],
                   ) -> None:
    """One exception with every change recorded for it."""
    policy = load_policy()
    records = [r for r in history.read_history(policy_path()) if r.get("id") == exception_id]
    try:
        entry: dict[str, Any] | None = reg.entry_json(reg.find(policy, exception_id))
    except PolicyError:
        if not records:
            raise fail(f"no exception {exception_id!r}, now or in the history") from None
        entry = None
    typer.echo(json.dumps({"exception": entry, "state": "in the register" if entry else
                           "revoked", "history": records}, indent=2, ensure_ascii=False))


def _within(text: str) -> timedelta:
    m = re.fullmatch(r"\s*(\d{1,5})\s*([dw]?)\s*", text)
    if not m:
        raise fail(f"--within {text!r}: write a number of days, e.g. 30d or 4w")
    n = int(m.group(1))
    return timedelta(weeks=n) if m.group(2) == "w" else timedelta(days=n)


@app.command()
def expiring(
    within: Annotated[str, typer.Option(help="How far ahead: 30d, 4w, 90.")] = "30d",
    as_json: JsonOpt = False,
) -> None:
    """Live exceptions whose last day falls within the window, soonest first."""
    entries = reg.expiring(load_policy(), current_time().date(), _within(within))
    if as_json:
        typer.echo(json.dumps([reg.entry_json(e) for e in entries], indent=2))
        return
    _table(f"exceptions expiring within {within} ({len(entries)})", entries)


@app.command()
def unused(
    days: Annotated[int, typer.Option(min=1, help="Look back this many days.")] = 30,
    store_dir: Annotated[Path, typer.Option(
        "--store", envvar="KERBFIRST_AUDIT_STORE",
        help="The audit event store (kerbfirst audit ingest).")] = Path("kerbfirst-audit"),
    as_json: JsonOpt = False,
) -> None:
    """Live exceptions that no NTLM flow in the audit store used in the last DAYS days."""
    from kerbfirst.audit.analytics import Analytics, duckdb_runner
    from kerbfirst.audit.store import EventStore
    from kerbfirst.policy import NtlmAttempt

    policy = load_policy()
    store = EventStore(store_dir)
    if not store.files():
        raise fail(f"the event store {store_dir} is empty: ingest logs first "
                    "(kerbfirst audit ingest), or pass --store DIR")
    at = current_time()
    since = at - timedelta(days=days)
    used: set[str] = set()
    with store.connect() as con:
        # Windows' events: the flows seen in the window, decided under the register.
        for f in Analytics(duckdb_runner(con)).flows():
            if f.last_seen < since:
                continue
            d = policy.decide(NtlmAttempt(f.client, f.server, f.user, f.domain), at)
            if d.exception is not None:
                used.add(d.exception.id)
        # kerbfirst's own acceptors name the exception that let each flow through.
        rows = con.execute(
            "SELECT DISTINCT json_extract_string(extra, '$.PolicyException') FROM events "
            "WHERE time >= ? AND extra IS NOT NULL",
            [since.replace(tzinfo=None)]).fetchall()
        used.update(str(r[0]) for r in rows if r[0])
    idle = [e for e in policy.active_exceptions(at) if e.id not in used]
    if as_json:
        typer.echo(json.dumps([reg.entry_json(e) for e in idle], indent=2))
        return
    _table(f"exceptions no flow used since {since.date().isoformat()} ({len(idle)})", idle)


@app.command()
def shadowed(as_json: JsonOpt = False) -> None:
    """Exceptions another live, broader, longer-lasting exception already covers."""
    pairs = reg.shadowed(load_policy(), current_time().date())
    if as_json:
        typer.echo(json.dumps([{"exception": n.id, "covered_by": b.id} for n, b in pairs],
                              indent=2))
        return
    _table(f"shadowed exceptions ({len(pairs)})", [n for n, _ in pairs],
           {n.id: f"covered by {b.id}" for n, b in pairs})


@app.command("history")
def show_history(
    verify_only: Annotated[bool, typer.Option("--verify", help="Only check the chain.")] = False,
) -> None:
    """Every recorded change; --verify checks the hash chain and the policy file against it."""
    try:
        records = history.verify(policy_path())
    except history.HistoryError as exc:
        raise fail(str(exc), code=3) from None
    if verify_only:
        typer.echo(f"history of {policy_path()} verifies: {len(records)} changes, head "
                   f"{records[-1]['hash'][:16] if records else '-'}")
        return
    for r in records:
        typer.echo(f"{r['seq']:>4} {r['time']} {r['who']}: {r['action']} {r['id'] or ''} "
                   f"- {r['why']}")
