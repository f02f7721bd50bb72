"""`kerbfirst http gateway --testing-clock-offset`: the rehearsal's clock, off by default and
refused when malformed (the lab test runs it: the legacy device refused after expiry)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KF = [sys.executable, "-m", "kerbfirst.cli.main"]


def test_malformed_offset_is_refused_with_an_example(tmp_path: Path) -> None:
    keytab = tmp_path / "none.keytab"
    keytab.write_bytes(b"")
    got = subprocess.run([*KF, "http", "gateway", "--upstream", "http://127.0.0.1:9",
                          "--keytab", str(keytab), "--testing-clock-offset", "2 weeks"],
                         capture_output=True, text=True, timeout=60, check=False)
    assert got.returncode == 2
    assert "--testing-clock-offset '2 weeks': write a number and d, h or m, e.g. 2d" in (
        got.stderr), got.stderr


def test_the_option_is_documented_and_off_by_default() -> None:
    got = subprocess.run([*KF, "http", "gateway", "--help"], capture_output=True, text=True,
                         timeout=60, check=False, env={**os.environ, "COLUMNS": "300"})
    assert "--testing-clock-offset" in got.stdout
    assert "Off by default" in " ".join(got.stdout.split())
