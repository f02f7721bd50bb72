"""The NTLM policy as the Windows settings that enforce it: .reg files and a PowerShell script.

Settings (Microsoft's security policy reference, "Network security: Restrict NTLM: ..."
and "Network security: LAN Manager authentication level"):

- HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa (every machine, enforce with refuse_ntlmv1)
  LmCompatibilityLevel           5 = send NTLMv2 only, refuse LM and NTLM(v1)

- HKLM\\SYSTEM\\CurrentControlSet\\Control\\Lsa\\MSV1_0 (every member machine)
  RestrictSendingNTLMTraffic     0 allow all, 1 audit all, 2 deny all        (client side)
  ClientAllowedNTLMServers       REG_MULTI_SZ: NetBIOS names of servers a client may
                                 still use NTLM with (* anywhere)
  RestrictReceivingNTLMTraffic   0 allow all, 1 deny domain accounts, 2 deny all (server)
  AuditReceivingNTLMTraffic      0 off, 1 domain accounts, 2 all accounts        (server)
- HKLM\\SYSTEM\\CurrentControlSet\\Services\\Netlogon\\Parameters (domain controllers)
  RestrictNTLMInDomain           0 off, 1/3/5 partial, 7 deny all
  AuditNTLMInDomain              0 off, 1/3/5 partial, 7 audit all
  DCAllowedNTLMServers           REG_MULTI_SZ: NetBIOS names of servers still allowed
                                 NTLM pass-through (* anywhere)
- HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows\\LanmanWorkstation (SMB client, Windows 11 24H2
  and Server 2025; the "Block NTLM (LM, NTLM, NTLMv2)" and "Block NTLM Server Exception
  List" policies of Network > Lanman Workstation; `Set-SmbClientConfiguration -BlockNTLM`)
  BlockNTLM                      DWORD 1 = the SMB client never offers NTLM
  BlockNTLMServerExceptionList   REG_MULTI_SZ: servers SMB may still use NTLM with (DNS
                                 name, IP address or NetBIOS name)

A registry file applies to one machine, so the settings come in three groups, one .reg file
each, and the script applies the groups that fit the machine it runs on:
clients (outgoing NTLM), servers (incoming NTLM) and domain controllers (pass-through).
With scope.estate every member is both a client and a server.

Only exceptions still valid at the export date are exported: an expired exception allows
nothing (policy/ntlm.py). Windows lists name servers only and accept only `*` wildcards, so
an exception narrowed to a client or user is exported server-wide; the header says so, and
so does the simulation (narrowed_note). Audit mode writes only audit values.
Comments and strings are sanitised: exception text is operator-written but lands in a script.
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import NamedTuple

from kerbfirst.audit.names import NETBIOS_MAX, netbios_name, target_is_ip
from kerbfirst.policy import ExceptionEntry, Mode, Policy

LSA = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Control\Lsa"
MSV1_0 = LSA + r"\MSV1_0"
NETLOGON = r"HKEY_LOCAL_MACHINE\SYSTEM\CurrentControlSet\Services\Netlogon\Parameters"
SMB_CLIENT_POLICY = r"HKEY_LOCAL_MACHINE\SOFTWARE\Policies\Microsoft\Windows\LanmanWorkstation"

GROUPS = ("clients", "servers", "domain-controllers")


class ExportError(ValueError):
    """The policy cannot be expressed in Windows settings; the message says why."""


class RegValue(NamedTuple):
    key: str
    name: str
    value: int | tuple[str, ...]  # int = REG_DWORD; tuple = REG_MULTI_SZ (empty: delete)
    comment: str


def narrowed_note(e: ExceptionEntry) -> str:
    """What Windows makes of an exception narrowed to clients or users (one text for the
    export's header and the simulation)."""
    return (f"exception {e.id} is narrowed to client {e.client or '*'} / user "
            f"{e.user or '*'}; Windows lists name servers only, so it is exported for every "
            f"client and user of {e.target}")


class WindowsSettings(NamedTuple):
    at: date
    mode: Mode
    groups: dict[str, list[RegValue]]
    applies_to: dict[str, str]
    exceptions: list[ExceptionEntry]  # exported (valid at `at`)
    expired: list[ExceptionEntry]  # not exported
    notes: list[str]
    estate: bool
    client_scope: tuple[str, ...]
    server_scope: tuple[str, ...]


def _check_pattern(e: ExceptionEntry) -> str:
    if "?" in e.target or "[" in e.target:
        raise ExportError(
            f"exception {e.id}: target {e.target!r} uses ? or [...]; Windows exception lists "
            "accept only * wildcards: rewrite the target with *"
        )
    return e.target


def netbios_form(e: ExceptionEntry) -> tuple[str | None, str | None]:
    """The form of `e.target` that ClientAllowedNTLMServers / DCAllowedNTLMServers match
    (Microsoft's reference for both: "List the NetBIOS server names ... A single
    asterisk (*) can be used anywhere"), and a warning when the target had to be
    rewritten or cannot be expressed at all (then the form is None)."""
    target = _check_pattern(e)
    if target_is_ip(target):
        return None, (f"exception {e.id}: target {target} is an IP address; the NTLM "
                      "exception lists take NetBIOS server names, so it is left out of "
                      "ClientAllowedNTLMServers/DCAllowedNTLMServers (SMB's exception list "
                      "keeps it): name the server by its NetBIOS name instead")
    first = target.split(".", 1)[0]
    if "." in target and ("*" in first or not first):
        return None, (f"exception {e.id}: target {target} matches hosts of a DNS domain, "
                      "which a NetBIOS-name list cannot express; it is left out of "
                      "ClientAllowedNTLMServers/DCAllowedNTLMServers (SMB's exception list "
                      "keeps it): list the servers by NetBIOS name")
    if len(first) > NETBIOS_MAX and "*" not in first:
        # Windows makes a computer's NetBIOS name from the first 15 characters of its
        # host name, so that is the only form of a longer name the lists can match.
        form = netbios_name(first)
        return form, (f"exception {e.id}: target {target} is written as {form} in "
                      "ClientAllowedNTLMServers/DCAllowedNTLMServers: a NetBIOS name is the "
                      f"first {NETBIOS_MAX} characters of the host name; check that it is "
                      "the server's")
    if "." not in target:
        return target, None
    form = first.upper()
    return form, (f"exception {e.id}: target {target} is written as {form} in "
                  "ClientAllowedNTLMServers/DCAllowedNTLMServers (they take NetBIOS names)")


def windows_settings(policy: Policy, *, at: date) -> WindowsSettings:
    """The registry values that enforce `policy`. Only what the policy sets is written:
    audit mode writes the audit values and no restriction at all (a value of 0 would
    switch off a restriction set elsewhere, e.g. an SMB NTLM block)."""
    active = policy.active_exceptions(at)
    expired = [e for e in policy.exceptions if e.expired(at)]
    smb_targets = tuple(dict.fromkeys(_check_pattern(e) for e in active))
    forms = [netbios_form(e) for e in active]
    targets = tuple(dict.fromkeys(f for f, _ in forms if f is not None))
    warnings = [w for _, w in forms if w is not None]
    enforce = policy.mode is Mode.ENFORCE
    notes = [narrowed_note(e) for e in active if e.client or e.user] + warnings

    def exception_list(key: str, name: str, values: tuple[str, ...], comment: str
                       ) -> list[RegValue]:
        # An empty list deletes a stale one only when this policy enforces: in audit mode
        # a list set elsewhere is not ours to remove.
        if values or enforce:
            return [RegValue(key, name, values, comment)]
        return []

    lm_level: list[RegValue] = []
    if policy.refuse_ntlmv1 and enforce:
        lm_level = [RegValue(LSA, "LmCompatibilityLevel", 5,
                             "send NTLMv2 only, refuse LM and NTLMv1 (refuse_ntlmv1), also "
                             "on the exception servers")]
    elif policy.refuse_ntlmv1:
        notes.append("refuse_ntlmv1 is not exported in audit mode: LmCompatibilityLevel has "
                     "no audit setting (5 would refuse NTLMv1 at once)")
    clients = [
        RegValue(MSV1_0, "RestrictSendingNTLMTraffic", 2 if enforce else 1,
                 "deny all outgoing NTLM" if enforce else "audit all outgoing NTLM"),
        *exception_list(MSV1_0, "ClientAllowedNTLMServers", targets,
                        "servers still allowed NTLM (exception register, NetBIOS names)"),
        *lm_level,
    ]
    if enforce:
        clients += [
            RegValue(SMB_CLIENT_POLICY, "BlockNTLM", 1, "SMB client never offers NTLM"),
            *exception_list(SMB_CLIENT_POLICY, "BlockNTLMServerExceptionList", smb_targets,
                            "SMB servers still allowed NTLM (exception register)"),
        ]
    servers = [
        *([RegValue(MSV1_0, "RestrictReceivingNTLMTraffic", 2, "deny all incoming NTLM")]
          if enforce else []),
        RegValue(MSV1_0, "AuditReceivingNTLMTraffic", 2, "audit incoming NTLM, all accounts"),
        *lm_level,
    ]
    # On DCs, deny-all only for an estate-wide block: a scoped block is enforced by the
    # scoped machines themselves (a DC cannot deny "all servers but those not listed").
    dcs = [
        *([RegValue(NETLOGON, "RestrictNTLMInDomain", 7, "deny all NTLM in the domain")]
          if enforce and policy.block_estate else []),
        RegValue(NETLOGON, "AuditNTLMInDomain", 7, "audit all NTLM in the domain"),
        *(exception_list(NETLOGON, "DCAllowedNTLMServers", targets,
                         "servers still allowed NTLM pass-through (exception register, "
                         "NetBIOS names)") if policy.block_estate else []),
        *lm_level,
    ]
    if policy.block_estate:
        who_clients = who_servers = "every domain member (scope.estate = true)"
    else:
        who_clients = (
            "clients matching " + ", ".join(policy.block_clients)
            if policy.block_clients else "no machine (scope.clients is empty)"
        )
        who_servers = (
            "servers matching " + ", ".join(policy.block_servers)
            if policy.block_servers else "no machine (scope.servers is empty)"
        )
    server_exc = [e.target for e in active]
    if server_exc:
        who_servers += "; NOT to the exception servers " + ", ".join(server_exc)
    return WindowsSettings(
        at=at,
        mode=policy.mode,
        groups={"clients": clients, "servers": servers, "domain-controllers": dcs},
        applies_to={
            "clients": who_clients,
            "servers": who_servers,
            "domain-controllers": "every domain controller",
        },
        exceptions=active,
        expired=expired,
        notes=notes,
        estate=policy.block_estate,
        client_scope=policy.block_clients,
        server_scope=policy.block_servers,
    )


# ------------------------------------------------------------------ text output

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]")


