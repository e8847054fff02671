#!/usr/bin/env bash
# Proves the set-up is complete: runs a command (default: scripts/setup.sh)
# in a clean Debian 12 root made with debootstrap, on a fresh clone of this
# repository's HEAD. The root gets only what a new machine of this
# workplace has before any project step: Debian's minimal system, plus the
# toolchains the machine image ships (Go under /usr/local/go, Node.js + npm),
# bind-mounted read-only. Python is Debian's python3 in a virtualenv (PYTHON
# points at it), so no package the developer installed by hand can leak in.
#
#   scripts/fresh_root_check.sh [COMMAND...]
#   e.g. scripts/fresh_root_check.sh bash scripts/test.sh
#
# Environment: TESSERA_FRESH_ROOT (default /var/tmp/tessera-fresh-root; made
# once, reused), TESSERA_FRESH_KEEP=1 keeps the clone of an earlier run.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
ROOT=${TESSERA_FRESH_ROOT:-/var/tmp/tessera-fresh-root}
COMMAND=("$@")
((${#COMMAND[@]})) || COMMAND=(bash scripts/setup.sh)
log() { printf '[fresh-root] %s\n' "$*" >&2; }

[[ $(id -u) -eq 0 ]] || { log "needs root (debootstrap, chroot, mounts)"; exit 2; }
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }

# The mirror this machine's apt uses (never a host written down here).
MIRROR=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
[[ -n $MIRROR ]] || MIRROR=$(awk '/^deb / {print $2; exit}' /etc/apt/sources.list)
[[ -n $MIRROR ]] || { log "cannot find this machine's Debian mirror"; exit 2; }

if [[ ! -x $ROOT/usr/bin/apt-get ]]; then
  log "debootstrap bookworm into $ROOT"
  debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR" >/dev/null
  cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/" 2>/dev/null || true
fi
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The machine's way to the registries: its CA certificates (egress proxy)
# and client settings, as every machine of this workplace has them.
mkdir -p "$ROOT/etc/ssl/certs" "$ROOT/usr/local/share/ca-certificates" "$ROOT/root/.config/go"
cp /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
cp -r /usr/local/share/ca-certificates/. "$ROOT/usr/local/share/ca-certificates/" 2>/dev/null || true
for file in /etc/pip.conf /etc/npmrc /root/.npmrc /root/.config/go/env; do
  [[ -f $file ]] && cp "$file" "$ROOT$file"
done

mounts=()
cleanup() {
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do umount -l "${mounts[i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind() {  # bind SOURCE TARGET [ro]: a folder onto a folder, a file onto a file
  if [[ -d $1 ]]; then
    mkdir -p "$2"
  else
    mkdir -p "$(dirname "$2")"
    [[ -e $2 ]] || touch "$2"
  fi
  mount --bind "$1" "$2"
  mounts+=("$2")
  if [[ ${3:-} == ro ]]; then mount -o remount,bind,ro "$2"; fi
}
# The root a mount point of its own, as a machine's is: tests that mount a
# tmpfs in a private mount namespace (test_fault_injection.cpp) cannot make
# the propagation of a root that is no mount point private.
mount --bind "$ROOT" "$ROOT" && mounts+=("$ROOT")
mkdir -p "$ROOT/proc" "$ROOT/dev" "$ROOT/sys"
mount -t proc proc "$ROOT/proc" && mounts+=("$ROOT/proc")
bind /dev "$ROOT/dev"
bind /dev/pts "$ROOT/dev/pts"
bind /sys "$ROOT/sys"
# The machine image's toolchains.
[[ -d /usr/local/go ]] && bind /usr/local/go "$ROOT/usr/local/go" ro
if command -v node >/dev/null; then
  bind "$(readlink -f "$(command -v node)")" "$ROOT/usr/bin/node" ro
  NPM_DIR=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  bind "$NPM_DIR" "$ROOT/usr/lib/node_modules/npm" ro
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$ROOT/usr/bin/npm"
fi

WORK=/work/tessera
if [[ ${TESSERA_FRESH_KEEP:-0} != 1 || ! -d $ROOT$WORK ]]; then
  log "fresh clone of HEAD into $ROOT$WORK"
  rm -rf "$ROOT$WORK"
  mkdir -p "$ROOT/work"
  git clone -q "$REPO" "$ROOT$WORK"
fi

# The machine's CA settings (as CI has them), nothing else of this shell's.
ca_variables=()
while IFS='=' read -r name value; do
  [[ $name =~ (CA_BUNDLE|CA_CERT|SSL_CERT_) && -e $ROOT$value ]] && ca_variables+=("$name=$value")
done < <(env)

log "running in the clean root: ${COMMAND[*]}"
chroot "$ROOT" /usr/bin/env -i HOME=/root PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive PYTHON=/opt/venv/bin/python CI=true "${ca_variables[@]}" \
  bash -c "set -e
    if [[ ! -x /opt/venv/bin/python ]]; then
      apt-get update -qq && apt-get install -y -qq --no-install-recommends python3 python3-venv python3-dev git ca-certificates >/dev/null
      python3 -m venv /opt/venv
      /opt/venv/bin/python -m pip install -q --upgrade pip packaging
    fi
    cd $WORK && $(printf '%q ' "${COMMAND[@]}")"
