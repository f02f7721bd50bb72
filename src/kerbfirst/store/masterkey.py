"""The store's master key: 32 random bytes in a file only its owner can read.

Long-term keys are encrypted at rest under this key (AES-256-GCM, principals.py), so the
file is as sensitive as every password of the realm. It is created with mode 0600 in the
open(2) call itself (never world-readable, even briefly) and refused on load when group
or other could read or write it, as sshd refuses a private key with loose permissions.
"""

from __future__ import annotations

import os
import pathlib
import stat

from kerbfirst.store.private_files import PRIVATE_MODE, fsync_directory

MASTER_KEY_SIZE = 32


class MasterKeyError(Exception):
    """The master key file is missing, unsafe or malformed; the message says how to fix it."""


def create_master_key(path: str | os.PathLike[str]) -> bytes:
    """Create a new master key file; refuses to overwrite an existing one."""
    target = pathlib.Path(path)
    key = os.urandom(MASTER_KEY_SIZE)
    try:
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, PRIVATE_MODE)
    except FileExistsError:
        raise MasterKeyError(
            f"master key file {os.fspath(target)!r} already exists; refusing to overwrite it "
            "(every stored key is encrypted under it). Move it away first if you really "
            "mean to start a new database."
        ) from None
    try:
        os.fchmod(fd, PRIVATE_MODE)
        if os.write(fd, key) != MASTER_KEY_SIZE:
            raise MasterKeyError(f"short write creating master key file {os.fspath(target)!r}")
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(target)
        raise
    os.close(fd)
    fsync_directory(target.parent)
    return key


def load_master_key(path: str | os.PathLike[str]) -> bytes:
    """Read the master key, refusing a file that group/other can access or of the wrong size."""
    name = os.fspath(path)
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW)
    except FileNotFoundError:
        raise MasterKeyError(
            f"master key file {name!r} does not exist; create the store first "
            "(kerbfirst kdc init) or point to the right file"
        ) from None
    except OSError as e:
        raise MasterKeyError(f"cannot open master key file {name!r}: {e.strerror}") from None
    try:
        st = os.fstat(fd)  # fstat on the open fd: no race between the check and the read
        if not stat.S_ISREG(st.st_mode):
            raise MasterKeyError(f"master key file {name!r} is not a regular file")
        if st.st_mode & 0o077:
            raise MasterKeyError(
                f"master key file {name!r} has mode {stat.S_IMODE(st.st_mode):04o}: group or "
                f"other can access it. Fix it with: chmod 600 {name} (and consider that the "
                "key may have been read; rekey the principals if so)"
            )
        data = os.read(fd, MASTER_KEY_SIZE + 1)
    finally:
        os.close(fd)
    if len(data) != MASTER_KEY_SIZE or st.st_size != MASTER_KEY_SIZE:
        raise MasterKeyError(
            f"master key file {name!r} holds {st.st_size} bytes, not {MASTER_KEY_SIZE}: it is "
            "truncated or not a kerbfirst master key. Restore it from your backup."
        )
    return data
