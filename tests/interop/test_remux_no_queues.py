#!/usr/bin/env python3
"""ismvmux fed straight from qtdemux, without queues.

qtdemux pushes every track from its one streaming thread. A muxer that makes
that thread wait on one pad until another pad has data deadlocks (ismvmux did,
when it held one buffer per pad as GstAggregator does by default). Here the
queue-less remux

  filesrc ! qtdemux ! h264parse/aacparse ! ismvmux ! filesink

must finish within a bounded time (in pull mode from filesrc, and in push
mode from a pipe through fdsrc, where qtdemux follows the file's own
interleaving), for a single-bitrate A/V file, one with B-frames and a
3-bitrate ladder (four pads on one thread), and its output (.ismv, .ism and
.ismc) must be byte-identical to what the same muxer writes with a queue on
every branch. ffprobe must read every packet of the input from it.
"""

from __future__ import annotations

import filecmp
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import media  # noqa: E402

TIMEOUT = 60  # seconds; a 10 s input remuxes in well under 1 s


def pipeline(src: list, mp4: str, odir: str, name: str, queues: bool) -> tuple:
    # The same file names in one folder per run: the .ism names the .ismc.
    os.makedirs(os.path.join(odir, name), exist_ok=True)
    outs = {k: os.path.join(odir, name, "out." + k) for k in ("ismv", "ism", "ismc")}
    args = ["gst-launch-1.0", "-q", "-e"] + src + ["!", "qtdemux", "name=d"]
    for t in media.track_pads(media.ffprobe_streams(mp4)):
        parser = "h264parse" if t["kind"] == "video" else "aacparse"
        args += ["d." + t["pad"], "!"] + (["queue", "!"] if queues else []) + [parser, "!", "mux." + t["pad"]]
    args += ["ismvmux", "name=mux", "server-manifest=" + outs["ism"], "client-manifest=" + outs["ismc"],
             "media-file-name=media.ismv", "!", "filesink", "location=" + outs["ismv"]]
    return args, outs


def run_pipeline(args: list, stdin_path: str = "") -> str:
    """"" when the pipeline ran to EOS, else what went wrong."""
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    try:
        p = subprocess.run(args, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           errors="replace", timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        return "no EOS within %d s (deadlock): %s" % (TIMEOUT, " ".join(args))
    finally:
        if stdin_path:
            stdin.close()
    if p.returncode != 0 or "ERROR" in p.stderr:
        return "exit %d: %s\n%s" % (p.returncode, " ".join(args), p.stderr[-2000:])
    return ""


def check(rep: media.Report, case: str, mode: str) -> None:
    rep.section("%s, qtdemux in %s mode" % (case, mode))
    mp4 = media.ensure_media(case)
    odir = media.out_dir("remux_no_queues", "%s-%s" % (case, mode))
    src = ["filesrc", "location=" + mp4] if mode == "pull" else ["fdsrc", "fd=0"]
    stdin = "" if mode == "pull" else mp4
    ref_args, ref = pipeline(src, mp4, odir, "queued", True)
    err = run_pipeline(ref_args, stdin)
    if not rep.ok(err == "", "with queues: muxes to EOS", err):
        return
    args, out = pipeline(src, mp4, odir, "direct", False)
    err = run_pipeline(args, stdin)
    if not rep.ok(err == "", "without queues: muxes to EOS within %d s" % TIMEOUT, err):
        return
    for k in ("ismv", "ism", "ismc"):
        rep.ok(filecmp.cmp(ref[k], out[k], shallow=False),
               "the .%s is byte-identical to the queued pipeline's (%d bytes)" % (k, os.path.getsize(out[k])),
               "%s differs from %s" % (out[k], ref[k]))
    want = {s["index"]: int(s.get("nb_read_packets", 0)) for s in media.ffprobe_streams(mp4, count_packets=True)}
    got = {s["index"]: int(s.get("nb_read_packets", 0)) for s in media.ffprobe_streams(out["ismv"], count_packets=True)}
    rep.ok(sorted(got.values()) == sorted(want.values()), "ffprobe reads every input packet",
           "input %s, output %s" % (want, got))


def main() -> None:
    media.require_tools("ffprobe", "gst-launch-1.0")
    media.require_elements("ismvmux", "qtdemux", "h264parse", "aacparse", "fdsrc")
    rep = media.Report("test_remux_no_queues")
    for case in ("av", "bframes", "ladder"):
        check(rep, case, "pull")
    check(rep, "av", "push")
    rep.done()


if __name__ == "__main__":
    main()
