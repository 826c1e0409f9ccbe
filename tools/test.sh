#!/usr/bin/env bash
# Builds gst-smooth and runs every test (unit, element, interop). The last
# line printed is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh
set +e
meson test -C build --print-errorlogs --num-processes 2
rc=$?
set -e
python3 - <<'PY'
import json
r = [json.loads(l)["result"] for l in open("build/meson-logs/testlog.json") if l.strip()]
passed = sum(x in ("OK", "EXPECTEDFAIL") for x in r)
skipped = r.count("SKIP")
print(f"{skipped} skipped")
print(f"{passed} passed, {len(r) - passed - skipped} failed")
PY
exit $rc
