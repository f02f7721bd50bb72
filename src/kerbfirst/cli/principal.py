"""`kerbfirst principal add|list|delete|rekey|disable|enable|unlock`: a realm's principals.

Glue only, as localkdc.py: the store (store/) does the work. A serving KDC sees each change
in its first request that starts 5 ms or more after the command returns (principal_lookup.py
explains the delay). New passwords are checked against the realm's minimum length before
anything is changed, and `add` refuses an existing name before asking for a password.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from kerbfirst.app import ntlm_credentials
from kerbfirst.app.kdc import kdc_policy
from kerbfirst.app.realm_config import RealmConfig
from kerbfirst.cli.common import (
    DEFAULT_DIR,
    DirOption,
    fail,
    load_realm,
    open_store,
    out,
    parse_etypes,
    qualify,
    read_password,
    utc_now,
)
from kerbfirst.policy import Policy
from kerbfirst.store.principal_records import check_password
from kerbfirst.store.principals import PrincipalNotFound, StoreError

principal_app = typer.Typer(help="Manage the principals of a realm.", no_args_is_help=True)

# Where `add` and `rekey` look for live NTLM exceptions (app/ntlm_credentials.py).
NtlmPolicyOption = Annotated[
    Path | None,
    typer.Option(help="NTLM policy file: when a live exception names the account, its NT "
                 "hash is kept (sealed) until the exception ends; otherwise any old one "
                 "is destroyed (default: ntlm-policy.toml in the realm directory, if "
                 "present).")
]


def _refused(exc: Exception) -> typer.Exit:
    """A store error as the one line an administrator reads (never a traceback)."""
    if isinstance(exc, sqlite3.Error):
        # Every write is one transaction: a failed one changed nothing.
        return fail(
            f"the principal store could not be changed ({exc}); nothing was changed. Free "
            "disk space, or wait for the process that holds its write lock, and try again"
        )
    return fail(str(exc))


def _read_new_password(password_stdin: bool, *, min_length: int) -> str:
    """A new password (asked twice on a terminal), refused when empty or shorter than the
    realm's minimum, before anything is changed."""
    pw = read_password(password_stdin, confirm=True)
    try:
        check_password(pw, min_length=min_length)
    except StoreError as exc:
        raise fail(f"{exc}; nothing was changed") from None
    return pw


@principal_app.command(
    "add",
    help=(
        "Add a principal (a user with a password, or a service with random keys).\n\n"
        "A password must have at least `min_password_length` characters (\\[policy] in "
        "kerbfirst.toml, default 8); an empty one is always refused. An existing name is refused "
        "before any password is asked for."
    ),
)
def principal_add(
    name: Annotated[str, typer.Argument(help="e.g. alice, or host/server.example.test")],
    directory: DirOption = DEFAULT_DIR,
    random_key: Annotated[
        bool, typer.Option("--random", help="Random keys (services); no password.")
    ] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
    enctypes: Annotated[
        list[str] | None,
        typer.Option("--enctype", "-e", help="MIT enctype name (repeatable); default all four."),
    ] = None,
    no_preauth: Annotated[
        bool, typer.Option("--no-preauth", help="Do not require pre-authentication.")
    ] = False,
    ntlm_policy: NtlmPolicyOption = None,
) -> None:
    cfg = load_realm(directory)
    full = qualify(name, cfg.realm)
    etypes = parse_etypes(enctypes)
    policy = _ntlm_policy(cfg, ntlm_policy)
    with open_store(cfg) as store:
        try:
            store.get_info(full)
        except PrincipalNotFound:
            pass
        except (StoreError, sqlite3.Error) as exc:
            raise _refused(exc) from None
        else:
            raise fail(
                f"principal {full} already exists; use `principal rekey` to change its keys"
            )
        min_length = cfg.policy.min_password_length
        password = (
            None
            if random_key
            else _read_new_password(password_stdin, min_length=min_length)
        )
        try:
            info = store.add_principal(
                full,
                password=password,
                etypes=etypes,
                requires_preauth=not no_preauth,
                min_password_length=min_length,
                now=utc_now(),
            )
        except (StoreError, sqlite3.Error) as exc:
            raise _refused(exc) from None
    out.print(f"added {info.name}")
    _ntlm_credential(cfg, full, password, policy)


