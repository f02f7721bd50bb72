"""The deduplication index of an EventStore append: which (source, record_id) are stored.

A record's day partition is a function of the record (the UTC date of its time), so a
duplicate can only ever be in the same day as the original: the index is kept per day
and a day's keys are read from that day's Parquet files the first time the input
touches it. An append therefore reads only the partitions its input falls in (not the
whole store), and memory is bounded by `budget` keys (about 100 bytes each in Python
sets): past it, the least recently used days are dropped -- after their buffered rows
were written, so reading them back finds everything. A single day holding more than
`budget` events is kept whole while it is in use (the bound is then that day's size).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# ~100 B per key (an int in a set): 1M keys is ~100 MiB, and
# far more than a day of NTLM events on most estates.
DEFAULT_KEY_BUDGET = 1_000_000


class DayKeys:
    """Per day: source -> set of record ids already stored or added in this run."""

    def __init__(self, events_dir: Path, *, budget: int = DEFAULT_KEY_BUDGET,
                 on_read_error: Callable[[Path, Exception], Exception],
                 staged: Callable[[Path], list[Path]] | None = None) -> None:
        self.events_dir = events_dir
        self._staged = staged  # day directory -> files written but not yet visible
        self.budget = budget
        self._on_read_error = on_read_error
        self._days: dict[date, dict[str, set[int]]] = {}  # insertion order = LRU order
        self._sizes: dict[date, int] = {}
        self.held = 0  # keys in memory
        self.days_loaded = 0  # day partitions read from disk (tests watch eviction)

    def day(self, day: date) -> dict[str, set[int]]:
        """The keys of `day`, read from its partition the first time; marks it recently used.
        The caller adds keys to the sets it gets and reports them with `grew`."""
        keys = self._days.pop(day, None)
        if keys is None:
            keys = self._load(day)
            self._sizes[day] = n = sum(len(s) for s in keys.values())
            self.held += n
            self.days_loaded += 1
        self._days[day] = keys
        return keys

    def grew(self, day: date, added: int) -> None:
        self._sizes[day] += added
        self.held += added

    def over_budget(self) -> bool:
        return self.held > self.budget and len(self._days) > 1

    def coldest(self, keep: set[date]) -> date | None:
        """The least recently used day not in `keep`, or None."""
        for day in self._days:
            if day not in keep:
                return day
        return None

    def drop(self, day: date) -> None:
        """Forget a day (its rows must be on disk already: `day` reads them back)."""
        self._days.pop(day, None)
        self.held -= self._sizes.pop(day, 0)

    def _load(self, day: date) -> dict[str, set[int]]:
        directory = self.events_dir / f"day={day.isoformat()}"
        files = sorted(directory.glob("*.parquet")) if directory.is_dir() else []
        if self._staged is not None:
            files += self._staged(directory)
        keys: dict[str, set[int]] = {}
        for f in files:
            try:
                table = pq.read_table(f, columns=["source", "record_id"])
            except (pa.ArrowException, OSError) as exc:
                raise self._on_read_error(f, exc) from exc
            sources = table.column("source").to_pylist()
            ids = table.column("record_id").to_pylist()
            for source, record_id in zip(sources, ids, strict=True):
                s = keys.get(source)
                if s is None:
                    s = keys[source] = set()
                s.add(record_id)
        return keys
