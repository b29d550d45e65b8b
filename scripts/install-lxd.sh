#!/usr/bin/env bash
# Installs and starts LXD on a Debian 12 machine without systemd (as root), the way ../shared/design/lab.md
# verified it: Debian's lxd, the daemon started by hand, a preseed with one `dir` pool and NO networks (never
# `lxd init --auto`: it creates a NAT bridge and probes random 10.x subnets). Idempotent: a second run changes
# nothing. busybox-static is for the local image (src/hosts/lxd/image.ts); it replaces Debian's dynamic `busybox`
# package (they conflict) and provides the same /bin/busybox.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then echo "install-lxd: must run as root" >&2; exit 1; fi

packages=(lxd lxd-client busybox-static ethtool)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-lxd: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if ! lxd waitready --timeout=1 >/dev/null 2>&1; then
  echo "install-lxd: starting the LXD daemon"
  getent group lxd >/dev/null || groupadd --system lxd
  setsid nohup /usr/bin/lxd --group lxd --logfile=/var/log/lxd.log </dev/null >/dev/null 2>&1 &
  lxd waitready --timeout=60
fi

if ! lxc storage show default >/dev/null 2>&1; then
  echo "install-lxd: preseeding a dir storage pool (no networks)"
  lxd init --preseed <<'YAML'
config: {}
networks: []
storage_pools: [{name: default, driver: dir, config: {}}]
profiles: [{name: default, config: {}, devices: {root: {path: /, pool: default, type: disk}}}]
YAML
fi

echo "install-lxd: ready ($(lxc version 2>/dev/null | tr '\n' ' '))"
