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
inspect on encrypted files (PIFF 1.1 as Smooth Streaming PlayReady content):
  - files made here from a clear ismvmux file by an independent Python PIFF
    writer (AES-CTR and AES-CBC, samples encrypted with `cryptography` when
    installed): the pssh (PlayReady Object: WRMHEADER version, KID, LA_URL,
    CHECKSUM), tenc (AlgorithmID, IV size, KID in both byte orders), the
    cipher-mode and every fragment's senc (flags, IV size, entries == trun
    samples == boxcheck, first IV, subsample count) equal what was written,
    with no problems; --key verifies the CHECKSUM;
  - one broken rule per file (senc entry missing, flags 0x1, subsamples not
    adding up, IV size vs tenc, encv without sinf, schm cbcs, PRO KID in
    the wrong byte order, no pssh, no senc in a traf, CBC partial blocks):
    exactly the expected problem, in JSON, text and --strict (exit 1);
  - when ismvmux has `encryption`: its piff-ctr/piff-cbc output, the same.
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
  - renditions with different GOPs: the level that cannot serve the
    timeline is left out of the manifests with an error line naming its
    file, exit 3; --strict exits 1 and writes nothing;
  - --ismc PATH; bad inputs exit 1 (2 for usage errors) with a message.
"""

import json
import os
import re
import shutil
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
    movie = boxcheck.Movie(src)
    rep.ok(n_frags == len(movie.fragments),
           "truncated tail: the index keeps all %d fragments, the cut one too" % n_frags,
           "%d of %d" % (n_frags, len(movie.fragments)))
    # The cut fragment keeps the samples wholly before the cut (what is in
    # the file plays, as qtdemux and ffmpeg do).
    cut_size = last_mdat.offset + last_mdat.size // 2
    last = max(movie.fragments, key=lambda fr: fr.moof_offset)
    whole = sum(1 for smp in last.samples if smp["offset"] + smp["size"] <= cut_size)
    got = [fr for t in d["tracks"] for fr in t["fragments"] if fr["offset"] == last.moof_offset]
    rep.ok(len(got) == 1 and got[0]["truncated"] and got[0]["samples"] == whole and 0 < whole < len(last.samples),
           "truncated tail: the cut fragment lists its %d whole samples of %d" % (whole, len(last.samples)),
           str(got))
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


# ---------------------------------------------------------------- inspect: protection
#
# An encrypted file for inspect, made here from a clear ismvmux file by a
# PIFF 1.1 writer of our own (written from the PIFF 1.1 spec, sharing nothing
# with the C++ core): encv/enca with sinf (frma, schm 'piff' 1.1, schi with
# the uuid-tenc), a uuid-pssh holding a PlayReady Object in the moov, a
# uuid-senc in every traf, trun data offsets and tfra moof offsets moved by
# what was inserted. Samples are really encrypted (AES-CTR / AES-CBC through
# the `cryptography` package) when it is installed; inspect only reads the
# boxes, so without it they stay clear. Options break one rule each, for the
# warnings inspect must give.

PLAYREADY_ID = bytes.fromhex("9A04F07998404286AB92E65BE0885F95")
KID = bytes.fromhex("0123456789abcdef0123456789abcdef")  # UUID (big-endian) order, as in tenc
KID_UUID = "01234567-89ab-cdef-0123-456789abcdef"
KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
LA_URL = "https://license.example.com/rightsmanager.asmx?cid=inspect"


def box(typ, payload, uuid=None):
    body = (uuid or b"") + payload
    return struct.pack(">I4s", 8 + len(body), typ.encode("latin-1")) + body


def full(version, flags):
    return struct.pack(">I", (version << 24) | flags)


def guid_order(kid):
    """The Windows GUID layout of a UUID: first three fields little-endian."""
    return kid[3::-1] + kid[5:3:-1] + kid[7:5:-1] + kid[8:]


def aes_ecb(key, block):
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        return None
    e = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return e.update(block) + e.finalize()


def playready_object(kid_bytes_in_header, cbc=False, la_url=LA_URL, key=KEY):
    """A PRO with one WRMHEADER record. `kid_bytes_in_header` are the 16
    bytes whose base64 goes into <KID> (GUID order when done right)."""
    import base64
    kid64 = base64.b64encode(kid_bytes_in_header).decode()
    if cbc:
        xml = ('<WRMHEADER xmlns="http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader" version="4.3.0.0">'
               '<DATA><PROTECTINFO><KIDS><KID ALGID="AESCBC" VALUE="%s"></KID></KIDS></PROTECTINFO>'
               '<LA_URL>%s</LA_URL></DATA></WRMHEADER>' % (kid64, la_url))
        checksum = None
    else:
        ck = aes_ecb(key, kid_bytes_in_header)
        checksum = ck[:8] if ck else None
        xml = ('<WRMHEADER xmlns="http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader" version="4.0.0.0">'
               '<DATA><PROTECTINFO><KEYLEN>16</KEYLEN><ALGID>AESCTR</ALGID></PROTECTINFO><KID>%s</KID>%s'
               '<LA_URL>%s</LA_URL></DATA></WRMHEADER>'
               % (kid64, "<CHECKSUM>%s</CHECKSUM>" % base64.b64encode(checksum).decode() if checksum else "",
                  la_url.replace("&", "&amp;")))
    rec = xml.encode("utf-16-le")
    body = struct.pack("<HHH", 1, 1, len(rec)) + rec
    return struct.pack("<I", 4 + len(body)) + body, checksum


def nal_subsamples(sample, cbc, whole_blocks):
    """Per NAL unit (4-byte lengths): prefix + NAL header clear, the rest
    encrypted; with whole_blocks the odd tail of each NAL stays clear, in
    front of the encrypted blocks."""
    subs = []
    pos = 0
    while pos + 4 <= len(sample):
        n = struct.unpack_from(">I", sample, pos)[0]
        clear = 5 if n >= 1 else 4 + n
        enc = 4 + n - clear
        if whole_blocks:
            clear += enc % 16
            enc -= enc % 16
        subs.append([clear, enc])
        pos += 4 + n
    if pos != len(sample):
        raise media.Failure("sample is not 4-byte length-prefixed NAL units")
    return subs


def encrypt_sample(data, off, size, subs, key, iv, cbc):
    """Encrypts in place (bytearray) the encrypted ranges of one sample; the
    CTR key stream and the CBC chain run on across its ranges."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    except ImportError:
        return
    ranges = []
    if subs is None:
        n = size - (size % 16 if cbc else 0)
        ranges = [(off, n)]
    else:
        pos = off
        for c, e in subs:
            ranges.append((pos + c, e))
            pos += c + e
    plain = b"".join(bytes(data[a:a + n]) for a, n in ranges)
    if cbc:
        plain = plain[:len(plain) - len(plain) % 16]
        enc = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    else:
        enc = Cipher(algorithms.AES(key), modes.CTR(iv + bytes(16 - len(iv)))).encryptor()
    out = enc.update(plain) + enc.finalize()
    pos = 0
    for a, n in ranges:
        n = min(n, len(out) - pos)
        data[a:a + n] = out[pos:pos + n]
        pos += n


