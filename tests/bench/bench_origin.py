#!/usr/bin/env python3
"""Benchmark: fragments per second from `gst-smooth serve` against nginx
serving the static export of the same asset.

Not part of the test suite. It packages the 3-bitrate 'ladder' media of the
interop tests (10 s, 640x360/480x270/320x180 H.264 + AAC, generated with
gst-launch-1.0 by tests/interop/media.py) with ismvmux, makes the static
layout with `gst-smooth export` (or, if that fails, by itself in Python from
the .ism and the tfra index: the same moof+mdat bytes), and then runs wrk
with --connections keep-alive clients on loopback, each cycling through all
20 fragment URLs (every bitrate, every time, audio included), against:

  ours      gst-smooth serve --root DIR --port P --threads N
  nginx     nginx (daemon off, sendfile on, access log on, keepalive_requests
            1000000), worker_processes N, root = the export

for N = 1 (one event loop each: our single SoupServer loop against one nginx
worker) and N = the number of CPUs. Both servers log every request to a file.
Before timing, every URL is fetched from both servers and the bodies must be
identical. Runs alternate between the servers (--runs each); the figure is
the median of wrk's Requests/sec, and wrk must report no errors and no
non-2xx responses. It prints the commands, the figures, and the ratio
ours/nginx for each N (target >= 0.5).

  python3 tests/bench/bench_origin.py [--build-dir build] [--runs 3] [--seconds 5]
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import shlex
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SOURCE_ROOT, "tests", "interop"))

import peers  # noqa: E402  (tests/bench, beside this script)


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def fetch(port: int, path: str) -> bytes:
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request("GET", path)
        r = c.getresponse()
        body = r.read()
        if r.status != 200:
            raise RuntimeError("GET %s on port %d: %d" % (path, port, r.status))
        return body
    finally:
        c.close()


def wait_port(port: int, proc: subprocess.Popen, what: str) -> None:
    end = time.time() + 10
    while time.time() < end:
        if proc.poll() is not None:
            sys.exit("%s exited (%s) before listening on %d" % (what, proc.returncode, port))
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    sys.exit("%s does not listen on %d" % (what, port))


# ---------------------------------------------------------------- the asset

def package(build_dir: str, work: str) -> dict:
    os.environ["GST_SMOOTH_BUILD_DIR"] = build_dir
    os.environ.setdefault("GST_PLUGIN_PATH_1_0", os.path.join(build_dir, "gst", "ismv"))
    os.environ.setdefault("GST_REGISTRY_1_0", os.path.join(work, "registry.bin"))
    import media  # tests/interop/media.py
    src = os.path.join(work, "src")
    shutil.rmtree(src, ignore_errors=True)
    os.makedirs(src)
    mp4 = media.ensure_media("ladder")
    out = media.mux_ismvmux(mp4, src, "ladder")
    print("asset:   %s (from %s)\n  packaged with: %s" % (out["ism"], mp4, out["cmd"]))
    return out


def python_export(asset: dict, dest: str) -> None:
    """Static layout from the .ism/.ismc and the tfra index (fallback)."""
    import xml.etree.ElementTree as ET
    import boxcheck
    movie = boxcheck.Movie(asset["ismv"])
    data = movie.file.data
    os.makedirs(dest)
    shutil.copy(asset["ismc"], os.path.join(dest, "Manifest"))
    ns = {"s": "http://www.w3.org/2001/SMIL20/Language"}
    for el in ET.parse(asset["ism"]).getroot().find("s:body/s:switch", ns):
        params = {p.get("name"): p.get("value") for p in el.findall("s:param", ns)}
        name = params.get("trackName", el.tag.split("}")[1])
        qdir = os.path.join(dest, "QualityLevels(%s)" % el.get("systemBitrate"))
        os.makedirs(qdir, exist_ok=True)
        for e in movie.tfra[int(params["trackID"])]["entries"]:
            i = movie.file.boxes.index(movie.file.box_at(e["moof_offset"]))
            end = movie.file.boxes[i + 1].end
            with open(os.path.join(qdir, "Fragments(%s=%d)" % (name, e["time"])), "wb") as f:
                f.write(data[e["moof_offset"]:end])


def export(gst_smooth: str, asset: dict, webroot: str) -> None:
    dest = os.path.join(webroot, "ladder.ism")
    shutil.rmtree(webroot, ignore_errors=True)
    os.makedirs(webroot)
    cmd = [gst_smooth, "export", "--out", dest, asset["ism"]]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if p.returncode == 0 and os.path.exists(os.path.join(dest, "Manifest")):
        print("export:  %s\n  %s" % (shlex.join(cmd), p.stdout.strip()))
        return
    print("export:  `%s` failed (%d: %s); writing the layout in Python instead"
          % (shlex.join(cmd), p.returncode, p.stdout.strip()[:200]))
    shutil.rmtree(dest, ignore_errors=True)
    python_export(asset, dest)


def fragment_paths(manifest: bytes) -> list:
    import xml.etree.ElementTree as ET
    paths = []
    for si in ET.fromstring(manifest).findall("StreamIndex"):
        times, t = [], 0
        for c in si.findall("c"):
            t = int(c.get("t", t))
            for _ in range(int(c.get("r", "1"))):
                times.append(t)
                t += int(c.get("d"))
        for q in si.findall("QualityLevel"):
            for t in times:
                paths.append("/ladder.ism/" + si.get("Url").replace("{bitrate}", q.get("Bitrate"))
                             .replace("{start time}", str(t)))
    return paths


# ---------------------------------------------------------------- servers

class Server:
    def __init__(self, key, cmd, port, log_path, cwd=None):
        self.key, self.cmd, self.port = key, cmd, port
        self.log = open(log_path, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=cwd)
        wait_port(port, self.proc, key)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM if self.key.startswith("ours") else signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def start_ours(gst_smooth, root, threads, work):
    port = free_port()
    cmd = [gst_smooth, "serve", "--root", root, "--port", str(port), "--threads", str(threads)]
    return Server("ours/%d" % threads, cmd, port, os.path.join(work, "ours-%d.log" % threads))


def start_nginx(webroot, workers, work):
    port = free_port()
    d = os.path.join(work, "nginx-%d" % workers)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(os.path.join(d, "tmp"))
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""
daemon off;
worker_processes %(workers)d;
pid %(d)s/nginx.pid;
error_log %(d)s/error.log warn;
events { worker_connections 4096; }
http {
  access_log %(d)s/access.log;
  client_body_temp_path %(d)s/tmp/body;
  proxy_temp_path %(d)s/tmp/proxy;
  fastcgi_temp_path %(d)s/tmp/fastcgi;
  uwsgi_temp_path %(d)s/tmp/uwsgi;
  scgi_temp_path %(d)s/tmp/scgi;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  default_type video/mp4;
  server {
    listen 127.0.0.1:%(port)d;
    root %(root)s;
    location ~ /Manifest$ { default_type text/xml; }
  }
}
""" % {"workers": workers, "d": d, "port": port, "root": webroot})
    cmd = ["nginx", "-c", conf, "-p", d, "-e", os.path.join(d, "error.log")]
    return Server("nginx/%d" % workers, cmd, port, os.path.join(d, "stdout.log"))


