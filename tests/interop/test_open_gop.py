#!/usr/bin/env python3
"""Open GOPs: detected, warned about, and what they do to a player.

x264 with open-gop=1 and B-frames writes GOPs whose first picture in
presentation order is not the keyframe: B-frames that follow the I-frame in
decode order, are presented before it and refer to the previous GOP. A
fragment starting with such a GOP starts with "leading pictures" that a
player starting, seeking or switching bitrate there cannot decode.

Asserts, for real x264 output (GStreamer's x264enc and FFmpeg's libx264):
  - ismvmux posts exactly one "has open GOPs" warning per video track (two
    tracks of an open-GOP ladder: two warnings, not one per fragment);
  - `gst-smooth inspect` reports the open GOPs as one problem per track in
    text and --json, and --json gives every fragment's leading_pictures
    (0 for the first, IDR, fragment; > 0 for the others);
  - closed GOPs with the same B-frames give no warning, no problem and 0
    leading pictures everywhere;
  - the effect, with FFmpeg as the decoder: one open-GOP fragment played on
    its own (init segment + that fragment, as a Smooth player that starts
    there fetches it) decodes to fewer pictures than it has samples; the
    closed-GOP fragment decodes to all of them;
  - inspect finds the open GOPs in FFmpeg's own `-f ismv` file, and ismvmux
    warns for FFmpeg's libx264 open-GOP MP4 (through qtdemux).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boxcheck  # noqa: E402
import media  # noqa: E402

WARNING = "has open GOPs"


def x264(width: int, kbps: int, open_gop: int) -> str:
    return ("queue ! videoscale ! video/x-raw,width=%d,height=%d ! x264enc bitrate=%d key-int-max=24 bframes=3 "
            "option-string=scenecut=0:min-keyint=24:open-gop=%d speed-preset=veryfast ! h264parse ! "
            % (width, width * 9 // 16, kbps, open_gop))


def gst_encode(odir: str, name: str, open_gop: int) -> tuple:
    """5 s 24 fps, two video tracks (a GOP-aligned ladder) into ismvmux with
    1 s fragments. Returns (ismv path, gst-launch output)."""
    out = os.path.join(odir, name + ".ismv")
    cmd = ("gst-launch-1.0 -e videotestsrc num-buffers=120 pattern=smpte ! "
           "video/x-raw,width=640,height=360,framerate=24/1,format=I420 ! tee name=t "
           "t. ! " + x264(320, 300, open_gop) + "mux.video_0 "
           "t. ! " + x264(640, 800, open_gop) + "mux.video_1 "
           "ismvmux name=mux fragment-duration=1000000000 ! filesink location=" + out)
    p = media.run(["sh", "-c", cmd], what="x264 open-gop=%d encode" % open_gop)
    return out, p.stdout + p.stderr


def inspect(path: str) -> tuple:
    tool = os.path.join(media.build_dir(), "tools", "gst-smooth")
    text = media.run([tool, "inspect", path], what="inspect").stdout
    js = json.loads(media.run([tool, "inspect", "--json", path], what="inspect --json").stdout)
    return text, js


def fragment_alone(ismv: str, track_id: int, index: int, out: str) -> int:
    """Writes ftyp + moov + the index-th moof/mdat of a track to `out`;
    returns that fragment's sample count."""
    movie = boxcheck.Movie(ismv)
    frag = movie.track_fragments(track_id)[index]
    f = boxcheck.File(ismv)
    boxes = f.boxes
    init = b"".join(f.data[b.offset:b.offset + b.size] for b in boxes if b.type in ("ftyp", "moov"))
    k = next(i for i, b in enumerate(boxes) if b.type == "moof" and b.offset == frag.moof_offset)
    with open(out, "wb") as fh:
        fh.write(init + f.data[boxes[k].offset:boxes[k + 1].offset + boxes[k + 1].size])
    return len(frag.samples)


def decoded_frames(path: str) -> int:
    p = media.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v:0", "-f", "framemd5", "-"],
                  what="ffmpeg decode", check=False)
    return sum(1 for line in p.stdout.splitlines() if line and not line.startswith("#"))