def piff_encrypt(src, dst, cbc=False, **faults):
    """Writes `dst`, the PIFF-encrypted form of the clear file `src`.
    Faults: senc_iv (the senc's IV size, != tenc's), drop_entry (video
    fragment 1's senc lacks its last entry), override (senc flags 0x1),
    bad_subsample (video sample 0's subsamples add up to one byte more),
    no_sinf, schm (another scheme type), pro_uuid_order (the PRO's KID is
    base64 of the UUID-order bytes), no_pssh, no_senc (no senc in video
    fragment 1), partial_blocks (CBC with encrypted ranges that are not
    whole blocks)."""
    movie = boxcheck.Movie(src)
    data = bytearray(movie.file.data)
    iv_len = 16 if cbc else 8
    senc_iv_len = faults.get("senc_iv", iv_len)
    algorithm = 2 if cbc else 1
    video_ids = [tid for tid, t in movie.tracks.items() if t.kind == "video"]

    # Per traf (keyed by moof offset and traf index): its uuid-senc.
    sencs = {}
    frag_no = {}
    info = {"ivs": {}, "subsamples": {}, "flags": {}}
    counter = 0x0a0b0c0d0e0f0000 << (64 if cbc else 0)
    for fr in movie.fragments:
        i = frag_no.get(fr.track_id, 0)
        frag_no[fr.track_id] = i + 1
        video = fr.track_id in video_ids
        flags = 2 if video else 0
        if faults.get("override"):
            flags |= 1
        entries = b""
        count = 0
        ivs, subcounts = [], []
        for k, s in enumerate(fr.samples):
            iv = counter.to_bytes(iv_len, "big")
            counter += 1
            subs = None
            if video:
                subs = nal_subsamples(bytes(data[s["offset"]:s["offset"] + s["size"]]), cbc,
                                      cbc and not faults.get("partial_blocks"))
            encrypt_sample(data, s["offset"], s["size"], subs, KEY, iv, cbc and not faults.get("partial_blocks"))
            if video and i == 1 and k == len(fr.samples) - 1 and faults.get("drop_entry"):
                continue
            if video and i == 0 and k == 0 and faults.get("bad_subsample"):
                subs = [list(x) for x in subs]
                subs[0][0] += 1
            ent = iv.rjust(senc_iv_len, b"\0")
            if video:
                ent += struct.pack(">H", len(subs)) + b"".join(struct.pack(">HI", c, e) for c, e in subs)
                subcounts.append(len(subs))
            entries += ent
            ivs.append(iv.hex())
            count += 1
        body = full(0, flags)
        if flags & 1:
            body += struct.pack(">I", algorithm)[1:] + bytes([senc_iv_len]) + KID
        body += struct.pack(">I", count) + entries
        if not (video and i == 1 and faults.get("no_senc")):
            sencs[(fr.moof_offset, fr.traf_index)] = box("uuid", body, boxcheck.UUID_PIFF_SENC)
        info["ivs"].setdefault(fr.track_id, []).append(ivs)
        info["subsamples"].setdefault(fr.track_id, []).append(sum(subcounts))
        info["flags"].setdefault(fr.track_id, []).append(flags)

    tenc = box("uuid", full(0, 0) + struct.pack(">I", algorithm)[1:] + bytes([iv_len]) + KID,
               boxcheck.UUID_PIFF_TENC)
    pro, checksum = playready_object(KID if faults.get("pro_uuid_order") else guid_order(KID), cbc)
    info["pro"] = pro
    info["checksum"] = checksum.hex() if checksum else ""
    pssh = box("uuid", full(0, 0) + PLAYREADY_ID + struct.pack(">I", len(pro)) + pro, boxcheck.UUID_PIFF_PSSH)
    boxes = boxcheck._parse_boxes(data, 0, len(data), None)
    new_offsets = {}

    def header(b, payload):
        return box(b.type, payload, b.uuid)

    def ser(b, grow=None, traf_index=None):
        raw = bytes(data[b.offset:b.end])
        if b.type in ("avc1", "mp4a"):
            prefix = bytes(data[b.payload_offset:b.payload_offset + (78 if b.type == "avc1" else 28)])
            kids = b"".join(bytes(data[c.offset:c.end]) for c in b.children)
            if not faults.get("no_sinf"):
                kids += box("sinf", box("frma", b.type.encode()) +
                            box("schm", full(0, 0) + faults.get("schm", "piff").encode() + struct.pack(">I", 0x00010001)) +
                            box("schi", tenc))
            return box("encv" if b.type == "avc1" else "enca", prefix + kids)
        if b.type == "trun" and grow is not None:
            v, fl, p = b.full_header()
            p = bytearray(p)
            if fl & 1:
                struct.pack_into(">i", p, 4, struct.unpack_from(">i", p, 4)[0] + grow)
            return header(b, full(v, fl) + bytes(p))
        if b.type == "tfra":
            v, fl, p = b.full_header()
            p = bytearray(p)
            t = boxcheck.parse_tfra(b)
            lt, lr, ls = [((t["reserved_lengths"] >> s) & 3) + 1 for s in (4, 2, 0)]
            pos = 12
            for e in t["entries"]:
                if v == 1:
                    struct.pack_into(">Q", p, pos + 8, new_offsets[e["moof_offset"]])
                    pos += 16
                else:
                    struct.pack_into(">I", p, pos + 4, new_offsets[e["moof_offset"]])
                    pos += 8
                pos += lt + lr + ls
            return header(b, full(v, fl) + bytes(p))
        if not b.children:
            return raw
        prefix = b""
        if b.type == "stsd":
            prefix = bytes(data[b.payload_offset:b.payload_offset + 8])
        out = b""
        trafs = 0
        for c in b.children:
            if b.type == "moof" and c.type == "traf":
                out += ser(c, grow, trafs)
                trafs += 1
            else:
                out += ser(c, grow, traf_index)
        if b.type == "traf" and (b.parent.offset, traf_index) in sencs:
            out += sencs[(b.parent.offset, traf_index)]
        if b.type == "moov" and not faults.get("no_pssh"):
            out += pssh
        return header(b, prefix + out)

    out = bytearray()
    for b in boxes:
        new_offsets[b.offset] = len(out)
        if b.type == "moof":
            grow = sum(len(v) for (mo, _), v in sencs.items() if mo == b.offset)
            out += ser(b, grow)
        else:
            out += ser(b)
    with open(dst, "wb") as fh:
        fh.write(out)
    return info


