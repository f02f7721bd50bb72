"""The cross-realm part of a realm's kerbfirst.toml, in krb5.conf(5)'s terms::

    [realms."MIT.TEST"]                 # another realm's KDCs, for referrals and clients
    kdc = ["127.0.0.1:8888"]
    [domain_realm]                      # host or .domain -> realm (referrals, RFC 6806)
    ".mit.test" = "MIT.TEST"
    [capaths."THIRD.TEST"]              # client realm -> server realm -> realms between
    "LOCAL.TEST" = ["MIT.TEST"]

The keys of a trust are principals (krbtgt/OTHER@OURS, krbtgt/OURS@OTHER) in the store;
this file only says where the other realm's KDCs are and which paths are permitted.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from kerbfirst.kdc.crossrealm import CrossRealmPolicy

SECTIONS = ("realms", "domain_realm", "capaths")


class TrustConfigError(Exception):
    """A cross-realm setting is wrong; the message says which and how to fix it."""


@dataclasses.dataclass
class CrossRealmConfig:
    realms: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    domain_realm: dict[str, str] = dataclasses.field(default_factory=dict)
    capaths: dict[str, dict[str, list[str]]] = dataclasses.field(default_factory=dict)

    def policy(self) -> CrossRealmPolicy:
        return CrossRealmPolicy(
            domain_realm={k.lower(): v for k, v in self.domain_realm.items()},
            capaths={c: {s: tuple(p) for s, p in d.items()} for c, d in self.capaths.items()},
        )


def _strings(value: object, where: str, path: Path) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise TrustConfigError(f"{path}: {where} must be a list of strings, e.g. [\"A.TEST\"]")
    return list(value)


def parse_cross_realm(data: dict[str, Any], path: Path) -> CrossRealmConfig:
    cfg = CrossRealmConfig()
    for realm, section in data.get("realms", {}).items():
        if not isinstance(section, dict) or set(section) - {"kdc"}:
            raise TrustConfigError(
                f'{path}: [realms."{realm}"] takes only kdc = ["host:port", ...]'
            )
        cfg.realms[realm] = _strings(section.get("kdc", []), f'[realms."{realm}"] kdc', path)
    for host, realm in data.get("domain_realm", {}).items():
        if not isinstance(realm, str) or not realm:
            raise TrustConfigError(f'{path}: [domain_realm] "{host}" must name a realm')
        cfg.domain_realm[host] = realm
    for client, servers in data.get("capaths", {}).items():
        if not isinstance(servers, dict):
            raise TrustConfigError(
                f'{path}: [capaths."{client}"] must map server realms to realm lists'
            )
        cfg.capaths[client] = {
            server: [r for r in _strings(hops, f'[capaths."{client}"] {server}', path) if r != "."]
            for server, hops in servers.items()
        }
    return cfg


def _key(text: str) -> str:
    return json.dumps(text)  # a TOML basic string is a JSON string for these names


def render_cross_realm(cfg: CrossRealmConfig) -> str:
    out = []
    for realm, kdcs in cfg.realms.items():
        out.append(f"\n[realms.{_key(realm)}]\nkdc = [{', '.join(map(_key, kdcs))}]\n")
    if cfg.domain_realm:
        out.append("\n[domain_realm]\n")
        out += [f"{_key(h)} = {_key(r)}\n" for h, r in cfg.domain_realm.items()]
    for client, servers in cfg.capaths.items():
        out.append(f"\n[capaths.{_key(client)}]\n")
        out += [f"{_key(s)} = [{', '.join(map(_key, hops))}]\n" for s, hops in servers.items()]
    return "".join(out)


def render_krb5_conf_cross_realm(cfg: CrossRealmConfig) -> tuple[str, str]:
    """(lines for krb5.conf's [realms] section, the [domain_realm] and [capaths] sections)."""
    realms = "".join(
        f"    {realm} = {{\n" + "".join(f"        kdc = {k}\n" for k in kdcs) + "    }\n"
        for realm, kdcs in cfg.realms.items()
    )
    tail = ""
    if cfg.domain_realm:
        tail += "\n[domain_realm]\n" + "".join(
            f"    {h} = {r}\n" for h, r in cfg.domain_realm.items()
        )
    if cfg.capaths:
        tail += "\n[capaths]\n"
        for client, servers in cfg.capaths.items():
            tail += f"    {client} = {{\n"
            for server, hops in servers.items():
                tail += "".join(f"        {server} = {h}\n" for h in hops or ["."])
            tail += "    }\n"
    return realms, tail