def _comment_text(s: str) -> str:
    # A newline in an exception's reason must not end the comment and start a command.
    return _CONTROL.sub(" ", s)


def _header(s: WindowsSettings, prefix: str) -> list[str]:
    lines = [
        f"kerbfirst NTLM policy export: mode {s.mode.value}, exceptions valid on "
        f"{s.at.isoformat()}",
        "Exception register (exported):",
    ]
    for e in s.exceptions:
        lines.append(
            f"  {e.id}: {e.target}"
            + (f" from {e.client}" if e.client else "")
            + (f" as {e.user}" if e.user else "")
            + f"; owner {e.owner}; expires {e.expires.isoformat()}"
        )
        lines.append(f"      reason: {e.reason}; compensating control: {e.compensating_control}")
    if not s.exceptions:
        lines.append("  (none)")
    for e in s.expired:
        lines.append(f"  NOT exported, expired {e.expires.isoformat()}: {e.id} ({e.target}, "
                     f"owner {e.owner})")
    lines += [f"Note: {n}" for n in s.notes]
    return [f"{prefix} {_comment_text(line)}".rstrip() for line in lines]


def _hex_bytes(data: bytes, first: str) -> list[str]:
    """regedit's layout: comma-separated bytes, lines continued with a backslash."""
    parts = [f"{b:02x}" for b in data]
    lines, line = [], first
    for i, p in enumerate(parts):
        piece = p + ("," if i < len(parts) - 1 else "")
        if len(line) + len(piece) > 78:
            lines.append(line + "\\")
            line = "  "
        line += piece
    lines.append(line)
    return lines


