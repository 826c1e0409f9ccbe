#!/usr/bin/env python3
"""Interop: GStreamer's Smooth Streaming clients play from `gst-smooth serve`.

The 'ladder' media (3 H.264 bitrates + AAC, 10 s, 240 frames) is packaged with
ismvmux and served by the origin on a free port. Then:
  - playbin (mssdemux) and playbin3 (mssdemux2) play
    http://127.0.0.1:PORT/ladder.ism/Manifest to EOS into fakesinks; every
    video frame and every audio frame is decoded (counted with the `log`
    tracer on an identity in front of each sink, which is synchronous, unlike
    fakesink's last-message), and the demuxer really was mssdemux/mssdemux2;
  - an explicit `souphttpsrc ! mssdemux connection-speed=N bitrate-limit=1`
    pipeline, once per QualityLevel, decodes all 240 frames and the origin's
    request log shows that only that QualityLevel's video fragments (all 5)
    were fetched.
  - an FFmpeg-encoded file whose AAC starts at a negative tfxd (priming):
    every manifest URL answers 200 with tfxd == t, and both clients play
    every frame.
Frame counts are compared with the sample counts of the .ismv tracks, read
with boxcheck.py.
"""

import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import boxcheck
import media
import test_origin


def run_counting(args, timeout=60, stop_after=None):
    """Runs gst-launch-1.0 with the log tracer; returns (exit code, {element: buffers pushed on its src}).
    With stop_after (a live stream that never ends), it gets SIGINT (-e: EOS first) after that many seconds."""
    env = dict(os.environ)
    env["GST_TRACERS"] = "log"
    env["GST_DEBUG"] = "GST_BUFFER:7"
    env["GST_DEBUG_NO_COLOR"] = "1"
    env.pop("GST_DEBUG_FILE", None)
    with tempfile.TemporaryFile("w+", errors="replace") as log:
        if stop_after is None:
            try:
                p = subprocess.run(["gst-launch-1.0", "-q"] + args, stdout=subprocess.PIPE, stderr=log,
                                   timeout=timeout, env=env, text=True, errors="replace")
            except subprocess.TimeoutExpired:
                raise media.Failure("timed out after %d s: gst-launch-1.0 %s" % (timeout, " ".join(args)))
            rc, out = p.returncode, p.stdout
        else:
            p = subprocess.Popen(["gst-launch-1.0", "-q", "-e"] + args, stdout=subprocess.PIPE, stderr=log, env=env,
                                 text=True, errors="replace")
            try:
                p.wait(stop_after)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(10)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
            rc, out = p.returncode, p.stdout.read()
        log.seek(0)
        counts = {}
        errors = []
        for line in log:
            m = re.search(r"do_push_buffer_pre:<([^:>]+):", line)
            if m:
                counts[m.group(1)] = counts.get(m.group(1), 0) + 1
            elif " ERROR " in line:
                errors.append(line.strip())
    return rc, counts, out + "\n".join(errors[:10])


def sink(name):
    return "identity name=%s silent=true ! fakesink sync=false" % name


def new_log_lines(origin, since, settle=0.3):
    time.sleep(settle)  # the last line is written when the response is finished
    return origin.log_lines()[since:]


def check_playbin(rep, origin, element, demuxer, want_video, want_audio, asset="ladder.ism", video_times=5):
    uri = origin.url + asset + "/Manifest"
    since = len(origin.log_lines())
    args = [element, "uri=" + uri, "video-sink=" + sink("vcount"), "audio-sink=" + sink("acount")]
    print("  running: gst-launch-1.0 " + " ".join("'%s'" % a if " " in a else a for a in args))
    t0 = time.time()
    rc, counts, out = run_counting(args)
    dt = time.time() - t0
    rep.ok(rc == 0, "%s plays %s to EOS (%.1f s)" % (element, uri, dt), "exit %d\n%s" % (rc, out[-2000:]))
    used = sorted(k for k in counts if re.match(r"mssdemux", k))
    rep.ok(used == [demuxer], "%s used %s" % (element, demuxer), "demuxers seen: %s" % used)
    rep.ok(counts.get("vcount", 0) == want_video, "every video frame decoded: %d of %d"
           % (counts.get("vcount", 0), want_video))
    rep.ok(counts.get("acount", 0) == want_audio, "every audio frame decoded: %d of %d"
           % (counts.get("acount", 0), want_audio))
    lines = new_log_lines(origin, since)
    frags = [g for g in lines if "/Fragments(" in g[2]]
    video = sorted(set(int(re.search(r"video=(\d+)", g[2]).group(1)) for g in frags if "video=" in g[2]))
    rep.ok(all(g[3] == "200" for g in lines) and any(g[2].endswith("/Manifest") for g in lines)
           and len(video) == video_times,
           "origin log: Manifest + %d fragment requests, all 200, all %d video times (bitrates %s)"
           % (len(frags), video_times, sorted(set(re.search(r"QualityLevels\((\d+)\)", g[2]).group(1) for g in frags))),
           "\n".join(" ".join(x for x in g if x) for g in lines))


