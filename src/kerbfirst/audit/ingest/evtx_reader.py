"""EVTX through the `evtx` package (Rust), JSON output.

`records_json()` needs no XML parser on our side (figures: README, Performance). Per
record we do as little Python work as
possible: the EventID is read from the JSON text (a `find` and a slice; a regular
expression only for the rare attribute form) and irrelevant records (most of a Security
log) are dropped before the JSON is decoded (json_text.loads).

Corruption: the parser raises RuntimeError for a bad chunk or record and then carries on
with the next one. We say where: the chunk number in the message gives its offset
(file header 4096 bytes, chunks 65536 bytes: libevtx's EVTX format documentation); for a
bad record we name the chunk that holds the record after the last good one.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import evtx

from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest.evtx_json import event_from_evtx_json
from kerbfirst.audit.ingest.json_text import loads as json_loads
from kerbfirst.audit.ingest.mapping import EXPLICIT_CREDENTIAL_IDS, KERBEROS_IDS, RELEVANT_IDS
from kerbfirst.audit.ingest.stats import ReadContext

FILE_HEADER_SIZE = 0x1000
CHUNK_SIZE = 0x10000
CHUNK_MAGIC = b"ElfChnk\x00"
# Consecutive errors after which the rest of the file is taken as unreadable.
MAX_CONSECUTIVE_ERRORS = 10_000

_EVENT_ID = re.compile(r'"EventID":(?:\{"#attributes":\{[^}]*\},"#text":)?"?(\d+)')
_CHUNK_NO = re.compile(r"chunk number (\d+)")
# The evtx package writes `"EventID":4624,` (or `}` at the end of System): five characters
# after the key decide relevance for the usual form without a regular expression.
_RELEVANT_HEADS = frozenset(f"{i}{end}" for i in RELEVANT_IDS for end in ",}")
if any(not 1000 <= i <= 9999 for i in RELEVANT_IDS):  # the slice above reads four digits
    raise RuntimeError("evtx_reader: every relevant event id must have four digits")
# 4624/4625 are most of a Security log; only those mentioning NTLM ("NTLM" as the
# package, "NtLmSsp " as the logon process) need parsing.
_LOGON_IDS = frozenset({4624, 4625})
_LOGON_HEADS = frozenset(h for h in _RELEVANT_HEADS if int(h[:4]) in _LOGON_IDS)


def chunk_table(path: Path) -> list[tuple[int, int, int]]:
    """(offset, first record id, last record id) of every chunk with a valid header."""
    table: list[tuple[int, int, int]] = []
    with path.open("rb") as fh:
        offset = FILE_HEADER_SIZE
        while True:
            fh.seek(offset)
            head = fh.read(24)
            if len(head) < 24:
                break
            if head[:8] == CHUNK_MAGIC:
                first, last = struct.unpack_from("<QQ", head, 8)
                table.append((offset, first, last))
            offset += CHUNK_SIZE
    return table


def _where(message: str, last_good: int, path: Path, table: list[tuple[int, int, int]] | None
           ) -> tuple[str, list[tuple[int, int, int]]]:
    m = _CHUNK_NO.search(message)
    if m:
        n = int(m.group(1))
        return f"chunk {n} at offset {FILE_HEADER_SIZE + n * CHUNK_SIZE:#x}", table or []
    if table is None:
        table = chunk_table(path)
    for offset, first, last in table:
        if first <= last_good + 1 <= last:
            return (f"record after id {last_good}, in chunk at offset {offset:#x} "
                    f"(records {first}-{last})"), table
    return f"record after id {last_good}", table


def check_size(path: Path, ctx: ReadContext) -> None:
    """The parser silently ignores a cut-off last chunk; say so (a copy was interrupted).

    File header: chunk count is the uint16 at offset 42 (libevtx's format notes)."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        header = fh.read(44)
    chunks = struct.unpack_from("<H", header, 42)[0] if len(header) >= 44 else 0
    partial = (size - FILE_HEADER_SIZE) % CHUNK_SIZE if size > FILE_HEADER_SIZE else size
    expected = FILE_HEADER_SIZE + chunks * CHUNK_SIZE
    if partial or size < expected:
        end = size - partial
        ctx.corrupt(f"offset {end:#x}",
                    f"file truncated: {size} bytes, header announces {chunks} chunks "
                    f"({expected} bytes); records past offset {end:#x} are lost")


def read_evtx(path: Path, ctx: ReadContext) -> Iterator[AuthEvent]:
    stats = ctx.stats
    check_size(path, ctx)
    parser = evtx.PyEvtxParser(str(path))
    records: Iterator[Any] = parser.records_json()
    rec: dict[str, Any] | None = None  # the last good record: names where an error was
    errors_in_row = 0
    table: list[tuple[int, int, int]] | None = None
    loads = json_loads
    heads = _RELEVANT_HEADS
    logon_heads = _LOGON_HEADS
    find = str.find
    # Hot loop: most of a Security log is irrelevant, so the common path is a find, a
    # slice and a set lookup (and, in the 4624s, a text search for NTLM). `read` counts
    # the records read since the counters last reached `stats` (before every yield, on a
    # parser error, at the end); every one of them but the yielded event was irrelevant,
    # so no second counter is kept per record.
    read = 0
    try:
        while True:
            try:
                for rec in records:
                    read += 1
                    text: str = rec["data"]
                    at = find(text, '"EventID":') + 10
                    head = text[at:at + 5]
                    if head in heads:
                        # 4624/4625 are most of a Security log; only the NTLM ones
                        # matter (two C-level text searches, no decoding).
                        if head in logon_heads and "NTLM" not in text and (
                                "NtLmSsp" not in text):
                            continue
                        event_id = int(head[:4])
                    elif head[:1] in '{"' and at >= 10:  # ("" too: the regex decides)
                        m = _EVENT_ID.match(text, at - 10)  # attributes or quoted form
                        if m is None or int(m.group(1)) not in RELEVANT_IDS:
                            continue
                        event_id = int(m.group(1))
                        if event_id in _LOGON_IDS and "NTLM" not in text and (
                                "NtLmSsp" not in text):
                            continue
                    else:
                        continue
                    if event_id in KERBEROS_IDS:
                        at = find(text, '"Computer":"') + 12
                        if at >= 12:
                            ctx.note_kdc_host(text[at:find(text, '"', at)])
                    record_id: int = rec["event_record_id"]
                    try:
                        event = event_from_evtx_json(loads(text), ctx.file, record_id)
                    except (ValueError, KeyError, TypeError) as exc:
                        read -= 1
                        ctx.corrupt(f"record id {record_id}",
                                    f"{type(exc).__name__}: {str(exc)[:200]}")
                        continue
                    if event is None:
                        continue
                    stats.records_read += read
                    stats.records_skipped_irrelevant += read - 1
                    stats.events_yielded += 1
                    if event_id in KERBEROS_IDS:
                        stats.kerberos_failures += 1
                    elif event_id in EXPLICIT_CREDENTIAL_IDS:
                        stats.explicit_credentials += 1
                    read = 0
                    errors_in_row = 0
                    yield event
                return
            except RuntimeError as exc:
                # The parser raised for a bad chunk or record; its iterator carries on.
                if read:
                    errors_in_row = 0
                last_good = rec["event_record_id"] if rec is not None else 0
                where, table = _where(str(exc), last_good, path, table)
                ctx.corrupt(where, str(exc)[:200])
                errors_in_row += 1
                if errors_in_row >= MAX_CONSECUTIVE_ERRORS:
                    ctx.warn(f"{ctx.file}: {errors_in_row} unreadable records in a row; "
                             "giving up on the rest of this file")
                    return
                stats.records_read += read
                stats.records_skipped_irrelevant += read
                read = 0
    finally:
        stats.records_read += read
        stats.records_skipped_irrelevant += read
