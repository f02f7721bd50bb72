"""Windows export: parse the .reg files back, check values per mode, expired exceptions."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kerbfirst.audit.export import (
    LSA,
    MSV1_0,
    NETLOGON,
    SMB_CLIENT_POLICY,
    ExportError,
    write_export,
)
from kerbfirst.policy import Policy

EXC = {
    "id": "EX-1", "target": "PRN03", "owner": "print-team", "expires": date(2025, 6, 30),
    "reason": "firmware\n[HKEY_LOCAL_MACHINE\\EVIL]\n\"x\"=dword:1", "compensating_control": "VLAN",
}
EXC2 = dict(EXC, id="EX-2", target="*.legacy.example", owner="app-team", expires=date(2026, 1, 1),
            reason="vendor", client="WS*")
OLD = dict(EXC, id="EX-OLD", target="OLD01", owner="nobody", expires=date(2024, 1, 1),
           reason="gone")


def parse_reg(path: Path) -> dict[str, dict[str, object]]:
    """A small .reg reader: keys, dword, hex(7) (REG_MULTI_SZ) and deletions."""
    raw = path.read_bytes()
    assert raw[:2] == b"\xff\xfe", "regedit 5.00 files are UTF-16LE with a BOM"
    text = raw[2:].decode("utf-16-le")
    assert text.startswith("Windows Registry Editor Version 5.00\r\n")
    logical: list[str] = []
    pending = ""
    for line in text.split("\r\n"):
        if pending:
            line = pending + line.strip()
            pending = ""
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        logical.append(line)
    keys: dict[str, dict[str, object]] = {}
    key = None
    for line in logical:
        if not line or line.startswith(";") or line.startswith("Windows Registry"):
            continue
        if line.startswith("["):
            key = line[1:-1]
            keys[key] = {}
            continue
        assert key is not None, line
        name, _, value = line.partition("=")
        name = name.strip('"')
        if value == "-":
            keys[key][name] = None
        elif value.startswith("dword:"):
            keys[key][name] = int(value[6:], 16)
        elif value.startswith("hex(7):"):
            data = bytes(int(b, 16) for b in value[7:].split(","))
            strings = data.decode("utf-16-le").split("\0")
            assert strings[-2:] == ["", ""], "REG_MULTI_SZ ends with an empty string"
            keys[key][name] = strings[:-2]
        else:
            raise AssertionError(f"unexpected value line {line!r}")
    return keys


def export(tmp_path: Path, mode: str, scope: dict[str, object], at: date) -> Path:
    policy = Policy.from_dict({"mode": mode, "scope": scope, "exception": [EXC, EXC2, OLD]})
    write_export(policy, tmp_path, at=at)
    return tmp_path


def test_enforce_estate(tmp_path: Path) -> None:
    out = export(tmp_path, "enforce", {"estate": True}, date(2025, 5, 1))
    clients = parse_reg(out / "ntlm-clients.reg")
    assert clients[MSV1_0]["RestrictSendingNTLMTraffic"] == 2
    # NetBIOS names only: a DNS-domain wildcard cannot be expressed there (warned)
    assert clients[MSV1_0]["ClientAllowedNTLMServers"] == ["PRN03"]
    assert clients[SMB_CLIENT_POLICY] == {
        "BlockNTLM": 1, "BlockNTLMServerExceptionList": ["PRN03", "*.legacy.example"],
    }
    servers = parse_reg(out / "ntlm-servers.reg")
    assert servers[MSV1_0] == {"RestrictReceivingNTLMTraffic": 2, "AuditReceivingNTLMTraffic": 2}
    dcs = parse_reg(out / "ntlm-domain-controllers.reg")
    assert dcs[NETLOGON] == {
        "RestrictNTLMInDomain": 7, "AuditNTLMInDomain": 7, "DCAllowedNTLMServers": ["PRN03"],
    }
    for group in ("clients", "servers", "domain-controllers"):  # refuse_ntlmv1 (default)
        assert parse_reg(out / f"ntlm-{group}.reg")[LSA] == {"LmCompatibilityLevel": 5}
    ps1 = (out / "ntlm-policy.ps1").read_bytes().decode("utf-8-sig")
    assert "Set-SmbClientConfiguration -BlockNTLM $true" in ps1
    assert "-PropertyType MultiString" in ps1 and "-PropertyType DWord" in ps1
    assert "'ClientAllowedNTLMServers' @('PRN03')" in ps1
    assert "'LmCompatibilityLevel' 5" in ps1
    assert "*.legacy.example matches hosts of a DNS domain" in ps1
    assert "$Estate = $true" in ps1
    # header lists the register with owner and expiry, and the expired entry as not exported
    for text in (ps1, (out / "ntlm-clients.reg").read_bytes()[2:].decode("utf-16-le")):
        assert "EX-1: PRN03; owner print-team; expires 2025-06-30" in text
        assert "EX-2: *.legacy.example from WS*; owner app-team; expires 2026-01-01" in text
        assert "NOT exported, expired 2024-01-01: EX-OLD" in text


def test_expired_exceptions_are_not_exported(tmp_path: Path) -> None:
    out = export(tmp_path, "enforce", {"estate": True}, date(2025, 7, 1))  # EX-1 expired
    clients = parse_reg(out / "ntlm-clients.reg")
    assert clients[MSV1_0]["ClientAllowedNTLMServers"] is None  # only EX-2, not expressible
    assert clients[SMB_CLIENT_POLICY]["BlockNTLMServerExceptionList"] == ["*.legacy.example"]
    all_text = "".join(p.read_bytes().decode("utf-16-le", "ignore") for p in out.glob("*.reg"))
    assert "OLD01" not in "".join(
        str(v) for f in out.glob("*.reg") for k in parse_reg(f).values() for v in k.values()
    )
    assert "NOT exported, expired 2025-06-30: EX-1" in all_text


def test_audit_mode_writes_only_what_the_policy_sets(tmp_path: Path) -> None:
    out = export(tmp_path, "audit", {"estate": True}, date(2025, 5, 1))
    clients = parse_reg(out / "ntlm-clients.reg")
    # no BlockNTLM = 0: it would switch off an SMB NTLM block set elsewhere
    assert SMB_CLIENT_POLICY not in clients and LSA not in clients
    assert clients[MSV1_0] == {"RestrictSendingNTLMTraffic": 1,
                               "ClientAllowedNTLMServers": ["PRN03"]}
    assert parse_reg(out / "ntlm-servers.reg")[MSV1_0] == {"AuditReceivingNTLMTraffic": 2}
    dcs = parse_reg(out / "ntlm-domain-controllers.reg")[NETLOGON]
    assert dcs == {"AuditNTLMInDomain": 7, "DCAllowedNTLMServers": ["PRN03"]}
    ps1 = (out / "ntlm-policy.ps1").read_text("utf-8-sig")
    assert "BlockNTLM $" not in ps1 and "RestrictReceivingNTLMTraffic" not in ps1
    assert "LmCompatibilityLevel has no audit setting" in ps1


def test_targets_are_written_in_the_forms_windows_matches(tmp_path: Path) -> None:
    exc = [dict(EXC, id="FQDN", target="sql02.corp.example"),
           dict(EXC, id="IP", target="10.0.0.7"),
           dict(EXC, id="WILD", target="PRN*"),
           dict(EXC, id="NB", target="FS01")]
    policy = Policy.from_dict({"mode": "enforce", "scope": {"estate": True},
                               "exception": exc})
    write_export(policy, tmp_path, at=date(2025, 5, 1))
    clients = parse_reg(tmp_path / "ntlm-clients.reg")
    assert clients[MSV1_0]["ClientAllowedNTLMServers"] == ["SQL02", "PRN*", "FS01"]
    assert parse_reg(tmp_path / "ntlm-domain-controllers.reg")[NETLOGON][
        "DCAllowedNTLMServers"] == ["SQL02", "PRN*", "FS01"]
    assert clients[SMB_CLIENT_POLICY]["BlockNTLMServerExceptionList"] == [
        "sql02.corp.example", "10.0.0.7", "PRN*", "FS01"]
    text = (tmp_path / "ntlm-clients.reg").read_bytes()[2:].decode("utf-16-le")
    assert "target sql02.corp.example is written as SQL02" in text
    assert "target 10.0.0.7 is an IP address" in text


def test_scoped_enforce_leaves_the_domain_to_the_scoped_machines(tmp_path: Path) -> None:
    out = export(tmp_path, "enforce", {"servers": ["FS*"], "clients": ["KIOSK*"]},
                 date(2025, 5, 1))
    dcs = parse_reg(out / "ntlm-domain-controllers.reg")[NETLOGON]
    assert "RestrictNTLMInDomain" not in dcs and "DCAllowedNTLMServers" not in dcs
    ps1 = (out / "ntlm-policy.ps1").read_text("utf-8-sig")
    assert "$ClientScope = @('KIOSK*')" in ps1 and "$ServerScope = @('FS*')" in ps1
    assert "$Estate = $false" in ps1
    reg = (out / "ntlm-servers.reg").read_bytes()[2:].decode("utf-16-le")
    assert "; Apply to: servers matching FS*; NOT to the exception servers" in reg


def test_no_exceptions_deletes_stale_lists(tmp_path: Path) -> None:
    policy = Policy.from_dict({"mode": "enforce", "scope": {"estate": True}})
    write_export(policy, tmp_path, at=date(2025, 1, 1))
    clients = parse_reg(tmp_path / "ntlm-clients.reg")
    assert clients[MSV1_0]["ClientAllowedNTLMServers"] is None
    assert "Remove-ItemProperty" in (tmp_path / "ntlm-policy.ps1").read_text("utf-8-sig")


def test_newlines_in_exception_text_cannot_inject(tmp_path: Path) -> None:
    out = export(tmp_path, "enforce", {"estate": True}, date(2025, 5, 1))
    keys = parse_reg(out / "ntlm-clients.reg")  # would raise on an injected value line
    assert "HKEY_LOCAL_MACHINE\\EVIL" not in keys
    ps1 = (out / "ntlm-policy.ps1").read_text("utf-8-sig")
    for line in ps1.splitlines():
        assert not line.startswith('"x"') and not line.startswith("[HKEY")


def test_question_mark_patterns_are_refused(tmp_path: Path) -> None:
    policy = Policy.from_dict({"mode": "enforce", "scope": {"estate": True},
                               "exception": [dict(EXC, target="FS0?")]})
    with pytest.raises(ExportError, match="only \\* wildcards"):
        write_export(policy, tmp_path, at=date(2025, 1, 1))
