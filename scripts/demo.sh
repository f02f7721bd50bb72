#!/usr/bin/env bash
# The main job on the embedded default: a LocalKDC for a demo realm on loopback, a user and
# a service, a TGT and a service ticket with MIT's kinit/kvno and with kerbfirst's own client.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/bootstrap.sh
exec .venv/bin/python -m kerbfirst.cli.demo "$@"
