"""Exports written as UTF-16: Windows PowerShell 5.1's `>` and Out-File write UTF-16LE with
a byte order mark, so `wevtutil qe Security /f:xml > sec.xml` or `... | ConvertTo-Json >
x.json` give UTF-16 files. They are read as the UTF-8 byte stream every reader expects."""

from __future__ import annotations

import codecs
import io
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["Utf16AsUtf8", "utf16_encoding"]

_BOMS = ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_READ = 1 << 16


def utf16_encoding(head: bytes) -> str | None:
    """The UTF-16 codec of a stream starting with `head`, when it has a UTF-16 BOM."""
    for bom, encoding in _BOMS:
        if head.startswith(bom):
            return encoding
    return None


class Utf16AsUtf8(io.RawIOBase):
    """The UTF-8 bytes of a UTF-16 stream (BOM dropped; unpaired surrogates become U+FFFD).
    Wrap it in io.BufferedReader for readline."""

    def __init__(self, raw: IO[bytes], encoding: str) -> None:
        super().__init__()
        raw.read(2)  # the BOM
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        while not self._pending and not self._eof:
            chunk = self._raw.read(_READ)
            self._eof = not chunk
            self._pending = self._decoder.decode(chunk, final=self._eof).encode("utf-8")
        view = memoryview(buffer).cast("B")
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n
