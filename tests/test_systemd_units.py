"""The shipped systemd units (packaging/systemd/) pass `systemd-analyze verify` and keep the
properties the README promises: socket activation of UDP and TCP 88 and the UNIX socket,
Type=notify, a dedicated user and no privileges.

Run against copies whose ExecStart= names this test's interpreter (verify checks that the
program exists; /opt/kerbfirst is where the README installs it)."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

from peerlib import require_program

UNITS = Path(__file__).resolve().parent.parent / "packaging" / "systemd"


def _unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment, method-assign]
    parser.read_string((UNITS / name).read_text())
    return parser


def test_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = require_program("systemd-analyze")
    for name in ("kerbfirst-kdc.service", "kerbfirst-kdc.socket"):
        text = (UNITS / name).read_text().replace("/opt/kerbfirst/bin/kerbfirst", sys.executable)
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        [analyze, "verify", "--man=no", str(tmp_path / "kerbfirst-kdc.socket"),
         str(tmp_path / "kerbfirst-kdc.service")],
        capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_service_is_notify_type_unprivileged_and_confined() -> None:
    service = _unit("kerbfirst-kdc.service")["Service"]
    assert service["Type"] == "notify"
    assert service["User"] == "kerbfirst" and service["StateDirectory"] == "kerbfirst"
    assert service["CapabilityBoundingSet"] == ""  # port 88 comes from the socket unit
    assert service["NoNewPrivileges"] == "yes" and service["ProtectSystem"] == "strict"
    assert service["RestrictAddressFamilies"].split() == ["AF_UNIX", "AF_INET", "AF_INET6"]
    assert "kdc serve --dir /var/lib/kerbfirst" in service["ExecStart"]


def test_socket_passes_udp_and_tcp_88_and_the_unix_socket() -> None:
    text = (UNITS / "kerbfirst-kdc.socket").read_text()
    assert "ListenDatagram=88\n" in text and "ListenStream=88\n" in text
    assert "ListenStream=/run/kerbfirst/kdc.sock\n" in text
