#!/usr/bin/env python3
"""smoothsink against a publishing point we did not write the client for:
ingest_receiver.py (a stdlib HTTP/1.1 server) fed FFmpeg's live-ingest
(isml) output through `filesrc ! smoothsink`, directly or through
fault_proxy.py. Checks the probe and the one chunked POST, byte equality,
4xx errors without a retry loop, 5xx retries, resets and stalls (every
fragment arrives at least once; every later POST starts with the identical
header and the resend set), backlog overflow (exactly the dropped fragments
missing, and counted), a dead backup, TLS verification, credentials kept out
of logs, and the stats.

Run: python3 test_smoothsink.py [CASE...] with CASE in the list at the end.
"""
import os
import re
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media  # noqa: E402
from fault_proxy import FaultProxy  # noqa: E402
from ingest_receiver import IngestReceiver, make_self_signed  # noqa: E402

SECRET_PW = "s3cr3t-PW-xyzzy"
SECRET_TOKEN = "tok-0123456789-SECRET"


# ---------------------------------------------------------------- stream layout

def boxes(data: bytes):
    """Top-level boxes: (type, offset, size); stops at a truncated box."""
    out, off = [], 0
    while off + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[off:off + 8])
        if size == 1:
            size = struct.unpack(">Q", data[off + 8:off + 16])[0]
        if size < 8 or off + size > len(data):
            break
        out.append((kind.decode("latin-1"), off, size))
        off += size
    return out


def track_of(moof: bytes) -> int:
    i = moof.find(b"tfhd")
    return struct.unpack(">I", moof[i + 8:i + 12])[0]


def split(data: bytes):
    """(header bytes, [(track, fragment bytes)] of complete moof+mdat pairs)."""
    bx = boxes(data)
    first = next((o for k, o, s in bx if k == "moof"), len(data))
    frags = []
    for i, (k, o, s) in enumerate(bx):
        if k == "moof" and i + 1 < len(bx) and bx[i + 1][0] == "mdat":
            end = bx[i + 1][1] + bx[i + 1][2]
            frags.append((track_of(data[o:o + s]), data[o:end]))
    return data[:first], frags


# ---------------------------------------------------------------- running the sink

class Run:
    def __init__(self, p, elapsed, log):
        self.rc = p.returncode
        self.out = p.stdout + p.stderr
        self.elapsed = elapsed
        self.log = log
        self.stats = [m for m in self.out.splitlines() if "smoothsink-stats" in m and "Got message" in m]

    def stat(self, field: str, which: int = -1, backup: bool = False) -> str:
        line = self.stats[which]
        if backup:  # a nested structure, escaped
            line = re.sub(r"\\(.)", r"\1", line[line.find("backup="):])
        else:
            line = line.split("backup=")[0]
        m = re.search(r"\b%s=\([a-z0-9]+\)(\"[^\"]*\"|[^,;]*)" % re.escape(field), line)
        return m.group(1).strip('"').replace("\\ ", " ") if m else ""


def run_sink(src: str, props: str, timeout: float = 40, debug: bool = False, pre: str = "", src_props: str = "") -> Run:
    env = dict(os.environ)
    logf = tempfile.NamedTemporaryFile(prefix="smoothsink-", suffix=".log", delete=False)
    logf.close()
    if debug:
        env["GST_DEBUG"] = "smoothsink:7"
        env["GST_DEBUG_FILE"] = logf.name
        env["GST_DEBUG_NO_COLOR"] = "1"
    cmd = "gst-launch-1.0 -m filesrc location=%s %s ! %s smoothsink %s" % (src, src_props, pre, props)
    t = time.monotonic()
    p = subprocess.run(["sh", "-c", cmd], env=env, capture_output=True, text=True, timeout=timeout)
    log = open(logf.name, errors="replace").read() if debug else ""
    os.unlink(logf.name)
    return Run(p, time.monotonic() - t, log)


def q(url: str) -> str:
    return "location='%s'" % url


# ---------------------------------------------------------------- cases

