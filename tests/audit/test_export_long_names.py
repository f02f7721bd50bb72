"""A server whose host name is longer than 15 characters: NTLM exception lists match the
NetBIOS name, which Windows makes from the host name's first 15 characters. The FQDN
form used to be written whole (17 characters, which nothing matches) without a word."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from test_export import EXC, parse_reg

from kerbfirst.audit.export import MSV1_0, NETLOGON, write_export
from kerbfirst.policy import Policy


def test_long_host_names_are_written_as_their_netbios_names(tmp_path: Path) -> None:
    exc = [dict(EXC, id="LONGFQDN", target="reportingserver01.corp.example"),
           dict(EXC, id="LONGBARE", target="reportingserver02"),
           dict(EXC, id="WILD", target="reportingserver*")]
    policy = Policy.from_dict({"mode": "enforce", "scope": {"estate": True},
                               "exception": exc})
    write_export(policy, tmp_path, at=date(2025, 5, 1))
    clients = parse_reg(tmp_path / "ntlm-clients.reg")
    expected = ["REPORTINGSERVER", "reportingserver*"]
    assert clients[MSV1_0]["ClientAllowedNTLMServers"] == expected
    assert parse_reg(tmp_path / "ntlm-domain-controllers.reg")[NETLOGON][
        "DCAllowedNTLMServers"] == expected
    text = (tmp_path / "ntlm-clients.reg").read_bytes()[2:].decode("utf-16-le")
    assert "target reportingserver01.corp.example is written as REPORTINGSERVER" in text
    assert "target reportingserver02 is written as REPORTINGSERVER" in text
