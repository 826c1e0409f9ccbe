#!/usr/bin/env python3
"""Interop: `gst-smooth serve` for browsers and caches, over real HTTP.

The 'ladder' media is packaged with ismvmux into a root folder and the
origin started on a free port (test_origin.py's helpers). Checked:
  - the request log's duration starts at the request line: a connection that
    waits 1.5 s before its first request, and a kept-alive one that waits
    1.5 s before its second, are logged in well under a second;
  - CORS, default (--cors-origin '*'): Access-Control-Allow-Origin: * and
    Access-Control-Expose-Headers (Content-Range, ETag, ...) on manifests,
    fragments, 206, 304, 404 and HEAD answers, no Vary: Origin; an OPTIONS
    preflight -> 204 with Allow-Methods, Allow-Headers (Range) and Max-Age; a
    plain OPTIONS -> 204 with Allow; POST -> 405 with Allow: GET, HEAD, OPTIONS;
  - /clientaccesspolicy.xml and /crossdomain.xml: XML that grants '*';
  - --cors-origin LIST: a listed Origin echoed (default port spelled or not),
    others get no Allow-Origin, every answer has Vary: Origin (the manifest:
    with Accept-Encoding), a preflight from another origin gets no
    Access-Control header, the policy files name the listed origins;
  - --cors-origin none: no Access-Control header anywhere, policy files 404;
  - --no-policy-files, --client-access-policy FILE / --cross-domain-policy FILE
    (served byte for byte), and usage errors (bad origin, missing file).
"""

import http.client
import os
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import media
import test_origin as to

PAGE = "http://127.0.0.1:8123"  # an Origin header value (nothing listens there)


def request(origin, method, path, headers=None, body=None):
    """to.request, but a header sent on several lines (Vary) is joined with ', '."""
    c = http.client.HTTPConnection(origin.host, origin.port, timeout=20)
    try:
        c.request(method, path, body=body, headers=headers or {})
        r = c.getresponse()
        data = r.read()
        h = {}
        for k, v in r.getheaders():
            h[k.lower()] = h[k.lower()] + ", " + v if k.lower() in h else v
        return r.status, h, data
    finally:
        c.close()


def check_log_duration(rep, root):
    rep.section("request log: the duration starts at the request line")
    origin = to.Origin(root)
    try:
        s = socket.create_connection((origin.host, origin.port), timeout=10)
        time.sleep(1.5)  # connected, nothing sent yet
        s.sendall(b"GET /ladder.ism/Manifest HTTP/1.1\r\nHost: x\r\n\r\n")
        first = to.read_response(s)
        time.sleep(1.5)  # kept alive, idle
        s.sendall(b"GET /ladder.ism/Manifest?second HTTP/1.1\r\nHost: x\r\n\r\n")
        second = to.read_response(s)
        s.close()
        rep.ok(first[0] == 200 and second[0] == 200, "two GETs on one connection -> 200, 200",
               "%s %s" % (first[0], second[0]))
        end = time.time() + 5
        while time.time() < end and len([g for g in origin.log_lines() if g[2] == "/ladder.ism/Manifest"]) < 2:
            time.sleep(0.05)
        ms = [float(g[5]) for g in origin.log_lines() if g[2] == "/ladder.ism/Manifest"]
        rep.ok(len(ms) == 2 and all(m < 500 for m in ms),
               "both logged in under 500 ms after 1.5 s of waiting before each: %s ms" % ms,
               "log: %s" % [" ".join(x for x in g if x) for g in origin.log_lines()])
    finally:
        origin.kill()