def check_gst(rep: media.Report) -> None:
    odir = media.out_dir("open_gop", "x264enc")
    for open_gop in (1, 0):
        kind = "open" if open_gop else "closed"
        rep.section("x264enc open-gop=%d bframes=3, two video tracks, 1 s fragments" % open_gop)
        ismv, log = gst_encode(odir, kind, open_gop)
        warnings = [line for line in log.splitlines() if line.startswith("WARNING") and WARNING in line]
        pads = sorted(w.split("Input on ")[1].split()[0] for w in warnings)
        if open_gop:
            rep.ok(pads == ["video_0", "video_1"], "ismvmux: one open-GOP warning per video track",
                   "warnings: %s\n%s" % (warnings, log[-1500:]))
            rep.ok("x264enc option-string=open-gop=0" in log and "so far" in log,
                   "the warning says how many fragments so far and what to do", log[-1500:])
        else:
            rep.ok(not warnings and WARNING not in log, "ismvmux: no open-GOP warning", log[-1500:])
        text, js = inspect(ismv)
        problems = [p for p in js["problems"] if "open GOPs" in p]
        leading = {t["id"]: [f["leading_pictures"] for f in t["fragments"]] for t in js["tracks"]}
        if open_gop:
            rep.ok(len(problems) == 2 and {p.split(":")[0] for p in problems} == {"track 1", "track 2"},
                   "inspect --json: one open-GOP problem per track", str(js["problems"]))
            rep.ok(text.count("open GOPs:") == 2, "inspect text: the same two problems", text[-1500:])
            rep.ok(all(v[0] == 0 and len(v) == 5 and all(n > 0 for n in v[1:]) for v in leading.values()),
                   "inspect --json: leading_pictures 0 for the IDR fragment, > 0 for the 4 open ones",
                   str(leading))
        else:
            rep.ok(not problems and "problems: none" in text, "inspect: no problem", text[-1500:])
            rep.ok(all(n == 0 for v in leading.values() for n in v) and len(leading) == 2,
                   "inspect --json: no leading pictures", str(leading))
        # The effect: a player that starts at fragment 2 (it has the init segment and that fragment).
        alone = os.path.join(odir, kind + "-fragment2.mp4")
        samples = fragment_alone(ismv, 1, 2, alone)
        frames = decoded_frames(alone)
        if open_gop:
            rep.ok(0 < frames < samples, "ffmpeg: an open-GOP fragment alone decodes to fewer pictures than its "
                   "%d samples (%d)" % (samples, frames), "%d of %d" % (frames, samples))
        else:
            rep.ok(frames == samples, "ffmpeg: a closed-GOP fragment alone decodes to all its %d samples" % samples,
                   "%d of %d" % (frames, samples))


def check_ffmpeg(rep: media.Report) -> None:
    rep.section("FFmpeg libx264 -x264-params open-gop=1")
    odir = media.out_dir("open_gop", "ffmpeg")
    enc = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=24:d=5",
           "-c:v", "libx264", "-preset", "veryfast", "-g", "24", "-keyint_min", "24", "-sc_threshold", "0",
           "-x264-params", "open-gop=1"]
    ffismv = os.path.join(odir, "ffmpeg.ismv")
    media.run(enc + ["-f", "ismv", ffismv], what="ffmpeg -f ismv")
    text, js = inspect(ffismv)
    rep.ok(any("open GOPs" in p for p in js["problems"]) and "open GOPs:" in text,
           "inspect: FFmpeg's -f ismv file has open GOPs", str(js["problems"]))
    mp4 = os.path.join(odir, "ffmpeg.mp4")
    media.run(enc + ["-movflags", "+faststart", mp4], what="ffmpeg mp4")
    out = os.path.join(odir, "ours.ismv")
    p = media.run(["gst-launch-1.0", "-e", "filesrc", "location=" + mp4, "!", "qtdemux", "!", "h264parse", "!",
                   "ismvmux", "fragment-duration=1000000000", "!", "filesink", "location=" + out], what="ismvmux")
    log = p.stdout + p.stderr
    n = sum(1 for line in log.splitlines() if line.startswith("WARNING") and WARNING in line)
    rep.ok(n == 1, "ismvmux: one open-GOP warning for FFmpeg's libx264 MP4", log[-1500:])


def main() -> None:
    media.require_tools("ffmpeg", "ffprobe", "gst-launch-1.0")
    media.require_elements("ismvmux", "x264enc", "h264parse", "qtdemux", "videotestsrc", "videoscale", "tee")
    rep = media.Report("test_open_gop")
    for fn in (check_gst, check_ffmpeg):
        try:
            fn(rep)
        except media.Failure as e:
            rep.fail("%s: %s" % (fn.__name__, e))
    rep.done()


if __name__ == "__main__":
    main()
