#!/usr/bin/env bash
# Runs every check and test: installs what is missing (scripts/bootstrap.sh --dev: the real
# peers and an editable install with the dev extras in .venv-dev, apart from the user's
# .venv), then ruff, mypy --strict, and pytest (unit, differential, property and real-peer
# tests). Extra arguments go to pytest.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/bootstrap.sh --dev
py=.venv-dev/bin/python
echo "test: ruff" >&2
$py -m ruff check src tests bench fuzz
echo "test: mypy --strict src" >&2
$py -m mypy --strict src
echo "test: pytest" >&2
$py -m pytest -q -p no:cacheprovider "$@"
