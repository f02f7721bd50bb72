"""Read every file of an ingest: which reader each file gets, and the file-level errors.

    stats = IngestStats()
    for event in iter_events(paths, stats=stats, warn=print):
        classify(event)

`iter_events` streams: one record in memory at a time (plus the parser's buffers), so a
multi-GB export needs no more memory than a small one. Unreadable records and files are
skipped with a warning naming the file and the offset or line, and counted; IngestError
is raised only when nothing at all could be read.
"""

from __future__ import annotations

import gzip
import io
import os
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator, Sequence
from pathlib import Path
from typing import IO, cast

from kerbfirst.audit.events import AuthEvent
from kerbfirst.audit.ingest.csv_reader import read_csv
from kerbfirst.audit.ingest.evtx_reader import read_evtx
from kerbfirst.audit.ingest.jsonl_reader import read_json_lines
from kerbfirst.audit.ingest.paths import (
    GZIP_ERRORS,
    Format,
    expand_paths,
    head_bytes,
    is_gzip,
    sniff,
)
from kerbfirst.audit.ingest.stats import IngestError, IngestStats, ReadContext
from kerbfirst.audit.ingest.utf16 import Utf16AsUtf8, utf16_encoding
from kerbfirst.audit.ingest.xml_reader import read_xml

__all__ = ["iter_events", "nothing_read", "read_files", "read_one_file"]


def iter_events(
    paths: Sequence[str | Path],
    *,
    stats: IngestStats,
    warn: Callable[[str], None],
) -> Iterator[AuthEvent]:
    """Every NTLM event (and explaining Kerberos failure) in `paths`, unclassified.

    `paths` may hold files, folders, globs; they are expanded here (expand_paths).
    Progress is visible in `stats` between yields. Several cores: audit/pipeline.py
    runs this per range of files in worker processes.
    """
    files = expand_paths([os.fspath(p) for p in paths])
    stats.files_total = len(files)
    failures: list[str] = []
    any_read = yield from read_files(files, stats, warn, failures)
    stats.current_file = ""
    if not any_read:
        raise nothing_read(failures)


def read_files(files: Sequence[Path], stats: IngestStats, warn: Callable[[str], None],
               failures: list[str]) -> Generator[AuthEvent, None, bool]:
    """The events of `files` in order; appends why each unreadable file was; returns
    whether anything at all could be read."""
    any_read = False
    for path in files:
        stats.current_file = str(path)
        failure = yield from read_one_file(path, ReadContext(str(path), stats, warn))
        if failure is None:
            any_read = True
        else:
            failures.append(failure)
        stats.files_done += 1
    return any_read


def nothing_read(failures: list[str]) -> IngestError:
    """The error for an input of which not one file could be read, naming each."""
    return IngestError(
        "nothing could be read:\n  " + "\n  ".join(failures)
        + "\nExport the logs as EVTX (wevtutil epl), wevtutil XML, JSON lines "
        "(NXLog, Winlogbeat) or CSV with a header, and check the paths."
    )


def read_one_file(path: Path, ctx: ReadContext) -> Generator[AuthEvent, None, str | None]:
    """The events of one file; returns None when something could be read, else why not
    (already warned about, except the every-record-unreadable case)."""
    stats = ctx.stats
    before = (stats.records_read, stats.records_corrupt)
    try:
        yield from _read_file(path, ctx)
    except IngestError as exc:
        ctx.warn(str(exc))
        return str(exc)
    except OSError as exc:
        msg = f"{path}: cannot read: {exc}"
        ctx.warn(msg)
        return msg
    # A file whose every record was unreadable did not give us anything either
    # (records_read counts only the records that could be read).
    if stats.records_read > before[0] or stats.records_corrupt == before[1]:
        return None
    return (f"{path}: every record was unreadable "
            f"({stats.records_corrupt - before[1]} skipped)")


def _read_file(path: Path, ctx: ReadContext) -> Iterator[AuthEvent]:
    gz = is_gzip(path)
    head = head_bytes(path, gz)
    fmt = sniff(path, head)
    if fmt is Format.EVTX:
        if not gz:
            yield from read_evtx(path, ctx)
            return
        # The Rust parser wants a seekable file: unpack to a temporary file (disk, not RAM).
        with tempfile.TemporaryDirectory(prefix="kerbfirst-evtx-") as tmp:
            plain = Path(tmp) / path.name.removesuffix(".gz")
            with gzip.open(path, "rb") as src, plain.open("wb") as dst:
                try:
                    shutil.copyfileobj(src, dst, 1 << 16)  # one EVTX chunk: lose at most one
                except GZIP_ERRORS as exc:
                    # The records before the damage are still good: read what unpacked.
                    ctx.corrupt("end of file", f"compressed stream cut short or damaged "
                                f"({exc}); reading the part before it")
            yield from read_evtx(plain, ctx)
        return
    with gzip.open(path, "rb") if gz else path.open("rb") as fh:
        stream = cast(IO[bytes], fh)
        encoding = utf16_encoding(head)
        if encoding is not None:
            stream = cast(IO[bytes], io.BufferedReader(Utf16AsUtf8(stream, encoding), 1 << 16))
        try:
            if fmt is Format.XML:
                yield from read_xml(stream, ctx)
            elif fmt is Format.JSON_LINES:
                yield from read_json_lines(stream, ctx)
            else:
                yield from read_csv(stream, ctx)
        except GZIP_ERRORS as exc:
            if not gz:
                raise
            # A truncated or damaged .gz: everything before the damage has been read already.
            ctx.corrupt("end of file", f"compressed stream cut short or damaged ({exc})")
