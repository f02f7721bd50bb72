"""Build hook for the compiled wheel; all metadata lives in pyproject.toml.

    pip install .                       # compiled hot paths when gcc and Python.h are present,
                                        # else pure Python with one warning
    KERBFIRST_COMPILE=0 pip install .   # pure Python on purpose
    KERBFIRST_COMPILE=1 pip install .   # compiled, or the build fails saying what is missing

The modules listed by scripts/build_compiled.py (wire's DER and Kerberos codecs, crypto, kdc,
principal names; the audit ingest's EVTX loop, mapping and classification) are compiled by
mypyc to C extensions inside the wheel, next to their .py files. Editable installs
(pip install -e) never compile, whatever the variable says: a .so in the source tree would
shadow later edits to its .py file.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from setuptools import setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "build_support"))
from compile_choice import PURE, REQUIRED, missing_toolchain, mode, warn_pure  # noqa: E402

EDITABLE_COMMANDS = {"develop", "editable_wheel"}
# Metadata and requirement queries (egg_info, sdist, dist_info) run this file too, before the
# build environment has mypy: only commands that build extension modules compile.
BUILD_COMMANDS = {"bdist_wheel", "build", "build_ext", "install"}


def ext_modules() -> list[Any]:
    choice = mode()
    if choice == PURE or not BUILD_COMMANDS & set(sys.argv):
        return []
    if EDITABLE_COMMANDS & set(sys.argv):
        if choice == REQUIRED:
            print("KERBFIRST_COMPILE=1 ignored: editable installs stay pure Python",
                  file=sys.stderr)
        return []
    missing = missing_toolchain()
    if missing:
        if choice == REQUIRED:
            raise SystemExit(f"KERBFIRST_COMPILE=1: cannot compile without {' and '.join(missing)}"
                             " (on Debian: apt-get install gcc python3-dev)")
        warn_pure(f"{' and '.join(missing)} not found")
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        if choice == REQUIRED:
            raise SystemExit("KERBFIRST_COMPILE=1 needs mypy (which ships mypyc) in the build "
                             "environment: pip install mypy, or build with build "
                             "isolation") from exc
        warn_pure("mypy (which ships mypyc) is not in the build environment")
        return []
    sys.path.insert(0, str(HERE / "scripts"))
    from build_compiled import compiled_modules

    try:
        return list(mypycify([f"src/{p}" for p in compiled_modules(HERE / "src")],
                             opt_level="3"))
    except (Exception, SystemExit) as exc:  # mypyc reports type errors by exiting
        if choice == REQUIRED:
            raise
        warn_pure(f"mypyc failed ({exc})")
        return []


class FallbackBuildExt(build_ext):
    """Compiles the extension modules; in the default mode, a compiler that fails on them
    leaves a working pure-Python wheel (every compiled module's .py is packed too) and one
    warning, instead of a failed install."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as exc:  # the compiler's errors have no common base class
            if mode() == REQUIRED or not self.extensions:
                raise
            warn_pure(f"compiling failed ({exc})")
            for ext in self.extensions:  # none of a half-built set may shadow its .py
                Path(self.get_ext_fullpath(ext.name)).unlink(missing_ok=True)
            self.extensions = []


setup(ext_modules=ext_modules(), cmdclass={"build_ext": FallbackBuildExt})
