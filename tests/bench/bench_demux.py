#!/usr/bin/env python3
"""Benchmark: ismdemux against qtdemux on the same Smooth Streaming files.

Not part of the test suite.  Two measurements, each printing its commands,
its figures and its ratios:

1. Parse CPU, on two files, demuxed to fakesink (both tracks, sync=false):
     ours   filesrc ! ismdemux ! queue ! fakesink (x2)
     peer   filesrc ! qtdemux  ! queue ! fakesink (x2)
     idle   fakesrc num-buffers=1 ! fakesink (start-up: process, registry,
            plugin loading; paid by both)
   1a: the 2-hour file of part 2 (160x90 video + 32 kbit/s AAC, 510 000
       small samples): demuxing dominates.
   1b: 120 s of 1280x720@30 3 Mbit/s H.264 + AAC muxed by ismvmux (47 MB in
       9 000 samples): reading the file and the per-buffer cost downstream
       weigh on both; process start-up is about a third of ours.
   The target (ours/peer <= 0.5, whole process) is judged on both files.
   --runs times each, round-robin.  CPU = user + sys of the whole process
   from os.wait4().  Prints medians, ours/peer and the same ratio with the
   start-up cost taken off both.

2. Seek latency.  A 2-hour file (a 60 s 160x90 ultrafast encode looped 120
   times by `ffmpeg -stream_loop 119 -c copy -f ismv`, about 1.5 minutes to
   build once, cached) is opened by a small C program (compiled here from the
   source embedded below with cc + pkg-config) that prerolls, then does 100
   flushing seeks to random positions (fixed seed) and times each from the
   seek call to the end of the new preroll (gst_element_get_state).  Accurate
   and key-unit seeks, for ismdemux and qtdemux.  Prints median and p99
   (target p99 <= 5 ms for ismdemux), and the time to the first preroll
   (ismdemux builds its fragment index then).

Usage: python3 tests/bench/bench_demux.py [--runs 5] [--seeks 100]
         [--workdir /tmp/gst-smooth-bench] [--plugin-dir build/gst/ismv]
Python 3.11 standard library only; needs gst-launch-1.0, x264enc,
avenc_aac, ffmpeg, cc and the GStreamer development files.
"""

from __future__ import annotations

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
sys.dont_write_bytecode = True  # no __pycache__ in the source tree
import peers  # noqa: E402  (tests/bench, beside this script)

