#!/usr/bin/env bash
# Sets kerbfirst up on a Debian 12 machine, from nothing but a `debootstrap bookworm` root.
#
#   bash scripts/bootstrap.sh          # what the main job needs (scripts/lab.sh)
#   bash scripts/bootstrap.sh --dev    # what every test needs (scripts/test.sh)
#
# Without --dev: Debian's python3, python3-venv, python3-dev, gcc, MIT's client programs and
# KDC (the lab's second realm), curl and iproute2 (the lab's peers and namespaces), then
# kerbfirst itself with its run-time dependencies only, installed (not editable) into
# .venv: the compiled build when gcc and the Python headers are there (setup.py), and
# /usr/local/bin/kerbfirst pointing at .venv/bin/kerbfirst when run as root.
# With --dev: also the real peers the tests run (MIT's KDC, chromium, curl, iproute2, a JRE,
# systemd's socket activator), and an editable, pure-Python install with the dev extras in
# .venv-dev, a separate environment, so the tests never replace the user's compiled build.
#
# Idempotent: a second run installs nothing. A half-made virtualenv (one whose pip does not
# run, e.g. made before python3-venv was installed) is removed and made again.
# PYTHON=/path/to/python3 picks the interpreter (default: python3 on PATH).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

dev=0
case "${1:-}" in
  --dev) dev=1 ;;
  "") ;;
  *) echo "usage: bash scripts/bootstrap.sh [--dev]" >&2; exit 2 ;;
esac

step() { echo "bootstrap: $*" >&2; }

# --- 1. Debian packages -------------------------------------------------------------------
# Each pair: a program the code runs, and the Debian package that provides it.
base_pairs=(kinit:krb5-user kvno:krb5-user gss-client:krb5-gss-samples gcc:gcc
            krb5kdc:krb5-kdc kdb5_util:krb5-kdc kadmin.local:krb5-admin-server
            ip:iproute2 curl:curl)
dev_pairs=(chromium:chromium java:default-jre-headless
           systemd-socket-activate:systemd git:git
           smbd:samba smbclient:smbclient testparm:samba-common-bin ntlm_auth:winbind)
pairs=("${base_pairs[@]}")
if [ "$dev" = 1 ]; then pairs+=("${dev_pairs[@]}"); fi

need=()
add_need() { case " ${need[*]} " in *" $1 "*) ;; *) need+=("$1") ;; esac; }
for pair in "${pairs[@]}"; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  if ! command -v "$cmd" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$cmd" ] && [ ! -x "/sbin/$cmd" ]
  then add_need "$pkg"; fi
done
# the web tests (dev): Apache + mod_auth_gssapi (anchor), k5tls (kinit via KdcProxy), libkrb5-dev (gssapi)
if [ "$dev" = 1 ] && ! ls /usr/lib/apache2/modules/mod_auth_gssapi.so /usr/lib/*/krb5/plugins/tls/k5tls.so /usr/bin/krb5-config >/dev/null 2>&1; then for p in apache2 libapache2-mod-auth-gssapi krb5-k5tls libkrb5-dev; do add_need "$p"; done; fi

py=${PYTHON:-python3}
if ! command -v "$py" >/dev/null 2>&1; then
  # A pristine Debian has no Python at all: Debian's, with venv (ensurepip) and headers.
  add_need python3; add_need python3-venv; add_need python3-dev
  py=/usr/bin/python3
else
  pypath=$(command -v "$py")
  if [ "$(readlink -f "$pypath")" = "$(readlink -f /usr/bin/python3 2>/dev/null || true)" ]
  then
    # Debian's python3 ships ensurepip and Python.h in separate packages.
    for pkg in python3-venv python3-dev; do
      if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"
      then add_need "$pkg"; fi
    done
  else
    # Another interpreter (pyenv, a self-built one) has its own ensurepip and headers.
    include=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
    if [ ! -f "$include/Python.h" ]; then
      step "note: $include/Python.h is missing; the compiled build needs it (pure Python otherwise)"
    fi
  fi
fi

if [ ${#need[@]} -gt 0 ]; then
  step "[1/4] installing Debian packages: ${need[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    step "need root to apt-get install ${need[*]}; run as root or install them first"
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${need[@]}"
else
  step "[1/4] Debian packages: all present"
fi

# --- 2. the virtualenv ---------------------------------------------------------------------
if [ "$dev" = 1 ]; then venv=.venv-dev; else venv=.venv; fi
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip --version >/dev/null 2>&1; then
  step "[2/4] virtualenv $venv: present ($("$venv/bin/python" --version))"
else
  if [ -e "$venv" ]; then
    step "[2/4] virtualenv $venv is incomplete (its pip does not run): making it again"
    rm -rf "$venv"
  else
    step "[2/4] making virtualenv $venv with $py"
  fi
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip --version >/dev/null
fi

# --- 3. kerbfirst into the virtualenv ------------------------------------------------------
# The stamp holds a digest of everything the install depends on: an unchanged tree installs
# nothing; an edited one is installed again (the main install is a copy, not a link).
if [ "$dev" = 1 ]; then
  digest=$(cat pyproject.toml | sha256sum | cut -d' ' -f1)
else
  digest=$(find src build_support setup.py pyproject.toml scripts/build_compiled.py \
             -type f \( -name '*.py' -o -name '*.toml' -o -name '*.json' -o -name '*.typed' \
             -o -name '*.txt' -o -name '*.html' -o -name '*.js' -o -name '*.css' \) \
             -not -path '*/__pycache__/*' -not -path '*.egg-info/*' -print0 \
           | sort -z | xargs -0 sha256sum \
           | sha256sum | cut -d' ' -f1)
fi
stamp=$venv/.kerbfirst-installed
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$digest" ]; then
  step "[3/4] kerbfirst in $venv: up to date"
else
  rm -f "$stamp"
  if [ "$dev" = 1 ]; then
    step "[3/4] installing kerbfirst (editable, pure Python) with the dev extras into $venv"
    "$venv/bin/python" -m pip install --progress-bar on -e ".[dev]"
  else
    step "[3/4] installing kerbfirst into $venv (compiles the hot paths with mypyc: ~2 min)"
    # A fresh build directory: setuptools would otherwise pack files left there by an
    # earlier build of a different tree.
    rm -rf build
    "$venv/bin/python" -m pip install --progress-bar on .
  fi
  echo "$digest" > "$stamp"
fi

# --- 4. on PATH ----------------------------------------------------------------------------
if [ "$dev" = 1 ]; then
  step "[4/4] tests run with $here/$venv/bin/python ($("$venv/bin/kerbfirst" --version))"
  exit 0
fi
target=$here/$venv/bin/kerbfirst
if [ "$(id -u)" -eq 0 ]; then
  if [ "$(readlink /usr/local/bin/kerbfirst 2>/dev/null || true)" != "$target" ]; then
    ln -sfn "$target" /usr/local/bin/kerbfirst
    step "[4/4] /usr/local/bin/kerbfirst -> $target"
  else
    step "[4/4] /usr/local/bin/kerbfirst -> $target: present"
  fi
else
  step "[4/4] not root: put $here/$venv/bin on PATH to run kerbfirst"
fi
version=$("$target" --version)
step "ready: $version"
case "$version" in
  *"compiled build"*) ;;
  *) step "WARNING: this is the pure-Python build (pip could not compile; see its output with -v)" ;;
esac