def ismvmux_encrypts():
    p = media.run(["gst-inspect-1.0", "ismvmux"], check=False, what="gst-inspect-1.0 ismvmux")
    return "content-key" in p.stdout and "encryption" in p.stdout


def uuid_str(b):
    h = b.hex()
    return "%s-%s-%s-%s-%s" % (h[:8], h[8:12], h[12:16], h[16:20], h[20:])


def check_protected(rep, label, path, cbc, info=None, la_url=LA_URL, kid=KID):
    """inspect of a well-formed encrypted file: what it shows equals what was
    written, and there are no problems."""
    import base64
    d = inspect_json(path)
    movie = boxcheck.Movie(path)
    rep.ok(d["problems"] == [], "%s: no problems" % label, str(d["problems"]))
    rep.ok(len(d["pssh"]) == 1, "%s: one protection system header in the moov" % label, str(d["pssh"]))
    if not d["pssh"]:
        return d
    p = d["pssh"][0]
    pr = p.get("playready") or {}
    rep.ok(p["box"] == "uuid-pssh" and p["system_id"] == "9a04f079-9840-4286-ab92-e65be0885f95"
           and p["system"] == "PlayReady", "%s: uuid-pssh, PlayReady SystemID" % label, str(p))
    rep.ok(pr.get("parsed") and pr.get("wrmheader_version") == ("4.3.0.0" if cbc else "4.0.0.0"),
           "%s: PlayReady Object parsed, WRMHEADER %s" % (label, pr.get("wrmheader_version")), str(pr)[:300])
    kids = pr.get("kids", [])
    rep.ok(len(kids) == 1 and kids[0]["kid"] == uuid_str(kid)
           and kids[0]["base64"] == base64.b64encode(guid_order(kid)).decode()
           and kids[0]["algorithm"] == ("AESCBC" if cbc else "AESCTR"),
           "%s: header KID %s (base64 of the GUID order), %s" % (label, uuid_str(kid), "AESCBC" if cbc else "AESCTR"),
           str(kids))
    if info is not None:
        rep.ok(p["data_size"] == len(info["pro"]), "%s: data size %d == our PRO" % (label, len(info["pro"])))
        if info["checksum"]:
            rep.ok(kids and kids[0]["checksum"] == info["checksum"], "%s: CHECKSUM %s" % (label, info["checksum"]),
                   str(kids))
    rep.ok(pr.get("la_url") == la_url, "%s: LA_URL %s" % (label, pr.get("la_url")))
    for t in d["tracks"]:
        tl = "%s track %d" % (label, t["id"])
        pt = t.get("protection")
        if not rep.ok(pt is not None, "%s: protection reported" % tl):
            continue
        video = t["kind"] == "video"
        tenc = pt.get("tenc") or {}
        rep.ok(pt["sample_entry"] == ("encv" if video else "enca") and pt["original_format"] == ("avc1" if video else "mp4a")
               and pt["scheme"] == {"type": "piff", "version": 0x00010001},
               "%s: %s, frma %s, schm piff 0x00010001" % (tl, pt["sample_entry"], pt["original_format"]), str(pt))
        rep.ok(tenc.get("box") == "uuid-tenc" and tenc.get("algorithm_id") == (2 if cbc else 1)
               and tenc.get("iv_size") == (16 if cbc else 8) and tenc.get("kid") == uuid_str(kid)
               and tenc.get("kid_guid_order") == uuid_str(guid_order(kid)),
               "%s: uuid-tenc AlgorithmID %s IV size %s KID %s" % (tl, tenc.get("algorithm_id"), tenc.get("iv_size"),
                                                                 tenc.get("kid")), str(tenc))
        rep.ok(pt["cipher_mode"] == ("cbc1" if cbc else "cenc") and pt["warnings"] == [],
               "%s: cipher-mode %s, no warnings" % (tl, pt["cipher_mode"]), str(pt["warnings"]))
        frs = movie.track_fragments(t["id"])
        sencs = [f.get("senc") for f in t["fragments"]]
        rep.ok(all(s and s["box"] == "uuid-senc" and s["readable"] for s in sencs),
               "%s: a readable uuid-senc in each of %d fragments" % (tl, len(sencs)))
        if not all(sencs):
            continue
        rep.ok([s["sample_count"] for s in sencs] == [s["trun_sample_count"] for s in sencs]
               == [len(f.samples) for f in frs], "%s: senc entries == trun samples == boxcheck" % tl)
        rep.ok(all(s["flags"] == (2 if video else 0) and s["iv_size"] == (16 if cbc else 8) for s in sencs),
               "%s: senc flags %s, IV size %s" % (tl, sencs[0]["flags"], sencs[0]["iv_size"]))
        if info is not None:
            rep.ok([s["first_iv"] for s in sencs] == [ivs[0] for ivs in info["ivs"][t["id"]]],
                   "%s: first IV of each fragment == ours" % tl)
            rep.ok([s["subsample_entries"] for s in sencs] == info["subsamples"][t["id"]],
                   "%s: subsample entries per fragment == ours (%d in all)" % (tl, sum(info["subsamples"][t["id"]])))
        if video and not cbc:
            rep.ok(all(s["subsample_entries"] > 0 for s in sencs), "%s: H.264 samples have subsamples" % tl)
    p = gst_smooth("inspect", path)
    out = p.stdout
    rep.ok(p.returncode == 0 and "problems: none" in out
           and "uuid-pssh (PIFF) SystemID 9a04f079-9840-4286-ab92-e65be0885f95 (PlayReady)" in out
           and ("WRMHEADER version %s" % ("4.3.0.0" if cbc else "4.0.0.0")) in out
           and ("LA_URL " + la_url) in out and ("KID " + uuid_str(kid)) in out
           and ("cipher-mode " + ("cbc1" if cbc else "cenc")) in out and "uuid-senc" in out,
           "%s: text output shows pssh, WRMHEADER, KID, LA_URL, cipher-mode, senc" % label, out[-1500:])
    return d


