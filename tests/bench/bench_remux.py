#!/usr/bin/env python3
"""Benchmark: remuxing an H.264 + AAC mp4 into fragmented MP4, ismvmux against peers.

Not part of the test suite.  It generates its own input (a >= 60 s 1080p30
H.264 + AAC mp4, cached in --workdir), then runs these commands --runs times
each, round-robin so that machine noise falls on all of them alike:

  ours      qtdemux ! h264parse/aacparse ! ismvmux ! filesink
  demux     qtdemux ! fakesink (both streams, sync=false): the cost of
            starting GStreamer, reading and demuxing, which every GStreamer
            pipeline here pays
  ismlmux   qtdemux ! ismlmux fragment-duration=2000 ! filesink
            (GStreamer's own fragmented muxer; no parsers, qtdemux output fits it)
  ffmpeg    ffmpeg -i in.mp4 -c copy -f ismv out.ismv

and with --with-parsers two like-for-like rows: qtdemux ! h264parse/aacparse
! fakesink, and the ismlmux pipeline with the parsers ours has.

For each run it measures the whole process: user + sys CPU seconds and peak
RSS, with `/usr/bin/time -f '%U %S %M'` (Debian package `time`) and with
os.wait4() on the process it starts, which gives the same rusage to the
microsecond (time(1) prints CPU in 10 ms steps, coarse for ~0.1 s runs).
Without /usr/bin/time (or with --no-time-binary) wait4 alone is used.

It prints every command line, the medians, the ratios of medians
ours/ismlmux, ours/ffmpeg, ours/demux, and ours minus demux.  It checks the
outputs: non-empty, and ffprobe's packet count per stream of ours equals the
input's.

Python 3.11 standard library only.  Run from anywhere:
  python3 tests/bench/bench_remux.py [--runs 5] [--workdir /tmp/gst-smooth-bench]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
TIME_BIN = "/usr/bin/time"

# Input recipe.  The file name carries every parameter, so changing one makes
# a new cached input instead of silently reusing the old one.
WIDTH, HEIGHT, FPS = 1920, 1080, 30
GOP = 60                    # frames: a closed 2 s GOP, as Smooth Streaming wants
VIDEO_KBPS = 5000
AUDIO_RATE, AUDIO_BPS = 48000, 128000
AUDIO_BLOCK = 4800          # samples per audiotestsrc buffer (100 ms)


def die(msg: str, code: int = 2) -> None:
    print("bench_remux: " + msg, file=sys.stderr)
    sys.exit(code)


def cmdline(argv: List[str]) -> str:
    return shlex.join(argv)


# ---------------------------------------------------------------- input

def input_path(workdir: str, seconds: int) -> str:
    return os.path.join(
        workdir, "in_%dx%d_%dfps_%ds_gop%d_%dk_x264ultrafast_aac.mp4"
        % (WIDTH, HEIGHT, FPS, seconds, GOP, VIDEO_KBPS))


def generate_argv(seconds: int, location: str) -> List[str]:
    frames = seconds * FPS
    audio_buffers = seconds * AUDIO_RATE // AUDIO_BLOCK
    return [
        "gst-launch-1.0", "-q", "-e",
        # smpte with horizontal-speed scrolls the whole picture and the clock
        # changes every frame: real motion, so P frames are not all skips.
        "videotestsrc", "num-buffers=%d" % frames, "pattern=smpte", "horizontal-speed=4", "!",
        "video/x-raw,width=%d,height=%d,framerate=%d/1,format=I420" % (WIDTH, HEIGHT, FPS), "!",
        "timeoverlay", "font-desc=Sans 60", "!",
        "x264enc", "speed-preset=ultrafast", "bitrate=%d" % VIDEO_KBPS,
        "key-int-max=%d" % GOP, "option-string=scenecut=0:min-keyint=%d" % GOP, "!",
        "h264parse", "!", "queue", "!", "mux.",
        "audiotestsrc", "num-buffers=%d" % audio_buffers, "samplesperbuffer=%d" % AUDIO_BLOCK,
        "wave=sine", "!",
        "audio/x-raw,rate=%d,channels=2" % AUDIO_RATE, "!", "audioconvert", "!",
        "avenc_aac", "bitrate=%d" % AUDIO_BPS, "!", "aacparse", "!", "queue", "!", "mux.",
        "mp4mux", "name=mux", "faststart=true", "!", "filesink", "location=" + location,
    ]


def probe_packets(path: str) -> Dict[str, int]:
    """Packets per stream, keyed 'video'/'audio' (ffprobe -count_packets)."""
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_packets",
         "-show_entries", "stream=index,codec_type,nb_read_packets", "-of", "json", path],
        capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError("ffprobe %s: %s" % (path, out.stderr.strip()))
    counts: Dict[str, int] = {}
    for s in json.loads(out.stdout).get("streams", []):
        kind = s.get("codec_type", "?")
        key = kind if kind not in counts else "%s#%d" % (kind, s.get("index", 0))
        counts[key] = int(s.get("nb_read_packets", 0))
    return counts


def probe_duration(path: str) -> float:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", path],
        capture_output=True, text=True)
    try:
        return float(out.stdout.strip())
    except ValueError:
        return 0.0


def ensure_input(workdir: str, seconds: int, env: Dict[str, str]) -> str:
    path = input_path(workdir, seconds)
    argv = generate_argv(seconds, path + ".part")
    print("input: %s" % path)
    if os.path.exists(path) and probe_duration(path) >= seconds - 0.5:
        print("  (cached; generated by: %s)" % cmdline(generate_argv(seconds, path)))
        return path
    print("  generating (x264 ultrafast, about a minute on 2 cores):")
    print("  $ " + cmdline(argv))
    sys.stdout.flush()
    t0 = time.monotonic()
    r = subprocess.run(argv, env=env, capture_output=True, text=True)
    if r.returncode != 0 or not os.path.exists(path + ".part"):
        die("input generation failed (rc %d):\n%s" % (r.returncode, r.stderr[-2000:]))
    os.replace(path + ".part", path)   # atomic: a killed run leaves no half file
    print("  done in %.1f s" % (time.monotonic() - t0))
    return path


# ---------------------------------------------------------------- commands

@dataclass
class Command:
    key: str
    label: str
    argv: List[str]
    output: Optional[str]          # file the command writes, checked afterwards
    cpu: List[float] = field(default_factory=list)
    tcpu: List[float] = field(default_factory=list)   # /usr/bin/time's, 10 ms steps
    rss_kb: List[int] = field(default_factory=list)
    wall: List[float] = field(default_factory=list)
    writes: List[str] = field(default_factory=list)  # other files it writes

    def remove_outputs(self) -> None:
        """Every run writes a new file: truncating the previous run's output
        (freeing its page cache) would otherwise be billed to the run."""
        for f in ([self.output] if self.output else []) + self.writes:
            if os.path.exists(f):
                os.unlink(f)


def commands(src: str, outdir: str, with_parsers: bool) -> List[Command]:
    ours = os.path.join(outdir, "ours.ismv")
    isml = os.path.join(outdir, "ismlmux.ismv")
    ff = os.path.join(outdir, "ffmpeg.ismv")
    gst = ["gst-launch-1.0", "-q", "-e", "filesrc", "location=" + src, "!", "qtdemux", "name=d"]
    ours_q = os.path.join(outdir, "ours-queue.ismv")
    cmds = [
        # The remux as one would write it: no queues (qtdemux's one thread
        # feeds both parsers and the muxer), and its base without the muxer
        # (async=false: two sinks on one thread cannot preroll otherwise).
        Command("ours", "ismvmux (ours), no queues", gst + [
            "d.video_0", "!", "h264parse", "!", "mux.video_0",
            "d.audio_0", "!", "aacparse", "!", "mux.audio_0",
            "ismvmux", "name=mux", "!", "filesink", "location=" + ours], ours),
        # Like-for-like with the base (which writes nothing): ours into a
        # fakesink, and what writing a file of that size costs by itself.
        Command("ours>fakesink", "ismvmux ! fakesink, no queues", gst + [
            "d.video_0", "!", "h264parse", "!", "mux.video_0",
            "d.audio_0", "!", "aacparse", "!", "mux.audio_0",
            "ismvmux", "name=mux", "!", "fakesink", "sync=false"], None),
        Command("write", "filesrc ! filesink (a copy)", [
            "gst-launch-1.0", "-q", "filesrc", "location=" + src, "blocksize=1048576", "!",
            "filesink", "location=" + os.path.join(outdir, "copy.bin")], None,
            writes=[os.path.join(outdir, "copy.bin")]),
        Command("read", "filesrc ! fakesink", [
            "gst-launch-1.0", "-q", "filesrc", "location=" + src, "blocksize=1048576", "!",
            "fakesink"], None),
        Command("demux+parse", "qtdemux ! parsers ! fakesink", gst + [
            "d.video_0", "!", "h264parse", "!", "fakesink", "sync=false", "async=false",
            "d.audio_0", "!", "aacparse", "!", "fakesink", "sync=false", "async=false"], None),
        # Like-for-like with ours, which writes a file: the base writing what
        # the parsers put out (the same samples, 4 KB less) into two files.
        Command("demux+parse>filesink", "qtdemux ! parsers ! filesink", gst + [
            "d.video_0", "!", "h264parse", "!", "filesink", "async=false",
            "location=" + os.path.join(outdir, "base.h264"),
            "d.audio_0", "!", "aacparse", "!", "filesink", "async=false",
            "location=" + os.path.join(outdir, "base.aac")], None,
            writes=[os.path.join(outdir, "base.h264"), os.path.join(outdir, "base.aac")]),
        # The same with a queue on each branch (a thread per branch).
        Command("ours+queue", "ismvmux (ours), queues", gst + [
            "d.video_0", "!", "queue", "!", "h264parse", "!", "mux.video_0",
            "d.audio_0", "!", "queue", "!", "aacparse", "!", "mux.audio_0",
            "ismvmux", "name=mux", "!", "filesink", "location=" + ours_q], ours_q),
        Command("demux+parse+queue", "qtdemux ! queue ! parsers ! fakesink", gst + [
            "d.video_0", "!", "queue", "!", "h264parse", "!", "fakesink", "sync=false",
            "d.audio_0", "!", "queue", "!", "aacparse", "!", "fakesink", "sync=false"], None),
        Command("demux", "qtdemux ! fakesink (baseline)", gst + [
            "d.video_0", "!", "queue", "!", "fakesink", "sync=false",
            "d.audio_0", "!", "queue", "!", "fakesink", "sync=false"], None),
        Command("ismlmux", "ismlmux (GStreamer)", gst + [
            "d.video_0", "!", "queue", "!", "mux.video_0",
            "d.audio_0", "!", "queue", "!", "mux.audio_0",
            "ismlmux", "name=mux", "fragment-duration=2000", "!", "filesink", "location=" + isml],
            isml),
        Command("ffmpeg", "ffmpeg -f ismv", [
            "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-i", src, "-c", "copy", "-f", "ismv", ff], ff),
    ]
    if with_parsers:
        # ours has h264parse/aacparse, the ismlmux row does not: this one
        # carries the parsers too, for a like-for-like view.
        isml_p = os.path.join(outdir, "ismlmux-parse.ismv")
        cmds += [
            Command("ismlmux+parse", "parsers ! ismlmux", gst + [
                "d.video_0", "!", "queue", "!", "h264parse", "!", "mux.video_0",
                "d.audio_0", "!", "queue", "!", "aacparse", "!", "mux.audio_0",
                "ismlmux", "name=mux", "fragment-duration=2000", "!", "filesink",
                "location=" + isml_p], isml_p),
        ]
    return cmds


# ---------------------------------------------------------------- measuring

def run_measured(argv: List[str], env: Dict[str, str], use_time_bin: bool, scratch: str):
    """Run argv once; return (cpu_s, time_bin_cpu_s or None, maxrss_kb, wall_s).

    cpu_s comes from os.wait4() on the process we start (/usr/bin/time, or the
    command itself): the kernel's rusage of it and its waited-for children
    (the command, gst-plugin-scanner), to the microsecond.  /usr/bin/time -f
    prints %U and %S only to 10 ms, too coarse for runs of ~0.1 s, so its
    figure is kept as a cross-check; its own cost is well under 1 ms.
    Peak RSS is /usr/bin/time's %M (the command's), else wait4's ru_maxrss.
    Dies if the command fails.
    """
    errpath = os.path.join(scratch, "stderr.txt")
    tpath = os.path.join(scratch, "time.txt")
    full = ([TIME_BIN, "-f", "%U %S %M", "-o", tpath] + argv) if use_time_bin else argv
    with open(errpath, "w") as err:
        t0 = time.monotonic()
        p = subprocess.Popen(full, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=err)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        p.returncode = rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        with open(errpath) as f:
            die("command failed (rc %d): %s\n%s" % (rc, cmdline(argv), f.read()[-2000:]))
    cpu, maxrss, tcpu = ru.ru_utime + ru.ru_stime, int(ru.ru_maxrss), None  # KiB on Linux
    if use_time_bin:
        with open(tpath) as f:
            user, sys_, rss = f.read().strip().splitlines()[-1].split()
        tcpu, maxrss = float(user) + float(sys_), int(rss)
    return cpu, tcpu, maxrss, wall


# ---------------------------------------------------------------- report

def med(xs):
    return statistics.median(xs)


def check_outputs(src: str, cmds: List[Command]) -> bool:
    print("\nOutput checks:")
    by_key = {c.key: c for c in cmds}
    ok = True
    want = probe_packets(src)
    print("  input packets: %s" % ", ".join("%s=%d" % kv for kv in sorted(want.items())))
    for c in cmds:
        if c.output is None:
            continue
        size = os.path.getsize(c.output) if os.path.exists(c.output) else 0
        try:
            got = probe_packets(c.output)
        except RuntimeError as e:
            got = {}
            print("  %s: %s" % (c.key, e))
        same = got == want
        # Only ours must match; a peer's mismatch is reported, not fatal.
        must = c.key in ("ours", "ours+queue")
        verdict = "ok" if (size > 0 and same) else ("FAIL" if must else "note")
        if must and verdict == "FAIL":
            ok = False
        if not must and size <= 0:
            verdict, ok = "FAIL", False
        print("  %-4s %-13s %12d bytes  packets: %s%s" % (
            verdict, c.key, size, ", ".join("%s=%d" % kv for kv in sorted(got.items())),
            "" if same else "  (input: %s)" % want))
    same = os.path.exists(by_key["ours"].output) and os.path.exists(by_key["ours+queue"].output) and \
        open(by_key["ours"].output, "rb").read() == open(by_key["ours+queue"].output, "rb").read()
    print("  %-4s ours without queues writes the same bytes as with queues" % ("ok" if same else "FAIL"))
    return ok and same


def tool_versions() -> List[str]:
    lines = []
    for argv in (["gst-launch-1.0", "--version"], ["ffmpeg", "-version"]):
        try:
            out = subprocess.run(argv, capture_output=True, text=True).stdout.splitlines()
            lines.append(next((l for l in out if "version" in l.lower()), "?").strip())
        except OSError:
            lines.append("%s: not found" % argv[0])
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    ap.add_argument("--workdir", default="/tmp/gst-smooth-bench",
                    help="input cache and outputs (default /tmp/gst-smooth-bench)")
    ap.add_argument("--seconds", type=int, default=60, help="input duration, >= 60 (default 60)")
    ap.add_argument("--plugin-dir", default=os.path.join(SOURCE_ROOT, "build", "gst", "ismv"),
                    help="folder holding libgstismv.so (default <source>/build/gst/ismv)")
    ap.add_argument("--with-parsers", action="store_true",
                    help="also run parsers ! ismlmux, like-for-like with ours, which has "
                         "h264parse/aacparse")
    ap.add_argument("--rss-seconds", type=int, default=120,
                    help="second input length for the peak-RSS check (ours, with and without "
                         "queues, --runs times); 0 skips it (default 120)")
    ap.add_argument("--no-time-binary", action="store_true",
                    help="measure with os.wait4() even if /usr/bin/time exists")
    args = ap.parse_args()
    if args.runs < 1:
        die("--runs must be >= 1")
    if args.seconds < 60:
        die("--seconds must be >= 60")

    for tool in ("gst-launch-1.0", "gst-inspect-1.0", "ffmpeg", "ffprobe"):
        if shutil.which(tool) is None:
            die("%s not found (apt-get install gstreamer1.0-tools ffmpeg)" % tool)
    plugin = os.path.join(args.plugin_dir, "libgstismv.so")
    if not os.path.exists(plugin):
        die("%s not found: build the project first (meson setup build && ninja -C build)" % plugin)
    use_time_bin = os.access(TIME_BIN, os.X_OK) and not args.no_time_binary

    os.makedirs(args.workdir, exist_ok=True)
    outdir = os.path.join(args.workdir, "out")
    os.makedirs(outdir, exist_ok=True)
    env = dict(os.environ)
    env["GST_PLUGIN_PATH_1_0"] = os.path.abspath(args.plugin_dir)
    # A registry of our own, filled before timing: a registry rescan (forked
    # gst-plugin-scanner) inside a timed run would be billed to that run.
    env["GST_REGISTRY_1_0"] = os.path.join(args.workdir, "registry.bin")
    env.pop("GST_DEBUG", None)
    for element in ("ismvmux", "ismlmux", "qtdemux", "x264enc", "avenc_aac"):
        # not --exists: it also wants the plugin version >= GStreamer's (ours is 0.x)
        r = subprocess.run(["gst-inspect-1.0", element], env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            die("GStreamer element %s not found%s" % (
                element, " (is %s loadable?)" % plugin if element == "ismvmux" else ""))

    print("gst-smooth remux benchmark")
    print("host: %s, %d CPUs, Python %s" % (platform.platform(), os.cpu_count() or 0,
                                             platform.python_version()))
    for v in tool_versions():
        print("tool: " + v)
    print("plugin: %s" % plugin)
    print("env: GST_PLUGIN_PATH_1_0=%s GST_REGISTRY_1_0=%s" % (
        env["GST_PLUGIN_PATH_1_0"], env["GST_REGISTRY_1_0"]))
    print("measuring with: %s" % (
        "/usr/bin/time -f '%U %S %M' (RSS) + os.wait4() rusage (CPU)" if use_time_bin
        else "os.wait4() rusage (/usr/bin/time not used)"))
    if not use_time_bin:
        # exec keeps the pre-exec high-water mark: a child spawned straight
        # from Python starts its ru_maxrss at this interpreter's RSS.
        print("  note: without /usr/bin/time, peak RSS cannot read below this Python's "
              "own RSS at spawn (~%d MiB); install Debian package `time`" % (
                  resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024))
    src = ensure_input(args.workdir, args.seconds, env)
    print("  %d bytes, %.2f s" % (os.path.getsize(src), probe_duration(src)))

    cmds = commands(src, outdir, args.with_parsers)
    print("\nCommands (run from any folder, with the env above):")
    for c in cmds:
        print("  [%s] %s" % (c.key, cmdline(c.argv)))

    with tempfile.TemporaryDirectory(prefix="bench-", dir=args.workdir) as scratch:
        # One untimed warm-up of each: page cache and shared libraries.
        print("\nwarm-up ...", flush=True)
        for c in cmds:
            c.remove_outputs()
            run_measured(c.argv, env, use_time_bin, scratch)
        for i in range(args.runs):
            line = []
            for c in cmds:
                c.remove_outputs()
                cpu, tcpu, rss, wall = run_measured(c.argv, env, use_time_bin, scratch)
                c.cpu.append(cpu)
                if tcpu is not None:
                    c.tcpu.append(tcpu)
                c.rss_kb.append(rss)
                c.wall.append(wall)
                line.append("%s %.3fs/%.1fMiB" % (c.key, cpu, rss / 1024))
            print("run %d/%d: %s" % (i + 1, args.runs, ", ".join(line)), flush=True)

    by = {c.key: c for c in cmds}
    print("\nMedians over %d runs (CPU = user+sys of the whole process, RSS = peak):" % args.runs)
    print("  %-30s %8s %10s %8s %7s   %s" % (
        "command", "CPU s", "time(1) s", "RSS MiB", "wall s", "CPU s per run"))
    for c in cmds:
        print("  %-30s %8.3f %10s %8.1f %7.3f   %s" % (
            c.label, med(c.cpu), "%.2f" % med(c.tcpu) if c.tcpu else "-",
            med(c.rss_kb) / 1024, med(c.wall), " ".join("%.3f" % x for x in c.cpu)))
    print("  (CPU s: wait4 rusage, 1 us; time(1) s: /usr/bin/time %U+%S, 10 ms steps)")

    ours = by["ours"]
    print("\nRatios of medians (< 1 means ours uses less; ours = no queues):")
    print("  %-22s %8s %8s" % ("", "CPU", "RSS"))
    for key in ("ismlmux", "ffmpeg", "demux", "ismlmux+parse", "demux+parse", "demux+parse>filesink"):
        if key not in by:
            continue
        peer = by[key]
        print("  %-22s %8.2f %8.2f" % (
            "ours / " + key, med(ours.cpu) / med(peer.cpu), med(ours.rss_kb) / med(peer.rss_kb)))
    d_cpu = med(ours.cpu) - med(by["demux"].cpu)
    d_rss = (med(ours.rss_kb) - med(by["demux"].rss_kb)) / 1024
    print("\nMuxing overhead, ours minus demux baseline (includes h264parse + aacparse):")
    print("  CPU %+.3f s (%.1f ms per input second), RSS %+.1f MiB" % (
        d_cpu, 1000 * d_cpu / args.seconds, d_rss))
    i_cpu = med(by["ismlmux"].cpu) - med(by["demux"].cpu)
    print("  (ismlmux minus demux baseline: CPU %+.3f s, RSS %+.1f MiB)" % (
        i_cpu, (med(by["ismlmux"].rss_kb) - med(by["demux"].rss_kb)) / 1024))
    if "demux+parse" in by:
        b = by["demux+parse"]
        print("  ours minus demux+parse baseline (the muxer and filesink alone): "
              "CPU %+.3f s, RSS %+.1f MiB" % (
                  med(ours.cpu) - med(b.cpu), (med(ours.rss_kb) - med(b.rss_kb)) / 1024))

    # Peak RSS at a second input length: it must not grow with the input.
    long_rss = {}
    if args.rss_seconds:
        src2 = ensure_input(args.workdir, args.rss_seconds, env)
        long_out = os.path.join(outdir, "long")
        os.makedirs(long_out, exist_ok=True)
        long_cmds = [c for c in commands(src2, long_out, False) if c.key in ("ours", "ours+queue")]
        print("peak RSS on the %d s input (%d runs each):" % (args.rss_seconds, args.runs))
        with tempfile.TemporaryDirectory(prefix="bench-", dir=args.workdir) as scratch:
            for c in long_cmds:
                rss = []
                for _ in range(args.runs):
                    c.remove_outputs()
                    rss.append(run_measured(c.argv, env, use_time_bin, scratch)[2])
                long_rss[c.key] = med(rss)
                print("  %-12s %.1f MiB (%d s input: %.1f MiB)" % (
                    c.key, long_rss[c.key] / 1024, args.seconds, med(by[c.key].rss_kb) / 1024))

    # The targets of issue 9, item 8.
    print("\nTargets:")

    def target(what: str, value: float, limit: float, unit: str = "") -> None:
        print("  %-4s %-58s %7.2f%s (target <= %.2f%s)" % (
            "ok" if value <= limit else "MISS", what, value, unit, limit, unit))

    target("CPU ours (no queues) / demux+parse (no queues)",
           med(ours.cpu) / med(by["demux+parse"].cpu), 1.15)
    target("CPU ours (no queues) / ffmpeg", med(ours.cpu) / med(by["ffmpeg"].cpu), 1.0)
    w = med(by["write"].cpu) - med(by["read"].cpu)
    print("       (writing the %.0f MB file costs %.3f s of CPU by itself (write minus read rows); "
          "ours ! fakesink / demux+parse = %.2f, ours minus that write cost / demux+parse = %.2f)" % (
              os.path.getsize(src) / 1e6, w, med(by["ours>fakesink"].cpu) / med(by["demux+parse"].cpu),
              (med(ours.cpu) - w) / med(by["demux+parse"].cpu)))
    print("       (so even a muxer that cost nothing would be at (demux+parse + write) / demux+parse = %.2f)" % (
        (med(by["demux+parse"].cpu) + w) / med(by["demux+parse"].cpu)))
    target("CPU ours (no queues) / demux+parse>filesink (like-for-like, also writes)",
           med(ours.cpu) / med(by["demux+parse>filesink"].cpu), 1.15)
    target("CPU ours+queue / demux+parse+queue",
           med(by["ours+queue"].cpu) / med(by["demux+parse+queue"].cpu), 1.5)
    for key in ("ours", "ours+queue"):
        target("peak RSS %s, %d s input" % (key, args.seconds), med(by[key].rss_kb) / 1024, 24.0, " MiB")
        if key in long_rss:
            target("peak RSS %s, %d s input" % (key, args.rss_seconds), long_rss[key] / 1024, 24.0, " MiB")
            target("peak RSS growth %s, %d s -> %d s input" % (key, args.seconds, args.rss_seconds),
                   (long_rss[key] - med(by[key].rss_kb)) / 1024, 1.0, " MiB")

    ok = check_outputs(src, cmds)
    print("\nresult: %s" % ("outputs OK" if ok else "OUTPUT CHECK FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
