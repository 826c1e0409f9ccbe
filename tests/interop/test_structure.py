#!/usr/bin/env python3
"""Interop: PIFF/ISMV structure of ismvmux output and its manifests, checked
with our own independent box walker (boxcheck.py, not the C++ core) against
[MS-SSTR] 2.2.4, ISO 14496-12 8.8 and the server lookup contract
(.ism trackID/systemBitrate -> tfra -> moof, tfra time == tfxd time == c@t).

File: ftyp(isml) moov (moof mdat)+ mfra; one trak per input track with
mdhd timescale 10 MHz and the input's avcC/ASC; mvex with mehd + trex.
Fragments: mfhd sequence strictly increasing; one traf per moof; tfhd flags
0x20 (no base-data-offset); one trun with data-offset == moof size + mdat
header and samples exactly filling the mdat; per-sample duration and size;
signed composition offsets only in trun v1; tfxd v1 in every traf with
duration == sum of sample durations and contiguous times; each track's first
sample has CTO 0 (decode time == presentation time); every video fragment
starts with a sync sample and (GOP == fragment duration here) holds exactly
one; all video tracks share identical fragment times; audio fragments close
within one AAC frame of the video boundaries.
mfra: last box; one tfra v1 per track, one entry per fragment, moof_offset
-> a moof whose tfhd track_ID is that track, time == tfxd time; mfro == mfra
size == last 4 bytes of the file.
.ismc: MajorVersion 2, TimeScale, Duration, StreamIndex per type with Chunks,
QualityLevels, Url; c timeline (t/d/r, implicit t) == tfxd times/durations of
every track; QualityLevel FourCC, CodecPrivateData (== avcC SPS/PPS, ASC),
MaxWidth/MaxHeight, SamplingRate/Channels/AudioTag/BitsPerSample/PacketSize;
Bitrate within 25% of the track's sample bytes*8/duration.
.ism: SMIL namespace, clientManifestRelativePath, one entry per track with
src == the .ismv name, trackID == tkhd track_ID, systemBitrate == the
QualityLevel Bitrate (distinct per type), trackName == Url stream name.

Options: --muxer ffmpeg (FFmpeg's -f ismv output; manifest checks skipped,
as FFmpeg writes none), CASE...
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import boxcheck
import media

TS = 10000000
SMIL_NS = "http://www.w3.org/2001/SMIL20/Language"


def aac_frame_ticks(track):
    rate = track.entry.get("sample_rate") or 48000
    return track.timescale * 1024 // rate + 1


def video_frame_ticks(track, frags):
    n = sum(len(f.samples) for f in frags)
    return (sum(f.duration for f in frags) // n + 1) if n else track.timescale // 25


def check_file(rep, mp4, ismv, input_movie, expect_video_starts=None):
    """Box-level checks. Returns (Movie, {kind: [track ids]})."""
    try:
        m = boxcheck.Movie(ismv)
    except (boxcheck.BoxError, Exception) as e:  # noqa: B902 - report any parse failure
        raise media.Failure("boxcheck cannot parse %s: %s" % (ismv, e))
    f = m.file
    types = [b.type for b in f.boxes]
    seq = "".join({"ftyp": "F", "moov": "M", "moof": "o", "mdat": "d", "mfra": "R"}.get(t, "?") for t in types)
    rep.ok(re.fullmatch(r"FM(od)+R", seq) is not None,
           "top level is ftyp moov (moof mdat)+ mfra (%d moofs)" % types.count("moof"),
           "got %s" % " ".join(types[:8] + (["..."] if len(types) > 12 else []) + types[-4:]))
    rep.ok(m.ftyp is not None and m.ftyp["major"] == "isml", "ftyp major brand isml (%s)" % m.ftyp)

    # ---- moov
    in_kinds = [input_movie.tracks[t].kind for t in input_movie.track_order]
    out_kinds = [m.tracks[t].kind for t in m.track_order]
    if not rep.ok(sorted(in_kinds) == sorted(out_kinds), "one trak per input track: %s" % in_kinds,
                  "output traks: %s" % out_kinds):
        raise media.Failure("track layout differs, stopping this case")
    ids = list(m.track_order)
    rep.ok(len(set(ids)) == len(ids) and 0 not in ids, "tkhd track_IDs unique and non-zero: %s" % ids)
    rep.ok(all(m.tracks[t].timescale == TS for t in ids), "mdhd timescale 10000000 on every track",
           "%s" % {t: m.tracks[t].timescale for t in ids})
    by_kind = {}
    for t in ids:
        by_kind.setdefault(m.tracks[t].kind, []).append(t)
    in_by_kind = {}
    for t in input_movie.track_order:
        in_by_kind.setdefault(input_movie.tracks[t].kind, []).append(t)
    for kind in by_kind:
        for i, (ti, to) in enumerate(zip(in_by_kind.get(kind, []), by_kind[kind])):
            ei, eo = input_movie.tracks[ti].entry, m.tracks[to].entry
            if kind == "video":
                same = (eo.get("format") in ("avc1", "avc3") and eo.get("avcC") == ei.get("avcC")
                        and (eo.get("width"), eo.get("height")) == (ei.get("width"), ei.get("height")))
                rep.ok(same, "track %d: %s sample entry %dx%d with the input's avcC" % (
                    to, eo.get("format"), eo.get("width", 0), eo.get("height", 0)),
                    "input %s %s, output %s %s" % (ei.get("format"), ei.get("avcC"), eo.get("format"), eo.get("avcC")))
                if eo.get("avcC"):
                    rep.ok(eo["avcC"]["length_size"] == 4, "track %d: avcC NAL length size 4" % to)
            else:
                same = (eo.get("format") == "mp4a" and eo.get("asc") == ei.get("asc")
                        and eo.get("sample_rate") == ei.get("sample_rate") and eo.get("channels") == ei.get("channels"))
                rep.ok(same, "track %d: mp4a sample entry %s Hz %s ch with the input's ASC %s" % (
                    to, eo.get("sample_rate"), eo.get("channels"), (eo.get("asc") or b"").hex()),
                    "input %s, output %s" % (ei, eo))
    mvex = m.moov.first("mvex")
    rep.ok(mvex is not None and len(mvex.find("trex")) == len(ids) and {m.tracks[t].trex["track_id"] for t in ids
                                                                        if m.tracks[t].trex} == set(ids),
           "mvex has one trex per track")
    longest = max(sum(fr.duration for fr in m.track_fragments(t)) / m.tracks[t].timescale for t in ids)
    if rep.ok(m.mehd is not None, "mvex has mehd"):
        md = m.mehd["fragment_duration"] / m.mvhd["timescale"]
        rep.ok(abs(md - longest) <= 0.05, "mehd fragment_duration %.4f s == longest track %.4f s" % (md, longest))

    # ---- fragments
    if not m.fragments:
        raise media.Failure("no movie fragments in %s" % ismv)
    rep.ok(all(b > a for a, b in zip(m.moof_sequence, m.moof_sequence[1:])) and m.moof_sequence[0] >= 1,
           "mfhd sequence numbers strictly increasing (%s..%s)" % (m.moof_sequence[0], m.moof_sequence[-1]))
    moofs = f.top("moof")
    rep.ok(all(len(mo.find("traf")) == 1 for mo in moofs), "exactly one traf per moof")
    frs = m.fragments
    bad = [x for x in frs if x.tfhd["flags"] != boxcheck.TFHD_DEFAULT_FLAGS]
    rep.ok(not bad, "tfhd flags 0x000020 (default-sample-flags only; no base-data-offset/default size/duration)",
           "%d trafs differ, e.g. track %d moof@%d flags 0x%06x" % (len(bad), bad[0].track_id, bad[0].moof_offset,
                                                                    bad[0].tfhd["flags"]) if bad else "")
    bad = [x for x in frs if len(x.truns) != 1]
    rep.ok(not bad, "exactly one trun per traf")
    bad = []
    for x in frs:
        r = x.truns[0] if x.truns else {}
        hdr = x.mdat.header if x.mdat is not None else 8
        if r.get("data_offset") != x.moof_size + hdr:
            bad.append("moof@%d data_offset %s, expected %d" % (x.moof_offset, r.get("data_offset"), x.moof_size + hdr))
        elif not (r.get("flags", 0) & boxcheck.TRUN_DURATION and r.get("flags", 0) & boxcheck.TRUN_SIZE):
            bad.append("moof@%d trun flags 0x%06x lack per-sample duration/size" % (x.moof_offset, r.get("flags", 0)))
        elif x.mdat is None or x.mdat.size - x.mdat.header != x.size:
            bad.append("moof@%d samples total %d bytes, mdat payload %s" % (
                x.moof_offset, x.size, x.mdat and x.mdat.size - x.mdat.header))
        elif not x.samples:
            bad.append("moof@%d has an empty trun" % x.moof_offset)
    rep.ok(not bad, "trun data-offset == moof size + 8, per-sample duration+size, samples exactly fill the mdat",
           "; ".join(bad[:3]))
    rep.ok(not m.check_sample_data_in_mdat(), "all sample byte ranges lie in the following mdat",
           "; ".join(m.check_sample_data_in_mdat()[:3]))
    bad = [x for x in frs for r in x.truns if r["version"] == 0 and any(s.get("cto", 0) >= 1 << 31 for s in r["samples"])]
    rep.ok(not bad, "no negative composition offsets written into a trun v0")
    ctos = [s["cto"] for x in frs for s in x.samples]
    if any(ctos):
        rep.note("composition offsets present: min %d max %d, trun versions %s" % (
            min(ctos), max(ctos), sorted({r["version"] for x in frs for r in x.truns})))
    rep.ok(all(x.tfxd is not None for x in frs), "tfxd in every traf",
           "%d of %d trafs lack one" % (sum(x.tfxd is None for x in frs), len(frs)))
    if not all(x.tfxd is not None for x in frs):
        raise media.Failure("no tfxd, timeline checks impossible")
    rep.ok(all(x.tfxd["version"] == 1 for x in frs), "tfxd version 1 (64-bit)")
    bad = [x for x in frs if x.tfxd["duration"] != x.duration]
    rep.ok(not bad, "tfxd duration == sum of trun sample durations",
           "e.g. track %d moof@%d tfxd %d, samples %d" % (bad[0].track_id, bad[0].moof_offset, bad[0].tfxd["duration"],
                                                         bad[0].duration) if bad else "")
    if any(x.tfdt is not None for x in frs):
        rep.note("tfdt present (not part of the MSS 2.0 subset)")
    if any(x.tfrf is not None for x in frs):
        rep.note("tfrf present in an on-demand file")
    timelines = {}
    for t in ids:
        tf = m.track_fragments(t)
        tl = [(x.tfxd["time"], x.tfxd["duration"]) for x in tf]
        timelines[t] = tl
        gaps = [i for i in range(1, len(tl)) if tl[i][0] != tl[i - 1][0] + tl[i - 1][1]]
        rep.ok(not gaps, "track %d: %d fragments, tfxd times contiguous (t[k+1] == t[k] + d[k])" % (t, len(tl)),
               "breaks at fragment(s) %s: %s" % (gaps[:3], [(tl[i - 1], tl[i]) for i in gaps[:2]]))
        rep.ok(bool(tf) and tf[0].samples[0]["cto"] == 0,
               "track %d: first sample CTO 0 (fragment time = decode time = presentation time)" % t,
               "CTO %s" % (tf[0].samples[0]["cto"] if tf else None))
    vids = by_kind.get("video", [])
    auds = by_kind.get("audio", [])
    for t in vids:
        tf = m.track_fragments(t)
        nosync = [i for i, x in enumerate(tf) if not x.samples[0]["sync"]]
        rep.ok(not nosync, "track %d (video): every fragment starts with a sync sample" % t,
               "fragments %s start with flags %s" % (nosync[:5], [hex(tf[i].samples[0]["flags"]) for i in nosync[:3]]))
        if expect_video_starts is not None:
            # non-default fragment-duration: check the expected boundaries instead
            starts = [a for a, _ in timelines[t]]
            rep.ok(starts == expect_video_starts, "track %d (video): fragment starts %s" % (t, expect_video_starts),
                   "got %s" % starts)
            continue
        extra = [i for i, x in enumerate(tf) if sum(s["sync"] for s in x.samples) != 1]
        rep.ok(not extra, "track %d (video): exactly one sync sample per fragment (2 s GOP, 2 s fragments)" % t,
               "fragments %s have %s sync samples" % (extra[:5], [sum(s["sync"] for s in tf[i].samples)
                                                               for i in extra[:5]]))
    if len(vids) > 1:
        rep.ok(all(timelines[t] == timelines[vids[0]] for t in vids),
               "all %d video tracks share identical fragment times/durations" % len(vids),
               "; ".join("track %d: %s" % (t, [a for a, _ in timelines[t]]) for t in vids))
    if vids:
        vstarts = [a for a, _ in timelines[vids[0]]]
        for t in auds:
            astarts = [a for a, _ in timelines[t]]
            tol = aac_frame_ticks(m.tracks[t])
            ok = len(astarts) == len(vstarts) and all(abs(a - v) <= tol for a, v in zip(astarts[1:], vstarts[1:]))
            rep.ok(ok, "track %d (audio): %d fragments, boundaries within one AAC frame (%d ticks) of video's"
                   % (t, len(astarts), tol),
                   "audio %s vs video %s" % (astarts, vstarts))

    # ---- mfra
    mfra = m.mfra
    if rep.ok(mfra is not None and f.boxes[-1] is mfra, "mfra is the last top-level box"):
        rep.ok(mfra.children and mfra.children[-1].type == "mfro", "mfro is the last box in mfra")
        rep.ok(m.mfro == mfra.size, "mfro size field %s == mfra size %d" % (m.mfro, mfra.size))
        last4 = int.from_bytes(f.data[-4:], "big")
        rep.ok(last4 == mfra.size, "last 4 bytes of the file (%d) == mfra size (seek EOF-size finds mfra)" % last4)
        rep.ok(sorted(m.tfra) == sorted(ids) and len(mfra.find("tfra")) == len(ids), "one tfra per track %s" % ids,
               "tfra for %s" % sorted(m.tfra))
        for t in ids:
            tr = m.tfra.get(t)
            if tr is None:
                continue
            tf = m.track_fragments(t)
            rep.ok(tr["version"] == 1, "track %d: tfra version 1" % t)
            if not rep.ok(len(tr["entries"]) == len(tf), "track %d: tfra has %d entries == fragments" % (t, len(tf)),
                          "%d entries" % len(tr["entries"])):
                continue
            bad = []
            for i, (e, x) in enumerate(zip(tr["entries"], tf)):
                b = f.box_at(e["moof_offset"])
                if b is None or b.type != "moof":
                    bad.append("entry %d offset %d is not a moof" % (i, e["moof_offset"]))
                elif boxcheck.parse_tfhd(b.first("traf/tfhd"))["track_id"] != t:
                    bad.append("entry %d moof@%d belongs to track %d" % (
                        i, e["moof_offset"], boxcheck.parse_tfhd(b.first("traf/tfhd"))["track_id"]))
                elif e["moof_offset"] != x.moof_offset:
                    bad.append("entry %d points at moof@%d, fragment %d is at %d" % (i, e["moof_offset"], i,
                                                                                    x.moof_offset))
                elif e["time"] != x.tfxd["time"]:
                    bad.append("entry %d time %d != tfxd time %d" % (i, e["time"], x.tfxd["time"]))
                elif (e["traf"], e["trun"], e["sample"]) != (1, 1, 1):
                    bad.append("entry %d traf/trun/sample numbers %s" % (i, (e["traf"], e["trun"], e["sample"])))
            rep.ok(not bad, "track %d: every tfra entry -> its own moof, time == tfxd time, numbers 1/1/1" % t,
                   "; ".join(bad[:3]))
    return m, by_kind, timelines


# ------------------------------------------------------------------ manifests

def expand_c(si):
    """StreamIndex c elements -> [(t, d)] per [MS-SSTR] 2.2.2.6 / 3.1.5.1."""
    out = []
    cs = [c for c in si if c.tag.split("}")[-1] == "c"]
    for i, c in enumerate(cs):
        t = c.get("t")
        d = c.get("d")
        r = int(c.get("r", "1"))
        if t is not None:
            t = int(t)
        elif out:
            t = out[-1][0] + out[-1][1]
        else:
            t = 0
        if d is None:
            if i + 1 < len(cs) and cs[i + 1].get("t") is not None:
                d = int(cs[i + 1].get("t")) - t
            else:
                raise media.Failure("c element %d has no d and no following t" % i)
        d = int(d)
        for k in range(r):
            out.append((t + k * d, d))
    return out


def local(tag):
    return tag.split("}")[-1]


def check_manifests(rep, m, by_kind, timelines, out, expect_fourcc=None):
    ismv_name = os.path.basename(out["ismv"])
    # ---- .ism
    try:
        ism = ET.parse(out["ism"]).getroot()
    except ET.ParseError as e:
        raise media.Failure(".ism is not well-formed XML: %s" % e)
    rep.ok(ism.tag == "{%s}smil" % SMIL_NS, ".ism root is smil in the SMIL 2.0 namespace", "root %s" % ism.tag)
    metas = {e.get("name"): e.get("content") for e in ism.iter() if local(e.tag) == "meta"}
    rep.ok(metas.get("clientManifestRelativePath") == os.path.basename(out["ismc"]),
           ".ism meta clientManifestRelativePath == %s" % os.path.basename(out["ismc"]), "metas %s" % metas)
    entries = []
    for sw in ism.iter():
        if local(sw.tag) != "switch":
            continue
        for e in sw:
            if local(e.tag) in ("video", "audio", "textstream"):
                params = {p.get("name"): p.get("value") for p in e if local(p.tag) == "param"}
                entries.append({"kind": local(e.tag), "src": e.get("src"), "bitrate": e.get("systemBitrate"),
                                "params": params, "valuetypes": [p.get("valuetype") or p.get("valueType")
                                                                 for p in e if local(p.tag) == "param"]})
    rep.ok(all(e["src"] == ismv_name for e in entries) and entries,
           ".ism: %d entries, every src == %s" % (len(entries), ismv_name), "srcs %s" % [e["src"] for e in entries])
    track_of_entry = {}
    bad = []
    for i, e in enumerate(entries):
        try:
            tid = int(e["params"].get("trackID", ""))
        except ValueError:
            bad.append("entry %d has no integer trackID param (%s)" % (i, e["params"]))
            continue
        if tid not in m.tracks:
            bad.append("entry %d trackID %d is not a tkhd track_ID %s" % (i, tid, sorted(m.tracks)))
        elif m.tracks[tid].kind != e["kind"]:
            bad.append("entry %d <%s> trackID %d is a %s track" % (i, e["kind"], tid, m.tracks[tid].kind))
        else:
            track_of_entry[i] = tid
    rep.ok(not bad, ".ism trackID params name tkhd track_IDs of the matching kind", "; ".join(bad))
    rep.ok(sorted(track_of_entry.values()) == sorted(m.tracks),
           ".ism lists every track exactly once", "listed %s, tracks %s" % (sorted(track_of_entry.values()),
                                                                            sorted(m.tracks)))
    rep.ok(all(all(v == "data" for v in e["valuetypes"]) for e in entries), ".ism params have valuetype=\"data\"")
    for kind in ("video", "audio"):
        brs = [e["bitrate"] for e in entries if e["kind"] == kind]
        ok = all(b is not None and b.isdigit() and int(b) > 0 for b in brs) and len(set(brs)) == len(brs)
        rep.ok(ok, ".ism %s systemBitrate values distinct positive integers: %s" % (kind, brs))

    # ---- .ismc
    try:
        ssm = ET.parse(out["ismc"]).getroot()
    except ET.ParseError as e:
        raise media.Failure(".ismc is not well-formed XML: %s" % e)
    rep.ok(local(ssm.tag) == "SmoothStreamingMedia", ".ismc root SmoothStreamingMedia")
    rep.ok(ssm.get("MajorVersion") == "2" and ssm.get("MinorVersion") in ("0", "2"),
           ".ismc MajorVersion 2, MinorVersion %s" % ssm.get("MinorVersion"), "MajorVersion %s" % ssm.get("MajorVersion"))
    ts = int(ssm.get("TimeScale", TS))
    rep.ok(ts == TS, ".ismc TimeScale %d" % ts)
    rep.ok((ssm.get("IsLive") or "FALSE").upper() == "FALSE" and ssm.get("LookaheadCount") is None
           and ssm.get("LookAheadFragmentCount") is None and ssm.get("DVRWindowLength") is None,
           ".ismc is VOD (no IsLive=TRUE, LookaheadCount, DVRWindowLength)")
    longest = max(tl[-1][0] + tl[-1][1] - tl[0][0] for tl in timelines.values())
    try:
        dur = int(ssm.get("Duration", "-1"))
    except ValueError:
        dur = -1
    rep.ok(abs(dur - longest) <= TS // 20, ".ismc Duration %d ~ longest track %d (+-50 ms)" % (dur, longest))
    sis = [e for e in ssm if local(e.tag) == "StreamIndex"]
    rep.ok(sorted(s.get("Type") for s in sis) == sorted(by_kind),
           ".ismc one StreamIndex per type %s" % sorted(by_kind), "got %s" % [s.get("Type") for s in sis])
    names = [s.get("Name") or s.get("Type") for s in sis]
    rep.ok(len(set(names)) == len(names), ".ismc StreamIndex names unique %s" % names)
    for si in sis:
        kind = si.get("Type")
        if kind not in by_kind:
            continue
        qls = [q for q in si if local(q.tag) == "QualityLevel"]
        try:
            tl = expand_c(si)
        except (media.Failure, ValueError) as e:
            rep.fail("%s StreamIndex c timeline: %s" % (kind, e))
            continue
        rep.ok(si.get("QualityLevels") == str(len(qls)) and len(qls) == len(by_kind[kind]),
               "%s: QualityLevels=%s == %d QualityLevel elements == %d tracks" % (
                   kind, si.get("QualityLevels"), len(qls), len(by_kind[kind])))
        rep.ok(si.get("Chunks") == str(len(tl)), "%s: Chunks=%s == %d c entries" % (kind, si.get("Chunks"), len(tl)))
        url = si.get("Url") or ""
        um = re.fullmatch(r"QualityLevels\(\{[Bb]itrate\}(,\{CustomAttributes\})?\)/Fragments\((\w+)=\{start[ _]time\}\)",
                          url)
        rep.ok(um is not None, "%s: Url template %r" % (kind, url))
        url_name = um.group(2) if um else None
        rep.ok(all(b > a for (a, _), (b, _) in zip(tl, tl[1:])), "%s: c times strictly increasing" % kind)
        idx = sorted(int(q.get("Index", "-1")) for q in qls)
        rep.ok(idx == list(range(len(qls))), "%s: QualityLevel Index 0..%d" % (kind, len(qls) - 1), "%s" % idx)
        brs = [q.get("Bitrate") for q in qls]
        rep.ok(len(set(brs)) == len(brs), "%s: QualityLevel Bitrates distinct %s" % (kind, brs))
        for q in qls:
            br = q.get("Bitrate")
            cand = [i for i, e in enumerate(entries) if e["kind"] == kind and e["bitrate"] == br]
            if not rep.ok(len(cand) == 1 and cand[0] in track_of_entry,
                          "%s QualityLevel Bitrate=%s matches one .ism systemBitrate (QualityLevels(b) lookup)"
                          % (kind, br), ".ism %s bitrates: %s" % (kind, [e["bitrate"] for e in entries
                                                                         if e["kind"] == kind])):
                continue
            e = entries[cand[0]]
            tid = track_of_entry[cand[0]]
            tr = m.tracks[tid]
            tag = "%s track %d (Bitrate %s)" % (kind, tid, br)
            rep.ok(tl == timelines[tid], "%s: c timeline (%d) == tfxd times/durations" % (tag, len(tl)),
                   "first diff (index, c, tfxd): %r" % (next(
                       ((i, a, b) for i, (a, b) in enumerate(zip(tl, timelines[tid])) if a != b),
                       ("lengths", len(tl), len(timelines[tid]))),))
            tn = e["params"].get("trackName", kind)
            rep.ok(url_name is None or tn == url_name, "%s: .ism trackName %r == Url stream name %r" % (tag, tn, url_name))
            frs = m.track_fragments(tid)
            size = sum(x.size for x in frs)
            secs = sum(x.duration for x in frs) / tr.timescale
            actual = size * 8 / secs if secs else 0
            rep.ok(abs(int(br) - actual) <= 0.25 * actual,
                   "%s: Bitrate within 25%% of measured %.0f bps" % (tag, actual), "Bitrate %s" % br)
            cpd = (q.get("CodecPrivateData") or "").lower()
            if kind == "video":
                fourcc = q.get("FourCC")
                rep.ok(fourcc == expect_fourcc if expect_fourcc else fourcc in ("H264", "AVC1"),
                       "%s: FourCC %s" % (tag, fourcc), "expected %s" % (expect_fourcc or "H264|AVC1"))
                avcc = tr.entry.get("avcC") or {"sps": [], "pps": []}
                want = "".join("00000001" + x.hex() for x in avcc["sps"] + avcc["pps"])
                rep.ok(cpd == want, "%s: CodecPrivateData == 00000001 SPS 00000001 PPS from avcC" % tag,
                       "got %s, want %s" % (cpd, want))
                rep.ok((q.get("MaxWidth"), q.get("MaxHeight")) == (str(tr.entry.get("width")),
                                                                   str(tr.entry.get("height"))),
                       "%s: MaxWidth x MaxHeight %sx%s" % (tag, q.get("MaxWidth"), q.get("MaxHeight")))
                rep.ok(q.get("NALUnitLengthField") in (None, "4"), "%s: NALUnitLengthField absent or 4" % tag)
            else:
                asc = (tr.entry.get("asc") or b"").hex()
                rep.ok(q.get("FourCC") == "AACL", "%s: FourCC %s (AAC-LC)" % (tag, q.get("FourCC")))
                rep.ok(len(cpd) >= 4 and asc.startswith(cpd),
                       "%s: CodecPrivateData %s is the esds AudioSpecificConfig (%s)" % (tag, cpd, asc))
                rep.ok(q.get("SamplingRate") == str(tr.entry.get("sample_rate"))
                       and q.get("Channels") == str(tr.entry.get("channels")),
                       "%s: SamplingRate %s Channels %s" % (tag, q.get("SamplingRate"), q.get("Channels")))
                rep.ok(q.get("AudioTag") == "255" and q.get("BitsPerSample") == "16"
                       and (q.get("PacketSize") or "").isdigit() and int(q.get("PacketSize")) > 0,
                       "%s: AudioTag 255, BitsPerSample 16, PacketSize %s" % (tag, q.get("PacketSize")),
                       "AudioTag %s BitsPerSample %s" % (q.get("AudioTag"), q.get("BitsPerSample")))


def check_case(rep, muxer, case, props=None, label=None, expect_video_starts=None, expect_fourcc=None):
    rep.section("%s: %s%s" % (case, media.CASES[case], (" [%s]" % label) if label else ""))
    mp4 = media.ensure_media(case)
    out = media.mux(muxer, mp4, media.out_dir("structure", case + (("-" + label) if label else "")), case, props)
    print("  muxed: " + out["cmd"])
    input_movie = boxcheck.Movie(mp4)
    m, by_kind, timelines = check_file(rep, mp4, out["ismv"], input_movie, expect_video_starts)
    if out["ism"] is None:
        rep.note("manifest checks skipped: muxer %s writes no .ism/.ismc" % muxer)
        return
    check_manifests(rep, m, by_kind, timelines, out, expect_fourcc)


def main(argv):
    muxer = media.parse_muxer(argv)
    media.require_tools("ffprobe")
    media.require_muxer(muxer)
    rep = media.Report("test_structure (muxer=%s)" % muxer)
    cases = media.parse_cases(argv, ["ladder", "av", "bframes", "audio44k"])
    media.run_cases(rep, cases, check_case, muxer)
    if muxer == "ismvmux" and "av" in cases:
        # element properties: fragment-duration 4 s -> fragments at 0, 4, 8 s; h264-fourcc AVC1
        def props_case(rep, muxer, case):
            check_case(rep, muxer, case, {"fragment-duration": "4000000000", "h264-fourcc": "AVC1"},
                       "fragment-duration=4s,h264-fourcc=AVC1", [0, 4 * TS, 8 * TS], "AVC1")
        media.run_cases(rep, ["av"], props_case, muxer)
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
