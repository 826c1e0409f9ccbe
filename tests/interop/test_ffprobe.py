#!/usr/bin/env python3
"""Interop: FFmpeg (libavformat mov demuxer + decoders) reads ismvmux output.

For each media case: mux every track of the input mp4 into one ISMV, then
  - `ffmpeg -map 0 -f null -` decodes every track with exit 0 and nothing
    logged at level error;
  - ffprobe sees the same streams (codec, size, rate, channels), the same
    packet count per track (-count_packets) and the same per-packet sizes and
    key flags (decode order) as in the input;
  - per-track duration (max(pts+duration) - min(pts)) is within one frame
    (video) / one AAC frame (audio) of the input's;
  - presentation times relative to the track's first PTS match the input's
    within 1 ms (a constant PTS shift is allowed: libavformat's mov demuxer
    delays all PTS by the largest negative composition offset of a track).

Options: --muxer ffmpeg (check FFmpeg's own -f ismv output instead), CASE...
"""

import sys
from fractions import Fraction

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import media

MS = Fraction(1, 1000)


def span(pkts):
    start = min(p["pts"] for p in pkts)
    end = max(p["pts"] + (p["duration"] or 0) for p in pkts)
    return start, end - start


def fill_durations(rep, name, pkts, which):
    """ffprobe sometimes reports duration=N/A for a track's first packet (seen on
    FFmpeg's own ismv audio); substitute the PTS distance to the next packet."""
    missing = [i for i, p in enumerate(pkts) if p["duration"] is None]
    for i in missing:
        if i + 1 < len(pkts) and pkts[i + 1]["pts"] is not None and pkts[i]["pts"] is not None:
            pkts[i]["duration"] = pkts[i + 1]["pts"] - pkts[i]["pts"]
        else:
            pkts[i]["duration"] = 0
    if missing:
        rep.note("%s %s: ffprobe gave no duration for packet(s) %s; used PTS distance" % (name, which, missing[:5]))


def frame_tolerance(stream):
    if stream["codec_type"] == "video":
        fr = Fraction(stream.get("avg_frame_rate") or "0/1")
        if fr == 0:
            fr = Fraction(stream.get("r_frame_rate") or "25/1")
        return 1 / fr
    rate = int(stream.get("sample_rate") or 48000)
    return Fraction(1024, rate)


def check_case(rep, muxer, case):
    rep.section("%s: %s" % (case, media.CASES[case]))
    mp4 = media.ensure_media(case)
    out = media.mux(muxer, mp4, media.out_dir("ffprobe", case), case)
    ismv = out["ismv"]
    print("  muxed: " + out["cmd"])

    # 1. every track decodes
    p = media.run(["ffmpeg", "-nostdin", "-v", "error", "-i", ismv, "-map", "0", "-f", "null", "-"],
                  check=False, what="ffmpeg decode")
    errs = p.stderr.strip()
    if p.returncode != 0 or errs:
        q = media.run(["ffmpeg", "-nostdin", "-v", "error", "-i", mp4, "-map", "0", "-f", "null", "-"],
                      check=False, what="ffmpeg decode input")
        errs += "\n(input decodes %s)" % ("cleanly" if q.returncode == 0 and not q.stderr.strip()
                                         else "with errors too: " + q.stderr.strip()[:500])
    rep.ok(p.returncode == 0 and not p.stderr.strip(),
           "ffmpeg -map 0 -f null decodes all tracks without errors",
           "exit %d, stderr: %s" % (p.returncode, errs[:2000]))

    # 2. streams and packets
    in_streams = media.ffprobe_streams(mp4, count_packets=True)
    out_streams = media.ffprobe_streams(ismv, count_packets=True)
    in_tracks = media.track_pads(in_streams)
    out_tracks = media.track_pads(out_streams)
    if not rep.ok([t["pad"] for t in in_tracks] == [t["pad"] for t in out_tracks],
                  "same tracks (by kind, in order): %s" % [t["pad"] for t in in_tracks],
                  "output has %s" % [t["pad"] for t in out_tracks]):
        return
    in_pk = media.ffprobe_packets(mp4)
    out_pk = media.ffprobe_packets(ismv)
    for it, ot in zip(in_tracks, out_tracks):
        s_in, s_out = it["stream"], ot["stream"]
        name = it["pad"]
        keys = ["codec_name"] + (["width", "height"] if it["kind"] == "video" else ["sample_rate", "channels"])
        a = {k: s_in.get(k) for k in keys}
        b = {k: s_out.get(k) for k in keys}
        rep.ok(a == b, "%s stream parameters %s" % (name, a), "output: %s" % b)
        n_in, n_out = int(s_in.get("nb_read_packets", -1)), int(s_out.get("nb_read_packets", -2))
        rep.ok(n_in == n_out, "%s packet count (-count_packets) %d" % (name, n_in), "output has %d" % n_out)
        pi, po = in_pk[it["index"]], out_pk[ot["index"]]
        if not rep.ok(len(pi) == len(po) and len(pi) > 0, "%s -show_entries packet count %d" % (name, len(pi)),
                      "output has %d" % len(po)):
            continue
        if not rep.ok(all(p["pts"] is not None for p in po), "%s every output packet has a PTS" % name):
            continue
        fill_durations(rep, name, pi, "input")
        fill_durations(rep, name, po, "output")
        bad = [i for i, (x, y) in enumerate(zip(pi, po)) if x["size"] != y["size"]]
        rep.ok(not bad, "%s per-packet sizes identical (decode order)" % name,
               "%d differ, first at packet %s: %s vs %s" % (len(bad), bad[:1], bad and pi[bad[0]]["size"],
                                                             bad and po[bad[0]]["size"]))
        kin = [i for i, x in enumerate(pi) if x["key"]]
        kout = [i for i, x in enumerate(po) if x["key"]]
        rep.ok(kin == kout, "%s key packets at the same positions (%d keys)" % (name, len(kin)),
               "input %s..., output %s..." % (kin[:8], kout[:8]))
        tol = frame_tolerance(s_in)
        st_in, d_in = span(pi)
        st_out, d_out = span(po)
        rep.ok(abs(d_in - d_out) <= tol,
               "%s duration %.6f s vs input %.6f s (tolerance %.6f s)" % (name, d_out, d_in, tol),
               "differs by %.6f s" % (d_out - d_in))
        rel_in = [x["pts"] - st_in for x in pi]
        rel_out = [x["pts"] - st_out for x in po]
        worst = max(range(len(pi)), key=lambda i: abs(rel_in[i] - rel_out[i]))
        err = abs(rel_in[worst] - rel_out[worst])
        rep.ok(err <= MS, "%s relative PTS within 1 ms of input (worst %.3f ms; first PTS in %.6f out %.6f)"
               % (name, err * 1000, st_in, st_out),
               "packet %d: input %.6f s, output %.6f s" % (worst, rel_in[worst], rel_out[worst]))
        # DTS must be non-decreasing in the output
        dts = [x["dts"] for x in po]
        rep.ok(all(dts[i] <= dts[i + 1] for i in range(len(dts) - 1)) if None not in dts else False,
               "%s DTS non-decreasing" % name)


def main(argv):
    muxer = media.parse_muxer(argv)
    media.require_tools("ffmpeg", "ffprobe")
    media.require_muxer(muxer)
    rep = media.Report("test_ffprobe (muxer=%s)" % muxer)
    media.run_cases(rep, media.parse_cases(argv, media.ALL_CASES), check_case, muxer)
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
