"""Running MIT krb5's programs as real peers: a missing program fails, never skips."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess

import pytest

INSTALL_HINT = "install MIT krb5 client tools: apt-get install krb5-user"


def mit_env(tmp_path: pathlib.Path) -> dict[str, str]:
    # An empty krb5.conf keeps the host's configuration out of the test.
    conf = tmp_path / "krb5.conf"
    if not conf.exists():
        conf.write_text("[libdefaults]\n")
    return {**os.environ, "KRB5_CONFIG": str(conf), "LC_ALL": "C", "TZ": "UTC"}


def run_mit(
    args: list[str], tmp_path: pathlib.Path, *, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    program = shutil.which(args[0])
    if program is None:
        pytest.fail(f"MIT program {args[0]!r} not found; {INSTALL_HINT}")
    return subprocess.run(
        [program, *args[1:]],
        input=stdin,
        capture_output=True,
        text=True,
        env=mit_env(tmp_path),
        timeout=30,
        check=False,
    )


def ktutil_keytab(
    tmp_path: pathlib.Path, entries: list[tuple[str, int, str, str]], name: str = "mit.keytab"
) -> pathlib.Path:
    """Let MIT ktutil derive keys from passwords: entries are (principal, kvno, enctype, pw)."""
    path = tmp_path / name
    script = "".join(
        f"addent -password -p {p} -k {kvno} -e {enctype}\n{password}\n"
        for p, kvno, enctype, password in entries
    )
    script += f"wkt {path}\nquit\n"
    result = run_mit(["ktutil"], tmp_path, stdin=script)
    if result.returncode != 0 or not path.exists():
        pytest.fail(f"ktutil failed: {result.stdout}\n{result.stderr}")
    return path


def python_env() -> dict[str, str]:
    """Environment for a child Python that imports this worktree's kerbfirst."""
    import kerbfirst

    src = str(pathlib.Path(kerbfirst.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")])}
