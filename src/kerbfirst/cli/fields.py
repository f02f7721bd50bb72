"""key=value fields for the CLI's log lines: one format for every command."""

from __future__ import annotations


def kv(**fields: object) -> str:
    """`k=v` pairs in the order given; a field without a value (None or "") is left out
    rather than printed as "None", and a value with spaces is quoted."""
    parts = []
    for key, value in fields.items():
        if value is None or value == "":
            continue
        text = str(value)
        parts.append(f'{key}="{text}"' if " " in text else f"{key}={text}")
    return " ".join(parts)
