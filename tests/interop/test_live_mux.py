#!/usr/bin/env python3
"""ismvmux live=true (ingest streams) against peers and the core's reader.

Cases:
  ganged  two gst-launch-1.0 encoders (is-live sources, x264enc, avenc_aac,
          timestamp-mode=clock, fragment-boundaries=clock-grid, 1 s
          fragments, 6 s of media) started 1.3 s apart on one machine: the
          header bytes (ftyp + Live Server Manifest + moov) are identical, and
          every fragment both wrote (each one's last, cut by EOS, aside) has
          the same tfxd time, duration and sample count, read with the core
          (`gst-smooth inspect --json`); video fragments start on whole
          seconds of the clock.
  pertrack one process, one ismvmux per track (one ingest stream per track)
          with the clock grid: each stream has one track in its LSM and moov,
          and the video and audio fragments start in the same grid cells.
  peers   one live ingest file (the docs' example, 3 s): ffprobe counts every
          packet, qtdemux reads every buffer, `gst-smooth inspect` finds no
          problem; the Live Server Manifest lists every track with the params
          FFmpeg's isml writer gives (compared with FFmpeg's own LSM) and a
          trackID per moov track.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boxcheck  # noqa: E402
import media  # noqa: E402

SMIL = "{http://www.w3.org/2001/SMIL20/Language}"
LSM_UUID = bytes.fromhex("a5d40b30e81411ddba2f0800200c9a66")


def inspect(path: str) -> dict:
    tool = os.path.join(media.build_dir(), "tools", "gst-smooth")
    return json.loads(media.run([tool, "inspect", "--json", path], what="gst-smooth inspect").stdout)


def header_bytes(path: str) -> bytes:
    """ftyp + LSM + moov, as boxcheck (not the core) delimits them."""
    f = boxcheck.File(path)
    types = [b.type for b in f.boxes[:3]]
    if types != ["ftyp", "uuid", "moov"]:
        raise media.Failure("%s starts with %s, not ftyp uuid moov" % (path, types))
    return f.data[:f.boxes[2].offset + f.boxes[2].size]


def lsm_tracks(path: str) -> list:
    """[(element, {param: value}, attributes)] of the Live Server Manifest box."""
    data = open(path, "rb").read()
    for b in boxcheck.File(path).boxes:
        if b.type == "uuid" and data[b.offset + 8:b.offset + 24] == LSM_UUID:
            xml = data[b.offset + 28:b.offset + b.size].rstrip(b"\0")
            root = ET.fromstring(xml)
            out = []
            for el in root.iter():
                tag = el.tag.replace(SMIL, "")
                if tag in ("video", "audio"):
                    params = {p.get("name"): p.get("value") for p in el if p.tag.replace(SMIL, "") == "param"}
                    out.append((tag, params, dict(el.attrib)))
            return out
    raise media.Failure("%s has no Live Server Manifest box" % path)


def encoder_cmd(out: str, seconds: int, grid: bool) -> str:
    frames, audio = 30 * seconds, (48000 * seconds) // 1024
    props = "live=true fragment-duration=1000000000"
    if grid:
        props += (" timestamp-mode=clock fragment-boundaries=clock-grid "
                  "video_0::bitrate=400000 audio_0::bitrate=64000")
    return ("gst-launch-1.0 -e videotestsrc is-live=true num-buffers=%d pattern=ball ! "
            "video/x-raw,width=320,height=180,framerate=30/1 ! "
            "x264enc tune=zerolatency key-int-max=1000 speed-preset=ultrafast bitrate=400 ! h264parse ! "
            "ismvmux name=m %s ! filesink location=%s "
            "audiotestsrc is-live=true num-buffers=%d samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=1 ! "
            "avenc_aac ! aacparse ! m.audio_0" % (frames, props, out, audio))


def fragments(js: dict) -> dict:
    """track id -> {time: (duration, samples)}, and the last time per track."""
    out, last = {}, {}
    for t in js["tracks"]:
        out[t["id"]] = {f["time"]: (f["duration"], f["samples"]) for f in t["fragments"]}
        last[t["id"]] = max(out[t["id"]]) if out[t["id"]] else None
    return out, last


def case_ganged(rep: media.Report) -> None:
    odir = media.out_dir("test_live_mux", "ganged")
    paths = [os.path.join(odir, n + ".isml") for n in ("a", "b")]
    procs = []
    for i, p in enumerate(paths):
        if i:
            time.sleep(1.3)
        procs.append(subprocess.Popen(["sh", "-c", encoder_cmd(p, 6, True)], stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, text=True, errors="replace"))
    for p in procs:
        try:
            text, _ = p.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            p.kill()
            raise media.Failure("encoder did not finish in 40 s")
        if p.returncode != 0:
            raise media.Failure("encoder failed (exit %d):\n%s" % (p.returncode, text[-3000:]))
    rep.ok(header_bytes(paths[0]) == header_bytes(paths[1]), "ganged: the two encoders' headers are byte-identical")
    (fa, la), (fb, lb) = (fragments(inspect(p)) for p in paths)
    for track, kind in ((1, "video"), (2, "audio")):
        common = sorted(set(fa[track]) & set(fb[track]) - {la[track], lb[track]})
        differ = [(t, fa[track][t], fb[track][t]) for t in common if fa[track][t] != fb[track][t]]
        rep.ok(len(common) >= 3, "ganged: %s has %d fragments in both outputs (>= 3)" % (kind, len(common)),
               "a: %s b: %s" % (sorted(fa[track]), sorted(fb[track])))
        rep.ok(not differ, "ganged: %s fragments at the same tfxd time have the same duration and sample count"
               % kind, "differ (time, a, b): %s" % differ[:3])
        # Overlap in time means equal times: b's fragments (its first aside)
        # are all a's fragments, and vice versa within a's span.
        inside_a = [t for t in fb[track] if min(fa[track]) <= t < la[track]]
        rep.ok(all(t in fa[track] for t in inside_a),
               "ganged: every %s fragment of b within a's span starts at one of a's fragment times" % kind,
               "b: %s a: %s" % (sorted(fb[track]), sorted(fa[track])))
    rep.ok(all(t % 10000000 == 0 for f in (fa, fb) for t in f[1]), "ganged: video fragments start on whole seconds")


def case_pertrack(rep: media.Report) -> None:
    odir = media.out_dir("test_live_mux", "pertrack")
    v, a = os.path.join(odir, "v.isml"), os.path.join(odir, "a.isml")
    mux = "ismvmux live=true timestamp-mode=clock fragment-boundaries=clock-grid fragment-duration=1000000000"
    cmd = ("gst-launch-1.0 -e videotestsrc is-live=true num-buffers=120 ! video/x-raw,width=320,height=180,framerate=30/1 ! "
           "x264enc tune=zerolatency key-int-max=1000 speed-preset=ultrafast ! h264parse ! %s ! filesink location=%s "
           "audiotestsrc is-live=true num-buffers=188 ! audio/x-raw,rate=48000,channels=1 ! avenc_aac ! aacparse ! "
           "%s ! filesink location=%s" % (mux, v, mux, a))
    media.run(["sh", "-c", cmd], timeout=40, what="per-track encode")
    cells = {}
    for path, kind in ((v, "video"), (a, "audio")):
        js = inspect(path)
        lsm = lsm_tracks(path)
        rep.ok(len(js["tracks"]) == 1 and js["tracks"][0]["kind"] == kind and len(lsm) == 1 and lsm[0][0] == kind
               and int(lsm[0][1]["trackID"]) == js["tracks"][0]["id"],
               "pertrack: the %s stream has one %s track in moov and LSM" % (kind, kind))
        frags = js["tracks"][0]["fragments"]
        cells[kind] = [f["time"] // 10000000 for f in frags]
        rep.ok(len(set(cells[kind])) == len(frags) >= 3, "pertrack: %s fragments, one per grid cell" % kind,
               str(cells[kind]))
    common = set(cells["video"]) & set(cells["audio"])
    rep.ok(len(common) >= 3, "pertrack: video and audio fragments share grid cells", str(cells))


def case_peers(rep: media.Report) -> None:
    odir = media.out_dir("test_live_mux", "peers")
    path = os.path.join(odir, "live.isml")
    out = media.run(["sh", "-c", encoder_cmd(path, 3, False)], timeout=40, what="live encode")
    js = inspect(path)
    rep.ok(js["live_server_manifest"] and not js["problems"] and not js["box_problems"],
           "peers: gst-smooth inspect reads the live file without problems",
           "%s %s" % (js["problems"], js["box_problems"]))
    rep.ok(js["mfra"] is None, "peers: no mfra index in live mode")
    counts = {t["kind"]: t["sample_count"] for t in js["tracks"]}
    rep.ok(counts.get("video") == 90, "peers: 90 video samples (core)", str(counts))
    streams = media.ffprobe_streams(path, count_packets=True)
    probe = {s["codec_type"]: int(s["nb_read_packets"]) for s in streams}
    rep.ok(probe == counts, "peers: ffprobe packet counts equal the core's", "ffprobe %s core %s" % (probe, counts))
    qt = media.qtdemux_buffers(path)
    qcounts = sorted(len(v["buffers"]) for v in qt.values())
    rep.ok(qcounts == sorted(counts.values()), "peers: qtdemux reads every buffer", "%s vs %s" % (qcounts, counts))
    rep.ok("WARNING" not in out.stdout + out.stderr, "peers: no warning from the encoder pipeline",
           (out.stdout + out.stderr)[-1500:])

    # The LSM: every moov track, FFmpeg's isml params, our timescale.
    ours = lsm_tracks(path)
    moov_ids = sorted(t["id"] for t in js["tracks"])
    rep.ok(sorted(int(p["trackID"]) for _, p, _ in ours) == moov_ids, "peers: LSM trackIDs are the moov track IDs")
    theirs = lsm_tracks(media.ensure_ffmpeg_encoded("isml"))
    for kind in ("video", "audio"):
        mine = next((p for k, p, _ in ours if k == kind), None)
        ff = next((p for k, p, _ in theirs if k == kind), None)
        if mine is None or ff is None:
            rep.fail("peers: LSM %s entry missing (ours %s, FFmpeg's %s)" % (kind, mine is not None, ff is not None))
            continue
        # FFmpeg's trackName is <kind>_<lang>; the name itself is free.
        missing = sorted(set(ff) - set(mine))
        rep.ok(not missing, "peers: LSM %s has every param FFmpeg writes" % kind, "missing %s" % missing)
        same = ["FourCC", "BitsPerSample", "PacketSize", "AudioTag"] if kind == "audio" else ["FourCC"]
        rep.ok(all(mine.get(n) == ff.get(n) for n in same), "peers: LSM %s %s as FFmpeg's" % (kind, "/".join(same)),
               "ours %s FFmpeg %s" % ({n: mine.get(n) for n in same}, {n: ff.get(n) for n in same}))
        rep.ok(int(mine["systemBitrate"]) > 0 and mine.get("timescale") == "10000000",
               "peers: LSM %s systemBitrate from the encoder's tag, timescale 10000000" % kind, str(mine))
    video = next(p for k, p, _ in ours if k == "video")
    rep.ok((video["MaxWidth"], video["MaxHeight"], video["DisplayWidth"]) == ("320", "180", "320"),
           "peers: LSM video size", str(video))
    rep.ok(video["CodecPrivateData"].startswith("00000001") and "0000000168" in video["CodecPrivateData"],
           "peers: LSM video CodecPrivateData is Annex-B SPS + PPS")


def main() -> None:
    media.require_muxer("ismvmux")
    media.require_tools("ffprobe", "ffmpeg")
    media.require_elements("x264enc", "avenc_aac", "aacparse", "h264parse", "videotestsrc", "audiotestsrc")
    rep = media.Report("test_live_mux")
    all_cases = ["ganged", "pertrack", "peers"]
    cases = [a for a in sys.argv[1:] if a in all_cases] or all_cases
    for case in cases:
        rep.section(case)
        try:
            {"ganged": case_ganged, "pertrack": case_pertrack, "peers": case_peers}[case](rep)
        except media.Failure as e:
            rep.fail("%s: %s" % (case, e))
    rep.done()


if __name__ == "__main__":
    main()
