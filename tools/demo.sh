#!/usr/bin/env bash
# The gst-smooth demo: builds everything, encodes a 10 s generated A/V stream
# as a 3-bitrate GOP-aligned H.264 ladder plus AAC, packages it with ismvmux
# into .ismv + .ism + .ismc and prints what was written; then serves the folder
# with `gst-smooth serve` (the development origin, on a free port), plays the
# presentation through GStreamer's Smooth Streaming client (playbin, i.e.
# mssdemux) to EOS into fakesinks, prints what was played (frames, duration,
# the QualityLevels fetched according to the origin's log) and stops the origin.
# Then the live leg (tools/demo_live.py): 6 s of live sources, 2 bitrates + AAC,
# through `ismvmux live=true` and smoothsink into `gst-smooth serve --ingest`,
# played by playbin (mssdemux) while it runs; it prints what was pushed,
# served and played, and checks the archive against what was pushed.
# Output folder: $DEMO_DIR (default /tmp/gst-smooth-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh >/dev/null
export GST_PLUGIN_PATH_1_0="$PWD/build/gst/ismv:$PWD/build/ext/smooth"
export GST_REGISTRY_1_0="$PWD/build/registry-demo.bin"
out="${DEMO_DIR:-/tmp/gst-smooth-demo}"
mkdir -p "$out"
rm -f "$out"/demo.ismv "$out"/demo.ism "$out"/demo.ismc "$out"/origin.log "$out"/play-trace.log

# One raw source, three encoders with the same closed GOP (2 s at 24 fps),
# so that every bitrate can switch at every fragment boundary.
enc="key-int-max=48 bframes=2 option-string=scenecut=0:min-keyint=48 speed-preset=veryfast"
pipeline=(
  videotestsrc num-buffers=240 pattern=smpte ! video/x-raw,width=640,height=360,framerate=24/1,format=I420 !
    timeoverlay ! tee name=t
  t. ! queue ! videoscale ! video/x-raw,width=320,height=180 ! x264enc bitrate=400 $enc ! h264parse ! mux.video_0
  t. ! queue ! videoscale ! video/x-raw,width=480,height=270 ! x264enc bitrate=750 $enc ! h264parse ! mux.video_1
  t. ! queue ! x264enc bitrate=1000 $enc ! h264parse ! mux.video_2
  audiotestsrc num-buffers=100 samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=2 !
    audioconvert ! avenc_aac bitrate=128000 ! aacparse ! mux.audio_0
  ismvmux name=mux server-manifest="$out/demo.ism" client-manifest="$out/demo.ismc" !
    filesink location="$out/demo.ismv"
)
echo "== packaging: gst-launch-1.0 -e ${pipeline[*]}"
gst-launch-1.0 -q -e "${pipeline[@]}"
echo
python3 tools/demo_summary.py build/tools/piff-dump "$out/demo.ismv" "$out/demo.ism" "$out/demo.ismc"

# Serve the folder and play it back through mssdemux (until smoothsrc exists).
echo
echo "== serving: build/tools/gst-smooth serve --root $out --port 0"
build/tools/gst-smooth serve --root "$out" --port 0 >"$out/origin.log" 2>&1 &
origin_pid=$!
trap 'kill "$origin_pid" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 100); do
  url=$(sed -n 's|^gst-smooth serve: listening on \(http://.*/\)$|\1|p' "$out/origin.log")
  [ -n "$url" ] && break
  kill -0 "$origin_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$url" ]; then
  echo "demo: the origin did not start:" >&2
  cat "$out/origin.log" >&2
  exit 1
fi
manifest="${url}demo.ism/Manifest"
echo "origin at $url; manifest $manifest"
play=(playbin uri="$manifest"
  video-sink="identity name=vcount silent=true ! fakesink sync=false"
  audio-sink="identity name=acount silent=true ! fakesink sync=false")
echo "== playing: gst-launch-1.0 playbin uri=$manifest video-sink=... audio-sink=... (fakesinks)"
start=$(date +%s.%N)
# The log tracer records every buffer pushed into the sinks (frame counts).
GST_TRACERS=log GST_DEBUG=GST_BUFFER:7 GST_DEBUG_NO_COLOR=1 \
  gst-launch-1.0 -q "${play[@]}" 2>"$out/play-trace.log"
end=$(date +%s.%N)
kill -TERM "$origin_pid"
wait "$origin_pid" && origin_rc=0 || origin_rc=$?
trap - EXIT
python3 - "$out/play-trace.log" "$out/origin.log" "$start" "$end" "$origin_rc" <<'PY'
import re, sys
trace, origin_log, start, end, rc = sys.argv[1:6]

def ns(s):
    h, m, rest = s.split(":")
    sec, frac = rest.split(".")
    return ((int(h) * 60 + int(m)) * 60 + int(sec)) * 10**9 + int(frac.ljust(9, "0"))

frames = {"vcount": [], "acount": []}
demuxers = set()
for line in open(trace, errors="replace"):
    m = re.search(r"do_push_buffer_pre:<(vcount|acount):src>.*? pts ([\d:.]+), dts [\d:.none]+, dur ([\d:.]+)", line)
    if m:
        frames[m.group(1)].append((ns(m.group(2)), ns(m.group(3))))
    m = re.search(r"do_push_buffer_pre:<(mssdemux[\w-]*):", line)
    if m:
        demuxers.add(m.group(1))
v, a = frames["vcount"], frames["acount"]
if not v or not a:
    sys.exit("demo: playback decoded nothing (see %s)" % trace)
span = lambda f: (max(p + d for p, d in f) - min(p for p, _ in f)) / 1e9
print("played: %d video frames (%.3f s), %d audio frames (%.3f s) through %s, to EOS in %.2f s wall time"
      % (len(v), span(v), len(a), span(a), ", ".join(sorted(demuxers)) or "?", float(end) - float(start)))
fetched, statuses = {}, {}
for line in open(origin_log):
    m = re.match(r"\S+ (GET|HEAD) (\S+) (\d{3}) (\d+) ", line)
    if not m:
        continue
    statuses[m.group(3)] = statuses.get(m.group(3), 0) + 1
    q = re.search(r"QualityLevels\((\d+)\)/Fragments\((\w+)=", m.group(2))
    if q:
        key = (q.group(2), int(q.group(1)))
        fetched[key] = fetched.get(key, 0) + 1
print("origin log: %s requests by status %s" % (sum(statuses.values()), statuses))
for (name, bitrate), n in sorted(fetched.items()):
    print("  %-6s QualityLevels(%d): %d fragment(s) = %.1f kb/s" % (name, bitrate, n, bitrate / 1000.0))
counters = [l.strip() for l in open(origin_log) if " requests (" in l]
print("origin stopped by SIGTERM, exit %s; %s" % (rc, counters[-1] if counters else "no counters line"))
if rc != "0":
    sys.exit(1)
PY

echo
python3 tools/demo_live.py build "$out"
