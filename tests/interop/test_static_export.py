#!/usr/bin/env python3
"""Interop: `gst-smooth export` output served by a plain web server (nginx)
plays to the end in GStreamer's Smooth Streaming clients.

1. The 3-bitrate ladder (+ AAC) is muxed by ismvmux and exported into
   ROOT/ladder.ism/ (so the manifest URL is .../ladder.ism/Manifest, the
   form [MS-SSTR] 2.2.1 gives). The export is checked without our code:
   Manifest == the .ismc; the Fragments files are exactly the URLs the
   .ismc's Url templates, bitrates and timeline give (expanded here); each
   is one moof + one mdat (boxcheck.py) of the .ism's trackID for that
   bitrate, with tfxd time == the t in its name, byte-identical to that
   fragment in the .ismv; each FragmentInfo file is that moof alone.
2. nginx (own config: daemon off, pid/logs/temp in a temp dir, 127.0.0.1 on
   a free port) serves ROOT. Through it:
     playbin  (mssdemux)  connection-speed=500  -> lowest level only
     playbin  (mssdemux)  connection-speed=900  -> middle level only
     playbin3 (mssdemux2) connection-speed=5000 -> highest level only
   each to EOS with fakesinks; decoded video frames (buffers after the
   decoder, counted with the log tracer on an identity in the video sink
   bin) == the 240 frames of the source, decoded audio buffers == the AAC
   frame count; the video caps have the level's size; nginx's access log
   shows only 200 responses and video requests for that level's bitrate;
   the demuxer's own pads (mssdemux vs mssdemux2) appear in the log.
3. Bad input: a manifest time without a media fragment, and a missing media
   file, fail the export with a message and write nothing.
"""

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import boxcheck  # noqa: E402
import media  # noqa: E402
from test_cli import gst_smooth, no_crash, parse_ism, parse_ismc  # noqa: E402

NAME = "test_static_export"
VIDEO_FRAMES = 240


