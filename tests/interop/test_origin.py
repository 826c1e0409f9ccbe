#!/usr/bin/env python3
"""Interop: `gst-smooth serve`, the development origin, over real HTTP.

The 'ladder' media (3 H.264 bitrates + AAC) is packaged with ismvmux into a
root folder (once at the top, once in sub/dir, once in gen/ without its .ismc
so the origin generates the manifest, once in attr/ with CustomAttributes
added to one QualityLevel of its .ismc, plus a broken .ism). The origin runs on
a free port (--port 0, URL parsed from its first line). Expected bytes come
from this script's own reading of the files: the .ism/.ismc XML with
ElementTree and the boxes with boxcheck.py (shares nothing with the C++ core).

Checked:
  - Manifest: 200, text/xml, parses, equals the .ismc byte for byte; gzip
    negotiation (Accept-Encoding variants, Content-Encoding, Vary), the
    decompressed bytes equal the identity bytes; generated manifest (no .ismc)
    lists the same bitrates and times;
  - every fragment URL of the manifest (every bitrate, every t, audio too)
    returns exactly the file's moof+mdat at the tfra offset, with the right
    Content-Type/Content-Length and cache headers (ETag, Last-Modified,
    Cache-Control public max-age); FragmentInfo = the moof only; KeyFrames
    holds only the sync samples (payload bytes and times preserved), and for
    audio equals the fragment; RawFragments = the sample bytes;
  - If-None-Match -> 304; HEAD (same headers, no body); keep-alive (several
    requests on one connection); percent-encoded URLs;
  - QualityLevels(b,k=v): 200 when k=v are CustomAttributes of the track's
    QualityLevel, 404 otherwise;
  - 404 / 400 / 405 cases (with Allow; OPTIONS and CORS: test_origin_web.py), 500 for a broken asset;
  - Range: 206 parts equal slices of the file (fragment cache and hot table,
    streamed >1 MiB fragments cold and warm, KeyFrames/RawFragments,
    manifests identity and gzip), 416 with Content-Range, ignored ranges,
    If-Range, HEAD; the same statuses, Content-Range and bytes as nginx
    serving `gst-smooth export` of the same assets;
  - 24 concurrent clients, all bytes correct; a client that hangs up mid-body;
  - a touched .ism is reloaded; one log line per request; SIGTERM -> exit 0;
  - --idle-timeout 1: a silent connection, a slowloris header and an unused
    keep-alive connection are closed after ~1 s; a slow download (one
    response longer than the timeout) is not; the counter; 0 = never.
  - --send-timeout 1: clients that stop reading (a streamed response, a
    cached whole body, a response already left whole for the kernel) are
    cut after ~1 s, the responses in progress logged as aborted; a reader
    taking 16 KiB every 200 ms gets its body intact; the counter; 0 = never.
"""

import gzip
import hashlib
import http.client
import os
import random
import re
import select
import shutil
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

LOG_RE = re.compile(r"^(\S+) ([A-Z]+) (\S+) (\d{3}) (\d+) ([\d.]+)ms( aborted)?$")


# ---------------------------------------------------------------- the origin process

def origin_binary() -> str:
    path = os.path.join(media.build_dir(), "tools", "gst-smooth")
    if not os.access(path, os.X_OK):
        media.die("gst-smooth not built: %s" % path)
    return path


class Origin:
    """`gst-smooth serve` in the background; collects its stdout lines."""

    def __init__(self, root: str, extra=None, preexec_fn=None):
        self.cmd = [origin_binary(), "serve", "--root", root, "--port", "0"] + list(extra or [])
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     errors="replace", preexec_fn=preexec_fn)
        self.lines = []
        self.err_lines = []
        self.cond = threading.Condition()
        self.pumps = [threading.Thread(target=self._pump, args=(self.proc.stdout, self.lines), daemon=True),
                      threading.Thread(target=self._pump, args=(self.proc.stderr, self.err_lines), daemon=True)]
        for p in self.pumps:
            p.start()
        first = self.wait_for(lambda l: "listening on" in l, 15)
        if first is None:
            self.kill()
            raise media.Failure("origin did not print its URL: %s\nstdout: %s\nstderr: %s"
                                % (" ".join(self.cmd), self.lines, self.err_lines))
        m = re.search(r"listening on http://([^/]+):(\d+)/", first)
        self.host, self.port = m.group(1), int(m.group(2))
        self.url = "http://%s:%d/" % (self.host, self.port)

    def _pump(self, stream, into):
        for line in stream:
            with self.cond:
                into.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, pred, timeout):
        """First stdout line matching pred (waiting up to timeout s), else None."""
        end = time.time() + timeout
        with self.cond:
            while True:
                for l in self.lines:
                    if pred(l):
                        return l
                left = end - time.time()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.1))

    def log_lines(self):
        with self.cond:
            return [m.groups() for m in (LOG_RE.match(l) for l in self.lines) if m]

    def wait_log(self, pred, timeout=5.0):
        """Waits for a request log line (tuple of groups) matching pred."""
        end = time.time() + timeout
        while time.time() < end:
            for g in self.log_lines():
                if pred(g):
                    return g
            time.sleep(0.02)
        return None

    def stop(self, sig=signal.SIGTERM, timeout=10.0):
        """Sends sig, returns (exit code, seconds taken)."""
        t0 = time.time()
        self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            rc = None
        # The pipes end with the process: wait until the pump threads have
        # read the last lines (the counters), however loaded the machine is.
        dt = time.time() - t0
        for p in self.pumps:
            p.join(5)
        return rc, dt

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def request(origin, method, path, headers=None, body=None, conn=None):
    """One request; returns (status, header dict lower-cased, body bytes)."""
    own = conn is None
    c = conn or http.client.HTTPConnection(origin.host, origin.port, timeout=20)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data
    finally:
        if own:
            c.close()


def package_ladder(root: str) -> dict:
    """Mux 'ladder' into root/ladder.{ismv,ism,ismc}."""
    media.require_muxer("ismvmux")
    mp4 = media.ensure_media("ladder")
    return media.mux_ismvmux(mp4, root, "ladder")


# ---------------------------------------------------------------- expectations from the files

class Expected:
    """What the origin must answer, computed from the files in Python."""

    def __init__(self, ism: str, ismc: str, ismv: str):
        with open(ismv, "rb") as f:
            self.data = f.read()
        self.movie = boxcheck.Movie(ismv)
        with open(ismc, "rb") as f:
            self.ismc_bytes = f.read()
        # .ism: (bitrate, trackName) -> trackID, kind
        ns = {"s": "http://www.w3.org/2001/SMIL20/Language"}
        root = ET.parse(ism).getroot()
        self.tracks = {}
        for el in root.find("s:body/s:switch", ns):
            kind = el.tag.split("}")[1]
            params = {p.get("name"): p.get("value") for p in el.findall("s:param", ns)}
            self.tracks[(int(el.get("systemBitrate")), params.get("trackName", kind))] = (
                int(params["trackID"]), kind)
        self.manifest = parse_manifest(self.ismc_bytes)
        # trackID -> {time: (moof_offset, fragment end, moof size)}
        self.path = ismv
        self.frags = {}
        for tid, tfra in self.movie.tfra.items():
            d = {}
            for e in tfra["entries"]:
                moof = self.movie.file.box_at(e["moof_offset"])
                i = self.movie.file.boxes.index(moof)
                mdat = self.movie.file.boxes[i + 1]
                assert moof.type == "moof" and mdat.type == "mdat"
                d[e["time"]] = (moof.offset, mdat.end, moof.size)
            self.frags[tid] = d

    def fragment(self, bitrate, name, t):
        tid, kind = self.tracks[(bitrate, name)]
        off, end, _ = self.frags[tid][t]
        return self.data[off:end], kind

    def fragment_info(self, bitrate, name, t):
        tid, _ = self.tracks[(bitrate, name)]
        off, _, size = self.frags[tid][t]
        return self.data[off:off + size]

    def track_fragment(self, bitrate, name, t):
        tid, _ = self.tracks[(bitrate, name)]
        off = self.frags[tid][t][0]
        return next(f for f in self.movie.track_fragments(tid) if f.moof_offset == off)


def parse_manifest(data: bytes) -> dict:
    """{'streams': [{'type','name','url','bitrates','times'}]} with exact integer times."""
    root = ET.fromstring(data)
    if root.tag != "SmoothStreamingMedia":
        raise media.Failure("manifest root is %s" % root.tag)
    streams = []
    for si in root.findall("StreamIndex"):
        times, t = [], 0
        for c in si.findall("c"):
            if c.get("t") is not None:
                t = int(c.get("t"))
            for _ in range(int(c.get("r", "1"))):
                times.append(t)
                t += int(c.get("d"))
        streams.append({"type": si.get("Type"), "name": si.get("Name") or si.get("Type"), "url": si.get("Url"),
                        "bitrates": [int(q.get("Bitrate")) for q in si.findall("QualityLevel")], "times": times})
    return {"streams": streams}


def fragment_urls(manifest: dict, prefix: str):
    """(bitrate, stream name, t, url) for every fragment of every QualityLevel."""
    out = []
    for s in manifest["streams"]:
        for b in s["bitrates"]:
            for t in s["times"]:
                rel = s["url"].replace("{bitrate}", str(b)).replace("{start time}", str(t))
                out.append((b, s["name"], t, prefix + rel))
    return out


