#!/usr/bin/env python3
"""smoothsink against our own publishing point, `gst-smooth serve --ingest`
(live sources through `ismvmux live=true`, 1 s fragments, a few seconds):

  - refused: a second encoder with a different header on the same
    Streams(id) gets 409 mid-body -> the sink posts an ERROR naming the
    status within seconds, without a retry loop;
  - token: --ingest-token with no token / a wrong one -> ERROR (401), the
    right one in extra-headers (Authorization: Bearer) -> completes; the token
    is in neither the sink's smoothsink:7 log nor serve's output;
  - live: while the sink pushes, the Manifest says IsLive="TRUE"; after EOS
    (add-mfra ends the point) the archive lists every fragment the sink cut
    from its input exactly once and `gst-smooth inspect` passes;
  - newheader: a restarted muxer with another header mid-stream: the sink's
    new POST with it gets 409 -> ERROR;
  - restart: serve is killed (-9) mid-stream and restarted on the same root
    and port: the sink reconnects and resends, and the archive lists every
    fragment once with a continuous timeline.

Run: python3 test_smoothsink_origin.py [CASE...]
"""
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media  # noqa: E402
import test_origin as to  # noqa: E402
from test_smoothsink import live_file  # noqa: E402

TOKEN = "tok-77ab31-SECRET"
FRAG_RE = re.compile(r"fragment \d+: track (\d+), time (\d+), duration (\d+)")


def live_pipeline(url, seconds, props="", pattern="smpte"):
    """gst-launch-1.0 command: live video+audio through ismvmux live=true into smoothsink."""
    return ("gst-launch-1.0 -m -e videotestsrc is-live=true pattern=%s num-buffers=%d ! "
            "video/x-raw,width=160,height=90,framerate=30/1 ! x264enc tune=zerolatency key-int-max=30 "
            "speed-preset=ultrafast ! h264parse ! ismvmux name=m live=true fragment-duration=1000000000 ! "
            "smoothsink location='%s' retry-delay=200 retry-delay-max=1000 %s "
            "audiotestsrc is-live=true num-buffers=%d ! avenc_aac ! aacparse ! m."
            % (pattern, seconds * 30, url, props, seconds * 47))


class Sink:
    """The pipeline in the background, with a smoothsink:5 log."""

    def __init__(self, cmd, level=5):
        self.log = tempfile.NamedTemporaryFile(prefix="sso-", suffix=".log", delete=False).name
        env = dict(os.environ, GST_DEBUG="smoothsink:%d" % level, GST_DEBUG_FILE=self.log, GST_DEBUG_NO_COLOR="1")
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(["sh", "-c", cmd], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, errors="replace")

    def wait(self, timeout):
        try:
            out, _ = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            out += "\n(killed after %.0f s)" % timeout
        self.out = out
        self.elapsed = time.monotonic() - self.t0
        self.text = open(self.log, errors="replace").read()
        os.unlink(self.log)
        return self.proc.returncode

    def fragments(self):
        """{track: [(time, duration)]} of the fragments the sink cut from its input."""
        out = {}
        for m in FRAG_RE.finditer(self.text):
            out.setdefault(int(m.group(1)), []).append((int(m.group(2)), int(m.group(3))))
        return out


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def url(origin, point, stream="s1"):
    return "http://127.0.0.1:%d/live/%s.isml/Streams(%s)" % (origin.port, point, stream)


def archive_times(rep, what, origin, root, point):
    """Waits for the point to stop, then its archive's manifest timelines (sorted lists of times)."""
    end = time.time() + 8
    body = None
    while time.time() < end:
        st, _, b = to.request(origin, "GET", "/live/%s.isml/Manifest" % point)
        if st == 200 and b'IsLive="TRUE"' not in b:
            body = b
            break
        time.sleep(0.25)
    rep.ok(body is not None, "%s: after EOS the point stops (Manifest no longer IsLive)" % what)
    isms = [os.path.join(d, f) for d, _, fs in os.walk(os.path.join(root, "live", point)) for f in fs
            if f.endswith(".ism")]
    rep.ok(len(isms) == 1, "%s: the archive has one .ism" % what, repr(isms))
    if isms:
        r = subprocess.run([to.origin_binary(), "inspect", "--json", isms[0]], capture_output=True, text=True,
                           timeout=60)
        rep.ok(r.returncode == 0, "%s: gst-smooth inspect --json of the archive exits 0" % what,
               (r.stdout + r.stderr)[-500:])
    if body is None:
        return None
    return to.parse_manifest(body)["streams"]