class Nginx:
    """nginx serving `root` on 127.0.0.1:<free port>, stopped on exit."""

    def __init__(self, root, tmp):
        self.root, self.tmp = root, tmp
        self.proc = None
        self.port = None
        self.access_log = os.path.join(tmp, "access.log")

    def start(self):
        for attempt in range(3):
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
            conf = os.path.join(self.tmp, "nginx.conf")
            with open(conf, "w") as fh:
                # Workers of an nginx started as root drop to an unprivileged
                # user, which cannot read a checkout under a private (0700)
                # temp folder, as CI's is: keep them as root then.
                fh.write(("user root;\n" if os.geteuid() == 0 else "") + """daemon off;
worker_processes 1;
pid {t}/nginx.pid;
error_log {t}/error.log;
events {{ worker_connections 64; }}
http {{
  access_log {t}/access.log;
  client_body_temp_path {t}/body;
  proxy_temp_path {t}/proxy;
  fastcgi_temp_path {t}/fastcgi;
  uwsgi_temp_path {t}/uwsgi;
  scgi_temp_path {t}/scgi;
  default_type application/octet-stream;
  server {{
    listen 127.0.0.1:{port};
    root {root};
  }}
}}
""".format(t=self.tmp, port=self.port, root=self.root))
            self.proc = subprocess.Popen(["nginx", "-p", self.tmp, "-c", conf, "-e", os.path.join(self.tmp, "error.log")],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            deadline = time.time() + 5
            while time.time() < deadline and self.proc.poll() is None:
                try:
                    with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                        return
                except OSError:
                    time.sleep(0.05)
            err = self.stop()
            print("nginx attempt %d on port %d failed: %s" % (attempt + 1, self.port, err))
        raise media.Failure("nginx did not start")

    def stop(self):
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        self.proc = None
        return err

    def log_entries(self):
        """[(path, status)] from the access log, and truncates it."""
        with open(self.access_log) as fh:
            lines = fh.read().splitlines()
        open(self.access_log, "w").close()
        out = []
        for l in lines:
            m = re.search(r'"GET (\S+) HTTP/[\d.]+" (\d+)', l)
            if m:
                out.append((urllib.request.unquote(m.group(1)), int(m.group(2))))
        return out


def expected_urls(streams):
    """{url: (stream name, bitrate, t)} from the parsed .ismc."""
    urls = {}
    for s in streams:
        for q in s["levels"]:
            for t, _ in s["times"]:
                u = s["url"]
                for k in ("{bitrate}", "{Bitrate}"):
                    u = u.replace(k, q["Bitrate"])
                for k in ("{start time}", "{start_time}"):
                    u = u.replace(k, str(t))
                urls[u] = (s["name"], int(q["Bitrate"]), t)
    return urls


def check_export_files(rep, out, exp, streams):
    with open(out["ismc"], "rb") as a, open(os.path.join(exp, "Manifest"), "rb") as b:
        rep.ok(a.read() == b.read(), "Manifest == ladder.ismc")
    urls = expected_urls(streams)
    found, info = set(), set()
    for q in os.listdir(exp):
        if q.startswith("QualityLevels("):
            for f in os.listdir(os.path.join(exp, q)):
                (found if f.startswith("Fragments(") else info).add(q + "/" + f)
    rep.ok(found == set(urls), "Fragments files == the %d URLs of the manifest" % len(urls),
           "extra %s missing %s" % (sorted(found - set(urls))[:3], sorted(set(urls) - found)[:3]))
    rep.ok(info == {u.replace("/Fragments(", "/FragmentInfo(") for u in urls},
           "one FragmentInfo file per fragment (%d)" % len(info))
    _, tracks = parse_ism(out["ism"])
    track_of = {(t["params"]["trackName"], t["bitrate"]): int(t["params"]["trackID"]) for t in tracks}
    movie = boxcheck.Movie(out["ismv"])
    with open(out["ismv"], "rb") as fh:
        source = fh.read()
    bad = []
    for u, (name, bitrate, t) in sorted(urls.items()):
        path = os.path.join(exp, u)
        if not os.path.exists(path):
            continue
        frag = boxcheck.File(path)
        kinds = [b.type for b in frag.boxes]
        if kinds != ["moof", "mdat"]:
            bad.append("%s: top-level boxes %s" % (u, kinds))
            continue
        moof = frag.boxes[0]
        tfhd = boxcheck.parse_tfhd(moof.first("traf/tfhd"))
        tfxd = [c for c in moof.first("traf").children if c.type == "uuid" and c.uuid == boxcheck.UUID_TFXD]
        want_id = track_of.get((name, bitrate))
        if tfhd["track_id"] != want_id or not tfxd or boxcheck.parse_tfxd(tfxd[0])["time"] != t:
            bad.append("%s: track %s (want %s), tfxd %s" % (u, tfhd["track_id"], want_id,
                                                          tfxd and boxcheck.parse_tfxd(tfxd[0])))
            continue
        src = [f for f in movie.track_fragments(want_id) if f.tfxd["time"] == t]
        if len(src) != 1 or source[src[0].moof_offset:src[0].mdat.end] != frag.data:
            bad.append("%s: bytes differ from the fragment in the .ismv" % u)
            continue
        with open(os.path.join(exp, u.replace("/Fragments(", "/FragmentInfo(")), "rb") as fh:
            if fh.read() != source[src[0].moof_offset:src[0].moof_offset + src[0].moof_size]:
                bad.append("%s: FragmentInfo is not the moof" % u)
    rep.ok(not bad, "every Fragments file is moof+mdat of the right track, tfxd time == t, bytes == the .ismv; "
           "FragmentInfo == the moof", "; ".join(bad[:5]))


def play(rep, label, ngx, player, speed, demuxer, want_bitrate, want_width, audio_frames, video_bitrates,
         name="ladder.ism"):
    uri = "http://127.0.0.1:%d/%s/Manifest" % (ngx.port, name)
    args = ["gst-launch-1.0", player, "uri=" + uri,
            "video-sink=identity name=vcount ! fakesink sync=false",
            "audio-sink=identity name=acount ! fakesink sync=false",
            "connection-speed=%d" % speed]
    env = dict(os.environ)
    env["GST_TRACERS"] = "log"
    env["GST_DEBUG"] = "GST_BUFFER:7,GST_EVENT:7"
    env["GST_DEBUG_NO_COLOR"] = "1"
    env.pop("GST_DEBUG_FILE", None)
    with tempfile.TemporaryFile("w+", errors="replace") as log:
        try:
            p = subprocess.run(args, stdout=subprocess.PIPE, stderr=log, timeout=60, env=env, text=True)
        except subprocess.TimeoutExpired:
            rep.fail("%s: timed out: %s" % (label, " ".join(args)))
            return
        log.seek(0)
        text = log.read()
    rep.ok(p.returncode == 0 and "Got EOS" in p.stdout, "%s: played to EOS (%s)" % (label, " ".join(args[:2])),
           "exit %d\n%s\n%s" % (p.returncode, p.stdout[-1500:],
                                "\n".join(l for l in text.splitlines() if " ERROR " in l or " WARN " in l)[-1500:]))
    video = len(re.findall(r"do_push_buffer_pre:<vcount:src>", text))
    audio = len(re.findall(r"do_push_buffer_pre:<acount:src>", text))
    rep.ok(video == VIDEO_FRAMES, "%s: %d decoded video frames == %d" % (label, video, VIDEO_FRAMES))
    rep.ok(audio == audio_frames, "%s: %d decoded audio buffers == %d AAC frames" % (label, audio, audio_frames))
    widths = set(int(w) for w in re.findall(r"do_push_event_pre:<vcount:src>.*caps event.*?width\\?=\\?\(int\\?\)(\d+)",
                                            text))
    rep.ok(widths == {want_width}, "%s: decoded video is %d wide (caps widths %s)" % (label, want_width, widths))
    own = {"mssdemux": r"<mssdemux\d+:", "mssdemux2": r"<mssdemux2-\d+:"}[demuxer]
    rep.ok(re.search(own, text) is not None, "%s: played by %s" % (label, demuxer))
    entries = ngx.log_entries()
    statuses = sorted(set(s for _, s in entries))
    rep.ok(statuses == [200], "%s: nginx answered %d requests, all 200 (%s)" % (label, len(entries), statuses),
           str([e for e in entries if e[1] != 200][:5]))
    fetched = set()
    for path, _ in entries:
        m = re.search(r"/QualityLevels\((\d+)\)/Fragments\(video=", path)
        if m:
            fetched.add(int(m.group(1)))
    rep.ok(fetched == {want_bitrate}, "%s: video fragments only from QualityLevels(%d) (of %s)"
           % (label, want_bitrate, video_bitrates), "fetched %s" % fetched)


def case_export(rep, case):
    mp4 = media.ensure_media("ladder")
    odir = media.out_dir(NAME, "ladder")
    out = media.mux_ismvmux(mp4, odir, "ladder")
    root = os.path.join(odir, "www")
    exp = os.path.join(root, "ladder.ism")

    rep.section("export")
    p = gst_smooth("export", "--out", exp, out["ism"])
    rep.ok(p.returncode == 0 and p.stderr == "", "export --out www/ladder.ism ladder.ism: exit 0, no warnings",
           p.stderr[-1000:])
    rep.note(p.stdout.strip())
    if p.returncode != 0:
        return
    _, streams = parse_ismc(out["ismc"])
    check_export_files(rep, out, exp, streams)

    video = [s for s in streams if s["type"] == "video"][0]
    levels = sorted((int(q["Bitrate"]), int(q["MaxWidth"])) for q in video["levels"])
    movie = boxcheck.Movie(out["ismv"])
    audio_id = [tid for tid in movie.track_order if movie.tracks[tid].kind == "audio"][0]
    audio_frames = sum(len(f.samples) for f in movie.track_fragments(audio_id))
    rep.ok(len(levels) == 3 and levels[0][0] < 500000 < levels[1][0] < 900000 < levels[2][0] < 5000000,
           "ladder bitrates %s sit between the connection speeds used" % [b for b, _ in levels])

    rep.section("nginx + GStreamer clients")
    tmp = tempfile.mkdtemp(prefix="gst-smooth-nginx-")
    ngx = Nginx(root, tmp)
    try:
        ngx.start()
        with urllib.request.urlopen("http://127.0.0.1:%d/ladder.ism/Manifest" % ngx.port, timeout=10) as r:
            rep.ok(r.status == 200 and b"<SmoothStreamingMedia" in r.read(), "nginx serves the Manifest")
        ngx.log_entries()
        bitrates = [b for b, _ in levels]
        play(rep, "mssdemux low", ngx, "playbin", 500, "mssdemux", levels[0][0], levels[0][1], audio_frames, bitrates)
        play(rep, "mssdemux mid", ngx, "playbin", 900, "mssdemux", levels[1][0], levels[1][1], audio_frames, bitrates)
        play(rep, "mssdemux2 high", ngx, "playbin3", 5000, "mssdemux2", levels[2][0], levels[2][1], audio_frames,
             bitrates)
    finally:
        err = ngx.stop()
        if err.strip():
            rep.note("nginx stderr: " + err.strip()[:300])
        shutil.rmtree(tmp, ignore_errors=True)

    rep.section("export: bad input")
    bad = os.path.join(odir, "bad")
    os.makedirs(bad)
    with open(out["ism"]) as fh:
        ism_text = fh.read().replace('src="ladder.ismv"', 'src="../ladder.ismv"')
    with open(os.path.join(bad, "ladder.ism"), "w") as fh:
        fh.write(ism_text)
    with open(out["ismc"]) as fh:
        ismc_text = fh.read()
    # Audio's second fragment moved by one tick: its time exists in no media file.
    a_t1 = [s for s in streams if s["type"] == "audio"][0]["times"][1][0]
    first_c = re.search(r'(<StreamIndex Type="audio".*?<c t="0" d=")(\d+)(")', ismc_text, re.S)
    if not first_c:
        raise media.Failure("unexpected .ismc layout")
    ismc_bad = ismc_text[:first_c.start(2)] + str(int(first_c.group(2)) + 1) + ismc_text[first_c.end(2):]
    with open(os.path.join(bad, "ladder.ismc"), "w") as fh:
        fh.write(ismc_bad)
    bad_out = os.path.join(bad, "www", "ladder.ism")
    p = gst_smooth("export", "--out", bad_out, os.path.join(bad, "ladder.ism"))
    no_crash(rep, p, "export with a manifest time missing from the media")
    rep.ok("Fragments(audio=%d)" % (a_t1 + 1) in p.stderr, "the unknown fragment is named (audio=%d)" % (a_t1 + 1),
           p.stderr[-500:])
    rep.ok(not os.path.exists(os.path.join(bad, "www")), "nothing written")

    with open(os.path.join(bad, "ladder.ism"), "w") as fh:
        fh.write(ism_text.replace("../ladder.ismv", "../gone.ismv"))
    p = gst_smooth("export", "--out", bad_out, os.path.join(bad, "ladder.ism"))
    no_crash(rep, p, "export with a missing media file")
    rep.ok("gone.ismv" in p.stderr and not os.path.exists(os.path.join(bad, "www")),
           "the missing file is named; nothing written", p.stderr[-300:])
    p = gst_smooth("export", out["ism"])
    rep.ok(p.returncode == 2 and "--out" in p.stderr, "export without --out: exit 2")


def case_shared_moof(rep, case):
    """A fragmented MP4 whose moofs carry both tracks (ffmpeg's default
    fMP4): export writes each fragment with a moof of its own track, whose
    mdat holds exactly that track's sample bytes of the source moof; served
    by nginx, it plays in mssdemux."""
    rep.section("export: moofs shared by video and audio (ffmpeg fMP4)")
    src_mp4 = media.ensure_media("ladder")
    odir = media.out_dir(NAME, "shared")
    shared = os.path.join(odir, "shared.mp4")
    media.make_shared_moof_fmp4(src_mp4, shared)
    movie = boxcheck.Movie(shared)
    by_moof = {}
    for f in movie.fragments:
        by_moof.setdefault(f.moof_offset, []).append(f)
    rep.ok(any(len(v) == 2 for v in by_moof.values()), "ffmpeg wrote moofs that carry both tracks")
    ism = os.path.join(odir, "shared.ism")
    p = gst_smooth("manifest", "-o", ism, shared)
    rep.ok(p.returncode == 0, "manifest -o shared.ism shared.mp4", p.stderr[-500:])
    root = os.path.join(odir, "www")
    exp = os.path.join(root, "shared.ism")
    p = gst_smooth("export", "--out", exp, ism)
    rep.ok(p.returncode == 0 and "rewritten" in p.stdout, "export writes the shared fragments (exit 0)",
           "exit %d: %s %s" % (p.returncode, p.stdout[-300:], p.stderr[-500:]))
    if p.returncode != 0:
        return
    rep.note(p.stdout.strip())
    _, streams = parse_ismc(ism + "c")
    urls = expected_urls(streams)
    with open(shared, "rb") as fh:
        source = fh.read()
    kind_id = {movie.tracks[t].kind: t for t in movie.track_order}
    bad = []
    for u, (name, _, t) in sorted(urls.items()):
        tid = kind_id["video" if name == "video" else "audio"]
        src = [f for f in movie.track_fragments(tid) if f.tfdt == t]
        frag = boxcheck.File(os.path.join(exp, u))
        kinds = [b.type for b in frag.boxes]
        if len(src) != 1 or kinds != ["moof", "mdat"]:
            bad.append("%s: %d source fragments, boxes %s" % (u, len(src), kinds))
            continue
        trafs = frag.boxes[0].find("traf")
        tfhd = boxcheck.parse_tfhd(trafs[0].first("tfhd"))
        # A rewritten moof carries tfxd; a fragment that was alone in its moof
        # keeps the source's bytes (tfdt, no tfxd).
        tfxd = [boxcheck.parse_tfxd(c)["time"] for c in trafs[0].children
                if c.type == "uuid" and c.uuid == boxcheck.UUID_TFXD]
        tfdt = [boxcheck.parse_tfdt(c) for c in trafs[0].children if c.type == "tfdt"]
        shared_src = len(by_moof[src[0].moof_offset]) > 1
        time_ok = tfxd == [t] if shared_src else (tfxd or tfdt) == [t]
        want = b"".join(source[x["offset"]:x["offset"] + x["size"]] for x in src[0].samples)
        if len(trafs) != 1 or tfhd["track_id"] != tid or not time_ok:
            bad.append("%s: %d trafs, track %d, tfxd %s tfdt %s" % (u, len(trafs), tfhd["track_id"], tfxd, tfdt))
        elif frag.boxes[1].payload() != want:
            bad.append("%s: mdat is not the track's %d sample bytes" % (u, len(src[0].samples)))
        with open(os.path.join(exp, u.replace("/Fragments(", "/FragmentInfo(")), "rb") as fh:
            if fh.read() != frag.data[:frag.boxes[0].size]:
                bad.append("%s: FragmentInfo is not its moof" % u)
    rep.ok(not bad and urls, "each of the %d fragments: one traf of its track, time == t (tfxd when rewritten), mdat == the source's "
           "samples of that track; FragmentInfo == the new moof" % len(urls), "; ".join(bad[:4]))

    audio_frames = sum(len(f.samples) for f in movie.track_fragments(kind_id["audio"]))
    video = [s for s in streams if s["type"] == "video"][0]
    level = (int(video["levels"][0]["Bitrate"]), int(video["levels"][0]["MaxWidth"]))
    tmp = tempfile.mkdtemp(prefix="gst-smooth-nginx-")
    ngx = Nginx(root, tmp)
    try:
        ngx.start()
        play(rep, "shared moofs, mssdemux", ngx, "playbin", 5000, "mssdemux", level[0], level[1], audio_frames,
             [level[0]], name="shared.ism")
    finally:
        ngx.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv):
    media.require_tools("nginx", "gst-launch-1.0", "ffprobe")
    media.require_elements("mssdemux", "mssdemux2", "playbin", "playbin3", "souphttpsrc", "identity", "fakesink")
    media.require_muxer("ismvmux")
    rep = media.Report(NAME)
    media.run_cases(rep, ["ladder"], case_export)
    media.run_cases(rep, ["shared"], case_shared_moof)
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
