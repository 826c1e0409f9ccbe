#!/usr/bin/env python3
"""ismvmux with inputs that end at different times.

A track that reaches EOS long before the others (video of 2 s, audio of
12 s; and the reverse) must not stop the fragmenting of the others: when the
reference (first video) track ends, the next running track decides the
fragment boundaries, so the remaining track keeps 2 s fragments instead of
holding every sample until EOS as one huge fragment (unbounded memory in a
live rig). A tail shorter than half a fragment (audio 100 ms longer than
video) joins the last fragment instead of making a tiny one.

Checked with peers we did not write: ffprobe must read every packet of both
tracks (counts equal to the encoded input), qtdemux must output all of them,
and the independent box walker (boxcheck.py) gives the fragment durations.
"""

from __future__ import annotations

import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boxcheck  # noqa: E402
import media  # noqa: E402

SECOND = 10_000_000  # ticks of the 10 MHz timescale


def pipeline(out: str, video_s: float, audio_s: float) -> list:
    # 30 fps, keyframe every 1 s; AAC 48 kHz in 1024-sample frames.
    return ["gst-launch-1.0", "-q"] + (
        "videotestsrc num-buffers=%d ! video/x-raw,width=320,height=180,framerate=30/1 ! "
        "x264enc key-int-max=30 bframes=0 option-string=scenecut=0 speed-preset=ultrafast ! "
        "h264parse ! queue ! mux.video_0 "
        "audiotestsrc num-buffers=%d samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=2 ! "
        "audioconvert ! avenc_aac ! aacparse ! queue ! mux.audio_0 "
        "ismvmux name=mux fragment-duration=2000000000 ! filesink location=%s"
        % (round(video_s * 30), round(audio_s * 10), out)).split()


def check(rep: media.Report, label: str, video_s: float, audio_s: float, exact: bool = True) -> None:
    rep.section("%s: video %g s, audio %g s" % (label, video_s, audio_s))
    out = os.path.join(media.out_dir("uneven_tracks", label), label + ".ismv")
    r = media.run(pipeline(out, video_s, audio_s), timeout=120, check=False)
    if not rep.ok(r.returncode == 0 and os.path.exists(out), "gst-launch muxes to EOS", r.stderr[-2000:]):
        return
    streams = media.ffprobe_streams(out, count_packets=True)
    counts = {s["codec_type"]: int(s.get("nb_read_packets", 0)) for s in streams}
    rep.ok(counts.get("video") == round(video_s * 30), "ffprobe reads all %d video packets" % round(video_s * 30),
           str(counts))
    # 48000 Hz / 1024 per AAC frame; the encoder adds one frame of priming
    # and rounds the tail up: allow a frame either way.
    expect_audio = audio_s * 48000 / 1024
    rep.ok(abs(counts.get("audio", 0) - expect_audio) <= 2,
           "ffprobe reads all audio packets (about %.0f)" % expect_audio, str(counts))
    qt = media.qtdemux_buffers(out)
    qt_counts = {k: len(v["buffers"]) for k, v in qt.items()}
    rep.ok(sum(qt_counts.values()) == counts.get("video", -1) + counts.get("audio", -1),
           "qtdemux outputs as many buffers as ffprobe counts packets", str(qt_counts))

    movie = boxcheck.Movie(out)
    for tid in movie.track_order:
        track = movie.tracks[tid]
        frags = [f for f in movie.fragments if f.track_id == tid]
        durs = [f.duration * SECOND // track.timescale for f in frags]
        seconds = video_s if track.kind == "video" else audio_s
        # 2 s fragments (audio: to the nearest frame); a tail shorter than
        # half a fragment joins the last one instead of standing alone.
        # A track that ends while the reference runs on is cut at the
        # reference's boundaries like any other, so its last fragment may be
        # a short tail (audio-ends-first: 20 ms past the 2 s boundary).
        want = [round(seconds / 2)] if exact else [int(seconds // 2), int(seconds // 2) + 1]
        rep.ok(len(frags) in want, "%s: %d fragments for %g s (%s)" % (track.kind, len(frags), seconds,
                                                                       " or ".join(map(str, want))),
               "durations %s" % durs)
        rep.ok(all(d <= 2.1 * SECOND for d in durs[:-1]) and durs and durs[-1] <= 3.1 * SECOND,
               "%s: fragments of 2 s, the last at most 3 s (%s)" % (track.kind, " ".join("%.2f" % (d / SECOND) for d in durs)),
               "durations %s" % durs)
        tfra = movie.tfra.get(tid, {}).get("entries", [])
        rep.ok(len(tfra) == len(frags), "%s: one tfra entry per fragment" % track.kind)


def main() -> None:
    media.require_tools("ffprobe", "gst-launch-1.0")
    media.require_elements("ismvmux", "x264enc", "avenc_aac", "h264parse", "aacparse", "qtdemux")
    rep = media.Report("test_uneven_tracks")
    check(rep, "video-ends-first", 2, 12)
    check(rep, "audio-ends-first", 12, 2, exact=False)
    # The usual case: audio runs a little past the video (100 ms here).
    check(rep, "audio-a-bit-longer", 10, 10.1)
    rep.done()


if __name__ == "__main__":
    main()
