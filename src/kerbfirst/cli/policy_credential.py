"""`kerbfirst policy credential`: NTLM credentials (NT hashes) of LocalKDC accounts, kept only
while a live exception names the account (store/nt_hashes.py)."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Annotated, Any

import typer

from kerbfirst.cli.policy_common import current_time, fail, load_policy

credential_app = typer.Typer(help="NTLM credentials (NT hashes) of LocalKDC accounts, kept "
                             "only while a live exception names the account.",
                             no_args_is_help=True)
RealmDirOpt = Annotated[Path, typer.Option("--dir", help="The LocalKDC realm directory.")]


def _nt_store(directory: Path) -> tuple[Any, Any]:
    from kerbfirst.app.realm_config import ConfigError, load_config
    from kerbfirst.store.masterkey import MasterKeyError, load_master_key
    from kerbfirst.store.nt_hashes import NtHashStore

    try:
        cfg = load_config(directory)
        master = load_master_key(cfg.master_key_path)
    except (ConfigError, MasterKeyError) as exc:
        raise fail(str(exc)) from None
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

    from kerbfirst.app.ntlm_credentials import NtlmCredentialError, password_set
    from kerbfirst.store.masterkey import load_master_key
    from kerbfirst.store.nt_hashes import naming_exception
    from kerbfirst.store.principals import SqlitePrincipalStore, StoreError

    policy = load_policy()
    cfg, store = _nt_store(directory)
    store.close()
    dom = (domain or cfg.realm.split(".", 1)[0]).upper()
    entry = naming_exception(policy, account, dom, current_time())
    if entry is None:  # refused before any key changes
        raise fail(f"no live NTLM exception names {dom}\\{account}: register one with "
                    f"--user '{dom}\\{account}' first; the password was not changed")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise fail("the two passwords differ; nothing was changed")
    if not password:
        raise fail("empty password; nothing was changed")
    try:
        with SqlitePrincipalStore(cfg.db_path, load_master_key(cfg.master_key_path),
                                  realm=cfg.realm) as principals:
            principals.rekey(f"{account}@{cfg.realm}", password=password, now=current_time())
        change = password_set(cfg, account, password, policy, current_time(), domain=dom)
    except (StoreError, NtlmCredentialError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"password set for {account}@{cfg.realm}; its NTLM credential ({dom}\\"
               f"{account}) lives until {entry.id} ends on {entry.expires.isoformat()}"
               if change.kept_until is not None else change.describe() or "")


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
    policy = load_policy()
    _, store = _nt_store(directory)
    try:
        gone = store.sweep(policy, current_time())
    finally:
        store.close()
    typer.echo(f"destroyed {len(gone)} NTLM credentials" + (f": {', '.join(gone)}"
                                                          if gone else ""))
