"""kerbfirst's own record form (`AuthEvent.to_record()`, in our JSON lines and CSV) back
to an AuthEvent. The JSON-lines and CSV readers share it."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from kerbfirst.audit import events as ev
from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest.json_text import loads as json_loads
from kerbfirst.audit.ingest.mapping import MAX_EXTRA_FIELDS, MAX_EXTRA_VALUE
from kerbfirst.audit.ingest.values import parse_time

OWN_KEYS = ("source", "record_id", "event_id", "host", "time")

_ENUMS: dict[str, type[Any]] = {
    "role": ev.Role, "account_scope": ev.AccountScope, "ntlm_version": ev.NtlmVersion,
    "mechanism": ev.AuthMechanism, "disposition": ev.Disposition, "cause": ev.Cause,
    "remedy": ev.Remedy,
}
_FIELDS = {f.name: f for f in dataclasses.fields(ev.AuthEvent)}
_INTS = ("record_id", "event_id")
_OPT_INTS = ("usage_reason", "secure_channel_type")


# The store's column ranges (store.SCHEMA): a value outside one is a corrupt record here,
# not an error that stops the Parquet write of a whole batch.
_RANGES = {"record_id": (0, ev.RECORD_ID_MAX), "event_id": (0, ev.INT32_MAX),
           "usage_reason": (ev.INT32_MIN, ev.INT32_MAX),
           "secure_channel_type": (ev.INT32_MIN, ev.INT32_MAX)}


def _bounded(name: str, value: int) -> int:
    lo, hi = _RANGES[name]
    if not lo <= value <= hi:
        raise ValueError(f"{name} {value} is outside {lo}..{hi}")
    return value


def event_from_record(rec: Mapping[str, Any], file: str) -> AuthEvent:
    """Back from `AuthEvent.to_record()` (our JSON lines / CSV); unknown keys ignored."""
    kw: dict[str, Any] = {}
    for name, value in rec.items():
        if name not in _FIELDS:
            continue
        if name in _ENUMS:
            kw[name] = _ENUMS[name](value) if value not in (None, "") else None
            if kw[name] is None and name not in ("cause", "remedy"):
                del kw[name]
        elif name in _INTS:
            kw[name] = _bounded(name, int(value))
        elif name in _OPT_INTS:
            kw[name] = _bounded(name, int(value)) if value not in (None, "") else None
        elif name == "time":
            kw[name] = parse_time(value)
        elif name == "extra":
            extra = json_loads(value) if isinstance(value, str) else value or {}
            if not isinstance(extra, dict):
                raise ValueError(f"extra must be a JSON object, got {type(extra).__name__}")
            kw[name] = {str(k)[:64]: str(v)[:MAX_EXTRA_VALUE]
                        for k, v in list(extra.items())[:MAX_EXTRA_FIELDS]}
        else:
            kw[name] = "" if value is None else str(value)
    event = ev.AuthEvent(**kw)
    event.extra["file"] = file
    return event
