#!/usr/bin/env python3
"""Live ingest benchmarks: `gst-smooth serve --ingest` against its nearest open peers.

1. Throughput: N parallel, unpaced chunked uploads of the same ingest body
   (an `ismvmux live=true` stream) into `gst-smooth serve --ingest` (one
   publishing point each, archive written to disk), against the same bodies
   uploaded to nginx, which writes them to disk (WebDAV PUT: stock nginx
   reads request bodies only for modules that want them, and dav is the one
   that stores them). Figure: MB of body per CPU second of the server
   process(es); ratio ours/nginx (target >= 0.7).
2. Latency: S concurrent live streams, each pushed fragment by fragment in
   real time; a poller per stream reads the live Manifest every few
   milliseconds and records when each fragment is first listed (and checks
   that it answers 200). The latency the origin adds is the time from the
   moment the fragment could be listed (its own last byte sent, with
   look-ahead 0; the last byte of the fragment `lookahead` later, otherwise)
   to its listing. Beside it: the same paced bodies piped into FFmpeg's
   `-f smoothstreaming` muxer, whose Manifest and fragment files nginx
   serves. Target: look-ahead 0 <= 50 ms p99 added by our origin.

Prints its commands, figures and ratios. Not part of the test suite.
"""

import argparse
import http.client
import os
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

import peers

ROOT = peers.SOURCE_ROOT
TFXD = bytes.fromhex("6D1D9B0542D544E680E2141DAFF757B2")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, what):
    for _ in range(200):
        if proc.poll() is not None:
            sys.exit("%s exited with %s" % (what, proc.returncode))
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("%s did not listen on %d" % (what, port))


def cpu_seconds(pids):
    total = 0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
            total += (int(f[11]) + int(f[12])) / tick
        except OSError:
            pass
    return total


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], stdout=subprocess.PIPE, text=True).stdout
    return [int(x) for x in out.split()]


# ---------------------------------------------------------------- media

