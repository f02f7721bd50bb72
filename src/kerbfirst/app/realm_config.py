"""A LocalKDC realm directory and its configuration file.

Layout of a realm directory (`kerbfirst realm init` creates it)::

    kerbfirst.toml   the configuration (below); every setting can be changed here
    principals.db    SQLite principal store (WAL)
    master.key       32-byte master key, mode 0600, encrypts the long-term keys at rest
    krb5.conf        a client configuration for MIT krb5 (KRB5_CONFIG=...)
    kdc-audit.jsonl  one JSON object per KDC request (mode 0600)

Configuration file (TOML)::

    realm = "WS01"                      # default: the host's NetBIOS-style name, as Windows
    [kdc]
    listen = ["127.0.0.1:88"]           # UDP and TCP on each address (host:port, [v6]:port)
    unix = ["kdc.sock"]                 # UNIX stream sockets, relative to the realm dir
    workers = 1
    max_message_size = "64K"            # largest request (and TCP reply); at most 1M
    [audit_log]
    max_size = "64M"                    # kdc-audit.jsonl is rotated at this size...
    keep = 8                            # ...keeping kdc-audit.jsonl.1 (newest) .. .8
    [policy]
    max_life = "10h"                    # units s, m, h, d
    max_renewable_life = "7d"
    clock_skew = "5m"
    lockout_threshold = 10              # failed pre-auths before lock-out; 0 disables
    lockout_window = "10m"
    lockout_duration = "10m"
    require_preauth = true
    min_password_length = 8             # new passwords; an empty one is always refused

Why the realm defaults to the host name: a Windows LocalKDC's realm is the machine's NetBIOS
name (MS-KILE, LocalKDC), so clients that know the host name also know the realm.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import socket
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from kerbfirst.app.trust_config import (
    SECTIONS,
    CrossRealmConfig,
    TrustConfigError,
    parse_cross_realm,
    render_cross_realm,
    render_krb5_conf_cross_realm,
)
from kerbfirst.net.kdc_address import parse_listen_address
from kerbfirst.net.kdc_framing import DEFAULT_MAX_REQUEST_SIZE, MAX_MESSAGE_SIZE
from kerbfirst.store.audit_log import DEFAULT_KEEP, DEFAULT_MAX_SIZE, MIN_MAX_SIZE
from kerbfirst.store.principal_records import DEFAULT_MIN_PASSWORD_LENGTH

CONFIG_NAME = "kerbfirst.toml"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+)\s*([kKmMgG]?)i?[bB]?\s*$")
_SIZE_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
MAX_AUDIT_KEEP = 1000
_NETBIOS_MAX = 15  # NetBIOS computer names are at most 15 characters


class ConfigError(Exception):
    """A configuration file or value is wrong; the message says which and how to fix it."""


def default_realm(hostname: str | None = None) -> str:
    """The host's NetBIOS-style name, upper case: what Windows uses for its LocalKDC realm."""
    name = (hostname or socket.gethostname()).split(".")[0].upper()
    name = re.sub(r"[^A-Z0-9-]", "-", name)[:_NETBIOS_MAX].strip("-")
    return name or "LOCALKDC"


def parse_duration(text: str | int, *, field: str) -> timedelta:
    if isinstance(text, int):
        return timedelta(seconds=text)
    m = _DURATION.match(text)
    if not m:
        raise ConfigError(f"{field}: {text!r} is not a duration; write e.g. 90s, 10m, 10h or 7d")
    return timedelta(seconds=int(m.group(1)) * _UNITS[m.group(2)])