def write_lua(paths, path):
    with open(path, "w") as f:
        f.write("-- every fragment URL in turn, each connection from its own offset\n")
        f.write("local paths = {%s}\n" % ", ".join('"%s"' % p for p in paths))
        f.write("local i = 0\n")
        f.write("init = function(args) i = math.random(#paths) end\n")
        f.write("request = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")


def run_wrk(port, lua, connections, seconds, threads):
    cmd = ["wrk", "-t%d" % threads, "-c%d" % connections, "-d%ds" % seconds, "-s", lua,
           "http://127.0.0.1:%d" % port]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=seconds + 60)
    out = p.stdout
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errs = re.search(r"Socket errors: (.*)", out)
    mb = re.search(r"Transfer/sec:\s+([\d.]+)(\w+)", out)
    if p.returncode != 0 or not m:
        sys.exit("wrk failed: %s\n%s" % (shlex.join(cmd), out))
    if bad or errs:
        sys.exit("wrk saw errors (%s / %s): %s\n%s" % (bad and bad.group(0), errs and errs.group(0),
                                                       shlex.join(cmd), out))
    return float(m.group(1)), (mb.group(1) + mb.group(2)) if mb else "?", cmd


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(SOURCE_ROOT, "build"))
    ap.add_argument("--workdir", default="/tmp/gst-smooth-bench-origin")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--connections", type=int, default=50)
    ap.add_argument("--wrk-threads", type=int, default=2)
    ap.add_argument("--loops", default="1,%d" % (os.cpu_count() or 1),
                    help="comma-separated N: origin --threads N against nginx worker_processes N")
    args = ap.parse_args()

    peers.ensure("wrk", "nginx", "gst-launch-1.0")
    build_dir = os.path.abspath(args.build_dir)
    gst_smooth = os.path.join(build_dir, "tools", "gst-smooth")
    if not os.access(gst_smooth, os.X_OK):
        sys.exit("not built: %s" % gst_smooth)
    work = args.workdir
    os.makedirs(work, exist_ok=True)
    print("machine: %d CPUs, %s" % (os.cpu_count() or 0, " ".join(os.uname()[2:3])))

    asset = package(build_dir, work)
    webroot = os.path.join(work, "www")
    export(gst_smooth, asset, webroot)
    origin_root = os.path.dirname(asset["ism"])
    paths = fragment_paths(open(asset["ismc"], "rb").read())
    lua = os.path.join(work, "fragments.lua")
    write_lua(paths, lua)
    sizes = [os.path.getsize(os.path.join(webroot, p.lstrip("/"))) for p in paths]
    print("load:    %d fragment URLs (%d..%d bytes, mean %d), %d keep-alive connections, %d s per run, "
          "%d runs per server" % (len(paths), min(sizes), max(sizes), statistics.mean(sizes), args.connections,
                                   args.seconds, args.runs))

    loops = [int(x) for x in args.loops.split(",") if x]
    results = {}
    for n in loops:
        ours = start_ours(gst_smooth, origin_root, n, work)
        nginx = start_nginx(webroot, n, work)
        try:
            print("\n== N = %d" % n)
            print("  ours:  %s" % shlex.join(ours.cmd))
            print("  nginx: %s" % shlex.join(nginx.cmd))
            for p in paths + ["/ladder.ism/Manifest"]:
                if fetch(ours.port, p) != fetch(nginx.port, p):
                    sys.exit("different bodies for %s" % p)
            print("  checked: all %d URLs + Manifest give identical bodies from both servers" % len(paths))
            # warm-up (page cache, asset load, nginx open files)
            run_wrk(ours.port, lua, args.connections, 1, args.wrk_threads)
            run_wrk(nginx.port, lua, args.connections, 1, args.wrk_threads)
            figures = {"ours": [], "nginx": []}
            for r in range(args.runs):
                for key, srv in (("ours", ours), ("nginx", nginx)):
                    rps, tps, cmd = run_wrk(srv.port, lua, args.connections, args.seconds, args.wrk_threads)
                    if r == 0:
                        print("  wrk:   %s" % shlex.join(cmd))
                    figures[key].append(rps)
                    print("  run %d %-5s %10.0f fragments/s  %s/s" % (r + 1, key, rps, tps))
            mo, mn = statistics.median(figures["ours"]), statistics.median(figures["nginx"])
            results[n] = (mo, mn)
        finally:
            ours.stop()
            nginx.stop()

    print("\n== results (median fragments/s)")
    print("%-4s %14s %14s %8s" % ("N", "ours", "nginx", "ratio"))
    ok = True
    for n, (mo, mn) in results.items():
        print("%-4d %14.0f %14.0f %8.2f" % (n, mo, mn, mo / mn))
        ok &= mo / mn >= 0.5
    print("target: ours/nginx >= 0.5: %s" % ("met" if ok else "NOT met"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
