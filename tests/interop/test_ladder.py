#!/usr/bin/env python3
"""Interop: a bitrate ladder with one rendition at another GOP length (x264
key-int-max 60 beside 48, 24 fps: keyframes every 2.5 s instead of 2 s) must
not give manifests whose URLs fail.

  - ismvmux muxing the three renditions into one file: gst-launch exits
    non-zero with "left out of the manifests" naming the pad; the .ismc has
    the two aligned video QualityLevels (+ audio), the .ism no entry for the
    odd track;
  - `gst-smooth manifest` over one file per rendition: exit 3, an "error:"
    line naming the odd file, the same two levels;
  - both presentations through `gst-smooth serve`: every fragment URL the
    served Manifest lists (every QualityLevel x every time of its
    StreamIndex) answers 200 with a moof+mdat whose tfxd time is the URL's;
  - mssdemux (souphttpsrc ! mssdemux connection-speed=N), forced to each
    listed video level (it may switch to the other one), plays to EOS with
    all 240 frames decoded and the origin logs no status other than 200.
Before the fix the .ismc listed all three levels with the reference's
times: 4 of the odd level's 5 fragment URLs answered 404.
"""

import os
import re
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media  # noqa: E402
import test_origin  # noqa: E402
import test_origin_mss  # noqa: E402

NAME = "test_ladder"
FRAMES = 240
RENDITIONS = [(320, 180, 400, 48), (480, 270, 750, 60), (640, 360, 1000, 48)]


def tool():
    return test_origin.origin_binary()


def video_branch(w, h, kbps, gop, sink):
    return ("t. ! queue ! videoscale ! video/x-raw,width=%d,height=%d ! x264enc bitrate=%d key-int-max=%d bframes=0 "
            "option-string=scenecut=0:min-keyint=%d speed-preset=veryfast ! video/x-h264,profile=main ! h264parse ! "
            "%s " % (w, h, kbps, gop, gop, sink))


AUDIO = ("audiotestsrc num-buffers=100 samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=2 ! audioconvert ! "
         "avenc_aac bitrate=128000 ! aacparse ! ")


def check_every_url(rep, origin, asset):
    """Requests every fragment URL of the served Manifest; returns the parsed manifest."""
    prefix = "/" + asset + "/"
    status, _, body = test_origin.request(origin, "GET", prefix + "Manifest")
    if status != 200:
        raise media.Failure("Manifest of %s: HTTP %d" % (asset, status))
    manifest = test_origin.parse_manifest(body)
    urls = test_origin.fragment_urls(manifest, prefix)
    bad = []
    for bitrate, name, t, url in urls:
        st, _, data = test_origin.request(origin, "GET", url)
        if st != 200:
            bad.append("%s: %d" % (url, st))
            continue
        try:
            _, tfxd, _ = test_origin.parse_fragment_response(data)
        except media.Failure as e:
            bad.append("%s: %s" % (url, e))
            continue
        if tfxd is None or tfxd["time"] != t:
            bad.append("%s: tfxd %s" % (url, tfxd))
    rep.ok(urls and not bad, "%s: all %d fragment URLs of the Manifest answer 200 with their fragment" % (asset, len(urls)),
           "\n".join(bad[:20]))
    return manifest


def serve_and_check(rep, root, assets, check):
    """Runs `gst-smooth serve --root root` and check(origin, asset) for each asset."""
    origin = test_origin.Origin(root)
    try:
        for asset in assets:
            rep.section("%s through gst-smooth serve" % asset)
            try:
                check(origin, asset)
            except media.Failure as e:
                rep.fail(str(e))
    finally:
        rc, _ = origin.stop()
        rep.ok(rc == 0, "origin stopped by SIGTERM, exit 0")


