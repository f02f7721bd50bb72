"""fuzz/iakerb_fuzz.py loads its seed corpus even when fuzz/run.sh names a corpus directory
(it always does); before, the seeds were written only when no directory was given, so a
run started from 9 coverage points with inputs of at most 31 bytes. The harness is run
here with a stand-in for atheris that records what libFuzzer would be given, then every
seed is fed to the target: each one must run without a crash."""

from __future__ import annotations

import contextlib
import runpy
import sys
import types
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[2] / "fuzz" / "iakerb_fuzz.py"


@pytest.fixture
def fake_atheris(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    seen: dict[str, object] = {}
    mod = types.ModuleType("atheris")

    @contextlib.contextmanager
    def instrument_imports() -> Iterator[None]:
        yield

    def setup(args: list[str], target: Callable[[bytes], None]) -> None:
        seen["args"], seen["target"] = list(args), target

    mod.instrument_imports = instrument_imports  # type: ignore[attr-defined]
    mod.Setup = setup  # type: ignore[attr-defined]
    mod.Fuzz = lambda: None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "atheris", mod)
    return seen


def test_seeds_load_with_a_corpus_directory(tmp_path: Path, fake_atheris: dict[str, object],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    monkeypatch.setattr(sys, "argv", [str(HARNESS), "-max_total_time=1", str(corpus)])
    runpy.run_path(str(HARNESS), run_name="__main__")
    args = fake_atheris["args"]
    assert isinstance(args, list) and args[2] == str(corpus)  # new inputs still go here
    dirs = [Path(a) for a in args[3:] if Path(a).is_dir()]
    assert dirs, f"no seed directory handed to libFuzzer: {args}"
    seeds = sorted(p.read_bytes() for d in dirs for p in d.iterdir())
    assert len(seeds) >= 14, len(seeds)
    assert max(map(len, seeds)) > 1000  # real tokens, not 31-byte scraps
    mit_122_discovery = bytes.fromhex("601006062b060105020505013004a1020c00")
    assert any(mit_122_discovery in s for s in seeds)
    assert any(b"WIN25H2INS" in s for s in seeds)  # Windows 25H2's tokens
    target = fake_atheris["target"]
    assert callable(target)
    for seed in seeds:
        target(seed)  # a crash (any exception but GssError inside) fails the test
