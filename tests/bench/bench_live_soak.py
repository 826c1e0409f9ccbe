#!/usr/bin/env python3
"""Soak benchmark of the live chain (not in the suite): live sources at 3
H.264 bitrates + AAC through `ismvmux live=true` → smoothsink →
fault_proxy.py → `gst-smooth serve --ingest`, for --minutes N (default 60),
with a fault every --fault-every seconds (default 120) in a fixed rotation:
a reset mid-chunk, a stall beyond the sink's send timeout, a `kill -9` of
the server and a restart on the same root and port. The RSS of the encoder
process and of the server is sampled every 10 s. At the end: the archive is
compared with the encoder's own fragment list (the muxer output teed to a
file): nothing lost, nothing twice, continuous per track; and RSS first /
last / max of both is printed as a table.

    python3 tests/bench/bench_live_soak.py --minutes 5
"""
import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "interop"))
sys.dont_write_bytecode = True

import fault_proxy  # noqa: E402
import live_rig as rig  # noqa: E402
import media  # noqa: E402
import test_origin as to  # noqa: E402

ROTATION = ["reset", "stall", "kill"]
SAMPLE_EVERY = 10.0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=60)
    ap.add_argument("--fault-every", type=float, default=120, help="seconds between faults (default 120)")
    a = ap.parse_args()
    build = media.build_dir()
    os.environ.setdefault("GST_PLUGIN_PATH_1_0", "%s/gst/ismv:%s/ext/smooth" % (build, build))
    os.environ.setdefault("GST_REGISTRY_1_0", os.path.join(build, "registry-bench.bin"))
    rig.require_live_elements()
    root = media.out_dir("bench_live_soak", "run")
    os.makedirs(os.path.join(root, "live"))
    port = rig.free_port()
    start = lambda: to.Origin(root, ["--ingest", "--lookahead", "2", "--port", str(port)])
    origin = start()
    px = fault_proxy.FaultProxy(("127.0.0.1", port))
    pport = px.start()
    copy = os.path.join(root, "enc.ismv")
    seconds = a.minutes * 60
    desc = (rig.sources(seconds, ["m.video_0", "m.video_1", "m.video_2"], "m.audio_0") + " "
            + rig.mux_to_sink("m", "http://127.0.0.1:%d/live/soak.isml/Streams(soak)" % pport, copy,
                              sink_props="add-mfra=true send-timeout=2000 retry-delay=200 retry-delay-max=2000"))
    print("encoder: gst-launch-1.0 -e -m " + desc)
    enc = rig.Encoder(desc, os.path.join(root, "encoder.log"))
    samples = {"encoder": [], "server": []}
    faults = []
    t0 = time.time()
    # The first sample after the pipeline is up (the shell has exec'd gst-launch-1.0).
    next_fault, next_sample, k = a.fault_every, SAMPLE_EVERY, 0
    try:
        while enc.proc.poll() is None and time.time() - t0 < seconds + 60:
            now = time.time() - t0
            if now >= next_sample:
                for name, pid in (("encoder", enc.proc.pid), ("server", origin.proc.pid)):
                    r = rig.rss_kib(pid)
                    if r is not None:
                        samples[name].append((now, r))
                next_sample += SAMPLE_EVERY
            if now >= next_fault and now < seconds - 10:
                what = ROTATION[k % len(ROTATION)]
                k += 1
                if what == "kill":
                    origin.kill()
                    time.sleep(1.0)
                    origin = start()
                    ok = True
                else:
                    ok = rig.arm_fault(px, what, 5.0)
                faults.append((round(now, 1), what, ok))
                print("  %6.1f s: %s (%s)" % (now, what, "done" if ok else "no open POST"))
                sys.stdout.flush()
                next_fault += a.fault_every
            time.sleep(0.2)
        rc = enc.wait(90)
    finally:
        enc.kill()
        px.stop()
    time.sleep(1)
    origin.stop()
    s = enc.stats().get("m_sink", {})
    problems = rig.compare(copy, rig.archive_file(root, "live/soak", "soak"))
    _, frags, _ = rig.fragment_list(copy)
    print("\nlive soak: %.1f min of media, 3 bitrates + AAC, faults %s" % (a.minutes, faults))
    print("encoder exit %s; smoothsink: %s fragments sent, %s resent, %s dropped, %s reconnects, state %s"
          % (rc, s.get("fragments-sent"), s.get("fragments-resent"), s.get("fragments-dropped"),
             s.get("reconnects"), s.get("state")))
    print("archive vs encoder: %d fragments made; %s" % (len(frags), "; ".join(problems) or
                                                          "every one archived exactly once, continuous per track"))
    print("\n%-8s %10s %10s %10s %8s" % ("process", "RSS first", "RSS last", "RSS max", "samples"))
    for name, lst in samples.items():
        if lst:
            v = [r for _, r in lst]
            print("%-8s %7d KiB %7d KiB %7d KiB %8d" % (name, v[0], v[-1], max(v), len(v)))
    print("(server RSS restarts from a fresh process after each kill -9)")
    series = os.path.join(root, "rss.csv")
    with open(series, "w") as f:
        f.write("seconds,process,rss_kib\n")
        for name, lst in samples.items():
            for t, r in lst:
                f.write("%.1f,%s,%d\n" % (t, name, r))
    enc_rss = [r for _, r in samples["encoder"]]
    if len(enc_rss) >= 7:
        print("encoder RSS at 1 min %d KiB, at the end %d KiB (every sample: %s)" % (enc_rss[5], enc_rss[-1], series))
    sys.exit(0 if rc == 0 and not problems else 1)


if __name__ == "__main__":
    main()
