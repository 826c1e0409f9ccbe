#!/usr/bin/env bash
# Installs the Debian 12 packages that gst-smooth needs to build, test and run
# its demo (with --bench: and its benchmarks). Idempotent: does nothing when
# everything is already installed.
set -euo pipefail
PKGS=(
  meson ninja-build pkg-config g++ python3 time
  libglib2.0-dev libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libsoup-3.0-dev glib-networking libssl-dev
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-plugins-bad
  gstreamer1.0-plugins-ugly gstreamer1.0-libav
  ffmpeg nginx-light
  clang libclang-rt-14-dev
  chromium
)
# --bench: also the peers of the benchmarks (tests/bench), which call this
# themselves.
if [ "${1:-}" = "--bench" ]; then
  PKGS+=(wrk gcc openssl)
elif [ -n "${1:-}" ]; then
  echo "usage: $0 [--bench]" >&2
  exit 2
fi
# The browser test fetches dash.js with npm: Debian's nodejs and npm unless
# a node installation with npm is there already.
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: run as root to install: ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q -o DPkg::Lock::Timeout=300 "${missing[@]}"
fi
