"""`kerbfirst policy`: the NTLM exception register as a tool.

    kerbfirst policy init --mode audit --estate --max-days 180
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

import csv
import getpass
import io
import json
import os
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from kerbfirst.policy import ExceptionEntry, Mode, Policy, PolicyError
from kerbfirst.policy import register as reg
from kerbfirst.store import ntlm_register as history

app = typer.Typer(help="The NTLM policy and its exception register: owned, expiring, "
                  "justified exceptions with a verifiable history.", no_args_is_help=True)
exception_app = typer.Typer(help="Add, renew, revoke, list and show exceptions.",
                            no_args_is_help=True)
app.add_typer(exception_app, name="exception")

_state: dict[str, Any] = {"policy": Path("ntlm-policy.toml"), "now": None}

PolicyOpt = Annotated[Path, typer.Option(
    "--policy", envvar="KERBFIRST_NTLM_POLICY",
    help="The policy file (TOML). Default ./ntlm-policy.toml, or $KERBFIRST_NTLM_POLICY.")]
WhoOpt = Annotated[str | None, typer.Option(
    "--by", help="Who makes the change, for the history (default: the login name).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.callback()
def _options(
    policy: PolicyOpt = Path("ntlm-policy.toml"),
    now: Annotated[str | None, typer.Option(
        "--now", hidden=True, help="Pretend the time is this ISO 8601 instant (tests).")] = None,
) -> None:
    _state["policy"] = policy
    _state["now"] = None if now is None else datetime.fromisoformat(now).astimezone(UTC)


def _now() -> datetime:
    now = _state["now"]
    return now if isinstance(now, datetime) else datetime.now(UTC)


def _path() -> Path:
    return Path(_state["policy"])


def _fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True, highlight=False).print(Text(f"error: {message}", style="red"))
    return typer.Exit(code)


def _load() -> Policy:
    if not _path().exists():
        raise _fail(f"{_path()} does not exist: create it with `kerbfirst policy init` "
                    "(or pass --policy FILE)")
    try:
        return history.load(_path())
    except PolicyError as exc:
        raise _fail(str(exc)) from None


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise _fail(f"{what} must be a date YYYY-MM-DD, not {text!r}") from None


def _change(new: Policy, *, action: str, eid: str | None, before: ExceptionEntry | None,
            after: ExceptionEntry | None, why: str, by: str | None) -> None:
    try:
        with history.locked(_path()):
            history.commit(_path(), new, who=_who(by), action=action, exception_id=eid,
                           before=reg.entry_json(before) if before else None,
                           after=reg.entry_json(after) if after else None, why=why,
                           now=_now())
    except history.HistoryError as exc:
        raise _fail(f"refusing to change the register: {exc}") from None


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
    if _path().exists() or history.history_path(_path()).exists():
        raise _fail(f"{_path()} (or its history) exists already; edit it with the exception "
                    "commands")
    try:
        policy = Policy.from_dict({"mode": mode.value, "max_exception_days": max_days,
                                   "scope": {"estate": estate, "servers": server or [],
                                             "clients": client or []}})
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    _change(policy, action="init", eid=None, before=None, after=None,
            why="policy created", by=by)
    typer.echo(f"created {_path()} ({mode.value} mode, exceptions at most {max_days} days)")


@exception_app.command("add")
def exception_add(
    exception_id: Annotated[str, typer.Option("--id", help="A short unique id, e.g. EX-17.")],
    target: Annotated[str, typer.Option(help="Server name or pattern NTLM may reach.")],
    owner: Annotated[str, typer.Option(help="Who answers for it (a mailbox or team).")],
    expires: Annotated[str, typer.Option(help="Last day it holds, YYYY-MM-DD.")],
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
    policy = _load()
    entry = ExceptionEntry(exception_id.strip(), target.strip(), owner.strip(),
                           _date(expires, "--expires"), reason.strip(),
                           compensating_control.strip(), client, user)
    try:
        new = reg.add(policy, entry, _now().date())
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    _change(new, action="add", eid=entry.id, before=None, after=entry, why=entry.reason, by=by)
    typer.echo(f"added {entry.describe()}")


@exception_app.command("renew")
def exception_renew(
    exception_id: Annotated[str, typer.Argument(help="The exception's id.")],
    expires: Annotated[str, typer.Option(help="The new last day, YYYY-MM-DD.")],
    why: Annotated[str, typer.Option(help="Why it is still needed (recorded).")],
    by: WhoOpt = None,
) -> None:
    """Extend an exception, within the policy's maximum lifetime from today."""
    policy = _load()
    try:
        before = reg.find(policy, exception_id)
        new = reg.renew(policy, exception_id, _date(expires, "--expires"), _now().date())
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    after = reg.find(new, exception_id)
    _change(new, action="renew", eid=exception_id, before=before, after=after, why=why, by=by)
    typer.echo(f"renewed {after.describe()}")


