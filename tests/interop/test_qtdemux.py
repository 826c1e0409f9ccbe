#!/usr/bin/env python3
"""Interop: GStreamer's qtdemux reads every track of ismvmux output back.

For each media case, the input mp4 and the muxed ISMV are both read with
`filesrc ! qtdemux` (every pad into queue ! fakesink); buffers are observed
with the `log` tracer (GST_TRACERS=log, pad push hooks), which is synchronous
and complete, unlike identity/fakesink `last-message` under gst-launch -v.
Per track it asserts:
  - same caps essentials (codec_data, width/height or rate/channels);
  - same buffer count, same per-buffer sizes and delta-unit flags (decode order);
  - per-buffer PTS in stream time (pts - segment.start + segment.time, so
    edit lists / qtdemux's negative-composition-offset shift are accounted
    for) within 1 ms of the input's;
  - DTS present and non-decreasing; the first buffer is a keyframe.

Options: --muxer ffmpeg (check FFmpeg's own -f ismv output instead), CASE...
"""

import sys

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import media

MS = 1000000  # ns


def stream_time(buf, seg):
    if buf["pts"] is None:
        return None
    return buf["pts"] - seg["start"] + seg["time"]


def fmt(ns):
    return "none" if ns is None else "%.6f" % (ns / 1e9)


def check_case(rep, muxer, case):
    rep.section("%s: %s" % (case, media.CASES[case]))
    mp4 = media.ensure_media(case)
    out = media.mux(muxer, mp4, media.out_dir("qtdemux", case), case)
    print("  muxed: " + out["cmd"])
    src = media.qtdemux_buffers(mp4)
    # sanity of the observation method itself: the input as seen through
    # qtdemux + log tracer must have ffprobe's packet count per track
    for t in media.track_pads(media.ffprobe_streams(mp4, count_packets=True)):
        n = int(t["stream"].get("nb_read_packets", -1))
        got = len(src.get(t["pad"], {"buffers": []})["buffers"])
        if n != got:
            raise media.Failure("observation broken: qtdemux/log tracer saw %d buffers on input %s, "
                                "ffprobe counts %d" % (got, t["pad"], n))
    try:
        res = media.qtdemux_buffers(out["ismv"])
    except media.Failure as e:
        rep.fail("qtdemux reads the output: %s" % e)
        return
    rep.ok(sorted(src) == sorted(res), "qtdemux exposes the same pads: %s" % sorted(src),
           "output: %s" % sorted(res))
    for pad in sorted(src):
        if pad not in res:
            continue
        a, b = src[pad], res[pad]
        kind = pad.split("_")[0]
        keys = ["media", "codec_data"] + (["width", "height"] if kind == "video" else ["rate", "channels"])
        ca = {k: (a["caps"] or {}).get(k) for k in keys}
        cb = {k: (b["caps"] or {}).get(k) for k in keys}
        rep.ok(b["caps"] is not None and ca == cb, "%s caps %s" % (pad, ca), "output caps: %s" % cb)
        ba, bb = a["buffers"], b["buffers"]
        if not rep.ok(len(ba) == len(bb) and len(ba) > 0, "%s buffer count %d" % (pad, len(ba)),
                      "output has %d" % len(bb)):
            continue
        if not rep.ok(b["segment"] is not None, "%s output has a time segment" % pad):
            continue
        bad = [i for i in range(len(ba)) if ba[i]["size"] != bb[i]["size"]]
        rep.ok(not bad, "%s per-buffer sizes identical" % pad,
               "%d differ, first at buffer %d: %d vs %d" % (len(bad), bad[0], ba[bad[0]]["size"], bb[bad[0]]["size"])
               if bad else "")
        bad = [i for i in range(len(ba)) if ba[i]["delta"] != bb[i]["delta"]]
        rep.ok(not bad, "%s delta-unit flags identical (%d keyframes)" % (pad, sum(not x["delta"] for x in ba)),
               "%d differ, first at buffer %s" % (len(bad), bad[:1]))
        rep.ok(not bb[0]["delta"], "%s first buffer is a keyframe" % pad)
        sa = [stream_time(x, a["segment"]) for x in ba]
        sb = [stream_time(x, b["segment"]) for x in bb]
        if not rep.ok(None not in sb, "%s every output buffer has a PTS" % pad):
            continue
        diffs = [abs(x - y) for x, y in zip(sa, sb)]
        worst = max(range(len(diffs)), key=lambda i: diffs[i])
        offsets = sorted(set(y - x for x, y in zip(sa, sb)))
        rep.ok(diffs[worst] <= MS,
               "%s PTS (stream time) within 1 ms of input, worst %.3f ms (output segment start %s time %s)"
               % (pad, diffs[worst] / 1e6, fmt(b["segment"]["start"]), fmt(b["segment"]["time"])),
               "buffer %d: input %s s, output %s s (raw pts %s, segment start %s); %s"
               % (worst, fmt(sa[worst]), fmt(sb[worst]), fmt(bb[worst]["pts"]), fmt(b["segment"]["start"]),
                  "constant offset %s s" % fmt(offsets[0]) if offsets[-1] - offsets[0] <= MS
                  else "offsets range %s..%s s" % (fmt(offsets[0]), fmt(offsets[-1]))))
        dts = [x["dts"] for x in bb]
        rep.ok(None not in dts and all(dts[i] <= dts[i + 1] for i in range(len(dts) - 1)),
               "%s DTS present and non-decreasing" % pad)


def main(argv):
    muxer = media.parse_muxer(argv)
    media.require_elements("qtdemux", "fakesink", "queue")
    media.require_tools("ffprobe")
    media.require_muxer(muxer)
    rep = media.Report("test_qtdemux (muxer=%s)" % muxer)
    media.run_cases(rep, media.parse_cases(argv, media.ALL_CASES), check_case, muxer)
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
