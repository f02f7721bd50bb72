"""`pip install .` without a C compiler: a working pure-Python wheel and exactly one warning
(as PyYAML, msgpack and aiohttp do); KERBFIRST_COMPILE=1 fails instead, naming what is
missing. The compiled build itself is tested in test_compiled_build.py.

The compiler is made missing with CC=/nonexistent/cc (setup.py looks the compiler up as
distutils would, CC first). Built from a copy of the source tree, through pip with build
isolation, as a user builds it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
WARNING = "WARNING: kerbfirst is being built as pure Python"


def _tree(tmp: Path) -> Path:
    tree = tmp / "kerbfirst"
    shutil.copytree(REPO / "src", tree / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.so"))
    shutil.copytree(REPO / "build_support", tree / "build_support",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tree / "scripts").mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md",
                 "scripts/build_compiled.py"):
        shutil.copy(REPO / name, tree / name)
    return tree


def _pip_wheel(tree: Path, out: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out), str(tree)],
        env={**os.environ, **env}, capture_output=True, text=True, timeout=600, check=False)


def test_no_compiler_gives_a_pure_wheel_and_one_warning(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    done = _pip_wheel(tree, tmp_path / "dist", CC="/nonexistent/cc", KERBFIRST_COMPILE="")
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert output.count(WARNING) == 1, output[-4000:]
    assert "a C compiler (/nonexistent/cc) not found" in output, output[-4000:]
    (wheel,) = (tmp_path / "dist").glob("kerbfirst-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "kerbfirst/wire/der.py" in names
    assert not [n for n in names if n.endswith(".so")], names
    assert wheel.name.endswith("-py3-none-any.whl"), wheel.name  # no platform tag: pure


def test_compile_required_without_compiler_fails_naming_it(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    done = _pip_wheel(tree, tmp_path / "dist", CC="/nonexistent/cc", KERBFIRST_COMPILE="1")
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "KERBFIRST_COMPILE=1: cannot compile without a C compiler" in output, output[-4000:]