def parse_size(value: object, *, field: str, lo: int, hi: int) -> int:
    """A byte count: an integer, or a string such as "64K", "64M", "1G" (powers of 1024)."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{field}: {value!r} is not a size; write e.g. 65536, \"64K\" or \"64M\"")
    if isinstance(value, int):
        size = value
    else:
        m = _SIZE.match(value)
        if not m:
            raise ConfigError(f"{field}: {value!r} is not a size; write e.g. \"64K\" or \"64M\"")
        size = int(m.group(1)) * _SIZE_UNITS[m.group(2).lower()]
    if not lo <= size <= hi:
        raise ConfigError(f"{field}: {size} bytes is outside {lo}..{hi}")
    return size


def format_size(size: int) -> str:
    for unit, scale in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if size and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)


def check_listen(addresses: list[str], *, field: str) -> list[tuple[str, int]]:
    """Each listen address parsed (host, port); ConfigError naming the bad one."""
    if not addresses:
        raise ConfigError(f"{field}: give at least one host:port to listen on, e.g. 127.0.0.1:88")
    parsed: list[tuple[str, int]] = []
    for text in addresses:
        if not isinstance(text, str):
            raise ConfigError(f"{field}: {text!r} is not a string such as \"127.0.0.1:88\"")
        try:
            address = parse_listen_address(text)
        except ValueError as exc:
            raise ConfigError(f"{field}: {exc}") from None
        for earlier, earlier_text in zip(parsed, addresses, strict=False):
            if _same_socket(address, earlier):
                # The second bind would fail "Address already in use", blaming a clash
                # that is the configuration's own.
                raise ConfigError(
                    f"{field}: {text!r} and {earlier_text!r} are the same address (port "
                    f"{address[1]}; a wildcard address covers every address of its family); "
                    "list each address once"
                )
        parsed.append(address)
    return parsed


def _same_socket(a: tuple[str, int], b: tuple[str, int]) -> bool:
    """Whether binding both would clash: one port, and the same host or an IP wildcard
    (0.0.0.0, ::) of the same family. Port 0 never clashes (each gets its own port)."""
    if a[1] != b[1] or a[1] == 0:
        return False
    if a[0].lower() == b[0].lower():
        return True
    try:
        ip_a, ip_b = ipaddress.ip_address(a[0]), ipaddress.ip_address(b[0])
    except ValueError:
        return False  # a host name: only the resolver knows
    if ip_a.version != ip_b.version:
        return False  # IPv6 sockets are bound IPV6_V6ONLY
    return ip_a == ip_b or ip_a.is_unspecified or ip_b.is_unspecified


_SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes on Linux, the last one a NUL


def check_unix(paths: list[str], *, field: str, base: Path | None = None) -> list[str]:
    """Each UNIX socket path checked; a relative one is resolved under `base` (the realm
    directory, as RealmConfig.unix_paths does) before its length is checked, so that a
    deep realm directory is refused here rather than when `kdc serve` binds."""
    seen: set[Path] = set()
    for path in paths:
        if not isinstance(path, str) or not path or "\0" in path:
            raise ConfigError(f"{field}: {path!r} is not a socket path")
        if len(path.encode()) > 100:  # sun_path is 108 bytes on Linux, with room to resolve
            raise ConfigError(f"{field}: UNIX socket path {path!r} is too long (100 bytes max)")
        full = Path(path) if base is None or Path(path).is_absolute() else base / path
        if full in seen:
            raise ConfigError(f"{field}: UNIX socket path {path!r} is listed twice")
        seen.add(full)
        if len(os.fsencode(full)) > _SUN_PATH_MAX:
            raise ConfigError(
                f"{field}: UNIX socket path {str(full)!r} is {len(os.fsencode(full))} bytes, "
                f"more than a UNIX socket address holds ({_SUN_PATH_MAX}); give a shorter "
                "absolute path"
            )
    return paths


def format_duration(value: timedelta) -> str:
    secs = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if secs and secs % size == 0:
            return f"{secs // size}{unit}"
    return f"{secs}s"


@dataclasses.dataclass
class PolicyConfig:
    max_life: timedelta = timedelta(hours=10)
    max_renewable_life: timedelta = timedelta(days=7)
    clock_skew: timedelta = timedelta(minutes=5)
    lockout_threshold: int = 10
    lockout_window: timedelta = timedelta(minutes=10)
    lockout_duration: timedelta = timedelta(minutes=10)
    require_preauth: bool = True
    min_password_length: int = DEFAULT_MIN_PASSWORD_LENGTH


@dataclasses.dataclass
class RealmConfig:
    directory: Path
    realm: str
    listen: list[str] = dataclasses.field(default_factory=lambda: ["127.0.0.1:88"])
    unix: list[str] = dataclasses.field(default_factory=lambda: ["kdc.sock"])
    workers: int = 1
    policy: PolicyConfig = dataclasses.field(default_factory=PolicyConfig)
    max_message_size: int = DEFAULT_MAX_REQUEST_SIZE
    audit_max_size: int = DEFAULT_MAX_SIZE
    audit_keep: int = DEFAULT_KEEP
    cross_realm: CrossRealmConfig = dataclasses.field(default_factory=CrossRealmConfig)

    @property
    def db_path(self) -> Path:
        return self.directory / "principals.db"

    @property
    def master_key_path(self) -> Path:
        return self.directory / "master.key"

    @property
    def krb5_conf_path(self) -> Path:
        return self.directory / "krb5.conf"

    @property
    def audit_path(self) -> Path:
        return self.directory / "kdc-audit.jsonl"

    def unix_paths(self) -> list[Path]:
        return [p if p.is_absolute() else self.directory / p for p in map(Path, self.unix)]


def _check_keys(section: dict[str, Any], allowed: set[str], where: str, path: Path) -> None:
    unknown = set(section) - allowed
    if unknown:
        raise ConfigError(
            f"{path}: unknown setting(s) {sorted(unknown)} in {where}; known: {sorted(allowed)}"
        )


def load_config(directory: Path) -> RealmConfig:
    # Absolute, so that paths derived from it (the UNIX socket, the store) stay right
    # whatever the working directory of the server or its workers.
    directory = directory.resolve()
    path = directory / CONFIG_NAME
    if not path.exists():
        raise ConfigError(
            f"{path} does not exist: run `kerbfirst realm init --dir {directory}` first"
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from exc
    _check_keys(data, {"realm", "kdc", "policy", "audit_log", *SECTIONS}, "the top level", path)
    realm = data.get("realm")
    if not isinstance(realm, str) or not realm:
        raise ConfigError(f"{path}: `realm` must be a non-empty string")
    kdc = data.get("kdc", {})
    _check_keys(kdc, {"listen", "unix", "workers", "max_message_size"}, "[kdc]", path)
    audit_log = data.get("audit_log", {})
    _check_keys(audit_log, {"max_size", "keep"}, "[audit_log]", path)
    pol = data.get("policy", {})
    fields = {f.name for f in dataclasses.fields(PolicyConfig)}
    _check_keys(pol, fields, "[policy]", path)
    policy = PolicyConfig()
    for name, value in pol.items():
        current = getattr(policy, name)
        if isinstance(current, timedelta):
            value = parse_duration(value, field=f"[policy] {name}")
        elif not isinstance(value, type(current)):
            raise ConfigError(f"{path}: [policy] {name} must be a {type(current).__name__}")
        setattr(policy, name, value)
    if policy.min_password_length < 1:
        raise ConfigError(
            f"{path}: [policy] min_password_length must be at least 1 (empty passwords are "
            "never accepted)"
        )
    workers = kdc.get("workers", 1)
    if not isinstance(workers, int) or not 1 <= workers <= 64:
        raise ConfigError(f"{path}: [kdc] workers must be an integer from 1 to 64")
    listen, unix = kdc.get("listen", ["127.0.0.1:88"]), kdc.get("unix", ["kdc.sock"])
    if not isinstance(listen, list) or not isinstance(unix, list):
        raise ConfigError(f"{path}: [kdc] listen and unix must be lists of strings")
    check_listen(listen, field=f"{path}: [kdc] listen")
    check_unix(unix, field=f"{path}: [kdc] unix", base=directory)
    keep = audit_log.get("keep", DEFAULT_KEEP)
    if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= MAX_AUDIT_KEEP:
        raise ConfigError(f"{path}: [audit_log] keep must be an integer from 1 to {MAX_AUDIT_KEEP}")
    try:
        cross_realm = parse_cross_realm(data, path)
    except TrustConfigError as exc:
        raise ConfigError(str(exc)) from None
    return RealmConfig(
        directory=directory,
        cross_realm=cross_realm,
        realm=realm,
        listen=list(listen),
        unix=list(unix),
        workers=workers,
        policy=policy,
        max_message_size=parse_size(
            kdc.get("max_message_size", DEFAULT_MAX_REQUEST_SIZE),
            field=f"{path}: [kdc] max_message_size",
            lo=1024,
            hi=MAX_MESSAGE_SIZE,
        ),
        audit_max_size=parse_size(
            audit_log.get("max_size", DEFAULT_MAX_SIZE),
            field=f"{path}: [audit_log] max_size",
            lo=MIN_MAX_SIZE,
            hi=1 << 40,
        ),
        audit_keep=keep,
    )


def _toml_list(items: list[str]) -> str:
    return "[" + ", ".join(f'"{i}"' for i in items) + "]"


def render_config(cfg: RealmConfig) -> str:
    p = cfg.policy
    return (
        "# kerbfirst LocalKDC configuration; see `kerbfirst realm init --help`.\n"
        f'realm = "{cfg.realm}"\n\n'
        "[kdc]\n"
        f"listen = {_toml_list(cfg.listen)}   # UDP and TCP\n"
        f"unix = {_toml_list(cfg.unix)}\n"
        f"workers = {cfg.workers}\n"
        f'max_message_size = "{format_size(cfg.max_message_size)}"   # largest request\n\n'
        "[audit_log]\n"
        f'max_size = "{format_size(cfg.audit_max_size)}"   # rotate kdc-audit.jsonl at this size\n'
        f"keep = {cfg.audit_keep}   # rotated files kept (kdc-audit.jsonl.1 is the newest)\n\n"
        "[policy]\n"
        f'max_life = "{format_duration(p.max_life)}"\n'
        f'max_renewable_life = "{format_duration(p.max_renewable_life)}"\n'
        f'clock_skew = "{format_duration(p.clock_skew)}"\n'
        f"lockout_threshold = {p.lockout_threshold}\n"
        f'lockout_window = "{format_duration(p.lockout_window)}"\n'
        f'lockout_duration = "{format_duration(p.lockout_duration)}"\n'
        f"require_preauth = {'true' if p.require_preauth else 'false'}\n"
        f"min_password_length = {p.min_password_length}\n"
    ) + render_cross_realm(cfg.cross_realm)


def render_krb5_conf(cfg: RealmConfig, *, enctypes: list[str] | None = None) -> str:
    """A krb5.conf for MIT clients of this realm (use with KRB5_CONFIG=...)."""
    kdcs = "".join(f"        kdc = {addr}\n" for addr in cfg.listen)
    etypes = ""
    if enctypes:
        joined = " ".join(enctypes)
        etypes = (
            f"    default_tkt_enctypes = {joined}\n"
            f"    default_tgs_enctypes = {joined}\n"
            f"    permitted_enctypes = {joined}\n"
        )
    other_realms, cross_realm = render_krb5_conf_cross_realm(cfg.cross_realm)
    return (
        "[libdefaults]\n"
        f"    default_realm = {cfg.realm}\n"
        "    dns_lookup_kdc = false\n"
        "    dns_lookup_realm = false\n"
        "    rdns = false\n"
        # The realm's service names are used as typed (gss-client host@NAME), never looked
        # up in DNS: a LocalKDC's hosts need not be in any DNS.
        "    dns_canonicalize_hostname = false\n"
        "    udp_preference_limit = 1465\n"
        f"{etypes}"
        "\n[realms]\n"
        f"    {cfg.realm} = {{\n{kdcs}    }}\n"
        f"{other_realms}{cross_realm}"
    )