def check_exactly_once(rep, what, sink, streams):
    pushed = sink.fragments()
    want = sorted(sorted(t for t, _ in v) for v in pushed.values())
    got = sorted(sorted(s["times"]) for s in streams)
    rep.ok(len(want) == 2 and all(len(v) >= 3 for v in want), "%s: the sink cut fragments of two tracks" % what,
           repr([len(v) for v in want]))
    rep.ok(got == want, "%s: the archive lists every pushed fragment exactly once" % what,
           "got %r\nwant %r" % (got, want))
    for track, v in pushed.items():
        v = sorted(v)
        gaps = [(a, b) for a, b in zip(v, v[1:]) if a[0] + a[1] != b[0]]
        rep.ok(not gaps, "%s: track %d's timeline is continuous" % (what, track), repr(gaps[:3]))


# ---------------------------------------------------------------- cases

def case_refused(rep, root):
    origin = to.Origin(root, ["--ingest", "--lookahead", "0"])
    try:
        first = Sink(live_pipeline(url(origin, "dup"), 6, "add-mfra=true"))
        time.sleep(2.5)
        second = Sink(live_pipeline(url(origin, "dup"), 3, "max-retries=3", pattern="ball")
                      .replace("160,height=90", "192,height=108"))
        rc2 = second.wait(20)
        rep.ok(rc2 != 0 and "ERROR" in second.out and "HTTP 409" in second.out,
               "refused: a second encoder with another header -> ERROR naming 409", second.out[-700:])
        rep.ok(second.elapsed < 8, "refused: the ERROR came within seconds (%.1f s)" % second.elapsed)
        posts = second.text.count("chunked POST")
        rep.ok(posts == 1, "refused: no retry loop (%d long POSTs)" % posts)
        rc1 = first.wait(30)
        rep.ok(rc1 == 0, "refused: the first encoder is not disturbed and completes", first.out[-500:])
    finally:
        origin.kill()


def case_token(rep, root):
    origin = to.Origin(root, ["--ingest", "--ingest-token", TOKEN, "--lookahead", "0"])
    try:
        for what, props in (("no token", ""),
                            ("wrong token", "'extra-headers=\"headers,Authorization=\\\"Bearer\\ wrong-%s\\\"\"'"
                             % TOKEN[::-1])):
            s = Sink(live_pipeline(url(origin, "tok"), 2, props), level=7)
            rc = s.wait(20)
            rep.ok(rc != 0 and "ERROR" in s.out and "401" in s.out, "token: %s -> ERROR naming 401" % what,
                   s.out[-500:])
            rep.ok(s.elapsed < 8, "token: %s fails within seconds (%.1f s)" % (what, s.elapsed))
        props = ("add-mfra=true 'extra-headers=\"headers,Authorization=\\\"Bearer\\ %s\\\"\"'" % TOKEN)
        s = Sink(live_pipeline(url(origin, "tok"), 3, props), level=7)
        rc = s.wait(30)
        rep.ok(rc == 0, "token: the right token -> completes", s.out[-500:])
        rep.ok(len(s.text) > 1000 and TOKEN not in s.text and TOKEN not in s.out,
               "token: the token is not in the sink's smoothsink:7 log (%d bytes) or output" % len(s.text))
        rep.ok(not any(TOKEN in l for l in origin.lines + origin.err_lines), "token: nor in serve's output")
    finally:
        origin.kill()


