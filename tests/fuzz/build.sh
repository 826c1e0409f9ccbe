#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (fuzz_*.cc) with clang, ASan and
# UBSan, into OUT_DIR (default: build/fuzz of the source tree).
#
#   bash tests/fuzz/build.sh [OUT_DIR]
#
# The core (the sources gst/piff/meson.build lists) is compiled once into
# OUT_DIR/obj and linked into every target; an object is only rebuilt when its
# source, a core header or the flags changed. This does not go through meson on purpose: the meson build
# uses g++, and libFuzzer needs clang.
#
# Environment: FUZZ_CXX (clang++ to use), FUZZ_JOBS (parallel compiles,
# default nproc). Exits 77 when no clang with libFuzzer is available, so that
# callers (run.sh, meson) can report a skip instead of a failure.
set -euo pipefail

src_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${1:-$src_root/build/fuzz}
mkdir -p "$out/obj"
out=$(cd "$out" && pwd)

cxx=${FUZZ_CXX:-}
if [[ -z $cxx ]]; then
  for c in clang++ clang++-14; do
    if command -v "$c" >/dev/null 2>&1; then cxx=$c; break; fi
  done
fi
if [[ -z $cxx ]]; then
  echo "build.sh: no clang++ found (install clang and libclang-rt-14-dev); skipping" >&2
  exit 77
fi
# clang without the libFuzzer runtime (libclang-rt-*-dev) cannot link a target.
probe=$out/obj/probe
if ! echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' |
    "$cxx" -x c++ -fsanitize=fuzzer - -o "$probe" 2>/dev/null; then
  echo "build.sh: $cxx cannot link -fsanitize=fuzzer (libclang-rt-dev missing?); skipping" >&2
  exit 77
fi
rm -f "$probe"

# The core's dependencies: GLib (GMarkup) and, once the core uses it, OpenSSL.
pkgs=(glib-2.0)
if pkg-config --exists openssl; then pkgs+=(openssl); fi
dep_cflags=$(pkg-config --cflags "${pkgs[@]}")
dep_libs=$(pkg-config --libs "${pkgs[@]}")
# The core sources are the ones meson builds (gst/piff/meson.build), not every
# .cc in the folder: a file someone is still writing must not break this.
mapfile -t core_sources < <(grep -o "'[A-Za-z0-9_]*\.cc'" "$src_root/gst/piff/meson.build" | tr -d "'")
if ((${#core_sources[@]} == 0)); then
  echo "build.sh: no sources found in gst/piff/meson.build" >&2
  exit 1
fi
# -O1 keeps the fuzzers fast enough while the stack traces stay readable;
# UBSan findings abort (no-recover) so libFuzzer saves a reproducer for them.
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
common="-std=c++17 -g -O1 $san $dep_cflags"
core_flags="$common -fsanitize=fuzzer-no-link -I$src_root/gst/piff"
target_flags="$common -Wall -Wextra -Werror -Wno-unused-parameter -fsanitize=fuzzer -I$src_root/gst/piff -I$src_root/tests/fuzz"

# A flags change (or another compiler) invalidates every object.
stamp=$out/obj/flags
want="$cxx $($cxx --version | head -1) $core_flags"
if [[ ! -f $stamp || $(cat "$stamp") != "$want" ]]; then
  rm -f "$out"/obj/*.o
  echo "$want" >"$stamp"
fi

# shellcheck disable=SC2012  # our own file names, no odd characters
newest_header=$(ls -t "$src_root"/gst/piff/*.h | head -1)
jobs=${FUZZ_JOBS:-$(nproc)}
pids=()
objects=()
for name in "${core_sources[@]}"; do
  src=$src_root/gst/piff/$name
  obj=$out/obj/$(basename "${src%.cc}").o
  objects+=("$obj")
  if [[ -f $obj && $obj -nt $src && $obj -nt $newest_header ]]; then continue; fi
  echo "  CXX $(basename "$src")"
  # shellcheck disable=SC2086
  $cxx $core_flags -c "$src" -o "$obj" &
  pids+=($!)
  if ((${#pids[@]} >= jobs)); then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p"; done

pids=()
for src in "$src_root"/tests/fuzz/fuzz_*.cc; do
  bin=$out/$(basename "${src%.cc}")
  # shellcheck disable=SC2012
  newest=$(ls -t "$src" "$src_root"/tests/fuzz/*.h "${objects[@]}" | head -1)
  if [[ -f $bin && $bin -nt $newest ]]; then continue; fi
  echo "  LINK $(basename "$bin")"
  # shellcheck disable=SC2086
  $cxx $target_flags "$src" "${objects[@]}" $dep_libs -o "$bin" &
  pids+=($!)
  if ((${#pids[@]} >= jobs)); then
    wait "${pids[0]}"
    pids=("${pids[@]:1}")
  fi
done
for p in "${pids[@]}"; do wait "$p"; done
echo "fuzz targets in $out"
