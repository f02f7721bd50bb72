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
import re
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
    done = subprocess.run(["bash", "-c", script(blocks, args.readme.name)], check=False)
    print(f"readme_blocks: {len(blocks)} blocks, bash exit {done.returncode}", file=sys.stderr)
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
