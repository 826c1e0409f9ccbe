#!/usr/bin/env python3
"""Interop: while a point is live (look-ahead > 0), every fragment response
it serves carries a tfrf box that names at least the next fragment: the
newest fragment of a track is held back (412) until the next one arrives,
and after the stop a tfrf with no entries is still sent.

Why: GStreamer 1.22's mssdemux parses every live fragment for its tfxd and
tfrf (gstmssfragmentparser.c); a fragment without a tfrf is a parse error
("no tfrf box") that leaves the parser's moof set, and the next fragment's
moof then hits `g_assert (parser->moof == NULL)`: the player aborts. A player
that downloads faster than real time (fakesink sync=false, or catching up)
reaches the newest fragment through the tfrf entries of the previous ones.
This test checks the origin's answers (gst/piff/live_point.cc,
LivePoint::Fragment): it used to serve the newest fragment without a tfrf.

Rig: `ismvmux live=true` → smoothsink → `gst-smooth serve --ingest
--lookahead 2`, 6 s of video + AAC; after 4 s the newest fragment of each
track is found (the first time answering 412 minus one fragment, walking
from the last listed one) and fetched.
"""

import os
import sys
import time

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import boxcheck
import live_rig as rig
import media
import test_origin as to

SECONDS = 6


def traf_children(data: bytes, path: str):
    with open(path, "wb") as f:
        f.write(data)
    moof = boxcheck.File(path).top("moof")[0]
    return [c for c in moof.first("traf").children]


def newest_fragment(origin, point, stream, scratch):
    """Walks from the last listed fragment of a manifest stream along the tfrf entries to the
    newest fragment served: (its time or None, the names of its traf's children)."""
    times, bitrate = sorted(stream["times"]), stream["bitrates"][0] if stream["bitrates"] else None
    if not times or bitrate is None:
        return None, []
    t, newest, children = times[-1], None, []
    for _ in range(6):
        fs, _, data = to.request(origin, "GET", "/%s.isml/QualityLevels(%d)/Fragments(%s=%d)"
                                 % (point, bitrate, stream["name"], t))
        if fs != 200:
            break
        children = traf_children(data, scratch)
        newest = t
        tfrf = [c for c in children if c.name == "uuid[tfrf]"]
        entries = boxcheck.parse_tfrf(tfrf[0])["entries"] if tfrf else []
        if not entries:
            break
        t = entries[-1][0]
    return newest, [c.name for c in children]


def edge_without_tfrf(origin, point, scratch):
    """The streams of a running point whose newest fragment is served without a tfrf."""
    st, _, body = to.request(origin, "GET", "/%s.isml/Manifest" % point)
    if st != 200:
        return []
    out = []
    for s in to.parse_manifest(body)["streams"]:
        t, names = newest_fragment(origin, point, s, scratch)
        if t is not None and "uuid[tfrf]" not in names:
            out.append((s["type"], t))
    return out


def main(argv):
    rig.require_live_elements()
    rep = media.Report("test_live_edge_tfrf")
    root, origin = rig.live_origin("test_live_edge_tfrf", "edge")
    point = "live/ch"
    desc = (rig.sources(SECONDS, ["m.video_0"], "m.audio_0") + " "
            + rig.mux_to_sink("m", "%s%s.isml/Streams(ch)" % (origin.url, point), os.path.join(root, "enc.ismv")))
    enc = rig.Encoder(desc, os.path.join(root, "encoder.log"))
    try:
        time.sleep(4.0)
        st, _, body = to.request(origin, "GET", "/%s.isml/Manifest" % point)
        rep.ok(st == 200, "the running manifest answers 200")
        for s in to.parse_manifest(body)["streams"]:
            newest, names = newest_fragment(origin, point, s, os.path.join(root, "frag-%s.mp4" % s["name"]))
            rep.ok(newest is not None and "uuid[tfrf]" in names,
                   "%s: the newest live fragment (t=%s) carries a tfrf (traf children %s)"
                   % (s["type"], newest, names))
    finally:
        enc.stop()
        enc.kill()
        origin.kill()
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
