"""`kerbfirst policy mode` and `kerbfirst policy scope`: the policy's own settings (audit
or enforce; what it blocks; the longest exception), changed in place and recorded in the
history like the exceptions are; running services take a change at their next policy check
(store/ntlm_policy_file.py)."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from typing import Annotated

import typer

from kerbfirst.cli.policy_common import (
    WhoOpt,
    current_time,
    fail,
    load_policy,
    policy_path,
    record_change,
)
from kerbfirst.policy import Mode, PolicyError
from kerbfirst.policy import register as reg


def set_mode(
    mode: Annotated[Mode, typer.Argument(
        help="audit: log what would be blocked, and allow it; enforce: refuse NTLM in the "
        "policy's scope unless a live exception covers it.")],
    why: Annotated[str, typer.Option(
        help="Why now (recorded), e.g. the audit report that found no NTLM left outside "
        "exceptions.")],
    by: WhoOpt = None,
) -> None:
    """Switch the policy between audit and enforce, in place and in the history.

    Running services pick it up at their next policy check (about a second); no restart."""
    policy = load_policy()
    if not why.strip():
        raise fail("--why must say why the mode changes (it is recorded)")
    if policy.mode is mode:
        typer.echo(f"{policy_path()} is in {mode.value} mode already; nothing recorded")
        return
    new = dataclasses.replace(policy, mode=mode)
    record_change(new, action="mode", eid=None, before={"mode": policy.mode.value},
                  after={"mode": mode.value}, why=why.strip(), by=by)
    live = sum(1 for e in new.exceptions if not e.expired(current_time().date()))
    if mode is Mode.ENFORCE:
        typer.echo(f"{policy_path()}: enforce mode; NTLM in scope is refused except under the "
                   f"{live} live exception(s)")
    else:
        typer.echo(f"{policy_path()}: audit mode; NTLM is allowed and what enforce would "
                   "refuse is logged as such")


def set_scope(
    estate: Annotated[bool | None, typer.Option(
        "--estate/--no-estate", help="Block NTLM everywhere, or not.")] = None,
    server: Annotated[list[str] | None, typer.Option(
        help="Block NTLM to this server or pattern (repeatable; replaces the list).")] = None,
    client: Annotated[list[str] | None, typer.Option(
        help="Block NTLM from this client or pattern (repeatable; replaces the list).")] = None,
    no_servers: Annotated[bool, typer.Option(
        "--no-servers", help="Empty the server list.")] = False,
    no_clients: Annotated[bool, typer.Option(
        "--no-clients", help="Empty the client list.")] = False,
    max_days: Annotated[int | None, typer.Option(
        min=1, help="The longest a new or renewed exception may run, in days.")] = None,
    why: Annotated[str, typer.Option(help="Why the scope changes (recorded).")] = "",
    by: WhoOpt = None,
) -> None:
    """Change what the policy blocks, or the longest exception; without options, show it.

    Estate, servers and clients, recorded in the history; running services take it at
    their next policy check."""
    policy = load_policy()
    if (server and no_servers) or (client and no_clients):
        raise fail("--server with --no-servers (or --client with --no-clients) contradict")
    if estate is None and server is None and client is None and not no_servers \
            and not no_clients and max_days is None:
        typer.echo(json.dumps(reg.scope_json(policy), indent=2))
        return
    if not why.strip():
        raise fail("--why must say why the scope changes (it is recorded)")
    try:
        new = reg.rescope(policy, estate=estate,
                          servers=[] if no_servers else server,
                          clients=[] if no_clients else client, max_exception_days=max_days)
    except PolicyError as exc:
        raise fail(str(exc)) from None
    if reg.scope_json(new) == reg.scope_json(policy):
        typer.echo(f"{policy_path()}: the scope is so already; nothing recorded")
        return
    record_change(new, action="scope", eid=None, before=reg.scope_json(policy),
                  after=reg.scope_json(new), why=why.strip(), by=by)
    typer.echo(f"{policy_path()}: scope {json.dumps(reg.scope_json(new))}")
    if max_days is not None:
        today = current_time().date()
        for e in new.active_exceptions(current_time()):
            if e.expires > today + timedelta(days=max_days):
                typer.echo(f"note: {e.id} runs to {e.expires.isoformat()}, past the new "
                           f"maximum; it stays until it ends, is renewed or is revoked")
