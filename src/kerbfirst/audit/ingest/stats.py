"""Progress counters and the one error ingest raises."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeGuard

from kerbfirst.audit.events import AuthMechanism

if TYPE_CHECKING:
    from kerbfirst.audit.events import AuthEvent

# Warnings kept in memory; past this only the count grows (bounded memory on huge inputs).
MAX_KEPT_WARNINGS = 1000
MAX_DC_HOSTS = 10_000


class IngestError(Exception):
    """Nothing at all could be read. The message names every file and what to do."""


@dataclasses.dataclass(slots=True)
class IngestStats:
    """Counters a progress bar reads while `iter_events` runs (single-threaded: no locks)."""

    files_total: int = 0
    files_done: int = 0
    records_read: int = 0  # records read successfully, relevant or not (not the corrupt)
    events_yielded: int = 0  # NTLM events, and the Kerberos failures that explain them
    kerberos_failures: int = 0  # of events_yielded: Kerberos failures that explain NTLM
    explicit_credentials: int = 0  # of events_yielded: 4648 to an IP address
    kerberos_logons: int = 0  # of events_yielded: 4624/4625 of kerbfirst's own acceptors
    records_skipped_irrelevant: int = 0
    records_corrupt: int = 0  # unreadable records, skipped with a warning
    warnings: list[str] = dataclasses.field(default_factory=list)
    warnings_total: int = 0
    current_file: str = ""
    started_monotonic: float | None = None  # set by the caller when it starts the clock
    # Hosts seen logging KDC events (4768/4769/4771, any result): domain controllers.
    # Bounded: a forwarded-events collection has a few DCs, not thousands.
    dc_hosts: set[str] = dataclasses.field(default_factory=set)
    # CPU time of parallel ingest's worker processes (not in this process's own)
    worker_cpu_seconds: float = 0.0

    @property
    def ntlm_events(self) -> int:
        """Events yielded that are NTLM authentications (not the events kept because they
        explain one)."""
        return (self.events_yielded - self.kerberos_failures - self.explicit_credentials
                - self.kerberos_logons)

    def records_per_second(self, now_monotonic: float) -> float:
        """Records read per second since `started_monotonic` (0.0 before it is set)."""
        if self.started_monotonic is None:
            return 0.0
        elapsed = now_monotonic - self.started_monotonic
        return self.records_read / elapsed if elapsed > 0 else 0.0


class ReadContext:
    """What a reader needs besides its file: counters and the warning sink."""

    __slots__ = ("_warn", "file", "stats")

    def __init__(self, file: str, stats: IngestStats, warn: Callable[[str], None]) -> None:
        self.file = file
        self.stats = stats
        self._warn = warn

    def warn(self, message: str) -> None:
        self.stats.warnings_total += 1
        if len(self.stats.warnings) < MAX_KEPT_WARNINGS:
            self.stats.warnings.append(message)
        self._warn(message)

    def counted(self, event: AuthEvent | None) -> TypeGuard[AuthEvent]:
        """Count one record that was read: an event to yield (True) or an irrelevant one."""
        stats = self.stats
        stats.records_read += 1
        if event is None:
            stats.records_skipped_irrelevant += 1
            return False
        stats.events_yielded += 1
        if event.mechanism is AuthMechanism.KERBEROS:
            if event.event_id in (4624, 4625):
                stats.kerberos_logons += 1
            else:
                stats.kerberos_failures += 1
        elif event.mechanism is AuthMechanism.EXPLICIT_CREDENTIALS:
            stats.explicit_credentials += 1
        return True

    def note_kdc_host(self, host: str) -> None:
        """`host` logged a KDC event: it is a domain controller (analytics tells a 4776
        on a DC, NTLM pass-through, from one on a member, a local SAM check)."""
        dcs = self.stats.dc_hosts
        if host and len(dcs) < MAX_DC_HOSTS:
            dcs.add(host.upper())

    def corrupt(self, where: str, what: str) -> None:
        """A record we could not read: skip it, count it, say where it was."""
        self.stats.records_corrupt += 1
        self.warn(f"{self.file}: {where}: skipped unreadable record: {what}")