SEEK_TOOL_C = r"""
/* Seek latency probe: prerolls FILE through DEMUXER into fakesinks, then
 * times N flushing seeks to random positions (seeded) until the pipeline
 * has prerolled again. Prints "startup_us N" then one "seek_us N" per seek. */
#include <gst/gst.h>
#include <stdlib.h>

static GstElement *pipeline;

static void pad_added (GstElement *d, GstPad *pad, gpointer u) {
  GstElement *q = gst_element_factory_make ("queue", NULL);
  GstElement *s = gst_element_factory_make ("fakesink", NULL);
  g_object_set (s, "sync", FALSE, NULL);
  gst_bin_add_many (GST_BIN (pipeline), q, s, NULL);
  gst_element_link (q, s);
  gst_element_sync_state_with_parent (s);
  gst_element_sync_state_with_parent (q);
  GstPad *sp = gst_element_get_static_pad (q, "sink");
  gst_pad_link (pad, sp);
  gst_object_unref (sp);
}

static void no_more_pads (GstElement *d, gpointer u) { *(gboolean *) u = TRUE; }

int main (int argc, char **argv) {
  gst_init (&argc, &argv);
  if (argc < 6) { g_printerr ("usage: FILE DEMUXER N SEED accurate|key\n"); return 2; }
  int n = atoi (argv[3]);
  srand (atoi (argv[4]));
  gboolean key = g_str_equal (argv[5], "key");
  pipeline = gst_pipeline_new (NULL);
  GstElement *src = gst_element_factory_make ("filesrc", NULL);
  GstElement *demux = gst_element_factory_make (argv[2], NULL);
  if (!demux) { g_printerr ("no element %s\n", argv[2]); return 2; }
  g_object_set (src, "location", argv[1], NULL);
  gst_bin_add_many (GST_BIN (pipeline), src, demux, NULL);
  gst_element_link (src, demux);
  volatile gboolean done = FALSE;
  g_signal_connect (demux, "pad-added", G_CALLBACK (pad_added), NULL);
  g_signal_connect (demux, "no-more-pads", G_CALLBACK (no_more_pads), (gpointer) &done);
  gint64 t0 = g_get_monotonic_time ();
  gst_element_set_state (pipeline, GST_STATE_PAUSED);
  while (!done) g_usleep (100);
  if (gst_element_get_state (pipeline, NULL, NULL, 60 * GST_SECOND) != GST_STATE_CHANGE_SUCCESS) {
    g_printerr ("no preroll\n"); return 1;
  }
  g_print ("startup_us %" G_GINT64_FORMAT "\n", g_get_monotonic_time () - t0);
  gint64 dur = 0;
  if (!gst_element_query_duration (pipeline, GST_FORMAT_TIME, &dur) || dur <= 0) { g_printerr ("no duration\n"); return 1; }
  GstSeekFlags flags = GST_SEEK_FLAG_FLUSH | (key ? GST_SEEK_FLAG_KEY_UNIT | GST_SEEK_FLAG_SNAP_BEFORE : GST_SEEK_FLAG_ACCURATE);
  for (int i = 0; i < n; i++) {
    gint64 pos = (gint64) ((double) rand () / RAND_MAX * (double) (dur - GST_SECOND));
    gint64 a = g_get_monotonic_time ();
    if (!gst_element_seek_simple (pipeline, GST_FORMAT_TIME, flags, pos)) { g_printerr ("seek failed\n"); return 1; }
    if (gst_element_get_state (pipeline, NULL, NULL, 30 * GST_SECOND) != GST_STATE_CHANGE_SUCCESS) { g_printerr ("no preroll after seek\n"); return 1; }
    g_print ("seek_us %" G_GINT64_FORMAT "\n", g_get_monotonic_time () - a);
  }
  gst_element_set_state (pipeline, GST_STATE_NULL);
  gst_object_unref (pipeline);
  return 0;
}
"""


def die(msg: str, code: int = 2) -> None:
    print("bench_demux: " + msg, file=sys.stderr)
    sys.exit(code)


def show(argv) -> str:
    return shlex.join(argv)


def run_checked(argv, env, what, timeout=1800):
    print("  $ " + show(argv))
    sys.stdout.flush()
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout)
    if p.returncode != 0:
        die("%s failed (exit %d):\n%s" % (what, p.returncode, p.stderr[-3000:]))
    return p


def cpu_of(argv, env) -> float:
    """user + sys seconds of one run of argv (os.wait4 rusage)."""
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0 or "ERROR" in err:
        die("command failed: %s\n%s" % (show(argv), err[-2000:]))
    return ru.ru_utime + ru.ru_stime


def make_env(args) -> dict:
    env = dict(os.environ)
    env["GST_PLUGIN_PATH_1_0"] = args.plugin_dir
    env["GST_REGISTRY_1_0"] = os.path.join(args.workdir, "registry.bin")
    return env


# ---------------------------------------------------------------- inputs

def parse_input(args, env) -> str:
    mp4 = os.path.join(args.workdir, "demux_in_1280x720_30fps_120s_gop60_x264ultrafast_3000k_aac.mp4")
    ismv = mp4[:-4] + ".ismv"
    if not os.path.exists(mp4):
        print("generating the parse input (about 30 s):")
        run_checked([
            "gst-launch-1.0", "-q", "-e",
            "videotestsrc", "num-buffers=3600", "pattern=smpte", "horizontal-speed=4", "!",
            "video/x-raw,width=1280,height=720,framerate=30/1,format=I420", "!", "timeoverlay", "!",
            "x264enc", "speed-preset=ultrafast", "bitrate=3000", "key-int-max=60",
            "option-string=scenecut=0:min-keyint=60", "!", "h264parse", "!", "queue", "!", "mux.",
            "audiotestsrc", "num-buffers=1200", "samplesperbuffer=4800", "!", "audio/x-raw,rate=48000,channels=2",
            "!", "audioconvert", "!", "avenc_aac", "!", "aacparse", "!", "queue", "!", "mux.",
            "mp4mux", "name=mux", "!", "filesink", "location=" + mp4 + ".tmp"], env, "input generation")
        os.replace(mp4 + ".tmp", mp4)
    if not os.path.exists(ismv):
        run_checked([
            "gst-launch-1.0", "-q", "-e", "filesrc", "location=" + mp4, "!", "qtdemux", "name=d",
            "d.video_0", "!", "queue", "max-size-time=0", "max-size-buffers=0", "max-size-bytes=0", "!", "h264parse",
            "!", "mux.video_0", "d.audio_0", "!", "queue", "max-size-time=0", "max-size-buffers=0",
            "max-size-bytes=0", "!", "aacparse", "!", "mux.audio_0",
            "ismvmux", "name=mux", "!", "filesink", "location=" + ismv + ".tmp"], env, "ismvmux")
        os.replace(ismv + ".tmp", ismv)
    return ismv


