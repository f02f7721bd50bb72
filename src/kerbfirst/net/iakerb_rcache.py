"""A persistent replay cache for AP-REQ authenticators, shared by processes, as MIT's file2
rcache is (RFC 4120 3.2.3; MIT krb5 lib/krb5/rcache/rc_file2.c): an acceptor restarted, or
a second acceptor process on the same keys, refuses an authenticator already accepted.

The file is one fixed-size open-addressed hash table, so it is bounded whatever the load:
    header  "KFRCACHE" | version u32 | slots u32 | 16 zero octets      (32 octets)
    slot    tag (24 octets: SHA-256 of the replay key, truncated) | expiry u64 (seconds)
A key is looked for in the PROBES consecutive slots starting at its hash; an entry whose
expiry has passed is a free slot. When all of them hold live entries the cache refuses the
authenticator (ReplayCacheFull: fail closed), as the in-memory cache does, rather than evict
a live entry and let its replay through. Every check-and-store holds an exclusive fcntl
lock on the file, so concurrent processes never both accept the same authenticator. The
file is created 0600 and never followed through a symlink. Storing only a hash of the
authenticator's identity (client, time, checksum) keeps names and checksums off the disk.
"""

from __future__ import annotations

import fcntl
import math
import os
import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kerbfirst.gss.replay import ReplayCache, ReplayCacheFull, ReplayKey, replay_digest

MAGIC = b"KFRCACHE"
VERSION = 1
HEADER = struct.Struct(">8sII16x")
SLOT = struct.Struct(">24sQ")
PROBES = 64
DEFAULT_SLOTS = 1 << 16  # 2 MiB of file; about 60,000 live authenticators
MIN_SLOTS = PROBES
MAX_SLOTS = 1 << 24


class ReplayFileError(OSError):
    """The replay cache file cannot be used (not ours, wrong size, not a regular file)."""


class FileReplayCache(ReplayCache):
    """A ReplayCache kept in a file; drop-in for the in-memory one."""

    def __init__(self, path: str | os.PathLike[str], *, slots: int = DEFAULT_SLOTS) -> None:
        if not MIN_SLOTS <= slots <= MAX_SLOTS:
            raise ValueError(f"a replay cache has {MIN_SLOTS}..{MAX_SLOTS} slots, not {slots}")
        super().__init__(max_entries=slots)
        self.path = Path(path)
        self._fd = -1
        self.slots = self._open(slots)

    def _open(self, slots: int) -> int:
        flags = os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except OSError as exc:
            raise ReplayFileError(exc.errno, f"cannot open replay cache {self.path}: "
                                  f"{exc.strerror}") from None
        old, self._fd = self._fd, fd
        try:
            found = self._prepare(slots)
        except BaseException:
            os.close(fd)
            self._fd = old
            raise
        if old >= 0:
            os.close(old)
        return found

    def _follow_path(self) -> None:
        """Use the file now at `path`: when it was removed or replaced (a tmp cleaner, an
        operator), the other processes and the next start use the new one, so this one must
        too, or each would accept what the other already accepted. MIT's file2 rcache opens
        the file for every store for the same reason."""
        try:
            st = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        mine = os.fstat(self._fd)
        if st is None or (st.st_ino, st.st_dev) != (mine.st_ino, mine.st_dev):
            self.slots = self._open(self.slots)

    def _prepare(self, slots: int) -> int:
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            st = os.fstat(self._fd)
            if not (st.st_mode & 0o170000) == 0o100000:
                raise ReplayFileError(f"{self.path} is not a regular file")
            if st.st_size == 0:
                os.pwrite(self._fd, HEADER.pack(MAGIC, VERSION, slots), 0)
                os.ftruncate(self._fd, HEADER.size + slots * SLOT.size)
                return slots
            magic, version, found = HEADER.unpack(os.pread(self._fd, HEADER.size, 0)
                                                  .ljust(HEADER.size, b"\0"))
            if magic != MAGIC or version != VERSION:
                raise ReplayFileError(f"{self.path} is not a kerbfirst replay cache (version "
                                      f"{VERSION}); move it away or choose another path")
            if not MIN_SLOTS <= found <= MAX_SLOTS or \
                    st.st_size != HEADER.size + found * SLOT.size:
                raise ReplayFileError(f"{self.path} is truncated or damaged; remove it (an "
                                      "empty cache only lets replays within the clock skew "
                                      "of the restart through)")
            return int(found)
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __len__(self) -> int:
        now = math.floor(datetime.now(UTC).timestamp())
        data = os.pread(self._fd, self.slots * SLOT.size, HEADER.size)
        return sum(1 for tag, exp in SLOT.iter_unpack(data) if exp >= now and tag.strip(b"\0"))

    def check_and_store(self, key: ReplayKey, *, now: datetime, lifetime: timedelta) -> bool:
        tag = replay_digest(key, SLOT.size - 8)
        try:
            self._follow_path()
        except OSError as exc:
            raise ReplayCacheFull(f"replay cache {self.path}: {exc}; refusing the "
                                  "authenticator") from None
        start = int.from_bytes(tag[:8], "big") % (self.slots - PROBES + 1)
        offset = HEADER.size + start * SLOT.size
        expires = math.ceil((key[1] + lifetime).timestamp())
        now_s = math.floor(now.timestamp())
        fcntl.lockf(self._fd, fcntl.LOCK_EX)
        try:
            size = os.fstat(self._fd).st_size
            if size == 0:  # emptied in place (`: > file`): start it again, as a new file
                os.pwrite(self._fd, HEADER.pack(MAGIC, VERSION, self.slots), 0)
                os.ftruncate(self._fd, HEADER.size + self.slots * SLOT.size)
            elif size != HEADER.size + self.slots * SLOT.size:
                raise ReplayCacheFull(f"replay cache {self.path} was truncated to {size} "
                                      "octets while in use; refusing authenticators until it "
                                      "is removed (a new one is then created)")
            window = os.pread(self._fd, PROBES * SLOT.size, offset)
            free: int | None = None
            for i, (found, exp) in enumerate(SLOT.iter_unpack(window)):
                live = exp >= now_s
                if live and found == tag:
                    return False
                if not live and free is None:
                    free = i
            if free is None:
                raise ReplayCacheFull(f"replay cache {self.path}: no free slot among {PROBES} "
                                      "for this authenticator; refusing it (enlarge the cache)")
            os.pwrite(self._fd, SLOT.pack(tag, expires), offset + free * SLOT.size)
            return True
        finally:
            fcntl.lockf(self._fd, fcntl.LOCK_UN)


def default_replay_cache_path() -> Path:
    """Where MIT keeps its rcache: $KRB5RCACHEDIR, else /var/tmp, one file per user."""
    directory = os.environ.get("KRB5RCACHEDIR") or "/var/tmp"  # noqa: S108 (MIT's default)
    return Path(directory) / f"kerbfirst_iakerb_{os.geteuid()}.rcache"
