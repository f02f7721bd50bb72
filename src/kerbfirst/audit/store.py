"""The event store: AuthEvents as Parquet partitioned by day, queried with DuckDB.

Layout (hive partitioning, read unchanged by DuckDB and Spark)::

    ROOT/events/day=YYYY-MM-DD/part-<uuid>.parquet

`day` is the UTC date of the event; it is the partition column and is not stored inside the
files. `time` is UTC without a zone attached (see SCHEMA). `extra` is stored as a JSON object
string (portable: Spark and DuckDB both read it).

Appends stream in batches with bounded memory: events are deduplicated on (source, record_id)
against the store and against the input itself, converted to Arrow per batch and day,
buffered per day and flushed as files of about `batch_size` rows. Every file is written under
a hidden temporary name (``.part-….tmp``: the ``*.parquet`` glob of DuckDB and Spark's
hidden-file rule both skip it) and renamed into place, so a failed write never leaves half a
file visible. A parallel ingest (pipeline.py) `stage`s instead: its workers' files
stay hidden (``.part-….parquet.TAG.staged``) until every worker succeeded, then `commit`
renames them all; a failed run `discard`s them, so it adds nothing.

Deduplication (store_keys.DayKeys): a record always falls in the same day partition, so the
keys are read per day, only for the days the input touches, and at most a budget of them is
held in memory (the least recently used days are dropped once written).
"""

from __future__ import annotations

import contextlib
import operator
import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from kerbfirst.audit.events import RECORD_ID_MAX, AuthEvent
from kerbfirst.audit.store_keys import DEFAULT_KEY_BUDGET, DayKeys

EVENTS_DIR = "events"
# Hosts ingest saw logging KDC events (domain controllers): a sorted JSON list of names.
DC_HOSTS_FILE = "dc-hosts.json"
MAX_DC_HOSTS_BYTES = 1 << 22

# The Parquet schema, in AuthEvent field order. tests/audit/test_store.py checks that it
# covers every AuthEvent field, so a field added to the model cannot be silently dropped.
SCHEMA = pa.schema(
    [
        ("source", pa.string()),
        ("record_id", pa.int64()),
        # UTC, stored without a zone (Parquet isAdjustedToUTC=false): DuckDB reads it as
        # TIMESTAMP and Spark as TIMESTAMP_NTZ, so both hand back the same naive UTC values
        # whatever the session time zone (a zoned column comes back in local time in Spark).
        ("time", pa.timestamp("us")),
        ("host", pa.string()),
        ("provider", pa.string()),
        ("event_id", pa.int32()),
        ("role", pa.string()),
        ("client_host", pa.string()),
        ("client_address", pa.string()),
        ("target_name", pa.string()),
        ("user", pa.string()),
        ("domain", pa.string()),
        ("account_scope", pa.string()),
        ("process", pa.string()),
        ("ntlm_version", pa.string()),
        ("mechanism", pa.string()),
        ("usage_reason", pa.int32()),
        ("disposition", pa.string()),
        ("status", pa.string()),
        ("secure_channel_type", pa.int32()),
        ("extra", pa.string()),
        ("cause", pa.string()),
        ("remedy", pa.string()),
        ("evidence", pa.string()),
    ]
)
DICTIONARY_MIN_ROWS = 1000  # see write_parquet
ADD_CHUNK = 8192  # events held as objects at a time (files still hold batch_size rows)


class AuditStoreError(Exception):
    """The store cannot be read or written; the message says which path and why."""


class AppendResult(NamedTuple):
    added: int
    duplicates: int
    files_written: int = 0


def _batches(events: Iterable[AuthEvent], size: int) -> Iterator[list[AuthEvent]]:
    batch: list[AuthEvent] = []
    for e in events:
        batch.append(e)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


# One C-level getter per column: map(getter, events) per column instead of building a
# row tuple per event and transposing it.
_GETTERS = [operator.attrgetter(name) for name in SCHEMA.names]
_EXTRA = SCHEMA.names.index("extra")


