"""How every `kerbfirst ... --help` shows its parameters, set once for the whole CLI.

Typer's own help prints a value type after flags that take no value (`--random <bool>`, even
`--help <bool>`), `<list[str]>` for repeatable options and arguments, and writes a required
argument as `{name}` in the usage line. Here, as in click's and MIT's usage texts: a flag
shows no type, a repeatable parameter the type of one value, and an argument is NAME when
required and [NAME] when optional (NAME... when repeatable).
"""

from __future__ import annotations

from typing import Any

from typer import core


def _one_value(shown: Any) -> Any:
    """`<list[str]>` -> `<str>`: a repeatable parameter takes one value each time."""
    if isinstance(shown, str) and shown.startswith("<list[") and shown.endswith("]>"):
        return f"<{shown[6:-2]}>"
    return shown


def _option_type(self: Any, ctx: Any) -> str | None:
    if self.is_flag or self.count:
        return None
    return _one_value(_typer_option_type(self, ctx))  # type: ignore[no-any-return]


def _argument_type(self: Any, ctx: Any) -> str | None:
    return _one_value(_typer_argument_type(self, ctx))  # type: ignore[no-any-return]


def _argument_usage(self: Any) -> str:
    name = str(self.display_name_raw)
    if self.metavar is None:
        name = name.upper()
    if not self.required:
        name = f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


_typer_option_type = core.TyperOption.display_type_rich
_typer_argument_type = core.TyperArgument.display_type_rich


def install() -> None:
    """Apply the formatting above to every command (idempotent)."""
    core.TyperOption.display_type_rich = _option_type  # type: ignore[method-assign]
    core.TyperArgument.display_type_rich = _argument_type  # type: ignore[method-assign]
    core.TyperArgument._usage_display_name = _argument_usage  # type: ignore[method-assign]
