#!/usr/bin/env python3
"""Interop: ismdemux reads what other muxers write, and peers read what it gives.

Producers of Smooth Streaming media, for the generated test media:
  ismvmux      our muxer (qtdemux ! parsers ! ismvmux)
  ffmpeg       `ffmpeg -c copy -f ismv` (tfxd, no tfdt, mfra)
  ffmpeg-live  `ffmpeg -movflags isml+frag_keyframe -f ismv` to a file: the
               live ingest layout (Live Server Manifest box, empty mfra)
  ismlmux      GStreamer's ismlmux (tfdt, no tfxd, sdtp)
  http-push    FFmpeg pushing a live ingest stream by chunked HTTP POST to a
               small Python server on 127.0.0.1, which saves the body

For each file it asserts:
  - the typefinder says video/x-ms-ismv;
  - decoded video frames (avdec_h264 -> I420 -> checksumsink: PTS + SHA1 of
    every picture) through ismdemux equal those through qtdemux, in pull
    mode and in push mode (a queue, or a real pipe for http-push); the same
    for decoded audio where listed; the frame count is the input's;
and once:
  - playbin and playbin3 plug ismdemux for an .ismv and qtdemux for the mp4;
  - `ismdemux ! h264parse/aacparse ! mp4mux` writes a plain MP4: ffprobe
    counts the input's packets, the video frame MD5s equal the input's, and
    no uuid box (tfxd, PIFF) is left;
  - `ismdemux ! ismvmux` of a file ismvmux wrote writes the same .ismv,
    .ism and .ismc bytes, also for an FFmpeg encode whose audio fragment
    boundary falls exactly halfway between two AAC frames (a tie once
    decided on nanoseconds, so the re-mux moved it by a frame).
Seeks on a real encode (accurate and key-unit, forwards and backwards,
decoded with avdec_h264 and compared with qtdemux) are in the check suite
(tests/check/test_ismdemux.cc, test_real_seeks_land_on_frame).

Options: CASE... (av bframes ladder audio44k)
"""

import http.server
import os
import re
import struct
import subprocess
import sys
import threading

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import boxcheck
import media

Q = ["queue", "max-size-buffers=0", "max-size-bytes=0", "max-size-time=0"]


def gst_args(*parts):
    out = ["gst-launch-1.0", "-q"]
    for p in parts:
        out += p if isinstance(p, list) else p.split()
    return out


def decode_chain(kind):
    if kind == "video":
        return ["avdec_h264", "!", "videoconvert", "!", "video/x-raw,format=I420"]
    return ["avdec_aac", "!", "audioconvert", "!", "audio/x-raw,format=S16LE"]


def checksums(path, demuxer, pad, push=False, stdin_pipe=False):
    """[(pts, sha1)] of every decoded buffer of `pad`."""
    kind = pad.split("_")[0]
    if stdin_pipe:
        src = ["fdsrc", "fd=0"]
    else:
        src = ["filesrc", "location=" + path] + (["!"] + Q if push else [])
    args = (["gst-launch-1.0", "-q"] + src + ["!", demuxer, "name=d", "d." + pad, "!"] + Q + ["!"]
            + decode_chain(kind) + ["!", "checksumsink", "sync=false"])
    if stdin_pipe:
        with open(path, "rb") as f:
            p = subprocess.run(args, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120,
                               text=True)
    else:
        p = media.run(args, what="%s decode" % demuxer, check=False)
    if p.returncode != 0 or "ERROR" in p.stderr:
        raise media.Failure("%s failed on %s: %s\n%s" % (demuxer, path, " ".join(args), p.stderr[-2000:]))
    out = []
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and re.match(r"^\d+:\d\d:\d\d\.\d+$", parts[0]):
            out.append((parts[0], parts[1]))
    return out


def typefind(path):
    p = media.run(["gst-typefind-1.0", path], what="gst-typefind")
    return p.stdout.strip().split(" - ", 1)[-1]