def case_clean(rep, src, data):
    rx = IngestReceiver()
    rx.start()
    r = run_sink(src, q(rx.url()))
    rx.wait_posts(2, 5)
    rx.stop()
    rep.ok(r.rc == 0, "clean: gst-launch exits 0", r.out[-800:])
    posts = rx.posts
    rep.ok(len(posts) == 2, "clean: two requests (probe, long POST)", repr(posts))
    if len(posts) < 2:
        return
    rep.ok(posts[0].method == "POST" and posts[0].headers.get("content-length") == "0" and not posts[0].body,
           "clean: the probe is an empty POST with Content-Length: 0", repr(posts[0].headers))
    rep.ok(posts[1].chunked and "content-length" not in posts[1].headers,
           "clean: the long POST is Transfer-Encoding: chunked", repr(posts[1].headers))
    rep.ok(posts[1].path == "/live/pub.isml/Streams(s1)", "clean: POST path", posts[1].path)
    rep.ok(bytes(posts[1].body) == data, "clean: the body equals the input bytes",
           "%d vs %d bytes" % (len(posts[1].body), len(data)))
    rep.ok(posts[1].complete and posts[1].status == 200, "clean: chunked end received and answered")
    _, frags = split(data)
    rep.ok(r.stat("bytes-sent") == str(len(data)), "clean: stats bytes-sent = input size", r.stat("bytes-sent"))
    rep.ok(r.stat("fragments-sent") == str(len(frags)), "clean: stats fragments-sent = fragments",
           "%s vs %d" % (r.stat("fragments-sent"), len(frags)))
    for f in ("fragments-resent", "fragments-dropped", "reconnects", "backlog-fragments", "backlog-bytes"):
        rep.ok(r.stat(f) == "0", "clean: stats %s = 0" % f, r.stat(f))
    rep.ok(r.stat("state") == "done", "clean: stats state done", r.stat("state"))


def case_4xx(rep, src, data):
    for status in (401, 403, 404):
        rx = IngestReceiver(plan=[{"status": status}] * 5)
        rx.start()
        r = run_sink(src, q(rx.url()) + " retry-delay=50")
        time.sleep(0.5)
        rx.stop()
        rep.ok(r.rc != 0 and "ERROR" in r.out and str(status) in r.out,
               "%d: an ERROR naming the status" % status, r.out[-600:])
        rep.ok(r.elapsed < 5, "%d: fails quickly (%.1f s)" % (status, r.elapsed))
        rep.ok(len(rx.posts) == 1, "%d: no retry loop (%d requests)" % (status, len(rx.posts)))


def case_midbody(rep, src, data):
    """An answer sent before the body ends, then a close (abrupt: a reset on
    the unread body; or after reading on for a while, as our origin does)."""
    for status, linger, text in ((409, 0, "409 Conflict: the header differs"), (400, 1, "bad ingest body at byte 7"),
                                 (403, 0, "")):
        rx = IngestReceiver(plan=[{}, {"status": status, "answer_after": 3000, "linger": linger, "text": text}] +
                            [{"status": 500}] * 5)
        rx.start()
        r = run_sink(src, q(rx.url()) + " retry-delay=50", pre="queue ! ", src_props="blocksize=1000")
        time.sleep(0.3)
        rx.stop()
        what = "mid-body %d%s" % (status, " (linger)" if linger else "")
        rep.ok(r.rc != 0 and "ERROR" in r.out and ("HTTP %d" % status) in r.out,
               "%s: an ERROR naming the status" % what, r.out[-600:])
        if text:
            rep.ok(text in r.out, "%s: the ERROR carries the server's reason" % what, r.out[-600:])
        rep.ok(r.elapsed < 6 + linger, "%s: fails within seconds (%.1f s)" % (what, r.elapsed))
        rep.ok(len(rx.posts) == 2, "%s: no retry (%d requests)" % (what, len(rx.posts)), repr(rx.posts))
    for status in (408, 429):
        rx = IngestReceiver(plan=[{}, {"status": status, "answer_after": 3000, "text": "%d later" % status}])
        rx.start()
        r = run_sink(src, q(rx.url()) + " retry-delay=50")
        rx.wait_posts(4, 5, complete=True)
        rx.stop()
        what = "mid-body %d" % status
        rep.ok(r.rc == 0, "%s: reconnected and completed" % what, r.out[-600:])
        rep.ok(len(rx.posts) == 4 and bytes(rx.posts[3].body) == data, "%s: the new POST carries the whole input" % what,
               repr(rx.posts))
        rep.ok(r.stat("reconnects") == "1" and str(status) in r.stat("last-error"),
               "%s: stats reconnects = 1, last-error names it" % what, r.stat("last-error"))


