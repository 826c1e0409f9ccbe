#!/usr/bin/env python3
"""Interop: dash.js in Chromium plays the development origin from another origin.

The 'ladder' media (3 H.264 bitrates + AAC, 10 s) is packaged with ismvmux
and served by `gst-smooth serve`. A page on another port (so another origin:
a small HTTP server in this script) loads dash.js and plays
http://127.0.0.1:ORIGIN_PORT/ladder.ism/Manifest in a muted <video>. Debian's
Chromium runs headless with web security on (a fresh profile, no network
beyond loopback); the page posts what happened back to its own server (same
origin). Checked:
  - with the default CORS ('*'): playback advances past 4 s with no player or
    media error, video frames decoded, and the origin's log shows the
    manifest and both video and audio fragments served; a fetch() with Range
    and If-None-Match (not CORS-safelisted: the browser sends a preflight,
    answered 204 in the log) gets its 206, and the page can read the
    Content-Range and ETag headers (Access-Control-Expose-Headers);
  - with --cors-origin naming the page's origin: the same;
  - with --cors-origin none, and with a list that does not name the page:
    the origin answers the manifest (200 in its log) but the browser keeps it
    from the page: dash.js reports a manifest error and nothing plays. So the
    headers are what makes it work. The preflighted fetch() fails as well.

Peers: /usr/bin/chromium (Debian package chromium, installed by
tools/setup-debian.sh) and dash.js DASHJS_VERSION from the npm registry,
fetched once with `npm pack` into <build>/browser/ (dash.all.min.js, and
dash.mss.min.js: the MSS handler). Exit 77 when chromium or npm is missing.
"""

import http.client
import http.server
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import media
import test_origin as to

DASHJS_VERSION = "4.7.4"
CHROMIUM = "/usr/bin/chromium"
PLAY_SECONDS = 4.0     # currentTime the page waits for
PAGE_TIMEOUT = 40.0    # s per run, then the page reports what it has
RUN_TIMEOUT = 60.0     # s per run, then chromium is killed

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>gst-smooth dash.js test</title></head>
<body>
<video id="v" muted playsinline width="640" height="360"></video>
<script src="/dash.all.min.js"></script>
<script src="/dash.mss.min.js"></script>
<script>
const MANIFEST = %(manifest)s, FRAG = %(frag)s, WANT = %(want)s, TIMEOUT_MS = %(timeout_ms)d;
const video = document.getElementById('v');
const errors = [];
let sent = false;
// A request a player could make that needs a preflight (If-None-Match is
// not CORS-safelisted), reading headers that only Expose-Headers reveals.
async function probe() {
  const out = {};
  try {
    const r = await fetch(FRAG, {headers: {'Range': 'bytes=0-99', 'If-None-Match': '"no-such-tag"'}});
    out.status = r.status;
    out.contentRange = r.headers.get('Content-Range');
    out.etag = r.headers.get('ETag');
    out.bytes = (await r.arrayBuffer()).byteLength;
  } catch (e) {
    out.error = String(e);
  }
  return out;
}
async function report(outcome) {
  if (sent) return;
  sent = true;
  const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : {};
  const p = await probe();
  fetch('/result', {method: 'POST', body: JSON.stringify({probe: p,
    outcome: outcome, currentTime: video.currentTime, errors: errors,
    videoWidth: video.videoWidth, videoHeight: video.videoHeight,
    frames: q.totalVideoFrames || 0, dropped: q.droppedVideoFrames || 0,
    mediaError: video.error ? video.error.code : null,
    dashjs: (typeof dashjs !== 'undefined') ? dashjs.Version || 'loaded' : 'missing'})});
}
window.addEventListener('error', e => { errors.push('page: ' + e.message); });
video.addEventListener('error', () => { errors.push('video element error ' + (video.error && video.error.code)); });
try {
  const player = dashjs.MediaPlayer().create();
  player.updateSettings({debug: {logLevel: dashjs.Debug.LOG_LEVEL_WARNING}});
  player.on(dashjs.MediaPlayer.events.ERROR, e => {
    const err = e.error || {};
    errors.push('dash.js error ' + (err.code !== undefined ? err.code : '') + ': ' + (err.message || e.event || ''));
    report('error');
  });
  player.initialize(video, MANIFEST, true);
} catch (e) {
  errors.push('exception: ' + e);
  report('error');
}
const t0 = Date.now();
const timer = setInterval(() => {
  if (video.currentTime >= WANT) { clearInterval(timer); report('played'); }
  else if (Date.now() - t0 > TIMEOUT_MS) { clearInterval(timer); report('timeout'); }
}, 200);
</script></body></html>
"""


SCRIPTS = ("dash.all.min.js", "dash.mss.min.js")


def dashjs_dir():
    """dash.js DASHJS_VERSION's player and MSS scripts, fetched once into <build>/browser/."""
    d = os.path.join(media.build_dir(), "browser", "dashjs-" + DASHJS_VERSION)
    if all(os.path.exists(os.path.join(d, f)) for f in SCRIPTS):
        return d
    if shutil.which("npm") is None:
        media.skip("npm not found (tools/setup-debian.sh installs it)")
    os.makedirs(d, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=d) as tmp:
        # npm's own cache goes into the build tree too (and no HOME is needed).
        env = dict(os.environ, npm_config_cache=os.path.join(d, "npm-cache"), npm_config_update_notifier="false",
                   npm_config_fund="false", npm_config_audit="false")
        p = subprocess.run(["npm", "pack", "--silent", "dashjs@" + DASHJS_VERSION, "--pack-destination", tmp],
                           cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=180)
        tgz = [f for f in os.listdir(tmp) if f.endswith(".tgz")]
        if p.returncode != 0 or len(tgz) != 1:
            media.die("npm pack dashjs@%s failed:\n%s" % (DASHJS_VERSION, p.stdout[-2000:]))
        with tarfile.open(os.path.join(tmp, tgz[0])) as tf:
            data = {f: tf.extractfile("package/dist/" + f).read() for f in SCRIPTS}
    # dash.all has the MSS parser's hooks, but the handler itself is the
    # separate dash.mss script (it sets dashjs.MssHandler).
    if b"MssHandler" not in data["dash.mss.min.js"]:
        media.die("dash.js %s: dash.mss.min.js has no MssHandler" % DASHJS_VERSION)
    for f, b in data.items():
        path = os.path.join(d, f)
        with open(path + ".tmp", "wb") as out:
            out.write(b)
        os.replace(path + ".tmp", path)
    print("fetched dash.js %s (%s) into %s" % (DASHJS_VERSION, ", ".join("%s %d bytes" % (f, len(b))
                                                                         for f, b in data.items()), d))
    return d