def parse_fragment_response(data: bytes):
    """moof+mdat response -> (samples with sync/offset/size/duration/cto, tfxd, mdat box)."""
    boxes = boxcheck._parse_boxes(data, 0, len(data), None)
    if [b.type for b in boxes] != ["moof", "mdat"]:
        raise media.Failure("response boxes are %s, not moof+mdat" % [b.type for b in boxes])
    moof, mdat = boxes
    trafs = moof.find("traf")
    if len(trafs) != 1:
        raise media.Failure("%d trafs" % len(trafs))
    traf = trafs[0]
    tfhd = boxcheck.parse_tfhd(traf.first("tfhd"))
    tfxd = None
    samples = []
    for c in traf.children:
        if c.type == "uuid" and c.uuid == boxcheck.UUID_TFXD:
            tfxd = boxcheck.parse_tfxd(c)
    for trun_box in traf.find("trun"):
        r = boxcheck.parse_trun(trun_box)
        pos = moof.offset + r.get("data_offset", 0)
        for k, s in enumerate(r["samples"]):
            fl = r["first_sample_flags"] if k == 0 and "first_sample_flags" in r else \
                s.get("flags", tfhd.get("default_flags", 0))
            samples.append({"sync": not (fl & boxcheck.SAMPLE_IS_NON_SYNC), "offset": pos, "size": s["size"],
                            "duration": s["duration"], "cto": s.get("cto", 0)})
            pos += s["size"]
    return samples, tfxd, mdat


# ---------------------------------------------------------------- checks

def check_manifest(rep, origin, exp, path):
    rep.section("Manifest and gzip negotiation: " + path)
    st, h, body = request(origin, "GET", path)
    rep.ok(st == 200, "GET %s -> 200" % path, "got %d" % st)
    rep.ok(h.get("content-type", "").startswith("text/xml"), "Content-Type text/xml", h.get("content-type"))
    rep.ok("content-encoding" not in h, "no Content-Encoding without Accept-Encoding", str(h.get("content-encoding")))
    rep.ok(body == exp.ismc_bytes, "identity body equals the .ismc byte for byte (%d bytes)" % len(body))
    rep.ok(int(h.get("content-length", -1)) == len(body), "Content-Length matches")
    rep.ok("accept-encoding" in h.get("vary", "").lower(), "Vary: Accept-Encoding", h.get("vary"))
    rep.ok("etag" in h and "last-modified" in h, "ETag and Last-Modified present")
    m = re.search(r"max-age=(\d+)", h.get("cache-control", ""))
    rep.ok(m is not None and "public" in h.get("cache-control", ""), "Cache-Control public, max-age",
           h.get("cache-control"))
    parsed = parse_manifest(body)
    rep.ok([s["type"] for s in parsed["streams"]] == ["video", "audio"]
           and len(parsed["streams"][0]["bitrates"]) == 3, "manifest parses: video x3 + audio")
    for ae, want_gzip in [("gzip", True), ("gzip, deflate", True), ("deflate, gzip;q=0.5", True), ("*", True),
                          ("x-gzip", True), ("gzip;q=0", False), ("identity", False), ("br", False),
                          ("*, gzip;q=0", False)]:
        st2, h2, b2 = request(origin, "GET", path, {"Accept-Encoding": ae})
        got_gzip = h2.get("content-encoding") == "gzip"
        if not rep.ok(st2 == 200 and got_gzip == want_gzip,
                      "Accept-Encoding: %-20s -> %s" % (ae, "gzip" if want_gzip else "identity"),
                      "status %d, Content-Encoding %s" % (st2, h2.get("content-encoding"))):
            continue
        plain = gzip.decompress(b2) if got_gzip else b2
        rep.ok(plain == body, "  decompressed bytes equal the identity bytes" if got_gzip else "  same bytes")
        if got_gzip:
            rep.ok(len(b2) < len(body) and h2.get("etag") != h.get("etag"),
                   "  smaller (%d < %d) and its own ETag" % (len(b2), len(body)))
    # conditional request
    st3, h3, b3 = request(origin, "GET", path, {"If-None-Match": h["etag"]})
    rep.ok(st3 == 304 and b3 == b"", "If-None-Match with the ETag -> 304, no body", "status %d" % st3)
    return parsed


def check_fragments(rep, origin, exp, prefix):
    rep.section("every fragment URL of the manifest: " + prefix)
    urls = fragment_urls(exp.manifest, prefix)
    n_video = n_audio = 0
    bad = []
    conn = http.client.HTTPConnection(origin.host, origin.port, timeout=20)
    for b, name, t, url in urls:
        st, h, body = request(origin, "GET", url, conn=conn)
        want, kind = exp.fragment(b, name, t)
        ctype = "audio/mp4" if kind == "audio" else "video/mp4"
        problems = []
        if st != 200:
            problems.append("status %d" % st)
        if body != want:
            problems.append("body %d bytes != file moof+mdat %d bytes" % (len(body), len(want)))
        if h.get("content-type") != ctype:
            problems.append("Content-Type %s" % h.get("content-type"))
        if int(h.get("content-length", -1)) != len(want):
            problems.append("Content-Length %s" % h.get("content-length"))
        cc = h.get("cache-control", "")
        if "public" not in cc or not re.search(r"max-age=\d+", cc) or "etag" not in h or "last-modified" not in h:
            problems.append("cache headers %s" % {k: h.get(k) for k in ("cache-control", "etag", "last-modified")})
        if problems:
            bad.append("%s: %s" % (url, "; ".join(problems)))
        n_video += kind == "video"
        n_audio += kind != "video"
    conn.close()
    # ismvmux closes a track's last fragment when it ends, so the count
    # follows the media (AAC priming can add a short last fragment).
    want_video = sum(len(s["bitrates"]) * len(s["times"]) for s in exp.manifest["streams"] if s["type"] == "video")
    want_audio = len(urls) - want_video
    rep.ok(not bad and n_video == want_video and n_audio == want_audio and n_video >= 15 and n_audio >= 5,
           "%d video + %d audio fragments: exact moof+mdat bytes at the tfra offsets, %s/%s, cache headers"
           % (n_video, n_audio, "video/mp4", "audio/mp4"), "\n    ".join(bad[:5]))
    return urls


def check_nouns(rep, origin, exp, prefix):
    rep.section("FragmentInfo, KeyFrames, RawFragments")
    bad_info, bad_kf, bad_raw = [], [], []
    kf_samples = 0
    for b, name, t, url in fragment_urls(exp.manifest, prefix):
        st, h, body = request(origin, "GET", url.replace("/Fragments(", "/FragmentInfo("))
        if st != 200 or body != exp.fragment_info(b, name, t):
            bad_info.append("%s: status %d, %d bytes" % (url, st, len(body)))
        st, h, body = request(origin, "GET", url.replace("/Fragments(", "/KeyFrames("))
        frag, kind = exp.fragment(b, name, t)
        tf = exp.track_fragment(b, name, t)
        try:
            if st != 200:
                raise media.Failure("status %d" % st)
            if kind == "audio":
                if body != frag:
                    raise media.Failure("audio KeyFrames differs from the fragment")
            else:
                samples, tfxd, mdat = parse_fragment_response(body)
                want = [s for s in tf.samples if s["sync"]]
                if not samples or not all(s["sync"] for s in samples):
                    raise media.Failure("non-sync samples in KeyFrames")
                if len(samples) != len(want):
                    raise media.Failure("%d samples, the fragment has %d sync samples" % (len(samples), len(want)))
                for got, w in zip(samples, want):
                    if body[got["offset"]:got["offset"] + got["size"]] != exp.data[w["offset"]:w["offset"] + w["size"]]:
                        raise media.Failure("sample payload differs")
                    if got["offset"] < mdat.payload_offset or got["offset"] + got["size"] > mdat.end:
                        raise media.Failure("sample outside the mdat")
                if tfxd is None or tfxd["time"] != t or tfxd["duration"] != tf.duration:
                    raise media.Failure("tfxd %s, want time %d duration %d" % (tfxd, t, tf.duration))
                if sum(s["duration"] for s in samples) != tf.duration:
                    raise media.Failure("sample durations do not add up to the fragment's")
                if int(h.get("content-length", -1)) != len(body) or h.get("content-type") != "video/mp4":
                    raise media.Failure("headers %s" % h)
                kf_samples += len(samples)
        except (media.Failure, boxcheck.BoxError) as e:
            bad_kf.append("%s: %s" % (url, e))
        st, h, body = request(origin, "GET", url.replace("/Fragments(", "/RawFragments("))
        want_raw = b"".join(exp.data[s["offset"]:s["offset"] + s["size"]] for s in tf.samples)
        if st != 200 or body != want_raw:
            bad_raw.append("%s: status %d, %d bytes (want %d)" % (url, st, len(body), len(want_raw)))
    n_frags = len(fragment_urls(exp.manifest, prefix))
    rep.ok(not bad_info, "FragmentInfo = the moof only, for all %d fragments" % n_frags,
           "\n    ".join(bad_info[:5]))
    rep.ok(not bad_kf and kf_samples > 0,
           "KeyFrames: only sync samples (%d in the video fragments, payloads and times kept); audio = fragment"
           % kf_samples, "\n    ".join(bad_kf[:5]))
    rep.ok(not bad_raw, "RawFragments = the sample bytes", "\n    ".join(bad_raw[:5]))


