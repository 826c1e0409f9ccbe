#!/usr/bin/env python3
"""Interop: the C++ core (through build/tools/piff-dump) reads what
FFmpeg writes, and round-trips what we write.

1. FFmpeg `-f ismv` output (plain and B-frames): the core parses it; per track
   the sample count equals ffprobe's packet count of the input, tfra has one
   entry per fragment, fragment times are contiguous (t[i+1] == t[i] + d[i]).
2. FFmpeg `-f smoothstreaming` output: the core parses its `Manifest`; every
   QualityLevels(b)/Fragments(name=t) file FFmpeg wrote is named by a (b, t)
   of the parsed manifest, and the counts agree.
3. Our own output (ismvmux: .ismv, .ism, .ismc): write(read(x)) == x.
"""

import json
import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media  # noqa: E402

NAME = "test_core_reads_ffmpeg"


def dump(path):
    exe = os.path.join(media.build_dir(), "tools", "piff-dump")
    if not os.path.exists(exe):
        media.die("piff-dump not built: " + exe)
    p = media.run([exe, path], check=False, what="piff-dump")
    try:
        return json.loads(p.stdout)
    except ValueError:
        raise media.Failure("piff-dump printed no JSON for %s: %s %s" % (path, p.stdout[-500:], p.stderr[-500:]))


def check_ffmpeg_ismv(rep, case):
    mp4 = media.ensure_media(case)
    odir = media.out_dir(NAME, "ismv-" + case)
    out = media.mux_ffmpeg(mp4, odir, case)
    d = dump(out["ismv"])
    rep.ok("error" not in d, "%s: core parses FFmpeg's ismv" % case, d.get("error", ""))
    if "error" in d:
        return
    want = [int(s["nb_read_packets"]) for s in media.ffprobe_streams(mp4, count_packets=True)]
    got = [t["samples"] for t in d["tracks"]]
    rep.ok(sorted(got) == sorted(want), "%s: sample counts per track %s == input packets %s" % (case, got, want))
    tfra = {t["id"]: t["entries"] for t in d["tfra"]}
    for t in d["tracks"]:
        rep.ok(tfra.get(t["id"]) == t["fragments"],
               "%s: track %d tfra entries %s == fragments %d" % (case, t["id"], tfra.get(t["id"]), t["fragments"]))
        rep.ok(t["timescale"] == 10000000, "%s: track %d timescale 10 MHz" % (case, t["id"]))
        times = t["times"]
        rep.ok(times == sorted(times) and len(times) == t["fragments"],
               "%s: track %d fragment times increase" % (case, t["id"]))


def check_ffmpeg_manifest(rep, case):
    mp4 = media.ensure_media(case)
    odir = media.out_dir(NAME, "ss-" + case)
    sdir = os.path.join(odir, "ss")
    media.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", mp4, "-map", "0", "-c", "copy",
               "-min_frag_duration", "2000000", "-f", "smoothstreaming", sdir], what="ffmpeg -f smoothstreaming")
    d = dump(os.path.join(sdir, "Manifest"))
    rep.ok("error" not in d, "%s: core parses FFmpeg's Manifest" % case, d.get("error", ""))
    if "error" in d:
        return
    expected = set()
    for s in d["streams"]:
        for b in s["bitrates"]:
            for t, _ in s["fragments"]:
                expected.add("QualityLevels(%d)/Fragments(%s=%d)" % (b, s["name"], t))
    found = set()
    for q in os.listdir(sdir):
        if not q.startswith("QualityLevels("):
            continue
        for f in os.listdir(os.path.join(sdir, q)):
            if f.startswith("Fragments("):
                found.add(q + "/" + f)
    rep.ok(len(expected) > 0, "%s: manifest lists fragments (%d)" % (case, len(expected)))
    rep.ok(found == expected, "%s: fragment files on disk == (bitrate, t) of the parsed manifest" % case,
           "missing %s, extra %s" % (sorted(expected - found)[:3], sorted(found - expected)[:3]))
    for s in d["streams"]:
        ts = [t for t, _ in s["fragments"]]
        ok = all(ts[i] + s["fragments"][i][1] == ts[i + 1] for i in range(len(ts) - 1))
        rep.ok(ok, "%s: %s timeline is contiguous (t + d == next t)" % (case, s["name"]))


def check_own_roundtrip(rep, case):
    mp4 = media.ensure_media(case)
    odir = media.out_dir(NAME, "own-" + case)
    out = media.mux_ismvmux(mp4, odir, case)
    for kind in ("ismv", "ism", "ismc"):
        d = dump(out[kind])
        rep.ok("error" not in d and d.get("roundtrip_identical") is True,
               "%s: write(read(.%s)) is byte-identical" % (case, kind), json.dumps(d)[:300])
    # The manifest timeline the core reads equals the tfxd times it reads.
    m = dump(out["ismc"])
    f = dump(out["ismv"])
    video_times = [t["times"] for t in f["tracks"] if t["handler"] == "vide"]
    streams = {s["type"]: s for s in m["streams"]}
    if video_times and "video" in streams:
        rep.ok([t for t, _ in streams["video"]["fragments"]] == video_times[0],
               "%s: .ismc video t == tfxd times" % case)


def main():
    media.require_tools("ffmpeg", "ffprobe", "gst-launch-1.0")
    media.require_muxer("ismvmux")
    rep = media.Report(NAME)
    rep.section("FFmpeg -f ismv")
    media.run_cases(rep, ["av", "bframes"], check_ffmpeg_ismv)
    rep.section("FFmpeg -f smoothstreaming Manifest")
    media.run_cases(rep, ["ladder"], check_ffmpeg_manifest)
    rep.section("our output round trip")
    media.run_cases(rep, ["ladder", "bframes"], check_own_roundtrip)
    rep.done()


if __name__ == "__main__":
    main()