FAULTS = [
    # (label, piff_encrypt options, text every problem must contain, number of problems)
    ("senc lacks an entry", {"drop_entry": True}, "entries, the trun", 1),
    ("senc flags 0x1", {"override": True}, "0x1 (override", 2),
    ("subsamples do not add up", {"bad_subsample": True}, "subsamples adding up to", 1),
    ("senc IV size 16, tenc 8", {"senc_iv": 16}, "16-byte IVs while tenc says 8", 2),
    ("encv/enca without sinf", {"no_sinf": True}, "has no sinf", 2),
    ("schm cbcs", {"schm": "cbcs"}, "neither PIFF ('piff') nor CENC", 2),
    ("PRO KID in UUID order", {"pro_uuid_order": True}, "GUID byte order swapped", 2),
    ("no pssh", {"no_pssh": True}, "without any protection system header", 2),
    ("senc missing in a traf", {"no_senc": True}, "no senc", 1),
    ("PIFF CBC partial blocks", {"cbc": True, "partial_blocks": True}, "not a multiple of 16", 1),
]


def case_inspect_protection(rep, case):
    mp4 = media.ensure_media("av")
    odir = media.out_dir(NAME, "protection")
    clear = media.mux_ismvmux(mp4, odir, "clear")["ismv"]
    try:
        import cryptography  # noqa: F401
        rep.note("samples encrypted with the cryptography package")
    except ImportError:
        rep.note("python3 cryptography not installed: the test files carry clear samples (inspect reads boxes only)")

    d = inspect_json(clear)
    rep.section("inspect protection: a clear file")
    rep.ok(d["pssh"] == [] and all(t["protection"] is None for t in d["tracks"])
           and all("senc" not in f for t in d["tracks"] for f in t["fragments"]),
           "clear file: no pssh, no track protection, no senc fields")
    p = gst_smooth("inspect", clear)
    rep.ok("protection:" not in p.stdout, "clear file: no protection section in the text output")

    for cbc in (False, True):
        name = "piff-cbc" if cbc else "piff-ctr"
        rep.section("inspect protection: %s written by our Python PIFF writer" % name)
        enc = os.path.join(odir, name + ".ismv")
        info = piff_encrypt(clear, enc, cbc=cbc)
        check_protected(rep, name, enc, cbc, info)
        # --key checks the CHECKSUM (CTR headers carry one).
        if not cbc and info["checksum"]:
            d = inspect_json(enc, "--key", "%s:%s" % (KID_UUID, KEY.hex()))
            rep.ok(d["pssh"][0]["playready"]["kids"][0].get("checksum_check") == "matches" and d["problems"] == [],
                   "--key with the right key: CHECKSUM matches")
            d = inspect_json(enc, "--key", "%s:%s" % (KID_UUID, "ff" * 16))
            rep.ok(d["pssh"][0]["playready"]["kids"][0].get("checksum_check") == "differs"
                   and any("CHECKSUM" in x for x in d["problems"]), "--key with another key: CHECKSUM differs, reported",
                   str(d["problems"]))
        p = gst_smooth("inspect", enc, "--key", "nonsense")
        rep.ok(p.returncode == 2 and "--key" in p.stderr, "--key nonsense: exit 2 with a message", p.stderr[-200:])

    rep.section("inspect protection: one broken rule at a time")
    for label, opts, needle, count in FAULTS:
        opts = dict(opts)
        cbc = opts.pop("cbc", False)
        path = os.path.join(odir, "fault-" + label.replace(" ", "_").replace("/", "-") + ".ismv")
        piff_encrypt(clear, path, cbc=cbc, **opts)
        d = inspect_json(path)
        hits = [x for x in d["problems"] if needle in x]
        rep.ok(len(hits) == count and len(d["problems"]) == count,
               "%s: %d problem(s) saying \"%s\", nothing else" % (label, count, needle), str(d["problems"]))
        if hits:
            rep.note(hits[0][:220])
        track_warnings = [w for t in d["tracks"] if t["protection"] for w in t["protection"]["warnings"]]
        rep.ok(len([w for w in track_warnings if needle in w]) == count,
               "%s: also in the tracks' protection warnings" % label, str(track_warnings))
        p = gst_smooth("inspect", path)
        rep.ok(p.returncode == 0 and "warning: " in p.stdout and needle in p.stdout,
               "%s: text output has the warning, exit 0" % label)
        p = gst_smooth("inspect", "--strict", path)
        rep.ok(p.returncode == 1, "%s: --strict exits 1" % label, "exit %d" % p.returncode)

    # ismvmux's own encryption, when the muxer has it.
    if not ismvmux_encrypts():
        rep.note("ismvmux has no encryption property yet: its encrypted output is not inspected here")
        return
    for scheme in ("piff-ctr", "piff-cbc"):
        rep.section("inspect protection: ismvmux encryption=%s" % scheme)
        out = media.mux_ismvmux(mp4, odir, "mux-" + scheme, {
            "encryption": scheme, "key-id": KID_UUID, "content-key": KEY.hex(), "la-url": '"%s"' % LA_URL})
        check_protected(rep, "ismvmux " + scheme, out["ismv"], scheme == "piff-cbc")
        if scheme == "piff-ctr":
            d = inspect_json(out["ismv"], "--key", "%s:%s" % (KID_UUID, KEY.hex()))
            rep.ok(d["pssh"] and d["pssh"][0]["playready"]["kids"][0].get("checksum_check") == "matches",
                   "ismvmux %s: the CHECKSUM matches the content key (core)" % scheme)
            ck = aes_ecb(KEY, guid_order(KID))
            if ck:
                rep.ok(d["pssh"][0]["playready"]["kids"][0].get("checksum") == ck[:8].hex(),
                       "ismvmux %s: CHECKSUM == AES-ECB(key, GUID-order KID)[:8] computed here" % scheme)


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
    lines = [l for l in p.stderr.splitlines() if "error:" in l and "left out" in l]
    rep.ok(p.returncode == 3 and os.path.exists(ism), "misaligned: manifests written without the odd level, exit 3",
           "exit %d" % p.returncode)
    rep.ok(len(lines) == 1 and "gop36.ismv" in lines[0] and "fragment 1 starts at 30000000" in lines[0],
           "misaligned: an error line naming the left-out file and the first difference", p.stderr[-500:])
    video = [s for s in parse_ismc(ism + "c")[1] if s["type"] == "video"] if os.path.exists(ism + "c") else []
    rep.ok(len(video) == 1 and len(video[0]["levels"]) == 1, "misaligned: one video QualityLevel in the .ismc",
           str(video)[:300])
    if lines:
        rep.note(lines[0])
    ism2 = os.path.join(odir, "strict", "x.ism")
    p = gst_smooth("manifest", "--strict", "-o", ism2, *files)
    rep.ok(p.returncode == 1 and not os.path.exists(ism2) and not os.path.exists(os.path.join(odir, "strict")),
           "misaligned with --strict: exit 1, nothing written", "exit %d %s" % (p.returncode, p.stderr[-300:]))


