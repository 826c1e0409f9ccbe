#!/usr/bin/env python3
"""Interop: `gst-smooth package -o NAME.ismv a.mp4 b.mp4 c.mp4` on the
per-bitrate MP4s two encoders make (10 s, 3 bitrates, the same AAC audio in
each file):
  - FFmpeg (libx264 + aac, `-g 48 -keyint_min 48 -sc_threshold 0`) and
    GStreamer (x264enc + avenc_aac into mp4mux);
  - exit 0; NAME.ismv, NAME.ism, NAME.ismc beside each other; the summary says
    the audio of the 2nd and 3rd input is muxed once; a progress line;
  - ffprobe reads the .ismv: 3 H.264 streams of the inputs' sizes with 240
    packets each and one AAC stream with the input's packet count (less
    FFmpeg's priming packet before the edit list, which qtdemux drops);
  - the .ismc has 3 video QualityLevels and exactly 1 audio QualityLevel;
  - through `gst-smooth serve`, every fragment URL of the Manifest answers
    200 with its fragment, and playbin (mssdemux) plays to EOS decoding every
    video and audio frame;
  - --export DIR writes the static layout (Manifest + 2 files per fragment);
  - x264 B-frames with 44.1 kHz AAC (whose probe once dead-locked), with
    --h264-fourcc AVC1 and --fragment-duration 4000;
  - inputs whose audio differs keep 2 audio QualityLevels;
  - a rendition with another GOP (-g 60): exit 3, the level left out, every
    URL of its Manifest answers 200 (also for the B-frame one);
  - encryption options reach ismvmux (piff-ctr: a Protection header in the
    .ismc; the key, read from --content-key-file, is printed nowhere);
  - a garbage input: exit 1 and no NAME.ism/.ismc/.ismv left behind.
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import media  # noqa: E402
import test_ladder  # noqa: E402
import test_origin  # noqa: E402
import test_origin_mss  # noqa: E402

NAME = "test_package"
LADDER = [(400, 320, 180), (750, 480, 270), (1000, 640, 360)]
KEY = "00112233445566778899aabbccddeeff"


def ffmpeg_input(path, kbps, w, h, gop=48, freq=440):
    media.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
               "testsrc2=size=640x360:rate=24:duration=10", "-f", "lavfi", "-i",
               "sine=frequency=%d:sample_rate=48000:duration=10" % freq, "-c:v", "libx264", "-preset", "veryfast",
               "-b:v", "%dk" % kbps, "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0", "-bf", "0",
               "-s", "%dx%d" % (w, h), "-c:a", "aac", "-b:a", "128k", "-ac", "2", path], what="ffmpeg " + path)


def ffmpeg_bframes_input(path, kbps, w, h):
    """x264's default B-frames, 25 fps, AAC at 44.1 kHz, 6 s: a layout whose
    first pass deadlocked when the probe's sinks waited for preroll."""
    media.run(["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
               "testsrc2=size=640x360:rate=25:duration=6", "-f", "lavfi", "-i",
               "sine=frequency=440:sample_rate=44100:duration=6", "-c:v", "libx264", "-preset", "veryfast",
               "-b:v", "%dk" % kbps, "-g", "50", "-keyint_min", "50", "-sc_threshold", "0", "-s", "%dx%d" % (w, h),
               "-c:a", "aac", "-b:a", "96k", path], what="ffmpeg " + path)


def gst_input(path, kbps, w, h):
    media.run(["sh", "-c", "gst-launch-1.0 -q -e " + media.RAW_VIDEO +
               "videoscale ! video/x-raw,width=%d,height=%d ! x264enc bitrate=%d key-int-max=48 bframes=0 "
               "option-string=scenecut=0:min-keyint=48 speed-preset=veryfast ! h264parse ! queue ! mux. "
               "audiotestsrc num-buffers=100 samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=2 ! audioconvert ! "
               "avenc_aac bitrate=128000 ! aacparse ! queue ! mux. mp4mux name=mux faststart=true ! filesink location=%s"
               % (w, h, kbps, path)], what="gst-launch " + path)


def package(*args):
    return media.run([test_origin.origin_binary(), "package"] + list(args), check=False, timeout=120,
                     what="gst-smooth package")


