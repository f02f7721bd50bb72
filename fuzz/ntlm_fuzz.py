"""Fuzz target: the NTLM acceptor (kerbfirst.gss.ntlm) and the NTLMSSP codecs
(kerbfirst.wire.ntlm), as a server meets them from the network.

    .venv-dev/bin/python fuzz/ntlm_fuzz.py [libFuzzer options] [CORPUS_DIR ...]
    e.g. bash fuzz/run.sh ntlm 600

The input layout and the seeds (real exchanges by pyspnego's NTLM client, with and without
channel bindings, right and wrong password) are in tests/ntlm/fuzz_harness.py. Any
exception other than NtlmLogonRefused is a crash. The seeds are written to a temporary directory
added after the corpus directories given (libFuzzer writes new inputs to the first).
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

import atheris

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "src"))
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tests"))

with atheris.instrument_imports():
    from kerbfirst.gss import ntlm as _acceptor  # noqa: F401  (instrumented)
    from kerbfirst.wire import ntlm as _wire  # noqa: F401  (instrumented)

from ntlm.fuzz_harness import run_one, seed_inputs


def main() -> None:
    # Always: libFuzzer reads every corpus directory as inputs and writes new inputs to the
    # first one, so the seeds load whether or not a corpus directory was given.
    seeds = tempfile.mkdtemp(prefix="ntlm-seeds-")
    for i, seed in enumerate(seed_inputs()):
        pathlib.Path(seeds, f"seed-{i}").write_bytes(seed)
    atheris.Setup([*sys.argv, seeds], run_one)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
