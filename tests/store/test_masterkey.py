from __future__ import annotations

import os
import pathlib
import stat

import pytest

from kerbfirst.store.masterkey import (
    MASTER_KEY_SIZE,
    MasterKeyError,
    create_master_key,
    load_master_key,
)


def test_created_file_is_0600_and_loads(tmp_path: pathlib.Path) -> None:
    old = os.umask(0)  # even with a permissive umask the file must be 0600
    try:
        key = create_master_key(tmp_path / "mk")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "mk").stat().st_mode) == 0o600
    assert len(key) == MASTER_KEY_SIZE
    assert load_master_key(tmp_path / "mk") == key
    assert create_master_key(tmp_path / "mk2") != key


def test_never_overwrites(tmp_path: pathlib.Path) -> None:
    key = create_master_key(tmp_path / "mk")
    with pytest.raises(MasterKeyError, match="already exists"):
        create_master_key(tmp_path / "mk")
    assert load_master_key(tmp_path / "mk") == key


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660, 0o602])
def test_loose_modes_are_refused_with_the_fix(tmp_path: pathlib.Path, mode: int) -> None:
    path = tmp_path / "mk"
    create_master_key(path)
    os.chmod(path, mode)
    with pytest.raises(MasterKeyError) as e:
        load_master_key(path)
    assert str(path) in str(e.value)
    assert "chmod 600" in str(e.value)
    os.chmod(path, 0o400)  # owner-only read is fine
    assert len(load_master_key(path)) == MASTER_KEY_SIZE


@pytest.mark.parametrize("size", [0, 16, 31, 33, 64])
def test_wrong_size_is_refused(tmp_path: pathlib.Path, size: int) -> None:
    path = tmp_path / "mk"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    os.write(fd, b"k" * size)
    os.close(fd)
    with pytest.raises(MasterKeyError, match=f"holds {size} bytes"):
        load_master_key(path)


def test_missing_and_symlink(tmp_path: pathlib.Path) -> None:
    with pytest.raises(MasterKeyError, match="does not exist"):
        load_master_key(tmp_path / "nope")
    create_master_key(tmp_path / "mk")
    os.symlink(tmp_path / "mk", tmp_path / "link")
    with pytest.raises(MasterKeyError, match="cannot open"):
        load_master_key(tmp_path / "link")
