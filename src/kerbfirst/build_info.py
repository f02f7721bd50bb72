"""Which build of kerbfirst this process runs: the mypyc-compiled hot paths or pure Python.

`pip install .` compiles the hot paths when it can (setup.py); an editable install, a source
checkout on PYTHONPATH or a build without a compiler runs them as Python. The DER codec is
compiled in every compiled build, so its module's file says which one was imported.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kerbfirst import __version__
from kerbfirst.wire import der


def is_compiled() -> bool:
    """Whether the hot-path modules imported here are compiled extension modules."""
    return not str(getattr(der, "__file__", "")).endswith(".py")


def hot_path_build() -> str:
    """Which build of the KDC hot path this process imported: the compiled one (about twice
    the requests per second) or Python."""
    return "compiled hot path" if is_compiled() else "pure-Python hot path"


def version_text() -> str:
    """What `kerbfirst --version` prints: version, build, where it was imported from."""
    build = "compiled build (mypyc)" if is_compiled() else "pure-Python build"
    where = Path(__file__).resolve().parent
    py = ".".join(str(n) for n in sys.version_info[:3])
    return f"kerbfirst {__version__}, {build}, Python {py}, from {where}"