def check_head_keepalive(rep, origin, exp, prefix):
    rep.section("HEAD, keep-alive, conditional requests, URL spellings")
    b, name, t, url = fragment_urls(exp.manifest, prefix)[1]
    want, _ = exp.fragment(b, name, t)
    sg, hg, bg = request(origin, "GET", url)
    sh, hh, bh = request(origin, "HEAD", url)
    same = {k: (hg.get(k), hh.get(k)) for k in ("content-type", "content-length", "etag", "last-modified",
                                                   "cache-control") if hg.get(k) != hh.get(k)}
    rep.ok(sh == 200 and bh == b"" and not same and int(hh["content-length"]) == len(want),
           "HEAD fragment: 200, same headers as GET (Content-Length %d), no body" % len(want), str(same))
    sh, hh, bh = request(origin, "HEAD", prefix + "Manifest", {"Accept-Encoding": "gzip"})
    sg, hg, bg = request(origin, "GET", prefix + "Manifest", {"Accept-Encoding": "gzip"})
    rep.ok(sh == 200 and bh == b"" and hh.get("content-length") == str(len(bg))
           and hh.get("content-encoding") == "gzip", "HEAD Manifest (gzip): Content-Length of the GET body, no body")
    kf = url.replace("/Fragments(", "/KeyFrames(")
    sg, hg, bg = request(origin, "GET", kf)
    sh, hh, bh = request(origin, "HEAD", kf)
    rep.ok(sh == 200 and bh == b"" and hh.get("content-length") == str(len(bg)),
           "HEAD KeyFrames: Content-Length of the rebuilt body (%d)" % len(bg))

    # keep-alive: one connection, many requests (the local port never changes)
    conn = http.client.HTTPConnection(origin.host, origin.port, timeout=20)
    ports, ok = set(), True
    urls = fragment_urls(exp.manifest, prefix)
    for i in range(12):
        b2, n2, t2, u2 = urls[(i * 7) % len(urls)]
        st, h, body = request(origin, "GET" if i % 3 else "HEAD", u2, conn=conn)
        ports.add(conn.sock.getsockname()[1] if conn.sock else None)
        ok &= st == 200 and (i % 3 == 0 or body == exp.fragment(b2, n2, t2)[0])
        ok &= h.get("connection", "").lower() != "close"
    st, h, body = request(origin, "GET", prefix + "Manifest", conn=conn)
    ports.add(conn.sock.getsockname()[1] if conn.sock else None)
    conn.close()
    rep.ok(ok and st == 200 and len(ports) == 1 and None not in ports,
           "keep-alive: 13 requests (GET and HEAD) on one connection", "local ports used: %s" % ports)

    st, h, body = request(origin, "GET", url, {"If-None-Match": request(origin, "HEAD", url)[1]["etag"]})
    rep.ok(st == 304 and body == b"" and "etag" in h, "fragment If-None-Match -> 304 with ETag, no body",
           "status %d" % st)
    st, h, body = request(origin, "GET", url, {"If-None-Match": '"something-else"'})
    rep.ok(st == 200 and body == want, "fragment with a stale If-None-Match -> 200 and the bytes")

    m = re.match(r"(.*)QualityLevels\((\d+)\)/Fragments\((\w+)=(\d+)\)$", url)
    base = m.group(1)
    variants = [
        ("percent-encoded ( ) =", "%sQualityLevels%%28%s%%29/Fragments%%28%s%%3D%s%%29" % m.groups()),
        ("folded //", "%s/QualityLevels(%s)//Fragments(%s=%s)" % m.groups()),
        ("leading zeros", "%sQualityLevels(0%s)/Fragments(%s=000%s)" % m.groups()),
    ]
    for what, u in variants:
        st, h, body = request(origin, "GET", u)
        rep.ok(st == 200 and body == want, "%s: %s -> 200, same bytes" % (what, u[len(base):]), "status %d" % st)
    u = "%sQualityLevels(%s,Compatibility=Handheld)/Fragments(%s=%s)" % m.groups()
    st, h, body = request(origin, "GET", u)
    rep.ok(st == 404 and b"CustomAttributes" in body,
           "attributes the manifest does not give the track: %s -> 404" % u[len(base):], "status %d %r" % (st, body))


def check_errors(rep, origin, exp, prefix):
    rep.section("status codes for bad requests")
    vb = exp.manifest["streams"][0]["bitrates"][0]
    ab = exp.manifest["streams"][1]["bitrates"][0]
    t1 = exp.manifest["streams"][0]["times"][1]
    p = prefix
    cases = [
        (404, "/nosuch.ism/Manifest"), (404, "/sub/nosuch.ism/Manifest"), (404, "/"), (404, "/ladder.ismv"),
        (404, p[:-1]), (404, p + "Other"), (404, p + "Manifest/x"),
        (404, p + "QualityLevels(1)/Fragments(video=0)"),
        (404, p + "QualityLevels(%d)/Fragments(nosuch=0)" % vb),
        (404, p + "QualityLevels(%d)/Fragments(video=1)" % vb),
        (404, p + "QualityLevels(%d)/Fragments(video=%d)" % (vb, t1 + 1)),
        (404, p + "QualityLevels(%d)/Fragments(video=%d)" % (vb, t1 - 1)),
        (404, p + "QualityLevels(%d)/Fragments(video=0)" % ab),
        (404, p + "QualityLevels(%d)/Fragments(audio=%d)" % (vb, 0)),
        (404, p + "QualityLevels(%d)/Bogus(video=0)" % vb),
        (404, p + "QualityLevels(%d)" % vb),
        (404, p + "QualityLevels(%d)/Fragments(video=0)/x" % vb),
        (400, p + "QualityLevels(abc)/Fragments(video=0)"),
        (400, p + "QualityLevels()/Fragments(video=0)"),
        (400, p + "QualityLevels(-1)/Fragments(video=0)"),
        (400, p + "QualityLevels(+%d)/Fragments(video=0)" % vb),
        (400, p + "QualityLevels(0x10)/Fragments(video=0)"),
        (400, p + "QualityLevels(4294967296)/Fragments(video=0)"),
        (400, p + "QualityLevels(99999999999999999999999)/Fragments(video=0)"),
        (400, p + "QualityLevels%d)/Fragments(video=0)" % vb),
        (400, p + "QualityLevels(%d/Fragments(video=0)" % vb),
        (400, p + "QualityLevels(%d)x/Fragments(video=0)" % vb),
        (400, p + "QualityLevels(%d,foo)/Fragments(video=0)" % vb),
        (400, p + "QualityLevels(%d,=v)/Fragments(video=0)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(video0)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(=0)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(video=)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(video=abc)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(video=1.5)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(video=1e7)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(video=-20000000)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(video=18446744073709551616)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(video=0" % vb),
        (400, p + "QualityLevels(%d)/Fragmentsvideo=0)" % vb),
        (400, p + "QualityLevels(%d)/Fragments(video=(0))" % vb),
        (400, "/sub%2Fdir/ladder.ism/Manifest"), (400, "/ladder.ism%00/Manifest"),
        (400, "/sub/%2E%2E%2Fladder.ism/Manifest"),
        # an escape the URI layer itself refuses: 400 from libsoup, without our reason text
        ("400-soup", p + "QualityLevels(%d)/Fragments(video=%%ZZ)" % vb),
        # dot segments are resolved by the URI parser (RFC 3986 5.2.4) before
        # the origin sees the path, so they can never climb out of the root
        (404, "/../../../../../../outside.ism/Manifest"), (404, "/sub/../../outside.ism/Manifest"),
        (404, "/link.ism/Manifest"),  # a symlink to a file outside the root
        (200, "/sub/../ladder.ism/Manifest"), (200, "/./ladder.ism/Manifest"),
    ]
    wrong = []
    for want, path in cases:
        try:  # a fresh connection each: libsoup closes it after a request it cannot parse
            st, h, body = request(origin, "GET", path)
        except (http.client.HTTPException, OSError) as e:
            wrong.append("%s: %s" % (path, e))
            continue
        if want == 200:
            if st != 200 or body != exp.ismc_bytes:
                wrong.append("%s: %d (want 200 and the manifest)" % (path, st))
        elif want == "400-soup":
            if st != 400:
                wrong.append("%s: %d (want 400)" % (path, st))
        elif st != want or h.get("cache-control") != "no-store" or not body.startswith(str(want).encode()):
            wrong.append("%s: %d (want %d) %r" % (path, st, want, body[:80]))
    n404 = sum(1 for w, _ in cases if w == 404)
    n400 = sum(1 for w, _ in cases if str(w).startswith("400"))
    rep.ok(not wrong, "%d URLs -> 404 (unknown asset/bitrate/track/time/noun, outside the root), %d -> 400 "
           "(malformed), with a reason and Cache-Control: no-store; dot segments resolved inside the root"
           % (n404, n400), "\n    ".join(wrong))

    wrong = []
    for method in ("POST", "PUT", "DELETE", "PATCH", "BREW"):
        st, h, body = request(origin, method, p + "Manifest", body=b"x" * 1000 if method in ("POST", "PUT") else None)
        if st != 405 or h.get("allow") != "GET, HEAD, OPTIONS":
            wrong.append("%s: %d, Allow %s" % (method, st, h.get("allow")))
    # A big request body is not kept: 405 and the server carries on.
    s = socket.create_connection((origin.host, origin.port), timeout=20)
    s.sendall(("POST %sManifest HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % (p, 8 << 20)).encode())
    chunk = b"\0" * (1 << 20)
    try:
        for _ in range(8):
            s.sendall(chunk)
        reply = s.recv(4096)
    except OSError as e:
        reply = str(e).encode()
    s.close()
    if not reply.startswith(b"HTTP/1.1 405"):
        wrong.append("8 MiB POST body: %r" % reply[:60])
    rep.ok(not wrong, "POST/PUT/DELETE/PATCH/unknown (and an 8 MiB POST) -> 405 with Allow: GET, HEAD, OPTIONS",
           "; ".join(wrong))
    st, h, body = request(origin, "GET", p + "Manifest")
    rep.ok(st == 200, "server still answers after the bad requests")


def check_concurrency(rep, origin, exp, prefixes):
    rep.section("concurrent clients")
    urls = []
    for prefix in prefixes:
        for b, name, t, url in fragment_urls(exp.manifest, prefix):
            urls.append((url, exp.fragment(b, name, t)[0]))
            if b == exp.manifest["streams"][0]["bitrates"][-1]:
                kb = request(origin, "GET", url.replace("/Fragments(", "/KeyFrames("))[2]
                urls.append((url.replace("/Fragments(", "/KeyFrames("), kb))
        urls.append((prefix + "Manifest", exp.ismc_bytes))
    results, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(24)

    def client(seed):
        rnd = random.Random(seed)
        mine = urls[:]
        rnd.shuffle(mine)
        conn = http.client.HTTPConnection(origin.host, origin.port, timeout=30)
        try:
            start.wait()
            for url, want in mine:
                st, h, body = request(origin, "GET", url, conn=conn)
                with lock:
                    results.append(st == 200 and body == want)
                    if not results[-1]:
                        errors.append("%s: %d, %d bytes (want %d)" % (url, st, len(body), len(want)))
        except Exception as e:  # a broken connection is a failure, not a crash of the test
            with lock:
                errors.append("client %d: %r" % (seed, e))
        finally:
            conn.close()

    t0 = time.time()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    dt = time.time() - t0
    total = sum(len(b) for _, b in urls) * 24
    rep.ok(len(results) == 24 * len(urls) and all(results) and not errors,
           "24 clients x %d requests (fragments, KeyFrames, manifests; shuffled, keep-alive) all correct "
           "in %.2f s (%.0f MB/s)" % (len(urls), dt, total / dt / 1e6), "\n    ".join(errors[:5]))

    # A client that hangs up in the middle of a large body.
    big_url, big = max(urls, key=lambda u: len(u[1]))
    s = socket.create_connection((origin.host, origin.port), timeout=20)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % big_url).encode())
    s.recv(1000)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")  # RST
    s.close()
    st, h, body = request(origin, "GET", big_url)
    rep.ok(st == 200 and body == big, "a client hanging up mid-body does not disturb the next request")