def levels(ismc):
    root = ET.parse(ismc).getroot()
    return {si.get("Type"): len(si.findall("QualityLevel")) for si in root.findall("StreamIndex")}


def audio_packets_from_zero(path):
    p = media.run(["ffprobe", "-v", "error", "-select_streams", "a:0", "-show_entries", "packet=pts", "-of", "csv=p=0",
                   path], what="ffprobe packets")
    return sum(1 for l in p.stdout.split() if l.strip() and int(l.split(",")[0]) >= 0)


def check_package(rep, root, name, inputs):
    ismv = os.path.join(root, name + ".ismv")
    exp = os.path.join(root, "export", name + ".ism")
    p = package("-o", ismv, "--export", exp, *inputs)
    rep.ok(p.returncode == 0 and all(os.path.exists(os.path.join(root, name + e)) for e in (".ismv", ".ism", ".ismc")),
           "%s: exit 0, .ismv/.ism/.ismc written" % name, "exit %d\n%s\n%s" % (p.returncode, p.stdout, p.stderr[-2000:]))
    rep.ok(p.stdout.count("muxed once") == 2 and "packaging: 100%" in p.stderr,
           "%s: summary names the 2 duplicate audio tracks; progress line" % name, p.stdout + p.stderr[-500:])
    if p.returncode != 0:
        return None
    out = media.ffprobe_streams(ismv, count_packets=True)
    ins = [media.ffprobe_streams(i, count_packets=True) for i in inputs]
    want_video = [(s["width"], s["height"]) for i in ins for s in i if s["codec_type"] == "video"]
    # FFmpeg's AAC priming packet lies wholly before the edit list's start
    # (pts -1024): qtdemux does not output it, so it is not muxed.
    want_audio = [audio_packets_from_zero(inputs[0])]
    video = [s for s in out if s["codec_type"] == "video"]
    audio = [s for s in out if s["codec_type"] == "audio"]
    rep.ok(sorted((s["width"], s["height"]) for s in video) == sorted(want_video)
           and all(s["codec_name"] == "h264" and int(s["nb_read_packets"]) == 240 for s in video)
           and len(audio) == 1 and audio[0]["codec_name"] == "aac"
           and [int(audio[0]["nb_read_packets"])] == want_audio,
           "%s: ffprobe: 3 H.264 streams %s x 240 packets, 1 AAC stream of %s packets" % (name, want_video, want_audio),
           str([(s["codec_name"], s.get("width"), s["nb_read_packets"]) for s in out]))
    rep.ok(levels(os.path.join(root, name + ".ismc")) == {"video": 3, "audio": 1},
           "%s: .ismc: 3 video QualityLevels, 1 audio" % name, str(levels(os.path.join(root, name + ".ismc"))))
    frags = [f for d in os.listdir(exp) if d.startswith("QualityLevels(") for f in os.listdir(os.path.join(exp, d))]
    rep.ok(os.path.exists(os.path.join(exp, "Manifest")) and len(frags) == 2 * 20,
           "%s: --export: Manifest and %d fragment files" % (name, len(frags)))
    return 240, want_audio[0]


