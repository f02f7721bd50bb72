#!/usr/bin/env bash
# Runs every check and test: installs what is missing (scripts/bootstrap.sh), then ruff,
# mypy --strict, and pytest (unit, differential, property and real-peer tests).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/bootstrap.sh
.venv/bin/python -m ruff check src tests bench fuzz
.venv/bin/python -m mypy --strict src
.venv/bin/python -m pytest -q -p no:cacheprovider "$@"