def check_forced_bitrate(rep, origin, bitrates, want_video):
    uri = origin.url + "ladder.ism/Manifest"
    for i, b in enumerate(bitrates):
        # connection-speed is in kbit/s; with bitrate-limit=1 mssdemux takes
        # the highest QualityLevel not above it.
        kbps = (b + 999) // 1000
        assert i + 1 == len(bitrates) or kbps * 1000 < bitrates[i + 1]
        since = len(origin.log_lines())
        args = ["souphttpsrc", "location=" + uri, "!", "mssdemux", "connection-speed=%d" % kbps, "bitrate-limit=1.0",
                "name=d", "d.video_00", "!", "queue", "!", "decodebin", "!"] + sink("vcount").split() + \
               ["d.audio_00", "!", "queue", "!", "fakesink", "sync=false"]
        print("  running: gst-launch-1.0 " + " ".join(args))
        rc, counts, out = run_counting(args)
        rep.ok(rc == 0 and counts.get("vcount", 0) == want_video,
               "mssdemux connection-speed=%d: EOS, %d of %d video frames decoded" % (kbps, counts.get("vcount", 0),
                                                                                     want_video),
               "exit %d\n%s" % (rc, out[-2000:]))
        lines = new_log_lines(origin, since)
        video = [g for g in lines if "/Fragments(video=" in g[2]]
        levels = sorted(set(int(re.search(r"QualityLevels\((\d+)\)", g[2]).group(1)) for g in video))
        times = sorted(int(re.search(r"video=(\d+)", g[2]).group(1)) for g in video)
        rep.ok(levels == [b] and len(times) == 5 and len(set(times)) == 5 and all(g[3] == "200" for g in video),
               "  origin log: only QualityLevels(%d) video fragments fetched, each of the 5 once" % b,
               "levels %s, times %s" % (levels, times))


def make_shared_moof_asset(root, src_mp4):
    """An ffmpeg fMP4 whose moofs carry both tracks, with a .ism/.ismc from
    `gst-smooth manifest`: the origin must rewrite each fragment to a moof of
    its own track. Returns (video samples, audio samples, video fragments)."""
    shared = os.path.join(root, "shared.mp4")
    media.make_shared_moof_fmp4(src_mp4, shared)
    media.run([os.path.join(media.build_dir(), "tools", "gst-smooth"), "manifest", "-o",
               os.path.join(root, "shared.ism"), shared], what="gst-smooth manifest")
    movie = boxcheck.Movie(shared)
    moofs = {}
    for f in movie.fragments:
        moofs.setdefault(f.moof_offset, set()).add(f.track_id)
    if not any(len(v) > 1 for v in moofs.values()):
        raise media.Failure("ffmpeg did not put both tracks in one moof")
    kind = {movie.tracks[t].kind: t for t in movie.track_order}
    count = lambda tid: sum(len(f.samples) for f in movie.track_fragments(tid))  # noqa: E731
    return count(kind["video"]), count(kind["audio"]), len(movie.track_fragments(kind["video"]))


def make_ffenc_asset(root):
    """FFmpeg-encoded -f ismv (AAC starting at minus its priming) with a
    .ism/.ismc from `gst-smooth manifest`. Returns the .ismc path."""
    src = media.ensure_ffmpeg_encoded("ismv")
    dst = os.path.join(root, "ffenc.ismv")
    shutil.copyfile(src, dst)
    media.run([os.path.join(media.build_dir(), "tools", "gst-smooth"), "manifest", "-o",
               os.path.join(root, "ffenc.ism"), dst], what="gst-smooth manifest")
    return os.path.join(root, "ffenc.ismc")