class PageServer:
    """The page's own origin: serves the player page and dash.js, takes the result."""

    def __init__(self, js_dir):
        self.files = {"/" + f: open(os.path.join(js_dir, f), "rb").read() for f in SCRIPTS}
        self.page = b""
        self.result = None
        self.got = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                if self.path == "/player.html":
                    body, ctype = outer.page, "text/html; charset=utf-8"
                else:
                    body, ctype = outer.files.get(self.path), "application/javascript"
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                data = self.rfile.read(min(n, 1 << 20))
                try:
                    outer.result = json.loads(data)
                except ValueError:
                    outer.result = {"outcome": "bad report", "raw": data[:200].decode("latin-1")}
                outer.got.set()
                self.send_response(204)
                self.end_headers()

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.origin = "http://127.0.0.1:%d" % self.port
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def play(page, manifest_url, frag_url, out):
    """Runs Chromium on the page once: (the page's report or a stand-in, command, its log)."""
    page.page = (PAGE % {"manifest": json.dumps(manifest_url), "frag": json.dumps(frag_url), "want": PLAY_SECONDS,
                         "timeout_ms": int(PAGE_TIMEOUT * 1000)}).encode()
    page.result = None
    page.got.clear()
    profile = tempfile.mkdtemp(prefix="profile-", dir=out)
    log_path = os.path.join(out, "chromium-%d.log" % int(time.time() * 1000))
    log = open(log_path, "w")
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--autoplay-policy=no-user-gesture-required", "--enable-logging=stderr", "--v=0",
           "--user-data-dir=" + profile, page.origin + "/player.html"]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if not page.got.wait(RUN_TIMEOUT):
            return {"outcome": "no report from the page within %.0f s" % RUN_TIMEOUT}, cmd, log_path
        return page.result, cmd, log_path
    finally:
        # Chromium and its helpers are in the session this script started.
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        log.close()
        shutil.rmtree(profile, ignore_errors=True)


def served(origin):
    """(manifest 200s, video fragment 200s, audio fragment 200s) in the origin's log."""
    lines = origin.log_lines()
    man = sum(1 for g in lines if g[2].endswith("/Manifest") and g[3] == "200")
    vid = sum(1 for g in lines if "/Fragments(video=" in g[2] and g[3] == "200")
    aud = sum(1 for g in lines if "/Fragments(audio=" in g[2] and g[3] == "200")
    return man, vid, aud