@principal_app.command("list")
def principal_list(
    directory: DirOption = DEFAULT_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List principals with kvno, enctypes (never key material), failures and state."""
    cfg = load_realm(directory)
    with open_store(cfg) as store:
        try:
            infos = store.list_principals()
        except sqlite3.Error as exc:
            raise _refused(exc) from None
    lockout, now = kdc_policy(cfg).lockout, utc_now()
    if as_json:
        for info in infos:
            data = vars_of(info)
            data["locked"] = lockout.locked(info.fail_count, info.last_failed, now)
            sys.stdout.write(json.dumps(data, sort_keys=True) + "\n")
        return
    # No rules, and one enctype a line, so that the table fits 80 columns with names of ~30
    # characters; the short columns are never cut, and a longer name wraps (never cut).
    table = Table(box=None, pad_edge=False, header_style="bold")
    table.add_column("principal", overflow="fold")
    table.add_column("kvno", no_wrap=True)
    table.add_column("enctypes", max_width=max(map(len, _SHORT_ETYPE.values())))
    table.add_column("pre-auth", no_wrap=True)
    table.add_column("failures", no_wrap=True)
    table.add_column("state")
    for info in infos:
        data = vars_of(info)
        state = "disabled" if info.disabled else ""
        if lockout.locked(info.fail_count, info.last_failed, now):
            state = ", ".join(filter(None, (state, "locked out")))
        table.add_row(
            str(data.get("name", "")),
            str(data.get("kvno", "")),
            " ".join(_SHORT_ETYPE.get(e, str(e)) for e in data.get("etypes", ())),
            "yes" if data.get("requires_preauth", True) else "no",
            str(data.get("fail_count", 0)),
            state or "ok",
        )
    out.print(table)


# MIT's short aliases (kdc.conf(5) "Encryption types"), so the table fits a terminal.
_SHORT_ETYPE = {17: "aes128-sha1", 18: "aes256-sha1", 19: "aes128-sha2", 20: "aes256-sha2"}


def vars_of(obj: object) -> dict[str, Any]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(obj).items()}
    return dict(getattr(obj, "__dict__", {}))


def _plain(value: object) -> object:
    """JSON-ready: times as ISO 8601, durations as seconds."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return value


@principal_app.command("delete")
def principal_delete(
    name: str,
    directory: DirOption = DEFAULT_DIR,
    force: Annotated[bool, typer.Option("--force", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a principal and all its keys."""
    cfg = load_realm(directory)
    full = qualify(name, cfg.realm)
    if full == f"krbtgt/{cfg.realm}@{cfg.realm}":
        raise fail("refusing to delete the realm's krbtgt: every ticket depends on it")
    if not force and not typer.confirm(f"delete {full}?"):
        raise typer.Exit(code=1)
    with open_store(cfg) as store:
        try:
            store.delete_principal(full)
        except (StoreError, sqlite3.Error) as exc:
            raise _refused(exc) from None
    out.print(f"deleted {full}")


def _set_state(name: str, directory: Path, done: str, **change: Any) -> None:
    cfg = load_realm(directory)
    full = qualify(name, cfg.realm)
    with open_store(cfg) as store:
        try:
            store.set_attributes(full, now=utc_now(), **change)
        except (StoreError, sqlite3.Error) as exc:
            raise _refused(exc) from None
    out.print(f"{done} {full}")


@principal_app.command(
    "disable",
    help=(
        "Refuse every ticket to a principal until `principal enable` (MIT: -allow_tix).\n\n"
        "A serving KDC refuses it from its first request 5 ms after this command returns; clients"
        " see KDC_ERR_CLIENT_REVOKED, the same answer as for a locked-out principal."
    ),
)
def principal_disable(name: str, directory: DirOption = DEFAULT_DIR) -> None:
    cfg = load_realm(directory)
    if qualify(name, cfg.realm) == f"krbtgt/{cfg.realm}@{cfg.realm}":
        raise fail("refusing to disable the realm's krbtgt: every ticket depends on it")
    _set_state(name, directory, "disabled", disabled=True)


@principal_app.command(
    "enable",
    help=(
        "Allow a disabled principal tickets again (MIT: +allow_tix).\n\n"
        "Its failure count is left as it is; `principal unlock` clears it."
    ),
)
def principal_enable(name: str, directory: DirOption = DEFAULT_DIR) -> None:
    _set_state(name, directory, "enabled", disabled=False)


@principal_app.command(
    "unlock",
    help=(
        "Clear a principal's failed pre-authentication count, ending a lock-out at once.\n\n"
        "As MIT's kadmin modprinc -unlock. A serving KDC sees it in its first request 5 ms after "
        "this returns."
    ),
)
def principal_unlock(name: str, directory: DirOption = DEFAULT_DIR) -> None:
    _set_state(name, directory, "unlocked", fail_count=0)


@principal_app.command(
    "rekey",
    help=(
        "Give a principal new keys at the next kvno (a new password, or random keys).\n\n"
        "A serving KDC uses the new keys from its first request 5 ms after this returns: the old "
        "password no longer pre-authenticates."
    ),
)
def principal_rekey(
    name: str,
    directory: DirOption = DEFAULT_DIR,
    random_key: Annotated[bool, typer.Option("--random", help="New random keys.")] = False,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the new password from stdin.")
    ] = False,
    keep_old: Annotated[
        int, typer.Option(min=0, help="Previous kvnos to keep so issued tickets still work.")
    ] = 2,
    ntlm_policy: NtlmPolicyOption = None,
) -> None:
    cfg = load_realm(directory)
    full = qualify(name, cfg.realm)
    policy = _ntlm_policy(cfg, ntlm_policy)
    min_length = cfg.policy.min_password_length
    with open_store(cfg) as store:
        try:
            store.get_info(full)
        except (StoreError, sqlite3.Error) as exc:
            raise _refused(exc) from None
        password = (
            None
            if random_key
            else _read_new_password(password_stdin, min_length=min_length)
        )
        try:
            info = store.rekey(
                full,
                password=password,
                keep_old=keep_old,
                min_password_length=min_length,
                now=utc_now(),
            )
        except (StoreError, sqlite3.Error) as exc:
            raise _refused(exc) from None
    out.print(f"rekeyed {full}: kvno {vars_of(info).get('kvno', '?')}")
    _ntlm_credential(cfg, full, password, policy)


def _ntlm_policy(cfg: RealmConfig, path: Path | None) -> Policy | None:
    """Read before any key changes: a bad policy file changes nothing."""
    try:
        return ntlm_credentials.ntlm_policy(cfg, path)
    except ntlm_credentials.NtlmCredentialError as exc:
        raise fail(f"{exc}; nothing was changed") from None


def _ntlm_credential(cfg: RealmConfig, principal: str, password: str | None,
                     policy: Policy | None) -> None:
    account = ntlm_credentials.account_of(principal, cfg)
    if account is None:
        return
    try:  # random keys: no password, so no NT hash; an old one is destroyed
        change = ntlm_credentials.password_set(cfg, account, password or "",
                                               policy if password else None, utc_now())
    except ntlm_credentials.NtlmCredentialError as exc:
        raise fail(f"the Kerberos keys changed, but the NTLM credential did not: {exc}") \
            from None
    message = change.describe()
    if message:
        out.print(message)
