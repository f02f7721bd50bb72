"""A bounded big-endian reader for MIT's binary file formats (keytab, ccache).

Every read checks the remaining length first, so a truncated or hostile file raises
FileFormatError naming the field and offset instead of IndexError or a huge allocation.
"""

from __future__ import annotations

import struct


class FileFormatError(ValueError):
    """A keytab or credential cache that is malformed; the message names the field and offset."""


_U8 = struct.Struct(">B")
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")


class MitFileReader:
    __slots__ = ("data", "end", "pos", "what")

    def __init__(self, data: bytes, what: str, start: int = 0, end: int | None = None) -> None:
        self.data = data
        self.pos = start
        self.end = len(data) if end is None else end
        self.what = what

    def remaining(self) -> int:
        return self.end - self.pos

    def _need(self, n: int, field: str) -> None:
        if n > self.end - self.pos:
            raise FileFormatError(
                f"{self.what}: truncated at offset {self.pos} reading {field} "
                f"({n} bytes needed, {self.end - self.pos} left)"
            )

    def u8(self, field: str) -> int:
        self._need(1, field)
        (v,) = _U8.unpack_from(self.data, self.pos)
        self.pos += 1
        return int(v)

    def u16(self, field: str) -> int:
        self._need(2, field)
        (v,) = _U16.unpack_from(self.data, self.pos)
        self.pos += 2
        return int(v)

    def u32(self, field: str) -> int:
        self._need(4, field)
        (v,) = _U32.unpack_from(self.data, self.pos)
        self.pos += 4
        return int(v)

    def i32(self, field: str) -> int:
        self._need(4, field)
        (v,) = _I32.unpack_from(self.data, self.pos)
        self.pos += 4
        return int(v)

    def raw(self, n: int, field: str) -> bytes:
        self._need(n, field)
        v = self.data[self.pos : self.pos + n]
        self.pos += n
        return v

    def counted16(self, field: str, limit: int) -> bytes:
        n = self.u16(field + " length")
        return self._bounded(n, field, limit)

    def counted32(self, field: str, limit: int) -> bytes:
        n = self.u32(field + " length")
        return self._bounded(n, field, limit)

    def _bounded(self, n: int, field: str, limit: int) -> bytes:
        if n > limit:
            raise FileFormatError(
                f"{self.what}: {field} at offset {self.pos} claims {n} bytes, over the "
                f"limit of {limit}"
            )
        return self.raw(n, field)


def u8(v: int) -> bytes:
    return _U8.pack(v)


def u16(v: int) -> bytes:
    return _U16.pack(v)


def u32(v: int) -> bytes:
    return _U32.pack(v)


def i32(v: int) -> bytes:
    return _I32.pack(v)


def counted16(data: bytes, field: str) -> bytes:
    if len(data) > 0xFFFF:
        raise ValueError(f"{field} is {len(data)} bytes; this format allows at most 65535")
    return _U16.pack(len(data)) + data


def counted32(data: bytes) -> bytes:
    return _U32.pack(len(data)) + data


def text_bytes(text: str) -> bytes:
    # surrogateescape: names read from a file that were not UTF-8 are written back unchanged
    return text.encode("utf-8", "surrogateescape")


def bytes_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogateescape")
