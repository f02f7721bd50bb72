"""The generated PowerShell script quotes every string so that no policy text can end it:
PowerShell takes ' and the typographic quotes U+2018, U+2019, U+201A, U+201B all for a
single quote. Only ' and U+2019 were doubled, so an exception target such as
X‘); Start-Process calc; $null=@(‘X ran a command when the script was run."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kerbfirst.audit.export import write_export
from kerbfirst.policy import Policy

QUOTES = "'\u2018\u2019\u201a\u201b"


def _code_outside_strings(line: str) -> str:
    """The line with PowerShell single-quoted strings removed (the tokenizer's rule: a
    quote character inside such a string is literal only when doubled)."""
    out, i, n = [], 0, len(line)
    while i < n:
        c = line[i]
        if c == "#":
            break  # a line comment
        if c in QUOTES:
            i += 1
            while i < n:
                if line[i] in QUOTES:
                    if i + 1 < n and line[i + 1] in QUOTES:
                        i += 2
                        continue
                    break
                i += 1
            i += 1
            out.append("''")
            continue
        out.append(c)
        i += 1
    return "".join(out)


@pytest.mark.parametrize("quote", list(QUOTES))
def test_no_quote_character_ends_a_string(tmp_path: Path, quote: str) -> None:
    target = f"X{quote}); Start-Process calc; $null=@({quote}X"
    exc = [{"id": "EX", "target": target, "owner": "o", "expires": date(2026, 6, 30),
            "reason": "r", "compensating_control": "c"}]
    policy = Policy.from_dict({"mode": "enforce", "scope": {"estate": True}, "exception": exc})
    write_export(policy, tmp_path, at=date(2025, 5, 1))
    script = (tmp_path / "ntlm-policy.ps1").read_text("utf-8-sig")
    assert target.replace(quote, quote * 2) in script  # the value itself survives
    for line in script.splitlines():
        assert "Start-Process" not in _code_outside_strings(line), line
