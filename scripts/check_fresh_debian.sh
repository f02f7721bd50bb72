#!/usr/bin/env bash
# Checks the README's promise on a pristine Debian 12: makes a root with `debootstrap bookworm`
# (nothing in it but what debootstrap gives: no Python), clones this repository's HEAD into
# it, runs the README's two set-up commands there (bash scripts/lab.sh, bash scripts/test.sh),
# then runs the README's command blocks in a NEW login shell, and reports pass or fail.
#
#   bash scripts/check_fresh_debian.sh [--copy-host-trust] [--keep] [--workdir DIR]
#                                      [--mirror URL] [-- PYTEST-ARGS...]
#
# Needs root, debootstrap (installed when missing), unshare and network access to the Debian
# mirror and PyPI. Takes 10-20 minutes. The root runs chrooted inside its own mount, UTS and
# PID namespaces: /proc, /sys, /dev, /dev/pts and a fresh /run are mounted for it and vanish
# with the namespace, no process it started outlives it, and its host name is one that
# resolves nowhere (the tests must not need it).
#
# --copy-host-trust: for machines whose HTTPS traffic passes through an intercepting proxy.
#   Copies this machine's CA bundle (SSL_CERT_FILE, else /etc/ssl/certs/ca-certificates.crt)
#   into the root as /etc/ssl/host-trust.pem and points pip at it (PIP_CERT, SSL_CERT_FILE,
#   REQUESTS_CA_BUNDLE), copies pip's settings (/etc/pip.conf, /etc/xdg/pip/) and apt's
#   proxy settings (/etc/apt/apt.conf.d files that set Acquire::) and passes the PIP_*
#   variables on. kerbfirst itself never needs any of this; without the option the root is
#   exactly what debootstrap made.
# --keep: keep the root afterwards (default: removed when the check passes).
# Exit status 0 only if both set-up commands and every README block succeeded.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

copy_trust=0 keep=0 workdir=/var/tmp mirror=http://deb.debian.org/debian
pytest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --copy-host-trust) copy_trust=1 ;;
    --keep) keep=1 ;;
    --workdir) workdir=$2; shift ;;
    --mirror) mirror=$2; shift ;;
    --) shift; pytest_args=("$@"); break ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "check: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

if [ "$(id -u)" -ne 0 ]; then echo "check: needs root (debootstrap, chroot)" >&2; exit 1; fi
if ! command -v debootstrap >/dev/null; then
  echo "check: installing debootstrap" >&2
  apt-get install -y debootstrap
fi

work=$(mktemp -d "$workdir/kerbfirst-fresh.XXXXXX")
root=$work/root
log=$work/check.log
exec > >(tee "$log") 2>&1
t0=$(date +%s)
phase() { echo; echo "check: [$(( $(date +%s) - t0 ))s] $*"; }
commit=$(git -C "$repo" rev-parse HEAD)
phase "pristine root in $root (debootstrap bookworm, $mirror), repository at $commit"
debootstrap bookworm "$root" "$mirror"
t_debootstrap=$(( $(date +%s) - t0 ))
if [ -e "$root/usr/bin/python3" ]; then echo "check: the root is not pristine: it has python3"; exit 1; fi

phase "cloning the repository's HEAD into /root/kerbfirst"
git clone --quiet --no-checkout "$repo" "$root/root/kerbfirst"
git -C "$root/root/kerbfirst" checkout --quiet --detach "$commit"