def multi_sz_bytes(values: tuple[str, ...]) -> bytes:
    """REG_MULTI_SZ: each string UTF-16LE and NUL-terminated, then one more NUL."""
    return b"".join(v.encode("utf-16-le") + b"\0\0" for v in values) + b"\0\0"


def render_reg(s: WindowsSettings, group: str) -> str:
    """One group as a regedit 5.00 file (write it UTF-16LE with BOM, CRLF: regedit's own)."""
    out = ["Windows Registry Editor Version 5.00", ""]
    out += _header(s, ";")
    out.append(f"; Apply to: {_comment_text(s.applies_to[group])}")
    key = None
    for v in s.groups[group]:
        if v.key != key:
            out += ["", f"[{v.key}]"]
            key = v.key
        out.append(f"; {_comment_text(v.comment)}")
        if isinstance(v.value, int):
            out.append(f'"{v.name}"=dword:{v.value:08x}')
        elif not v.value:
            out.append(f'"{v.name}"=-')  # no exceptions: remove a stale list
        else:
            out += _hex_bytes(multi_sz_bytes(v.value), f'"{v.name}"=hex(7):')
    return "\r\n".join(out) + "\r\n"


# The characters PowerShell's tokenizer takes for a single quote (CharTraits IsSingleQuote):
# ' and the typographic U+2018, U+2019, U+201A, U+201B. Any of them ends a single-quoted
# string unless doubled.
_PS_SINGLE_QUOTES = re.compile("['\u2018\u2019\u201a\u201b]")


