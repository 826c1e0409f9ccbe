#!/usr/bin/env python3
"""Interop, redundant live encoders: two ganged GStreamer encoder processes
(`ismvmux live=true timestamp-mode=clock fragment-boundaries=clock-grid`,
video + AAC, the second started 1.5 s after the first), each with its own
smoothsink, push to ONE point and the same Streams(ch) (docs/live-serving.md:
several connections with the same stream ID are accepted, fragments the
point has already are dropped and counted as duplicates). The first encoder
is killed (-9) mid-run. Checks: both POSTs are accepted (one header); the
origin counts duplicates; a polling client fetches every fragment the
running manifest lists, all 200, and the manifest keeps growing after the
kill; the archive has one entry per fragment time, on a continuous timeline,
each one a fragment one of the encoders made (same time and duration).
"""

import os
import re
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import live_rig as rig
import media
import test_origin as to

SECONDS = 14
SECOND_START = 1.5
KILL_FIRST_AT = 7.0
GRID = "timestamp-mode=clock fragment-boundaries=clock-grid"


def complete_prefix(path):
    """A copy of `path` cut after its last complete top-level box (an encoder killed with -9 leaves
    a torn tail)."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        if size == 1 and pos + 16 <= len(data):
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        if size < 8 or pos + size > len(data):
            break
        pos += size
    cut = path + ".complete"
    with open(cut, "wb") as f:
        f.write(data[:pos])
    return cut


class Poller(threading.Thread):
    """Fetches every fragment the running manifest lists (video and audio), once each."""

    def __init__(self, origin, point):
        super().__init__(daemon=True)
        self.origin, self.point = origin, point
        self.stop_at = time.time() + SECONDS + 5
        self.fetched = {}       # (name, time) -> status
        self.growth = []        # (wall time, newest listed video time)
        self.done = threading.Event()

    def run(self):
        while not self.done.is_set() and time.time() < self.stop_at:
            try:
                st, _, body = to.request(self.origin, "GET", "/%s.isml/Manifest" % self.point)
                if st == 200 and b'IsLive="TRUE"' in body:
                    for s in to.parse_manifest(body)["streams"]:
                        if s["type"] == "video" and s["times"]:
                            self.growth.append((time.time(), max(s["times"])))
                        for t in s["times"]:
                            if (s["name"], t) not in self.fetched:
                                fs, _, _ = to.request(self.origin, "GET", "/%s.isml/QualityLevels(%d)/Fragments(%s=%d)"
                                                      % (self.point, s["bitrates"][0], s["name"], t))
                                self.fetched[(s["name"], t)] = fs
            except (OSError, media.Failure):
                pass
            time.sleep(0.3)


def main(argv):
    rig.require_live_elements()
    rep = media.Report("test_live_redundant")
    root, origin = rig.live_origin("test_live_redundant", "pair")
    point = "live/ch"
    url = "%s%s.isml/Streams(ch)" % (origin.url, point)
    copies = [os.path.join(root, "enc-%s.ismv" % n) for n in ("a", "b")]
    encs = []
    poller = Poller(origin, point)
    try:
        for i, name in enumerate(("a", "b")):
            if i:
                time.sleep(SECOND_START)
            desc = (rig.sources(SECONDS, ["%s.video_0" % name], "%s.audio_0" % name) + " "
                    + rig.mux_to_sink(name, url, copies[i], mux_props=GRID, sink_props="add-mfra=true"))
            encs.append(rig.Encoder(desc, os.path.join(root, "encoder-%s.log" % name)))
        t0 = time.time() - SECOND_START
        poller.start()
        time.sleep(max(0.0, KILL_FIRST_AT - (time.time() - t0)))
        os.killpg(encs[0].proc.pid, signal.SIGKILL)
        killed_at = time.time()
        encs[0].proc.wait()
        print("  %.1f s: encoder a killed (-9)" % (killed_at - t0))
        rc_b = encs[1].wait(SECONDS + 30)
        poller.done.set()
        poller.join(10)
    finally:
        for e in encs:
            e.kill()
    rep.ok(rc_b == 0, "the surviving encoder b ended cleanly", encs[1].output()[-1500:])
    ends = [l for l in origin.lines if "ingest end" in l and "(probe)" not in l]
    refused = [l for l in origin.lines if "ingest refused" in l or " 409 " in l]
    rep.ok(not refused and len(ends) >= 2, "both long POSTs accepted into one Streams(ch) (%d ended, none refused)"
           % len(ends), "\n".join(ends + refused))
    dups = sum(int(m.group(1)) for l in ends for m in [re.search(r"(\d+) duplicates", l)] if m)
    rep.ok(dups > 0, "the origin dropped and counted %d duplicate fragments" % dups, "\n".join(ends))
    bad = {k: v for k, v in poller.fetched.items() if v != 200}
    rep.ok(poller.fetched and not bad, "the polling client fetched all %d listed fragments with 200"
           % len(poller.fetched), "%s" % sorted(bad.items())[:6])
    after = [t for w, t in poller.growth if w > killed_at + 1.0]
    before = [t for w, t in poller.growth if w <= killed_at]
    rep.ok(before and after and max(after) >= max(before) + 3 * 10000000,
           "the running manifest kept growing after the kill (newest listed video %s before, %s after)"
           % (max(before) if before else None, max(after) if after else None))
    ism = os.path.join(root, point, "ch.ism")
    rep.ok(rig.wait_file(ism, 10), "the point stopped at b's mfra and wrote its archive")
    archived = rig.archive_file(root, point, "ch")
    _, arc, _ = rig.fragment_list(archived)
    made = set(rig.fragment_list(complete_prefix(copies[0]))[1]) | set(rig.fragment_list(copies[1])[1])
    times = {}
    for f in arc:
        times[(f[0], f[1])] = times.get((f[0], f[1]), 0) + 1
    twice = [k for k, n in times.items() if n > 1]
    foreign = [f for f in arc if f not in made]
    gaps = rig.continuity(arc)
    rep.ok(not twice and not foreign and not gaps,
           "the archive has %d fragments: one per time, each made by a or b, continuous per track" % len(arc),
           "twice %s; not made by either %s; %s" % (twice[:3], foreign[:3], "; ".join(gaps)))
    origin.kill()
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