def check_other_assets(rep, origin, exp, root):
    rep.section("generated manifest, broken asset, reload")
    st, h, body = request(origin, "GET", "/gen/ladder.ism/Manifest")
    same = False
    if st == 200:
        gen = parse_manifest(body)
        same = [(s["type"], s["bitrates"], s["times"]) for s in gen["streams"]] == \
            [(s["type"], s["bitrates"], s["times"]) for s in exp.manifest["streams"]]
    rep.ok(same, "no .ismc: the generated manifest has the .ismc's bitrates and fragment times",
           "status %d" % st)
    b, name, t, url = fragment_urls(exp.manifest, "/gen/ladder.ism/")[-1]
    st, h, body = request(origin, "GET", url)
    rep.ok(st == 200 and body == exp.fragment(b, name, t)[0], "fragments of the generated-manifest asset")
    st, h, body = request(origin, "GET", "/broken.ism/Manifest")
    rep.ok(st == 500 and b"nosuch.ismv" in body, "an .ism naming a missing media file -> 500 with the reason",
           "%d %r" % (st, body[:200]))
    st, h, body = request(origin, "GET", "/broken.ism/QualityLevels(1)/Fragments(video=0)")
    rep.ok(st == 500, "... also for its fragment URLs", "status %d" % st)

    # Reload: rewrite gen/ladder.ism with a different systemBitrate for the
    # first video track; after the recheck interval (1 s) the old URL is gone.
    ism = os.path.join(root, "gen", "ladder.ism")
    text = open(ism).read()
    vb = exp.manifest["streams"][0]["bitrates"][0]
    with open(ism + ".tmp", "w") as f:
        f.write(text.replace('systemBitrate="%d"' % vb, 'systemBitrate="%d"' % (vb + 1)))
    os.replace(ism + ".tmp", ism)
    time.sleep(1.2)
    st_old = request(origin, "GET", "/gen/ladder.ism/QualityLevels(%d)/Fragments(video=0)" % vb)[0]
    st_new, h, body = request(origin, "GET", "/gen/ladder.ism/QualityLevels(%d)/Fragments(video=0)" % (vb + 1))
    gen = parse_manifest(request(origin, "GET", "/gen/ladder.ism/Manifest")[2])
    rep.ok(st_old == 404 and st_new == 200 and body == exp.fragment(vb, "video", 0)[0]
           and vb + 1 in gen["streams"][0]["bitrates"],
           "a changed .ism is reloaded: the new bitrate is served, the old one is 404",
           "old %d new %d" % (st_old, st_new))