def case_live(rep, root):
    origin = to.Origin(root, ["--ingest", "--lookahead", "0"])
    try:
        s = Sink(live_pipeline(url(origin, "clean"), 5, "add-mfra=true"))
        live = None
        end = time.time() + 10
        while time.time() < end and s.proc.poll() is None:
            st, _, b = to.request(origin, "GET", "/live/clean.isml/Manifest")
            if st == 200 and b'IsLive="TRUE"' in b and b"<c " in b:
                live = b
                break
            time.sleep(0.2)
        rep.ok(live is not None, 'live: while pushing, the Manifest says IsLive="TRUE" and lists fragments')
        rc = s.wait(30)
        rep.ok(rc == 0, "live: the sink completes", s.out[-500:])
        streams = archive_times(rep, "live", origin, root, "clean")
        if streams is not None:
            check_exactly_once(rep, "live", s, streams)
    finally:
        origin.kill()


def case_restart(rep, root):
    port = free_port()
    args = ["--ingest", "--lookahead", "0", "--port", str(port)]
    origin = to.Origin(root, args)
    try:
        s = Sink(live_pipeline(url(origin, "rs"), 8, "add-mfra=true"))
        time.sleep(3.5)
        origin.proc.send_signal(signal.SIGKILL)
        origin.proc.wait(5)
        time.sleep(0.5)
        origin = to.Origin(root, args)
        rc = s.wait(40)
        rep.ok(rc == 0, "restart: the sink completes after serve was killed and restarted", s.out[-600:])
        m = re.findall(r"reconnects=\(guint64\)(\d+)", s.out)
        rep.ok(m and int(m[-1]) >= 1, "restart: the sink reconnected (%s)" % (m[-1] if m else "?"))
        rep.ok("resending fragment" in s.text, "restart: the sink resent fragments on the new POST")
        streams = archive_times(rep, "restart", origin, root, "rs")
        if streams is not None:
            check_exactly_once(rep, "restart", s, streams)
    finally:
        origin.kill()


def case_newheader(rep, root):
    """A restarted muxer with another header (two concatenated live files): the
    sink starts a new POST with the new header, the point refuses it (409)."""
    origin = to.Origin(root, ["--ingest", "--lookahead", "0"])
    try:
        a = live_file(os.path.join(root, "a.isml"), 160)
        b = live_file(os.path.join(root, "b.isml"), 192)
        both = os.path.join(root, "ab.isml")
        open(both, "wb").write(a + b)
        s = Sink("gst-launch-1.0 -m filesrc location=%s ! smoothsink location='%s' retry-delay=100"
                 % (both, url(origin, "nh")))
        rc = s.wait(20)
        rep.ok("header (ftyp/moov) changed" in s.out, "newheader: a WARNING says the header changed", s.out[-500:])
        rep.ok(rc != 0 and "HTTP 409" in s.out, "newheader: the point refuses the new header -> ERROR naming 409",
               s.out[-600:])
        rep.ok(s.elapsed < 8, "newheader: within seconds (%.1f s)" % s.elapsed)
        st, _, body = to.request(origin, "GET", "/live/nh.isml/Manifest")
        n = len(re.findall(rb"<c ", body)) if st == 200 else -1
        rep.ok(n == len([1 for _ in re.finditer(rb"moof", a)]), "newheader: the point has the first file's fragments "
               "(%d)" % n, "%s" % st)
    finally:
        origin.kill()


CASES = {"refused": case_refused, "newheader": case_newheader, "token": case_token, "live": case_live, "restart": case_restart}


def main(argv):
    media.require_tools("gst-launch-1.0")
    for e in ("smoothsink", "ismvmux", "x264enc", "avenc_aac"):
        if not media.have_element(e):
            media.die("%s is missing" % e)
    rep = media.Report("test_smoothsink_origin")

    def call(case):
        with tempfile.TemporaryDirectory(prefix="sso-root-") as root:
            case(rep, root)

    media.run_named_cases(rep, CASES, argv, call)


if __name__ == "__main__":
    main(sys.argv[1:])
