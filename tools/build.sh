#!/usr/bin/env bash
# Configures (once) and builds gst-smooth into ./build with two jobs.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup-debian.sh
[ -f build/build.ninja ] || meson setup build
ninja -C build -j2
