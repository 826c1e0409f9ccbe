#!/usr/bin/env python3
"""The demo's live leg: encodes 6 s of live sources (2 H.264 bitrates + AAC,
`ismvmux live=true`), pushes them with smoothsink to `gst-smooth serve
--ingest`, plays the running point with GStreamer's player (playbin →
mssdemux) while it runs, and prints what was pushed (smoothsink stats),
served (the origin's ingest lines and counters) and played (frames).
Usage: demo_live.py BUILD_DIR OUT_DIR (the rig is the live tests' one,
tests/interop/live_rig.py, so the demo runs what the tests check)."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "interop"))
sys.dont_write_bytecode = True

import live_rig as rig  # noqa: E402
import test_origin_mss as tm  # noqa: E402

SECONDS = 6


def main():
    build, out = sys.argv[1:3]
    root = os.path.join(out, "live-root")
    subprocess.run(["rm", "-rf", root], check=True)
    os.makedirs(os.path.join(root, "live"))
    cmd = [os.path.join(build, "tools", "gst-smooth"), "serve", "--root", root, "--port", "0", "--ingest",
           "--lookahead", "2"]
    print("== live origin: %s" % " ".join(cmd))
    origin = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = []
    pump = threading.Thread(target=lambda: [lines.append(l.rstrip("\n")) for l in origin.stdout], daemon=True)
    pump.start()
    url = None
    for _ in range(100):
        m = [re.search(r"listening on (http://\S+/)", l) for l in lines]
        m = [x for x in m if x]
        if m:
            url = m[0].group(1)
            break
        time.sleep(0.1)
    if not url:
        sys.exit("demo: the live origin did not start: %s" % lines)
    try:
        ingest = url + "live/demo.isml/Streams(demo)"
        copy = os.path.join(out, "live-encoder.ismv")
        desc = (rig.sources(SECONDS, ["m.video_0", "m.video_1"], "m.audio_0") + " "
                + rig.mux_to_sink("m", ingest, copy, sink_props="add-mfra=true"))
        print("== live encoder (%d s, 2 bitrates + AAC): gst-launch-1.0 -e %s" % (SECONDS, desc))
        enc = rig.Encoder(desc, os.path.join(out, "live-encoder.log"))
        manifest = url + "live/demo.isml/Manifest"
        t0 = time.time()
        while time.time() - t0 < SECONDS:
            try:
                body = subprocess.run(["curl", "-sf", manifest], stdout=subprocess.PIPE, timeout=5).stdout
            except (OSError, subprocess.TimeoutExpired):
                body = b""
            if body.count(b"<c ") >= 2:
                break
            time.sleep(0.2)
        play = max(2.0, SECONDS - (time.time() - t0))
        print("== playing the running point for %.1f s: gst-launch-1.0 playbin uri=%s (fakesinks)" % (play, manifest))
        rc, counts, pout = tm.run_counting(["playbin", "uri=" + manifest, "video-sink=" + tm.sink("vcount"),
                                            "audio-sink=" + tm.sink("acount")], stop_after=play)
        erc = enc.wait(SECONDS + 30)
    finally:
        time.sleep(0.5)
        origin.send_signal(signal.SIGTERM)
        try:
            orc = origin.wait(10)
        except subprocess.TimeoutExpired:
            origin.kill()
            orc = origin.wait()
        pump.join(5)
    s = enc.stats().get("m_sink", {})
    print("pushed (smoothsink stats): state %s, %s fragments in, %s sent, %s resent, %s dropped, %s bytes, "
          "%s reconnects; encoder exit %d" % (s.get("state"), s.get("fragments-in"), s.get("fragments-sent"),
                                             s.get("fragments-resent"), s.get("fragments-dropped"),
                                             s.get("bytes-sent"), s.get("reconnects"), erc))
    print("served (origin log):")
    for l in lines:
        if "ingest end" in l and "(probe)" not in l or " requests (" in l or "live/demo.isml: " in l:
            print("  " + l)
    gets = [l for l in lines if re.match(r"\S+ GET /live/demo.isml/", l)]
    frags = [l for l in gets if "/Fragments(" in l]
    print("  %d live GETs (the player and the demo's polls): %d manifests, %d fragments (%d answered 200); origin exit %s"
          % (len(gets), len(gets) - len(frags), len(frags), sum(" 200 " in l for l in frags), orc))
    v, a = counts.get("vcount", 0), counts.get("acount", 0)
    demuxers = sorted({re.sub(r"\d+$", "", k) for k in counts if k.startswith("mssdemux")})
    print("played (while live): %d video frames, %d audio frames through %s" % (v, a, ", ".join(demuxers) or "?"))
    if "gst_mss_fragment_parser_add_buffer" in pout:
        print("  note: GStreamer 1.22's mssdemux aborted during live playback (assertion parser->moof == NULL in "
              "gstmssfragmentparser.c): the origin serves the newest fragment without a tfrf, which that parser "
              "cannot take (known defect, tests/interop/test_live_edge_tfrf.py)")
    problems = rig.compare(copy, rig.archive_file(root, "live/demo", "demo"))
    print("archive %s: %s" % (os.path.join(root, "live", "demo"),
                              "every pushed fragment exactly once, continuous" if not problems else problems))
    if erc != 0 or problems or v == 0:
        sys.exit(1)


if __name__ == "__main__":
    main()
