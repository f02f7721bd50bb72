"""Values of the principal store that hold no key material, and its conversions.

PrincipalInfo is what listing and administration return: everything about a principal
except its keys. Times are stored as integer seconds since the epoch (UTC).
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta


class StoreError(Exception):
    """A principal store operation failed; the message says what and how to fix it."""


class PrincipalExists(StoreError):
    pass


class PrincipalNotFound(StoreError):
    pass


class WeakPassword(StoreError):
    pass


# NIST SP 800-63B 5.1.1.2: user-chosen secrets of at least 8 characters.
DEFAULT_MIN_PASSWORD_LENGTH = 8


def check_password(password: str, *, min_length: int) -> None:
    """Refuse an empty password always, and one shorter than `min_length` characters
    (Unicode code points, as MIT kadm5's minlength counts characters of the string)."""
    if not password:
        raise WeakPassword(
            "the password is empty; give one of at least "
            f"{max(min_length, 1)} characters, or use --random for a service's keys"
        )
    if len(password) < min_length:
        raise WeakPassword(
            f"the password has {len(password)} characters; this realm requires at least "
            f"{min_length} ([policy] min_password_length in kerbfirst.toml)"
        )


class Unset:
    """Marker for "leave this attribute unchanged" where None is a meaningful value."""

    _instance: Unset | None = None

    def __new__(cls) -> Unset:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED = Unset()


@dataclasses.dataclass(frozen=True, slots=True)
class PrincipalInfo:
    """What an administrator may see of a principal: everything except key material."""

    name: str
    kvno: int
    etypes: tuple[int, ...]
    kvnos: tuple[int, ...]
    requires_preauth: bool
    disabled: bool
    expires: datetime | None
    max_life: timedelta | None
    max_renewable_life: timedelta | None
    allow_forwardable: bool
    allow_renewable: bool
    allow_as_service: bool
    fail_count: int
    last_failed: datetime | None
    created: datetime
    modified: datetime


def epoch(value: datetime) -> int:
    if value.tzinfo is None:
        raise StoreError("times given to the principal store must be timezone-aware (UTC)")
    return int(value.timestamp())


def optional_epoch(value: datetime | None) -> int | None:
    return None if value is None else epoch(value)


def from_epoch(value: int | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, UTC)


def to_timedelta(value: int | None) -> timedelta | None:
    return None if value is None else timedelta(seconds=value)


def seconds(value: timedelta | None) -> int | None:
    return None if value is None else int(value.total_seconds())