def main(argv):
    rep = media.Report(NAME)
    media.require_tools("ffmpeg", "ffprobe")
    media.require_muxer("ismvmux")
    media.require_elements("x264enc", "avenc_aac", "mp4mux", "playbin", "mssdemux", "souphttpsrc", "avdec_h264",
                           "avdec_aac")
    root = media.out_dir(NAME, "root")
    src = media.out_dir(NAME, "inputs")
    ff = [os.path.join(src, "ff_%d.mp4" % k) for k, _, _ in LADDER]
    gs = [os.path.join(src, "gst_%d.mp4" % k) for k, _, _ in LADDER]
    for path, (k, w, h) in zip(ff, LADDER):
        ffmpeg_input(path, k, w, h)
    for path, (k, w, h) in zip(gs, LADDER):
        gst_input(path, k, w, h)
    played = {}
    for name, inputs in (("ff", ff), ("gst", gs)):
        rep.section("package %s-made inputs" % ("FFmpeg" if name == "ff" else "GStreamer"))
        try:
            got = check_package(rep, root, name, inputs)
            if got:
                played[name] = got
        except media.Failure as e:
            rep.fail(str(e))

    rep.section("other inputs")
    bf = [os.path.join(src, "bf_%d.mp4" % k) for k in (400, 1000)]
    ffmpeg_bframes_input(bf[0], 400, 320, 180)
    ffmpeg_bframes_input(bf[1], 1000, 640, 360)
    p = package("-o", os.path.join(root, "bf.ismv"), "--h264-fourcc", "AVC1", "--fragment-duration", "4000", *bf)
    ismc = os.path.join(root, "bf.ismc")
    text = open(ismc).read() if p.returncode == 0 else ""
    vcount = [int(s["nb_read_packets"]) for s in media.ffprobe_streams(os.path.join(root, "bf.ismv"), True)
              if s["codec_type"] == "video"] if p.returncode == 0 else []
    rep.ok(p.returncode == 0 and levels(ismc) == {"video": 2, "audio": 1} and text.count('FourCC="AVC1"') == 2
           and text.count('d="40000000"') == 1 and vcount == [150, 150],
           "B-frames, 44.1 kHz audio, --h264-fourcc AVC1 --fragment-duration 4000: 2 levels of AVC1, a 4 s "
           "fragment, 150 frames each", "exit %d %s\n%s" % (p.returncode, vcount, p.stderr[-800:]))
    other = os.path.join(src, "ff_880hz.mp4")
    ffmpeg_input(other, 500, 400, 224, freq=880)
    p = package("-o", os.path.join(root, "two.ismv"), ff[0], other)
    rep.ok(p.returncode == 0 and levels(os.path.join(root, "two.ismc")) == {"video": 2, "audio": 2},
           "different audio: both kept (2 audio QualityLevels)", p.stdout + p.stderr[-800:])
    gop60 = os.path.join(src, "ff_750_gop60.mp4")
    ffmpeg_input(gop60, 750, 480, 270, gop=60)
    p = package("-o", os.path.join(root, "mis.ismv"), ff[0], gop60, ff[2])
    rep.ok(p.returncode == 3 and "left out" in p.stderr and levels(os.path.join(root, "mis.ismc")) == {"video": 2,
                                                                                                        "audio": 1},
           "GOP 60 beside GOP 48: exit 3, that level left out", "exit %d\n%s" % (p.returncode, p.stderr[-1500:]))
    keyfile = os.path.join(src, "key.hex")
    with open(keyfile, "w") as f:
        f.write(KEY + "\n")
    p = package("-o", os.path.join(root, "enc.ismv"), "--encryption", "piff-ctr", "--key-id",
                "01020304-0506-0708-090a-aabbccddeeff", "--content-key-file", keyfile, "--la-url",
                "https://license.example/rightsmanager.asmx", *ff)
    with open(os.path.join(root, "enc.ismc")) as f:
        enc = f.read() if p.returncode == 0 else ""
    rep.ok(p.returncode == 0 and "<Protection>" in enc and KEY not in p.stdout + p.stderr,
           "--encryption piff-ctr: Protection header in the .ismc, the key printed nowhere", p.stderr[-800:])
    garbage = os.path.join(src, "garbage.mp4")
    with open(garbage, "wb") as f:
        f.write(os.urandom(4096))
    p = package("-o", os.path.join(root, "bad.ismv"), ff[0], garbage)
    rep.ok(p.returncode == 1 and not any(os.path.exists(os.path.join(root, "bad" + e))
                                         for e in (".ismv", ".ism", ".ismc", ".ismv.part")),
           "garbage input: exit 1, nothing left behind", "exit %d %s" % (p.returncode, p.stderr[-500:]))
    p = package("-o", os.path.join(root, "x.ismv"))
    rep.ok(p.returncode == 2, "no inputs: usage error, exit 2")

    def check(origin, asset):
        test_ladder.check_every_url(rep, origin, asset)
        if asset[:-len(".ism")] in played:
            v, a = played[asset[:-len(".ism")]]
            test_origin_mss.check_playbin(rep, origin, "playbin", "mssdemux0", v, a, asset)

    test_ladder.serve_and_check(rep, root, [n + ".ism" for n in sorted(played)] + ["mis.ism", "bf.ism"], check)
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