def cors_requests(rep, origin, frag, want_acao, want_vary_origin, origin_header=PAGE):
    """The answers that must all carry the same CORS headers."""
    base = {"Origin": origin_header} if origin_header else {}
    st, h, _ = request(origin, "GET", frag, base)
    etag = h.get("etag")
    cases = [
        ("GET Manifest", "GET", "/ladder.ism/Manifest", {}, 200),
        ("GET Manifest gzip", "GET", "/ladder.ism/Manifest", {"Accept-Encoding": "gzip"}, 200),
        ("GET fragment", "GET", frag, {}, 200),
        ("GET fragment again (hot table)", "GET", frag, {}, 200),
        ("HEAD fragment", "HEAD", frag, {}, 200),
        ("Range", "GET", frag, {"Range": "bytes=0-99"}, 206),
        ("If-None-Match", "GET", frag, {"If-None-Match": etag or '"x"'}, 304),
        ("404", "GET", "/nosuch.ism/Manifest", {}, 404),
        ("400", "GET", "/ladder.ism/QualityLevels(x)/Fragments(video=0)", {}, 400),
    ]
    bad = []
    for what, method, path, extra, status in cases:
        hdrs = dict(base)
        hdrs.update(extra)
        st, h, _ = request(origin, method, path, hdrs)
        acao = h.get("access-control-allow-origin")
        vary = [v.strip().lower() for v in h.get("vary", "").split(",") if v.strip()]
        expose = h.get("access-control-expose-headers", "")
        problems = []
        if st != status:
            problems.append("status %d (want %d)" % (st, status))
        if acao != want_acao:
            problems.append("Allow-Origin %s (want %s)" % (acao, want_acao))
        if want_acao and not all(x in expose for x in ("Content-Range", "ETag", "Accept-Ranges", "Content-Length")):
            problems.append("Expose-Headers %r" % expose)
        if not want_acao and expose:
            problems.append("Expose-Headers without Allow-Origin")
        if ("origin" in vary) != want_vary_origin:
            problems.append("Vary %r" % h.get("vary"))
        if path.endswith("Manifest") and status == 200 and "accept-encoding" not in vary:
            problems.append("Vary lost Accept-Encoding: %r" % h.get("vary"))
        if problems:
            bad.append("%s: %s" % (what, "; ".join(problems)))
    return cases, bad


def preflight(origin, path, origin_header=PAGE, method="GET", headers="range"):
    h = {}
    if origin_header:
        h["Origin"] = origin_header
    if method:
        h["Access-Control-Request-Method"] = method
    if headers:
        h["Access-Control-Request-Headers"] = headers
    return request(origin, "OPTIONS", path, h)


def check_default(rep, origin, frag):
    rep.section("CORS: --cors-origin '*' (the default)")
    cases, bad = cors_requests(rep, origin, frag, "*", False)
    rep.ok(not bad, "Access-Control-Allow-Origin: * and Expose-Headers on %d kinds of answer (%s), no Vary: Origin"
           % (len(cases), ", ".join(c[0] for c in cases)), "\n    ".join(bad))
    _, bad = cors_requests(rep, origin, frag, "*", False, origin_header=None)
    rep.ok(not bad, "the same without an Origin header (cacheable for every page)", "\n    ".join(bad))
    st, h, body = preflight(origin, frag)
    rep.ok(st == 204 and body == b"" and h.get("access-control-allow-origin") == "*"
           and "GET" in h.get("access-control-allow-methods", "")
           and "HEAD" in h.get("access-control-allow-methods", "")
           and "range" in h.get("access-control-allow-headers", "").lower()
           and int(h.get("access-control-max-age", "0")) > 0,
           "preflight OPTIONS (Range) -> 204: Allow-Origin *, Allow-Methods %r, Allow-Headers %r, Max-Age %s"
           % (h.get("access-control-allow-methods"), h.get("access-control-allow-headers"),
              h.get("access-control-max-age")), "status %d, headers %s" % (st, h))
    st, h, body = preflight(origin, "/ladder.ism/Manifest", origin_header=None, method=None, headers=None)
    rep.ok(st == 204 and h.get("allow") == "GET, HEAD, OPTIONS",
           "plain OPTIONS -> 204, Allow: GET, HEAD, OPTIONS", "status %d, Allow %s" % (st, h.get("allow")))
    st, h, body = request(origin, "POST", "/ladder.ism/Manifest", {"Origin": PAGE}, body=b"x")
    rep.ok(st == 405 and h.get("allow") == "GET, HEAD, OPTIONS" and h.get("access-control-allow-origin") == "*",
           "POST -> 405, Allow: GET, HEAD, OPTIONS (and Allow-Origin, so a page sees the status)",
           "status %d, Allow %s" % (st, h.get("allow")))

    rep.section("policy files at the root (default: granting what CORS grants)")
    st, h, body = request(origin, "GET", "/clientaccesspolicy.xml")
    try:
        root = ET.fromstring(body)
        domains = [d.get("uri") for d in root.iter("domain")]
        res = [(r.get("path"), r.get("include-subpaths")) for r in root.iter("resource")]
    except ET.ParseError as e:
        domains, res = ["parse error: %s" % e], []
    rep.ok(st == 200 and h.get("content-type", "").startswith("text/xml") and root.tag == "access-policy"
           and domains == ["*"] and res == [("/", "true")],
           "/clientaccesspolicy.xml: 200 text/xml, <access-policy>, domain uri='*', resource / with subpaths",
           "status %d, %s %s %r" % (st, domains, res, body[:200]))
    st, h, body = request(origin, "GET", "/crossdomain.xml")
    try:
        root = ET.fromstring(body)
        domains = [d.get("domain") for d in root.iter("allow-access-from")]
    except ET.ParseError as e:
        domains = ["parse error: %s" % e]
    rep.ok(st == 200 and h.get("content-type", "").startswith("text/xml") and root.tag == "cross-domain-policy"
           and domains == ["*"], "/crossdomain.xml: 200 text/xml, <cross-domain-policy>, allow-access-from '*'",
           "status %d, %s" % (st, domains))
    sh, hh, bh = request(origin, "HEAD", "/crossdomain.xml")
    rep.ok(sh == 200 and bh == b"" and hh.get("content-length") == str(len(body)),
           "HEAD /crossdomain.xml: 200, Content-Length, no body")
    st, _, _ = request(origin, "GET", "/sub/crossdomain.xml")
    rep.ok(st == 404, "only at the root: /sub/crossdomain.xml -> 404", "status %d" % st)


