#!/usr/bin/env python3
"""Interop: the gst-smooth command-line tool (inspect, manifest) against
peers we did not write.

inspect FILE --json, on files written by three different muxers (ismvmux,
FFmpeg `-f ismv`, GStreamer's ismlmux):
  - tracks (kind, size, rate, channels) and per-track sample counts equal
    ffprobe's view of the same file;
  - fragment counts, times and sizes equal those of boxcheck.py (an
    independent Python box walker), and the tfra entry count where there is
    an mfra; with --samples every sample size/duration/CTO equals boxcheck's;
  - the box tree lists every box boxcheck finds, at the same offset and size,
    with PIFF uuid boxes named (tfxd);
  - problems are empty for these good files; a copy with one tfra offset
    flipped, a copy with its tail cut off and a file whose two video tracks
    have different GOPs report the problem (exit 0; exit 1 with --strict);
    garbage, empty, missing and cut-in-moov inputs exit 1 with a message.
inspect on the .ism/.ismc ismvmux wrote: levels, bitrates and timeline equal
the XML (parsed here with ElementTree); every fragment URL resolves.
manifest -o x.ism FILE...:
  - one file per bitrate (each ladder rendition muxed on its own, audio in an
    .isma): the .ismc has 3 video levels + 1 audio level whose sizes match
    ffprobe, a timeline equal to each file's tfxd times/durations (boxcheck),
    bitrates equal to the ones ismvmux measured muxing all renditions into one
    file; the .ism src (relative to the .ism), trackID, systemBitrate and
    clientManifestRelativePath match; the result loads as a presentation;
  - a multi-track file: the .ismc is byte-identical to the one ismvmux wrote;
  - renditions with different GOPs: the misalignment is reported on stderr,
    naming both files; --strict exits 1 and writes nothing;
  - --ismc PATH; bad inputs exit 1 (2 for usage errors) with a message.
"""

import json
import os
import struct
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boxcheck  # noqa: E402
import media  # noqa: E402

NAME = "test_cli"
SMIL = "{http://www.w3.org/2001/SMIL20/Language}"


def tool():
    exe = os.path.join(media.build_dir(), "tools", "gst-smooth")
    if not os.path.exists(exe):
        media.die("gst-smooth not built: " + exe)
    return exe


def gst_smooth(*args, timeout=60):
    return media.run([tool()] + list(args), timeout=timeout, check=False, what="gst-smooth " + args[0])


def inspect_json(path, *extra):
    p = gst_smooth("inspect", path, "--json", *extra)
    if p.returncode != 0:
        raise media.Failure("inspect %s exited %d: %s" % (path, p.returncode, p.stderr[-2000:]))
    try:
        return json.loads(p.stdout)
    except ValueError as e:
        raise media.Failure("inspect %s --json printed no JSON (%s): %s" % (path, e, p.stdout[:500]))


def no_crash(rep, p, what):
    """Exit 1 (not a signal, not 0) and a message on stderr."""
    rep.ok(p.returncode == 1, "%s: exit 1 (got %d)" % (what, p.returncode), p.stderr[-500:])
    rep.ok(p.stderr.strip() != "", "%s: error message on stderr" % what, p.stderr.strip()[:200])
    if p.stderr.strip():
        rep.note("%s: %s" % (what, p.stderr.strip().splitlines()[0][:200]))


def flatten(boxes, out):
    for b in boxes:
        out.append((b["offset"], b["size"], b["type"], b.get("name", b["type"])))
        flatten(b.get("children", []), out)
    return out


def frag_time(fr):
    if fr.tfxd is not None:
        return fr.tfxd["time"]
    return fr.tfdt


# ---------------------------------------------------------------- inspect media