def evict(path):
    """Drops the file's pages from the page cache, so that the origin's
    non-blocking reads fail and its thread pool reads from the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def largest_fragment(big):
    """(url, bytes) of the largest fragment of the 10 s-fragment asset."""
    b, name, t, url = max(fragment_urls(big.manifest, "/big/ladder.ism/"),
                          key=lambda u: len(big.fragment(u[0], u[1], u[2])[0]))
    return url, big.fragment(b, name, t)[0]


def check_big_fragments(rep, origin, big):
    rep.section("fragments larger than the read chunk (10 s fragments), cold and warm page cache")
    urls = fragment_urls(big.manifest, "/big/ladder.ism/")
    sizes = sorted(len(big.fragment(b, n, t)[0]) for b, n, t, _ in urls)
    rep.ok(sizes[-1] > 1 << 20, "largest fragment %d bytes (> 1 MiB: streamed in 256 KiB chunks)" % sizes[-1])
    for state in ("cold", "warm"):
        if state == "cold":
            evict(big.path)
        bad = []
        for b, name, t, url in urls:
            for noun in ("Fragments", "KeyFrames", "RawFragments"):
                u = url.replace("/Fragments(", "/%s(" % noun)
                st, h, body = request(origin, "GET", u)
                want, kind = big.fragment(b, name, t)
                if noun == "RawFragments":
                    want = b"".join(big.data[x["offset"]:x["offset"] + x["size"]]
                                    for x in big.track_fragment(b, name, t).samples)
                if noun == "KeyFrames" and kind == "video":
                    if st != 200 or int(h.get("content-length", -1)) != len(body):
                        bad.append("%s: %d" % (u, st))
                elif st != 200 or body != want:
                    bad.append("%s: %d, %d bytes (want %d)" % (u, st, len(body), len(want)))
        rep.ok(not bad, "%s page cache: every Fragments/RawFragments body exact, KeyFrames complete" % state,
               "\n    ".join(bad[:5]))

    # A client that reads slowly does not hold up the others.
    url, want = largest_fragment(big)
    evict(big.path)
    s = socket.create_connection((origin.host, origin.port), timeout=20)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % url).encode())
    got = s.recv(4096)
    t0 = time.time()
    st, h, body = request(origin, "GET", urls[0][3])
    quick = time.time() - t0
    data = got
    # Until the whole body is in (the headers' length varies: CORS adds some),
    # the connection closes, or the socket times out (20 s).
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
        if len(data) < 400000:
            time.sleep(0.01)
        if b"\r\n\r\n" in data and len(data) - data.index(b"\r\n\r\n") - 4 >= len(want):
            break
    s.close()
    rep.ok(st == 200 and quick < 1.0, "a request during a stalled slow download is answered in %.3f s" % quick)
    rep.ok(data.split(b"\r\n\r\n", 1)[1] == want, "the slow download completes with the exact bytes")

    # Many clients at once on a cold cache: the pool serves them all.
    evict(big.path)
    results = []
    lock = threading.Lock()

    def client():
        st2, h2, body2 = request(origin, "GET", url)
        with lock:
            results.append(st2 == 200 and body2 == want)

    threads = [threading.Thread(target=client) for _ in range(20)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    rep.ok(len(results) == 20 and all(results), "20 concurrent downloads of the %d-byte fragment from a cold "
           "page cache, all exact" % len(want))


def with_custom_attributes(ismc_text, bitrate, attrs):
    """The .ismc with CustomAttributes added to the QualityLevel of `bitrate`."""
    block = "<CustomAttributes>%s</CustomAttributes>" % "".join(
        '<Attribute Name="%s" Value="%s"/>' % kv for kv in attrs)
    pat = re.compile(r'(<QualityLevel [^>]*Bitrate="%d"[^>]*?)\s*/>' % bitrate)
    out, n = pat.subn(lambda m: m.group(1) + ">" + block + "</QualityLevel>", ismc_text)
    if n != 1:
        raise media.Failure("no QualityLevel with Bitrate %d in the .ismc" % bitrate)
    return out


def check_attributes(rep, origin, exp):
    """attr/ladder.ism: its .ismc gives the lowest video level CustomAttributes."""
    rep.section("QualityLevels(b,k=v): matched against the level's CustomAttributes")
    vb = exp.manifest["streams"][0]["bitrates"]
    t = exp.manifest["streams"][0]["times"][1]
    want = exp.fragment(vb[0], "video", t)[0]
    st, h, body = request(origin, "GET", "/attr/ladder.ism/Manifest")
    rep.ok(st == 200 and b'<Attribute Name="Compatibility" Value="Handheld"/>' in body,
           "the manifest (the edited .ismc) carries the CustomAttributes", "status %d" % st)
    cases = [
        (200, vb[0], "Compatibility=Handheld", "the level's attribute"),
        (200, vb[0], "Compatibility=Handheld,Profile=Low", "both of its attributes"),
        (200, vb[0], "Profile=Low,Compatibility=Handheld", "in another order"),
        (200, vb[0], None, "none (the attributes may be left out)"),
        (200, vb[0], "Compatibility%3DHandheld", "percent-encoded '='"),
        (404, vb[0], "Compatibility=Desktop", "another value"),
        (404, vb[0], "compatibility=Handheld", "another key spelling (compared exactly)"),
        (404, vb[0], "Compatibility=Handheld,Extra=1", "one attribute too many"),
        (404, vb[1], "Compatibility=Handheld", "a level without CustomAttributes"),
        (400, vb[0], "Compatibility", "no '=' (malformed)"),
    ]
    for want_status, b, attrs, what in cases:
        q = "%d,%s" % (b, attrs) if attrs else "%d" % b
        url = "/attr/ladder.ism/QualityLevels(%s)/Fragments(video=%d)" % (q, t)
        st, h, body = request(origin, "GET", url)
        good = st == want_status and (st != 200 or body == exp.fragment(b, "video", t)[0])
        rep.ok(good, "%-40s -> %d (%s)" % ("QualityLevels(%s)" % q, want_status, what), "status %d" % st)
    st, h, body = request(origin, "GET", "/attr/ladder.ism/QualityLevels(%d,Compatibility=Handheld)/Fragments(video=%d)"
                          % (vb[0], t))
    rep.ok(st == 200 and body == want, "the same request again (hot table) -> 200, same bytes")


def get_range(origin, path, rng, extra=None, method="GET", conn=None):
    headers = dict(extra or {})
    if rng is not None:
        headers["Range"] = rng
    return request(origin, method, path, headers, conn=conn)


def expect_range(full, rng):
    """(status, Content-Range, body) RFC 9110 wants for one well-formed range
    of `full`; None for a Range the origin ignores."""
    n = len(full)
    m = re.fullmatch(r"(?i)[ \t]*bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*", rng)
    if not m or (not m.group(1) and not m.group(2)):
        return None
    a, b = m.group(1), m.group(2)
    if not a:
        k = int(b)
        if k == 0:
            return 416, "bytes */%d" % n, None
        start, end = max(0, n - k), n - 1
    else:
        start = int(a)
        end = n - 1 if not b else min(int(b), n - 1)
        if b and int(b) < start:
            return None
        if start >= n:
            return 416, "bytes */%d" % n, None
    return 206, "bytes %d-%d/%d" % (start, end, n), full[start:end + 1]


def check_range_set(rep, origin, path, full, ranges, what, conn=None):
    """Each range twice (the second answer may come from the hot table);
    bodies compared with slices of `full` (the file's bytes)."""
    bad = []
    for rng in ranges:
        for attempt in (1, 2):
            st, h, body = get_range(origin, path, rng, conn=conn)
            exp_ = expect_range(full, rng)
            if exp_ is None:
                ok = st == 200 and body == full and h.get("accept-ranges") == "bytes" and "content-range" not in h
            elif exp_[0] == 416:
                ok = st == 416 and h.get("content-range") == exp_[1]
            else:
                ok = (st == 206 and h.get("content-range") == exp_[1] and body == exp_[2]
                      and int(h.get("content-length", -1)) == len(exp_[2]))
            if not ok:
                bad.append("%s (try %d): status %d, Content-Range %s, %d bytes" % (
                    rng, attempt, st, h.get("content-range"), len(body)))
    rep.ok(not bad, "%s: %d ranges, each twice: statuses, Content-Range, bytes = the file's slice"
           % (what, len(ranges)), "\n    ".join(bad[:6]))


SMALL_RANGES = ["bytes=0-0", "bytes=0-99", "bytes=100-", "bytes=-100", "bytes=0-", "bytes=-1", "bytes=5-5",
                "bytes=10-99999999", "bytes=-99999999", "bytes= 3 - 7 ", "Bytes=1-2"]


def check_ranges(rep, origin, exp, big, prefix):
    rep.section("Range requests: fragments (cached and streamed), manifests, KeyFrames, conditions")
    b, name, t, url = fragment_urls(exp.manifest, prefix)[2]
    full = exp.fragment(b, name, t)[0]
    n = len(full)
    st, h, body = request(origin, "GET", url)
    rep.ok(st == 200 and h.get("accept-ranges") == "bytes", "a 200 fragment says Accept-Ranges: bytes",
           str(h.get("accept-ranges")))
    check_range_set(rep, origin, url, full, SMALL_RANGES + ["bytes=%d-%d" % (n // 3, 2 * n // 3),
                                                            "bytes=%d-" % (n - 1), "bytes=%d-%d" % (n - 1, n + 5)],
                    "fragment of %d bytes (fragment cache, hot table)" % n)
    check_range_set(rep, origin, url, full, ["bytes=%d-" % n, "bytes=%d-%d" % (n + 10, n + 20), "bytes=-0",
                                             "bytes=18446744073709551616-"],
                    "unsatisfiable -> 416 with Content-Range: bytes */%d" % n)
    check_range_set(rep, origin, url, full, ["bytes=0-1,5-6", "bytes=abc", "bytes=5-2", "items=0-1", "bytes=",
                                             "bytes=-", "bytes=1-2-3", "bytes=0x10-"],
                    "ignored (several ranges, malformed, last < first, other unit) -> 200, whole body")
    st, h, body = get_range(origin, url, "bytes=10-19", method="HEAD")
    rep.ok(st == 206 and body == b"" and h.get("content-length") == "10"
           and h.get("content-range") == "bytes 10-19/%d" % n,
           "HEAD with Range -> 206 headers (Content-Length 10), no body", "status %d %s" % (st, h))
    etag, lm = h.get("etag"), h.get("last-modified")
    st, h, body = get_range(origin, url, "bytes=10-19", {"If-Range": etag})
    rep.ok(st == 206 and body == full[10:20], "If-Range with the ETag -> 206", "status %d" % st)
    for what, val in (("another ETag", '"other"'), ("the weak form of the ETag", "W/" + (etag or "")),
                      ("a date (Last-Modified)", lm or "")):
        st, h, body = get_range(origin, url, "bytes=10-19", {"If-Range": val})
        rep.ok(st == 200 and body == full, "If-Range with %s -> 200, whole body" % what, "status %d" % st)
    st, h, body = get_range(origin, url, "bytes=10-19", {"If-None-Match": etag})
    rep.ok(st == 304 and body == b"", "If-None-Match matching + Range -> 304", "status %d" % st)
    conn = http.client.HTTPConnection(origin.host, origin.port, timeout=20)
    check_range_set(rep, origin, url, full, ["bytes=0-99", "bytes=100-199", "bytes=200-"], "keep-alive: three "
                    "consecutive parts on one connection", conn=conn)
    conn.close()

    # Streamed bodies: > 1 MiB fragments read in 256 KiB chunks, parts that
    # start and end inside chunks or cross their boundaries; cold and warm.
    bb, bname, bt, burl = max(fragment_urls(big.manifest, "/big/ladder.ism/"),
                              key=lambda u: len(big.fragment(u[0], u[1], u[2])[0]))
    bfull = big.fragment(bb, bname, bt)[0]
    bn = len(bfull)
    chunk = 256 * 1024
    big_ranges = ["bytes=0-0", "bytes=%d-%d" % (chunk - 10, chunk + 10), "bytes=%d-%d" % (chunk, 3 * chunk - 1),
                  "bytes=100000-700000", "bytes=-300000", "bytes=%d-" % (bn - 5), "bytes=1000-", "bytes=0-"]
    evict(big.path)
    check_range_set(rep, origin, burl, bfull, big_ranges, "streamed fragment of %d bytes, cold page cache" % bn)
    check_range_set(rep, origin, burl, bfull, big_ranges, "the same, warm")

    # Rebuilt bodies: KeyFrames (new moof + the sync samples' bytes) and
    # RawFragments, compared with slices of their own full answer.
    for noun in ("KeyFrames", "RawFragments"):
        for u in (url, burl):
            u2 = u.replace("/Fragments(", "/%s(" % noun)
            st, h, whole = request(origin, "GET", u2)
            k = len(whole)
            moof = int.from_bytes(whole[:4], "big") if noun == "KeyFrames" else 1000
            rng = ["bytes=0-7", "bytes=%d-%d" % (moof - 4, moof + 12), "bytes=%d-" % moof, "bytes=-%d" % (k // 2),
                   "bytes=%d-%d" % (k // 4, 3 * k // 4)]
            check_range_set(rep, origin, u2, whole, rng, "%s (%d bytes: moof built in memory, then file ranges)"
                            % (noun, k))

    # Manifests: identity and gzip representations.
    for ae in (None, "gzip"):
        hdr = {"Accept-Encoding": ae} if ae else {}
        st, h, whole = request(origin, "GET", prefix + "Manifest", hdr)
        rep.ok(st == 200 and h.get("accept-ranges") == "bytes", "Manifest (%s): 200 with Accept-Ranges: bytes"
               % (ae or "identity"))
        bad = []
        for rng in ["bytes=0-9", "bytes=-50", "bytes=100-", "bytes=%d-" % len(whole), "bytes=0-1,4-5"]:
            st, h2, body = get_range(origin, prefix + "Manifest", rng, hdr)
            e = expect_range(whole, rng)
            if e is None:
                ok = st == 200 and body == whole
            else:
                ok = st == e[0] and h2.get("content-range") == e[1] and (e[2] is None or body == e[2])
            if ae and st == 206:
                ok = ok and h2.get("content-encoding") == "gzip" and h2.get("etag") == h.get("etag")
            if not ok:
                bad.append("%s: %d %s" % (rng, st, h2.get("content-range")))
        rep.ok(not bad, "Manifest (%s) ranges: parts of that representation's bytes" % (ae or "identity"),
               "; ".join(bad))
    rep.ok(exp.ismc_bytes[:10] == request(origin, "GET", prefix + "Manifest", {"Range": "bytes=0-9"})[2],
           "a manifest part equals the .ismc's bytes")


def check_ranges_vs_nginx(rep, origin, exp, big, root):
    """The same Range requests to nginx serving `gst-smooth export` of the
    same assets: statuses, Content-Range and bytes agree where both follow
    RFC 9110; the cases where they part are listed (and checked) as such."""
    rep.section("Range: the origin against nginx (static export)")
    if shutil.which("nginx") is None:
        rep.note("nginx not installed: comparison skipped")
        return
    from test_static_export import Nginx
    import tempfile
    tmp = tempfile.mkdtemp(prefix="gst-smooth-origin-nginx-")
    www = os.path.join(tmp, "www")
    for rel in ("ladder.ism", "big/ladder.ism"):
        dest = os.path.join(www, rel)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        media.run([origin_binary(), "export", "--out", dest, os.path.join(root, rel)])
    ngx = Nginx(www, tmp)
    try:
        ngx.start()
        ngx_conn = type("Peer", (), {"host": "127.0.0.1", "port": ngx.port})
        b, name, t, url = fragment_urls(exp.manifest, "/ladder.ism/")[2]
        n = len(exp.fragment(b, name, t)[0])
        bb, bname, bt, burl = max(fragment_urls(big.manifest, "/big/ladder.ism/"),
                                  key=lambda u: len(big.fragment(u[0], u[1], u[2])[0]))
        same_ranges = SMALL_RANGES + ["bytes=%d-" % n, "bytes=-0", "bytes=%d-%d" % (n + 10, n + 20)]
        bad, compared = [], 0
        for path in (url, "/ladder.ism/Manifest", burl):
            for rng in same_ranges + ["bytes=300000-600000"]:
                ours = get_range(origin, path, rng)
                theirs = get_range(ngx_conn, path, rng)
                compared += 1
                if (ours[0], ours[1].get("content-range"), ours[1].get("accept-ranges")) != \
                        (theirs[0], theirs[1].get("content-range"), theirs[1].get("accept-ranges")) or \
                        (ours[0] in (200, 206) and ours[2] != theirs[2]):
                    bad.append("%s %s: ours %d %s, nginx %d %s" % (path.split("/")[-1], rng, ours[0],
                               ours[1].get("content-range"), theirs[0], theirs[1].get("content-range")))
        rep.ok(not bad, "%d (URL, Range) pairs on a cached fragment, the Manifest and a streamed fragment: same "
               "status, Content-Range, Accept-Ranges and bytes as nginx" % compared, "\n    ".join(bad[:6]))
        # Where the origin follows RFC 9110 (and the brief) and nginx does not.
        for rng, why in (("bytes=5-2", "last < first: invalid, so ignored"),
                         ("bytes=abc", "malformed: ignored"),
                         ("bytes=0-1,5-6", "several ranges: whole body instead of multipart")):
            ours = get_range(origin, url, rng)
            theirs = get_range(ngx_conn, url, rng)
            rep.ok(ours[0] == 200, "%s -> 200 (%s; nginx answers %d)" % (rng, why, theirs[0]), "ours %d" % ours[0])
    finally:
        err = ngx.stop()
        if err.strip():
            rep.note("nginx stderr: " + err.strip()[:300])
        shutil.rmtree(tmp, ignore_errors=True)


def read_responses(sock, n, timeout=10.0):
    """n pipelined HTTP/1.1 responses with a Content-Length from a raw socket:
    [(status, body)]."""
    sock.settimeout(timeout)
    data, out = b"", []

    def more():
        chunk = sock.recv(65536)
        if not chunk:
            raise media.Failure("connection closed after %d responses" % len(out))
        return chunk

    while len(out) < n:
        while b"\r\n\r\n" not in data:
            data += more()
        head, data = data.split(b"\r\n\r\n", 1)
        m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
        length = int(m.group(1)) if m else 0
        while len(data) < length:
            data += more()
        out.append((int(head.split(b" ", 2)[1]), data[:length]))
        data = data[length:]
    return out


def read_response(sock, timeout=10.0):
    """One HTTP/1.1 response with a Content-Length from a raw socket: (status, body)."""
    return read_responses(sock, 1, timeout)[0]


def closed_within(sock, seconds):
    """Seconds until the server closes `sock` (reads EOF), None if it does not
    within `seconds`. Anything the server sends first is drained."""
    t0 = time.time()
    sock.settimeout(0.05)
    while time.time() - t0 < seconds:
        try:
            if sock.recv(65536) == b"":
                return time.time() - t0
        except socket.timeout:
            pass
        except ConnectionResetError:
            return time.time() - t0
    return None


def check_idle_timeout(rep, root, big):
    rep.section("--idle-timeout 1 --send-timeout 1: idle connections are closed, active ones are not")
    big_url, big_want = largest_fragment(big)
    # --send-timeout 1 too: the paced download below keeps one response in
    # progress for over a second, and must not count as stalled either.
    origin = Origin(root, ["--idle-timeout", "1", "--send-timeout", "1"])
    try:
        s = socket.create_connection((origin.host, origin.port), timeout=5)
        dt = closed_within(s, 4)
        s.close()
        rep.ok(dt is not None and 0.9 <= dt <= 2.5, "a connection that sends nothing is closed after %s s"
               % ("%.2f" % dt if dt is not None else "> 4"))

        s = socket.create_connection((origin.host, origin.port), timeout=5)
        s.sendall(b"GET /ladder.ism/Manifest HTTP/1.1\r\nHost: x\r\n")
        t0 = time.time()
        closed = None
        for i in range(40):  # one more header byte every 0.1 s: still not a request
            try:
                s.sendall(b"X")
            except OSError:
                closed = time.time() - t0
                break
            if closed_within(s, 0.1) is not None:
                closed = time.time() - t0
                break
        s.close()
        rep.ok(closed is not None and closed <= 2.5, "a request whose headers trickle in (slowloris) is closed after "
               "%s s" % ("%.2f" % closed if closed is not None else "> 4"))

        # Keep-alive: requests 0.5 s apart on one connection, then silence.
        s = socket.create_connection((origin.host, origin.port), timeout=5)
        statuses = []
        for i in range(4):
            s.sendall(b"GET /ladder.ism/Manifest HTTP/1.1\r\nHost: x\r\n\r\n")
            statuses.append(read_response(s)[0])
            time.sleep(0.5)
        rep.ok(statuses == [200] * 4, "keep-alive: 4 requests 0.5 s apart on one connection (2 s > the timeout), "
               "all answered", str(statuses))
        dt = closed_within(s, 4)
        s.close()
        rep.ok(dt is not None and dt <= 2.0, "... then closed %s s after the last response went idle"
               % ("%.2f" % (dt + 0.5) if dt is not None else "> 4"))

        # A slow but active download that lasts longer than the timeout: four
        # pipelined GETs of the largest fragment (more than the kernel's
        # socket buffers hold, up to 4 MiB, so the origin itself is still
        # writing the last one for more than a second), read at a pace that
        # takes 6 s.
        url, want = big_url, big_want
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)  # before connect: a small window
        s.settimeout(10)
        s.connect((origin.host, origin.port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % url).encode() * 4)
        data, bodies = b"", []
        t0 = time.time()
        while len(bodies) < 4:
            chunk = s.recv(16384)
            if not chunk:
                break
            data += chunk
            while b"\r\n\r\n" in data:  # whole responses out of the buffer
                head, rest = data.split(b"\r\n\r\n", 1)
                n = int(re.search(rb"(?i)\r\ncontent-length: *(\d+)", head).group(1))
                if len(rest) < n:
                    break
                bodies.append(rest[:n])
                data = rest[n:]
            got = sum(len(x) for x in bodies) + len(data)
            lag = 6.0 * got / (4 * len(want)) - (time.time() - t0)
            if lag > 0:
                time.sleep(lag)
        took = time.time() - t0
        rep.ok(bodies == [want] * 4 and took > 5.0, "a slow download (4 x %d bytes pipelined, in %.1f s: 6 x the "
               "timeout) completes with the exact bytes" % (len(want), took), "%d bodies" % len(bodies))
        time.sleep(0.2)
        lines = [g for g in origin.log_lines() if g[2] == url]
        rep.ok(len(lines) == 4 and all(g[3] == "200" and not g[6] for g in lines)
               and max(float(g[5]) for g in lines) > 1000,
               "... one response took the origin longer than the timeout to write (log: %s ms), none cut"
               % ", ".join(g[5] for g in lines))
        dt = closed_within(s, 4)
        s.close()
        rep.ok(dt is not None and dt >= 0.5, "... and the connection is closed once idle (%s s after the last byte)"
               % ("%.2f" % dt if dt is not None else "> 4"))
        rc, _ = origin.stop()
        summary = next((l for l in origin.lines if "idle connections closed" in l), "")
        m = re.search(r"(\d+) idle connections closed", summary)
        rep.ok(rc == 0 and m is not None and int(m.group(1)) == 4,
               "counters: %s idle connections closed (the 4 above)" % (m.group(1) if m else "?"), summary)
        rep.ok(" 0 stalled connections closed" in summary, "... and no connection closed as stalled", summary)
        rep.ok(not any(g[6] for g in origin.log_lines()), "idle closes leave no aborted requests in the log")
    except (media.Failure, OSError, http.client.HTTPException) as e:
        import traceback
        rep.fail("test aborted: %s\n%s" % (e, traceback.format_exc()))
    finally:
        origin.kill()

    origin = Origin(root, ["--idle-timeout", "0", "--send-timeout", "0", "--quiet"])
    try:
        def descriptors():
            """The origin's sockets (files and event descriptors come and go with assets and pool threads)."""
            d = "/proc/%d/fd" % origin.proc.pid
            return sum(os.readlink(os.path.join(d, f)).startswith("socket:") for f in os.listdir(d))

        # Clients that close their kept-alive connections after a request:
        # libsoup 3.2 leaves those descriptors open, the origin closes them.
        fds = descriptors()
        for _ in range(20):
            k = socket.create_connection((origin.host, origin.port), timeout=5)
            k.sendall(b"GET /ladder.ism/Manifest HTTP/1.1\r\nHost: x\r\n\r\n")
            read_response(k)
            k.close()
        s = socket.create_connection((origin.host, origin.port), timeout=5)
        # Meanwhile a client that does not read (six 1.3 MB fragments
        # pipelined through a tiny window) for as long.
        stuck = socket.socket()
        stuck.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stuck.connect((origin.host, origin.port))
        stuck.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % big_url).encode() * 6)
        dt = closed_within(s, 2.5)
        left = descriptors() - fds
        s.sendall(b"GET /ladder.ism/Manifest HTTP/1.1\r\nHost: x\r\n\r\n")
        st = read_response(s)[0]
        s.close()
        rep.ok(dt is None and st == 200, "--idle-timeout 0: a silent connection stays open (2.5 s), then is answered")
        rep.ok(left == 2, "... and the 20 connections their clients closed meanwhile are closed (%d sockets more than "
               "at the start: 2 clients connected)" % left)
        bodies = [body for _, body in read_responses(stuck, 6)]
        stuck.close()
        rep.ok(bodies == [big_want] * 6, "--send-timeout 0: a client that did not read for 2.5 s then reads all six "
               "responses intact")
        origin.stop()
        summary = next((l for l in origin.lines if "stalled connections closed" in l), "")
        rep.ok(re.search(r" 0 idle connections closed, 0 stalled connections closed", summary),
               "... the counters: nothing closed", summary)
    except (media.Failure, OSError, http.client.HTTPException) as e:
        rep.fail("--idle-timeout 0 --send-timeout 0: %r" % e)
    finally:
        origin.kill()
    for opt in ("--idle-timeout", "--send-timeout"):
        for bad in ("-1", "abc", "86401"):
            p = subprocess.run([origin_binary(), "serve", "--root", root, opt, bad],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=20)
            rep.ok(p.returncode == 2 and opt in p.stderr, "%s %s -> usage error (exit 2)" % (opt, bad),
                   "exit %d: %s" % (p.returncode, p.stderr.strip()[:200]))


def hang_ups(socks, seconds, t0=None):
    """{name: seconds from t0 (default: now) until the server closed or reset
    that socket, or None if it did not within `seconds`}. Reads nothing: the
    clients go on not reading."""
    t0 = t0 or time.time()
    p = select.poll()
    names = {}
    for name, sock in socks.items():
        p.register(sock, select.POLLERR | select.POLLHUP | select.POLLRDHUP)
        names[sock.fileno()] = name
    out = {name: None for name in socks}
    while None in out.values() and time.time() - t0 < seconds:
        for fd, _ in p.poll(20):
            out[names[fd]] = time.time() - t0
            p.unregister(fd)
    return out


def check_send_timeout(rep, root, exp, big):
    rep.section("--send-timeout 1: clients that stop reading are cut, slow readers are not")
    origin = Origin(root, ["--send-timeout", "1"])
    try:
        big_url = largest_fragment(big)[0]
        small = fragment_urls(exp.manifest, "/ladder.ism/")

        def stuck(requests):
            """A client with a tiny receive window that sends `requests` and never reads."""
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect
            s.settimeout(5)
            s.connect((origin.host, origin.port))
            s.sendall(b"".join(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % u).encode() for u in requests))
            return s

        # All at once, so the section takes the time of one timeout. Streamed
        # path: six pipelined 1.3 MB fragments, more than the kernel buffers
        # hold. Cached whole bodies: every fragment of the ladder three times.
        # Drained: one small fragment that fits in the kernel, so the origin
        # finishes it at once (a 200, not aborted) and only its socket stalls.
        t0 = time.time()
        streamed = stuck([big_url] * 6)
        cached = stuck([u[3] for u in small] * 3)
        drained_url = "/sub/dir/ladder.ism/" + small[0][3][len("/ladder.ism/"):]
        drained = stuck([drained_url])

        # Meanwhile a slow reader: 16 KiB every 200 ms of a ~180 KB fragment
        # (about 2 s, twice the timeout), through a small window so that the
        # origin's socket holds the rest and every read lets bytes leave.
        b, name, t, rel = min(small, key=lambda u: abs(len(exp.fragment(u[0], u[1], u[2])[0]) - 180000))
        slow_url = "/attr/ladder.ism/" + rel[len("/ladder.ism/"):]
        want = exp.fragment(b, name, t)[0]
        slow = {}

        def slow_reader():
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
            s.settimeout(5)
            s.connect((origin.host, origin.port))
            s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % slow_url).encode())
            t1, data = time.time(), b""
            try:
                while True:
                    time.sleep(0.2)
                    chunk = s.recv(16384)
                    if not chunk:
                        break
                    data += chunk
                    head, _, body = data.partition(b"\r\n\r\n")
                    m = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
                    if m and len(body) >= int(m.group(1)):
                        break
            except OSError as e:
                slow["error"] = repr(e)
            slow["took"] = time.time() - t1
            slow["body"] = data.partition(b"\r\n\r\n")[2]
            s.close()

        th = threading.Thread(target=slow_reader)
        th.start()
        socks = {"streamed": streamed, "cached": cached, "drained": drained}
        ends = hang_ups(socks, 4, t0)
        th.join(15)
        for sock in socks.values():
            sock.close()
        rep.ok(all(e is not None and 0.9 <= e <= 3.0 for e in ends.values()),
               "clients that never read are disconnected: streamed %s, cached %s, drained %s s after their requests"
               % tuple("%.2f" % e if e is not None else "> 4" for e in ends.values()))

        def aborted(pred):
            return origin.wait_log(lambda g: pred(g[2]) and g[6], 1.0)

        g_streamed = aborted(lambda p: p == big_url)
        g_cached = aborted(lambda p: p.startswith("/ladder.ism/"))
        rep.ok(g_streamed is not None and g_streamed[3] == "200",
               "... the streamed response is logged as aborted: %s" % (" ".join(x for x in g_streamed if x)
                                                                        if g_streamed else "none"))
        rep.ok(g_cached is not None and g_cached[3] == "200",
               "... a cached whole-body response is logged as aborted: %s" % (" ".join(x for x in g_cached if x)
                                                                               if g_cached else "none"))
        g_drained = [g for g in origin.log_lines() if g[2] == drained_url]
        rep.ok(len(g_drained) == 1 and g_drained[0][3] == "200" and not g_drained[0][6],
               "... the response that had left the origin whole is logged complete (200), its socket still cut")
        rep.ok("error" not in slow and slow.get("body") == want and slow.get("took", 0) > 1.5,
               "a slow reader (16 KiB every 200 ms) gets all %d bytes intact in %.1f s"
               % (len(want), slow.get("took", 0)), slow.get("error", "%d bytes" % len(slow.get("body", b""))))
        g_slow = [g for g in origin.log_lines() if g[2] == slow_url]
        rep.ok(len(g_slow) == 1 and g_slow[0][3] == "200" and not g_slow[0][6],
               "... and its request is logged complete", str(g_slow))
        rc, _ = origin.stop()
        summary = next((l for l in origin.lines if "stalled connections closed" in l), "")
        m = re.search(r"(\d+) stalled connections closed", summary)
        rep.ok(rc == 0 and m is not None and int(m.group(1)) == 3,
               "counters: %s stalled connections closed (the 3 above)" % (m.group(1) if m else "?"), summary)
        rep.ok(not origin.err_lines, "nothing on stderr", "\n".join(origin.err_lines[-5:]))
    except (media.Failure, OSError, http.client.HTTPException) as e:
        import traceback
        rep.fail("test aborted: %s\n%s" % (e, traceback.format_exc()))
    finally:
        origin.kill()