TFXD_UUID = bytes.fromhex("6d1d9b0542d544e680e2141daff757b2")


def case_ffmpeg_encoded(rep, case):
    """FFmpeg-encoded media (its AAC starts at a negative tfxd; its ISO fMP4
    tfra entries give the sync sample's presentation time): inspect reports
    no problem, manifest and export put both tracks on one shifted timeline
    and every exported fragment's tfxd equals the time in its file name."""
    rep.section("FFmpeg-encoded files: inspect, manifest, export")
    odir = media.out_dir(NAME, "ffenc")
    for layout in ("ismv", "isml"):
        path = media.ensure_ffmpeg_encoded(layout)
        d = inspect_json(path)
        firsts = {t["kind"]: t["fragments"][0]["time"] for t in d["tracks"]}
        rep.ok(d["problems"] == [], "inspect ffenc-%s: no problems" % layout, str(d["problems"][:3]))
        rep.ok(firsts == {"video": 213333, "audio": 0} and all(t["fragments"][0]["retimed"] for t in d["tracks"]),
               "inspect ffenc-%s: audio at 0, video at 213333 (start offset of the -213333 AAC start)" % layout,
               str(firsts))
    # ISO fMP4 with B-frames: FFmpeg's tfra times are sync-sample PTS, not the
    # fragment decode times (a false "matches no fragment" before).
    iso = os.path.join(odir, "iso.mp4")
    media.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", media.ensure_ffmpeg_encoded("ismv"), "-c", "copy",
               "-movflags", "frag_keyframe+empty_moov", "-f", "mp4", iso], what="ffmpeg fMP4")
    f = boxcheck.File(iso)
    tfra_times = [e["time"] for b in f.top("mfra") for c in b.children if c.type == "tfra"
                  for e in boxcheck.parse_tfra(c)["entries"]]
    d = inspect_json(iso)
    frag_times = set(fr["time"] for t in d["tracks"] for fr in t["fragments"])
    rep.ok(any(t not in frag_times for t in tfra_times) and not any("tfra" in p for p in d["problems"]),
           "inspect FFmpeg ISO fMP4: tfra entries at sync-sample presentation times are not problems",
           str(d["problems"][:3]))
    # manifest + export
    src = os.path.join(odir, "ffenc.ismv")
    shutil.copyfile(media.ensure_ffmpeg_encoded("ismv"), src)
    ism = os.path.join(odir, "ffenc.ism")
    p = gst_smooth("manifest", "-o", ism, src)
    rep.ok(p.returncode == 0, "manifest ffenc.ismv: exit 0", p.stderr[-300:])
    www = os.path.join(odir, "www")
    p = gst_smooth("export", "--out", www, ism)
    rep.ok(p.returncode == 0, "export ffenc.ism: exit 0", p.stderr[-300:])
    bad, n = [], 0
    for dirpath, _, names in os.walk(www):
        for name in names:
            m = re.match(r"Fragments\((\w+)=(\d+)\)$", name)
            if not m:
                continue
            n += 1
            with open(os.path.join(dirpath, name), "rb") as fh:
                body = fh.read()
            i = body.find(TFXD_UUID)
            t = struct.unpack(">Q", body[i + 20:i + 28])[0] if i >= 8 and body[i + 16] == 1 else None
            if t != int(m.group(2)):
                bad.append("%s: tfxd %s" % (name, t))
    rep.ok(n == 10 and not bad, "export: %d fragment files, each tfxd equal to its name's time" % n, str(bad[:4]))


def main(argv):
    media.require_tools("ffprobe", "gst-launch-1.0")
    media.require_muxer("ismvmux")
    media.require_elements("ismlmux", "qtdemux")
    tool()
    rep = media.Report(NAME)
    media.run_cases(rep, ["av", "bframes", "ladder"], case_inspect_muxers)
    media.run_cases(rep, ["bad"], case_inspect_bad)
    media.run_cases(rep, ["protection"], case_inspect_protection)
    media.run_cases(rep, ["manifests"], case_inspect_manifests)
    media.run_cases(rep, ["per-bitrate"], case_manifest_per_bitrate)
    media.run_cases(rep, ["multitrack"], case_manifest_multitrack)
    media.run_cases(rep, ["misaligned"], case_manifest_misaligned)
    media.run_cases(rep, ["ffenc"], case_ffmpeg_encoded)
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
