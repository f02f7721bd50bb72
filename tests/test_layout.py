"""The layout of docs/architecture.md, enforced: the protocol core does no I/O and reads no
clock; each package imports only the packages below it; no import cycles (imports inside
functions and under TYPE_CHECKING count); no module imports another's private names; no
class name is defined in two modules."""

import ast
import pathlib
from collections.abc import Callable

import pytest

SRC = pathlib.Path(__file__).resolve().parents[1] / "src" / "kerbfirst"
PURE = ["wire", "crypto", "krb", "kdc", "gss", "policy", "client"]
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
OUTER = {"audit", "store", "net", "app", "cli"}


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


# What each package (or top-level module) may import besides itself: docs/architecture.md.
_CORE = {"wire", "crypto", "krb"}
ALLOWED: dict[str, set[str]] = {
    "wire": set(),
    "crypto": set(),
    "krb": {"wire", "crypto"},
    "kdc": _CORE,
    "client": _CORE,
    # IAKerb's initiator runs the client's AS and TGS exchanges; the NTLM acceptor asks the
    # NTLM policy (gss/ntlm_governed.py)
    "gss": _CORE | {"client", "policy"},
    "policy": set(),
    "store": _CORE | {"policy"},  # the NTLM policy file, read and reloaded
    "audit": _CORE | {"policy"},  # the KDC's audit records are read back as JSON, not imported
    "net": _CORE | {"kdc", "client", "gss", "policy"},
    # HTTP adapters: the SPNEGO acceptor, keytabs/ccaches, the KDC transport and forwarder
    "web": _CORE | {"client", "gss", "policy", "store", "net"},
    "app": _CORE | {"kdc", "client", "gss", "policy", "store", "audit", "net", "web", "build_info"},
    # the rehearsal (`kerbfirst lab`): assembly and I/O over everything but the CLI, whose
    # commands it runs as subprocesses, as a user would
    "lab": _CORE | {"kdc", "client", "gss", "policy", "store", "audit", "net", "web", "app"},
    "cli": _CORE
    | {"kdc", "client", "gss", "policy", "store", "audit", "net", "web", "app", "lab",
       "build_info"},
    "build_info": {"wire", ""},
    "": set(),  # kerbfirst/__init__.py
}
# The one cycle kept on purpose: the message classes and their codec need each other, and
# the compiled build can import only one such cycle (wire/krb5.py says why).
ALLOWED_CYCLES = [
    {"kerbfirst.wire.krb5", "kerbfirst.wire.krb5_decode", "kerbfirst.wire.krb5_encode"}
]