def long_input(args, env) -> str:
    base = os.path.join(args.workdir, "seek_base_160x90_24fps_60s_gop48.mp4")
    long = os.path.join(args.workdir, "seek_2h_160x90.ismv")
    if not os.path.exists(base):
        print("generating the 60 s base clip:")
        run_checked([
            "gst-launch-1.0", "-q", "-e", "videotestsrc", "num-buffers=1440", "!",
            "video/x-raw,width=160,height=90,framerate=24/1", "!", "timeoverlay", "!",
            "x264enc", "speed-preset=ultrafast", "bitrate=100", "key-int-max=48",
            "option-string=scenecut=0:min-keyint=48", "!", "h264parse", "!", "queue", "!", "mux.",
            "audiotestsrc", "num-buffers=600", "samplesperbuffer=4800", "!", "audio/x-raw,rate=48000,channels=2",
            "!", "audioconvert", "!", "avenc_aac", "bitrate=32000", "!", "aacparse", "!", "queue", "!", "mux.",
            "mp4mux", "name=mux", "!", "filesink", "location=" + base + ".tmp"], env, "base clip")
        os.replace(base + ".tmp", base)
    if not os.path.exists(long):
        print("building the 2-hour file by looping the clip 120 times:")
        run_checked(["ffmpeg", "-nostdin", "-v", "error", "-y", "-stream_loop", "119", "-i", base, "-map", "0",
                     "-c", "copy", "-f", "ismv", long + ".tmp"], env, "ffmpeg -stream_loop")
        os.replace(long + ".tmp", long)
    return long


def seek_tool(args) -> str:
    exe = os.path.join(args.workdir, "seek_latency")
    src = exe + ".c"
    stale = not os.path.exists(exe) or not os.path.exists(src) or open(src).read() != SEEK_TOOL_C
    if stale:
        with open(src, "w") as f:
            f.write(SEEK_TOOL_C)
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "gstreamer-1.0"], stdout=subprocess.PIPE,
                               text=True, check=True).stdout.split()
        argv = ["cc", "-O2", "-o", exe, src] + flags
        print("  $ " + show(argv))
        subprocess.run(argv, check=True)
    return exe


# ---------------------------------------------------------------- measurements

def bench_parse(args, env, ismv, label) -> float:
    size = os.path.getsize(ismv)
    q = ["queue", "max-size-time=0", "max-size-buffers=0", "max-size-bytes=0"]

    def demux(name):
        return (["gst-launch-1.0", "-q", "filesrc", "location=" + ismv, "!", name, "name=d", "d.video_0", "!"] + q
                + ["!", "fakesink", "sync=false", "d.audio_0", "!"] + q + ["!", "fakesink", "sync=false"])
    cmds = {
        "ours": demux("ismdemux"),
        "peer": demux("qtdemux"),
        "idle": ["gst-launch-1.0", "-q", "fakesrc", "num-buffers=1", "!", "fakesink"],
    }
    print("\n== 1%s. parse CPU, %s: %s (%.1f MB)" % (label[0], label[1:], os.path.basename(ismv), size / 1e6))
    for k, v in cmds.items():
        print("  %-5s %s" % (k, show(v)))
    subprocess.run(cmds["idle"], env=env)  # fills the registry, untimed
    for v in cmds.values():
        cpu_of(v, env)  # warm-up
    res = {k: [] for k in cmds}
    for _ in range(args.runs):
        for k, v in cmds.items():
            res[k].append(cpu_of(v, env))
    med = {k: statistics.median(v) for k, v in res.items()}
    print("\n  %-5s %10s   runs (CPU s)" % ("", "median s"))
    for k in cmds:
        print("  %-5s %10.4f   %s" % (k, med[k], " ".join("%.4f" % x for x in res[k])))
    ratio = med["ours"] / med["peer"]
    net = (med["ours"] - med["idle"]) / max(med["peer"] - med["idle"], 1e-9)
    print("\n  ours/peer CPU (whole process): %.3f   (target <= 0.5)" % ratio)
    print("  ours/peer CPU minus start-up:  %.3f   (start-up = idle row, %.4f s)" % (net, med["idle"]))
    return ratio