def make_body(build, work, seconds, fragment_ms, kbps, pattern="ball"):
    path = os.path.join(work, "live-%ds-%dms-%dk-%s.isml" % (seconds, fragment_ms, kbps, pattern))
    if os.path.exists(path):
        return path
    fps = 25
    cmd = ["gst-launch-1.0", "-q", "-e",
           "videotestsrc", "num-buffers=%d" % (seconds * fps), "pattern=" + pattern, "!",
           "video/x-raw,width=640,height=360,framerate=%d/1" % fps, "!",
           "x264enc", "bitrate=%d" % kbps, "speed-preset=ultrafast", "key-int-max=%d" % (fps * fragment_ms // 1000),
           "bframes=0", "!", "h264parse", "!", "m.",
           "audiotestsrc", "num-buffers=%d" % (seconds * 48000 // 1024), "samplesperbuffer=1024", "!",
           "audio/x-raw,rate=48000,channels=2", "!", "avenc_aac", "!", "aacparse", "!", "m.",
           "ismvmux", "name=m", "live=true", "fragment-duration=%d" % (fragment_ms * 1000000), "!",
           "filesink", "location=" + path + ".tmp"]
    env = dict(os.environ, GST_PLUGIN_PATH_1_0=os.path.join(build, "gst", "ismv"))
    print("input:", " ".join(cmd))
    subprocess.run(cmd, check=True, env=env, timeout=600)
    os.rename(path + ".tmp", path)
    return path


def split_body(data):
    """(header, [(track_id, tfxd_time, bytes)]) of an ingest body: moof+mdat pairs."""
    pos, header_end, frags = 0, None, []
    while pos + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if size == 1:
            size = struct.unpack(">Q", data[pos + 8:pos + 16])[0]
        if size < 8:
            sys.exit("bad box in the body")
        if kind == b"moof":
            if header_end is None:
                header_end = pos
            moof = data[pos:pos + size]
            mdat_size = struct.unpack(">I", data[pos + size:pos + size + 4])[0]
            i = moof.find(TFXD)
            version = moof[i + 16]
            t = struct.unpack(">Q", moof[i + 20:i + 28])[0] if version == 1 else struct.unpack(">I", moof[i + 20:i + 24])[0]
            j = moof.find(b"tfhd")
            track = struct.unpack(">I", moof[j + 8:j + 12])[0]
            frags.append((track, t, data[pos:pos + size + mdat_size]))
            pos += size + mdat_size
            continue
        pos += size
    return data[:header_end], frags


# ---------------------------------------------------------------- servers

def start_ours(build, work, lookahead):
    port = free_port()
    root = tempfile.mkdtemp(prefix="ours-", dir=work)
    cmd = [os.path.join(build, "tools", "gst-smooth"), "serve", "--root", root, "--port", str(port), "--ingest",
           "--lookahead", str(lookahead), "--ingest-idle-stop", "3600"]
    log = open(os.path.join(work, "ours-la%d.log" % lookahead), "w")
    p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    wait_port(port, p, "gst-smooth serve")
    return p, port, cmd, root


def start_nginx(work, webroot):
    port = free_port()
    d = tempfile.mkdtemp(prefix="nginx-", dir=work)
    os.makedirs(os.path.join(d, "tmp"))
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        # As root, nginx's workers would run as nobody, who may not write
        # (or even read) the temporary folders.
        f.write(("user root;\n" if os.getuid() == 0 else "") + """daemon off;
worker_processes 1;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path %(d)s/tmp/body;
  proxy_temp_path %(d)s/tmp/proxy;
  fastcgi_temp_path %(d)s/tmp/fastcgi;
  uwsgi_temp_path %(d)s/tmp/uwsgi;
  scgi_temp_path %(d)s/tmp/scgi;
  client_max_body_size 0;
  default_type video/mp4;
  server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
    location /up/ { dav_methods PUT; create_full_put_path on; }
    location ~ /Manifest$ { default_type text/xml; add_header Cache-Control no-cache; }
  }
}
""" % {"d": d, "port": port, "root": webroot})
    cmd = ["nginx", "-c", conf, "-p", d, "-e", os.path.join(d, "error.log")]
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_port(port, p, "nginx")
    return p, port, cmd


def stop(p):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


# ---------------------------------------------------------------- uploads

def upload(port, method, path, pieces, pace=None, sent=None):
    """Chunked upload of `pieces` (a list of bytes); with `pace` (seconds per
    piece from the start, None: unpaced) each piece is sent at its time and
    `sent` gets the time its last byte left. Returns the status."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    c.putrequest(method, path)
    c.putheader("Transfer-Encoding", "chunked")
    c.endheaders()
    t0 = time.monotonic()
    for i, piece in enumerate(pieces):
        if pace is not None:
            delay = t0 + pace[i] - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        for k in range(0, len(piece), 256 * 1024):
            chunk = piece[k:k + 256 * 1024]
            c.send(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
        if sent is not None:
            sent.append(time.monotonic())
    c.send(b"0\r\n\r\n")
    r = c.getresponse()
    r.read()
    c.close()
    return r.status


def throughput(args, build, work, body):
    data = open(body, "rb").read()
    pieces = [data[i:i + 1024 * 1024] for i in range(0, len(data), 1024 * 1024)]
    results = {}
    for key in ("ours", "nginx"):
        if key == "ours":
            p, port, cmd, store = start_ours(build, work, 2)
            pids = lambda: [p.pid]
            paths = ["/tp/p%d.isml/Streams(s)" % i for i in range(args.streams)]
            method = "POST"
        else:
            web = store = tempfile.mkdtemp(prefix="web-", dir=work)
            p, port, cmd = start_nginx(work, web)
            pids = lambda: [p.pid] + children(p.pid)
            paths = ["/up/p%d.isml" % i for i in range(args.streams)]
            method = "PUT"
        print("%s: %s" % (key, " ".join(cmd)))
        for run in range(args.runs):
            run_paths = [x.replace("/p", "/r%d-p" % run, 1) for x in paths]
            statuses = []
            cpu0, w0 = cpu_seconds(pids()), time.monotonic()
            threads = [threading.Thread(target=lambda q=q: statuses.append(upload(port, method, q, pieces)))
                       for q in run_paths]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            cpu, wall = cpu_seconds(pids()) - cpu0, time.monotonic() - w0
            if any(s not in (200, 201, 204) for s in statuses):
                stop(p)
                sys.exit("%s answered %s" % (key, statuses))
            # Both must have stored the bodies (ours: the archive .ismv files).
            stored = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(store) for f in fs
                         if "r%d-" % run in d or "r%d-" % run in f)
            if stored < 0.95 * len(data) * args.streams:
                stop(p)
                sys.exit("%s stored %d of %d bytes" % (key, stored, len(data) * args.streams))
            mb = len(data) * args.streams / 1e6
            rate = mb / max(cpu, 1e-3)
            print("  run %d: %d x %.1f MB in %.2f s wall, %.2f CPU s: %.0f MB per CPU s" %
                  (run + 1, args.streams, len(data) / 1e6, wall, cpu, rate))
            results.setdefault(key, []).append(rate)
        stop(p)
    ours, ng = statistics.median(results["ours"]), statistics.median(results["nginx"])
    print("throughput: ours %.0f MB/CPU s, nginx %.0f MB/CPU s: ratio %.2f (target >= 0.7)" % (ours, ng, ours / ng))


# ---------------------------------------------------------------- latency

def listed_times(xml):
    """Start times of the video StreamIndex's fragments in a client manifest."""
    m = re.search(r'<StreamIndex[^>]*Type="video".*?</StreamIndex>', xml, re.S)
    if not m:
        return []
    out, t = [], 0
    for c in re.finditer(r"<c\b([^>]*)/?>", m.group(0)):
        attrs = dict(re.findall(r'(\w+)="(\d+)"', c.group(1)))
        if "t" in attrs:
            t = int(attrs["t"])
        d = int(attrs.get("d", 0))
        for _ in range(int(attrs.get("r", 1))):
            out.append(t)
            t += d
    return out


def poll(port, path, seen, stop_at, fetch_prefix):
    """Records the monotonic time at which each listed video fragment (by
    index in the timeline) was first seen; fetches each once."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    bad = []
    while time.monotonic() < stop_at:
        try:
            c.request("GET", path)
            r = c.getresponse()
            body = r.read().decode("utf-8", "replace")
        except (OSError, http.client.HTTPException):
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            time.sleep(0.01)
            continue
        now = time.monotonic()
        if r.status == 200:
            times = listed_times(body)
            for i, t in enumerate(times):
                if t not in seen:
                    seen[t] = (len(seen), now)
                    if fetch_prefix is not None:
                        url = fetch_prefix.replace("{t}", str(t))
                        c.request("GET", url)
                        fr = c.getresponse()
                        fr.read()
                        if fr.status != 200:
                            bad.append((url, fr.status))
        time.sleep(0.005)
    return bad


def latency(args, build, work, body, lookahead, peer):
    header, frags = split_body(open(body, "rb").read())
    video_track = frags[0][0]
    t_first = min(t for _, t, _ in frags)
    pieces = [header] + [f for _, _, f in frags]
    pace = [0.0] + [(t - t_first) / 1e7 for _, t, _ in frags]
    is_video = [False] + [tr == video_track for tr, _, _ in frags]
    media = max(pace) + 2
    procs = []
    if peer == "ours":
        p, port, cmd, _ = start_ours(build, work, lookahead)
        procs.append(p)
        print("ours (look-ahead %d): %s" % (lookahead, " ".join(cmd)))
    else:
        web = tempfile.mkdtemp(prefix="ffweb-", dir=work)
        p, port, cmd = start_nginx(work, web)
        procs.append(p)
        print("ffmpeg+nginx (look-ahead %d): %s" % (lookahead, " ".join(cmd)))
    # The QualityLevels bitrate of the video (the Live Server Manifest's systemBitrate).
    br = re.search(rb'<video[^>]*systemBitrate="(\d+)"', header)
    bitrate = br.group(1).decode() if br else "0"
    threads, sent, seen, bad = [], [], [], []
    stop_at = time.monotonic() + media + 6
    ffmpegs = []
    for s in range(args.live_streams):
        sent.append([])
        seen.append({})
        if peer == "ours":
            push = lambda s=s: upload(port, "POST", "/lat/l%d.isml/Streams(s)" % s, pieces, pace, sent[s])
            manifest = "/lat/l%d.isml/Manifest" % s
            fetch = "/lat/l%d.isml/QualityLevels(%s)/Fragments(video={t})" % (s, bitrate)
        else:
            out = os.path.join(web, "l%d" % s)
            os.makedirs(out)
            # FFmpeg starts once it has probed the input: the least probing
            # that finds both streams in the header.
            ff = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-probesize", "32768", "-analyzeduration", "0",
                  "-f", "mov", "-i", "pipe:0", "-c", "copy",
                  "-f", "smoothstreaming", "-window_size", "0", "-lookahead_count", str(lookahead),
                  "-min_frag_duration", "500000", out]
            if s == 0:
                print("  peer muxer: " + " ".join(ff))
            fp = subprocess.Popen(ff, stdin=subprocess.PIPE)
            ffmpegs.append(fp)

            def push(s=s, fp=fp):
                t0 = time.monotonic()
                for i, piece in enumerate(pieces):
                    delay = t0 + pace[i] - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    fp.stdin.write(piece)
                    fp.stdin.flush()
                    sent[s].append(time.monotonic())
                fp.stdin.close()
            manifest = "/l%d/Manifest" % s
            fetch = None
        threads.append(threading.Thread(target=push))
        threads.append(threading.Thread(target=lambda m=manifest, s=s, f=fetch: bad.extend(
            poll(port, m, seen[s], stop_at, f))))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for fp in ffmpegs:
        fp.wait(30)
    for p in procs:
        stop(p)
    added = []
    for s in range(args.live_streams):
        vsent = [sent[s][i] for i in range(len(sent[s])) if is_video[i]]
        order = sorted(seen[s].items(), key=lambda kv: kv[0])
        for k, (_, (_, when)) in enumerate(order):
            enabler = k + lookahead
            if enabler < len(vsent):
                added.append(when - vsent[enabler])
    if not added:
        sys.exit("%s look-ahead %d: nothing was listed" % (peer, lookahead))
    added.sort()
    med = statistics.median(added)
    p99 = added[min(len(added) - 1, int(len(added) * 0.99))]
    print("  %s look-ahead %d: %d fragments listed; added latency median %.1f ms, p99 %.1f ms%s" %
          (peer, lookahead, len(added), med * 1e3, p99 * 1e3, "; fetch errors %s" % bad[:3] if bad else ""))
    return med, p99


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--workdir", default="/tmp/gst-smooth-bench")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--streams", type=int, default=4, help="parallel uploads in the throughput test")
    ap.add_argument("--live-streams", type=int, default=20, help="concurrent streams in the latency test")
    ap.add_argument("--seconds", type=int, default=20, help="media per latency stream")
    ap.add_argument("--only", choices=["throughput", "latency"])
    args = ap.parse_args()
    peers.ensure("gst-launch-1.0", "ffmpeg", "nginx", "pgrep")
    os.makedirs(args.workdir, exist_ok=True)
    work = tempfile.mkdtemp(prefix="ingest-", dir=args.workdir)
    try:
        if args.only in (None, "throughput"):
            # Snow: the encoder reaches its bitrate (a ~30 MB body per upload).
            body = make_body(args.build, args.workdir, 60, 2000, 4000, "snow")
            throughput(args, args.build, work, body)
        if args.only in (None, "latency"):
            body = make_body(args.build, args.workdir, args.seconds, 1000, 1000)
            rows = {}
            for la in (0, 2):
                for peer in ("ours", "ffmpeg"):
                    rows[(peer, la)] = latency(args, args.build, work, body, la, peer)
            print("latency added by the origin (median / p99 ms), %d concurrent streams:" % args.live_streams)
            for la in (0, 2):
                o, f = rows[("ours", la)], rows[("ffmpeg", la)]
                print("  look-ahead %d: ours %.1f / %.1f, ffmpeg+nginx %.1f / %.1f; p99 ratio ours/peer %.2f%s" %
                      (la, o[0] * 1e3, o[1] * 1e3, f[0] * 1e3, f[1] * 1e3, o[1] / max(f[1], 1e-6),
                       " (target p99 <= 50 ms: %s)" % ("met" if o[1] <= 0.05 else "missed") if la == 0 else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
