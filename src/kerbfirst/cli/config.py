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
    listen = ["127.0.0.1:88"]           # UDP and TCP on each address
    unix = ["kdc.sock"]                 # UNIX stream sockets, relative to the realm dir
    workers = 1
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
name (DESIGN.md, IAKerb), so clients that know the host name also know the realm.
"""

from __future__ import annotations

import dataclasses
import re
import socket
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import Any

from kerbfirst.store.principal_records import DEFAULT_MIN_PASSWORD_LENGTH

CONFIG_NAME = "kerbfirst.toml"
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
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
    _check_keys(data, {"realm", "kdc", "policy"}, "the top level", path)
    realm = data.get("realm")
    if not isinstance(realm, str) or not realm:
        raise ConfigError(f"{path}: `realm` must be a non-empty string")
    kdc = data.get("kdc", {})
    _check_keys(kdc, {"listen", "unix", "workers"}, "[kdc]", path)
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
    return RealmConfig(
        directory=directory,
        realm=realm,
        listen=list(kdc.get("listen", ["127.0.0.1:88"])),
        unix=list(kdc.get("unix", ["kdc.sock"])),
        workers=workers,
        policy=policy,
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
        f"workers = {cfg.workers}\n\n"
        "[policy]\n"
        f'max_life = "{format_duration(p.max_life)}"\n'
        f'max_renewable_life = "{format_duration(p.max_renewable_life)}"\n'
        f'clock_skew = "{format_duration(p.clock_skew)}"\n'
        f"lockout_threshold = {p.lockout_threshold}\n"
        f'lockout_window = "{format_duration(p.lockout_window)}"\n'
        f'lockout_duration = "{format_duration(p.lockout_duration)}"\n'
        f"require_preauth = {'true' if p.require_preauth else 'false'}\n"
        f"min_password_length = {p.min_password_length}\n"
    )


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
    return (
        "[libdefaults]\n"
        f"    default_realm = {cfg.realm}\n"
        "    dns_lookup_kdc = false\n"
        "    dns_lookup_realm = false\n"
        "    rdns = false\n"
        "    udp_preference_limit = 1465\n"
        f"{etypes}"
        "\n[realms]\n"
        f"    {cfg.realm} = {{\n{kdcs}    }}\n"
    )
