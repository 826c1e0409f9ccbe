#!/usr/bin/env python3
"""Interop: live publishing points in `gst-smooth serve` (ingest POSTs, live GETs).

Encoder bodies come from FFmpeg: its live push (`-movflags isml+frag_keyframe
-f ismv http://.../NAME.isml/Streams(id)`, a peer we did not write) and an
FFmpeg isml file (ftyp, Live Server Manifest, moov, fragments, mfra) POSTed by
a python client in paced chunks. Everything on loopback, waits bounded:
  - without --ingest a POST gets 403 (and a chunked one is closed at once);
    with --ingest-declared-only only points with a definition file
    ROOT/DIR/NAME.isml are created, with its lookahead and dvr-window;
  - the probe POST (Content-Length: 0) gets 200; --ingest-token and
    --ingest-user: none / wrong -> 401 with WWW-Authenticate, right -> 200;
    neither secret appears in serve's stdout or stderr;
  - POST to a VOD .ism -> 405; garbage -> 400 and closed; a huge box -> 400;
    a header then only free boxes, and 1 byte per second -> 408 and closed
    within --ingest-timeout (+1 s); meanwhile another point takes a whole
    stream (200) and serves its manifest;
  - FFmpeg's push: a running manifest (IsLive=TRUE) whose timeline grows,
    fragments 200 video/mp4 with tfxd and tfrf, a future fragment 412, one
    outside --dvr-window 410;
  - the issue's exact plain push (no -b:v, systemBitrate="0"): 200, the
    measured bitrate in the manifest, its fragments 200, the same bitrate
    in the archive's .ism after the end;
  - point names with a control character, an empty, "." or ".." segment, or
    over 200 bytes -> 400 and no folder; a folder holding only previous/
    -> 404 for a GET (not 409), and a POST starts the point;
  - two streams (video alone, audio alone) into one point: one manifest;
  - two streams video_lo+audio and video_hi+audio with identical audio
    (digest 4.3): two video QualityLevels, one audio track listing each
    fragment once, the second copy's repeats counted as duplicates;
  - two connections with the same stream id (redundant encoders): one
    timeline entry per fragment, the duplicates counted; a reconnect with a
    different header -> 409 with the point's message;
  - the end (mfra): the point stops, its archive is a VOD asset served by the
    same server and `gst-smooth inspect` passes;
  - kill -9 and a restart on the same root: the encoder's reconnect goes on
    and the archive has every fragment once.
"""

import http.client
import os
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import boxcheck
import media
import test_origin as to

TOKEN = "tok-5f2a9c-secret"
# FFmpeg without -b:v writes systemBitrate="0": the point measures such a
# track's bitrate from its first fragment (docs/live-serving.md); the pushes
# here use the plain command. (FFmpeg's AAC priming, a negative first tfxd
# time, the core drops as out of order, counted.)
USER = "enc"
PASSWORD = "pw-77d1e0-secret"


# ---------------------------------------------------------------- encoder bodies

