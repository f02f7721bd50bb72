#!/usr/bin/env bash
# The main job: the NTLM migration rehearsed end to end on this machine (`kerbfirst lab run`):
# network namespaces with no route off the machine, the corp LocalKDC, a second realm on MIT's
# krb5kdc trusting it, the web gateway (TLS, EPA, NTLM policy) and IAKerb on an app server, a
# branch client, a workgroup machine with its own LocalKDC, a legacy NTLM device; phases 1-3
# and the report (phase 4) under --dir (default /var/tmp/kerbfirst-lab). Needs root.
# Sets kerbfirst up first (scripts/bootstrap.sh: Debian packages, .venv, the compiled build,
# /usr/local/bin/kerbfirst).
#
#   bash scripts/lab.sh [--dir DIR]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
bash scripts/bootstrap.sh
dir=/var/tmp/kerbfirst-lab
case "${1:-}" in
  --dir) dir=$2 ;;
  "") ;;
  *) echo "usage: bash scripts/lab.sh [--dir DIR]" >&2; exit 2 ;;
esac
echo "lab: kerbfirst lab run --dir $dir" >&2
exec .venv/bin/kerbfirst lab run --dir "$dir"
