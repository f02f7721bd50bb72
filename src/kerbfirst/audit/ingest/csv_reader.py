"""CSV exports with a header row (NXLog om_file CSV, Splunk/SIEM exports, kerbfirst's own,
and `Get-WinEvent | Export-Csv`, whose fields are only in the rendered Message column).

Columns are recognised by name; the header must name at least the event id, the host,
the time and the provider or channel (without a record id column, each row's key is
derived from its content). Every other column is an EventData
field by its Windows name. An unknown header is an error naming the file, the columns
seen and the columns expected -- guessing would silently misfile every row.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Iterator, Sequence
from typing import IO

from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest.mapping import (
    KERBEROS_IDS,
    MAPPED_FIELDS,
    RELEVANT_IDS,
    build_event,
    is_relevant,
)
from kerbfirst.audit.ingest.message_text import fields_from_message
from kerbfirst.audit.ingest.own_record import OWN_KEYS, event_from_record
from kerbfirst.audit.ingest.stats import IngestError, ReadContext
from kerbfirst.audit.ingest.values import parse_time

COLUMNS: dict[str, tuple[str, ...]] = {
    "event_id": ("EventID", "EventCode", "EventId", "Id"),
    "host": ("Hostname", "ComputerName", "Computer", "MachineName"),
    "record_id": ("EventRecordID", "RecordNumber", "RecordId"),
    "time": ("EventTime", "TimeCreated", "TimeGenerated", "_time", "@timestamp"),
    "provider": ("SourceName", "ProviderName", "Provider"),
    "channel": ("Channel", "LogName"),
}
META = frozenset(n for names in COLUMNS.values() for n in names) | frozenset(
    {"EventReceivedTime", "SourceModuleName", "SourceModuleType", "Severity", "SeverityValue",
     "EventType", "Keywords", "Task", "Opcode", "Message", "Category", "Version"}
) | frozenset(  # System.Diagnostics.Eventing.Reader.EventRecord's properties (Export-Csv)
    {"Qualifiers", "Level", "ProviderId", "ProcessId", "ThreadId", "UserId", "Properties",
     "ContainerLog", "LevelDisplayName", "OpcodeDisplayName", "TaskDisplayName",
     "KeywordsDisplayNames", "MatchedQueryIds", "Bookmark", "ActivityId",
     "RelatedActivityId"}
)
MAX_FIELD = 1 << 17
# The largest cell read at all: a rendered Message or a command line of an unrelated
# column can pass the csv module's default limit (128 KiB), which refused the whole row
# and with it an NTLM event. The same bound as one JSON line (jsonl_reader.MAX_LINE).
MAX_CELL = 1 << 20


def _pick(header: Sequence[str], names: tuple[str, ...]) -> int | None:
    for name in names:
        if name in header:
            return header.index(name)
    return None


def read_csv(stream: IO[bytes], ctx: ReadContext) -> Iterator[AuthEvent]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    if csv.field_size_limit() < MAX_CELL:  # process-wide; only ever raised, to this bound
        csv.field_size_limit(MAX_CELL)
    reader = csv.reader(text)
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise IngestError(f"{ctx.file}: no CSV header row ({exc})") from exc
    own = all(c in header for c in OWN_KEYS)
    idx = {k: _pick(header, v) for k, v in COLUMNS.items()}
    missing = [k for k in ("event_id", "host", "time") if idx[k] is None]
    if idx["provider"] is None and idx["channel"] is None:
        missing.append("provider or channel")
    if missing and not own:
        expected = "; ".join(f"{k}: one of {', '.join(v)}" for k, v in COLUMNS.items())
        raise IngestError(
            f"{ctx.file}: unknown CSV header. Columns seen: {', '.join(header[:30])}. "
            f"Missing: {', '.join(missing)}. Expected columns — {expected} — plus the "
            "event's fields by their Windows names (TargetName, LmPackageName, ...)"
        )
    repeated = sorted(h for h, n in Counter(header).items() if h and n > 1)
    if repeated:
        # Exporters that flatten EventData next to their own columns can repeat a name
        # (24H2's "Hostname" beside the exporter's). The first column of a name wins.
        ctx.warn(f"{ctx.file}: CSV header repeats {', '.join(repeated)}; the first column "
                 "of each name is used, the others are ignored")
    first_of = {h: i for i, h in reversed(list(enumerate(header)))}
    data_cols = [(i, h) for i, h in enumerate(header)
                 if h and h not in META and first_of[h] == i]
    width = len(header)
    message_col = (header.index("Message") if "Message" in header
                   and not any(h in MAPPED_FIELDS for _, h in data_cols) else None)
    unparsed = [0]
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            ctx.corrupt(f"line {reader.line_num}", f"malformed CSV: {exc}")
            continue
        if not row:
            continue
        if len(row) != width:
            ctx.corrupt(f"line {reader.line_num}",
                        f"{len(row)} columns where the header has {width}")
            continue
        try:
            if own:
                event: AuthEvent | None = event_from_record(dict(zip(header, row, strict=True)),
                                                            ctx.file)
            else:
                event = _row_event(row, idx, data_cols, ctx, message_col, unparsed)
        except (ValueError, KeyError, TypeError) as exc:
            ctx.corrupt(f"line {reader.line_num}", f"{type(exc).__name__}: {str(exc)[:200]}")
            continue
        if ctx.counted(event):
            yield event
    if unparsed[0]:
        ctx.warn(f"{ctx.file}: {unparsed[0]} NTLM-relevant rows carry only a rendered "
                 "Message whose text could not be read (not English?); they are skipped. "
                 "Export the fields instead: Get-WinEvent ... | ForEach-Object { $_.ToXml() }, "
                 "or wevtutil qe LOG /f:xml")


def _row_event(row: list[str], idx: dict[str, int | None], data_cols: list[tuple[int, str]],
               ctx: ReadContext, message_col: int | None, unparsed: list[int]
               ) -> AuthEvent | None:
    def col(key: str) -> str:
        i = idx[key]
        return row[i] if i is not None else ""

    event_id = int(col("event_id"))
    provider = col("provider")
    channel = col("channel")
    # An empty cell is an absent field: CSV cannot tell the two apart.
    data = {h: row[i][:MAX_FIELD] for i, h in data_cols if row[i]}
    if message_col is not None and event_id in RELEVANT_IDS:
        # Get-WinEvent | Export-Csv: the fields exist only inside the rendered text.
        data = fields_from_message(row[message_col])
        if not data:
            unparsed[0] += 1
            return None
    if not is_relevant(provider, channel, event_id, data):
        if event_id in KERBEROS_IDS:
            ctx.note_kdc_host(col("host"))
        return None
    return build_event(
        host=col("host"),
        channel=channel,
        provider=provider,
        event_id=event_id,
        record_id=int(col("record_id")) if col("record_id") else None,
        time=parse_time(col("time")),
        data=data,
        file=ctx.file,
    )