envs=(HOME=/root TERM=dumb LANG=C.UTF-8 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
if [ "$copy_trust" = 1 ]; then
  phase "--copy-host-trust: CA bundle, pip and apt proxy settings into the root"
  bundle=${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}
  install -D -m 0644 "$bundle" "$root/etc/ssl/host-trust.pem"
  [ -f /etc/pip.conf ] && install -D -m 0644 /etc/pip.conf "$root/etc/pip.conf"
  [ -d /etc/xdg/pip ] && mkdir -p "$root/etc/xdg" && cp -a /etc/xdg/pip "$root/etc/xdg/"
  for f in /etc/apt/apt.conf.d/*; do
    if grep -qs "Acquire::" "$f"; then cp -a "$f" "$root/etc/apt/apt.conf.d/"; fi
  done
  envs+=(PIP_CERT=/etc/ssl/host-trust.pem SSL_CERT_FILE=/etc/ssl/host-trust.pem
         REQUESTS_CA_BUNDLE=/etc/ssl/host-trust.pem)
  while IFS='=' read -r name value; do
    case "$name" in PIP_CERT|PIP_FIND_LINKS) continue ;; esac  # paths of this machine
    envs+=("$name=$value")
  done < <(env | grep '^PIP_' || true)
fi

# Run inside the root: the README's two commands, then its blocks in a new login shell.
cat > "$root/root/check-inside.sh" <<EOF
#!/bin/bash
set -uo pipefail
cd /root/kerbfirst
status=0
s=\$(date +%s); bash scripts/lab.sh; demo=\$?; t_demo=\$(( \$(date +%s) - s ))
echo "check-inside: lab.sh exit \$demo after \${t_demo}s"
s=\$(date +%s); bash scripts/test.sh ${pytest_args[*]:-}; tests=\$?; t_tests=\$(( \$(date +%s) - s ))
echo "check-inside: test.sh exit \$tests after \${t_tests}s"
# Idempotent: a second set-up installs nothing. Repair: a virtualenv whose pip is gone (as one
# made before python3-venv was installed) is made again.
again=\$(bash scripts/bootstrap.sh 2>&1); echo "\$again"
if echo "\$again" | grep -q "installing"; then echo "check-inside: second set-up installed something"; idem=1; else idem=0; fi
rm -rf .venv/lib/python3*/site-packages/pip .venv/bin/pip*
repaired=\$(bash scripts/bootstrap.sh 2>&1); echo "\$repaired"
if echo "\$repaired" | grep -q "incomplete" && .venv/bin/kerbfirst --version | grep -q "compiled build"; then repair=0; else echo "check-inside: half-made .venv not repaired"; repair=1; fi
echo "check-inside: idempotent=\$idem repaired=\$repair"
# A new login shell, with nothing of this one: what a user types after the set-up.
s=\$(date +%s)
env -i HOME=/root TERM=dumb LANG=C.UTF-8 bash -l -c \
  'command -v kerbfirst && kerbfirst --version && python3 /root/kerbfirst/scripts/readme_blocks.py run /root/kerbfirst/README.md'
blocks=\$?; t_blocks=\$(( \$(date +%s) - s ))
echo "check-inside: README blocks in a new shell exit \$blocks after \${t_blocks}s"
echo "check-inside: RESULT lab=\$demo/\${t_demo}s tests=\$tests/\${t_tests}s readme=\$blocks/\${t_blocks}s idempotent=\$idem repair=\$repair"
[ \$demo -eq 0 ] && [ \$tests -eq 0 ] && [ \$blocks -eq 0 ] && [ \$idem -eq 0 ] && [ \$repair -eq 0 ]
EOF
chmod +x "$root/root/check-inside.sh"

phase "inside the root (own mount, UTS and PID namespaces, host name kf-fresh-unresolvable)"
set +e
unshare --mount --uts --pid --propagation private --fork bash -euc '
  root=$1; shift
  hostname kf-fresh-unresolvable
  # The root a mount point of its own: `ip netns exec` remounts "/" (mount --make-rslave).
  mount --bind "$root" "$root"
  mount -t proc proc "$root/proc"
  mount -t sysfs sysfs "$root/sys"
  mount --bind /dev "$root/dev"
  mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
  mount -t tmpfs -o mode=0755 tmpfs "$root/run"
  status=0
  env -i "$@" chroot "$root" /root/check-inside.sh || status=$?
  # Network namespaces a test left behind hold mounts under /run/netns.
  for ns in $(chroot "$root" ip netns list 2>/dev/null | cut -d" " -f1); do
    chroot "$root" ip netns del "$ns" || true
  done
  umount -R "$root" 2>/dev/null || true
  exit $status
' check "$root" "${envs[@]}"
status=$?
set -e

total=$(( $(date +%s) - t0 ))
summary=$(grep -E "^check-inside: RESULT|^[0-9]+ (passed|failed)|^=+ .*(passed|failed).* =+$" "$log" | tail -3)
phase "done in ${total}s (debootstrap ${t_debootstrap}s); commit $commit"
echo "$summary"
if [ $status -eq 0 ]; then
  echo "check: PASS (log: $log)"
  if [ "$keep" = 0 ]; then rm -rf "$root"; fi
else
  echo "check: FAIL, exit $status (log: $log; root kept in $root)"
fi
exit $status
