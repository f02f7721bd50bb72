"""The CLI that `kdc serve` and `kinit` run does not load the audit workbench's engines."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("duckdb", "pyarrow", "evtx", "orjson", "pyspark")


def test_cli_import_leaves_audit_engines_unloaded() -> None:
    code = (
        "import json, sys\n"
        "from kerbfirst.cli.main import app\n"
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(done.stdout) == []