def check_log_and_stop(rep, origin, expected_min):
    rep.section("request log and shutdown")
    time.sleep(0.2)
    lines = origin.log_lines()
    rep.ok(len(lines) >= expected_min, "one log line per request: %d lines (>= %d requests made)"
           % (len(lines), expected_min))
    want = [
        ("GET Manifest 200", lambda g: g[1] == "GET" and g[2].endswith("/ladder.ism/Manifest") and g[3] == "200"),
        ("GET fragment 200 with its size",
         lambda g: g[1] == "GET" and "/Fragments(" in g[2] and g[3] == "200" and int(g[4]) > 10000),
        ("HEAD 200 with 0 bytes", lambda g: g[1] == "HEAD" and g[3] == "200" and g[4] == "0"),
        ("304", lambda g: g[3] == "304"), ("404", lambda g: g[3] == "404"), ("400", lambda g: g[3] == "400"),
        ("405 POST", lambda g: g[1] == "POST" and g[3] == "405"), ("500", lambda g: g[3] == "500"),
        ("aborted transfer", lambda g: g[6] is not None),
    ]
    for what, pred in want:
        g = next((g for g in lines if pred(g)), None)
        rep.ok(g is not None, "log has %s%s" % (what, ": " + " ".join(x for x in g if x) if g else ""))
    rc, dt = origin.stop(signal.SIGTERM)
    rep.ok(rc == 0 and dt < 3.0, "SIGTERM -> exit 0 in %.2f s" % dt, "exit code %s" % rc)
    summary = next((l for l in origin.lines if re.search(r"\d+ requests \(2xx", l)), None)
    rep.ok(summary is not None, "counters printed at exit: %s" % summary)
    m = re.search(r"(\d+) pool jobs", summary or "")
    rep.ok(m is not None and int(m.group(1)) > 0, "some work went to the thread pool (cold reads, KeyFrames)")
    rep.ok(not any("CRITICAL" in l or "WARNING" in l for l in origin.err_lines),
           "no GLib warnings on stderr", "\n".join(origin.err_lines[-10:]))


