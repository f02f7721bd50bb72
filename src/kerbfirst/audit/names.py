"""Host names as Windows logs carry them: is a target an IP address."""

from __future__ import annotations

import ipaddress

__all__ = ["NETBIOS_MAX", "netbios_name", "target_is_ip"]

NETBIOS_MAX = 15  # NetBIOS computer names are at most 15 characters


def target_is_ip(name: str) -> bool:
    """True for '10.0.0.5', 'cifs/10.0.0.5', 'http/[fe80::1]:8080', 'HOST/10.0.0.5:445'."""
    host = name.split("/", 1)[1] if "/" in name else name
    host = host.split("/", 1)[0].split("@", 1)[0]
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    host = host.split("%", 1)[0]
    if not host or not (host[0].isdigit() or ":" in host):
        return False  # cheap exit: names that cannot be addresses (the common case)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def netbios_name(host: str) -> str:
    """The NetBIOS name Windows gives a computer with DNS host name `host`: the first label,
    upper-case, cut to 15 characters (longer host names are truncated, so the machine's SAM
    domain and the names in NTLM fields are the cut form)."""
    return host.split(".", 1)[0][:NETBIOS_MAX].upper()
