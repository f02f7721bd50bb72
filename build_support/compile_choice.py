"""Whether a wheel build compiles kerbfirst's hot paths with mypyc: one answer for the build
backend (which adds mypy to the build requirements) and setup.py (which compiles).

KERBFIRST_COMPILE chooses:
    unset or "auto"  compile when a C compiler and the Python headers are present, otherwise
                     build pure Python with one warning (as PyYAML, msgpack and aiohttp do);
    "0"              pure Python, no compiler needed;
    "1"              compile, and fail the build if that is not possible.
"""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

ENV = "KERBFIRST_COMPILE"
PURE, AUTO, REQUIRED = "0", "auto", "1"


def mode() -> str:
    value = os.environ.get(ENV, AUTO).strip().lower() or AUTO
    if value not in (PURE, AUTO, REQUIRED):
        raise SystemExit(f"{ENV}={value!r} is not understood: use 0 (pure Python), "
                         "1 (compiled, or fail) or leave it unset (compiled when possible)")
    return value


def missing_toolchain() -> list[str]:
    """What a mypyc build needs and this machine lacks (empty when it can compile)."""
    missing = []
    # The compiler setuptools will run: $CC, else the one Python was built with.
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()[0]
    if shutil.which(cc) is None:
        missing.append(f"a C compiler ({cc})")
    include = Path(sysconfig.get_paths()["include"]) / "Python.h"
    if not include.is_file():
        missing.append(f"the Python headers ({include})")
    return missing


def warn_pure(reason: str) -> None:
    """The one warning of a fallback build."""
    print(f"WARNING: kerbfirst is being built as pure Python, without its compiled hot paths "
          f"(about half the KDC's request rate): {reason}. On Debian: apt-get install gcc "
          f"python3-dev, then reinstall. Set {ENV}=0 to build pure Python on purpose.",
          file=sys.stderr)
