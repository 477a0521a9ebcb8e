#!/usr/bin/env bash
# Sets up a fresh machine for uvs: Debian packages the tests and the bench use, npm packages, the build.
# Idempotent: installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(tshark tcpreplay tcpdump libpcap-dev python3-scapy iproute2 ethtool nftables iperf3 netsniff-ng g++ make)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

npm ci --no-audit --no-fund
npm run build