def _encode_extra(extra: dict[str, str]) -> str:
    """The extra fields as compact JSON text with sorted keys (one spelling per content,
    so equal rows compare equal in SQL). orjson, because on NTLM-dense logs every record
    becomes a row."""
    return orjson.dumps(extra, option=orjson.OPT_SORT_KEYS).decode()


def _to_arrow(events: list[AuthEvent]) -> pa.Table:
    """Events as a SCHEMA table. Enums go in as the strings they are (StrEnum); pyarrow
    stores aware times as their UTC value and naive ones unchanged (taken as UTC)."""
    columns: list[list[Any]] = [list(map(get, events)) for get in _GETTERS]
    columns[_EXTRA] = [_encode_extra(x) if x else None for x in columns[_EXTRA]]
    return pa.Table.from_arrays(
        [pa.array(col, type=f.type) for col, f in zip(columns, SCHEMA, strict=True)],
        schema=SCHEMA,
    )


def _sql_str(s: str) -> str:
    # The only text spliced into SQL here is the store path, quoted as a SQL string literal.
    return "'" + s.replace("'", "''") + "'"


class EventStore:
    """A directory of day-partitioned Parquet files of AuthEvents."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.events_dir = self.root / EVENTS_DIR

    # ---------------------------------------------------------------- reading

    def files(self) -> list[Path]:
        """The visible Parquet files (temporary files of a write in progress are not)."""
        if not self.events_dir.is_dir():
            return []
        return sorted(self.events_dir.glob("day=*/*.parquet"))

    def glob(self) -> str:
        return str(self.events_dir / "day=*" / "*.parquet")

    def connect(self) -> duckdb.DuckDBPyConnection:
        """An in-memory DuckDB connection with a view `events` over the store and a table
        `dc_hosts` (the domain controllers ingest saw).

        The view has every SCHEMA column plus `day` (DATE). An empty store gives an empty
        table of the same shape, so every query runs on a fresh store too.
        """
        con = duckdb.connect(":memory:")
        if self.files():
            con.execute(
                "CREATE VIEW events AS SELECT * FROM read_parquet("  # noqa: S608 (quoted path)
                f"{_sql_str(self.glob())}, hive_partitioning = true, "
                "hive_types = {'day': DATE}, union_by_name = true)"
            )
        else:
            con.register("_empty_events", SCHEMA.empty_table())
            con.execute(
                "CREATE TABLE events AS SELECT *, CAST(NULL AS DATE) AS day "
                "FROM _empty_events"
            )
            con.unregister("_empty_events")
        con.execute("CREATE TABLE dc_hosts (host VARCHAR)")
        hosts = self.dc_hosts()
        if hosts:
            con.executemany("INSERT INTO dc_hosts VALUES (?)", [(h,) for h in hosts])
        return con

    def dc_hosts(self) -> list[str]:
        """The domain controllers earlier ingests saw (upper-case host names)."""
        path = self.root / DC_HOSTS_FILE
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise AuditStoreError(f"{path}: cannot read: {exc}") from exc
        try:
            if len(raw) > MAX_DC_HOSTS_BYTES:
                raise ValueError("file too large")
            hosts = orjson.loads(raw)
            if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
                raise ValueError("not a list of host names")
        except ValueError as exc:
            raise AuditStoreError(f"{path}: damaged ({exc}); delete it and ingest the domain "
                             "controllers' Security logs again") from exc
        return hosts

    def ensure(self) -> None:
        """Create the store's folders: an ingest that found no NTLM leaves a store of 0
        events, which the reports read as "no NTLM seen" (not as "nothing ingested")."""
        self.events_dir.mkdir(parents=True, exist_ok=True)

    def add_dc_hosts(self, hosts: Iterable[str]) -> None:
        """Remember more domain controllers; written whole under a temporary name and
        renamed, so a failed write leaves the old list."""
        known = set(self.dc_hosts())
        merged = known | {h.upper() for h in hosts if h}
        if merged == known:
            return
        self.root.mkdir(parents=True, exist_ok=True)
        tmp = self.root / f".{DC_HOSTS_FILE}.{uuid.uuid4().hex}.tmp"
        try:
            tmp.write_bytes(orjson.dumps(sorted(merged)))
            os.replace(tmp, self.root / DC_HOSTS_FILE)
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()

    def count(self) -> int:
        with self.connect() as con:
            row = con.execute("SELECT COUNT(*) FROM events").fetchone()
        return int(row[0]) if row else 0

    # ---------------------------------------------------------------- writing

    def append(
        self, events: Iterable[AuthEvent], *, batch_size: int = 50_000,
        key_budget: int = DEFAULT_KEY_BUDGET,
    ) -> AppendResult:
        """Add events not already stored; return how many were added and how many skipped.

        Memory stays bounded by about two batches of rows in Arrow form, ADD_CHUNK events
        as objects and `key_budget` deduplication keys (~100 bytes each), whatever the
        size of the input or the store.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        writer = _Appender(self, batch_size, key_budget)
        try:
            # Events are deduplicated and converted in chunks smaller than a file: an
            # AuthEvent object is ~1.3 KB, its Arrow row a fraction of that.
            for batch in _batches(events, min(batch_size, ADD_CHUNK)):
                writer.add(batch)
            writer.flush_all()
        finally:
            writer.close()
        return AppendResult(writer.added, writer.duplicates, writer.files_written)

    def stage(
        self, events: Iterable[AuthEvent], *, tag: str, batch_size: int = 50_000,
        key_budget: int = DEFAULT_KEY_BUDGET,
    ) -> tuple[AppendResult, list[Path]]:
        """`append`, but the files stay hidden (``.part-….parquet.TAG.staged``) until
        `commit` renames them into place: a parallel ingest commits all its workers'
        files or none. Deduplicates against the committed store and the input itself
        (not against other stagings). On an error, this call's files are removed.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        if not tag.isalnum():
            raise ValueError(f"tag must be letters and digits, not {tag!r}")
        writer = _Appender(self, batch_size, key_budget, stage_tag=tag)
        try:
            for batch in _batches(events, min(batch_size, ADD_CHUNK)):
                writer.add(batch)
            writer.flush_all()
        except BaseException:
            self.discard(writer.staged)
            raise
        return AppendResult(writer.added, writer.duplicates, len(writer.staged)), writer.staged

    def commit(self, staged: Iterable[Path]) -> int:
        """Rename staged files into the store (each rename is atomic); return how many."""
        n = 0
        for tmp in staged:
            os.replace(tmp, staged_final(tmp))
            n += 1
        return n

    def discard(self, staged: Iterable[Path], tag: str | None = None) -> None:
        """Remove staged files; with `tag`, also any other file staged under that tag
        (a worker that was killed never reported its files)."""
        paths = list(staged)
        if tag is not None and self.events_dir.is_dir():
            paths.extend(self.events_dir.glob(f"day=*/.part-*.parquet.{tag}.staged*"))
        for p in paths:
            with contextlib.suppress(OSError):
                p.unlink()


STAGED_SUFFIX = ".staged"


def staged_final(tmp: Path) -> Path:
    """``.part-X.parquet.TAG.staged`` -> ``part-X.parquet`` in the same day directory."""
    name = tmp.name
    if not (name.startswith(".part-") and name.endswith(STAGED_SUFFIX)):
        raise ValueError(f"not a staged store file: {tmp}")
    return tmp.with_name(name[1:].rsplit(".", 2)[0])


def write_parquet(table: pa.Table, path: Path) -> None:
    """One store file. Dictionary pages shrink a large file many times over (hosts,
    users, causes repeat) but cost a fixed time per file, too much for a small one."""
    pq.write_table(table, path, compression="zstd",
                   use_dictionary=table.num_rows >= DICTIONARY_MIN_ROWS)


class _Appender:
    """One append run: the key index, the per-day buffers, the file writer."""

    def __init__(self, store: EventStore, batch_size: int,
                 key_budget: int = DEFAULT_KEY_BUDGET, stage_tag: str | None = None) -> None:
        self.store = store
        self.stage_tag = stage_tag
        self.staged: list[Path] = []
        self.batch_size = batch_size
        self.added = 0
        self.duplicates = 0
        self.files_written = 0
        self.buffers: dict[date, list[pa.Table]] = {}
        self.buffered: dict[date, int] = {}
        # A staged file is hidden from the day's glob: a day dropped from the key index
        # and touched again must read this run's staged files back too.
        self.keys = DayKeys(store.events_dir, budget=key_budget, on_read_error=self._damaged,
                            staged=self._staged_in)

    def close(self) -> None:
        pass

    def _staged_in(self, directory: Path) -> list[Path]:
        return [p for p in self.staged if p.parent == directory]

    def _damaged(self, path: Path, exc: Exception) -> AuditStoreError:
        return AuditStoreError(
            f"cannot read the event store {self.store.events_dir}: {path}: {exc}; "
            "remove or repair the damaged file it names"
        )

    def add(self, batch: list[AuthEvent]) -> None:
        # Deduplicate event by event against the day's keys (first occurrence wins), then
        # build one Arrow table per day straight from the kept events' attributes.
        kept: dict[date, list[AuthEvent]] = {}
        current: dict[date, dict[str, set[int]]] = {}
        for e in batch:
            rid = e.record_id
            if not 0 <= rid <= RECORD_ID_MAX:
                raise AuditStoreError(
                    f"record_id {rid} does not fit a signed 64-bit integer; "
                    "the ingest must give record ids in 0..2**63-1"
                )
            t = e.time
            tz = t.tzinfo
            # Aware times partition by their UTC date; a naive time is taken as UTC.
            day = t.date() if tz is None or tz is UTC else t.astimezone(UTC).date()
            day_keys = current.get(day)
            if day_keys is None:
                day_keys = current[day] = self.keys.day(day)
            ids = day_keys.get(e.source)
            if ids is None:
                ids = day_keys[e.source] = set()
            elif rid in ids:
                self.duplicates += 1
                continue
            ids.add(rid)
            rows = kept.get(day)
            if rows is None:
                kept[day] = [e]
            else:
                rows.append(e)
        for day, rows in kept.items():
            self.keys.grew(day, len(rows))
            self.added += len(rows)
            self.buffers.setdefault(day, []).append(_to_arrow(rows))
            self.buffered[day] = self.buffered.get(day, 0) + len(rows)
            if self.buffered[day] >= self.batch_size:
                self._flush(day)
        # Bound memory when events spread over many days: flush the fullest days first.
        while sum(self.buffered.values()) > 2 * self.batch_size:
            self._flush(max(self.buffered, key=lambda d: self.buffered[d]))
        # Bound the key index: forget the least recently used days, written out first.
        while self.keys.over_budget():
            cold = self.keys.coldest(set(current))
            if cold is None:
                break
            self._flush(cold)
            self.keys.drop(cold)

    def flush_all(self) -> None:
        for day in sorted(self.buffers):
            self._flush(day)

    def _flush(self, day: date) -> None:
        parts = self.buffers.pop(day, [])
        self.buffered.pop(day, None)
        if not parts:
            return
        table = pa.concat_tables(parts).sort_by([("time", "ascending")])
        directory = self.store.events_dir / f"day={day.isoformat()}"
        directory.mkdir(parents=True, exist_ok=True)
        name = f"part-{uuid.uuid4().hex}.parquet"
        if self.stage_tag is not None:
            staged = directory / f".{name}.{self.stage_tag}{STAGED_SUFFIX}"
            self.staged.append(staged)  # before writing: a failed write is removed too
            write_parquet(table, staged)
            return
        tmp = directory / f".{name}.tmp"
        try:
            write_parquet(table, tmp)
            os.replace(tmp, directory / name)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self.files_written += 1
