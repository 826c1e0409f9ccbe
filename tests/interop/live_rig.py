#!/usr/bin/env python3
"""The live end-to-end rig shared by the live tests, the demo's live leg and
the soak benchmark: a live GStreamer encoder (`videotestsrc is-live` →
x264enc → `ismvmux live=true` → smoothsink, with audiotestsrc → avenc_aac)
whose muxer output is also written to a file through a tee (the encoder's
own fragment list), and readers that compare that list with the archive
`gst-smooth serve --ingest` wrote.

The tee copy is the reference because it is what smoothsink was handed: a
fragment the origin archived twice, lost, or placed at another time shows as
a difference per (stream, track, time).
"""

import glob
import os
import re
import signal
import socket
import subprocess
import time
from typing import Dict, List, Optional, Tuple

import boxcheck
import media

# Closed GOPs of exactly one fragment (1 s at 30 fps) so every rendition
# and every run cuts at the same frames.
X264 = "tune=zerolatency speed-preset=ultrafast key-int-max=30 option-string=scenecut=0:min-keyint=30"
FPS = 30


def video_branch(bitrate: int, width: int, height: int, pad: str) -> str:
    return ("queue ! videoscale ! video/x-raw,width=%d,height=%d ! x264enc bitrate=%d %s ! h264parse ! %s"
            % (width, height, bitrate, X264, pad))


LADDER = [(300, 320, 180), (600, 480, 270), (1000, 640, 360)]


def sources(seconds: float, video_pads: List[str], audio_pad: Optional[str], ladder=LADDER) -> str:
    """Live sources for `seconds` (0: endless): one video tee into len(video_pads) renditions, and AAC audio."""
    frames = int(seconds * FPS)
    nb = " num-buffers=%d" % frames if frames else ""
    parts = ["videotestsrc is-live=true%s ! video/x-raw,width=640,height=360,framerate=%d/1 ! tee name=vt"
             % (nb, FPS)]
    for pad, (br, w, h) in zip(video_pads, ladder):
        parts.append("vt. ! " + video_branch(br, w, h, pad))
    if audio_pad:
        # 1024-sample buffers at 48 kHz: audio ends with the video.
        ab = " num-buffers=%d" % int(seconds * 48000 / 1024) if frames else ""
        parts.append("audiotestsrc is-live=true samplesperbuffer=1024%s ! audio/x-raw,rate=48000,channels=2 ! "
                     "audioconvert ! avenc_aac ! aacparse ! %s" % (ab, audio_pad))
    return " ".join(parts)


def mux_to_sink(name: str, url: str, copy: str, mux_props: str = "", sink_props: str = "") -> str:
    """ismvmux live=true NAME ! tee ! smoothsink URL, and the same bytes to the file `copy`."""
    return ("ismvmux name=%s live=true fragment-duration=1000000000 %s ! tee name=%s_t "
            "%s_t. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! smoothsink name=%s_sink "
            "location='%s' %s "
            "%s_t. ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 ! filesink location=%s"
            % (name, mux_props, name, name, name, url, sink_props, name, copy))