def isml_file(seconds=6, kbps=300, only=None):
    """An FFmpeg live-ingest body written to a file: 1 s fragments (GOP 25 at 25 fps);
    `only` "video" or "audio" for a stream of that track alone."""
    path = os.path.join(media.media_dir(), "ingest-%dk-%ds%s.isml" % (kbps, seconds, "-" + only if only else ""))
    if not os.path.exists(path):
        tmp = path + ".tmp"
        video = ["-c:v", "libx264", "-g", "25", "-b:v", "%dk" % kbps] if only != "audio" else ["-vn"]
        audio = ["-c:a", "aac", "-b:a", "64k"] if only != "video" else ["-an"]
        media.run(["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                   "testsrc2=s=320x180:r=25", "-f", "lavfi", "-i", "sine=r=48000", "-t", str(seconds)] + video +
                  audio + ["-movflags", "isml+frag_keyframe", "-frag_duration", "1000000", "-f", "ismv", tmp])
        os.rename(tmp, path)
    return path


def top_boxes(data):
    """[(type, bytes)] of the top-level boxes."""
    out, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        typ = data[pos + 4:pos + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        if size < 8 or pos + size > len(data):
            raise media.Failure("bad top-level box at %d" % pos)
        out.append((typ, data[pos:pos + size]))
        pos += size
    return out


def split_body(data):
    """(header bytes, [moof+mdat bytes], mfra bytes)."""
    boxes = top_boxes(data)
    first = next(i for i, (t, _) in enumerate(boxes) if t == "moof")
    header = b"".join(b for _, b in boxes[:first])
    frags, cur = [], b""
    tail = b""
    for t, b in boxes[first:]:
        if t == "moof":
            cur = b
        elif t == "mdat":
            frags.append(cur + b)
        elif t == "mfra":
            tail = b
    return header, frags, tail


class Push:
    """One chunked POST from a raw socket: send(), then finish() or abort()."""

    def __init__(self, origin, path, headers=None):
        self.sock = socket.create_connection((origin.host, origin.port), timeout=10)
        head = "POST %s HTTP/1.1\r\nHost: %s:%d\r\nTransfer-Encoding: chunked\r\n" % (path, origin.host, origin.port)
        for k, v in (headers or {}).items():
            head += "%s: %s\r\n" % (k, v)
        self.sock.sendall((head + "\r\n").encode())
        self.broken = None

    def send(self, data, piece=16384, pace=0.0):
        for i in range(0, len(data), piece):
            chunk = data[i:i + piece]
            try:
                self.sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            except OSError as e:
                self.broken = str(e)
                return False
            if pace:
                time.sleep(pace)
        return True

    def finish(self, timeout=10):
        try:
            self.sock.sendall(b"0\r\n\r\n")
        except OSError as e:
            self.broken = str(e)
        return self.response(timeout)

    def response(self, timeout=10):
        """(status, body) of the answer, or (None, why)."""
        try:
            st, body = to.read_response(self.sock, timeout)
            return st, body
        except (OSError, media.Failure) as e:
            return None, str(e).encode()
        finally:
            self.sock.close()

    def answered(self):
        """Whether the server has sent something (an early answer) or closed."""
        return bool(select.select([self.sock], [], [], 0)[0])

    def abort(self):
        self.sock.close()


def post_whole(origin, path, data, pace=0.0, piece=16384, headers=None):
    p = Push(origin, path, headers)
    p.send(data, piece, pace)
    return p.finish()


def push_interleaved(origin, point, *streams):
    """One POST per (stream id, header, fragments), headers first, then the
    fragments in turn (no mfra: the first end would stop the point); the Pushes."""
    pushes = [Push(origin, "/%s.isml/Streams(%s)" % (point, sid)) for sid, _, _ in streams]
    for p, (_, header, _) in zip(pushes, streams):
        p.send(header)
    for i in range(max(len(f) for _, _, f in streams)):
        for p, (_, _, frags) in zip(pushes, streams):
            if i < len(frags):
                p.send(frags[i])
    return pushes


def rss_kib(origin):
    try:
        with open("/proc/%d/status" % origin.proc.pid) as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return None


def manifest(origin, point):
    st, h, body = to.request(origin, "GET", "/%s.isml/Manifest" % point)
    return st, h, body


def timeline(body):
    m = to.parse_manifest(body)
    return {s["type"]: s for s in m["streams"]}


# ---------------------------------------------------------------- checks

def check_off(rep, root):
    rep.section("without --ingest: POSTs are refused")
    origin = to.Origin(root, [])
    try:
        st, h, body = to.request(origin, "POST", "/live/a.isml/Streams(a)", body=b"")
        rep.ok(st == 403 and b"--ingest" in body, "probe POST -> 403 naming --ingest", "%s %r" % (st, body[:80]))
        p = Push(origin, "/live/a.isml/Streams(a)")
        p.send(b"\0" * 100000)
        t0 = time.time()
        st, body = p.response(5)
        rep.ok(st == 403 and time.time() - t0 < 3, "chunked POST -> 403 before its body ends",
               "%s %r" % (st, body[:80]))
        st, h, body = to.request(origin, "GET", "/live/a.isml/Manifest")
        rep.ok(st == 404, "GET of a .isml -> 404", "%s" % st)
        rep.ok(not os.path.exists(os.path.join(root, "live", "a")), "no archive folder made")
    finally:
        origin.kill()


def check_definitions(rep, root, header, frags):
    rep.section("--ingest-declared-only and definition files (ROOT/DIR/NAME.isml)")
    with open(os.path.join(root, "live", "def.isml"), "w") as f:
        f.write("# the def point\nlookahead 1\ndvr-window 5\n")
    with open(os.path.join(root, "live", "baddef.isml"), "w") as f:
        f.write("lookahead lots\n")
    origin = to.Origin(root, ["--ingest-declared-only"])
    try:
        st, h, body = to.request(origin, "POST", "/live/undeclared.isml/Streams(v)", body=b"")
        rep.ok(st == 403 and b"declared" in body, "an undeclared point -> 403", "%s %r" % (st, body[:100]))
        st, h, body = to.request(origin, "POST", "/live/baddef.isml/Streams(v)", body=b"")
        rep.ok(st == 403 and b"line 1" in body, "a bad definition -> 403 naming the line", "%s %r" % (st, body[:120]))
        p = Push(origin, "/live/def.isml/Streams(v)")
        p.send(header + b"".join(frags[:4]))
        time.sleep(0.3)
        st, h, body = manifest(origin, "live/def")
        rep.ok(st == 200 and b'LookAheadFragmentCount="1"' in body and b'DVRWindowLength="50000000"' in body,
               "a declared point takes its definition's lookahead 1 and dvr-window 5", "%s %r" % (st, body[:300]))
        p.abort()
    finally:
        origin.kill()


def check_auth_and_hostile(rep, root, header, frags, tail):
    rep.section("--ingest with credentials; hostile bodies; other points unaffected")
    env_user = "%s:%s" % (USER, PASSWORD)
    origin = to.Origin(root, ["--ingest", "--ingest-token", TOKEN, "--ingest-timeout", "2"],
                       preexec_fn=lambda: os.environ.__setitem__("GST_SMOOTH_INGEST_USER", env_user))
    bearer = {"Authorization": "Bearer " + TOKEN}
    try:
        c = http.client.HTTPConnection(origin.host, origin.port, timeout=10)
        c.request("POST", "/live/a.isml/Streams(v)", body=b"")
        r = c.getresponse()
        r.read()
        challenges = " ".join(v for k, v in r.getheaders() if k.lower() == "www-authenticate").lower()
        c.close()
        rep.ok(r.status == 401 and "bearer" in challenges and "basic" in challenges,
               "no credentials -> 401 with WWW-Authenticate Bearer and Basic", "%s %s" % (r.status, challenges))
        st, h, body = to.request(origin, "POST", "/live/a.isml/Streams(v)", body=b"",
                                 headers={"Authorization": "Bearer wrong"})
        rep.ok(st == 401, "wrong token -> 401", "%s" % st)
        st, h, body = to.request(origin, "POST", "/live/a.isml/Streams(v)", body=b"", headers=bearer)
        rep.ok(st == 200, "probe POST with the token -> 200", "%s %r" % (st, body[:80]))
        import base64
        basic = {"Authorization": "Basic " + base64.b64encode(env_user.encode()).decode()}
        st, h, body = to.request(origin, "POST", "/live/a.isml/Streams(v)", body=b"", headers=basic)
        rep.ok(st == 200, "probe POST with Basic user:password (from the environment) -> 200", "%s" % st)
        p = Push(origin, "/live/a.isml/Streams(v)", {"Authorization": "Basic " +
                                                      base64.b64encode(b"enc:nope").decode()})
        p.send(b"x" * 50000)
        st, body = p.response(5)
        rep.ok(st == 401, "chunked POST with a wrong password -> 401 at once", "%s" % st)

        st, h, body = to.request(origin, "POST", "/live/inj.isml/Streams(x%0Aforged%20line)", body=b"",
                                 headers=bearer)
        rep.ok(st == 200, "a probe whose stream id decodes to a newline -> 200", "%s" % st)
        st, h, body = to.request(origin, "POST", "/live/inj%0Aforged.isml/Streams(x)", body=b"", headers=bearer)
        rep.ok(st == 400, "a probe whose point name decodes to a newline -> 400", "%s" % st)
        st, h, body = to.request(origin, "POST", "/ladder.ism/Streams(v)", body=b"junk", headers=bearer)
        rep.ok(st == 405, "POST to a VOD .ism -> 405", "%s %r" % (st, body[:80]))

        p = Push(origin, "/live/bad.isml/Streams(v)", bearer)
        p.send(b"\x00\x00\x00\x04junk" * 1000)  # a box size under 8
        t0 = time.time()
        st, body = p.response(5)
        rep.ok(st == 400 and time.time() - t0 < 3, "garbage body -> 400 and closed", "%s %r" % (st, body[:100]))

        p = Push(origin, "/live/bad.isml/Streams(v)", bearer)
        p.send(header[:24] + b"\x40\x00\x00\x00moov" + b"\0" * 4096)
        st, body = p.response(5)
        rep.ok(st == 400, "a 1 GiB moov -> 400 (parser limit)", "%s %r" % (st, body[:120]))

        # Endless and slow POSTs, while point "b" takes a whole stream.
        endless = Push(origin, "/live/endless.isml/Streams(v)", bearer)
        endless.send(header)
        loris = Push(origin, "/live/loris.isml/Streams(v)", bearer)
        t0 = time.time()
        results = {}

        def feed_endless():
            while time.time() - t0 < 6 and not endless.answered() and endless.send(b"\0\0\0\x08free"):
                time.sleep(0.3)
            results["endless"] = (time.time() - t0, endless.response(3))

        def feed_loris():
            for i in range(len(header)):
                if time.time() - t0 > 6 or loris.answered() or not loris.send(header[i:i + 1]):
                    break
                time.sleep(1.0)
            results["loris"] = (time.time() - t0, loris.response(3))

        threads = [threading.Thread(target=feed_endless), threading.Thread(target=feed_loris)]
        for th in threads:
            th.start()
        st_b, body_b = post_whole(origin, "/live/b.isml/Streams(v)", header + b"".join(frags), pace=0.01,
                                  headers=bearer)
        mst, mh, mbody = manifest(origin, "live/b")
        for th in threads:
            th.join(15)
        rep.ok(st_b == 200, "meanwhile point b takes a whole stream -> 200", "%s %r" % (st_b, body_b[:120]))
        rep.ok(mst == 200 and b"IsLive" in mbody, "and serves its manifest", "%s" % mst)
        for name in ("endless", "loris"):
            dt, (st, body) = results.get(name, (99, (None, b"no result")))
            rep.ok(st == 408 and dt < 2 + 1.5 + 1, "%s POST -> 408 and closed after %.1f s (--ingest-timeout 2)"
                   % (name, dt), "%s %r" % (st, body[:100]))
        # A flood of 256 KiB free boxes after the header: never held (the
        # parser's header limit answers 400 after a few MB), memory flat.
        rss0 = rss_kib(origin)
        flood = Push(origin, "/live/flood.isml/Streams(v)", bearer)
        flood.send(header)
        big_free = (256 * 1024 + 8).to_bytes(4, "big") + b"free" + bytes(256 * 1024)
        sent = 0
        while sent < 64 << 20 and not flood.answered() and flood.send(big_free):
            sent += len(big_free)
        rss1 = rss_kib(origin)
        st, body = flood.response(3)
        rep.ok(st in (400, 408) and rss0 and rss1 and rss1 - rss0 < 16 * 1024,
               "a flood of free boxes (%.1f MB sent) -> %s, RSS %s -> %s KiB" % (sent / 1e6, st, rss0, rss1),
               "%r" % body[:120])
        rc, dt = origin.stop()
        rep.ok(rc == 0, "SIGTERM -> exit 0", "%s" % rc)
        out = "\n".join(origin.lines + origin.err_lines)
        rep.ok(TOKEN not in out and PASSWORD not in out and base64.b64encode(env_user.encode()).decode() not in out,
               "neither the token nor the password appears in serve's output")
        rep.ok(not [l for l in origin.lines if l.startswith("forged")], "decoded newlines cannot forge log lines")
        starts = [l for l in origin.lines if "ingest start" in l]
        ends = [l for l in origin.lines if "ingest end" in l]
        rep.ok(len(starts) == len(ends) and len(starts) >= 7, "one ingest start and one end line per accepted POST "
               "(%d)" % len(starts), "%d starts, %d ends" % (len(starts), len(ends)))
        counters = [l for l in origin.lines if "live:" in l]
        rep.ok(counters and "timed out" in counters[-1], "the counters line has the live counters",
               counters[-1] if counters else "none")
    finally:
        origin.kill()


def check_live_fragment(rep, origin, b, t):
    """The newest listed fragment of a running point, and one far in the future."""
    st, h, body = to.request(origin, "GET", "/live/ch1.isml/QualityLevels(%d)/Fragments(video=%d)" % (b, t))
    ok = st == 200 and h.get("content-type") == "video/mp4"
    tfrf = tfxd = None
    if ok:
        boxes = boxcheck._parse_boxes(body, 0, len(body), None)
        traf = boxes[0].first("traf")
        for c in traf.children:
            if c.type == "uuid" and c.uuid == boxcheck.UUID_TFRF:
                tfrf = boxcheck.parse_tfrf(c)
            if c.type == "uuid" and c.uuid == boxcheck.UUID_TFXD:
                tfxd = boxcheck.parse_tfxd(c)
    rep.ok(ok and tfrf is not None and tfxd is not None and tfxd["time"] == t,
           "the newest listed fragment: 200 video/mp4, tfxd time = t, tfrf %s" % (tfrf and tfrf["entries"]),
           "%s %s %s" % (st, h.get("content-type"), tfxd))
    rep.ok("max-age=86400" in h.get("cache-control", ""), "fragment Cache-Control long", h.get("cache-control"))
    st, h, body = to.request(origin, "GET", "/live/ch1.isml/QualityLevels(%d)/Fragments(video=%d)"
                             % (b, t + 100 * 10000000))
    rep.ok(st == 412 and "no-store" in h.get("cache-control", ""), "a future fragment -> 412, no-store", "%s" % st)


def check_ffmpeg_push(rep, root):
    rep.section("FFmpeg's live push: running manifest, fragments with tfrf, 412 and 410")
    origin = to.Origin(root, ["--ingest", "--dvr-window", "3", "--lookahead", "2"])
    url = origin.url + "live/ch1.isml/Streams(ch1)"
    cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25",
           "-f", "lavfi", "-i", "sine=r=48000", "-t", "10", "-c:v", "libx264", "-g", "25",
           "-c:a", "aac", "-movflags", "isml+frag_keyframe", "-f", "ismv", url]
    ff = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lasts, seen_live, first_video, cc, checked, gone = [], False, None, "", False, None
        t0 = time.time()
        # Polls the running point (bounded by the push's 10 s): the newest
        # listed fragment is fetched as soon as there is one; then the first
        # one until it has left the 3 s window.
        while time.time() - t0 < 9.5 and ff.poll() is None and gone is None:
            st, h, body = manifest(origin, "live/ch1")
            tl = timeline(body) if st == 200 else {}
            seen_live |= st == 200 and b'IsLive="TRUE"' in body
            video = tl.get("video")
            if video and video["times"]:
                lasts.append(video["times"][-1])
                cc = h.get("cache-control", "")
                first_video = first_video or video
                if not checked:
                    checked = True
                    check_live_fragment(rep, origin, video["bitrates"][0], video["times"][-1])
                b, t = first_video["bitrates"][0], first_video["times"][0]
                fst, fh, fbody = to.request(origin, "GET", "/live/ch1.isml/QualityLevels(%d)/Fragments(video=%d)"
                                            % (b, t))
                if fst != 200:
                    gone = fst
            time.sleep(0.4)
        rep.ok(seen_live, "the manifest says IsLive=\"TRUE\" while FFmpeg pushes")
        rep.ok(len(set(lasts)) >= 2, "its video timeline moves on: last t %s" % sorted(set(lasts)))
        rep.ok(first_video is not None and "max-age=1" in cc, "live manifest Cache-Control max-age=1", cc)
        rep.ok(checked, "a listed fragment was fetched while live")
        # (After the stop the whole archive is served: only while live.)
        rep.ok(gone == 410, "the first fragment, once out of --dvr-window 3 while live -> 410", "%s" % gone)
        ff.wait(20)
        rep.ok(ff.returncode == 0, "FFmpeg exits 0", ff.stderr.read()[-300:] if ff.stderr else "")
    finally:
        if ff.poll() is None:
            ff.kill()
            ff.wait()
        origin.kill()


def check_exact_push(rep, root):
    rep.section("the issue's plain FFmpeg push (no -b:v, systemBitrate=\"0\"): a measured bitrate")
    origin = to.Origin(root, ["--ingest", "--lookahead", "0"])
    try:
        cmd = ["ffmpeg", "-nostdin", "-loglevel", "error", "-re", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=25",
               "-f", "lavfi", "-i", "sine=r=48000", "-t", "3", "-c:v", "libx264", "-g", "25", "-c:a", "aac",
               "-movflags", "isml+frag_keyframe", "-f", "ismv", origin.url + "live/plain.isml/Streams(plain)"]
        r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=30)
        end, t0 = [], time.time()
        while not end and time.time() - t0 < 3:  # serve's log is read by a thread
            end = [l for l in origin.lines if "ingest end" in l]
            time.sleep(0.1)
        rep.ok(r.returncode == 0 and end and "200" in end[-1], "the plain push ends 200",
               "%s %s %s" % (r.returncode, r.stderr[-200:], end[-1] if end else "no ingest end line"))
        st, h, body = manifest(origin, "live/plain")
        tl = timeline(body) if st == 200 else {}
        video, audio = tl.get("video", {}), tl.get("audio", {})
        vb, ab = video.get("bitrates", []), audio.get("bitrates", [])
        # 320x180 x264 at its default CRF and 128k AAC: tens of kbit/s to a few Mbit/s.
        rep.ok(len(vb) == 1 and 10000 < vb[0] < 5000000 and len(ab) == 1 and 20000 < ab[0] < 1000000,
               "the manifest has measured bitrates (video %s, audio %s)" % (vb, ab), "%s %r" % (st, body[:200]))
        if vb and video["times"]:
            st, h, _ = to.request(origin, "GET", "/live/plain.isml/QualityLevels(%d)/Fragments(video=%d)"
                                  % (vb[0], video["times"][-1]))
            rep.ok(st == 200, "a fragment at the measured bitrate -> 200", "%s" % st)
        ism = os.path.join(root, "live", "plain", "plain.ism")
        text = open(ism).read() if os.path.exists(ism) else ""
        rep.ok(vb and 'systemBitrate="%d"' % vb[0] in text, "the archive's plain.ism keeps the measured bitrate",
               text[:300])
        check_names_and_leftovers(rep, origin, root)
    finally:
        origin.kill()