def pct(values, p):
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


def bench_seek(args, env) -> float:
    long = long_input(args, env)
    tool = seek_tool(args)
    print("\n== 2. seek latency: %s (%.1f MB, 2 h), %d random flushing seeks (seed 1)"
          % (os.path.basename(long), os.path.getsize(long) / 1e6, args.seeks))
    worst_p99 = 0.0
    rows = []
    for demuxer in ("ismdemux", "qtdemux"):
        for mode in ("accurate", "key"):
            argv = [tool, long, demuxer, str(args.seeks), "1", mode]
            p = run_checked(argv, env, "seek probe", timeout=3600)
            startup = [int(l.split()[1]) for l in p.stdout.splitlines() if l.startswith("startup_us")]
            seeks = [int(l.split()[1]) / 1000.0 for l in p.stdout.splitlines() if l.startswith("seek_us")]
            if len(seeks) != args.seeks:
                die("expected %d seeks, got %d" % (args.seeks, len(seeks)))
            med, p99 = statistics.median(seeks), pct(seeks, 99)
            rows.append((demuxer, mode, startup[0] / 1000.0, med, p99, max(seeks)))
            if demuxer == "ismdemux":
                worst_p99 = max(worst_p99, p99)
    print("\n  %-9s %-9s %12s %10s %10s %10s" % ("demuxer", "seek", "preroll ms", "median ms", "p99 ms", "max ms"))
    for r in rows:
        print("  %-9s %-9s %12.1f %10.3f %10.3f %10.3f" % r)
    q = {(r[0], r[1]): r for r in rows}
    for mode in ("accurate", "key"):
        print("  ismdemux/qtdemux median %s: %.3f" % (mode, q[("ismdemux", mode)][3] / q[("qtdemux", mode)][3]))
    print("  ismdemux p99 (worst mode): %.3f ms   (target <= 5 ms)" % worst_p99)
    return worst_p99


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seeks", type=int, default=100)
    ap.add_argument("--workdir", default="/tmp/gst-smooth-bench")
    ap.add_argument("--plugin-dir", default=os.path.join(SOURCE_ROOT, "build", "gst", "ismv"))
    ap.add_argument("--only", choices=["parse", "seek"], help="run one of the two measurements")
    args = ap.parse_args()
    args.plugin_dir = os.path.abspath(args.plugin_dir)
    os.makedirs(args.workdir, exist_ok=True)
    peers.ensure("gst-launch-1.0", "ffmpeg", "cc", "pkg-config")
    if not os.path.exists(os.path.join(args.plugin_dir, "libgstismv.so")):
        die("plugin not built: %s/libgstismv.so (use --plugin-dir)" % args.plugin_dir)
    env = make_env(args)
    print("bench_demux: plugin %s, workdir %s, %s" % (args.plugin_dir, args.workdir, time.strftime("%Y-%m-%d %H:%M")))
    ok = True
    if args.only in (None, "parse"):
        # Demux-bound: 510 000 small samples.
        ok &= bench_parse(args, env, long_input(args, env), "a 2 h of 160x90 video + AAC (many small samples)") <= 0.5
        # Reading 47 MB and start-up weigh more here: the closer of the two.
        ok &= bench_parse(args, env, parse_input(args, env),
                          "b 120 s of 720p 3 Mbit/s video + AAC (large samples)") <= 0.5
    if args.only in (None, "seek"):
        ok &= bench_seek(args, env) <= 5.0
    print("\nbench_demux: targets %s" % ("met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