def check_list(rep, root, frag):
    rep.section("CORS: --cors-origin with a list of origins")
    listed = "http://127.0.0.1:8123, https://player.example"
    origin = to.Origin(root, ["--cors-origin", listed, "--quiet"])
    try:
        cases, bad = cors_requests(rep, origin, frag, PAGE, True)
        rep.ok(not bad, "a listed Origin is echoed, with Vary: Origin, on %d kinds of answer" % len(cases),
               "\n    ".join(bad))
        _, bad = cors_requests(rep, origin, frag, "https://player.example", True,
                               origin_header="https://player.example:443")
        rep.ok(not bad, "Origin with its default port spelled out matches the listed one", "\n    ".join(bad))
        for other in ("http://127.0.0.1:8124", "http://evil.example", None):
            _, bad = cors_requests(rep, origin, frag, None, True, origin_header=other)
            rep.ok(not bad, "Origin %s: no Allow-Origin, Vary: Origin" % other, "\n    ".join(bad))
        st, h, _ = preflight(origin, frag)
        rep.ok(st == 204 and h.get("access-control-allow-origin") == PAGE and "origin" in h.get("vary", "").lower(),
               "preflight from a listed origin: 204, echoed, Vary: Origin", "status %d %s" % (st, h))
        st, h, _ = preflight(origin, frag, origin_header="http://evil.example")
        rep.ok(st == 204 and not [k for k in h if k.startswith("access-control-")],
               "preflight from another origin: no Access-Control header (the browser refuses)", str(h))
        st, h, body = request(origin, "GET", "/clientaccesspolicy.xml")
        uris = [d.get("uri") for d in ET.fromstring(body).iter("domain")] if st == 200 else []
        rep.ok(uris == ["http://127.0.0.1:8123", "https://player.example"],
               "clientaccesspolicy.xml names the listed origins: %s" % uris, "status %d" % st)
        st, h, body = request(origin, "GET", "/crossdomain.xml")
        doms = [d.get("domain") for d in ET.fromstring(body).iter("allow-access-from")] if st == 200 else []
        rep.ok(doms == ["127.0.0.1", "player.example"], "crossdomain.xml names their hosts: %s" % doms,
               "status %d" % st)
    finally:
        origin.kill()