def check_names_and_leftovers(rep, origin, root):
    """Point names that cannot be folders -> 400 before any folder is made; a
    folder holding only previous/ is no archive to pick up."""
    def folders():
        return sorted(os.path.relpath(d, root) for d, _, _ in os.walk(root))
    before = folders()
    # (Literal "//", "." and ".." segments never reach the origin: libsoup
    # normalises the path. Encoded as %2F, the URL parser refuses them; the
    # core's CheckPointName, unit-tested, is the last line.)
    for path, what in [("/live/a%01b.isml/Streams(s)", "a control character"),
                       ("/live/a%2F%2Fb.isml/Streams(s)", "an empty segment (%2F%2F)"),
                       ("/live/a%2F..%2Fb.isml/Streams(s)", "a .. segment (%2F..%2F)"),
                       ("/live/a%2F.%2Fb.isml/Streams(s)", "a . segment (%2F.%2F)"),
                       ("/live/" + "n" * 200 + ".isml/Streams(s)", "over 200 bytes")]:
        st, h, body = to.request(origin, "POST", path, body=b"")
        rep.ok(st == 400, "a point name with %s -> 400 (%r)" % (what, body[:80]), "%s %r" % (st, body[:120]))
    rep.ok(folders() == before, "no folder made for them", "%s" % sorted(set(folders()) - set(before)))
    os.makedirs(os.path.join(root, "live", "old", "previous"))
    with open(os.path.join(root, "live", "old", "previous", "s.ismv"), "wb") as f:
        f.write(b"\0" * 64)
    st, h, body = manifest(origin, "live/old")
    rep.ok(st == 404, "a folder holding only previous/: GET -> 404, not 409 (%r)" % body[:80], "%s" % st)
    st, h, body = to.request(origin, "POST", "/live/old.isml/Streams(s)", body=b"")
    rep.ok(st == 200, "... and a POST starts the point there", "%s %r" % (st, body[:120]))