def check_inspect_media(rep, label, path, samples=False):
    d = inspect_json(path, *(["--samples"] if samples else []))
    rep.ok(d["type"] == "media", "%s: inspected as media" % label)
    movie = boxcheck.Movie(path)
    streams = media.ffprobe_streams(path, count_packets=True)

    # Tracks vs ffprobe (same file order).
    kinds = [t["kind"] for t in d["tracks"]]
    rep.ok(kinds == [s["codec_type"] for s in streams],
           "%s: track kinds %s == ffprobe %s" % (label, kinds, [s["codec_type"] for s in streams]))
    for t, s in zip(d["tracks"], streams):
        tl = "%s track %d" % (label, t["id"])
        rep.ok(t["sample_count"] == int(s["nb_read_packets"]),
               "%s: %d samples == ffprobe packets %s" % (tl, t["sample_count"], s["nb_read_packets"]))
        if t["kind"] == "video":
            rep.ok((t["width"], t["height"]) == (s["width"], s["height"]),
                   "%s: %dx%d == ffprobe" % (tl, t["width"], t["height"]))
            rep.ok(t["codec"].startswith("avc1.") and t["fourcc"] == "H264", "%s: codec %s, FourCC %s"
                   % (tl, t["codec"], t["fourcc"]))
        else:
            rep.ok((t["sample_rate"], t["channels"]) == (int(s["sample_rate"]), s["channels"]),
                   "%s: %d Hz %d ch == ffprobe" % (tl, t["sample_rate"], t["channels"]))
            rep.ok(t["codec"] == "mp4a.40.2" and t["fourcc"] == "AACL", "%s: codec %s" % (tl, t["codec"]))
        rep.ok(t["timescale"] == movie.tracks[t["id"]].timescale, "%s: timescale %d" % (tl, t["timescale"]))

        # Fragments vs boxcheck.
        frs = movie.track_fragments(t["id"])
        rep.ok(t["fragment_count"] == len(frs) == len(t["fragments"]),
               "%s: %d fragments == boxcheck %d" % (tl, t["fragment_count"], len(frs)))
        rep.ok([f["time"] for f in t["fragments"]] == [frag_time(f) for f in frs],
               "%s: fragment times == boxcheck tfxd/tfdt times" % tl)
        rep.ok([f["duration"] for f in t["fragments"]] == [f.duration for f in frs],
               "%s: fragment durations == boxcheck" % tl)
        rep.ok([(f["offset"], f["moof_size"]) for f in t["fragments"]] == [(f.moof_offset, f.moof_size) for f in frs],
               "%s: moof offsets and sizes == boxcheck" % tl)
        rep.ok([f["size"] for f in t["fragments"]] == [f.mdat.end - f.moof_offset for f in frs],
               "%s: fragment sizes (moof+mdat) == boxcheck" % tl)
        rep.ok([f["samples"] for f in t["fragments"]] == [len(f.samples) for f in frs],
               "%s: samples per fragment == boxcheck" % tl)
        if t["kind"] == "video":
            rep.ok(all(f["keyframe"] for f in t["fragments"]), "%s: every fragment starts with a keyframe" % tl)
        if movie.tfra:
            want = len(movie.tfra[t["id"]]["entries"]) if t["id"] in movie.tfra else None
            rep.ok(t["tfra_entries"] == want == t["fragment_count"],
                   "%s: tfra entries %s == boxcheck %s == fragments" % (tl, t["tfra_entries"], want))
        else:
            rep.ok(t["tfra_entries"] is None and d["mfra"] is None, "%s: no mfra reported (none in the file)" % tl)
        if samples:
            ours = [(x["size"], x["duration"], x["cto"], x["sync"], x["offset"])
                    for f in t["fragments"] for x in f["sample_list"]]
            theirs = [(x["size"], x["duration"], x["cto"], x["sync"], x["offset"]) for f in frs for x in f.samples]
            rep.ok(ours == theirs, "%s: --samples: %d samples (size, duration, cto, sync, offset) == boxcheck"
                   % (tl, len(ours)))

    # Box tree vs boxcheck: every box it finds, same offset/size/type.
    ours = flatten(d["boxes"], [])
    ours_keys = {(o, s, t) for o, s, t, _ in ours}
    theirs = []

    def walk(bs):
        for b in bs:
            theirs.append((b.offset, b.size, b.type))
            walk(b.children)
    walk(movie.file.boxes)
    missing = [x for x in theirs if x not in ours_keys]
    rep.ok(not missing and len(theirs) > 10, "%s: box tree has all %d boxes boxcheck lists (%d in ours)"
           % (label, len(theirs), len(ours)), "missing %s" % missing[:5])
    rep.ok([(b["offset"], b["size"], b["type"]) for b in d["boxes"]]
           == [(b.offset, b.size, b.type) for b in movie.file.boxes], "%s: top-level boxes == boxcheck" % label)
    tfxd_box = [x for x in ours if x[2] == "uuid" and x[3] == "tfxd"]
    tfxd_check = [b for b in theirs if b[2] == "uuid"]
    if any(f.tfxd for f in movie.fragments):
        rep.ok(len(tfxd_box) == len(movie.fragments), "%s: %d uuid boxes named tfxd (one per traf)"
               % (label, len(tfxd_box)), "uuid boxes: %s" % tfxd_check[:3])
    rep.ok(d["problems"] == [] and d["box_problems"] == [], "%s: no problems" % label,
           "%s %s" % (d["problems"], d["box_problems"]))
    p = gst_smooth("inspect", path)
    rep.ok(p.returncode == 0 and "problems: none" in p.stdout and "tracks:" in p.stdout,
           "%s: text output, exit 0, 'problems: none'" % label, p.stderr[-300:])
    return d


