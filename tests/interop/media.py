#!/usr/bin/env python3
"""Shared helpers for the interop tests: test media, muxing, peer tools.

Test media are generated once into $GST_SMOOTH_BUILD_DIR/test-media/ with
gst-launch-1.0 (x264enc, avenc_aac, mp4mux).  Generation takes an fcntl lock
(meson runs the interop tests in parallel) and file names carry a hash of the
recipe, so editing a recipe regenerates the file.

Muxers:
  ismvmux (default)  our element, via gst-launch-1.0 (qtdemux ! parser ! ismvmux)
  ffmpeg             `ffmpeg -c copy -f ismv`, the reference the checkers were
                     developed against (writes no .ism/.ismc).
Select with `--muxer ffmpeg` on any test, or GST_SMOOTH_INTEROP_MUXER=ffmpeg.

Exit codes used by the tests: 0 pass, 1 fail, 77 skip (a peer tool is missing).
Run `python3 media.py [--muxer ffmpeg] [CASE...]` to produce outputs by hand.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from fractions import Fraction
from typing import Dict, List, Optional

SKIP = 77

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------- reporting

class Report:
    """Collects check results; `done()` prints a summary and exits."""

    def __init__(self, name: str):
        self.name = name
        self.failures: List[str] = []
        self.passes = 0

    def ok(self, cond: bool, what: str, detail: str = "") -> bool:
        if cond:
            self.passes += 1
            print("  ok   %s" % what)
        else:
            msg = what + (": " + detail if detail else "")
            self.failures.append(msg)
            print("  FAIL %s" % msg)
        sys.stdout.flush()
        return cond

    def fail(self, what: str) -> None:
        self.ok(False, what)

    def note(self, what: str) -> None:
        print("  note %s" % what)

    def section(self, title: str) -> None:
        print("\n== %s" % title)
        sys.stdout.flush()

    def done(self) -> None:
        print()
        if self.failures:
            print("%s: %d check(s) FAILED, %d passed:" % (self.name, len(self.failures), self.passes))
            for f in self.failures:
                print("  - " + f)
            sys.exit(1)
        print("%s: all %d checks passed" % (self.name, self.passes))
        sys.exit(0)


def run_cases(rep: "Report", cases: List[str], fn, *args) -> None:
    for case in cases:
        try:
            fn(rep, *args, case)
        except Failure as e:
            rep.fail("%s: %s" % (case, e))
        except Exception:  # a checker crash (e.g. on malformed output) is a failure of this case
            import traceback
            rep.fail("%s: checker raised\n%s" % (case, traceback.format_exc()))


def skip(msg: str) -> None:
    print("SKIP: " + msg)
    sys.exit(SKIP)


def die(msg: str) -> None:
    print("FAIL: " + msg)
    sys.exit(1)


class Failure(Exception):
    """A failed step of one case (muxing, a peer rejecting the output); the
    test records it and moves on to the next case."""


# ---------------------------------------------------------------- environment

def build_dir() -> str:
    d = os.environ.get("GST_SMOOTH_BUILD_DIR")
    if d:
        return d
    # Fallback for running a test by hand from the source tree.
    d = os.path.join(os.path.dirname(os.path.dirname(HERE)), "build")
    return d


def media_dir() -> str:
    d = os.path.join(build_dir(), "test-media")
    os.makedirs(d, exist_ok=True)
    return d


def out_dir(test: str, case: str) -> str:
    d = os.path.join(build_dir(), "tests", "interop-out", test, case)
    if os.path.isdir(d):
        shutil.rmtree(d)
    os.makedirs(d)
    return d


def parse_muxer(argv: List[str]) -> str:
    m = os.environ.get("GST_SMOOTH_INTEROP_MUXER", "ismvmux")
    for i, a in enumerate(argv):
        if a == "--muxer" and i + 1 < len(argv):
            m = argv[i + 1]
        elif a.startswith("--muxer="):
            m = a.split("=", 1)[1]
    if m not in ("ismvmux", "ffmpeg"):
        die("unknown muxer %r (ismvmux|ffmpeg)" % m)
    return m


def parse_cases(argv: List[str], default: List[str]) -> List[str]:
    cases = [a for a in argv[1:] if a in CASES]
    return cases or default


def run(cmd: List[str], timeout: float = 120, env: Optional[dict] = None, check: bool = True,
        what: str = "") -> subprocess.CompletedProcess:
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                           env=env, text=True, errors="replace")
    except subprocess.TimeoutExpired:
        raise Failure("%s timed out after %ds: %s" % (what or cmd[0], timeout, " ".join(cmd)))
    if check and p.returncode != 0:
        raise Failure("%s failed (exit %d): %s\n--- stdout:\n%s\n--- stderr:\n%s"
            % (what or cmd[0], p.returncode, " ".join(cmd), p.stdout[-4000:], p.stderr[-4000:]))
    return p


def require_tools(*tools: str) -> None:
    for t in tools:
        if shutil.which(t) is None:
            skip("peer tool %s not found in PATH" % t)


def have_element(name: str) -> bool:
    # not `--exists NAME`: without --atleast-version it demands the GStreamer
    # core version (1.22) from the plugin, so our 0.1.0 plugin "does not exist"
    p = subprocess.run(["gst-inspect-1.0", name], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return p.returncode == 0


def require_elements(*names: str) -> None:
    require_tools("gst-launch-1.0", "gst-inspect-1.0")
    for n in names:
        if not have_element(n):
            skip("GStreamer element %s is not installed (peer/media tool)" % n)


def require_muxer(muxer: str) -> None:
    if muxer == "ffmpeg":
        require_tools("ffmpeg")
        return
    require_tools("gst-launch-1.0", "gst-inspect-1.0")
    if not have_element("ismvmux"):
        p = subprocess.run(["gst-inspect-1.0", "ismvmux"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        die("element 'ismvmux' not found (GST_PLUGIN_PATH_1_0=%s; expected plugin %s). "
            "The element under test is missing or failed to load: this is a failure, not a skip.\n%s"
            % (os.environ.get("GST_PLUGIN_PATH_1_0", "<unset>"),
               os.path.join(build_dir(), "gst", "ismv", "libgstismv.so"), p.stdout.strip()))


# ---------------------------------------------------------------- test media

def _video_branch(width: int, height: int, kbps: int, bframes: int, src: str) -> str:
    scale = "" if src == "direct" else "videoscale ! "
    return ("%svideo/x-raw,width=%d,height=%d ! "
            "x264enc bitrate=%d key-int-max=48 bframes=%d option-string=scenecut=0:min-keyint=48 "
            "speed-preset=veryfast ! video/x-h264,profile=main ! h264parse ! queue ! mux. "
            % (scale, width, height, kbps, bframes))


RAW_VIDEO = ("videotestsrc num-buffers=240 pattern=smpte ! "
             "video/x-raw,width=640,height=360,framerate=24/1,format=I420 ! timeoverlay ! ")


def _audio_branch(rate: int) -> str:
    # 100 buffers of rate/10 samples = 10 s
    return ("audiotestsrc num-buffers=100 samplesperbuffer=%d ! audio/x-raw,rate=%d,channels=2 ! "
            "audioconvert ! avenc_aac bitrate=128000 ! aacparse ! queue ! mux. " % (rate // 10, rate))


def _recipe(case: str) -> str:
    if case == "av":
        return RAW_VIDEO + _video_branch(640, 360, 1000, 0, "direct") + _audio_branch(48000)
    if case == "ladder":
        return (RAW_VIDEO + "tee name=t "
                + "t. ! queue ! " + _video_branch(320, 180, 400, 0, "scale")
                + "t. ! queue ! " + _video_branch(480, 270, 750, 0, "scale")
                + "t. ! queue ! " + _video_branch(640, 360, 1000, 0, "scale")
                + _audio_branch(48000))
    if case == "bframes":
        return RAW_VIDEO + _video_branch(640, 360, 1000, 2, "direct") + _audio_branch(48000)
    if case == "audio44k":
        return RAW_VIDEO + _video_branch(640, 360, 1000, 0, "direct") + _audio_branch(44100)
    raise KeyError(case)


CASES = {
    "av": "single bitrate A/V, 10 s 640x360@24, closed 2 s GOP, AAC-LC 48 kHz stereo",
    "ladder": "3-bitrate GOP-aligned ladder 320x180/480x270/640x360 @400/750/1000 kbps + AAC 48 kHz",
    "bframes": "as 'av' with x264 bframes=2 (composition offsets)",
    "audio44k": "as 'av' with AAC-LC 44.1 kHz stereo",
}
ALL_CASES = list(CASES)


def ensure_media(case: str) -> str:
    """Path of the input mp4 for `case`, generating it once (locked)."""
    require_elements("x264enc", "avenc_aac", "mp4mux", "videotestsrc", "audiotestsrc", "h264parse", "aacparse")
    recipe = _recipe(case) + "mp4mux name=mux faststart=true ! filesink location="
    h = hashlib.sha1(recipe.encode()).hexdigest()[:10]
    d = media_dir()
    path = os.path.join(d, "%s-%s.mp4" % (case, h))
    if os.path.exists(path):
        return path
    with open(os.path.join(d, ".lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            if os.path.exists(path):
                return path
            tmp = path + ".tmp"
            cmd = "gst-launch-1.0 -q -e " + recipe + tmp
            p = subprocess.run(["sh", "-c", cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=120)
            if p.returncode != 0 or not os.path.exists(tmp) or os.path.getsize(tmp) < 1000:
                die("could not generate test media %s:\n%s\n%s" % (case, cmd, p.stdout[-3000:]))
            os.replace(tmp, path)
            print("generated %s (%s)" % (path, CASES[case]))
        finally:
            fcntl.flock(lk, fcntl.LOCK_UN)
    return path


# FFmpeg-encoded A/V (its AAC encoder, so the audio starts at minus its
# priming: tfxd 2^64 - 213333), as -f ismv and as the live ingest layout.
FFMPEG_ENCODED = {
    "ismv": ["-f", "ismv"],
    "isml": ["-movflags", "isml+frag_keyframe", "-f", "ismv"],
    "mp4": ["-movflags", "+faststart", "-f", "mp4"],
}


def ensure_ffmpeg_encoded(layout: str) -> str:
    """10 s 320x180@24 libx264 (B-frames, 2 s GOP) + FFmpeg AAC 48 kHz mono,
    written by FFmpeg in `layout` (FFMPEG_ENCODED)."""
    require_tools("ffmpeg")
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=s=320x180:r=24:d=10",
            "-f", "lavfi", "-i", "sine=d=10:r=48000", "-c:v", "libx264", "-g", "48", "-preset", "veryfast",
            "-c:a", "aac", "-b:a", "64k"] + FFMPEG_ENCODED[layout]
    h = hashlib.sha1(" ".join(args).encode()).hexdigest()[:10]
    ext = "mp4" if layout == "mp4" else "ismv"
    path = os.path.join(media_dir(), "ffenc-%s-%s.%s" % (layout, h, ext))
    if os.path.exists(path):
        return path
    with open(os.path.join(media_dir(), ".lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        try:
            if not os.path.exists(path):
                tmp = path + ".tmp"
                run(args + [tmp], what="ffmpeg encode")
                os.replace(tmp, path)
                print("generated %s (FFmpeg-encoded, %s)" % (path, layout))
        finally:
            fcntl.flock(lk, fcntl.LOCK_UN)
    return path


# ---------------------------------------------------------------- ffprobe

def ffprobe_streams(path: str, count_packets: bool = False) -> List[dict]:
    p = run(["ffprobe", "-v", "error"] + (["-count_packets"] if count_packets else [])
            + ["-show_streams", "-of", "json", path], what="ffprobe")
    return json.loads(p.stdout)["streams"]


def ffprobe_packets(path: str) -> Dict[int, List[dict]]:
    """stream index -> packets (pts, dts, duration as Fractions of a second; key flag)."""
    p = run(["ffprobe", "-v", "error", "-show_entries",
             "stream=index,time_base:packet=stream_index,pts,dts,duration,flags,size",
             "-of", "json", path], what="ffprobe packets")
    j = json.loads(p.stdout)
    tb = {s["index"]: Fraction(s["time_base"]) for s in j["streams"]}
    out: Dict[int, List[dict]] = {s["index"]: [] for s in j["streams"]}
    for pk in j.get("packets", []):
        i = pk["stream_index"]
        t = tb[i]

        def f(k):
            v = pk.get(k)
            return None if v in (None, "N/A") else int(v) * t

        out[i].append({"pts": f("pts"), "dts": f("dts"), "duration": f("duration"),
                       "key": "K" in pk.get("flags", ""), "size": int(pk.get("size", 0))})
    return out


def track_pads(streams: List[dict]) -> List[dict]:
    """qtdemux pad name, kind and type-relative index for each ffprobe stream (file order)."""
    res = []
    nv = na = 0
    for s in streams:
        if s["codec_type"] == "video":
            res.append({"index": s["index"], "kind": "video", "n": nv, "pad": "video_%d" % nv, "stream": s})
            nv += 1
        elif s["codec_type"] == "audio":
            res.append({"index": s["index"], "kind": "audio", "n": na, "pad": "audio_%d" % na, "stream": s})
            na += 1
    return res


# ---------------------------------------------------------------- muxing

def mux(muxer: str, mp4: str, odir: str, name: str, props: Optional[Dict[str, str]] = None) -> dict:
    """Mux every track of `mp4` into one ISMV. Returns {ismv, ism, ismc, cmd}."""
    if muxer == "ffmpeg":
        return mux_ffmpeg(mp4, odir, name)
    return mux_ismvmux(mp4, odir, name, props)


def mux_ismvmux(mp4: str, odir: str, name: str, props: Optional[Dict[str, str]] = None) -> dict:
    ismv = os.path.join(odir, name + ".ismv")
    ism = os.path.join(odir, name + ".ism")
    ismc = os.path.join(odir, name + ".ismc")
    streams = ffprobe_streams(mp4)
    args = ["gst-launch-1.0", "-e", "filesrc", "location=" + mp4, "!", "qtdemux", "name=d"]
    for t in track_pads(streams):
        parser = "h264parse" if t["kind"] == "video" else "aacparse"
        args += ["d." + t["pad"], "!", "queue", "max-size-buffers=0", "max-size-bytes=0",
                 "max-size-time=0", "!", parser, "!", "mux." + t["pad"]]
    args += ["ismvmux", "name=mux", "server-manifest=" + ism, "client-manifest=" + ismc]
    for k, v in (props or {}).items():
        args.append("%s=%s" % (k, v))
    args += ["!", "filesink", "location=" + ismv]
    p = run(args, timeout=120, what="ismvmux pipeline")
    if "ERROR" in p.stdout or "ERROR" in p.stderr:
        raise Failure("ismvmux pipeline reported an error: %s\n%s\n%s" % (" ".join(args), p.stdout[-3000:], p.stderr[-3000:]))
    for f in (ismv, ism, ismc):
        if not os.path.exists(f) or os.path.getsize(f) == 0:
            raise Failure("ismvmux did not write %s (pipeline: %s)" % (f, " ".join(args)))
    return {"ismv": ismv, "ism": ism, "ismc": ismc, "cmd": " ".join(args)}


def make_shared_moof_fmp4(mp4: str, out: str) -> None:
    """The first video and the audio of `mp4` as FFmpeg's plain fragmented
    MP4: every moof carries a traf of both tracks (no tfxd, tfdt times), 2 s
    fragments. Not a Smooth layout: tools must rewrite each fragment to a
    moof of its own track."""
    run(["ffmpeg", "-v", "error", "-y", "-i", mp4, "-map", "0:v:0", "-map", "0:a", "-c", "copy",
         "-movflags", "frag_keyframe+empty_moov+default_base_moof", "-frag_duration", "2000000",
         "-f", "mp4", out], what="ffmpeg fMP4")


def mux_ffmpeg(mp4: str, odir: str, name: str) -> dict:
    ismv = os.path.join(odir, name + ".ismv")
    args = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", mp4, "-map", "0", "-c", "copy", "-f", "ismv", ismv]
    run(args, what="ffmpeg -f ismv")
    return {"ismv": ismv, "ism": None, "ismc": None, "cmd": " ".join(args)}


# ---------------------------------------------------------------- qtdemux read-back

def qtdemux_buffers(path: str, timeout: float = 120, demuxer: str = "qtdemux", push: bool = False) -> Dict[str, dict]:
    """Read every track of `path` with qtdemux (or `demuxer`, in push mode
    through a queue when `push`) and return, per pad name,
    {'segment': dict, 'buffers': [{'pts','dts','dur' (ns or None), 'size', 'delta'}]}.

    Buffers are observed with the `log` tracer (pad push hooks, logged
    synchronously), not with identity/fakesink `last-message` under
    gst-launch -v: that property is notified asynchronously through the bus
    and loses/duplicates messages (seen: 187 of 240 buffers reported).
    """
    import re
    streams = ffprobe_streams(path)
    pads = track_pads(streams)
    args = ["gst-launch-1.0", "-q", "filesrc", "location=" + path, "!"]
    args += ["queue", "!"] if push else []
    args += [demuxer, "name=d"]
    for t in pads:
        # identity splits buffer lists (ismdemux pushes them) into buffers
        # the log tracer shows one by one.
        args += ["d." + t["pad"], "!", "queue", "max-size-buffers=0", "max-size-bytes=0", "max-size-time=0",
                 "!", "identity", "name=q_" + t["pad"], "!", "fakesink", "sync=false", "async=false"]
    env = dict(os.environ)
    env["GST_TRACERS"] = "log"
    env["GST_DEBUG"] = "GST_BUFFER:7,GST_EVENT:7"
    env["GST_DEBUG_NO_COLOR"] = "1"
    env.pop("GST_DEBUG_FILE", None)
    with tempfile.TemporaryFile("w+", errors="replace") as log:
        try:
            p = subprocess.run(args, stdout=subprocess.DEVNULL, stderr=log, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise Failure("%s read-back timed out: %s" % (demuxer, " ".join(args)))
        log.seek(0)
        text = log.read()
    if p.returncode != 0:
        errs = [l for l in text.splitlines() if " ERROR " in l or "WARN " in l][:20]
        raise Failure("%s pipeline failed (exit %d): %s\n%s" % (demuxer, p.returncode, " ".join(args), "\n".join(errs)))
    def ts(s):
        if s in ("99:99:99.999999999", "none"):
            return None
        h, m, sec = s.split(":")
        whole, frac = sec.split(".")
        return ((int(h) * 60 + int(m)) * 60 + int(whole)) * 1000000000 + int(frac.ljust(9, "0"))
    buf_re = re.compile(r"do_push_buffer_pre:<q_(\w+):src>.*?buffer=buffer: 0x[0-9a-f]+, pts ([\d:.]+|none), "
                        r"dts ([\d:.]+|none), dur ([\d:.]+|none), size (\d+), .*?flags 0x([0-9a-f]+)")
    seg_re = re.compile(r"do_push_event_pre:<q_(\w+):src>.*?event=segment event.*?start=\(guint64\)(\d+), "
                        r"stop=\(guint64\)(\d+), time=\(guint64\)(\d+)")
    caps_re = re.compile(r"do_push_event_pre:<q_(\w+):src>.*?event=caps event.*?caps=\(GstCaps\)\"(.*)\";")
    res: Dict[str, dict] = {t["pad"]: {"segment": None, "caps": None, "buffers": []} for t in pads}
    for line in text.splitlines():
        if "do_push_buffer_pre:<q_" in line:
            m = buf_re.search(line)
            if not m:
                raise Failure("cannot parse log tracer line: " + line)
            res[m.group(1)]["buffers"].append({
                "pts": ts(m.group(2)), "dts": ts(m.group(3)), "dur": ts(m.group(4)),
                "size": int(m.group(5)), "delta": bool(int(m.group(6), 16) & 0x2000)})
        elif "do_push_event_pre:<q_" in line and "segment event" in line:
            m = seg_re.search(line)
            if m is None:
                raise Failure("cannot parse segment event line: " + line)
            if res[m.group(1)]["segment"] is None:
                res[m.group(1)]["segment"] = {"start": int(m.group(2)), "stop": int(m.group(3)),
                                              "time": int(m.group(4))}
        elif "do_push_event_pre:<q_" in line and "caps event" in line:
            m = caps_re.search(line)
            if m and res[m.group(1)]["caps"] is None:
                res[m.group(1)]["caps"] = parse_caps_fields(m.group(2))
    return res


def parse_caps_fields(caps: str) -> Dict[str, str]:
    """Flat field dict from a serialized caps string as printed by GST_PTR_FORMAT
    inside an event structure (escaped: 'video/x-h264\\,\\ width\\=\\(int\\)640')."""
    caps = caps.replace("\\", "")
    parts = [p.strip() for p in caps.split(",")]
    out = {"media": parts[0]}
    for p in parts[1:]:
        if "=" in p:
            k, v = p.split("=", 1)
            if v.startswith("(") and ")" in v:
                v = v[v.index(")") + 1:]
            out[k.strip()] = v.strip()
    return out


# ---------------------------------------------------------------- CLI

def main(argv: List[str]) -> int:
    muxer = parse_muxer(argv)
    cases = parse_cases(argv, ALL_CASES)
    require_muxer(muxer)
    for c in cases:
        mp4 = ensure_media(c)
        o = mux(muxer, mp4, out_dir("manual-" + muxer, c), c)
        print(c, mp4, o)
    return 0



def run_named_cases(rep: "Report", cases: dict, argv: List[str], call) -> None:
    """Runs the cases named in argv (all when none), each as call(case function),
    in its own report section with its time; an exception fails the case only."""
    import time
    import traceback
    for name in [a for a in argv if not a.startswith("-")] or list(cases):
        rep.section(name)
        t = time.monotonic()
        try:
            call(cases[name])
        except Exception:
            rep.fail("%s: raised\n%s" % (name, traceback.format_exc()))
        rep.note("%s took %.1f s" % (name, time.monotonic() - t))
    rep.done()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