def check_redundant_audio(rep, origin):
    """Identical audio in two streams (video_lo+audio, video_hi+audio): one audio track."""
    hl, fl, _ = split_body(open(isml_file(4, 300), "rb").read())
    hh, fh, _ = split_body(open(isml_file(4, 500), "rb").read())
    pl, ph = push_interleaved(origin, "live/dup", ("video_lo", hl, fl), ("video_hi", hh, fh))
    # No mfra yet: the first stream's end would stop the point before
    # the other's last fragments arrive.
    tl, t0, want = {}, time.time(), len(split_video_times(fl))
    # Both levels must be there: the first stream's fragments alone may already list `want` times.
    while time.time() - t0 < 5 and (len(tl.get("video", {}).get("times", [])) < want or
                                    len(tl.get("video", {}).get("bitrates", [])) < 2):
        st, h, body = manifest(origin, "live/dup")
        tl = timeline(body) if st == 200 else {}
        time.sleep(0.1)
    (sl, bl), (sh, bh) = pl.finish(), ph.finish()
    rep.ok(sl == 200 and sh == 200, "both POSTs end 200 (%r, %r)" % (bl.strip(), bh.strip()), "%s %s" % (sl, sh))
    dups = sum(int(m) for m in re.findall(rb"(\d+) duplicates", bl + bh))
    video, audio = tl.get("video", {}), tl.get("audio", {})
    at = audio.get("times", [])
    rep.ok(sorted(video.get("bitrates", [])) == [300000, 500000], "two video QualityLevels: %s"
           % video.get("bitrates"), "%s %r" % (st, body[:200]))
    rep.ok(audio.get("bitrates") and len(audio["bitrates"]) == 1 and len(at) >= 3 and len(at) == len(set(at)),
           "one audio QualityLevel, each fragment once (%d)" % len(at), "%s" % audio)
    rep.ok(dups >= len(at), "the second copy's audio fragments are counted duplicates (%d)" % dups,
           "%r %r" % (bl, bh))
    if at:
        st, h, _ = to.request(origin, "GET", "/live/dup.isml/QualityLevels(%d)/Fragments(audio=%d)"
                              % (audio["bitrates"][0], at[-1]))
        rep.ok(st == 200, "its last audio fragment -> 200", "%s" % st)


