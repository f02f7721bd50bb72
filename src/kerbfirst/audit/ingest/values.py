"""Values as Windows exports spell them: codes (decimal or 0x-hex), NTSTATUS spellings,
times (ISO 8601 or a culture's DateTime.ToString()), and keys for records without one."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

__all__ = ["CONTENT_ID_BASE", "content_record_id", "normalize_status", "parse_int",
           "parse_time"]


def parse_int(text: str) -> int | None:
    """Windows writes codes as decimal or 0x-hex; anything else is not a code."""
    t = text.strip()
    try:
        return int(t, 16) if t[:2].lower() == "0x" else int(t)
    except ValueError:
        return None


def normalize_status(text: str) -> str:
    """'0xc0000418' -> '0xC0000418': one spelling so equal codes group together."""
    t = text.strip()
    if t[:2].lower() == "0x":
        return "0x" + t[2:].upper()
    return t


# DateTime.ToString() in en-US and the common day-first cultures: what
# `Get-WinEvent | Export-Csv` writes for TimeCreated (no zone: taken as UTC, see below).
_CULTURE_FORMATS = ("%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%d.%m.%Y %H:%M:%S",
                    "%d/%m/%Y %H:%M:%S")


def _culture_time(text: str) -> datetime | None:
    for fmt in _CULTURE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def parse_time(value: object) -> datetime:
    """ISO 8601 (EVTX SystemTime, @timestamp, ours) to an aware UTC datetime.

    Naive times (NXLog's EventTime, CSV exports) are taken as UTC: the agent's zone is
    not in the record, and guessing the ingesting machine's zone would be worse.
    """
    if isinstance(value, datetime):
        dt = value
    else:
        s = str(value).strip()
        if s.endswith(" UTC"):
            s = s[:-4]
        try:
            dt = datetime.fromisoformat(s)
        except ValueError as exc:
            culture = _culture_time(s)
            if culture is None:
                raise ValueError(f"unreadable time {s[:40]!r}") from exc
            dt = culture
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


# Content-derived record ids live in [2**62, 2**63): EventRecordIDs (a per-channel
# counter) never get there, so a derived key cannot collide with a real one.
CONTENT_ID_BASE = 1 << 62


def content_record_id(*parts: object) -> int:
    """A stable record id for a record that carries none (NXLog without RecordNumber,
    the KDC's audit lines): the same content gives the same id in every file, so
    re-ingesting or reading a rotated copy adds nothing."""
    digest = hashlib.blake2b(
        json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False).encode(),
        digest_size=8).digest()
    return CONTENT_ID_BASE | (int.from_bytes(digest, "big") & (CONTENT_ID_BASE - 1))
