"""LocalKDC commands: realm init, principal add|list|delete|rekey|disable|enable|unlock,
keytab export, kdc serve, kinit.

This is glue only: the realm directory and its TOML (cli/config.py), the SQLite store
(store/), the KDC core (kdc/), the asyncio servers (net/) and the sans-I/O client (client/).
Passwords are read from the terminal or from standard input (`--password-stdin`), never from
the command line, where `ps` would show them.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from kerbfirst.build_info import hot_path_build
from kerbfirst.cli.config import (
    ConfigError,
    RealmConfig,
    check_listen,
    check_unix,
    default_realm,
    load_config,
    render_config,
    render_krb5_conf,
)
from kerbfirst.crypto import SUPPORTED_ETYPES, KerberosCryptoError, etype_from_name, get_profile
from kerbfirst.kdc.policy import KdcPolicy, LockoutPolicy
from kerbfirst.kdc.service import Kdc
from kerbfirst.krb.names import PrincipalNameError, parse_name
from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_server import KdcServerConfig, run_kdc_server
from kerbfirst.store.audit_log import JsonLinesAuditLog
from kerbfirst.store.keytab import write_keytab
from kerbfirst.store.masterkey import MasterKeyError, create_master_key, load_master_key
from kerbfirst.store.principals import SqlitePrincipalStore, StoreError

console = Console(stderr=True)
out = Console()

realm_app = typer.Typer(help="Create and inspect a LocalKDC realm directory.", no_args_is_help=True)
keytab_app = typer.Typer(help="Export service keys as an MIT keytab.", no_args_is_help=True)
kdc_app = typer.Typer(help="Run the KDC.", no_args_is_help=True)

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


def _fail(message: str) -> typer.Exit:
    console.print(f"[red]error:[/red] {escape(message)}")  # "[policy]" is not markup
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


def _open_store(cfg: RealmConfig) -> SqlitePrincipalStore:
    """The realm's store; callers close it (`with`), so that this process never holds a
    connection it no longer uses."""
    try:
        master = load_master_key(cfg.master_key_path)
        return SqlitePrincipalStore(cfg.db_path, master, realm=cfg.realm)
    except (MasterKeyError, StoreError) as exc:
        raise _fail(f"cannot open the principal store {cfg.db_path}: {exc}") from None
    except (sqlite3.Error, OSError) as exc:  # opening writes (WAL, schema): a full disk
        raise _fail(
            f"cannot open the principal store {cfg.db_path}: {exc}; nothing was changed. "
            "If its disk is full, free disk space and try again"
        ) from None


def _qualify(name: str, realm: str) -> str:
    """MIT's rule: a name without an unescaped "@" belongs to the default realm."""
    try:
        return parse_name(name, default_realm=realm).unparse()
    except PrincipalNameError as exc:
        raise _fail(f"{name!r} is not a principal name: {exc}") from None


# ---------------------------------------------------------------- realm


