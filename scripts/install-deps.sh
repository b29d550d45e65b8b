#!/usr/bin/env bash
# Installs what the tests and the demo need on a fresh Debian 12 machine (as root); does nothing when all is there.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  openvswitch-switch iproute2 iputils-ping iptables tcpdump ethtool dnsmasq-base busybox-static openssl curl
  python3-os-ken openssh-server openssh-client prometheus mininet etcd-server socat
  chromium podman runc podman-compose debootstrap
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then echo "install-deps: must run as root to install Debian packages" >&2; exit 1; fi
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# LXD (the lxd VM backend and its tests): started by hand, no systemd here.
./scripts/install-lxd.sh

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
