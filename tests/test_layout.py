"""The layering rule of DESIGN.md: the protocol core does no I/O and reads no clock."""

import ast
import pathlib

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "kerbfirst"
PURE = ["wire", "crypto", "kdc", "gss", "policy", "client"]
FORBIDDEN_MODULES = {
    "socket",
    "asyncio",
    "os",
    "subprocess",
    "sqlite3",
    "time",
    "random",
    "secrets",
}
FORBIDDEN_CALLS = {"open", "now", "utcnow", "today", "time", "urandom"}
OUTER = {"audit", "store", "net", "cli"}


def _pure_files() -> list[pathlib.Path]:
    return [p for layer in PURE for p in sorted((SRC / layer).rglob("*.py"))]


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_layer_does_no_io(path: pathlib.Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                assert top not in FORBIDDEN_MODULES, f"{path}: imports {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            assert top not in FORBIDDEN_MODULES, f"{path}: imports from {node.module}"
            if top == "kerbfirst":
                parts = node.module.split(".")
                assert len(parts) < 2 or parts[1] not in OUTER, f"{path}: imports {node.module}"
        elif isinstance(node, ast.Call):
            fn = node.func
            name = (
                fn.id
                if isinstance(fn, ast.Name)
                else fn.attr
                if isinstance(fn, ast.Attribute)
                else ""
            )
            assert name not in FORBIDDEN_CALLS, f"{path}:{node.lineno}: calls {name}()"


def test_inner_layers_do_not_import_outer() -> None:
    for layer in ("wire", "crypto"):
        for path in (SRC / layer).rglob("*.py"):
            text = path.read_text()
            for other in ("kdc", "gss", "policy", "audit", "store", "net", "cli"):
                assert f"kerbfirst.{other}" not in text, f"{path} imports kerbfirst.{other}"