def _ps_str(s: str) -> str:
    # PowerShell single-quoted string: only quotes need escaping (doubled); no interpolation.
    return "'" + _PS_SINGLE_QUOTES.sub(lambda m: m.group() * 2, _comment_text(s)) + "'"


def _ps_list(values: tuple[str, ...] | list[str]) -> str:
    return "@(" + ", ".join(_ps_str(v) for v in values) + ")"


def _ps_path(key: str) -> str:
    return _ps_str(key.replace("HKEY_LOCAL_MACHINE", "HKLM:", 1))


def _ps_group(s: WindowsSettings, group: str) -> list[str]:
    out = []
    for v in s.groups[group]:
        if isinstance(v.value, int):
            out.append(f"    Set-Dword {_ps_path(v.key)} {_ps_str(v.name)} {v.value}  "
                       f"# {_comment_text(v.comment)}")
        else:
            out.append(f"    Set-MultiString {_ps_path(v.key)} {_ps_str(v.name)} "
                       f"{_ps_list(v.value)}  # {_comment_text(v.comment)}")
    return out


def render_ps1(s: WindowsSettings) -> str:
    enforce = s.mode is Mode.ENFORCE
    server_exc = [e.target for e in s.exceptions]
    lines = _header(s, "#")
    lines += [
        "# Run elevated on each machine (or from a GPO startup script). -Role overrides the",
        "# automatic choice; -WhatIf shows what would change.",
        "#Requires -RunAsAdministrator",
        "[CmdletBinding(SupportsShouldProcess)]",
        "param(",
        "    [ValidateSet('Auto', 'Client', 'Server', 'ClientAndServer', 'DomainController')]",
        "    [string]$Role = 'Auto'",
        ")",
        "$ErrorActionPreference = 'Stop'",
        "",
        "function Set-Dword([string]$Path, [string]$Name, [int]$Value) {",
        "    if (-not $PSCmdlet.ShouldProcess(\"$Path\\$Name\", \"set DWORD $Value\")) { return }",
        "    if (-not (Test-Path $Path)) { New-Item -Path $Path -Force | Out-Null }",
        "    New-ItemProperty -Path $Path -Name $Name -PropertyType DWord -Value $Value "
        "-Force | Out-Null",
        "}",
        "",
        "function Set-MultiString([string]$Path, [string]$Name, [string[]]$Value) {",
        "    if (-not $PSCmdlet.ShouldProcess(\"$Path\\$Name\", 'set REG_MULTI_SZ')) { return }",
        "    if (-not (Test-Path $Path)) { New-Item -Path $Path -Force | Out-Null }",
        "    if ($Value.Count -eq 0) {",
        "        Remove-ItemProperty -Path $Path -Name $Name -ErrorAction SilentlyContinue",
        "    } else {",
        "        New-ItemProperty -Path $Path -Name $Name -PropertyType MultiString "
        "-Value $Value -Force | Out-Null",
        "    }",
        "}",
        "",
        "function Test-Scope([string[]]$Patterns) {",
        "    $names = @($env:COMPUTERNAME)",
        "    try { $names += [System.Net.Dns]::GetHostEntry('').HostName } catch { }",
        "    foreach ($p in $Patterns) {",
        "        foreach ($n in $names) { if ($n -like $p) { return $true } }",
        "    }",
        "    return $false",
        "}",
        "",
        f"$Estate = ${'true' if s.estate else 'false'}",
        f"$ClientScope = {_ps_list(list(s.client_scope))}",
        f"$ServerScope = {_ps_list(list(s.server_scope))}",
        f"$ServerExceptions = {_ps_list(server_exc)}",
        "",
        "if ($Role -eq 'Auto') {",
        "    $isDC = (Get-CimInstance Win32_ComputerSystem).DomainRole -ge 4",
        "    $client = $Estate -or (Test-Scope $ClientScope)",
        "    $server = ($Estate -or (Test-Scope $ServerScope)) -and",
        "        -not (Test-Scope $ServerExceptions)",
        "} else {",
        "    $isDC = $Role -eq 'DomainController'",
        "    $client = $Role -in @('Client', 'ClientAndServer')",
        "    $server = $Role -in @('Server', 'ClientAndServer')",
        "}",
        "",
        "if ($client) {",
        "    Write-Host 'kerbfirst: applying the client (outgoing NTLM) settings'",
        *_ps_group(s, "clients"),
        *([
            "    try {",
            "        Set-SmbClientConfiguration -BlockNTLM $true -Confirm:$false",
            "    } catch {",
            "        Write-Warning \"Set-SmbClientConfiguration -BlockNTLM is not available "
            "here (Windows 11 24H2 / Server 2025 and later): $_\"",
            "    }",
        ] if enforce else []),
        "}",
        "if ($server) {",
        "    Write-Host 'kerbfirst: applying the server (incoming NTLM) settings'",
        *_ps_group(s, "servers"),
        "}",
        "if ($isDC) {",
        "    Write-Host 'kerbfirst: applying the domain controller (pass-through) settings'",
        *_ps_group(s, "domain-controllers"),
        "}",
        "if (-not ($client -or $server -or $isDC)) {",
        "    Write-Host 'kerbfirst: this machine is outside the policy scope; nothing changed'",
        "}",
    ]
    return "\r\n".join(lines) + "\r\n"


def write_export(policy: Policy, out: Path, *, at: date) -> list[Path]:
    """Write ntlm-<group>.reg for each group and ntlm-policy.ps1 into `out`."""
    s = windows_settings(policy, at=at)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for group in GROUPS:
        path = out / f"ntlm-{group}.reg"
        # regedit writes and prefers UTF-16LE with a BOM for version 5.00 files.
        path.write_bytes(b"\xff\xfe" + render_reg(s, group).encode("utf-16-le"))
        written.append(path)
    ps1 = out / "ntlm-policy.ps1"
    # UTF-8 with BOM: Windows PowerShell 5.1 reads a BOM-less script as ANSI.
    ps1.write_bytes(b"\xef\xbb\xbf" + render_ps1(s).encode("utf-8"))
    written.append(ps1)
    return written
