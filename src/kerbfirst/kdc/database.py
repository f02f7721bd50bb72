"""The principal database as the KDC sees it: a small interface, implemented in store/.

CONTRACT between kdc/ (caller) and store/ (implementation, SQLite by default). The KDC is a
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


class PrincipalDatabase(Protocol):
    def get_principal(self, name: str) -> PrincipalEntry | None:
        """The entry for an unparsed name, or None. Fast: called on every request."""
        ...

    def record_preauth_failure(self, name: str, now: datetime) -> None:
        """Count one failed pre-authentication (lock-out, MIT lockout.c semantics)."""
        ...

    def record_preauth_success(self, name: str, now: datetime) -> None:
        """Reset the failure count (cheap no-op when it is already zero)."""
        ...


class RequestScopedDatabase(Protocol):
    """Optional for a PrincipalDatabase: told when a request starts and ends, it may check
    for other writers' changes once per request instead of on every lookup (the lookups
    of one request then see one consistent state). The KDC calls these when present."""

    def begin_request(self) -> None: ...

    def end_request(self) -> None: ...
