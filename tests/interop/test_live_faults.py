#!/usr/bin/env python3
"""Interop, live fault campaign (short, deterministic): a live GStreamer
encoder (`ismvmux live=true` → smoothsink) pushes 22 s of video + AAC
through `fault_proxy.py` into `gst-smooth serve --ingest`, with, in order:
  - connection resets in the middle of a chunk (the first two connections
    that carry more than 120 KB: the first POST and the one after it);
  - a stall of 4 s (the sink's send-timeout is 1.5 s) on the next POST;
  - refused connects for 3 s (from 8 s on);
  - two cycles of `kill -9` of the server and a restart on the same root
    and port (at 11 s and 15 s, 1 s down each).
At the end the archive has every fragment the encoder made (its muxer
output teed to a file) exactly once per track, on a continuous timeline,
the point stopped at the encoder's mfra and `gst-smooth inspect` reads it;
smoothsink's stats count the reconnects and dropped nothing.
"""

import os
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import fault_proxy
import live_rig as rig
import media
import test_origin as to

SECONDS = 22
# By time (s from the start): a fault is armed on the open long POST (the
# connection through the proxy that carried the most bytes) a few KB ahead
# of what it forwarded, so it hits inside the next chunk. The first kill -9
# also starts 3 s of refused connects (the sink's reconnects are reset at
# once); the server is back after 1 s each time.
SCHEDULE = [(3.0, "reset"), (5.5, "reset"), (8.0, "stall"), (12.0, "kill+refuse"), (17.0, "kill")]
STALL = 4.0
REFUSE_FOR = 3.0


def start_origin(root, port):
    # The last --port wins: the same port after each restart.
    return to.Origin(root, ["--ingest", "--lookahead", "2", "--port", str(port)])


def main(argv):
    rig.require_live_elements()
    rep = media.Report("test_live_faults")
    root = media.out_dir("test_live_faults", "campaign")
    os.makedirs(os.path.join(root, "live"))
    port = rig.free_port()
    origin = start_origin(root, port)
    px = fault_proxy.FaultProxy(("127.0.0.1", port))
    pport = px.start()
    copy = os.path.join(root, "enc.ismv")
    url = "http://127.0.0.1:%d/live/ch.isml/Streams(ch)" % pport
    desc = (rig.sources(SECONDS, ["m.video_0"], "m.audio_0") + " "
            + rig.mux_to_sink("m", url, copy, sink_props="add-mfra=true send-timeout=1500 retry-delay=200 "
                              "retry-delay-max=1000 connect-timeout=2000"))
    enc = rig.Encoder(desc, os.path.join(root, "encoder.log"))
    restarts = []
    try:
        t0 = time.time()
        for at, what in SCHEDULE:
            time.sleep(max(0.0, at - (time.time() - t0)))
            if what in ("reset", "stall"):
                armed = rig.arm_fault(px, what, STALL)
                print("  %.1f s: %s armed on the open POST: %s" % (time.time() - t0, what, armed))
                continue
            if what == "kill+refuse":
                px.refuse(REFUSE_FOR)
                print("  %.1f s: refusing connects for %.0f s" % (time.time() - t0, REFUSE_FOR))
            origin.kill()  # SIGKILL: no clean stop, the archive may have a torn tail
            time.sleep(1.0)
            origin = start_origin(root, port)
            restarts.append(time.time() - t0)
            print("  %.1f s: server killed (-9) and restarted on port %d" % (time.time() - t0, port))
        rc = enc.wait(SECONDS + 40)
    finally:
        enc.kill()
    faults = [c.fault for c in px.connections]
    rep.ok(rc == 0, "the encoder ended cleanly after all faults (%d connections through the proxy: %s)"
           % (len(px.connections), ",".join(f or "-" for f in faults)), enc.output()[-1500:])
    rep.ok(faults.count("reset") == 2 and faults.count("stall") == 1 and "refused" in faults,
           "the proxy applied 2 resets, 1 stall and refused connects", "%s" % faults)
    rep.ok(len(restarts) == 2, "2 kill -9 + restart cycles of the server")
    s = enc.stats().get("m_sink", {})
    rep.ok(s.get("state") == "done" and s.get("fragments-dropped") == "0" and int(s.get("reconnects", 0)) >= 4,
           "smoothsink: %s fragments, %s resent, %s reconnects, %s dropped, state %s" % (
               s.get("fragments-sent"), s.get("fragments-resent"), s.get("reconnects"), s.get("fragments-dropped"),
               s.get("state")), "%s" % s)
    archived = rig.archive_file(root, "live/ch", "ch")
    ism = os.path.join(root, "live", "ch", "ch.ism")
    rep.ok(rig.wait_file(ism, 10), "the point stopped at the encoder's mfra (%s)" % ism)
    problems = rig.compare(copy, archived)
    kinds, frags, _ = rig.fragment_list(copy)
    rep.ok(not problems, "the archive has each of the encoder's %d fragments exactly once, continuous per track"
           % len(frags), "; ".join(problems))
    if os.path.exists(ism):
        p = subprocess.run([to.origin_binary(), "inspect", ism], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=60)
        rep.ok(p.returncode == 0, "gst-smooth inspect of the archive exits 0", p.stdout[-1500:])
    dup = [l for l in origin.lines if "ingest end" in l]
    print("  last server's ingest lines:\n    " + "\n    ".join(dup[-4:]))
    px.stop()
    origin.kill()
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