def check_redundant_and_reconnect(rep, root, header, frags, tail, other_header):
    rep.section("redundant encoders (--threads 2: points shared by the loops), a different header on reconnect, "
                "the end and the archive")
    origin = to.Origin(root, ["--ingest", "--lookahead", "0", "--ingest-idle-stop", "2", "--threads", "2"])
    try:
        a = Push(origin, "/live/red.isml/Streams(s1)")
        b = Push(origin, "/live/red.isml/Streams(s1)")
        a.send(header)
        b.send(header)
        for f in frags:
            a.send(f)
            b.send(f)
            time.sleep(0.05)
        st, h, body = manifest(origin, "live/red")
        tl = timeline(body) if st == 200 else {}
        v = tl.get("video", {}).get("times", [])
        rep.ok(st == 200 and len(v) == len(set(v)) and len(v) >= len(frags) // 2 - 1,
               "two connections with one stream id: one entry per fragment (%d video)" % len(v), "%s %s" % (st, v))
        c = Push(origin, "/live/red.isml/Streams(s1)")
        c.send(other_header + frags[0])
        st, body = c.response(5)
        rep.ok(st == 409, "a reconnect with a different header -> 409: %r" % body[:100], "%s" % st)
        a.abort()
        time.sleep(0.3)
        st, h, body = manifest(origin, "live/red")
        rep.ok(st == 200 and b'IsLive="TRUE"' in body, "one encoder gone: the other keeps the point live")
        b.send(tail)
        st, body = b.finish()
        rep.ok(st == 200 and re.search(rb"\d+ duplicates", body or b""), "the survivor ends with mfra -> 200 (%r)"
               % body.strip(), "%s" % st)
        stopped = None
        t0 = time.time()
        while time.time() - t0 < 6:
            st, h, body = manifest(origin, "live/red")
            if st == 200 and b'IsLive="TRUE"' not in body:
                stopped = body
                break
            time.sleep(0.25)
        rep.ok(stopped is not None, "after the end the manifest is on-demand (not IsLive)")
        isms = sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(os.path.join(root, "live",
                                                                                                    "red"))
                      for f in fs if f.endswith(".ism"))
        rep.ok(len(isms) == 1, "the archive has one .ism: %s" % isms)
        if isms:
            st, h, body = to.request(origin, "GET", "/" + isms[0] + "/Manifest")
            rep.ok(st == 200, "the archive is served as VOD at /%s/Manifest" % isms[0], "%s" % st)
            r = subprocess.run([to.origin_binary(), "inspect", os.path.join(root, isms[0])], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=60)
            rep.ok(r.returncode == 0, "gst-smooth inspect of the archive exits 0", r.stdout[-400:])
    finally:
        origin.kill()


