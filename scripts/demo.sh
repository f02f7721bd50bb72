#!/usr/bin/env bash
# The main job on the embedded default: a LocalKDC for a demo realm on loopback, a user and
# a service, a TGT and a service ticket with MIT's kinit/kvno and with kerbfirst's own client.
# Sets kerbfirst up first (scripts/bootstrap.sh: Debian packages, .venv, the compiled build,
# /usr/local/bin/kerbfirst).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/bootstrap.sh
echo "demo: running the demo realm (python -m kerbfirst.cli.demo)" >&2
exec .venv/bin/python -m kerbfirst.cli.demo "$@"
