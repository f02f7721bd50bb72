"""kerbfirst's PEP 517 build backend: setuptools', plus mypy when the wheel is compiled.

`pip install .` builds a wheel whose KDC hot path is compiled by mypyc whenever a C compiler
and the Python headers are present (see compile_choice.py and setup.py); mypyc ships with
mypy, so only then are mypy (and cryptography and orjson, whose types the compiled modules
use) added to the isolated build environment's requirements (setuptools documents this
in-tree wrapper for dynamic build dependencies). Editable installs are setuptools' own,
unchanged, and stay pure Python.
"""

from __future__ import annotations

from typing import Any

from compile_choice import PURE, missing_toolchain, mode
from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 (every PEP 517/660 hook, unchanged)

# The lowest mypy kerbfirst's dev tools allow (pyproject [project.optional-dependencies]),
# and the runtime dependencies the compiled modules import: mypyc type-checks them, so their
# type information must be in the isolated build environment too.
MYPYC_REQUIREMENTS = ("mypy>=1.10", "cryptography>=42", "orjson>=3.9")


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    requires: list[str] = _setuptools.get_requires_for_build_wheel(config_settings)
    # Without a compiler setup.py falls back to pure Python (and says so); mypy would be
    # downloaded for nothing.
    if mode() != PURE and not missing_toolchain():
        requires = [*requires, *MYPYC_REQUIREMENTS]
    return requires