@realm_app.command("init")
def realm_init(
    directory: DirOption = DEFAULT_DIR,
    realm: Annotated[
        str | None, typer.Option(help="Realm name; default: this host's NetBIOS-style name.")
    ] = None,
    listen: Annotated[
        list[str] | None,
        typer.Option(envvar="KERBFIRST_LISTEN",
                     help="host:port for UDP and TCP (repeatable); default 127.0.0.1:88."),
    ] = None,
    unix: Annotated[
        list[str] | None, typer.Option(help="UNIX socket path (repeatable); default kdc.sock.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="KDC worker processes.")] = 1,
) -> None:
    """Create a realm directory: configuration, store, master key (0600), krbtgt, krb5.conf.

    The realm name is kept exactly as given (realm names are case-sensitive, as in MIT
    krb5); a name with lower-case letters is accepted with a note naming the upper-case
    form that convention expects."""
    if (directory / "kerbfirst.toml").exists():
        raise _fail(f"{directory} already holds a realm; choose another --dir or remove it")
    name = realm or default_realm()
    if name != name.upper():
        console.print(f"note: realm name {name!r} kept as given: realm names are case-sensitive "
                      f"and clients must write it the same way (by convention realm names are "
                      f"upper case: --realm {name.upper()})", markup=False)
    cfg = RealmConfig(directory=directory.resolve(), realm=name)
    try:
        if listen:
            check_listen(list(listen), field="--listen")
            cfg.listen = list(listen)
        if unix is not None:
            cfg.unix = check_unix(list(unix), field="--unix")
        check_unix(cfg.unix, field="--unix" if unix else "--dir", base=cfg.directory)
    except ConfigError as exc:
        raise _fail(f"{exc}; nothing was created") from None
    cfg.workers = workers
    _create_realm(cfg)
    out.print(f"realm {cfg.realm} created in {directory}")
    out.print(f"  clients: KRB5_CONFIG={cfg.krb5_conf_path}")
    out.print(f"  serve:   kerbfirst kdc serve --dir {directory}")


def _create_realm(cfg: RealmConfig) -> None:
    """The realm's files, all or none: a failure (a full disk) removes what this call
    created, so that the next `realm init` starts clean instead of finding a master key
    without a configuration."""
    directory = cfg.directory
    made_dir = not directory.exists()
    db = str(cfg.db_path)
    ours = [Path(p) for p in (cfg.master_key_path, db, f"{db}-wal", f"{db}-shm",
                              f"{db}-journal", directory / "kerbfirst.toml", cfg.krb5_conf_path)]
    existed = {p for p in ours if p.exists()}
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        master = create_master_key(cfg.master_key_path)
        with SqlitePrincipalStore(cfg.db_path, master, realm=cfg.realm) as store:
            # RFC 4120 6.2: the TGS is krbtgt/REALM@REALM; its keys are random, never a
            # password.
            store.add_principal(f"krbtgt/{cfg.realm}@{cfg.realm}", password=None, now=_now())
        (directory / "kerbfirst.toml").write_text(render_config(cfg), encoding="utf-8")
        cfg.krb5_conf_path.write_text(render_krb5_conf(cfg), encoding="utf-8")
    except (OSError, sqlite3.Error, MasterKeyError, StoreError) as exc:
        for path in ours:
            if path not in existed:
                path.unlink(missing_ok=True)
        if made_dir:
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise _fail(
            f"cannot create the realm in {directory}: {exc}; nothing was created. If its "
            "disk is full, free disk space and try again"
        ) from None


@realm_app.command("show")
def realm_show(directory: DirOption = DEFAULT_DIR) -> None:
    """Print the realm's configuration file."""
    cfg = _config(directory)
    out.print(render_config(cfg), markup=False)


def _etypes(names: list[str] | None) -> tuple[int, ...]:
    if not names:
        return SUPPORTED_ETYPES
    try:
        return tuple(etype_from_name(n) for n in names)
    except KerberosCryptoError as exc:
        raise _fail(
            f"{exc}; kerbfirst supports only the AES enctypes (RFC 3962, RFC 8009)"
        ) from None


def _etype_name(etype: int) -> str:
    try:
        return get_profile(etype).name
    except KerberosCryptoError:
        return str(etype)


# ---------------------------------------------------------------- keytab


@keytab_app.command("export")
def keytab_export(
    names: Annotated[list[str], typer.Argument(help="Service principals to export.")],
    out_path: Annotated[Path, typer.Option("--out", "-o", help="Keytab file to write (0600).")],
    directory: DirOption = DEFAULT_DIR,
    append: Annotated[bool, typer.Option(help="Keep the entries already in the file.")] = False,
    all_kvnos: Annotated[
        bool, typer.Option(help="Export every kvno kept, not only the current.")
    ] = False,
) -> None:
    """Write service keys as an MIT keytab (format 0x502), readable by `klist -k`."""
    cfg = _config(directory)
    entries = []
    with _open_store(cfg) as store:
        try:
            for name in names:
                entries += store.keytab_entries(
                    _qualify(name, cfg.realm), now=_now(), all_kvnos=all_kvnos
                )
            write_keytab(out_path, entries, append=append)
        except (StoreError, OSError) as exc:
            raise _fail(f"could not write {out_path}: {exc}") from None
    out.print(f"wrote {len(entries)} keys to {out_path}")


# ---------------------------------------------------------------- kdc


def kdc_policy(cfg: RealmConfig) -> KdcPolicy:
    p = cfg.policy
    return KdcPolicy(
        realm=cfg.realm,
        max_life=p.max_life,
        max_renewable_life=p.max_renewable_life,
        clock_skew=p.clock_skew,
        require_preauth=p.require_preauth,
        lockout=LockoutPolicy(
            threshold=p.lockout_threshold, window=p.lockout_window, duration=p.lockout_duration
        ),
    )


def build_kdc(cfg: RealmConfig, policy: KdcPolicy | None = None) -> Kdc:
    """The KDC one `kdc serve` worker runs (also what bench/kdc_icount.py measures): the
    realm's store, its JSON-lines audit log, the operating system's randomness."""
    audit_log = JsonLinesAuditLog(
        cfg.audit_path, max_size=cfg.audit_max_size, keep=cfg.audit_keep
    )
    return Kdc(
        database=_open_store(cfg),
        policy=policy or kdc_policy(cfg),
        random=os.urandom,
        audit=audit_log.write,
    )


# One line per paragraph: the help renderer keeps a docstring's line breaks.
_SERVE_HELP = (
    "Serve the realm's KDC on UDP, TCP and UNIX sockets until SIGTERM/SIGINT.\n\n"
    "Administration while serving: `principal add`, `rekey`, `delete`, `disable`, `enable` "
    "and `unlock` are seen by every worker in its first request that starts 5 ms or more "
    "after the command returns.\n\n"
    "When the store cannot be written (disk full, its write lock held by another process "
    "for more than 5 s), pre-authentication attempts are answered KDC_ERR_SVC_UNAVAILABLE "
    "instead of being judged, until failures can be counted again."
)


@kdc_app.command("serve", help=_SERVE_HELP)
def kdc_serve(
    directory: DirOption = DEFAULT_DIR,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Worker processes (default: config).")
    ] = None,
    listen: Annotated[
        list[str] | None, typer.Option(help="host:port for UDP+TCP (default: config).")
    ] = None,
    unix: Annotated[
        list[str] | None,
        typer.Option(help="UNIX socket path (repeatable; default: config). --unix '' for none."),
    ] = None,
) -> None:
    """Serve the realm's KDC (help: _SERVE_HELP)."""
    cfg = _config(directory)
    try:
        if listen:
            cfg.listen = list(listen)
        addrs = tuple(check_listen(cfg.listen, field="--listen" if listen else "[kdc] listen"))
        if unix is not None:
            cfg.unix = check_unix([u for u in unix if u], field="--unix", base=cfg.directory)
    except ConfigError as exc:
        raise _fail(str(exc)) from None
    # Fail now, with a clear message, rather than in every worker; and close it again: a
    # connection must not be inherited by forked workers, nor outlive its use.
    _open_store(cfg).close()
    config = KdcServerConfig(
        udp_listen=addrs,
        tcp_listen=addrs,
        unix_paths=tuple(str(p) for p in cfg.unix_paths()),
        workers=workers or cfg.workers,
        max_message_size=cfg.max_message_size,
    )
    policy = kdc_policy(cfg)

    def handler_factory() -> Kdc:
        # Runs in each worker after the fork: its own SQLite connection and audit file handle.
        return build_kdc(cfg, policy)

    def listening(addresses: tuple[KdcAddress, ...]) -> None:
        shown = ", ".join(str(a) for a in addresses)
        console.print(
            f"kerbfirst KDC for {cfg.realm} listening on {shown} ({hot_path_build()})"
        )

    try:
        code = run_kdc_server(handler_factory, config, on_listening=listening)
    except (OSError, ValueError) as exc:
        # The binding code names the one address that failed (kdc_sockets).
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise _fail(
            f"cannot serve: {why}. Choose other addresses with --listen / --unix (ports "
            "below 1024 need root) or stop the process that holds them."
        ) from None
    raise typer.Exit(code=code)
