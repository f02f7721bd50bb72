"""Where a KDC listens, and the spellings of that accepted on command lines and in configs."""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Sequence
from typing import Literal

#: "any" is MIT's "UDP or TCP" for a `kdc = host` line without a transport prefix.
KdcTransportName = Literal["any", "udp", "tcp", "unix"]

KERBEROS_PORT = 88  # RFC 4120 7.2.1, 7.2.2


@dataclasses.dataclass(frozen=True, slots=True)
class KdcAddress:
    """One KDC endpoint: `host`/`port` for udp, tcp and any; `path` for unix."""

    transport: KdcTransportName
    host: str = ""
    port: int = KERBEROS_PORT
    path: str = ""

    def __post_init__(self) -> None:
        if self.transport not in ("any", "udp", "tcp", "unix"):
            raise ValueError(f"KDC transport must be any, udp, tcp or unix, not {self.transport!r}")
        if self.transport == "unix":
            if not self.path:
                raise ValueError("a unix KDC address needs a socket path")
        else:
            if not self.host:
                raise ValueError(f"a {self.transport} KDC address needs a host")
            if not 0 <= self.port <= 65535:
                raise ValueError(f"KDC port {self.port} is outside 0..65535")

    def __str__(self) -> str:
        if self.transport == "unix":
            return f"unix:{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        prefix = "" if self.transport == "any" else f"{self.transport}/"
        return f"{prefix}{host}:{self.port}"


def parse_kdc_address(text: str) -> KdcAddress:
    """Parse "host", "host:port", "tcp/host:port", "udp/host", "[::1]:88", "unix:/path".

    Without a transport prefix the address means "UDP or TCP" as in MIT's krb5.conf
    `kdc = host[:port]`; an IPv6 literal with a port goes in brackets (as in MIT).
    """
    spec = text.strip()
    if not spec:
        raise ValueError("empty KDC address; expected host, host:port, tcp/host:port or unix:/path")
    if spec.startswith("unix:"):
        path = spec[len("unix:") :]
        if not path.startswith("/"):
            raise ValueError(f"KDC address {text!r}: a unix socket path must be absolute")
        return KdcAddress("unix", path=path)
    if "://" in spec:
        raise ValueError(
            f"KDC address {text!r}: URLs (such as an MS-KKDCP https:// KDC proxy) are not "
            "supported here; give host[:port], tcp/host[:port], udp/host[:port] or unix:/path"
        )
    transport: KdcTransportName = "any"
    for name in ("tcp", "udp"):
        if spec.lower().startswith(name + "/"):
            transport = "tcp" if name == "tcp" else "udp"
            spec = spec[len(name) + 1 :]
            break
    host, port = _split_host_port(spec, text)
    return KdcAddress(transport, host=host, port=port)


# RFC 1123 2.1 host names: dot-separated labels of letters, digits and hyphens.
_HOST_NAME = re.compile(r"(?=.{1,253}\Z)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.?)+\Z")


def parse_realm_routes(
    items: Sequence[str], *, option: str, example: str
) -> dict[str, list[str]]:
    """REALM=ADDRESS items (a realm may repeat) as realm -> its addresses in order. A bad
    item raises ValueError naming `option` and showing `example` (a REALM=ADDRESS)."""
    routes: dict[str, list[str]] = {}
    for item in items:
        realm, sep, address = item.partition("=")
        if not sep or not realm or not address:
            raise ValueError(f"{option} {item!r}: write REALM=ADDRESS, e.g. {example}")
        try:
            parse_kdc_address(address)
        except ValueError as exc:
            raise ValueError(f"{option} {item!r}: {exc}") from None
        routes.setdefault(realm, []).append(address)
    return routes


def parse_listen_address(text: str) -> tuple[str, int]:
    """A KDC listen address, "host:port", "[v6]:port" or "host" (port 88): (host, port).

    The host is an IP address or a host name (RFC 1123); the port is 0..65535 (0: any
    free port). Raises ValueError naming what is wrong and how to write it.
    """
    spec = text.strip()
    if not spec or spec.startswith("unix:") or "/" in spec:
        raise ValueError(
            f"listen address {text!r}: expected host:port, [IPv6]:port or host, e.g. "
            "127.0.0.1:88 (UNIX sockets go in --unix / `unix = [...]`)"
        )
    host, port = _split_host_port(spec, text, min_port=0, what="listen address")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST_NAME.match(host):
            raise ValueError(
                f"listen address {text!r}: {host!r} is neither an IP address nor a host name"
            ) from None
    return host, port


def _split_host_port(
    spec: str, text: str, *, min_port: int = 1, what: str = "KDC address"
) -> tuple[str, int]:
    port_text: str | None = None
    if spec.startswith("["):
        close = spec.find("]")
        if close < 0:
            raise ValueError(f"{what} {text!r}: '[' without a closing ']'")
        host = spec[1:close]
        rest = spec[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{what} {text!r}: expected ':port' after ']'")
            port_text = rest[1:]
    elif spec.count(":") == 1:
        host, port_text = spec.split(":")
    else:
        host = spec  # a name, an IPv4 address, or a bare IPv6 address without a port
    if not host or any(c.isspace() or c in "/[]" for c in host):
        raise ValueError(f"{what} {text!r}: {host!r} is not a host name or address")
    if port_text is None:
        return host, KERBEROS_PORT
    if not port_text.isdigit() or not min_port <= int(port_text) <= 65535:
        raise ValueError(
            f"{what} {text!r}: port {port_text!r} is not a number in {min_port}..65535"
        )
    return host, int(port_text)
