#!/usr/bin/env bash
# Usage: bash fuzz/run.sh TARGET [SECONDS] — runs fuzz/TARGET_fuzz.py under libFuzzer (atheris).
# New inputs go to fuzz/corpus/TARGET; the target adds its seed corpus (real protocol
# messages) as a second, read-only corpus directory, so the seeds are loaded on every run.
# FUZZ_PYTHON=/path/to/python uses that interpreter (with kerbfirst's dev extras) instead of
# bootstrapping .venv-dev.
set -euo pipefail
cd "$(dirname "$0")/.."
target=${1:?usage: fuzz/run.sh kdc|iakerb|ntlm SECONDS}; secs=${2:-600}
py=${FUZZ_PYTHON:-}
if [ -z "$py" ]; then
  bash scripts/bootstrap.sh --dev  # the editable install: fuzz the sources as they are
  py=.venv-dev/bin/python
fi
"$py" -c "import atheris" 2>/dev/null || "$py" -m pip install "atheris>=2.3"
corpus=fuzz/corpus/$target; mkdir -p "$corpus"
exec "$py" "fuzz/${target}_fuzz.py" -max_total_time="$secs" -rss_limit_mb=2048 \
  -timeout=10 -print_final_stats=1 "$corpus"