def check_two_streams(rep, root):
    rep.section("two streams into one point: Streams(video) and Streams(audio); video_lo+audio and "
                "video_hi+audio with identical audio")
    origin = to.Origin(root, ["--ingest", "--lookahead", "0"])
    try:
        hv, fv, tv = split_body(open(isml_file(4, only="video"), "rb").read())
        ha, fa, ta = split_body(open(isml_file(4, only="audio"), "rb").read())
        pv, pa = push_interleaved(origin, "live/two", ("video", hv, fv), ("audio", ha, fa))
        tl = {}
        t0 = time.time()
        while time.time() - t0 < 5 and len(tl.get("video", {}).get("times", [])) < len(fv):
            st, h, body = manifest(origin, "live/two")
            tl = timeline(body) if st == 200 else {}
            time.sleep(0.1)
        rep.ok(len(tl.get("video", {}).get("times", [])) == len(fv) and tl.get("audio", {}).get("times"),
               "one manifest lists both streams' tracks (video %d, audio %d fragments)"
               % (len(tl.get("video", {}).get("times", [])), len(tl.get("audio", {}).get("times", []))),
               "%s" % {k: v["times"] for k, v in tl.items()})
        (sv, bv), (sa, ba) = pv.finish(), pa.finish()
        rep.ok(sv == 200 and sa == 200, "both POSTs end 200 (%r, %r)" % (bv.strip(), ba.strip()))
        check_redundant_audio(rep, origin)
    finally:
        origin.kill()


