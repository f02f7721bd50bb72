"""Paths to the real EVTX samples and a fresh warning collector."""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent.parent / "data" / "evtx"


@pytest.fixture
def evtx_dir() -> Path:
    if not (DATA / "security.evtx").is_file():
        pytest.fail(f"test data missing: {DATA}/security.evtx (see tests/data/evtx/NOTICE.md)")
    return DATA