def case_idle(rep, src, data):
    """The input pauses longer than idle-timeout: the POST ends cleanly (a
    complete chunked body, 200), and the next fragment starts a new POST with
    the identical header and the last two fragments per track first."""
    header, frags = split(data)
    half = len(frags) // 2
    first = header + b"".join(f for _, f in frags[:half])
    rx = IngestReceiver()
    rx.start()
    cmd = ("gst-launch-1.0 -m fdsrc fd=0 ! smoothsink %s idle-timeout=700 retry-delay=50" % q(rx.url()))
    p = subprocess.Popen(["sh", "-c", cmd], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    p.stdin.write(first)
    p.stdin.flush()
    ended = rx.wait_posts(2, 5, complete=True)
    time.sleep(0.3)
    rest = data[len(first):]
    out = p.communicate(rest, timeout=30)[0].decode(errors="replace")
    rx.wait_posts(4, 5, complete=True)
    rx.stop()
    rep.ok(p.returncode == 0, "idle: the sink completes", out[-600:])
    rep.ok(ended, "idle: the first POST ended (complete chunked body) while the input paused", repr(rx.posts))
    posts = [x for x in rx.posts if x.body]
    rep.ok(len(posts) == 2 and all(x.complete and x.status == 200 for x in posts),
           "idle: two complete POSTs with bodies, both answered 200", repr(rx.posts))
    if len(posts) != 2:
        return
    rep.ok(bytes(posts[0].body) == first, "idle: the first POST is the header and the fragments before the pause")
    last_two = []
    for track in sorted({t for t, _ in frags[:half]}):
        last_two += [i for i, (t, _) in enumerate(frags[:half]) if t == track][-2:]
    resend = b"".join(frags[i][1] for i in sorted(last_two))
    rep.ok(bytes(posts[1].body) == header + resend + rest,
           "idle: the second POST is the header, the last two fragments per track, then the rest",
           "%d vs %d bytes" % (len(posts[1].body), len(header + resend + rest)))
    m = re.findall(r"idle-ends=\(guint64\)(\d+)", out)
    rep.ok(m and m[-1] == "1", "idle: stats idle-ends = 1", repr(m[-1:]))


def live_file(path: str, width: int, seconds: int = 3):
    """A live ingest file of `ismvmux live=true` (no mfra), `width` wide (the header differs by it)."""
    subprocess.run(["sh", "-c", "gst-launch-1.0 -q videotestsrc num-buffers=%d ! video/x-raw,width=%d,height=90,"
                    "framerate=30/1 ! x264enc key-int-max=30 speed-preset=ultrafast ! h264parse ! "
                    "ismvmux live=true fragment-duration=1000000000 ! filesink location=%s" % (seconds * 30, width, path)],
                   check=True, timeout=60, capture_output=True)
    return open(path, "rb").read()


def push_bytes(path: str, data: bytes, requests: int):
    """Writes `data` to `path` and pushes it to a fresh receiver: (Run, the POSTs with a body)."""
    open(path, "wb").write(data)
    rx = IngestReceiver()
    rx.start()
    r = run_sink(path, q(rx.url()))
    rx.wait_posts(requests, 5, complete=True)
    rx.stop()
    return r, [x for x in rx.posts if x.body]


def case_newheader(rep, src, data):
    """Two concatenated live files with different headers (a restarted muxer):
    a WARNING, the first POST ends cleanly after the first file's fragments,
    a second POST starts with the new header and carries only the second
    file's fragments; the same header twice keeps one POST."""
    with tempfile.TemporaryDirectory() as d:
        a = live_file(os.path.join(d, "a.isml"), 160)
        b = live_file(os.path.join(d, "b.isml"), 192)
        r, posts = push_bytes(os.path.join(d, "ab.isml"), a + b, 4)
        rep.ok(r.rc == 0, "newheader: the sink completes", r.out[-600:])
        rep.ok("header (ftyp/moov) changed" in r.out, "newheader: a WARNING says the header changed", r.out[-600:])
        rep.ok(len(posts) == 2 and all(x.complete and x.status == 200 for x in posts),
               "newheader: two complete POSTs", repr(posts))
        if len(posts) == 2:
            rep.ok(bytes(posts[0].body) == a, "newheader: the first POST is the first file exactly")
            rep.ok(bytes(posts[1].body) == b, "newheader: the second POST is the second file exactly (new header, "
                   "no old fragments)", "%d vs %d bytes" % (len(posts[1].body), len(b)))
        r, posts = push_bytes(os.path.join(d, "aa.isml"), a + a, 2)
        rep.ok(r.rc == 0 and "header (ftyp/moov) changed" not in r.out and len(posts) == 1,
               "newheader: the same header again keeps the one POST", repr(posts))
        if posts:
            h = split(a)[0]
            rep.ok(bytes(posts[0].body) == a + a[len(h):],
                   "newheader: ... which carries every fragment and the header once")


def case_5xx(rep, src, data):
    rx = IngestReceiver(plan=[{"status": 500}, {"status": 503}])
    rx.start()
    r = run_sink(src, q(rx.url()) + " retry-delay=100 retry-delay-max=400")
    rx.wait_posts(4, 5)
    rx.stop()
    st = [p.status for p in rx.posts]
    rep.ok(r.rc == 0, "5xx: retried to success", r.out[-600:])
    rep.ok(st == [500, 503, 200, 200], "5xx: probe 500, probe 503, probe 200, POST 200", repr(rx.posts))
    rep.ok(len(rx.posts) == 4 and bytes(rx.posts[3].body) == data, "5xx: the final body equals the input")
    rep.ok(r.stat("reconnects") == "2", "5xx: stats reconnects = 2", r.stat("reconnects"))
    rep.ok("503" in r.stat("last-error"), "5xx: stats last-error names the last status", r.stat("last-error"))


def check_faulted(rep, what, rx, data, min_posts):
    header, frags = split(data)
    longs = [p for p in rx.posts if p.chunked]
    rep.ok(len(longs) >= min_posts, "%s: %d long POSTs (>= %d)" % (what, len(longs), min_posts), repr(rx.posts))
    seen = set()
    for i, p in enumerate(longs):
        body = bytes(p.body)
        h, got = split(body)
        if i > 0:
            rep.ok(body.startswith(header), "%s: POST %d starts with the identical header" % (what, i + 1))
            # Resends first: the last fragment of every track the server got
            # before is in this POST, ahead of anything new.
            before = {}
            for n, (t, f) in enumerate(frags):
                if f in seen:
                    before[t] = f
            new_at = next((j for j, (t, f) in enumerate(got) if f not in seen), len(got))
            head = [f for t, f in got[:new_at]]
            if new_at < len(got) or p.complete:  # (a POST cut during its resends proves nothing)
                rep.ok(all(f in head for f in before.values()),
                       "%s: POST %d resends the last fragment per track the server had, before new ones "
                       "(%d resent)" % (what, i + 1, new_at))
            for t in set(t for t, f in got):
                idx = [frags.index((t, f)) for tt, f in got if tt == t and (t, f) in frags]
                rep.ok(idx == sorted(idx), "%s: POST %d track %d in increasing order" % (what, i + 1, t))
        seen.update(f for t, f in got)
    missing = [i for i, (t, f) in enumerate(frags) if f not in seen]
    rep.ok(not missing, "%s: every input fragment reached the server at least once" % what, "missing %r" % missing)
    rep.ok(longs and longs[-1].complete and bytes(longs[-1].body).endswith(data[-8:]),
           "%s: the last POST is complete and ends like the input (mfra)" % what)


def case_reset(rep, src, data):
    rx = IngestReceiver()
    rx.start()
    # Connections: probe, POST (reset after 150 kB), probe, POST (reset after 100 kB), ...
    px = FaultProxy(("127.0.0.1", rx.port), plan=[{}, {"reset_after": 150000}, {}, {"reset_after": 100000}],
                    rcvbuf=4096)
    port = px.start()
    url = "http://127.0.0.1:%d/live/pub.isml/Streams(s1)" % port
    r = run_sink(src, q(url) + " retry-delay=100 retry-delay-max=300", debug=True)
    rx.wait_posts(6, 5)
    px.stop()
    rx.stop()
    rep.ok(r.rc == 0, "reset: completes after two resets", r.out[-800:])
    rep.ok([c.fault for c in px.connections][:4] == ["", "reset", "", "reset"], "reset: the proxy reset twice",
           repr([c.fault for c in px.connections]))
    check_faulted(rep, "reset", rx, data, 3)
    rep.ok(r.stat("reconnects") == "2", "reset: stats reconnects = 2", r.stat("reconnects"))
    rep.ok(int(r.stat("fragments-resent") or 0) > 0, "reset: stats fragments-resent > 0", r.stat("fragments-resent"))
    rep.ok(int(r.stat("bytes-sent") or 0) > len(data), "reset: stats bytes-sent counts the resends")
    rtt = int(r.stat("last-fragment-rtt-ms") or -1)
    rep.ok(rtt >= 0, "reset: stats last-fragment-rtt-ms measured from kernel acks (%d)" % rtt)


def case_stall(rep, src, data):
    rx = IngestReceiver()
    rx.start()
    px = FaultProxy(("127.0.0.1", rx.port), plan=[{}, {"stall_after": 120000, "stall": 2.5}], rcvbuf=4096)
    port = px.start()
    url = "http://127.0.0.1:%d/live/pub.isml/Streams(s1)" % port
    r = run_sink(src, q(url) + " send-timeout=1000 retry-delay=100", debug=True)
    rx.wait_posts(4, 6)
    px.stop()
    rx.stop()
    rep.ok(r.rc == 0, "stall: completes", r.out[-800:])
    rep.ok("send timeout" in r.stat("last-error"), "stall: last-error says send timeout", r.stat("last-error"))
    rep.ok(r.elapsed < 4, "stall: the stall was cut by the 1 s send timeout, not waited out (%.1f s)" % r.elapsed)
    check_faulted(rep, "stall", rx, data, 2)


def run_refused(src, seconds, props):
    """The sink pushing through a proxy that refuses connects for `seconds`
    (the whole input arrives meanwhile). Returns (run, receiver, proxy)."""
    rx = IngestReceiver()
    rx.start()
    px = FaultProxy(("127.0.0.1", rx.port), refuse_for=seconds)
    port = px.start()
    url = "http://127.0.0.1:%d/live/pub.isml/Streams(s1)" % port
    r = run_sink(src, q(url) + " retry-delay=100 retry-delay-max=200 " + props)
    rx.wait_posts(2, 5)
    px.stop()
    rx.stop()
    return r, rx, px


def case_overflow(rep, src, data):
    header, frags = split(data)
    r, rx, px = run_refused(src, 2.0, "backlog-bytes=150000")
    rep.ok(r.rc == 0, "overflow: completes once the server is back", r.out[-800:])
    rep.ok(any(c.fault == "refused" for c in px.connections), "overflow: connections were refused at first")
    longs = [p for p in rx.posts if p.chunked]
    got = set(f for p in longs for t, f in split(bytes(p.body))[1])
    missing = [i for i, (t, f) in enumerate(frags) if f not in got]
    m = re.search(r"(\d+) fragments were dropped for the primary publishing point in total", r.out)
    rep.ok(m is not None, "overflow: a warning counts the dropped fragments", r.out[-1500:])
    n = int(m.group(1)) if m else -1
    rep.ok(n == len(missing) and n > 0, "overflow: exactly the dropped fragments are missing (%d dropped, missing %r)"
           % (n, missing))
    rep.ok(missing == list(range(len(missing))), "overflow: the oldest fragments were dropped", repr(missing))
    kept = sum(len(f) for t, f in frags[len(missing):])
    rep.ok(kept <= 150000 + max(len(f) for t, f in frags), "overflow: the backlog held about backlog-bytes (%d)" % kept)
    rep.ok(r.stat("fragments-dropped") == str(n), "overflow: stats fragments-dropped", r.stat("fragments-dropped"))
    # By media time: 4 s per track keeps the newest two 2 s fragments of each.
    r, rx, px = run_refused(src, 1.5, "backlog-time=4100")
    got = [f for p in rx.posts if p.chunked for t, f in split(bytes(p.body))[1]]
    per_track = {}
    for t, f in frags:
        if f in got:
            per_track[t] = per_track.get(t, 0) + 1
    rep.ok(r.rc == 0 and per_track == {1: 2, 2: 2}, "overflow by time: two fragments per track kept", repr(per_track))
    rep.ok(got == [f for t, f in frags[-4:]], "overflow by time: the newest ones, in order")


def case_backup(rep, src, data):
    rx = IngestReceiver()
    rx.start()
    dead = IngestReceiver()
    dead.start()
    dead_url = dead.url()
    dead.stop()  # nothing listens there any more
    r = run_sink(src, q(rx.url()) + " backup-location='%s' eos-timeout=2000 retry-delay=100" % dead_url)
    rx.wait_posts(2, 5)
    rx.stop()
    rep.ok(r.rc == 0, "backup dead: the pipeline completes", r.out[-800:])
    rep.ok(len(rx.posts) == 2 and bytes(rx.posts[1].body) == data, "backup dead: the primary got the whole stream")
    rep.ok("backup publishing point did not take the end" in r.out, "backup dead: a warning for the backup")
    rep.ok(r.stat("state") == "done" and r.stat("state", backup=True) == "running",
           "backup dead: stats per target (primary done, backup running)",
           "%s / %s" % (r.stat("state"), r.stat("state", backup=True)))
    rep.ok(int(r.stat("reconnects", backup=True) or 0) >= 1, "backup dead: the backup kept retrying")
    # The other way round: a dead primary does not stop the backup either.
    rx2 = IngestReceiver()
    rx2.start()
    r2 = run_sink(src, q(dead_url) + " backup-location='%s' eos-timeout=2000 retry-delay=100" % rx2.url())
    rx2.wait_posts(2, 5)
    rx2.stop()
    rep.ok(r2.rc == 0 and len(rx2.posts) == 2 and bytes(rx2.posts[1].body) == data,
           "primary dead: the backup got the whole stream", r2.out[-600:])


def case_tls(rep, src, data):
    with tempfile.TemporaryDirectory() as d:
        cert, key = make_self_signed(d)
        rx = IngestReceiver(tls=(cert, key))
        rx.start()
        r = run_sink(src, q(rx.url()), timeout=30)
        rep.ok(r.rc != 0 and "ERROR" in r.out and "TLS" in r.out,
               "tls: a self-signed certificate is refused by default (ERROR naming TLS)", r.out[-600:])
        rep.ok(r.elapsed < 5, "tls: an untrusted certificate is not retried forever (%.1f s)" % r.elapsed)
        rep.ok(not any(p.method for p in rx.posts), "tls: nothing was posted to the unverified server")
        r = run_sink(src, q(rx.url()) + " ca-file=%s" % cert)
        rx.wait_posts(2, 5)
        ok = [p for p in rx.posts if p.chunked]
        rep.ok(r.rc == 0 and ok and bytes(ok[-1].body) == data, "tls: accepted with ca-file; body equals input",
               r.out[-600:])
        r = run_sink(src, q(rx.url()) + " tls-verify=false", debug=True)
        rep.ok(r.rc == 0, "tls: tls-verify=false accepts it", r.out[-600:])
        rep.ok("verification is OFF" in r.log, "tls: tls-verify=false is logged as a warning")
        rx.stop()


def case_credentials(rep, src, data):
    rx = IngestReceiver()
    rx.start()
    url = rx.url(userinfo="alice:" + SECRET_PW)
    # gst-launch-1.0 re-parses its arguments: the quotes of the structure's
    # string field must reach it escaped.
    props = q(url) + """ 'extra-headers="headers,Authorization=\\"Bearer\\ %s\\""'""" % SECRET_TOKEN
    r = run_sink(src, props, debug=True)
    rx.wait_posts(2, 5)
    rx.stop()
    rep.ok(r.rc == 0 and len(rx.posts) == 2, "credentials: the push works", r.out[-600:])
    rep.ok(len(rx.posts) == 2 and rx.posts[1].headers.get("authorization") == "Bearer " + SECRET_TOKEN,
           "credentials: extra-headers reach the server (they override user:pass)",
           repr(rx.posts[1].headers if len(rx.posts) > 1 else {}))
    rep.ok(SECRET_PW not in r.log and SECRET_TOKEN not in r.log, "credentials: absent from the smoothsink:7 log")
    rep.ok(SECRET_TOKEN not in r.out, "credentials: token absent from messages")
    rep.ok(SECRET_PW not in r.out.replace(url, ""), "credentials: password absent from messages (but the command line)")
    rep.ok("alice" not in r.stat("url"), "credentials: the stats URL has no user info", r.stat("url"))
    # Basic auth from the URL.
    rx = IngestReceiver()
    rx.start()
    r = run_sink(src, q(rx.url(userinfo="alice:" + SECRET_PW)), debug=True)
    rx.wait_posts(2, 5)
    rx.stop()
    import base64
    want = "Basic " + base64.b64encode(("alice:" + SECRET_PW).encode()).decode()
    rep.ok(all(p.headers.get("authorization") == want for p in rx.posts) and len(rx.posts) == 2,
           "credentials: user:pass@ in the URL becomes basic auth on the probe and the POST")
    rep.ok(SECRET_PW not in r.log, "credentials: absent from the smoothsink:7 log (basic auth)")


def case_paced(rep, src, data):
    """Input arriving over time (32 kB blocks 100 ms apart, about 1.2 s)."""
    rx = IngestReceiver()
    rx.start()
    r = run_sink(src, q(rx.url()), pre="identity sleep-time=100000 !", src_props="blocksize=32768")
    rx.wait_posts(2, 5)
    rx.stop()
    rep.ok(r.rc == 0 and len(rx.posts) == 2 and bytes(rx.posts[1].body) == data,
           "paced: the body equals the input", r.out[-600:])
    rep.ok(len(r.stats) >= 2, "paced: stats messages posted during the run (%d)" % len(r.stats))


def case_pertrack(rep, src, data):
    """A one-stream-per-track rig: two smoothsinks, one per track, one process."""
    mp4 = media.ensure_ffmpeg_encoded("mp4")
    d = media.out_dir("test_smoothsink", "pertrack")
    files = {}
    for name, m in (("video", "0:v"), ("audio", "0:a")):
        files[name] = os.path.join(d, name + ".isml")
        media.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", mp4, "-map", m, "-c", "copy",
                   "-movflags", "isml+frag_keyframe", "-f", "ismv", files[name]], what="ffmpeg isml " + name)
    rx = IngestReceiver()
    rx.start()
    branches = " ".join("filesrc location=%s ! smoothsink name=%s location='%s'"
                        % (files[n], n, rx.url("/live/pub.isml/Streams(%s)" % n)) for n in files)
    p = subprocess.run(["sh", "-c", "gst-launch-1.0 -q " + branches], capture_output=True, text=True, timeout=40)
    rx.wait_posts(4, 5)
    rx.stop()
    rep.ok(p.returncode == 0, "pertrack: both sinks complete", (p.stdout + p.stderr)[-600:])
    for n in files:
        posts = [x for x in rx.posts if x.chunked and x.path.endswith("Streams(%s)" % n)]
        want = open(files[n], "rb").read()
        rep.ok(len(posts) == 1 and bytes(posts[0].body) == want, "pertrack: Streams(%s) got its file's bytes" % n)
        rep.ok(len(posts) == 1 and len(set(t for t, f in split(bytes(posts[0].body))[1])) == 1,
               "pertrack: Streams(%s) carries one track" % n)


