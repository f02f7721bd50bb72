"""What the `kerbfirst policy` command modules share: the policy file chosen by
`--policy`, the (injectable) time, and how a command fails."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.text import Text

from kerbfirst.policy import Policy, PolicyError
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
