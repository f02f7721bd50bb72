#!/usr/bin/env bash
# Usage: bash fuzz/run.sh TARGET SECONDS  — runs fuzz/TARGET_fuzz.py under libFuzzer (atheris).
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh kdc|iakerb SECONDS}; secs=${2:-600}
bash scripts/bootstrap.sh
.venv/bin/python -c "import atheris" 2>/dev/null || .venv/bin/python -m pip install -q atheris
corpus=fuzz/corpus/$target; mkdir -p "$corpus"
exec .venv/bin/python "fuzz/${target}_fuzz.py" -max_total_time="$secs" -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 "$corpus"
