"""The README's runnable command blocks: list them, or run them in order in one bash.

    python3 scripts/readme_blocks.py list README.md
    python3 scripts/readme_blocks.py run README.md

A block is runnable when the line right before its opening ``` fence is the HTML comment
`<!-- runnable -->` (invisible on GitHub). The runnable blocks are joined in README order and
run by one `bash -e -o pipefail`, as a reader pasting them one after another into a shell
would; the first failing command stops the run, and the exit status is bash's. The
environment is passed on unchanged, so a test can point the blocks at a temporary realm
(HOME, KERBFIRST_REALM_DIR, KERBFIRST_LISTEN, KRB5CCNAME).

Runs on the interpreter Debian ships (standard library only): the fresh-machine check
(scripts/check_fresh_debian.sh) calls it in a new shell after the set-up.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

MARK = "<!-- runnable -->"
FENCE = re.compile(r"^(```+)\s*(\w*)\s*$")


def runnable_blocks(text: str) -> list[tuple[int, str]]:
    """(line number of the opening fence, body) of every runnable block, in order."""
    lines = text.splitlines()
    blocks: list[tuple[int, str]] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        if opening and i > 0 and lines[i - 1].strip() == MARK:
            if opening.group(2) not in ("", "bash", "sh", "shell", "console"):
                raise SystemExit(f"line {i + 1}: a runnable block must be bash, "
                                 f"not {opening.group(2)!r}")
            end = i + 1
            while end < len(lines) and lines[end].strip() != opening.group(1):
                end += 1
            if end == len(lines):
                raise SystemExit(f"line {i + 1}: runnable block never closed")
            blocks.append((i + 1, "\n".join(lines[i + 1:end])))
            i = end
        i += 1
    return blocks


def script(blocks: list[tuple[int, str]], source: str) -> str:
    parts = ["set -e -o pipefail"]
    for line, body in blocks:
        parts.append(f"echo '--- {source}:{line}' >&2")
        parts.append(f"set -x\n{body}\n{{ set +x; }} 2>/dev/null")
    return "\n".join(parts) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("action", choices=("list", "run"))
    ap.add_argument("readme", type=Path)
    args = ap.parse_args()
    blocks = runnable_blocks(args.readme.read_text(encoding="utf-8"))
    if not blocks:
        print(f"{args.readme}: no block marked {MARK}", file=sys.stderr)
        return 1
    if args.action == "list":
        print(script(blocks, args.readme.name), end="")
        return 0
    code = run(script(blocks, args.readme.name))
    print(f"readme_blocks: {len(blocks)} blocks, bash exit {code}", file=sys.stderr)
    return code


def run(text: str, *, env: dict[str, str] | None = None, timeout: float = 600,
        output: int | None = None) -> int:
    """Run `text` with bash in a session of its own; whatever it left running in the
    background (a server a failed block never stopped) is killed when it ends."""
    proc = subprocess.Popen(["bash", "-c", text], env=env, start_new_session=True,
                            stdout=output, stderr=subprocess.STDOUT if output else None)
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"readme_blocks: still running after {timeout:.0f}s; stopped", file=sys.stderr)
        return 124
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


if __name__ == "__main__":
    sys.exit(main())
