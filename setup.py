"""Build hook for the opt-in compiled wheel; all metadata lives in pyproject.toml.

    pip install .                       # pure Python (the default, always)
    KERBFIRST_COMPILE=1 pip install .   # hot paths compiled by mypyc (needs gcc, Python headers)

With KERBFIRST_COMPILE=1 the modules listed by scripts/build_compiled.py (wire's DER and
Kerberos codecs, crypto, kdc, principal names; the audit ingest's EVTX loop, mapping and
classification) are compiled to C extensions inside the wheel, next to their
.py files. Editable installs (pip install -e) never compile, whatever the variable says: a
.so in the source tree would shadow later edits to its .py file.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from setuptools import setup

HERE = Path(__file__).resolve().parent
EDITABLE_COMMANDS = {"develop", "editable_wheel"}
# Metadata and requirement queries (egg_info, sdist, dist_info) run this file too, before the
# build environment has mypy: only commands that build extension modules compile.
BUILD_COMMANDS = {"bdist_wheel", "build", "build_ext", "install"}


def ext_modules() -> list[object]:
    if os.environ.get("KERBFIRST_COMPILE") != "1":
        return []
    if EDITABLE_COMMANDS & set(sys.argv):
        print("KERBFIRST_COMPILE=1 ignored: editable installs stay pure Python",
              file=sys.stderr)
        return []
    if not BUILD_COMMANDS & set(sys.argv):
        return []
    try:
        from mypyc.build import mypycify
    except ImportError as exc:
        raise SystemExit("KERBFIRST_COMPILE=1 needs mypy (which ships mypyc) in the build "
                         "environment: pip install mypy, or build with build isolation") from exc
    sys.path.insert(0, str(HERE / "scripts"))
    from build_compiled import compiled_modules

    return list(mypycify([f"src/{p}" for p in compiled_modules(HERE / "src")], opt_level="3"))


setup(ext_modules=ext_modules())
