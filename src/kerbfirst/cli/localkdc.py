"""LocalKDC commands: realm init, principal add|list|delete|rekey, keytab export, kdc serve, kinit.

This is glue only: the realm directory and its TOML (cli/config.py), the SQLite store
(store/), the KDC core (kdc/), the asyncio servers (net/) and the sans-I/O client (client/).
Passwords are read from the terminal or from standard input (`--password-stdin`), never from
the command line, where `ps` would show them.
"""

from __future__ import annotations

import getpass
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kerbfirst.cli.config import (
    ConfigError,
    RealmConfig,
    default_realm,
    load_config,
    render_config,
    render_krb5_conf,
)

console = Console(stderr=True)
out = Console()

realm_app = typer.Typer(help="Create and inspect a LocalKDC realm directory.", no_args_is_help=True)
principal_app = typer.Typer(help="Manage the principals of a realm.", no_args_is_help=True)
keytab_app = typer.Typer(help="Export service keys as an MIT keytab.", no_args_is_help=True)
kdc_app = typer.Typer(help="Run the KDC.", no_args_is_help=True)

DirOption = Annotated[
    Path,
    typer.Option(
        "--dir", "-d", envvar="KERBFIRST_REALM_DIR",
        help="Realm directory (holds kerbfirst.toml, the store, the master key).",
    ),
]
DEFAULT_DIR = Path("kerbfirst-realm")


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {message}")
    return typer.Exit(code=1)


def _config(directory: Path) -> RealmConfig:
    try:
        return load_config(directory)
    except ConfigError as exc:
        raise _fail(str(exc)) from None


def _now() -> datetime:
    return datetime.now(UTC)


def _read_password(password_stdin: bool, *, confirm: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise _fail("--password-stdin given but standard input is empty")
        return line.rstrip("\r\n")
    pw = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Password again: ") != pw:
        raise _fail("the two passwords differ; nothing was changed")
    return pw


def _qualify(name: str, realm: str) -> str:
    # MIT's rule: a name without an unescaped "@" belongs to the default realm.
    from kerbfirst.store.names import parse_principal  # noqa: PLC0415

    return str(parse_principal(name, default_realm=realm))


def _open_store(cfg: RealmConfig):  # type: ignore[no-untyped-def]
    from kerbfirst.store.masterkey import load_master_key  # noqa: PLC0415
    from kerbfirst.store.principals import SqlitePrincipalStore  # noqa: PLC0415

    return SqlitePrincipalStore(cfg.db_path, load_master_key(cfg.master_key_path), realm=cfg.realm)