def check_restart(rep, root, header, frags, tail):
    rep.section("kill -9 and a restart: the encoder's reconnect goes on, every fragment once in the archive")
    origin = to.Origin(root, ["--ingest", "--lookahead", "0"])
    half = len(frags) // 2
    try:
        p = Push(origin, "/live/rs.isml/Streams(s)")
        p.send(header + b"".join(frags[:half]))
        time.sleep(0.5)
        origin.proc.send_signal(signal.SIGKILL)
        origin.proc.wait(5)
        p.abort()
        origin = to.Origin(root, ["--ingest", "--lookahead", "0"])
        # The encoder resends its header and the last two fragments (AMS ingest 7).
        st, body = post_whole(origin, "/live/rs.isml/Streams(s)", header + b"".join(frags[half - 2:]) + tail)
        rep.ok(st == 200, "the reconnect after the restart -> 200 (%r)" % (body or b"").strip(), "%s" % st)
        st, h, body = manifest(origin, "live/rs")
        tl = timeline(body) if st == 200 else {}
        v = tl.get("video", {}).get("times", [])
        want = len(split_video_times(frags))
        rep.ok(len(v) == want and len(set(v)) == want, "the archive lists every video fragment once (%d of %d)"
               % (len(v), want), "%s" % v)
    except media.Failure as e:
        rep.fail("restart: %s" % e)
    finally:
        origin.kill()


