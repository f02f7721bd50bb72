"""LocalKDC commands: realm init, principal add|list|delete|rekey, keytab export, kdc serve, kinit.

This is glue only: the realm directory and its TOML (cli/config.py), the SQLite store
(store/), the KDC core (kdc/), the asyncio servers (net/) and the sans-I/O client (client/).
Passwords are read from the terminal or from standard input (`--password-stdin`), never from
the command line, where `ps` would show them.
"""

from __future__ import annotations

import getpass
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

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
from kerbfirst.crypto import SUPPORTED_ETYPES, KerberosCryptoError, etype_from_name, get_profile
from kerbfirst.kdc.policy import KdcPolicy, LockoutPolicy
from kerbfirst.kdc.service import Kdc
from kerbfirst.net.kdc_address import KdcAddress, parse_kdc_address
from kerbfirst.net.kdc_server import KdcServerConfig, run_kdc_server
from kerbfirst.store.audit_log import JsonLinesAuditLog
from kerbfirst.store.keytab import write_keytab
from kerbfirst.store.masterkey import MasterKeyError, create_master_key, load_master_key
from kerbfirst.store.names import PrincipalNameError, parse_name
from kerbfirst.store.principals import SqlitePrincipalStore, StoreError
from kerbfirst.wire import der

console = Console(stderr=True)
out = Console()

realm_app = typer.Typer(help="Create and inspect a LocalKDC realm directory.", no_args_is_help=True)
principal_app = typer.Typer(help="Manage the principals of a realm.", no_args_is_help=True)
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


def _open_store(cfg: RealmConfig) -> SqlitePrincipalStore:
    try:
        master = load_master_key(cfg.master_key_path)
        return SqlitePrincipalStore(cfg.db_path, master, realm=cfg.realm)
    except (MasterKeyError, StoreError) as exc:
        raise _fail(str(exc)) from None


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
        typer.Option(help="host:port for UDP and TCP (repeatable); default 127.0.0.1:88."),
    ] = None,
    unix: Annotated[
        list[str] | None, typer.Option(help="UNIX socket path (repeatable); default kdc.sock.")
    ] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="KDC worker processes.")] = 1,
) -> None:
    """Create a realm directory: configuration, store, master key (0600), krbtgt, krb5.conf."""
    if (directory / "kerbfirst.toml").exists():
        raise _fail(f"{directory} already holds a realm; choose another --dir or remove it")
    cfg = RealmConfig(directory=directory.resolve(), realm=(realm or default_realm()).upper())
    if listen:
        cfg.listen = list(listen)
    if unix is not None:
        cfg.unix = list(unix)
    cfg.workers = workers
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    master = create_master_key(cfg.master_key_path)
    store = SqlitePrincipalStore(cfg.db_path, master, realm=cfg.realm)
    # RFC 4120 6.2: the TGS is krbtgt/REALM@REALM; its keys are random, never a password.
    store.add_principal(f"krbtgt/{cfg.realm}@{cfg.realm}", password=None, now=_now())
    (directory / "kerbfirst.toml").write_text(render_config(cfg), encoding="utf-8")
    cfg.krb5_conf_path.write_text(render_krb5_conf(cfg), encoding="utf-8")
    out.print(f"realm {cfg.realm} created in {directory}")
    out.print(f"  clients: KRB5_CONFIG={cfg.krb5_conf_path}")
    out.print(f"  serve:   kerbfirst kdc serve --dir {directory}")


@realm_app.command("show")
def realm_show(directory: DirOption = DEFAULT_DIR) -> None:
    """Print the realm's configuration file."""
    cfg = _config(directory)
    out.print(render_config(cfg), markup=False)


# ---------------------------------------------------------------- principals


@principal_app.command("add")
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
) -> None:
    """Add a principal (a user with a password, or a service with random keys)."""
    cfg = _config(directory)
    store = _open_store(cfg)
    full = _qualify(name, cfg.realm)
    password = None if random_key else _read_password(password_stdin, confirm=True)
    etypes = _etypes(enctypes)
    try:
        info = store.add_principal(
            full, password=password, etypes=etypes, requires_preauth=not no_preauth, now=_now()
        )
    except StoreError as exc:
        raise _fail(str(exc)) from None
    out.print(f"added {info.name}")


def _etypes(names: list[str] | None) -> tuple[int, ...]:
    if not names:
        return SUPPORTED_ETYPES
    try:
        return tuple(etype_from_name(n) for n in names)
    except KerberosCryptoError as exc:
        raise _fail(
            f"{exc}; kerbfirst supports only the AES enctypes (RFC 3962, RFC 8009)"
        ) from None


