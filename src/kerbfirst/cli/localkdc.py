"""LocalKDC commands: realm init, principal add|list|delete|rekey|disable|enable|unlock,
keytab export, kdc serve, kinit.

This is glue only: the realm directory and its TOML (app/realm_config.py), the KDC's
assembly (app/kdc.py), the SQLite store (store/), the KDC core (kdc/), the asyncio servers
(net/) and the sans-I/O client (client/).
Passwords are read from the terminal or from standard input (`--password-stdin`), never from
the command line, where `ps` would show them.
"""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Annotated

import typer

from kerbfirst.app.kdc import build_kdc, kdc_policy
from kerbfirst.app.realm_config import (
    ConfigError,
    RealmConfig,
    check_listen,
    check_unix,
    default_realm,
    render_config,
    render_krb5_conf,
)
from kerbfirst.build_info import hot_path_build
from kerbfirst.cli.common import (
    DEFAULT_DIR,
    DirOption,
    console,
    fail,
    load_realm,
    open_store,
    out,
    qualify,
    utc_now,
)
from kerbfirst.kdc.service import Kdc
from kerbfirst.net.kdc_address import KdcAddress
from kerbfirst.net.kdc_server import KdcServerConfig, run_kdc_server
from kerbfirst.store.keytab import write_keytab
from kerbfirst.store.masterkey import MasterKeyError, create_master_key
from kerbfirst.store.principals import SqlitePrincipalStore, StoreError

realm_app = typer.Typer(help="Create and inspect a LocalKDC realm directory.", no_args_is_help=True)
keytab_app = typer.Typer(help="Export service keys as an MIT keytab.", no_args_is_help=True)
kdc_app = typer.Typer(help="Run the KDC.", no_args_is_help=True)















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
        raise fail(f"{directory} already holds a realm; choose another --dir or remove it")
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
        raise fail(f"{exc}; nothing was created") from None
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
            store.add_principal(f"krbtgt/{cfg.realm}@{cfg.realm}", password=None, now=utc_now())
        (directory / "kerbfirst.toml").write_text(render_config(cfg), encoding="utf-8")
        cfg.krb5_conf_path.write_text(render_krb5_conf(cfg), encoding="utf-8")
    except (OSError, sqlite3.Error, MasterKeyError, StoreError) as exc:
        for path in ours:
            if path not in existed:
                path.unlink(missing_ok=True)
        if made_dir:
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise fail(
            f"cannot create the realm in {directory}: {exc}; nothing was created. If its "
            "disk is full, free disk space and try again"
        ) from None


@realm_app.command("show")
def realm_show(directory: DirOption = DEFAULT_DIR) -> None:
    """Print the realm's configuration file."""
    cfg = load_realm(directory)
    out.print(render_config(cfg), markup=False)






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
    cfg = load_realm(directory)
    entries = []
    with open_store(cfg) as store:
        try:
            for name in names:
                entries += store.keytab_entries(
                    qualify(name, cfg.realm), now=utc_now(), all_kvnos=all_kvnos
                )
            write_keytab(out_path, entries, append=append)
        except (StoreError, OSError) as exc:
            raise fail(f"could not write {out_path}: {exc}") from None
    out.print(f"wrote {len(entries)} keys to {out_path}")


# ---------------------------------------------------------------- kdc






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
    cfg = load_realm(directory)
    try:
        if listen:
            cfg.listen = list(listen)
        addrs = tuple(check_listen(cfg.listen, field="--listen" if listen else "[kdc] listen"))
        if unix is not None:
            cfg.unix = check_unix([u for u in unix if u], field="--unix", base=cfg.directory)
    except ConfigError as exc:
        raise fail(str(exc)) from None
    # Fail now, with a clear message, rather than in every worker; and close it again: a
    # connection must not be inherited by forked workers, nor outlive its use.
    open_store(cfg).close()
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
        raise fail(
            f"cannot serve: {why}. Choose other addresses with --listen / --unix (ports "
            "below 1024 need root) or stop the process that holds them."
        ) from None
    raise typer.Exit(code=code)