def main(argv):
    rep = media.Report("test_origin")
    origin_binary()
    root = media.out_dir("origin", "root")
    try:
        out = package_ladder(root)
    except media.Failure as e:
        media.die(str(e))
    for sub, with_ismc in (("sub/dir", True), ("gen", False), ("attr", True)):
        d = os.path.join(root, sub)
        os.makedirs(d)
        for k in ("ismv", "ism") + (("ismc",) if with_ismc else ()):
            shutil.copy(out[k], d)
    # An asset outside the root, reachable only through a symlink inside it.
    outside = os.path.join(os.path.dirname(root), "outside")
    shutil.rmtree(outside, ignore_errors=True)
    os.makedirs(outside)
    for k in ("ismv", "ism", "ismc"):
        shutil.copy(out[k], os.path.join(outside, "outside." + k if k != "ismv" else "ladder.ismv"))
    os.symlink(os.path.join(outside, "outside.ism"), os.path.join(root, "link.ism"))
    with open(os.path.join(root, "broken.ism"), "w") as f:
        f.write(open(out["ism"]).read().replace('src="ladder.ismv"', 'src="nosuch.ismv"'))
    exp = Expected(out["ism"], out["ismc"], out["ismv"])
    attr_ismc = os.path.join(root, "attr", "ladder.ismc")
    with open(attr_ismc) as f:
        text = f.read()
    with open(attr_ismc, "w") as f:
        f.write(with_custom_attributes(text, exp.manifest["streams"][0]["bitrates"][0],
                                       [("Compatibility", "Handheld"), ("Profile", "Low")]))
    big_dir = os.path.join(root, "big")
    os.makedirs(big_dir)
    try:
        big_out = media.mux_ismvmux(media.ensure_media("ladder"), big_dir, "ladder",
                                    {"fragment-duration": "10000000000"})
    except media.Failure as e:
        media.die(str(e))
    big = Expected(big_out["ism"], big_out["ismc"], big_out["ismv"])

    origin = Origin(root)
    print("origin: %s -> %s" % (" ".join(origin.cmd), origin.url))
    origin.wait_for(lambda l: l.strip() == origin.url + "sub/dir/ladder.ism/Manifest", 5)
    listed = [l.strip() for l in origin.lines if l.strip().endswith("/Manifest")]
    rep.ok(len(listed) == 6 and origin.url + "sub/dir/ladder.ism/Manifest" in listed,
           "start-up lists the 6 .ism files under the root", str(listed))
    try:
        check_manifest(rep, origin, exp, "/ladder.ism/Manifest")
        check_manifest(rep, origin, exp, "/sub/dir/ladder.ism/Manifest")
        check_fragments(rep, origin, exp, "/ladder.ism/")
        check_fragments(rep, origin, exp, "/sub/dir/ladder.ism/")
        check_nouns(rep, origin, exp, "/ladder.ism/")
        check_head_keepalive(rep, origin, exp, "/ladder.ism/")
        check_errors(rep, origin, exp, "/ladder.ism/")
        check_attributes(rep, origin, exp)
        check_ranges(rep, origin, exp, big, "/ladder.ism/")
        check_ranges_vs_nginx(rep, origin, exp, big, root)
        check_concurrency(rep, origin, exp, ["/ladder.ism/", "/sub/dir/ladder.ism/"])
        check_other_assets(rep, origin, exp, root)
        check_big_fragments(rep, origin, big)
        check_log_and_stop(rep, origin, 200)
    except (media.Failure, OSError, http.client.HTTPException) as e:
        import traceback
        rep.fail("test aborted: %s\n%s" % (e, traceback.format_exc()))
    finally:
        origin.kill()

    check_idle_timeout(rep, root, big)
    check_send_timeout(rep, root, exp, big)

    rep.section("out of file descriptors (RLIMIT_NOFILE 64, 150 idle connections)")
    import resource

    def low_nofile():
        resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))

    origin = Origin(root, ["--quiet"], preexec_fn=low_nofile)
    try:
        socks = [socket.create_connection((origin.host, origin.port), timeout=5) for _ in range(150)]
        time.sleep(0.5)

        def cpu():
            f = open("/proc/%d/stat" % origin.proc.pid).read().rsplit(")", 1)[1].split()
            return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

        c0 = cpu()
        time.sleep(1.0)
        used = cpu() - c0
        rep.ok(used < 0.3, "no busy loop while accept() fails (%.2f s CPU in 1 s)" % used)
        for sk in socks:
            sk.close()
        time.sleep(0.3)
        conn = http.client.HTTPConnection(origin.host, origin.port, timeout=5)
        ok = all(request(origin, "GET", "/ladder.ism/Manifest", conn=conn)[0] == 200 for _ in range(3))
        port = conn.sock.getsockname()[1] if conn.sock else None
        ok = ok and request(origin, "GET", "/ladder.ism/Manifest", conn=conn)[0] == 200 and \
            conn.sock is not None and conn.sock.getsockname()[1] == port
        conn.close()
        rep.ok(ok, "accepting again once descriptors are free, keep-alive still on")
        rep.ok(any("cannot accept connections" in l for l in origin.err_lines),
               "the condition is reported on stderr")
        rc, dt = origin.stop()
        rep.ok(rc == 0, "SIGTERM -> exit 0", "exit %s" % rc)
    except (media.Failure, OSError, http.client.HTTPException) as e:
        import traceback
        rep.fail("test aborted: %s\n%s" % (e, traceback.format_exc()))
    finally:
        origin.kill()

    rep.section("--threads 3: three event loops on one port")
    origin = Origin(root, ["--threads", "3", "--quiet"])
    try:
        print("origin: %s -> %s" % (" ".join(origin.cmd), origin.url))
        check_concurrency(rep, origin, exp, ["/ladder.ism/", "/sub/dir/ladder.ism/"])
        check_fragments(rep, origin, exp, "/ladder.ism/")
        rc, dt = origin.stop()
        rep.ok(rc == 0 and dt < 3.0, "SIGTERM -> exit 0 in %.2f s" % dt, "exit code %s" % rc)
        rep.ok(not origin.log_lines(), "--quiet: no request lines")
    except (media.Failure, OSError, http.client.HTTPException) as e:
        import traceback
        rep.fail("test aborted: %s\n%s" % (e, traceback.format_exc()))
    finally:
        origin.kill()
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