def case_garbage(rep, src, data):
    """Input that is not an ISML stream: a clear error, no long POST."""
    rx = IngestReceiver()
    rx.start()
    with tempfile.NamedTemporaryFile(suffix=".txt") as f:
        f.write(b"this is not a fragmented mp4 file, just some text\n" * 100)
        f.flush()
        r = run_sink(f.name, q(rx.url()), timeout=20)
    rx.stop()
    rep.ok(r.rc != 0 and "ERROR" in r.out and ("moov" in r.out or "box" in r.out),
           "garbage: an ERROR about the input", r.out[-600:])
    rep.ok(not any(p.chunked for p in rx.posts), "garbage: nothing posted as a stream", repr(rx.posts))
    rep.ok(r.elapsed < 10, "garbage: fails quickly (%.1f s)" % r.elapsed)


def case_ffmpeg(rep, src, data):
    """FFmpeg's own HTTP listener as the receiver (a peer we did not write):
    it takes one chunked POST (so probe=false) and demuxes it as it arrives."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    url = "http://127.0.0.1:%d/live/pub.isml/Streams(x)" % port
    ff = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-listen", "1", "-i", url, "-c", "copy",
                           "-f", "framecrc", "-"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Connects before FFmpeg listens are refused and retried.
    r = run_sink(src, q(url) + " probe=false retry-delay=100 retry-delay-max=200", timeout=30)
    try:
        out, err = ff.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        ff.kill()
        out, err = ff.communicate()
    rep.ok(r.rc == 0, "ffmpeg: the sink completes", r.out[-600:])
    rep.ok(ff.returncode == 0, "ffmpeg: the FFmpeg listener exits 0", err[-600:])
    got = {}
    for line in out.splitlines():
        if line and not line.startswith("#"):
            got[line.split(",")[0].strip()] = got.get(line.split(",")[0].strip(), 0) + 1
    want = {str(i): int(st["nb_read_packets"]) for i, st in enumerate(media.ffprobe_streams(src, count_packets=True))}
    rep.ok(got == want, "ffmpeg: FFmpeg read every packet of every track", "%r vs %r" % (got, want))


def case_mfra(rep, src, data):
    """The trailing empty mfra passes through; add-mfra adds one only when missing."""
    rep.ok(data.endswith(b"\x00\x00\x00\x08mfra"), "mfra: FFmpeg's isml ends with an empty mfra")
    with tempfile.NamedTemporaryFile(suffix=".isml") as f:
        f.write(data[:-8])
        f.flush()
        for props, want in (("", data[:-8]), (" add-mfra=true", data)):
            rx = IngestReceiver()
            rx.start()
            r = run_sink(f.name, q(rx.url()) + props)
            rx.wait_posts(2, 5)
            rx.stop()
            body = bytes(rx.posts[-1].body) if rx.posts else b""
            rep.ok(r.rc == 0 and body == want, "mfra: input without mfra%s: body as expected" % (props or " (default)"))
    rx = IngestReceiver()
    rx.start()
    r = run_sink(src, q(rx.url()) + " add-mfra=true")
    rx.wait_posts(2, 5)
    rx.stop()
    rep.ok(r.rc == 0 and rx.posts and bytes(rx.posts[-1].body) == data, "mfra: add-mfra does not add a second one")


LIVE_MUX = ("gst-launch-1.0 -e videotestsrc is-live=true num-buffers=90 ! "
            "video/x-raw,width=320,height=180,framerate=30/1 ! x264enc tune=zerolatency key-int-max=30 ! h264parse ! "
            "ismvmux name=m live=true fragment-duration=1000000000 ! smoothsink location='%s' %s "
            "audiotestsrc is-live=true num-buffers=141 ! avenc_aac ! aacparse ! m.")


def case_livemux(rep, src, data):
    """Live sources through `ismvmux live=true` (3 s, 1 s fragments), directly
    and with a reset mid-stream: the fragments arrive as they are made."""
    for fault in (False, True):
        what = "livemux" + (" reset" if fault else "")
        rx = IngestReceiver()
        rx.start()
        url, px = rx.url(), None
        if fault:
            px = FaultProxy(("127.0.0.1", rx.port), plan=[{}, {"reset_after": 250000}], rcvbuf=4096)
            url = "http://127.0.0.1:%d/live/pub.isml/Streams(s1)" % px.start()
        p = subprocess.run(["sh", "-c", LIVE_MUX % (url, "retry-delay=100")], capture_output=True, text=True,
                           timeout=40)
        rx.wait_posts(4 if fault else 2, 5)
        if px:
            px.stop()
        rx.stop()
        rep.ok(p.returncode == 0, "%s: the pipeline completes" % what, (p.stdout + p.stderr)[-600:])
        longs = [x for x in rx.posts if x.chunked]
        rep.ok(len(longs) == (2 if fault else 1), "%s: %d long POSTs" % (what, len(longs)), repr(rx.posts))
        if not longs:
            continue
        header = split(bytes(longs[0].body))[0]
        rep.ok(all(bytes(x.body).startswith(header) for x in longs), "%s: every POST starts with the header" % what)
        # Header + every distinct fragment once, in the order first seen.
        seen, out = set(), bytearray(header)
        for x in longs:
            for t, f in split(bytes(x.body))[1]:
                if f not in seen:
                    seen.add(f)
                    out += f
        with tempfile.NamedTemporaryFile(suffix=".isml") as f:
            f.write(out)
            f.flush()
            counts = {st["codec_name"]: int(st["nb_read_packets"]) for st in media.ffprobe_streams(f.name, True)}
        rep.ok(counts.get("h264") == 90 and counts.get("aac", 0) >= 141,
               "%s: ffprobe reads every frame from what the server got (%r)" % (what, counts))
        if fault:
            rep.ok(px.connections[1].fault == "reset", "%s: the proxy reset the first POST" % what)


CASES = {
    "clean": case_clean, "4xx": case_4xx, "midbody": case_midbody, "idle": case_idle, "newheader": case_newheader, "5xx": case_5xx, "reset": case_reset, "stall": case_stall,
    "overflow": case_overflow, "backup": case_backup, "tls": case_tls, "credentials": case_credentials,
    "paced": case_paced, "pertrack": case_pertrack, "garbage": case_garbage, "ffmpeg": case_ffmpeg, "mfra": case_mfra, "livemux": case_livemux,
}


def main(argv):
    media.require_tools("gst-launch-1.0", "ffmpeg", "openssl")
    if not media.have_element("smoothsink"):
        media.die("smoothsink is not built (libsoup-3.0 missing?)")
    rep = media.Report("test_smoothsink")
    src = media.ensure_ffmpeg_encoded("isml")
    data = open(src, "rb").read()
    media.run_named_cases(rep, CASES, argv, lambda case: case(rep, src, data))


if __name__ == "__main__":
    main(sys.argv[1:])