def mux_ismlmux(mp4, odir, name):
    out = os.path.join(odir, name + ".ismv")
    args = ["gst-launch-1.0", "-q", "-e", "filesrc", "location=" + mp4, "!", "qtdemux", "name=d"]
    for t in media.track_pads(media.ffprobe_streams(mp4)):
        parser = "h264parse" if t["kind"] == "video" else "aacparse"
        args += ["d." + t["pad"], "!", "queue", "!", parser, "!", "mux." + t["pad"]]
    args += ["ismlmux", "name=mux", "fragment-duration=2000", "!", "filesink", "location=" + out]
    media.run(args, what="ismlmux pipeline")
    return out


def case_inspect_muxers(rep, case):
    mp4 = media.ensure_media(case)
    odir = media.out_dir(NAME, "inspect-" + case)
    ours = media.mux_ismvmux(mp4, odir, case)
    rep.section("inspect %s: ismvmux" % case)
    check_inspect_media(rep, "ismvmux/" + case, ours["ismv"], samples=(case == "bframes"))
    if case == "ladder":
        return
    rep.section("inspect %s: ffmpeg -f ismv" % case)
    ff = media.mux_ffmpeg(mp4, media.out_dir(NAME, "inspect-ff-" + case), case)
    check_inspect_media(rep, "ffmpeg/" + case, ff["ismv"], samples=(case == "bframes"))
    if case == "av":
        rep.section("inspect %s: ismlmux" % case)
        check_inspect_media(rep, "ismlmux/" + case, mux_ismlmux(mp4, odir, "isml"))