@exception_app.command("revoke")
def exception_revoke(
    exception_id: Annotated[str, typer.Argument(help="The exception's id.")],
    why: Annotated[str, typer.Option(help="Why it goes (recorded).")],
    by: WhoOpt = None,
) -> None:
    """Remove an exception from the register (its history stays)."""
    policy = _load()
    try:
        before = reg.find(policy, exception_id)
        new = reg.revoke(policy, exception_id)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    _change(new, action="revoke", eid=exception_id, before=before, after=None, why=why, by=by)
    typer.echo(f"revoked {exception_id}; NTLM credentials it allowed are destroyed at the "
               "next policy reload")


@exception_app.command("list")
def exception_list(
    all_: Annotated[bool, typer.Option("--all", help="Include expired exceptions.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The register: live exceptions (with --all, expired ones too)."""
    policy = _load()
    today = _now().date()
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
    policy = _load()
    records = [r for r in history.read_history(_path()) if r.get("id") == exception_id]
    try:
        entry: dict[str, Any] | None = reg.entry_json(reg.find(policy, exception_id))
    except PolicyError:
        if not records:
            raise _fail(f"no exception {exception_id!r}, now or in the history") from None
        entry = None
    typer.echo(json.dumps({"exception": entry, "state": "in the register" if entry else
                           "revoked", "history": records}, indent=2, ensure_ascii=False))


def _within(text: str) -> timedelta:
    m = re.fullmatch(r"\s*(\d{1,5})\s*([dw]?)\s*", text)
    if not m:
        raise _fail(f"--within {text!r}: write a number of days, e.g. 30d or 4w")
    n = int(m.group(1))
    return timedelta(weeks=n) if m.group(2) == "w" else timedelta(days=n)


@app.command()
def expiring(
    within: Annotated[str, typer.Option(help="How far ahead: 30d, 4w, 90.")] = "30d",
    as_json: JsonOpt = False,
) -> None:
    """Live exceptions whose last day falls within the window, soonest first."""
    entries = reg.expiring(_load(), _now().date(), _within(within))
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
    from kerbfirst.policy import Flow

    policy = _load()
    store = EventStore(store_dir)
    if not store.files():
        raise _fail(f"the event store {store_dir} is empty: ingest logs first "
                    "(kerbfirst audit ingest), or pass --store DIR")
    now = _now()
    since = now - timedelta(days=days)
    used: set[str] = set()
    with store.connect() as con:
        # Windows' events: the flows seen in the window, decided under the register.
        for f in Analytics(duckdb_runner(con)).flows():
            if f.last_seen < since:
                continue
            d = policy.decide(Flow(f.client, f.server, f.user, f.domain), now)
            if d.exception is not None:
                used.add(d.exception.id)
        # kerbfirst's own acceptors name the exception that let each flow through.
        rows = con.execute(
            "SELECT DISTINCT json_extract_string(extra, '$.PolicyException') FROM events "
            "WHERE time >= ? AND extra IS NOT NULL",
            [since.replace(tzinfo=None)]).fetchall()
        used.update(str(r[0]) for r in rows if r[0])
    idle = [e for e in policy.active_exceptions(now) if e.id not in used]
    if as_json:
        typer.echo(json.dumps([reg.entry_json(e) for e in idle], indent=2))
        return
    _table(f"exceptions no flow used since {since.date().isoformat()} ({len(idle)})", idle)


@app.command()
def shadowed(as_json: JsonOpt = False) -> None:
    """Exceptions another live, broader, longer-lasting exception already covers."""
    pairs = reg.shadowed(_load(), _now().date())
    if as_json:
        typer.echo(json.dumps([{"exception": n.id, "covered_by": b.id} for n, b in pairs],
                              indent=2))
        return
    _table(f"shadowed exceptions ({len(pairs)})", [n for n, _ in pairs],
           {n.id: f"covered by {b.id}" for n, b in pairs})


@app.command()
def export(
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
) -> None:
    """The register for review: every exception, its state, and the history's head."""
    policy = _load()
    try:
        records = history.verify(_path())
        head = records[-1]["hash"] if records else None
        verified = "verified"
    except history.HistoryError as exc:
        head, verified = None, f"DOES NOT VERIFY: {exc}"
    today = _now().date()
    rows = [{**reg.entry_json(e), "state": "expired" if e.expired(today) else "live"}
            for e in policy.exceptions]
    if fmt == "json":
        text = json.dumps({"policy": str(_path()), "mode": policy.mode.value,
                           "exported": _now().isoformat(), "history": verified,
                           "history_head": head, "exceptions": rows}, indent=2,
                          ensure_ascii=False) + "\n"
    elif fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=[*reg.entry_json(ExceptionEntry(
            "", "", "", today, "", "")), "state"])
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    else:
        raise _fail(f"--format {fmt!r}: use json or csv")
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {len(rows)} exceptions to {out} (history {verified.split(':')[0]})")


credential_app = typer.Typer(help="NTLM credentials (NT hashes) of LocalKDC accounts, kept "
                             "only while a live exception names the account.",
                             no_args_is_help=True)
app.add_typer(credential_app, name="credential")
RealmDirOpt = Annotated[Path, typer.Option("--dir", help="The LocalKDC realm directory.")]


def _nt_store(directory: Path) -> tuple[Any, Any]:
    from kerbfirst.cli.config import ConfigError, load_config
    from kerbfirst.store.masterkey import MasterKeyError, load_master_key
    from kerbfirst.store.nt_hashes import NtHashStore

    try:
        cfg = load_config(directory)
        master = load_master_key(cfg.master_key_path)
    except (ConfigError, MasterKeyError) as exc:
        raise _fail(str(exc)) from None
    return cfg, NtHashStore(cfg.directory / "ntlm-credentials.db", master)


@credential_app.command("set")
def credential_set(
    account: Annotated[str, typer.Argument(help="The LocalKDC account (user name).")],
    directory: RealmDirOpt,
    domain: Annotated[str | None, typer.Option(
        help="The NTLM domain clients type (default: the realm's first label).")] = None,
    password_stdin: Annotated[bool, typer.Option(
        "--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Set the account's password (new Kerberos keys) and, because a live exception names
    the account, keep its NT hash until that exception ends."""
    import sys

    from kerbfirst.gss.ntlm_crypto import nt_hash
    from kerbfirst.store.masterkey import load_master_key
    from kerbfirst.store.nt_hashes import NtHashRefused, naming_exception
    from kerbfirst.store.principals import SqlitePrincipalStore, StoreError

    policy = _load()
    cfg, store = _nt_store(directory)
    dom = (domain or cfg.realm.split(".", 1)[0]).upper()
    entry = naming_exception(policy, account, dom, _now())
    if entry is None:  # refused before any key changes
        raise _fail(f"no live NTLM exception names {dom}\\{account}: register one with "
                    f"--user '{dom}\\{account}' first; the password was not changed")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise _fail("the two passwords differ; nothing was changed")
    if not password:
        raise _fail("empty password; nothing was changed")
    try:
        with SqlitePrincipalStore(cfg.db_path, load_master_key(cfg.master_key_path),
                                  realm=cfg.realm) as principals:
            principals.rekey(f"{account}@{cfg.realm}", password=password, now=_now())
        store.set_password(account, dom, nt_hash(password), policy, _now())
    except (StoreError, NtHashRefused) as exc:
        raise _fail(str(exc)) from None
    finally:
        store.close()
    typer.echo(f"password set for {account}@{cfg.realm}; its NTLM credential ({dom}\\"
               f"{account}) lives until {entry.id} ends on {entry.expires.isoformat()}")


@credential_app.command("list")
def credential_list(directory: RealmDirOpt) -> None:
    """Accounts that hold an NT hash, and the exception each lives under (never a hash)."""
    _, store = _nt_store(directory)
    try:
        for dom, account, eid in store.accounts():
            typer.echo(f"{dom}\\{account}\t{eid}")
    finally:
        store.close()


@credential_app.command("sweep")
def credential_sweep(directory: RealmDirOpt) -> None:
    """Destroy the NT hashes whose exception expired or was revoked."""
    policy = _load()
    _, store = _nt_store(directory)
    try:
        gone = store.sweep(policy, _now())
    finally:
        store.close()
    typer.echo(f"destroyed {len(gone)} NTLM credentials" + (f": {', '.join(gone)}"
                                                          if gone else ""))


@app.command("export-samba")
def export_samba(
    server: Annotated[str, typer.Option(help="The Samba server's name, as the policy's "
                                        "targets name it (e.g. FS01).")],
    out: Annotated[Path, typer.Option(help="Directory to write the files into.")],
    install_dir: Annotated[str | None, typer.Option(
        help="Where the files will live on the server (default: --out).")] = None,
) -> None:
    """The policy as smb.conf settings for one Samba server: `ntlm auth` globally and per
    excepted client IP. Include smb-ntlm.conf in the global section; regenerate after every
    change."""
    from kerbfirst.policy.samba import samba_files

    policy = _load()
    out.mkdir(parents=True, exist_ok=True)
    where = install_dir or str(out.resolve())
    files = samba_files(policy, server, where, _now().date(), source=str(_path()))
    for stale in out.glob("ntlm-client-*.conf"):  # an exception that ended loses its file
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        tmp = out / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, out / name)
    skipped = files["smb-ntlm.conf"].count("# not exported:")
    typer.echo(f"wrote {len(files)} files to {out} for {server}; add to smb.conf's global "
               "section: include = "
               f"{where}/smb-ntlm.conf" + (f" ({skipped} exceptions not expressible in "
                                          "Samba: see the file)" if skipped else ""))


@app.command("history")
def show_history(
    verify_only: Annotated[bool, typer.Option("--verify", help="Only check the chain.")] = False,
) -> None:
    """Every recorded change; --verify checks the hash chain and the policy file against it."""
    try:
        records = history.verify(_path())
    except history.HistoryError as exc:
        raise _fail(str(exc), code=3) from None
    if verify_only:
        typer.echo(f"history of {_path()} verifies: {len(records)} changes, head "
                   f"{records[-1]['hash'][:16] if records else '-'}")
        return
    for r in records:
        typer.echo(f"{r['seq']:>4} {r['time']} {r['who']}: {r['action']} {r['id'] or ''} "
                   f"- {r['why']}")
