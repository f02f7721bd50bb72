"""The NTLM policy as smb.conf settings for one Samba file server (pure: returns the files'
text; `kerbfirst policy export-samba` writes them).

What Samba can express (smb.conf(5)):
- `ntlm auth = disabled`: no NTLM or LanMan for the server's local (passdb) accounts;
  `ntlmv2-only`: NTLMv2 only. It is a global parameter; `include` takes the client's IP
  address as `%I`, so a per-client file can set it for one address.
- no "audit" mode: audit mode exports `ntlmv2-only` and turns on the JSON authentication
  audit log (`auth_json_audit`), which records each NTLM logon.

So: when the server is in the blocking scope (estate, or a `scope.servers` pattern matches
its name) and the policy enforces, the global setting is `disabled`; each live exception
for this server whose `client` is a literal IP address gets `ntlm-client-<IP>.conf` with
`ntlmv2-only`; a `scope.clients` entry that is a literal IP gets `disabled` for that
client. What Samba cannot express is not approximated (that would widen an exception):
exceptions limited to an account, or to a client named by host name or pattern, are listed
in the file's comments as not exported. NTLMv1 and LanMan are never allowed (both
settings refuse them; Samba deprecates the separate `lanman auth`).
Samba's setting covers local accounts only; domain accounts are decided by the DCs (the
Windows export covers those).
"""

from __future__ import annotations

import dataclasses
import ipaddress
from datetime import date

from kerbfirst.policy.ntlm import ExceptionEntry, Mode, NtlmAttempt, Policy

MAIN_FILE = "smb-ntlm.conf"


def _ip(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return None


def client_file(address: str) -> str:
    return f"ntlm-client-{address}.conf"


def samba_files(policy: Policy, server: str, directory: str, today: date,
                source: str = "") -> dict[str, str]:
    """File name -> text. `directory` is where the files will live on the Samba server
    (the include lines name it); include `directory/smb-ntlm.conf` from [global]."""
    in_scope = policy.scope_reason(NtlmAttempt(client="", server=server)) is not None
    enforce = policy.mode is Mode.ENFORCE
    head = [f"# kerbfirst NTLM policy for Samba server {server}"
            + (f" (from {source})" if source else ""),
            f"# generated for {today.isoformat()}; regenerate when the register changes:",
            "# exceptions expire here only when this file is regenerated.",
            "# Include from [global]:  include = " + f"{directory}/{MAIN_FILE}"]
    body: list[str] = []
    files: dict[str, str] = {}
    skipped: list[str] = []
    if enforce and in_scope:
        body.append("ntlm auth = disabled")
    else:
        body.append("ntlm auth = ntlmv2-only")
        if policy.mode is Mode.AUDIT and in_scope:
            body.append("log level = 1 auth_json_audit:3")
            head.append("# audit mode: Samba cannot log 'would be blocked'; NTLMv2 stays "
                        "allowed and every logon is in the JSON auth audit log")
    per_client: dict[str, list[str]] = {}
    if enforce:
        for pattern in policy.block_clients:
            address = _ip(pattern)
            if address is None:
                skipped.append(f"scope.clients {pattern!r}: only literal IP addresses")
            else:
                per_client[address] = ["ntlm auth = disabled",
                                       f"# scope.clients {pattern}"]
        for e in policy.active_exceptions(today):
            if not dataclasses.replace(e, client=None, user=None).matches(NtlmAttempt("", server)):
                continue
            reason = _inexpressible(e)
            if reason:
                skipped.append(f"{e.id}: {reason}")
                continue
            if e.client is None:
                body[0] = "ntlm auth = ntlmv2-only"
                head.append(f"# {e.id} allows NTLMv2 from every client until "
                            f"{e.expires.isoformat()} (owner {e.owner})")
            else:
                address = _ip(e.client)
                if address is not None:
                    per_client[address] = ["ntlm auth = ntlmv2-only",
                                           f"# {e.id}, owner {e.owner}, until "
                                           f"{e.expires.isoformat()}"]
    for address, lines in sorted(per_client.items()):
        files[client_file(address)] = "\n".join(lines) + "\n"
    if per_client:
        body.append(f"include = {directory}/ntlm-client-%I.conf")
    for s in skipped:
        head.append(f"# not exported: {s}")
    files[MAIN_FILE] = "\n".join([*head, *body]) + "\n"
    return files


def _inexpressible(e: ExceptionEntry) -> str | None:
    if e.user is not None:
        return "limited to an account; Samba's ntlm auth cannot be set per account"
    if e.client is not None and _ip(e.client) is None:
        return (f"client {e.client!r} is a name or pattern; Samba can set ntlm auth per "
                "client IP address only")
    return None