def _module_name(path: pathlib.Path) -> str:
    parts = ["kerbfirst", *path.relative_to(SRC).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _package(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return ""
    return parts[1]


def _imports(module: str) -> list[tuple[int, str, list[str]]]:
    """(line, imported module, imported names) of every kerbfirst import anywhere in the
    module: at the top, inside functions, under TYPE_CHECKING."""
    path = MODULES[module]
    here = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")[: len(here.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            if base == "kerbfirst" or base.startswith("kerbfirst."):
                found.append((node.lineno, base, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "kerbfirst" or alias.name.startswith("kerbfirst."):
                    found.append((node.lineno, alias.name, []))
    return found


def _targets(base: str, names: list[str]) -> list[str]:
    """The modules an import reaches: `from pkg import mod` reaches pkg.mod."""
    reached = [f"{base}.{n}" for n in names if f"{base}.{n}" in MODULES]
    return reached or [base]


@pytest.mark.parametrize("module", sorted(MODULES), ids=str)
def test_package_imports_only_what_its_layer_allows(module: str) -> None:
    package = _package(module)
    assert package in ALLOWED, f"{module}: package {package!r} has no entry in ALLOWED"
    for line, base, names in _imports(module):
        for target in _targets(base, names):
            other = _package(target)
            if other == package:
                continue
            assert other in ALLOWED[package], (
                f"{MODULES[module]}:{line}: {package or 'kerbfirst'} may not import {target} "
                f"(allowed: {sorted(ALLOWED[package])}; see docs/architecture.md)"
            )


def test_no_private_names_imported_across_modules() -> None:
    bad = []
    for module in MODULES:
        for line, base, names in _imports(module):
            for name in names:
                dunder = name.startswith("__") and name.endswith("__")  # __version__
                if name.startswith("_") and not dunder and base != module:
                    bad.append(f"{MODULES[module]}:{line}: imports {name} from {base}")
            if any(part.startswith("_") and part != "__init__" for part in base.split(".")):
                bad.append(f"{MODULES[module]}:{line}: imports the private module {base}")
    assert not bad, "\n".join(bad)


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for module in MODULES:
        for _, base, names in _imports(module):
            for target in _targets(base, names):
                if target in MODULES and target != module:
                    graph[module].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(component)
    return found


def test_no_import_cycles() -> None:
    cycles = [c for c in _cycles(_graph()) if c not in ALLOWED_CYCLES]
    assert not cycles, f"import cycles: {[sorted(c) for c in cycles]}"


def test_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [{"a", "b", "c"}]


def test_package_graph_is_acyclic() -> None:
    packages = {p: {q for q in allowed if q != p} for p, allowed in ALLOWED.items()}
    assert not _cycles(packages)


def test_benchmarks_do_not_import_the_cli() -> None:
    """bench/ builds what it measures with kerbfirst.app (running the `kerbfirst` command in
    a child process, to measure the command itself, is fine)."""
    bench = SRC.parents[1] / "bench"
    for path in sorted(bench.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                assert name != "kerbfirst.cli" and not name.startswith("kerbfirst.cli."), (
                    f"{path}:{node.lineno}: imports {name}; use kerbfirst.app, not the CLI"
                )


def _top_level_classes(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, name) of each class a module defines at its top level, including under a
    module-level `if`, `try` or `with` (e.g. `if TYPE_CHECKING:`), not inside functions."""
    found = []
    todo: list[ast.stmt] = list(ast.parse(path.read_text(), filename=str(path)).body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.ClassDef):
            found.append((node.lineno, node.name))
        elif isinstance(node, ast.If | ast.With):
            todo += [*node.body, *getattr(node, "orelse", [])]
        elif isinstance(node, ast.Try | ast.TryStar):
            todo += [*node.body, *node.orelse, *node.finalbody]
            todo += [stmt for handler in node.handlers for stmt in handler.body]
    return sorted(found)


def _class_homes(
    files: list[pathlib.Path], label: Callable[[pathlib.Path], str] = _module_name
) -> dict[str, list[str]]:
    homes: dict[str, list[str]] = {}
    for path in files:
        for line, name in _top_level_classes(path):
            homes.setdefault(name, []).append(f"{label(path)} (line {line})")
    return homes


def _duplicate_class_report(homes: dict[str, list[str]]) -> list[str]:
    return [
        f"class {name} is defined in {len(where)} modules: {', '.join(where)}; "
        "one name, one meaning: rename one of them to say what it is"
        for name, where in sorted(homes.items()) if len(where) > 1
    ]


def test_each_class_name_has_one_home() -> None:
    """A class name means one thing across src/kerbfirst, so a reader (and a grep) never
    has to ask which `Outcome` or `Reader` a line means."""
    report = _duplicate_class_report(_class_homes(sorted(MODULES.values())))
    assert not report, "\n".join(report)


def test_duplicate_class_check_names_both_modules(tmp_path: pathlib.Path) -> None:
    pkg = tmp_path / "kerbfirst_demo"
    pkg.mkdir()
    (pkg / "one.py").write_text("class Outcome:\n    pass\n")
    (pkg / "two.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    class Outcome: ...\n")
    (pkg / "three.py").write_text("class Pending: ...\ndef f() -> None:\n    class Outcome: ...\n")
    homes = _class_homes(sorted(pkg.iterdir()), label=lambda path: path.name)
    assert homes == {
        "Outcome": ["one.py (line 1)", "two.py (line 3)"],
        "Pending": ["three.py (line 1)"],
    }
    report = _duplicate_class_report(homes)
    assert len(report) == 1
    assert "Outcome" in report[0] and "one.py" in report[0] and "two.py" in report[0]
    assert "rename one" in report[0]
