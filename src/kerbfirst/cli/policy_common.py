"""What the `kerbfirst policy` command modules share: the policy file chosen by
`--policy`, the (injectable) time, how a command fails, and how a change is recorded."""

from __future__ import annotations

import getpass
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from kerbfirst.policy import ExceptionEntry, Policy, PolicyError
from kerbfirst.policy import register as reg
from kerbfirst.store import ntlm_register as history

STATE: dict[str, Any] = {"policy": Path("ntlm-policy.toml"), "now": None}


def current_time() -> datetime:
    pinned = STATE["now"]
    return pinned if isinstance(pinned, datetime) else datetime.now(UTC)


def policy_path() -> Path:
    return Path(STATE["policy"])


def fail(message: str, code: int = 1) -> typer.Exit:
    Console(stderr=True, highlight=False).print(Text(f"error: {message}", style="red"))
    return typer.Exit(code)


def load_policy() -> Policy:
    if not policy_path().exists():
        raise fail(f"{policy_path()} does not exist: create it with `kerbfirst policy init` "
                   "(or pass --policy FILE)")
    try:
        return history.load(policy_path())
    except PolicyError as exc:
        raise fail(str(exc)) from None


WhoOpt = Annotated[str | None, typer.Option(
    "--by", help="Who makes the change, for the history (default: the login name).")]


def who(by: str | None) -> str:
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid {os.getuid()}"


def record_change(new: Policy, *, action: str, eid: str | None,
                  before: ExceptionEntry | dict[str, Any] | None,
                  after: ExceptionEntry | dict[str, Any] | None, why: str,
                  by: str | None) -> None:
    """Record `new` with its history line; `before`/`after` are the exception changed, or
    the policy settings changed (a dict) for a change that is not an exception's."""
    def as_json(x: ExceptionEntry | dict[str, Any] | None) -> dict[str, Any] | None:
        return reg.entry_json(x) if isinstance(x, ExceptionEntry) else x

    try:
        with history.locked(policy_path()):
            history.commit(policy_path(), new, who=who(by), action=action, exception_id=eid,
                           before=as_json(before), after=as_json(after), why=why,
                           now=current_time())
    except history.HistoryError as exc:
        raise fail(f"refusing to change the register: {exc}") from None
    except OSError as exc:
        raise fail(f"cannot write {policy_path()} or its history: "
                   f"{exc.strerror or exc}; nothing was changed") from None
