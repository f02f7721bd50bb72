#!/usr/bin/env bash
# Installs everything kerbfirst and its tests need on a fresh Debian 12 machine (as root):
# Debian packages for the real peers (MIT krb5 programs, chromium, iproute2, curl, a JRE for
# pyspark; gcc and the Python headers for the opt-in mypyc build) when missing, then a
# virtualenv in .venv with kerbfirst and its dev extras.
# Idempotent: a second run installs nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

need=()
for pair in kinit:krb5-user gss-client:krb5-gss-samples krb5kdc:krb5-kdc kdb5_util:krb5-kdc \
            kadmin.local:krb5-admin-server \
            chromium:chromium ip:iproute2 curl:curl java:default-jre-headless gcc:gcc; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ]; then need+=("$pkg"); fi
done
py=${PYTHON:-python3}
# The opt-in compiled KDC build (mypyc; tests/test_compiled_build.py) needs Python.h.
include=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
if [ ! -f "$include/Python.h" ]; then need+=(python3-dev); fi
if [ ${#need[@]} -gt 0 ]; then
  echo "bootstrap: installing Debian packages: ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "bootstrap: need root to apt-get install ${need[*]}; run as root or install them first" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=.venv/.kerbfirst-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip >/dev/null
  .venv/bin/python -m pip install -q -e ".[dev]"
  touch "$stamp"
fi
