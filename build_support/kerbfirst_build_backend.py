"""kerbfirst's PEP 517 build backend: setuptools', plus mypy when a compiled build is asked for.

`KERBFIRST_COMPILE=1 pip install .` builds a wheel whose KDC hot path is compiled by mypyc
(see setup.py); mypyc ships with mypy, so only then are mypy (and cryptography and
orjson, whose types the compiled modules use) added to the isolated build environment's requirements
(setuptools documents this in-tree wrapper for dynamic build dependencies). Every other
build, and every editable install, is setuptools' own, unchanged.
"""

from __future__ import annotations

import os
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import *  # noqa: F403 (every PEP 517/660 hook, unchanged)

# The lowest mypy kerbfirst's dev tools allow (pyproject [project.optional-dependencies]),
# and the runtime dependencies the compiled modules import: mypyc type-checks them, so their
# type information must be in the isolated build environment too.
MYPYC_REQUIREMENTS = ("mypy>=1.10", "cryptography>=42", "orjson>=3.9")


def get_requires_for_build_wheel(config_settings: dict[str, Any] | None = None) -> list[str]:
    requires: list[str] = _setuptools.get_requires_for_build_wheel(config_settings)
    if os.environ.get("KERBFIRST_COMPILE") == "1":
        requires = [*requires, *MYPYC_REQUIREMENTS]
    return requires