def case_inspect_bad(rep, case):
    rep.section("inspect: damaged and invalid inputs")
    mp4 = media.ensure_media("av")
    odir = media.out_dir(NAME, "bad")
    src = media.mux_ismvmux(mp4, odir, "av")["ismv"]
    f = boxcheck.File(src)
    data = bytearray(f.data)

    # 1. One tfra entry points 100 bytes past its moof.
    tfra = f.top("mfra")[0].find("tfra")[0]
    info = boxcheck.parse_tfra(tfra)
    if info["version"] != 1 or len(info["entries"]) < 2:
        raise media.Failure("unexpected tfra layout %s" % info)
    track_id = info["track_id"]
    entry = tfra.payload_offset + 16 + 19  # fullbox, track_ID, lengths, count; entry 1 (v1: 8+8+3 bytes)
    old = struct.unpack_from(">Q", data, entry + 8)[0]
    struct.pack_into(">Q", data, entry + 8, old + 100)
    bad_tfra = os.path.join(odir, "bad_tfra.ismv")
    with open(bad_tfra, "wb") as fh:
        fh.write(data)
    d = inspect_json(bad_tfra)
    hit = [p for p in d["problems"] if "tfra" in p and str(old + 100) in p and str(old) in p]
    rep.ok(len(hit) == 1, "flipped tfra offset reported (track %d, %d -> %d)" % (track_id, old, old + 100),
           str(d["problems"]))
    p = gst_smooth("inspect", "--strict", bad_tfra)
    rep.ok(p.returncode == 1 and "problem" in p.stderr, "flipped tfra offset: --strict exits 1",
           "exit %d %s" % (p.returncode, p.stderr[-200:]))

    # 2. The tail cut off inside the last mdat (mfra gone too).
    last_mdat = [b for b in f.boxes if b.type == "mdat"][-1]
    cut = os.path.join(odir, "truncated.ismv")
    with open(cut, "wb") as fh:
        fh.write(f.data[:last_mdat.offset + last_mdat.size // 2])
    d = inspect_json(cut)
    rep.ok(any("cut off" in p or "truncated" in p for p in d["problems"]),
           "truncated tail reported", str(d["problems"]))
    rep.ok(any(str(last_mdat.offset) in p for p in d["box_problems"]),
           "truncated tail: box tree names the cut mdat at %d" % last_mdat.offset, str(d["box_problems"]))
    n_frags = sum(t["fragment_count"] for t in d["tracks"])
    rep.ok(n_frags == len(boxcheck.Movie(src).fragments) - 1,
           "truncated tail: the index keeps the %d complete fragments" % n_frags)
    p = gst_smooth("inspect", "--strict", cut)
    rep.ok(p.returncode == 1, "truncated tail: --strict exits 1", "exit %d" % p.returncode)

    # 3. Unreadable inputs.
    moov = f.top("moov")[0]
    cut_moov = os.path.join(odir, "cut_in_moov.ismv")
    with open(cut_moov, "wb") as fh:
        fh.write(f.data[:moov.offset + moov.size // 2])
    garbage = os.path.join(odir, "garbage.bin")
    with open(garbage, "wb") as fh:
        fh.write(bytes((i * 7919 + 13) % 251 for i in range(20000)))
    empty = os.path.join(odir, "empty.ismv")
    open(empty, "wb").close()
    badxml = os.path.join(odir, "bad.ismc")
    with open(badxml, "w") as fh:
        fh.write('<SmoothStreamingMedia MajorVersion="2" TimeScale="abc"><StreamIndex')
    for label, path in [("cut inside moov", cut_moov), ("garbage", garbage), ("empty file", empty),
                        ("missing file", os.path.join(odir, "nope.ismv")), ("directory", odir),
                        ("broken client manifest", badxml)]:
        for extra in ([], ["--json"]):
            p = gst_smooth("inspect", path, *extra)
            no_crash(rep, p, "inspect %s%s" % (label, " --json" if extra else ""))
    p = gst_smooth("inspect")
    rep.ok(p.returncode == 2 and "usage" in p.stderr, "inspect without FILE: usage, exit 2")
    p = gst_smooth("inspect", src, "--bogus")
    rep.ok(p.returncode == 2, "inspect --bogus: exit 2")

    # 4. Two video tracks with different GOPs in one file (ismvmux warns and
    #    keeps going): the boundaries differ from the second fragment on.
    mis = os.path.join(odir, "misaligned.ismv")
    enc = ("x264enc bitrate=%d key-int-max=%d bframes=0 option-string=scenecut=0:min-keyint=%d "
           "speed-preset=veryfast ! h264parse")
    pipe = (media.RAW_VIDEO + "tee name=t t. ! queue ! " + enc % (300, 48, 48) + " ! mux.video_0 "
            "t. ! queue ! videoscale ! video/x-raw,width=320,height=180 ! " + enc % (200, 36, 36) +
            " ! mux.video_1 ismvmux name=mux ! filesink location=" + mis)
    media.run(["sh", "-c", "gst-launch-1.0 -q -e " + pipe], what="misaligned ladder")
    d = inspect_json(mis)
    hit = [p for p in d["problems"] if "not aligned" in p]
    rep.ok(len(hit) >= 1, "different GOPs in one file: misaligned boundaries reported", str(d["problems"]))
    if hit:
        rep.note(hit[0])


# ---------------------------------------------------------------- inspect manifests

def parse_ismc(path):
    root = ET.parse(path).getroot()
    streams = []
    for si in root.findall("StreamIndex"):
        times = []
        t = None
        for c in si.findall("c"):
            d = int(c.get("d"))
            if c.get("t") is not None:
                t = int(c.get("t"))
            elif t is None:
                t = 0
            for _ in range(int(c.get("r", "1"))):
                times.append((t, d))
                t += d
        streams.append({"type": si.get("Type"), "name": si.get("Name"), "url": si.get("Url"),
                        "levels": [dict(q.attrib) for q in si.findall("QualityLevel")], "times": times})
    return root, streams


def parse_ism(path):
    root = ET.parse(path).getroot()
    meta = {m.get("name"): m.get("content") for m in root.iter(SMIL + "meta")}
    tracks = []
    for el in root.find(SMIL + "body").find(SMIL + "switch"):
        params = {p.get("name"): p.get("value") for p in el.findall(SMIL + "param")}
        tracks.append({"kind": el.tag.replace(SMIL, ""), "src": el.get("src"),
                       "bitrate": int(el.get("systemBitrate")), "params": params})
    return meta, tracks


def case_inspect_manifests(rep, case):
    rep.section("inspect: .ismc and .ism written by ismvmux")
    mp4 = media.ensure_media("ladder")
    odir = media.out_dir(NAME, "manifests")
    out = media.mux_ismvmux(mp4, odir, "ladder")
    _, streams = parse_ismc(out["ismc"])
    d = inspect_json(out["ismc"])
    rep.ok(d["type"] == "client_manifest", "ismc: inspected as a client manifest")
    got = [(s["type"], s["name"], [q["bitrate"] for q in s["quality_levels"]], s["fragment_count"])
           for s in d["manifest"]["streams"]]
    want = [(s["type"], s["name"], [int(q["Bitrate"]) for q in s["levels"]], len(s["times"])) for s in streams]
    rep.ok(got == want, "ismc: streams, bitrates and fragment counts == XML", "%s vs %s" % (got, want))
    for s, x in zip(d["manifest"]["streams"], streams):
        expanded = []
        for c in s["timeline"]:
            expanded += [(c["t"] + i * c["d"], c["d"]) for i in range(c["r"])]
        rep.ok(expanded == x["times"], "ismc: %s timeline == XML c elements" % s["name"])
    rep.ok(d["problems"] == [], "ismc: no problems", str(d["problems"]))

    d = inspect_json(out["ism"])
    rep.ok(d["type"] == "server_manifest" and d["client_manifest_source"] == "file",
           "ism: server manifest, client manifest read from %s" % d.get("client_manifest_path"))
    _, tracks = parse_ism(out["ism"])
    got = [(t["kind"], t["bitrate"], t["track_id"]) for t in d["tracks"]]
    want = [(t["kind"], t["bitrate"], int(t["params"]["trackID"])) for t in tracks]
    rep.ok(got == want, "ism: tracks (kind, systemBitrate, trackID) == XML", "%s vs %s" % (got, want))
    n_urls = sum(len(s["levels"]) * len(s["times"]) for s in streams)
    rep.ok(d["fragment_urls"] == n_urls, "ism: all %d fragment URLs resolve to media bytes" % n_urls,
           "resolved %d" % d["fragment_urls"])
    rep.ok(d["problems"] == [], "ism: no problems", str(d["problems"]))
    p = gst_smooth("inspect", out["ism"])
    rep.ok(p.returncode == 0 and "problems: none" in p.stdout, "ism: text output")


# ---------------------------------------------------------------- manifest

def mux_one_pad(mp4, pad, path):
    parser = "h264parse" if pad.startswith("video") else "aacparse"
    media.run(["gst-launch-1.0", "-q", "-e", "filesrc", "location=" + mp4, "!", "qtdemux", "name=d",
               "d." + pad, "!", "queue", "!", parser, "!", "ismvmux", "!", "filesink", "location=" + path],
              what="ismvmux " + pad)


def case_manifest_per_bitrate(rep, case):
    rep.section("manifest: one file per bitrate")
    mp4 = media.ensure_media("ladder")
    odir = media.out_dir(NAME, "per-bitrate")
    files = []
    for i in range(3):
        files.append(os.path.join(odir, "v%d.ismv" % i))
        mux_one_pad(mp4, "video_%d" % i, files[-1])
    files.append(os.path.join(odir, "a.isma"))
    mux_one_pad(mp4, "audio_0", files[-1])
    ism = os.path.join(odir, "pub", "x.ism")
    p = gst_smooth("manifest", "-o", ism, *files)
    rep.ok(p.returncode == 0, "manifest -o pub/x.ism v0 v1 v2 a.isma: exit 0", p.stderr[-1000:])
    rep.ok("not aligned" not in p.stderr and "warning" not in p.stderr, "aligned inputs: no warnings",
           p.stderr[-500:])
    ismc = os.path.join(odir, "pub", "x.ismc")
    if not (os.path.exists(ism) and os.path.exists(ismc)):
        raise media.Failure("manifest did not write %s and %s" % (ism, ismc))

    _, streams = parse_ismc(ismc)
    rep.ok([s["type"] for s in streams] == ["video", "audio"], "ismc: a video and an audio StreamIndex")
    video, audio = streams[0], streams[1]
    rep.ok(len(video["levels"]) == 3 and len(audio["levels"]) == 1, "ismc: 3 video levels, 1 audio level")
    sizes = []
    for path in files[:3]:
        s = media.ffprobe_streams(path)[0]
        sizes.append((s["width"], s["height"]))
    got = [(int(q["MaxWidth"]), int(q["MaxHeight"])) for q in video["levels"]]
    rep.ok(got == sizes, "ismc: level sizes %s == ffprobe of each file %s" % (got, sizes))
    rep.ok(all(q["CodecPrivateData"].startswith("00000001") for q in video["levels"]),
           "ismc: H.264 CodecPrivateData in Annex-B form")
    for st, path in [(video, files[0]), (audio, files[3])]:
        frs = boxcheck.Movie(path).track_fragments(1)
        want = [(f.tfxd["time"], f.tfxd["duration"]) for f in frs]
        rep.ok(st["times"] == want, "ismc: %s timeline == tfxd of %s (%d fragments)"
               % (st["name"], os.path.basename(path), len(want)))
    for path in files[1:3]:
        frs = boxcheck.Movie(path).track_fragments(1)
        rep.ok([f.tfxd["time"] for f in frs] == [t for t, _ in video["times"]],
               "inputs aligned: %s has the same fragment times" % os.path.basename(path))

    # Cross-check the bitrates with what ismvmux measured for the same tracks
    # muxed into one file.
    one = media.mux_ismvmux(mp4, odir, "ladder")
    _, one_streams = parse_ismc(one["ismc"])
    rep.ok([q["Bitrate"] for s in streams for q in s["levels"]]
           == [q["Bitrate"] for s in one_streams for q in s["levels"]],
           "bitrates == ismvmux's for the same tracks in one file")

    meta, tracks = parse_ism(ism)
    rep.ok(meta.get("clientManifestRelativePath") == "x.ismc", "ism: clientManifestRelativePath x.ismc",
           str(meta))
    rep.ok([t["src"] for t in tracks] == ["../v0.ismv", "../v1.ismv", "../v2.ismv", "../a.isma"],
           "ism: src relative to the .ism: %s" % [t["src"] for t in tracks])
    rep.ok(all(t["params"].get("trackID") == "1" for t in tracks), "ism: trackID 1 in every file")
    want = [int(q["Bitrate"]) for q in video["levels"]] + [int(audio["levels"][0]["Bitrate"])]
    rep.ok([t["bitrate"] for t in tracks] == want, "ism: systemBitrate == ismc Bitrate per track")
    rep.ok([t["params"].get("trackName") for t in tracks] == ["video"] * 3 + ["audio"], "ism: trackName")
    d = inspect_json(ism)
    rep.ok(d["problems"] == [] and d["fragment_urls"] == 4 * len(video["times"]),
           "the written .ism loads as a presentation; %d URLs resolve" % d["fragment_urls"], str(d["problems"]))

    # --ismc elsewhere.
    ism2 = os.path.join(odir, "out", "y.ism")
    p = gst_smooth("manifest", "--ismc", os.path.join(odir, "out", "client", "y-client.ismc"), "-o", ism2, files[0])
    meta, tracks = parse_ism(ism2) if p.returncode == 0 else ({}, [])
    rep.ok(p.returncode == 0 and meta.get("clientManifestRelativePath") == "client/y-client.ismc"
           and os.path.exists(os.path.join(odir, "out", "client", "y-client.ismc")),
           "--ismc out/client/y-client.ismc: written, referenced relatively", p.stderr[-300:] + str(meta))

    # Bad inputs.
    garbage = os.path.join(odir, "garbage.ismv")
    with open(garbage, "wb") as fh:
        fh.write(b"\x00\x00\x00\x10ftypabcd" + bytes(range(256)) * 10)
    no_crash(rep, gst_smooth("manifest", "-o", os.path.join(odir, "g.ism"), files[0], garbage), "manifest with garbage")
    no_crash(rep, gst_smooth("manifest", "-o", os.path.join(odir, "m.ism"), os.path.join(odir, "missing.ismv")),
             "manifest with a missing file")
    rep.ok(not os.path.exists(os.path.join(odir, "g.ism")), "manifest with garbage: no .ism written")
    p = gst_smooth("manifest", files[0])
    rep.ok(p.returncode == 2 and "-o" in p.stderr, "manifest without -o: exit 2")


def case_manifest_multitrack(rep, case):
    rep.section("manifest: one multi-track file")
    mp4 = media.ensure_media("ladder")
    odir = media.out_dir(NAME, "multitrack")
    one = media.mux_ismvmux(mp4, odir, "ladder")
    ism = os.path.join(odir, "again", "ladder.ism")
    p = gst_smooth("manifest", "-o", ism, one["ismv"])
    rep.ok(p.returncode == 0 and p.stderr == "", "manifest -o again/ladder.ism ladder.ismv: exit 0, no warnings",
           p.stderr[-500:])
    with open(one["ismc"]) as a, open(os.path.join(odir, "again", "ladder.ismc")) as b:
        rep.ok(a.read() == b.read(), ".ismc byte-identical to the one ismvmux wrote")
    _, tracks = parse_ism(ism)
    _, ref = parse_ism(one["ism"])
    rep.ok([(t["kind"], t["bitrate"], t["params"]) for t in tracks] == [(t["kind"], t["bitrate"], t["params"])
                                                                           for t in ref]
           and all(t["src"] == "../ladder.ismv" for t in tracks),
           ".ism: same entries as ismvmux's, src ../ladder.ismv")


def case_manifest_misaligned(rep, case):
    rep.section("manifest: renditions with different GOPs")
    odir = media.out_dir(NAME, "misaligned")
    files = []
    for gop, kbps in [(48, 300), (36, 200)]:
        path = os.path.join(odir, "gop%d.ismv" % gop)
        media.run(["sh", "-c", "gst-launch-1.0 -q -e " + media.RAW_VIDEO +
                   "x264enc bitrate=%d key-int-max=%d bframes=0 option-string=scenecut=0:min-keyint=%d "
                   "speed-preset=veryfast ! h264parse ! ismvmux ! filesink location=%s" % (kbps, gop, gop, path)],
                  what="encode GOP %d" % gop)
        files.append(path)
    ism = os.path.join(odir, "x.ism")
    p = gst_smooth("manifest", "-o", ism, *files)
    lines = [l for l in p.stderr.splitlines() if "not aligned" in l]
    rep.ok(p.returncode == 0 and os.path.exists(ism), "misaligned: manifests still written, exit 0")
    rep.ok(len(lines) >= 1 and "gop36.ismv" in lines[0] and "gop48.ismv" in lines[0],
           "misaligned: reported on stderr naming both files", p.stderr[-500:])
    if lines:
        rep.note(lines[0])
    ism2 = os.path.join(odir, "strict", "x.ism")
    p = gst_smooth("manifest", "--strict", "-o", ism2, *files)
    rep.ok(p.returncode == 1 and not os.path.exists(ism2) and not os.path.exists(os.path.join(odir, "strict")),
           "misaligned with --strict: exit 1, nothing written", "exit %d %s" % (p.returncode, p.stderr[-300:]))


def main(argv):
    media.require_tools("ffprobe", "gst-launch-1.0")
    media.require_muxer("ismvmux")
    media.require_elements("ismlmux", "qtdemux")
    tool()
    rep = media.Report(NAME)
    media.run_cases(rep, ["av", "bframes", "ladder"], case_inspect_muxers)
    media.run_cases(rep, ["bad"], case_inspect_bad)
    media.run_cases(rep, ["manifests"], case_inspect_manifests)
    media.run_cases(rep, ["per-bitrate"], case_manifest_per_bitrate)
    media.run_cases(rep, ["multitrack"], case_manifest_multitrack)
    media.run_cases(rep, ["misaligned"], case_manifest_misaligned)
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
