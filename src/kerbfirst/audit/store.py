"""The event store: AuthEvents as Parquet partitioned by day, queried with DuckDB.

Layout (hive partitioning, read unchanged by DuckDB and Spark)::

    ROOT/events/day=YYYY-MM-DD/part-<uuid>.parquet

`day` is the UTC date of the event; it is the partition column and is not stored inside the
files. `time` is UTC without a zone attached (see SCHEMA). `extra` is stored as a JSON object
string (portable: Spark and DuckDB both read it).

Appends stream in batches with bounded memory: events are converted to Arrow per batch,
deduplicated on (source, record_id) against the store and against the input itself, buffered
per day and flushed as files of about `batch_size` rows. Every file is written under a hidden
temporary name (``.part-….tmp``: the ``*.parquet`` glob of DuckDB and Spark's hidden-file rule
both skip it) and renamed into place, so a failed write never leaves half a file visible.

The deduplication key set lives in an in-memory DuckDB table of (source number, record id):
12 bytes per stored event instead of a Python set's ~70, so a store of tens of millions of
events is deduplicated well within memory.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from kerbfirst.audit.events import AuthEvent

EVENTS_DIR = "events"

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
_PLAIN_FIELDS = [n for n in SCHEMA.names if n not in ("time", "extra")]
_INT64_MAX = 2**63 - 1


class StoreError(Exception):
    """The store cannot be read or written; the message says which path and why."""


class AppendResult(NamedTuple):
    added: int
    duplicates: int
    files_written: int = 0


def _naive_utc(t: datetime) -> datetime:
    # The event model promises aware UTC times; a naive time is taken as UTC, not local time,
    # because the clock of the machine running the analysis says nothing about the estate.
    aware = t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)
    return aware.replace(tzinfo=None)


def _batches(events: Iterable[AuthEvent], size: int) -> Iterator[list[AuthEvent]]:
    batch: list[AuthEvent] = []
    for e in events:
        batch.append(e)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


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
        """An in-memory DuckDB connection with a view `events` over the store.

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
        return con

    def count(self) -> int:
        with self.connect() as con:
            row = con.execute("SELECT COUNT(*) FROM events").fetchone()
        return int(row[0]) if row else 0

    # ---------------------------------------------------------------- writing

    def append(
        self, events: Iterable[AuthEvent], *, batch_size: int = 50_000
    ) -> AppendResult:
        """Add events not already stored; return how many were added and how many skipped.

        Memory stays bounded by about two batches of events plus 12 bytes per stored key.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, not {batch_size}")
        writer = _Appender(self, batch_size)
        try:
            for batch in _batches(events, batch_size):
                writer.add(batch)
            writer.flush_all()
        finally:
            writer.close()
        return AppendResult(writer.added, writer.duplicates, writer.files_written)


class _Appender:
    """One append run: the key index, the per-day buffers, the file writer."""

    def __init__(self, store: EventStore, batch_size: int) -> None:
        self.store = store
        self.batch_size = batch_size
        self.added = 0
        self.duplicates = 0
        self.files_written = 0
        self.source_ids: dict[str, int] = {}
        self.buffers: dict[date, list[pa.Table]] = {}
        self.buffered: dict[date, int] = {}
        self.keys = duckdb.connect(":memory:")
        self.keys.execute("CREATE TABLE seen (sid INTEGER, record_id BIGINT)")
        self._load_stored_keys()

    def close(self) -> None:
        self.keys.close()

    def _load_stored_keys(self) -> None:
        if not self.store.files():
            return
        src = (
            f"read_parquet({_sql_str(self.store.glob())}, hive_partitioning = false, "
            "union_by_name = true)"
        )
        try:
            sources = self.keys.execute(f"SELECT DISTINCT source FROM {src}").fetchall()  # noqa: S608
        except duckdb.Error as exc:
            raise StoreError(
                f"cannot read the event store {self.store.events_dir}: {exc}; "
                "remove or repair the damaged file it names"
            ) from exc
        for (name,) in sources:
            self.source_ids.setdefault(name, len(self.source_ids))
        mapping = pa.table(
            {
                "source": pa.array(list(self.source_ids), pa.string()),
                "sid": pa.array(list(self.source_ids.values()), pa.int32()),
            }
        )
        self.keys.register("source_map", mapping)
        self.keys.execute(
            f"INSERT INTO seen SELECT m.sid, s.record_id FROM {src} s "  # noqa: S608
            "JOIN source_map m ON s.source = m.source"
        )
        self.keys.unregister("source_map")

    def _to_arrow(self, batch: list[AuthEvent]) -> tuple[pa.Table, list[date]]:
        cols: dict[str, Any] = {}
        for name in _PLAIN_FIELDS:
            cols[name] = [getattr(e, name) for e in batch]
        for rid in cols["record_id"]:
            if not 0 <= rid <= _INT64_MAX:
                raise StoreError(
                    f"record_id {rid} does not fit a signed 64-bit integer; "
                    "the ingest must give record ids in 0..2**63-1"
                )
        times = [_naive_utc(e.time) for e in batch]
        cols["time"] = times
        cols["extra"] = [
            json.dumps(e.extra, ensure_ascii=False, sort_keys=True) if e.extra else None
            for e in batch
        ]
        sids = []
        for s in cols["source"]:
            sid = self.source_ids.get(s)
            if sid is None:
                sid = self.source_ids[s] = len(self.source_ids)
            sids.append(sid)
        table = pa.Table.from_pydict({n: cols[n] for n in SCHEMA.names}, schema=SCHEMA)
        table = table.append_column("_sid", pa.array(sids, pa.int32()))
        table = table.append_column("_row", pa.array(range(len(batch)), pa.int32()))
        return table, [t.date() for t in times]

    def add(self, batch: list[AuthEvent]) -> None:
        table, days = self._to_arrow(batch)
        self.keys.register("batch", table)
        # First occurrence of each key within the batch, and only keys not yet seen.
        rows = self.keys.execute(
            "SELECT MIN(b._row) FROM batch b "
            "WHERE NOT EXISTS (SELECT 1 FROM seen s "
            "WHERE s.sid = b._sid AND s.record_id = b.record_id) "
            "GROUP BY b._sid, b.record_id ORDER BY 1"
        ).fetchall()
        self.keys.execute(
            "INSERT INTO seen SELECT DISTINCT b._sid, b.record_id FROM batch b "
            "WHERE NOT EXISTS (SELECT 1 FROM seen s "
            "WHERE s.sid = b._sid AND s.record_id = b.record_id)"
        )
        self.keys.unregister("batch")
        keep = [r[0] for r in rows]
        self.duplicates += len(batch) - len(keep)
        self.added += len(keep)
        if not keep:
            return
        by_day: dict[date, list[int]] = {}
        for i in keep:
            by_day.setdefault(days[i], []).append(i)
        data = table.drop_columns(["_sid", "_row"])
        for day, idx in by_day.items():
            part = data.take(pa.array(idx, pa.int64()))
            self.buffers.setdefault(day, []).append(part)
            self.buffered[day] = self.buffered.get(day, 0) + len(idx)
            if self.buffered[day] >= self.batch_size:
                self._flush(day)
        # Bound memory when events spread over many days: flush the fullest days first.
        while sum(self.buffered.values()) > 2 * self.batch_size:
            self._flush(max(self.buffered, key=lambda d: self.buffered[d]))

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
        tmp = directory / f".{name}.tmp"
        try:
            pq.write_table(table, tmp, compression="zstd")
            os.replace(tmp, directory / name)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        self.files_written += 1
