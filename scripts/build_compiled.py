"""Build an opt-in, mypyc-compiled copy of kerbfirst's hot paths in a separate directory.

    .venv/bin/python scripts/build_compiled.py DEST
    PYTHONPATH=DEST/src python -m kerbfirst.cli.main kdc serve ...   # uses the compiled tree

Copies src/ to DEST/src and runs mypyc there on exactly the modules compiled_modules() lists
(the DER codec, the Kerberos message encoders/decoders, the crypto profiles, the KDC
exchanges, the shared Kerberos vocabulary (krb/); the path of an authenticated HTTP
request: GSS framing and SPNEGO codecs, the SPNEGO and krb5 acceptors, the Negotiate
middleware; the audit ingest's EVTX loop, field mapping and classification), leaving a
self-contained importable tree: each compiled module's .so sits next to its .py and
Python's import system prefers the extension module.
Everything else stays pure Python.

NEVER compile in place in the repository tree: a stale .so next to src/kerbfirst/x.py
shadows x.py, so a developer's edits to x.py would silently not run. This script refuses a
DEST whose src/ is the repository's own src/, and the repository never holds .so files.

Needs gcc and the Python development headers (mypyc builds C extensions) and mypy (which
ships mypyc) in the running interpreter. Takes about a minute on one core. Exit status 0 only if
every listed module was compiled; the last line printed is DEST/src.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SRC = REPO / "src"

# The hot path of one AS or TGS exchange, and the GSS framing and SPNEGO codecs of an HTTP
# Negotiate request. wire's other modules (IAKerb, NTLMSSP) and the outer layers (store,
# net, cli) stay pure Python.
WIRE_MODULES = ("der", "krb5_encode", "krb5_decode", "krb5", "constants", "gss_framing", "spnego")
# One authenticated HTTP request (Negotiate, RFC 4559): SPNEGO and GSS framing in wire, the
# SPNEGO and krb5 acceptors and the 0x8003 checksum in gss, the middleware and its helpers
# in web. gss/mechanism.py stays Python: its runtime-checkable Protocols are not native
# classes. gss/errors.py and gss/replay.py too: Python classes elsewhere subclass them, and a
# Python class cannot subclass a compiled one.
WEB_PATH = ("gss/spnego_acceptor", "gss/spnego_initiator", "gss/spnego_select",
            "gss/krb5_acceptor", "gss/krb5_initiator", "gss/krb5_tokens", "gss/checksum",
            "gss/per_message", "gss/sequence", "web/negotiate", "web/asgi", "web/acceptors",
            "web/channel_binding", "web/local_names", "web/audit")
# The NTLM workbench's per-record path: the EVTX read loop, field mapping, classification.
AUDIT_MODULES = ("audit/ingest/evtx_reader", "audit/ingest/mapping", "audit/ingest/json_text",
                 "audit/classify", "audit/events")
# krb: principal names (two unparsed per request), rd_req, the database types, the
# bounded caches; every module except __init__.py
WHOLE_PACKAGES = ("kdc", "crypto", "krb")


def compiled_modules(src: Path = SRC) -> list[str]:
    """Paths, relative to src, of the modules to compile (sorted, '/'-separated)."""
    paths = [f"kerbfirst/wire/{name}.py" for name in WIRE_MODULES]
    paths += [f"kerbfirst/{name}.py" for name in AUDIT_MODULES]
    paths += [f"kerbfirst/{name}.py" for name in WEB_PATH]
    for package in WHOLE_PACKAGES:
        paths += [
            p.relative_to(src).as_posix()
            for p in (src / "kerbfirst" / package).glob("*.py")
            if p.name != "__init__.py"
        ]
    missing = [p for p in paths if not (src / p).is_file()]
    if missing:
        raise SystemExit(f"modules to compile not found under {src}: {', '.join(missing)}")
    return sorted(paths)


def extension_path(py_file: Path) -> Path:
    """Where build_ext --inplace puts the extension module for py_file."""
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    return py_file.with_name(py_file.stem + str(suffix))


def copy_src(dest_src: Path) -> None:
    if dest_src.resolve() == SRC.resolve() or SRC.resolve() in dest_src.resolve().parents:
        raise SystemExit(f"refusing to build in the repository tree ({dest_src}): a stale .so "
                         "would shadow edited .py files; give a directory outside src/")
    if dest_src.exists():
        raise SystemExit(f"{dest_src} already exists; give an empty or new directory")
    shutil.copytree(SRC, dest_src, ignore=shutil.ignore_patterns(
        "__pycache__", "*.pyc", "*.so", "build", ".mypy_cache"))


def build(dest: Path, quiet: bool = False) -> Path:
    """Copy src/ to dest/src, compile COMPILED_MODULES there, return dest/src."""
    for tool in ("gcc",):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} not found: apt-get install gcc python3-dev")
    dest_src = dest / "src"
    copy_src(dest_src)
    modules = compiled_modules(dest_src)
    out = subprocess.DEVNULL if quiet else None
    done = subprocess.run([sys.executable, "-m", "mypyc", *modules], cwd=dest_src,
                          env={**os.environ, "PYTHONPATH": ""}, stdout=out,
                          stderr=subprocess.PIPE if quiet else None, check=False)
    if done.returncode:
        detail = done.stderr.decode(errors="replace")[-4000:] if quiet else ""
        raise SystemExit(f"mypyc failed with status {done.returncode}\n{detail}")
    not_built = [m for m in modules if not extension_path(dest_src / m).is_file()]
    if not_built:
        raise SystemExit(f"mypyc left no extension module for: {', '.join(not_built)}")
    # Intermediate C sources and mypy's cache are not needed to import the tree.
    shutil.rmtree(dest_src / "build", ignore_errors=True)
    shutil.rmtree(dest_src / ".mypy_cache", ignore_errors=True)
    return dest_src


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dest", type=Path, help="new or empty directory outside the repository's src/")
    ap.add_argument("--quiet", action="store_true", help="print mypyc's output only on failure")
    args = ap.parse_args()
    dest_src = build(args.dest.resolve(), quiet=args.quiet)
    print(dest_src)
    return 0


if __name__ == "__main__":
    sys.exit(main())