@principal_app.command("list")
def principal_list(
    directory: DirOption = DEFAULT_DIR,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
) -> None:
    """List principals with their kvno and enctypes (never key material)."""
    store = _open_store(_config(directory))
    infos = store.list_principals()
    if as_json:
        for info in infos:
            sys.stdout.write(json.dumps(vars_of(info), sort_keys=True) + "\n")
        return
    table = Table("principal", "kvno", "enctypes", "pre-auth", "failures")
    for info in infos:
        data = vars_of(info)
        table.add_row(
            str(data.get("name", "")),
            str(data.get("kvno", "")),
            " ".join(_SHORT_ETYPE.get(e, str(e)) for e in data.get("etypes", ())),
            "yes" if data.get("requires_preauth", True) else "no",
            str(data.get("fail_count", 0)),
        )
    out.print(table)


# MIT's short aliases (kdc.conf(5) "Encryption types"), so the table fits a terminal.
_SHORT_ETYPE = {17: "aes128-sha1", 18: "aes256-sha1", 19: "aes128-sha2", 20: "aes256-sha2"}


def vars_of(obj: object) -> dict[str, Any]:
    import dataclasses

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


def _etype_name(etype: int) -> str:
    try:
        return get_profile(etype).name
    except KerberosCryptoError:
        return str(etype)


@principal_app.command("delete")
def principal_delete(
    name: str,
    directory: DirOption = DEFAULT_DIR,
    force: Annotated[bool, typer.Option("--force", help="Do not ask for confirmation.")] = False,
) -> None:
    """Delete a principal and all its keys."""
    cfg = _config(directory)
    full = _qualify(name, cfg.realm)
    if full == f"krbtgt/{cfg.realm}@{cfg.realm}":
        raise _fail("refusing to delete the realm's krbtgt: every ticket depends on it")
    if not force and not typer.confirm(f"delete {full}?"):
        raise typer.Exit(code=1)
    try:
        _open_store(cfg).delete_principal(full)
    except StoreError as exc:
        raise _fail(str(exc)) from None
    out.print(f"deleted {full}")


@principal_app.command("rekey")
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
) -> None:
    """Give a principal new keys at the next kvno (a new password, or random keys)."""
    cfg = _config(directory)
    full = _qualify(name, cfg.realm)
    password = None if random_key else _read_password(password_stdin, confirm=True)
    try:
        info = _open_store(cfg).rekey(full, password=password, keep_old=keep_old, now=_now())
    except StoreError as exc:
        raise _fail(str(exc)) from None
    out.print(f"rekeyed {full}: kvno {vars_of(info).get('kvno', '?')}")


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
    store = _open_store(cfg)
    entries = []
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


def _host_port(text: str) -> tuple[str, int]:
    addr = parse_kdc_address(text)
    return (addr.host or "127.0.0.1", addr.port or 88)


def hot_path_build() -> str:
    """Which build of the KDC hot path this process imported: the opt-in mypyc build
    (KERBFIRST_COMPILE=1 pip install ., about twice the requests per second) or Python."""
    compiled = not str(getattr(der, "__file__", "")).endswith(".py")
    return "compiled hot path" if compiled else "pure-Python hot path"


def build_kdc(cfg: RealmConfig, policy: KdcPolicy | None = None) -> Kdc:
    """The KDC one `kdc serve` worker runs (also what bench/kdc_icount.py measures): the
    realm's store, its JSON-lines audit log, the operating system's randomness."""
    audit_log = JsonLinesAuditLog(cfg.audit_path)
    return Kdc(
        database=_open_store(cfg),
        policy=policy or kdc_policy(cfg),
        random=os.urandom,
        audit=audit_log.write,
    )


@kdc_app.command("serve")
def kdc_serve(
    directory: DirOption = DEFAULT_DIR,
    workers: Annotated[
        int | None, typer.Option(min=1, max=64, help="Worker processes (default: config).")
    ] = None,
    listen: Annotated[
        list[str] | None, typer.Option(help="host:port for UDP+TCP (default: config).")
    ] = None,
) -> None:
    """Serve the realm's KDC on UDP, TCP and UNIX sockets until SIGTERM/SIGINT."""
    cfg = _config(directory)
    _open_store(cfg)  # fail now, with a clear message, rather than in every worker
    addrs = tuple(_host_port(a) for a in (listen or cfg.listen))
    config = KdcServerConfig(
        udp_listen=addrs,
        tcp_listen=addrs,
        unix_paths=tuple(str(p) for p in cfg.unix_paths()),
        workers=workers or cfg.workers,
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
        raise _fail(
            f"cannot serve on {', '.join(cfg.listen)} / {', '.join(cfg.unix)}: {exc}. "
            "Choose other addresses with --listen (ports below 1024 need root) or stop the "
            "process that holds them."
        ) from None
    raise typer.Exit(code=code)