def check_off(rep, root, frag):
    rep.section("CORS: --cors-origin none, --no-policy-files, policy files from files")
    origin = to.Origin(root, ["--cors-origin", "none", "--quiet"])
    try:
        cases, bad = cors_requests(rep, origin, frag, None, False)
        rep.ok(not bad, "no Access-Control header on %d kinds of answer" % len(cases), "\n    ".join(bad))
        st, h, _ = preflight(origin, frag)
        rep.ok(st == 204 and not [k for k in h if k.startswith("access-control-")] and "OPTIONS" in h.get("allow", ""),
               "preflight -> 204 with Allow only", "status %d %s" % (st, h))
        sts = [request(origin, "GET", p)[0] for p in ("/clientaccesspolicy.xml", "/crossdomain.xml")]
        rep.ok(sts == [404, 404], "policy files -> 404", str(sts))
    finally:
        origin.kill()
    origin = to.Origin(root, ["--no-policy-files", "--quiet"])
    try:
        sts = [request(origin, "GET", p)[0] for p in ("/clientaccesspolicy.xml", "/crossdomain.xml")]
        acao = request(origin, "GET", "/ladder.ism/Manifest")[1].get("access-control-allow-origin")
        rep.ok(sts == [404, 404] and acao == "*", "--no-policy-files: policy files 404, CORS still '*'",
               "%s %s" % (sts, acao))
    finally:
        origin.kill()
    d = media.out_dir("origin_web", "policy")
    cap = os.path.join(d, "cap.xml")
    xd = os.path.join(d, "xd.xml")
    with open(cap, "wb") as f:
        f.write(b'<?xml version="1.0"?>\n<access-policy><!-- mine --></access-policy>\n')
    with open(xd, "wb") as f:
        f.write(b'<?xml version="1.0"?>\n<cross-domain-policy><!-- mine too --></cross-domain-policy>\n')
    origin = to.Origin(root, ["--cors-origin", "none", "--client-access-policy", cap, "--cross-domain-policy", xd,
                              "--quiet"])
    try:
        got = [request(origin, "GET", p) for p in ("/clientaccesspolicy.xml", "/crossdomain.xml")]
        rep.ok([g[0] for g in got] == [200, 200] and got[0][2] == open(cap, "rb").read()
               and got[1][2] == open(xd, "rb").read(),
               "--client-access-policy / --cross-domain-policy FILE: served byte for byte (even with CORS off)",
               str([(g[0], g[2][:60]) for g in got]))
    finally:
        origin.kill()
    gs = to.origin_binary()
    for args, code, text in ((["--cors-origin", "ftp://x"], 2, "not an origin"),
                             (["--cors-origin", "http://x/path"], 2, "not an origin"),
                             (["--client-access-policy", os.path.join(d, "nosuch.xml")], 1, "nosuch.xml")):
        p = subprocess.run([gs, "serve", "--root", root, "--port", "0"] + args, capture_output=True, text=True,
                           timeout=10)
        rep.ok(p.returncode == code and text in p.stderr, "%s -> exit %d, says %r" % (" ".join(args), code, text),
               "exit %d, stderr %r" % (p.returncode, p.stderr[-300:]))


def main(argv):
    rep = media.Report("test_origin_web")
    to.origin_binary()
    root = media.out_dir("origin_web", "root")
    try:
        out = to.package_ladder(root)
    except media.Failure as e:
        media.die(str(e))
    exp = to.Expected(out["ism"], out["ismc"], out["ismv"])
    frag = to.fragment_urls(exp.manifest, "/ladder.ism/")[1][3]
    try:
        check_log_duration(rep, root)
        origin = to.Origin(root, ["--quiet"])
        try:
            check_default(rep, origin, frag)
        finally:
            origin.kill()
        check_list(rep, root, frag)
        check_off(rep, root, frag)
    except (media.Failure, OSError, http.client.HTTPException, ET.ParseError) as e:
        import traceback
        rep.fail("test aborted: %s\n%s" % (e, traceback.format_exc()))
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
