#!/usr/bin/env bash
# The gst-smooth demo: builds everything, encodes a 10 s generated A/V stream
# as a 3-bitrate GOP-aligned H.264 ladder plus AAC, packages it with ismvmux
# into .ismv + .ism + .ismc, and prints what was written.
# Output folder: $DEMO_DIR (default /tmp/gst-smooth-demo).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/build.sh >/dev/null
export GST_PLUGIN_PATH_1_0="$PWD/build/gst/ismv"
export GST_REGISTRY_1_0="$PWD/build/registry-demo.bin"
out="${DEMO_DIR:-/tmp/gst-smooth-demo}"
mkdir -p "$out"
rm -f "$out"/demo.ismv "$out"/demo.ism "$out"/demo.ismc

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