def split_video_times(frags):
    """tfxd times of the video (track 1) fragments of an FFmpeg body."""
    out = []
    for f in frags:
        boxes = boxcheck._parse_boxes(f, 0, len(f), None)
        for traf in boxes[0].find("traf"):
            if boxcheck.parse_tfhd(traf.first("tfhd"))["track_id"] != 1:
                continue
            for c in traf.children:
                if c.type == "uuid" and c.uuid == boxcheck.UUID_TFXD:
                    out.append(boxcheck.parse_tfxd(c)["time"])
    return out


def main(argv):
    media.require_tools("ffmpeg")
    rep = media.Report("test_origin_ingest")
    root = media.out_dir("test_origin_ingest", "root")
    os.makedirs(os.path.join(root, "live"))
    try:
        data = open(isml_file(6), "rb").read()
        header, frags, tail = split_body(data)
        # A different header: another bitrate gives another Live Server Manifest.
        other_header = split_body(open(isml_file(2, 500), "rb").read())[0]
        check_off(rep, root)
        check_definitions(rep, root, header, frags)
        check_auth_and_hostile(rep, root, header, frags, tail)
        check_ffmpeg_push(rep, root)
        check_exact_push(rep, root)
        check_redundant_and_reconnect(rep, root, header, frags, tail, other_header)
        check_two_streams(rep, root)
        check_restart(rep, root, header, frags, tail)
    except media.Failure as e:
        rep.fail("test aborted: %s" % e)
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
