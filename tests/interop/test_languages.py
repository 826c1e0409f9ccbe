#!/usr/bin/env python3
"""Track languages from gst-launch-1.0: ismvmux pad properties and tags.

ismvmux is a GstChildProxy over its sink pads, so gst-launch-1.0 sets a pad's
`language` as `ismvmux name=mux audio_0::language=pt-BR` (the pad is requested
later, when `... ! mux.audio_0` is linked). Four AAC tracks in one .isma:
  - audio_0::language=pt-BR  (BCP 47 with a region)   -> por
  - audio_1::language=fre    (ISO 639-2/B)            -> fra
  - audio_2 with a language-code tag "zh-Hans" (taginject; BCP 47 with a
    script, which GStreamer's own ISO 639 table does not know)  -> zho
  - audio_3::language=klingon (no language tag)       -> und, and a WARNING
    from ismvmux naming the pad and the tag.
Checked with peers and parsers we did not write: ffprobe's per-stream
language (the mdhd box), the independent box walker (boxcheck.py: mdhd
language per track), the .ismc StreamIndex Language attributes (ISO 639-2/T,
read with ElementTree) and the .ism systemLanguage.
"""

import os
import subprocess
import sys
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import boxcheck  # noqa: E402
import media  # noqa: E402

EXPECT = {"audio_0": "por", "audio_1": "fra", "audio_2": "zho", "audio_3": "und"}


def audio_branch(pad: str, tag: str = "") -> str:
    inject = " ! taginject tags=\"language-code=%s\"" % tag if tag else ""
    return ("audiotestsrc num-buffers=10 samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=2 ! "
            "audioconvert ! avenc_aac%s ! aacparse ! queue ! mux.%s " % (inject, pad))


def main() -> None:
    rep = media.Report("test_languages")
    media.require_elements("ismvmux", "taginject", "avenc_aac")
    odir = media.out_dir("languages", "pads")
    out = {k: os.path.join(odir, "lang." + k) for k in ("isma", "ism", "ismc")}
    desc = (audio_branch("audio_0") + audio_branch("audio_1") + audio_branch("audio_2", "zh-Hans")
            + audio_branch("audio_3")
            + "ismvmux name=mux audio_0::language=pt-BR audio_1::language=fre audio_3::language=klingon "
            "server-manifest=%s client-manifest=%s ! filesink location=%s" % (out["ism"], out["ismc"], out["isma"]))
    cmd = "gst-launch-1.0 -e " + desc
    print("  " + cmd)
    p = subprocess.run(["sh", "-c", cmd], capture_output=True, text=True, timeout=120)
    log = p.stdout + p.stderr
    if not rep.ok(p.returncode == 0 and os.path.getsize(out["isma"]) > 0, "gst-launch-1.0 muxes to EOS", log[-2000:]):
        rep.done()
    rep.ok("WARNING: from element /GstPipeline:pipeline0/GstIsmvMux:mux: Pad audio_3" in log and '"klingon"' in log,
           "a WARNING from ismvmux names pad audio_3 and the tag \"klingon\"", log[-2000:])
    rep.ok(log.count("WARNING: from element") == 1, "no other warning", log[-2000:])

    # Pads are numbered in request order; track IDs follow (audio_0 -> 1 ...).
    want = [EXPECT["audio_%d" % i] for i in range(4)]
    streams = media.ffprobe_streams(out["isma"])
    got = [s.get("tags", {}).get("language", "und") for s in streams]
    rep.ok(got == want, "ffprobe stream languages (mdhd) %s" % got, "expected %s" % want)
    movie = boxcheck.Movie(out["isma"])
    mdhd = [movie.tracks[t].mdhd["language"] for t in sorted(movie.tracks)]
    rep.ok(mdhd == want, "boxcheck mdhd languages %s" % mdhd, "expected %s" % want)

    root = ET.parse(out["ismc"]).getroot()
    # One StreamIndex per language, in track order; "und" gets no Language attribute.
    langs = [si.get("Language") for si in root.iter("StreamIndex") if si.get("Type") == "audio"]
    rep.ok(langs == ["por", "fra", "zho", None], ".ismc StreamIndex Language attributes %s (ISO 639-2/T)" % langs)
    ism = open(out["ism"]).read()
    rep.ok(all('systemLanguage="%s"' % l in ism for l in ("por", "fra", "zho")),
           ".ism systemLanguage por, fra, zho", ism[-1500:])
    rep.done()


if __name__ == "__main__":
    main()
