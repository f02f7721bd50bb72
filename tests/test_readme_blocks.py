"""The README's runnable blocks ("The first hour") work as printed, in order, in one shell.

scripts/readme_blocks.py extracts the blocks marked `<!-- runnable -->` and runs them with
bash, exactly as scripts/check_fresh_debian.sh does on a fresh Debian root. Here they run
with a temporary HOME (the realm directory is $HOME/kerbfirst-realm), their own credential
cache, and free ports instead of the README's 88 (KERBFIRST_LISTEN, which `realm init`
reads as --listen) and 4444 (rewritten in the text), so the test needs no privileged port
and does not collide with anything else on the machine. `kerbfirst` is this checkout's.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path
from types import ModuleType

from peerlib import free_port, require_program

REPO = Path(__file__).resolve().parent.parent


def _runner() -> ModuleType:
    spec = importlib.util.spec_from_file_location("readme_blocks",
                                                  REPO / "scripts" / "readme_blocks.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_marks_the_first_hour_blocks() -> None:
    blocks = _runner().runnable_blocks((REPO / "README.md").read_text())
    text = "\n".join(body for _, body in blocks)
    for command in ("kerbfirst realm init", "kerbfirst kdc serve", "kinit alice",
                    "kerbfirst kinit alice", "gss-client -iakerb", "kerbfirst iakerb serve"):
        assert command in text, f"{command!r} is not in a runnable README block"


def test_readme_blocks_run_as_printed(tmp_path: Path) -> None:
    for program in ("kinit", "kvno", "klist", "gss-client"):
        require_program(program)
    runner = _runner()
    readme = (REPO / "README.md").read_text()
    iakerb_port = free_port()
    blocks = [(line, body.replace("4444", str(iakerb_port)))
              for line, body in runner.runnable_blocks(readme)]
    home = tmp_path / "home"
    home.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    wrapper = bin_dir / "kerbfirst"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m kerbfirst.cli.main "$@"\n')
    wrapper.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KRB5", "KERBFIRST_"))}
    env.update(HOME=str(home), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
               PYTHONPATH=os.pathsep.join(sys.path), KRB5CCNAME=f"FILE:{tmp_path / 'cc'}",
               KERBFIRST_LISTEN=f"127.0.0.1:{free_port()}", COLUMNS="100")
    log = tmp_path / "blocks.log"
    with log.open("w") as out:
        code = runner.run(runner.script(blocks, "README.md"), env=env, timeout=180,
                          output=out.fileno())
    text = log.read_text()
    assert code == 0, text
    assert "kerbfirst 0." in text and "build" in text  # kerbfirst --version
    assert "realm EXAMPLE.TEST created" in text
    assert "host/server.example.test@EXAMPLE.TEST" in text  # kvno / klist
    assert "credentials for alice@EXAMPLE.TEST" in text  # kerbfirst kinit
    assert "Signature verified" in text, text  # gss-client -iakerb
    assert "iakerb: authenticated client=alice@EXAMPLE.TEST" in text
    assert (home / "kerbfirst-realm" / "kdc-audit.jsonl").is_file()
    assert "enforce mode" in text and "revoked EX-7" in text  # the exception's life
    assert "history of" in text and "verifies: 5 changes" in text, text
    # Nothing the blocks started outlives them (the servers were killed with their session).
    marker = f"127.0.0.1:{iakerb_port}".encode()
    deadline = time.monotonic() + 10
    while running := [p.parent.name for p in Path("/proc").glob("[0-9]*/cmdline")
                      if _cmdline(p).find(marker) >= 0]:
        assert time.monotonic() < deadline, f"the IAKerb acceptor outlived the blocks: {running}"
        time.sleep(0.1)


def _cmdline(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        return b""