def check_negative_start(rep, origin, ismc):
    """Every fragment URL of the manifest resolves, and the tfxd of each
    served fragment equals its manifest time: the timeline the origin
    answers is the file's plus the start offset (audio first at 0, video at
    the priming, 213333)."""
    root = ET.parse(ismc).getroot()
    firsts = {}
    bad = []
    n = 0
    for si in root.findall("StreamIndex"):
        name, url = si.get("Name"), si.get("Url")
        t = None
        for c in si.findall("c"):
            t = int(c.get("t")) if c.get("t") is not None else (t or 0)
            firsts.setdefault(name, t)
            for q in si.findall("QualityLevel"):
                path = "/ffenc.ism/" + url.replace("{bitrate}", q.get("Bitrate")).replace("{start time}", str(t))
                status, _, body = test_origin.request(origin, "GET", path)
                n += 1
                tfxd = None
                i = body.find(bytes.fromhex("6d1d9b0542d544e680e2141daff757b2"))
                if i >= 8 and body[i + 16] == 1:
                    tfxd = struct.unpack(">Q", body[i + 20:i + 28])[0]
                if status != 200 or tfxd != t:
                    bad.append("%s -> %d, tfxd %s" % (path, status, tfxd))
            t += int(c.get("d"))
    rep.ok(firsts.get("audio") == 0 and firsts.get("video") == 213333,
           "manifest: audio starts at 0, video at 213333 (the file's times + the 21.33 ms start offset)", str(firsts))
    rep.ok(n >= 10 and not bad, "all %d fragment URLs of the manifest answer 200 with tfxd == t" % n, "; ".join(bad[:5]))


def main(argv):
    rep = media.Report("test_origin_mss")
    media.require_elements("playbin", "playbin3", "mssdemux", "mssdemux2", "souphttpsrc", "avdec_h264", "avdec_aac")
    root = media.out_dir("origin_mss", "root")
    try:
        out = test_origin.package_ladder(root)
    except media.Failure as e:
        media.die(str(e))
    movie = boxcheck.Movie(out["ismv"])
    samples = {tid: sum(len(f.samples) for f in movie.track_fragments(tid)) for tid in movie.tracks}
    video = [samples[t] for t in movie.tracks if movie.tracks[t].kind == "video"]
    audio = [samples[t] for t in movie.tracks if movie.tracks[t].kind == "audio"]
    if len(set(video)) != 1 or len(audio) != 1:
        media.die("unexpected ladder tracks: video %s audio %s" % (video, audio))
    exp = test_origin.Expected(out["ism"], out["ismc"], out["ismv"])
    bitrates = exp.manifest["streams"][0]["bitrates"]

    shared = make_shared_moof_asset(root, media.ensure_media("ladder"))
    ffenc_ismc = make_ffenc_asset(root)

    origin = test_origin.Origin(root)
    print("origin: %s -> %s" % (" ".join(origin.cmd), origin.url))
    try:
        rep.section("playbin (mssdemux)")
        check_playbin(rep, origin, "playbin", "mssdemux0", video[0], audio[0])
        rep.section("playbin3 (mssdemux2)")
        check_playbin(rep, origin, "playbin3", "mssdemux2-0", video[0], audio[0])
        rep.section("mssdemux connection-speed forcing each QualityLevel %s" % bitrates)
        check_forced_bitrate(rep, origin, bitrates, video[0])
        rep.section("playbin (mssdemux): an ffmpeg fMP4 whose moofs carry both tracks")
        check_playbin(rep, origin, "playbin", "mssdemux0", shared[0], shared[1], "shared.ism", shared[2])
        rep.section("FFmpeg-encoded -f ismv: AAC starting at minus its priming (negative tfxd)")
        check_negative_start(rep, origin, ffenc_ismc)
        check_playbin(rep, origin, "playbin", "mssdemux0", 240, 470, "ffenc.ism", 5)
        check_playbin(rep, origin, "playbin3", "mssdemux2-0", 240, 470, "ffenc.ism", 5)
    except media.Failure as e:
        rep.fail(str(e))
    finally:
        rc, dt = origin.stop()
        rep.ok(rc == 0, "origin stopped by SIGTERM, exit 0")
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
