"""What the `kerbfirst` commands share: the error exit, the realm directory option, the
password prompt, enctype names, and the realm's store opened or a clear failure."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from kerbfirst.app.kdc import StoreUnavailable
from kerbfirst.app.kdc import open_store as app_open_store
from kerbfirst.app.realm_config import ConfigError, RealmConfig, load_config
from kerbfirst.crypto import SUPPORTED_ETYPES, KerberosCryptoError, etype_from_name, get_profile
from kerbfirst.krb.names import PrincipalNameError, parse_name
from kerbfirst.store.principals import SqlitePrincipalStore

console = Console(stderr=True)
out = Console()

DirOption = Annotated[
    Path,
    typer.Option(
        "--dir",
        "-d",
        envvar="KERBFIRST_REALM_DIR",
        help="Realm directory (holds kerbfirst.toml, the store, the master key).",
    ),
]
DEFAULT_DIR = Path("kerbfirst-realm")


def fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}")  # "[policy]" is not markup
    return typer.Exit(code=1)


def load_realm(directory: Path) -> RealmConfig:
    try:
        return load_config(directory)
    except ConfigError as exc:
        raise fail(str(exc)) from None


def utc_now() -> datetime:
    return datetime.now(UTC)


def read_password(password_stdin: bool, *, confirm: bool) -> str:
    if password_stdin:
        line = sys.stdin.readline()
        if not line:
            raise fail("--password-stdin given but standard input is empty")
        return line.rstrip("\r\n")
    pw = getpass.getpass("Password: ")
    if confirm and getpass.getpass("Password again: ") != pw:
        raise fail("the two passwords differ; nothing was changed")
    return pw


def open_store(cfg: RealmConfig) -> SqlitePrincipalStore:
    """The realm's store (app.kdc.open_store), or the command fails saying why."""
    try:
        return app_open_store(cfg)
    except StoreUnavailable as exc:
        raise fail(str(exc)) from None


def qualify(name: str, realm: str) -> str:
    """MIT's rule: a name without an unescaped "@" belongs to the default realm."""
    try:
        return parse_name(name, default_realm=realm).unparse()
    except PrincipalNameError as exc:
        raise fail(f"{name!r} is not a principal name: {exc}") from None


def parse_etypes(names: list[str] | None) -> tuple[int, ...]:
    if not names:
        return SUPPORTED_ETYPES
    try:
        return tuple(etype_from_name(n) for n in names)
    except KerberosCryptoError as exc:
        raise fail(
            f"{exc}; kerbfirst supports only the AES enctypes (RFC 3962, RFC 8009)"
        ) from None


def etype_name(etype: int) -> str:
    try:
        return get_profile(etype).name
    except KerberosCryptoError:
        return str(etype)
