"""Which files to read (expand_paths) and what each one is (sniff by content)."""

from __future__ import annotations

import enum
import glob
import gzip
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

from kerbfirst.audit.ingest.stats import IngestError
from kerbfirst.audit.ingest.utf16 import utf16_encoding

EVTX_MAGIC = b"ElfFile\x00"
GZIP_MAGIC = b"\x1f\x8b"
SNIFF_BYTES = 4096
# What reading a damaged .gz raises: a cut-off stream (EOFError), a bad header or CRC
# (BadGzipFile, an OSError) and damaged deflate data inside it (zlib.error, RFC 1951).
GZIP_ERRORS: tuple[type[Exception], ...] = (EOFError, OSError, zlib.error)


class Format(enum.Enum):
    EVTX = "evtx"
    XML = "xml"  # wevtutil qe /f:xml: <Events> or concatenated <Event>
    JSON_LINES = "jsonl"
    CSV = "csv"


def expand_paths(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Files as given, folders recursively, shell globs (also `**`); sorted, no repeats.

    Raises IngestError naming the argument when one matches nothing, so a typo is not
    mistaken for "no NTLM in the estate".
    """
    out: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            out.append(p)

    for raw in paths:
        text = os.fspath(raw)
        p = Path(text)
        if p.is_file():
            add(p)
        elif p.is_dir():
            files = sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
            if not files:
                raise IngestError(f"{text}: folder holds no files; point at the exported logs")
            for f in files:
                add(f)
        elif glob.has_magic(text):
            matches = _glob(text)
            files = [m for m in matches if m.is_file()]
            for d in (m for m in matches if m.is_dir()):
                files.extend(sorted(f for f in d.rglob("*") if f.is_file()))
            if not files:
                raise IngestError(f"{text}: the pattern matches no file; check the path")
            for f in files:
                add(f)
        else:
            raise IngestError(f"{text}: no such file or folder")
    return out


def _glob(pattern: str) -> list[Path]:
    """The matches of a shell pattern, `**` included, without following symbolic links
    into folders while recursing: glob.glob follows them, so a link to a parent folder
    (common in collected log shares) made `**` walk an exponential number of paths.
    Like the shell, a wildcard does not match a name starting with a dot."""
    parts = Path(pattern).parts
    i = next(n for n, part in enumerate(parts) if glob.has_magic(part))
    anchor = Path(*parts[:i]) if i else Path()
    rest = parts[i:]
    if not anchor.is_dir():
        return []
    literal_dots = any(part.startswith(".") for part in rest)
    out = []
    for m in anchor.glob("/".join(rest)):
        rel = m.relative_to(anchor).parts
        if literal_dots or not any(part.startswith(".") for part in rel):
            out.append(m)
    return sorted(out)


def is_gzip(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(2) == GZIP_MAGIC


def head_bytes(path: Path, gz: bool) -> bytes:
    """The first bytes of the (decompressed) content, for sniffing."""
    try:
        if gz:
            with gzip.open(path, "rb") as fh:
                return fh.read(SNIFF_BYTES)
        with path.open("rb") as fh:
            return fh.read(SNIFF_BYTES)
    except GZIP_ERRORS as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from exc


def sniff(path: Path, head: bytes) -> Format:
    """Decide the format from the content; the extension is only a tie-breaker."""
    if head.startswith(EVTX_MAGIC):
        return Format.EVTX
    encoding = utf16_encoding(head)
    if encoding is not None:
        head = head[2:].decode(encoding, errors="ignore").encode("utf-8")
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text.startswith(b"<"):
        if b"<Event" in text:
            return Format.XML
        raise IngestError(
            f"{path}: XML but not Windows event XML (no <Event> element); export with "
            "`wevtutil qe LOG /f:xml`"
        )
    if text.startswith(b"{"):
        return Format.JSON_LINES
    if text.startswith(b"["):
        raise IngestError(
            f"{path}: a JSON array; export JSON lines (one event object per line) instead"
        )
    first_line = text.split(b"\n", 1)[0]
    if b"," in first_line and b"\x00" not in first_line:
        return Format.CSV
    if path.name.lower().endswith((".evtx", ".evtx.gz")):
        raise IngestError(
            f"{path}: not an EVTX file (no 'ElfFile' signature): it is truncated or not a "
            "Windows event log; copy it again from the host"
        )
    if not head:
        raise IngestError(f"{path}: empty file")
    raise IngestError(
        f"{path}: not an event log: expected EVTX, wevtutil XML, JSON lines (NXLog, "
        "Winlogbeat, kerbfirst) or CSV with a header"
    )