class Encoder:
    """gst-launch-1.0 -e -m running a pipeline description; element messages
    (smoothsink-stats) are collected from its stdout."""

    def __init__(self, description: str, log_path: str, env_extra: Optional[dict] = None):
        env = dict(os.environ)
        env.update(env_extra or {})
        self.description = description
        self.out = open(log_path, "w+", errors="replace")
        self.proc = subprocess.Popen("exec gst-launch-1.0 -e -m " + description, shell=True, stdout=self.out,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        self.log_path = log_path

    def wait(self, timeout: float) -> int:
        """Waits for the end (bounded); SIGINT (EOS) then SIGKILL when it does not come."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGINT)
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
                return -9

    def stop(self, timeout: float = 20) -> int:
        """SIGINT: gst-launch-1.0 -e sends EOS, so smoothsink finishes its POST."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        return self.wait(timeout)

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def output(self) -> str:
        self.out.flush()
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stats(self) -> Dict[str, Dict[str, str]]:
        """The last smoothsink-stats message per sink: {sink name: {field: value}}."""
        last = {}
        for line in self.output().splitlines():
            m = re.search(r"from element \"([^\"]+)\" \(element\): smoothsink-stats, (.*)", line)
            if m:
                fields = dict(re.findall(r"([\w-]+)=\(\w+\)(\"(?:[^\"\\]|\\.)*\"|[^,;]*)", m.group(2)))
                fields = {k: v.strip('"') for k, v in fields.items()}
                last[m.group(1)] = fields
        return last


# ------------------------------------------------------------ fragment lists

Fragment = Tuple[int, int, int]  # (track_id, time, duration)


def fragment_list(path: str) -> Tuple[Dict[int, str], List[Fragment], Dict[Tuple[int, int], int]]:
    """(track kinds, [(track, tfxd time, duration)] in file order, samples per (track, time))."""
    mv = boxcheck.Movie(path)
    kinds = {tid: t.kind for tid, t in mv.tracks.items()}
    frags, samples = [], {}
    for fr in mv.fragments:
        t = fr.tfxd["time"] if fr.tfxd is not None else fr.tfdt
        d = fr.tfxd["duration"] if fr.tfxd is not None else fr.duration
        frags.append((fr.track_id, t, d))
        samples[(fr.track_id, t)] = len(fr.samples)
    return kinds, frags, samples


def archive_file(root: str, point: str, stream: str) -> str:
    """Where the origin archives Streams(stream) of ROOT/point.isml (live-serving.md, Archive)."""
    return os.path.join(root, point, re.sub(r"[^A-Za-z0-9.-]", lambda m: "_%02X" % ord(m.group(0)), stream)
                        + ".ismv")


def compare(encoder_copy: str, archived: str) -> List[str]:
    """Problems: fragments the encoder made that the archive lacks or holds more than once, extra ones,
    and per track a timeline that is not continuous."""
    _, enc, _ = fragment_list(encoder_copy)
    _, arc, _ = fragment_list(archived)
    problems = []
    want, have = {}, {}
    for f in enc:
        want[f] = want.get(f, 0) + 1
    for f in arc:
        have[f] = have.get(f, 0) + 1
    missing = sorted(f for f in want if f not in have)
    twice = sorted(f for f, n in have.items() if n > 1)
    extra = sorted(f for f in have if f not in want)
    if missing:
        problems.append("%d fragments missing from the archive, first %s" % (len(missing), missing[:4]))
    if twice:
        problems.append("%d fragments archived more than once, first %s" % (len(twice), twice[:4]))
    if extra:
        problems.append("%d archived fragments the encoder did not make, first %s" % (len(extra), extra[:4]))
    problems += continuity(arc)
    return problems


def continuity(frags: List[Fragment]) -> List[str]:
    """Per track, each fragment starts where the previous one ended."""
    by_track = {}
    for tid, t, d in frags:
        by_track.setdefault(tid, []).append((t, d))
    out = []
    for tid, lst in sorted(by_track.items()):
        lst.sort()
        gaps = [(a[0] + a[1], b[0]) for a, b in zip(lst, lst[1:]) if a[0] + a[1] != b[0]]
        if gaps:
            out.append("track %d: %d discontinuities (end, next start) first %s" % (tid, len(gaps), gaps[:3]))
    return out


def wait_file(path: str, timeout: float) -> bool:
    end = time.time() + timeout
    while time.time() < end:
        if os.path.exists(path):
            return True
        time.sleep(0.1)
    return False


def free_port() -> int:
    """A loopback port free now: the server keeps it across kill -9 + restart."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def arm_fault(px, fault: str, stall: float = 4.0) -> bool:
    """Arms a reset or a stall of `stall` s 8 KB ahead on the open long POST through the
    fault_proxy `px` (the open connection that carried the most bytes), so it hits inside the
    next chunk; False when none is open."""
    with px.lock:
        open_ = [c for c in px.connections if not c.closed and not c.fault]
    if not open_:
        return False
    c = max(open_, key=lambda c: c.up)
    if fault == "reset":
        c.plan["reset_after"] = c.up + 8192
    else:
        c.plan["stall"] = stall
        c.plan["stall_after"] = c.up + 8192
    return True


def rss_kib(pid: int) -> Optional[int]:
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def archives(root: str, point: str) -> List[str]:
    return sorted(glob.glob(os.path.join(root, point, "*.ismv")))


def live_origin(test: str, case: str, extra=()):
    """A fresh root under the test's output folder and `gst-smooth serve --ingest --lookahead 2` on it:
    (root, origin). The points are under live/."""
    import test_origin  # the Origin process wrapper of the VOD origin tests
    root = media.out_dir(test, case)
    os.makedirs(os.path.join(root, "live"))
    return root, test_origin.Origin(root, ["--ingest", "--lookahead", "2"] + list(extra))


def require_live_elements():
    media.require_tools("gst-launch-1.0")
    media.require_elements("ismvmux", "smoothsink", "x264enc", "avenc_aac", "mssdemux", "avdec_h264")