def check_mssdemux(rep, origin, asset, bitrates):
    uri = origin.url + asset + "/Manifest"
    for i, b in enumerate(bitrates):
        kbps = (b + 999) // 1000
        since = len(origin.log_lines())
        args = ["souphttpsrc", "location=" + uri, "!", "mssdemux", "connection-speed=%d" % kbps, "bitrate-limit=1.0",
                "name=d", "d.video_00", "!", "queue", "!", "decodebin", "!"] + test_origin_mss.sink("vcount").split() + \
               ["d.audio_00", "!", "queue", "!", "fakesink", "sync=false"]
        rc, counts, out = test_origin_mss.run_counting(args)
        lines = test_origin_mss.new_log_lines(origin, since)
        not_ok = [" ".join(x for x in g if x) for g in lines if g[3] != "200"]
        levels = sorted(set(int(m.group(1)) for m in (re.search(r"QualityLevels\((\d+)\)/Fragments\(video", g[2])
                                                      for g in lines) if m))
        # (mssdemux may switch up from the forced level after measuring the
        # download: switching is the point, every URL it builds must exist.)
        rep.ok(rc == 0 and counts.get("vcount", 0) == FRAMES and not not_ok and b in levels,
               "%s: mssdemux forced to QualityLevel %d plays to EOS, %d of %d frames, every request 200"
               % (asset, b, counts.get("vcount", 0), FRAMES),
               "exit %d, levels %s, non-200: %s\n%s" % (rc, levels, not_ok[:5], out[-1500:]))


def case_ismvmux(rep, root):
    rep.section("ismvmux: GOP 60 beside GOP 48 in one file")
    ism = os.path.join(root, "mux.ism")
    pipe = (media.RAW_VIDEO + "tee name=t "
            + "".join(video_branch(w, h, k, g, "queue ! mux.") for w, h, k, g in RENDITIONS)
            + AUDIO + "queue ! mux. ismvmux name=mux server-manifest=%s client-manifest=%s ! filesink location=%s"
            % (ism, os.path.join(root, "mux.ismc"), os.path.join(root, "mux.ismv")))
    p = media.run(["sh", "-c", "gst-launch-1.0 -e " + pipe], check=False, what="misaligned ladder")
    out = p.stdout + p.stderr
    rep.ok(p.returncode != 0 and "left out of the manifests" in out and "video_1" in out,
           "gst-launch exits non-zero, the error names video_1", "exit %d\n%s" % (p.returncode, out[-1500:]))
    rep.ok(os.path.exists(ism), "the manifests are still written")
    return "mux.ism"


def case_manifest(rep, root):
    rep.section("gst-smooth manifest: one file per rendition")
    files = []
    for i, (w, h, k, g) in enumerate(RENDITIONS):
        path = os.path.join(root, "v%d_gop%d.ismv" % (i, g))
        media.run(["sh", "-c", "gst-launch-1.0 -q -e " + media.RAW_VIDEO + "tee name=t " +
                   video_branch(w, h, k, g, "ismvmux ! filesink location=" + path)], what="encode %s" % path)
        files.append(path)
    isma = os.path.join(root, "a.isma")
    media.run(["sh", "-c", "gst-launch-1.0 -q -e " + AUDIO + "ismvmux ! filesink location=" + isma], what="encode audio")
    ism = os.path.join(root, "files.ism")
    p = media.run([tool(), "manifest", "-o", ism] + files + [isma], check=False, what="gst-smooth manifest")
    errors = [l for l in p.stderr.splitlines() if "error:" in l]
    rep.ok(p.returncode == 3 and len(errors) == 1 and "v1_gop60.ismv" in errors[0] and "left out" in errors[0],
           "exit 3, one error line naming v1_gop60.ismv", "exit %d\n%s" % (p.returncode, p.stderr[-1500:]))
    p = media.run([tool(), "manifest", "--strict", "-o", os.path.join(root, "strict.ism")] + files + [isma],
                  check=False, what="gst-smooth manifest --strict")
    rep.ok(p.returncode == 1 and not os.path.exists(os.path.join(root, "strict.ism")),
           "--strict: exit 1, nothing written", "exit %d" % p.returncode)
    return "files.ism"


def main(argv):
    rep = media.Report(NAME)
    media.require_muxer("ismvmux")
    media.require_elements("x264enc", "avenc_aac", "mssdemux", "souphttpsrc", "avdec_h264")
    root = media.out_dir(NAME, "root")
    assets = []
    for case in (case_ismvmux, case_manifest):
        try:
            assets.append(case(rep, root))
        except media.Failure as e:
            rep.fail(str(e))
    def check(origin, asset):
        manifest = check_every_url(rep, origin, asset)
        video = [s for s in manifest["streams"] if s["type"] == "video"][0]
        rep.ok(len(video["bitrates"]) == 2 and len(video["times"]) == 5,
               "%s: 2 video QualityLevels (the GOP-48 ones), 5 fragments" % asset,
               "bitrates %s, %d times" % (video["bitrates"], len(video["times"])))
        check_mssdemux(rep, origin, asset, sorted(video["bitrates"]))

    serve_and_check(rep, root, assets, check)
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
