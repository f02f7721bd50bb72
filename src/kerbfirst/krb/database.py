"""The principal database as the KDC sees it: a small interface, implemented in store/.

CONTRACT between kdc/ (caller) and store/ (implementation, SQLite by default); it lives
here, below both, so that neither imports the other. The KDC is a
pure function of (request, peer, now, database): it never opens the database itself, and the
lock-out bookkeeping (RFC 4120 says nothing; MIT's `fail_auth_count`/`last_failed` in
kdb, see MIT `src/kdc/kdc_preauth.c` and `lockout.c`) goes through these calls.

Principal names are MIT's unparsed form: components joined by "/", then "@REALM", with
"/", "@" and "\\" inside a component escaped by a backslash (MIT `krb5_unparse_name`).
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Protocol


@dataclasses.dataclass(frozen=True, slots=True)
class KeyEntry:
    """One long-term key of a principal, decrypted (held in memory only)."""

    kvno: int
    etype: int
    contents: bytes = dataclasses.field(repr=False)
    salt: bytes = b""  # the string-to-key salt; sent in ETYPE-INFO2 (RFC 4120 5.2.7.5)
    s2kparams: bytes | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class PrincipalEntry:
    name: str  # unparsed, e.g. "alice@DEMO.TEST", "host/server.demo.test@DEMO.TEST"
    keys: tuple[KeyEntry, ...]  # every kvno kept; the highest kvno is current
    requires_preauth: bool = True
    disabled: bool = False
    expires: datetime | None = None
    max_life: timedelta | None = None  # None: realm default
    max_renewable_life: timedelta | None = None
    allow_forwardable: bool = True
    allow_renewable: bool = True
    allow_as_service: bool = True  # may be the server of a ticket
    fail_count: int = 0  # failed pre-authentications in the current window
    last_failed: datetime | None = None


class PreauthAccountingUnavailable(Exception):
    """The database could not record a pre-authentication result (its file cannot be
    written: disk full, or another process holds the write lock too long). The KDC then
    answers the attempt KDC_ERR_SVC_UNAVAILABLE without a verdict (fail closed), as MIT
    krb5kdc answers when it cannot lock its database."""


class PrincipalDatabase(Protocol):
    def get_principal(self, name: str) -> PrincipalEntry | None:
        """The entry for an unparsed name, or None. Fast: called on every request."""
        ...

    def record_preauth_failure(
        self, name: str, now: datetime, window: timedelta | None = None
    ) -> None:
        """Count one failed pre-authentication, durably, before the KDC answers it. MIT
        lockout.c semantics: when more than `window` (MIT's failcnt_interval; None or 0:
        never) has passed since the last failure, the count restarts at 1. Raises
        PreauthAccountingUnavailable when the failure could not be stored."""
        ...

    def record_preauth_success(self, name: str, now: datetime) -> None:
        """Reset the failure count (cheap no-op when it is already zero). Raises
        PreauthAccountingUnavailable when a non-zero count could not be reset."""
        ...

    def failures_recordable(self) -> bool:
        """False while failures cannot be recorded (a recent write failed and writing
        still fails): the KDC then judges no pre-authentication attempt. Cheap when
        writes work: called before every pre-authentication."""
        ...


class RequestScopedDatabase(Protocol):
    """Optional for a PrincipalDatabase: told when a request starts and ends, it may check
    for other writers' changes once per request instead of on every lookup (the lookups
    of one request then see one consistent state). The KDC calls these when present."""

    def begin_request(self) -> None: ...

    def end_request(self) -> None: ...


# What an entry costs in a byte-bounded cache (krb.bounded_cache): an estimate that grows
# with everything a peer or an administrator can make large.
OBJECT_BYTES = 400  # an object with a dozen fixed fields and its slots


def principal_entry_size(name: str, entry: PrincipalEntry | None) -> int:
    """A store lookup result: the name it was asked for, and the entry (None: not found)."""
    size = len(name) + 60
    if entry is not None:
        size += OBJECT_BYTES + len(entry.name)
        for key in entry.keys:
            size += 150 + len(key.contents) + len(key.salt) + len(key.s2kparams or b"")
    return size