def check_run(rep, root, page, out, frag, extra, want_play, what):
    rep.section(what)
    origin = to.Origin(root, extra)
    try:
        url = origin.url + "ladder.ism/Manifest"
        t0 = time.time()
        result, cmd, log_path = play(page, url, origin.url + frag, out)
        dt = time.time() - t0
        print("page %s/player.html -> %s\n  %s\n  result after %.1f s: %s"
              % (page.origin, url, " ".join(cmd), dt, json.dumps(result)))
        time.sleep(0.2)
        man, vid, aud = served(origin)
        pre = [g for g in origin.log_lines() if g[1] == "OPTIONS" and g[3] == "204"]
        pr = result.get("probe") or {}
        if want_play:
            rep.ok(result.get("outcome") == "played" and result.get("currentTime", 0) >= PLAY_SECONDS
                   and not result.get("errors") and result.get("mediaError") is None,
                   "dash.js %s played to %.2f s with no error (%.1f s wall)"
                   % (result.get("dashjs"), result.get("currentTime", 0), dt), json.dumps(result))
            rep.ok(result.get("frames", 0) > 24 and result.get("videoWidth", 0) > 0,
                   "video decoded: %s frames (%s dropped), %sx%s" % (result.get("frames"), result.get("dropped"),
                                                                    result.get("videoWidth"),
                                                                    result.get("videoHeight")))
            rep.ok(man >= 1 and vid >= 2 and aud >= 2,
                   "origin log: %d manifest, %d video and %d audio fragment GETs answered 200" % (man, vid, aud))
            rep.ok(pre and pr.get("status") == 206 and pr.get("bytes") == 100
                   and re.fullmatch(r"bytes 0-99/\d+", pr.get("contentRange") or "") and pr.get("etag"),
                   "fetch() with Range and If-None-Match: preflight answered (%d OPTIONS 204 in the log), then 206, "
                   "the page reads Content-Range %r and ETag %r (Expose-Headers), 100 bytes"
                   % (len(pre), pr.get("contentRange"), pr.get("etag")), json.dumps(pr))
        else:
            errs = " | ".join(result.get("errors", []))
            rep.ok(result.get("outcome") == "error" and result.get("currentTime", 1) == 0 and vid == 0,
                   "blocked: dash.js reports %r, currentTime %s, no fragment fetched"
                   % (errs[:160], result.get("currentTime")), json.dumps(result))
            rep.ok(pr.get("error") and "status" not in pr,
                   "the preflighted fetch() fails too: %s" % pr.get("error"), json.dumps(pr))
            with open(log_path, errors="replace") as f:
                cors_msg = [l for l in f if "blocked by CORS policy" in l]
            rep.ok(man >= 1 and cors_msg, "the origin did answer the manifest (%d x 200 in its log), the browser "
                   "withheld it: %s" % (man, cors_msg[0].split('"')[1][:150] if cors_msg else "(no CORS message)"))
    finally:
        origin.kill()


def main(argv):
    rep = media.Report("test_origin_browser")
    to.origin_binary()
    if not os.access(CHROMIUM, os.X_OK):
        media.skip("%s not found (Debian package chromium; tools/setup-debian.sh installs it)" % CHROMIUM)
    js = dashjs_dir()
    out = media.out_dir("origin_browser", "runs")
    root = media.out_dir("origin_browser", "root")
    try:
        ladder = to.package_ladder(root)
    except media.Failure as e:
        media.die(str(e))
    # The first video fragment of the lowest QualityLevel, for the fetch() probe.
    frag = to.fragment_urls(to.parse_manifest(open(ladder["ismc"], "rb").read()), "ladder.ism/")[0][3]
    page = PageServer(js)
    try:
        check_run(rep, root, page, out, frag, [], True, "CORS '*' (default): the page on another port plays")
        check_run(rep, root, page, out, frag, ["--cors-origin", page.origin], True,
                  "--cors-origin %s (the page's origin): plays" % page.origin)
        check_run(rep, root, page, out, frag, ["--cors-origin", "none"], False,
                  "--cors-origin none: the browser blocks the manifest")
        check_run(rep, root, page, out, frag, ["--cors-origin", "http://127.0.0.1:1"], False,
                  "--cors-origin naming another origin: blocked too")
    except (media.Failure, OSError, http.client.HTTPException) as e:
        import traceback
        rep.fail("test aborted: %s\n%s" % (e, traceback.format_exc()))
    finally:
        page.close()
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