# ---------------------------------------------------------------- producers

def produce_ismlmux(mp4, odir, name):
    out = os.path.join(odir, name + ".ismv")
    args = ["gst-launch-1.0", "-q", "-e", "filesrc", "location=" + mp4, "!", "qtdemux", "name=d"]
    for t in media.track_pads(media.ffprobe_streams(mp4)):
        args += ["d." + t["pad"], "!"] + Q + ["!", "mux." + t["pad"]]
    args += ["ismlmux", "name=mux", "fragment-duration=2000", "!", "filesink", "location=" + out]
    media.run(args, what="ismlmux")
    return out


def produce_ffmpeg_live(mp4, odir, name):
    out = os.path.join(odir, name + ".ismv")
    media.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", mp4, "-map", "0", "-c", "copy", "-movflags",
               "isml+frag_keyframe", "-f", "ismv", out], what="ffmpeg isml")
    return out


class _IngestHandler(http.server.BaseHTTPRequestHandler):
    """Saves the (chunked) body of each POST, like a live ingest point."""
    protocol_version = "HTTP/1.1"
    bodies = []

    def do_POST(self):  # noqa: N802 (http.server naming)
        body = bytearray()
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            while True:
                line = self.rfile.readline()
                if not line:
                    break
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    self.rfile.readline()
                    break
                body += self.rfile.read(n)
                self.rfile.readline()
        else:
            body += self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _IngestHandler.bodies.append((self.path, bytes(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def produce_http_push(mp4, odir, name):
    out = os.path.join(odir, name + ".ismv")
    _IngestHandler.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _IngestHandler)
    # FFmpeg may exit before its handler has stored the body: server_close()
    # then waits for the handler threads (they are not daemons).
    server.daemon_threads = False
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        url = "http://127.0.0.1:%d/pub.isml/Streams(test)" % server.server_address[1]
        media.run(["ffmpeg", "-nostdin", "-v", "error", "-i", mp4, "-map", "0", "-c", "copy", "-movflags",
                   "isml+frag_keyframe", "-f", "ismv", url], timeout=60, what="ffmpeg live push")
    finally:
        server.shutdown()
        server.server_close()
    bodies = [b for p, b in _IngestHandler.bodies if "Streams(test)" in p and len(b) > 0]
    if not bodies:
        raise media.Failure("the ingest server received no POST body")
    with open(out, "wb") as f:
        f.write(max(bodies, key=len))
    return out


PRODUCERS = {
    "ismvmux": lambda mp4, odir, name: media.mux_ismvmux(mp4, odir, name)["ismv"],
    "ffmpeg": lambda mp4, odir, name: media.mux_ffmpeg(mp4, odir, name)["ismv"],
    "ffmpeg-live": produce_ffmpeg_live,
    "ismlmux": produce_ismlmux,
    "http-push": produce_http_push,
}

# Which producers each case goes through (keeps the test well under a minute).
PLAN = {
    "av": ["ismvmux", "ffmpeg", "ffmpeg-live", "ismlmux", "http-push"],
    "bframes": ["ismvmux", "ffmpeg", "ismlmux"],
    "ladder": ["ismvmux"],
    "audio44k": ["ffmpeg"],
}
AUDIO_CHECKED = {("av", "ismvmux"), ("av", "ffmpeg"), ("av", "ismlmux"), ("audio44k", "ffmpeg")}


def check_file(rep, case, producer, path, src_counts):
    tag = "%s/%s" % (case, producer)
    rep.ok(typefind(path) == "video/x-ms-ismv", "%s: typefinder says video/x-ms-ismv" % tag, typefind(path))
    f = boxcheck.File(path)
    if producer in ("ffmpeg-live", "http-push"):
        names = [b.name for b in f.boxes]
        rep.ok(len(names) > 2 and names[0] == "ftyp" and names[1] == "uuid[live-server-manifest]"
               and names[-1] == "mfra", "%s: live ingest layout (ftyp, Live Server Manifest, ..., mfra)" % tag,
               str(names[:3] + names[-1:]))
    pads = media.track_pads(media.ffprobe_streams(path))
    for t in pads:
        pad = t["pad"]
        if t["kind"] == "audio" and (case, producer) not in AUDIO_CHECKED:
            continue
        ref = checksums(path, "qtdemux", pad)
        got = checksums(path, "ismdemux", pad)
        want_n = src_counts.get(pad)
        if t["kind"] == "video":
            rep.ok(len(got) == want_n, "%s %s: %d decoded frames (input has %s)" % (tag, pad, len(got), want_n))
        rep.ok(got == ref and len(got) > 0, "%s %s: pull-mode decode equals qtdemux's (%d buffers, PTS + SHA1)"
               % (tag, pad, len(ref)), first_difference(ref, got))
        if t["kind"] == "video" and pad == "video_0":
            pushed = checksums(path, "ismdemux", pad, stdin_pipe=producer == "http-push",
                               push=producer != "http-push")
            how = "from a pipe (fdsrc)" if producer == "http-push" else "push mode (queue)"
            rep.ok(pushed == ref, "%s %s: %s decode equals qtdemux's" % (tag, pad, how),
                   first_difference(ref, pushed))


def first_difference(a, b):
    if len(a) != len(b):
        return "%d vs %d buffers" % (len(a), len(b))
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return "buffer %d: %s vs %s" % (i, x, y)
    return ""


def check_case(rep, case):
    rep.section("%s: %s" % (case, media.CASES[case]))
    mp4 = media.ensure_media(case)
    src_counts = {t["pad"]: int(t["stream"]["nb_read_packets"])
                  for t in media.track_pads(media.ffprobe_streams(mp4, count_packets=True))}
    for producer in PLAN[case]:
        odir = media.out_dir("ismdemux", "%s-%s" % (case, producer))
        try:
            path = PRODUCERS[producer](mp4, odir, case)
        except media.Failure as e:
            rep.fail("%s/%s: producing the input failed: %s" % (case, producer, e))
            continue
        check_file(rep, case, producer, path, src_counts)


def check_playbin(rep):
    rep.section("playbin / playbin3 pick ismdemux for Smooth Streaming files only")
    mp4 = media.ensure_media("av")
    ismv = media.mux_ismvmux(mp4, media.out_dir("ismdemux", "playbin"), "av")["ismv"]
    env = dict(os.environ)
    env["GST_DEBUG"] = "GST_ELEMENT_FACTORY:4"
    env["GST_DEBUG_NO_COLOR"] = "1"
    for player in ("playbin", "playbin3"):
        for path, want, other in ((ismv, "ismdemux", "qtdemux"), (mp4, "qtdemux", "ismdemux")):
            args = ["gst-launch-1.0", "-q", player, "uri=file://" + os.path.abspath(path),
                    "video-sink=fakesink sync=false", "audio-sink=fakesink sync=false"]
            p = media.run(args, env=env, what=player, check=False)
            made = set(re.findall(r'creating element "([a-z0-9_]+)"', p.stderr))
            rep.ok(p.returncode == 0 and want in made and other not in made,
                   "%s %s: plugs %s, not %s" % (player, os.path.basename(path), want, other),
                   "exit %d, demuxers created: %s" % (p.returncode, sorted(x for x in made if "demux" in x)))


def check_ffmpeg_encoded(rep, layout):
    """FFmpeg's own AAC starts at minus its priming (a negative tfxd). Every
    sample comes out, as from qtdemux; video running times equal qtdemux's;
    audio keeps the file's timeline: its running times are qtdemux's minus
    the priming (qtdemux and ffprobe start the track at zero instead), so the
    priming frame lies before the segment start and is clipped; playbin plays
    the file (it failed with "sample offsets or times overflow")."""
    rep.section("FFmpeg-encoded %s (negative AAC start): ismdemux reads it like qtdemux" % layout)
    path = media.ensure_ffmpeg_encoded(layout)
    f = boxcheck.File(path)
    rep.ok(typefind(path) == "video/x-ms-ismv", "ffenc-%s: our typefinder claims it" % layout, typefind(path))
    ref = media.qtdemux_buffers(path)
    priming_ns = None
    for push in (False, True):
        mode = "push" if push else "pull"
        got = media.qtdemux_buffers(path, demuxer="ismdemux", push=push)
        for pad in sorted(ref):
            r, g = ref[pad], got.get(pad)
            if not rep.ok(g is not None and len(g["buffers"]) == len(r["buffers"]) > 0,
                          "ffenc-%s %s %s: %d buffers, as qtdemux" % (layout, mode, pad, len(r["buffers"])),
                          "got %s" % (len(g["buffers"]) if g else None)):
                continue
            rep.ok([b["size"] for b in g["buffers"]] == [b["size"] for b in r["buffers"]],
                   "ffenc-%s %s %s: same samples in the same order (sizes)" % (layout, mode, pad))
            rt_r = [b["pts"] - r["segment"]["start"] for b in r["buffers"]]
            rt_g = [b["pts"] - g["segment"]["start"] for b in g["buffers"]]
            diffs = sorted(set(a - b for a, b in zip(rt_r, rt_g)))
            if pad.startswith("video"):
                rep.ok(max(abs(d) for d in diffs) <= 1, "ffenc-%s %s %s: running times equal qtdemux's (+-1 ns)"
                       % (layout, mode, pad), "differences %s" % diffs[:5])
            else:
                # The priming: 1024 samples at 48 kHz, as ticks of 100 ns.
                want = 21333300
                rep.ok(max(abs(d - want) for d in diffs) <= 100,
                       "ffenc-%s %s %s: running times are qtdemux's minus the 21.33 ms priming" % (layout, mode, pad),
                       "differences %s" % diffs[:5])
                rep.ok(rt_g[0] < 0 <= rt_g[1], "ffenc-%s %s %s: the priming frame (only) lies before the segment"
                       % (layout, mode, pad), str(rt_g[:2]))
                priming_ns = rt_g[0]
    p = media.run(["gst-launch-1.0", "-q", "playbin", "uri=file://" + os.path.abspath(path),
                   "video-sink=fakesink sync=false", "audio-sink=fakesink sync=false"], check=False, what="playbin")
    rep.ok(p.returncode == 0 and "ERROR" not in p.stderr, "ffenc-%s: playbin plays it to the end" % layout,
           p.stderr[-800:])
    vref = [sha for _, sha in checksums(path, "qtdemux", "video_0")]
    vgot = [sha for _, sha in checksums(path, "ismdemux", "video_0")]
    rep.ok(vref == vgot and len(vref) == 240, "ffenc-%s: 240 decoded video frames equal qtdemux's" % layout,
           first_difference(vref, vgot))
    return priming_ns, f


def check_truncated(rep):
    """A file cut inside its last video mdat: pull mode plays every sample
    that is wholly in the file, as push mode does (it used to drop the whole
    partly present fragment)."""
    rep.section("truncated file: what is in the file plays (pull and push)")
    mp4 = media.ensure_media("av")
    odir = media.out_dir("ismdemux", "truncated")
    ismv = media.mux_ismvmux(mp4, odir, "av")["ismv"]
    movie = boxcheck.Movie(ismv)
    vid = [t for t in movie.track_order if movie.tracks[t].kind == "video"][0]
    last = movie.track_fragments(vid)[-1]
    cut = last.samples[len(last.samples) // 2]["offset"] + 10  # inside a sample
    path = os.path.join(odir, "cut.ismv")
    with open(ismv, "rb") as src, open(path, "wb") as dst:
        dst.write(src.read(cut))
    want = sum(len(f.samples) for f in movie.track_fragments(vid)[:-1]) + \
        sum(1 for smp in last.samples if smp["offset"] + smp["size"] <= cut)
    got = {}
    for push in (False, True):
        res = media.qtdemux_buffers(path, demuxer="ismdemux", push=push)
        got["push" if push else "pull"] = len(res["video_0"]["buffers"])
    ff = media.run(["ffprobe", "-v", "error", "-count_packets", "-select_streams", "v", "-show_entries",
                    "stream=nb_read_packets", "-of", "csv=p=0", path], what="ffprobe", check=False).stdout.strip()
    # ffprobe also hands out the cut sample, partly; we do not.
    rep.ok(got["pull"] == got["push"] == want and ff in (str(want), str(want + 1)),
           "cut file: %d whole video samples in pull and push mode (ffprobe: %s with the cut one)" % (want, ff),
           "pull %d, push %d, ffprobe %s" % (got["pull"], got["push"], ff))


def check_absurd_offset(rep, plugin_path=None):
    """One trun entry corrupted to a composition offset of -95 s (two bytes):
    plain queues used to deadlock in preroll and inspect said nothing. Now
    inspect reports it, and playback reaches EOS with a warning."""
    rep.section("a damaged composition offset (-95 s in one trun entry)")
    mp4 = media.ensure_media("bframes")
    odir = media.out_dir("ismdemux", "absurd-cto")
    ismv = media.mux_ismvmux(mp4, odir, "bframes")["ismv"]
    f = boxcheck.File(ismv)
    data = bytearray(f.data)
    trun = None

    def find(bs):
        nonlocal trun
        for b in bs:
            if b.type == "trun" and trun is None and boxcheck.parse_trun(b)["flags"] & boxcheck.TRUN_CTO:
                trun = b
            find(b.children)
    find(f.boxes)
    r = boxcheck.parse_trun(trun)
    flags = r["flags"]
    hdr = trun.offset + 12 + 4 + (4 if flags & boxcheck.TRUN_DATA_OFFSET else 0) + \
        (4 if flags & boxcheck.TRUN_FIRST_SAMPLE_FLAGS else 0)
    fields = [fl for fl in (boxcheck.TRUN_DURATION, boxcheck.TRUN_SIZE, boxcheck.TRUN_FLAGS, boxcheck.TRUN_CTO)
              if flags & fl]
    k = 5
    pos = hdr + 4 * len(fields) * k + 4 * fields.index(boxcheck.TRUN_CTO)
    struct.pack_into(">i", data, pos, -950000000)
    path = os.path.join(odir, "absurd.ismv")
    with open(path, "wb") as fh:
        fh.write(data)
    tool = os.path.join(media.build_dir(), "tools", "gst-smooth")
    p = media.run([tool, "inspect", path], what="inspect", check=False)
    rep.ok("composition offset beyond" in p.stdout, "inspect reports the damaged composition offset",
           p.stdout[-600:])
    env = dict(os.environ)
    if plugin_path:
        env["GST_PLUGIN_PATH_1_0"] = plugin_path
    # Clock-synced sinks behind plain queues: the damaged offset moved the
    # whole video track (its shift) by 95 s, so preroll never completed.
    args = ["gst-launch-1.0", "filesrc", "location=" + path, "!", "ismdemux", "name=d",
            "d.video_0", "!", "queue", "!", "fakesink", "sync=true",
            "d.audio_0", "!", "queue", "!", "fakesink", "sync=true"]
    try:
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=30, env=env)
        rc, out = p.returncode, p.stdout
    except subprocess.TimeoutExpired:
        rc, out = None, "timed out after 30 s (preroll deadlock)"
    rep.ok(rc == 0 and "Damaged composition offset" in out,
           "plain queues: EOS with a warning about the damaged offset", "exit %s: %s" % (rc, out[-800:]))


def check_leaves_unsupported_to_qtdemux(rep):
    """An FFmpeg -f ismv file with HEVC video: ismdemux would play only its
    audio, qtdemux plays both. The typefinder must leave it to qtdemux, in
    pull and push mode, so that installing gst-smooth breaks nothing."""
    rep.section("HEVC in a Smooth Streaming file: left to qtdemux")
    media.require_tools("ffmpeg")
    odir = media.out_dir("ismdemux", "hevc")
    path = os.path.join(odir, "hevc.ismv")
    media.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=24:d=2",
               "-f", "lavfi", "-i", "sine=d=2:r=48000", "-c:v", "libx265", "-x265-params", "log-level=error",
               "-g", "24", "-c:a", "aac", "-f", "ismv", path], what="ffmpeg libx265 ismv")
    rep.ok(typefind(path).startswith("video/quicktime"), "gst-typefind: video/quicktime, not ours", typefind(path))
    p = subprocess.run(["sh", "-c", "cat '%s' | gst-launch-1.0 -v fdsrc ! typefind ! fakesink" % path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
    m = re.search(r"typefindelement0.GstPad:src: caps = ([a-z/-]+)", p.stdout)
    rep.ok(m is not None and m.group(1) == "video/quicktime", "push-mode typefind: video/quicktime",
           m.group(1) if m else p.stdout[-300:])
    env = dict(os.environ)
    env["GST_DEBUG"] = "GST_ELEMENT_FACTORY:4"
    env["GST_DEBUG_NO_COLOR"] = "1"
    p = media.run(["gst-launch-1.0", "-q", "playbin", "uri=file://" + path, "video-sink=fakesink sync=false",
                   "audio-sink=fakesink sync=false"], env=env, what="playbin", check=False)
    made = set(re.findall(r'creating element "([a-z0-9_]+)"', p.stderr))
    rep.ok(p.returncode == 0 and "qtdemux" in made and "ismdemux" not in made and "avdec_h265" in made,
           "playbin plays it through qtdemux and decodes the HEVC video", str(sorted(x for x in made if "de" in x)))


def check_transmux(rep, case):
    rep.section("transmux %s: ismdemux ! mp4mux gives a plain MP4" % case)
    mp4 = media.ensure_media(case)
    odir = media.out_dir("ismdemux", "transmux-" + case)
    ismv = media.mux_ismvmux(mp4, odir, case)["ismv"]
    out = os.path.join(odir, case + "-plain.mp4")
    args = ["gst-launch-1.0", "-q", "-e", "filesrc", "location=" + ismv, "!", "ismdemux", "name=d",
            "d.video_0", "!"] + Q + ["!", "h264parse", "!", "mp4mux", "name=m", "!", "filesink", "location=" + out,
            "d.audio_0", "!"] + Q + ["!", "aacparse", "!", "m."]
    media.run(args, what="transmux")
    print("  transmux: " + " ".join(args))
    want = {t["kind"]: int(t["stream"]["nb_read_packets"])
            for t in media.track_pads(media.ffprobe_streams(mp4, count_packets=True))}
    got = {t["kind"]: int(t["stream"]["nb_read_packets"])
           for t in media.track_pads(media.ffprobe_streams(out, count_packets=True))}
    rep.ok(got == want, "%s: ffprobe packet counts %s" % (case, want), str(got))
    f = boxcheck.File(out)
    names = set()

    def walk(bs):
        for b in bs:
            names.add(b.name)
            walk(b.children)
    walk(f.boxes)
    rep.ok(not any(n.startswith("uuid") for n in names) and "moof" not in names,
           "%s: no uuid boxes, not fragmented (%s)" % (case, ", ".join(sorted(n for n in names if len(n) == 4)[:8])),
           str(sorted(names)))

    def md5s(path):
        p = media.run(["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-"],
                      what="framemd5")
        return [l.split(",")[-1].strip() for l in p.stdout.splitlines() if l and not l.startswith("#")]
    a, b = md5s(mp4), md5s(out)
    rep.ok(a == b and len(a) > 0, "%s: decoded video frames of the MP4 equal the input's (%d)" % (case, len(a)),
           "%d vs %d frames" % (len(a), len(b)))


def check_remux_stable(rep, name, mp4):
    """ismvmux's own file through ismdemux ! ismvmux gives the same bytes.
    The FFmpeg encode starts its audio 1024 samples (its AAC priming) before
    the video, so the 4 s video keyframe lies exactly halfway between two
    AAC frames (188.5 frames of 21.333 ms): the tie rule must decide it on
    the file's ticks, as the re-mux sees them."""
    rep.section("re-mux %s: ismdemux ! ismvmux of our own file is byte-identical" % name)
    odir = media.out_dir("ismdemux", "remux-" + name)
    os.makedirs(os.path.join(odir, "first"), exist_ok=True)
    first = media.mux_ismvmux(mp4, os.path.join(odir, "first"), "out", {"media-file-name": "out.ismv"})
    os.makedirs(os.path.join(odir, "again"), exist_ok=True)
    again = {k: os.path.join(odir, "again", "out." + k) for k in ("ismv", "ism", "ismc")}
    args = ["gst-launch-1.0", "-q", "-e", "filesrc", "location=" + first["ismv"], "!", "ismdemux", "name=d"]
    for t in media.track_pads(media.ffprobe_streams(first["ismv"])):
        args += ["d." + t["pad"], "!"] + Q + ["!", "mux." + t["pad"]]
    args += ["ismvmux", "name=mux", "server-manifest=" + again["ism"], "client-manifest=" + again["ismc"],
             "media-file-name=out.ismv", "!", "filesink", "location=" + again["ismv"]]
    media.run(args, what="re-mux")
    for k in ("ismv", "ism", "ismc"):
        with open(first[k], "rb") as a, open(again[k], "rb") as b:
            x, y = a.read(), b.read()
        at = next((i for i in range(min(len(x), len(y))) if x[i] != y[i]), min(len(x), len(y)))
        rep.ok(x == y, "%s: the re-muxed .%s is byte-identical (%d bytes)" % (name, k, len(x)),
               "%s and %s differ from byte %d (%d vs %d bytes)" % (first[k], again[k], at, len(x), len(y)))


def main(argv):
    media.require_tools("ffmpeg", "ffprobe")
    media.require_elements("qtdemux", "avdec_h264", "avdec_aac", "checksumsink", "mp4mux", "ismlmux")
    if not media.have_element("ismdemux"):
        media.die("element 'ismdemux' not found (GST_PLUGIN_PATH_1_0=%s): a failure, not a skip"
                  % os.environ.get("GST_PLUGIN_PATH_1_0", "<unset>"))
    rep = media.Report("test_ismdemux")
    cases = [a for a in argv[1:] if a in PLAN] or list(PLAN)
    media.run_cases(rep, cases, check_case)
    for layout in ("ismv", "isml"):
        try:
            check_ffmpeg_encoded(rep, layout)
        except media.Failure as e:
            rep.fail("ffmpeg-encoded %s: %s" % (layout, e))
    try:
        check_leaves_unsupported_to_qtdemux(rep)
    except media.Failure as e:
        rep.fail("hevc: %s" % e)
    try:
        check_absurd_offset(rep)
    except media.Failure as e:
        rep.fail("absurd offset: %s" % e)
    try:
        check_truncated(rep)
    except media.Failure as e:
        rep.fail("truncated: %s" % e)
    try:
        check_playbin(rep)
    except media.Failure as e:
        rep.fail("playbin: %s" % e)
    for name, make in (("av", lambda: media.ensure_media("av")),
                       ("ffenc-mp4", lambda: media.ensure_ffmpeg_encoded("mp4"))):
        try:
            check_remux_stable(rep, name, make())
        except media.Failure as e:
            rep.fail("re-mux %s: %s" % (name, e))
    for case in ("av", "bframes"):
        try:
            check_transmux(rep, case)
        except media.Failure as e:
            rep.fail("transmux %s: %s" % (case, e))
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
