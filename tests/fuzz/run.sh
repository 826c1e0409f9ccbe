#!/usr/bin/env bash
# The fuzz test: builds the libFuzzer targets (build.sh), replays the whole
# seed/regression corpus through each of them, then fuzzes each target for a
# short time. Exits 0 when nothing was found, 1 on any crash, leak, timeout or
# OOM (printing the reproducer), 77 (skip) when clang/libFuzzer is missing.
#
#   bash tests/fuzz/run.sh [SOURCE_DIR] [OUT_DIR]
#
# OUT_DIR (default SOURCE_DIR/build/fuzz) receives the binaries, logs/,
# artifacts/ (reproducers), seeds/<target>/ (the corpus minus regress-*) and
# work/<target>/ (inputs the fuzzer found; kept between runs so local runs go
# on where they stopped; never the repo corpus).
#
# Environment:
#   FUZZ_SECONDS  fuzzing time per target (default 20; 0 = replay only)
#   FUZZ_JOBS     targets fuzzed at the same time (default 2)
#   FUZZ_TARGETS  space-separated subset of targets (default: all fuzz_*.cc)
set -uo pipefail

src_root=$(cd "${1:-$(dirname "${BASH_SOURCE[0]}")/../..}" && pwd)
out=${2:-$src_root/build/fuzz}
seconds=${FUZZ_SECONDS:-20}
jobs=${FUZZ_JOBS:-2}
corpus=$src_root/tests/fuzz/corpus
dicts=$src_root/tests/fuzz/dict

bash "$src_root/tests/fuzz/build.sh" "$out"
rc=$?
if ((rc == 77)); then exit 77; fi
if ((rc != 0)); then
  echo "run.sh: building the fuzz targets failed" >&2
  exit 1
fi
out=$(cd "$out" && pwd)
mkdir -p "$out/logs" "$out/artifacts"

if [[ -n ${FUZZ_TARGETS:-} ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for src in "$src_root"/tests/fuzz/fuzz_*.cc; do targets+=("$(basename "${src%.cc}")"); done
fi

# libFuzzer's default error exit code is 77, which meson would take for a
# skip: findings must fail the test.
common=(-error_exitcode=1 -timeout_exitcode=1 -timeout=5 -rss_limit_mb=1024 -malloc_limit_mb=512)
failed=0

dict_for() {
  case $1 in
    fuzz_piff_file | fuzz_fragment | fuzz_protection | fuzz_stream_reader | fuzz_ingest_stream) echo "-dict=$dicts/piff.dict" ;;
    fuzz_client_manifest) echo "-dict=$dicts/client_manifest.dict" ;;
    fuzz_server_manifest) echo "-dict=$dicts/server_manifest.dict" ;;
    fuzz_request_path) echo "-dict=$dicts/request_path.dict" ;;
    fuzz_cross_origin) echo "-dict=$dicts/cross_origin.dict" ;;
  esac
}

report() {  # target log what
  local target=$1 log=$2 what=$3
  echo "FAIL: $target ($what); last lines of $log:"
  tail -n 40 "$log" | sed 's/^/    /'
  local repro
  repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p; s/^Running: \(.*\)$/\1/p' "$log" | tail -1)
  if [[ -n $repro ]]; then
    echo "    reproducer: $repro"
    echo "    reproduce:  $out/$target $repro"
  fi
  failed=1
}

# --- replay: every corpus file once through its target -----------------------
start=$(date +%s)
for t in "${targets[@]}"; do
  files=()
  while IFS= read -r -d '' f; do files+=("$f"); done < <(find "$corpus/$t" -type f -print0 2>/dev/null | sort -z)
  if ((${#files[@]} == 0)); then
    echo "FAIL: $t has no corpus in $corpus/$t"
    failed=1
    continue
  fi
  log=$out/logs/$t-replay.log
  if "$out/$t" "${common[@]}" "${files[@]}" >"$log" 2>&1; then
    echo "replay $t: ${#files[@]} inputs ok"
  else
    report "$t" "$log" "replaying the corpus"
  fi
done
# Files our own muxer wrote must come back byte for byte (fuzz_piff_file.cc).
if [[ " ${targets[*]} " == *" fuzz_piff_file "* ]]; then
  log=$out/logs/fuzz_piff_file-exact.log
  if PIFF_FUZZ_EXACT=1 "$out/fuzz_piff_file" "${common[@]}" "$corpus"/fuzz_piff_file/ismvmux-* >"$log" 2>&1; then
    echo "replay fuzz_piff_file (exact round trip of ismvmux output): ok"
  else
    report fuzz_piff_file "$log" "exact round trip of ismvmux output"
  fi
fi
echo "replay took $(($(date +%s) - start)) s"

# --- fuzz: each target for $seconds, $jobs at a time -------------------------
if ((seconds > 0 && failed == 0)); then
  start=$(date +%s)
  declare -A pid_of
  running=()
  wait_one() {
    local p=${running[0]}
    running=("${running[@]:1}")
    local t=${pid_of[$p]}
    local log=$out/logs/$t-fuzz.log
    if wait "$p"; then
      echo "fuzz $t: $(grep -E '^(stat::number_of_executed_units|#[0-9]+ +DONE)' "$log" | tail -1)"
    else
      report "$t" "$log" "fuzzing"
    fi
  }
  for t in "${targets[@]}"; do
    mkdir -p "$out/work/$t"
    # Seeds are the corpus minus regress-*: those were replayed above, and
    # some are slow by nature (they allocate up to a parser limit), which
    # would make mutating them eat the short fuzzing budget.
    rm -rf "$out/seeds/$t"
    mkdir -p "$out/seeds/$t"
    find "$corpus/$t" -maxdepth 1 -type f ! -name 'regress-*' -exec cp {} "$out/seeds/$t/" \;
    # New inputs go to work/<target> (first directory); the repo corpus is
    # only read.
    # shellcheck disable=SC2046
    "$out/$t" "${common[@]}" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$out/artifacts/$t-" $(dict_for "$t") \
      "$out/work/$t" "$out/seeds/$t" >"$out/logs/$t-fuzz.log" 2>&1 &
    pid_of[$!]=$t
    running+=($!)
    if ((${#running[@]} >= jobs)); then wait_one; fi
  done
  while ((${#running[@]} > 0)); do wait_one; done
  echo "fuzzing took $(($(date +%s) - start)) s (${seconds} s per target, $jobs at a time)"
fi

if ((failed)); then
  echo "fuzz: FAILED (reproducers in $out/artifacts; add each to tests/fuzz/corpus/<target>/ as regress-* once fixed)"
  exit 1
fi
echo "fuzz: ok"
exit 0
