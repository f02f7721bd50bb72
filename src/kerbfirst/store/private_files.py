"""Files that hold secrets: created 0600 from the first byte, replaced atomically.

Keytabs, credential caches and the master key must never be readable by group or
other, not even for the instant between create() and chmod(): we pass the mode to
open(2) with O_CREAT|O_EXCL, write a temporary file in the target's directory, fsync
it, rename(2) it over the target (atomic on POSIX) and fsync the directory so the
rename itself survives a crash.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import secrets

PRIVATE_MODE = 0o600


def fsync_directory(directory: pathlib.Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Replace `path` atomically with `data`, mode 0600, durable after return."""
    target = pathlib.Path(path)
    directory = target.parent if str(target.parent) else pathlib.Path(".")
    temp = directory / f".{target.name}.{secrets.token_hex(8)}.tmp"
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_MODE)
    try:
        try:
            # A umask cannot widen the mode, but an inherited ACL default could; be explicit.
            os.fchmod(fd, PRIVATE_MODE)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    fsync_directory(directory)


def read_bounded(path: str | os.PathLike[str], limit: int, what: str) -> bytes:
    """Read a whole file, refusing one larger than `limit` bytes (bounded parsing)."""
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{what} {os.fspath(path)!r} is larger than {limit} bytes; not reading it")
    return data
