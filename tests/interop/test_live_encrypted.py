#!/usr/bin/env python3
"""Interop, encrypted live: `ismvmux live=true encryption=piff-ctr` (key-id,
content-key, la-url; docs/encryption.md) → smoothsink → `gst-smooth serve
--ingest`, 8 s of video + AAC. Checks: the running manifest's
ProtectionHeader (PlayReady SystemID) is the base64 of the PlayReady Object
in the moov's PIFF pssh; GStreamer's mssdemux (`souphttpsrc ! mssdemux !
qtdemux`, fakesinks paced at real time, with the test PlayReady
"Decryptor" factory of stub_decryptor.cc so mssdemux links) started on the
live manifest outputs application/x-cenc buffers, a protection event
carrying our PlayReady Object, and per buffer a GstProtectionMeta whose
IV and subsamples are, in order, those the archived fragments' senc boxes
hold (a run of consecutive samples: the span it played).
"""

import base64
import os
import sys
import time
import xml.etree.ElementTree as ET

sys.dont_write_bytecode = True  # keep the source tree clean of __pycache__

import boxcheck
import live_rig as rig
import media
import piffcrypt
import test_encryption as te
import test_origin as to

SECONDS = 8


def is_run_of(got, want):
    """got is a run of consecutive entries of want (and not empty), possibly
    followed by a second run from want's start: mssdemux 1.22 starts again at
    the window's start when the live manifest turns on-demand at the end."""
    if not got:
        return False
    for i in range(len(want)):
        n = min(len(got), len(want) - i)
        if want[i:i + n] == got[:n]:
            rest = got[n:]
            return not rest or (rest == want[:len(rest)] and i + n == len(want))
    return False


def main(argv):
    rig.require_live_elements()
    media.require_elements("qtdemux", "souphttpsrc")
    rep = media.Report("test_live_encrypted")
    root, origin = rig.live_origin("test_live_encrypted", "piff-ctr")
    point = "live/ch"
    copy = os.path.join(root, "enc.ismv")
    enc_props = " ".join("%s=%s" % (k, "'%s'" % v if "&" in v else v) for k, v in te.enc_props("piff-ctr").items())
    desc = (rig.sources(SECONDS, ["m.video_0"], "m.audio_0") + " "
            + rig.mux_to_sink("m", "%s%s.isml/Streams(ch)" % (origin.url, point), copy, mux_props=enc_props,
                              sink_props="add-mfra=true"))
    enc = rig.Encoder(desc, os.path.join(root, "encoder.log"))
    try:
        live_manifest = None
        t0 = time.time()
        while time.time() - t0 < SECONDS and live_manifest is None:
            st, _, body = to.request(origin, "GET", "/%s.isml/Manifest" % point)
            if st == 200 and body.count(b"<c ") >= 2:
                live_manifest = body
            time.sleep(0.2)
        if not rep.ok(live_manifest is not None, "the running manifest lists fragments", enc.output()[-1500:]):
            rep.done()
        url = "%s%s.isml/Manifest" % (origin.url, point)
        pipeline = ("souphttpsrc location=%s ! mssdemux name=d "
                    "d.video_00 ! queue ! qtdemux ! queue ! fakesink name=sink_v sync=true "
                    "d.audio_00 ! queue ! qtdemux ! queue ! fakesink name=sink_a sync=true" % url)
        print("  running: protection_probe '%s'" % pipeline)
        # mssdemux 1.22 does not end a live stream whose manifest turns
        # on-demand (it starts again at the window's start): stopped after the
        # event plus a margin.
        rc, lines, err = te.probe(pipeline, timeout=90, stub_decryptor=True, run_seconds=SECONDS + 8)
        rc_enc = enc.wait(SECONDS + 30)
    finally:
        enc.kill()
    rep.ok(rc_enc == 0, "the encrypted live encoder ended cleanly", enc.output()[-1500:])
    if rc != 0 and "parser->moof == NULL" in err:
        # At the stop the last fragments are served without a tfrf; mssdemux
        # 1.22 fails to parse one and aborts on the next (test_live_edge_tfrf,
        # an expected failure). The buffers it gave before are checked below.
        rep.note("KNOWN DEFECT (test_live_edge_tfrf): mssdemux aborted (g_assert parser->moof == NULL) at the "
                 "end of the event, exit %d" % rc)
    else:
        rep.ok(rc in (0, 3), "mssdemux + qtdemux on the live point ran without an error (exit %d: %s)"
               % (rc, "EOS" if rc == 0 else "stopped after the event" if rc == 3 else "error"), err[-1500:])
    movie = boxcheck.Movie(copy)
    pssh = piffcrypt.piff_pssh(movie)
    pro = pssh[0]["data"] if pssh else None
    root_el = ET.fromstring(live_manifest)
    headers = root_el.findall("Protection/ProtectionHeader")
    rep.ok(root_el.get("IsLive", "").upper() == "TRUE" and len(headers) == 1
           and headers[0].get("SystemID", "").strip("{}").lower() == te.PR_SYSTEM
           and base64.b64decode("".join((headers[0].text or "").split())) == pro,
           "the live manifest's ProtectionHeader is the PlayReady SystemID with base64 of the moov's PRO")
    archive = boxcheck.Movie(rig.archive_file(root, point, "ch"))
    vt, at = te.track_ids(archive)
    for sink, tid in (("sink_v", vt), ("sink_a", at)):
        caps = [l["caps"] for l in lines if l.get("sink") == sink and l["type"] == "caps"]
        rep.ok(caps and caps[0].startswith("application/x-cenc") and te.PR_SYSTEM in caps[0],
               "%s: application/x-cenc caps with the PlayReady protection-system" % sink, str(caps[:1])[:300])
        ev = [l for l in lines if l.get("sink") == sink and l["type"] == "protection"]
        rep.ok(any(e["system_id"] == te.PR_SYSTEM and te.event_pro(e["data"]) == pro for e in ev),
               "%s: a protection event carrying our PlayReady Object" % sink)
        got = [(m["iv"], m["subsample_count"], m["subsamples"]) if m else None for m in te.meta_list(lines, sink)]
        want = te.expected_meta(archive, tid, 8)
        rep.ok(is_run_of(got, want), "%s: the GstProtectionMeta of all %d buffers are, in order, the IVs and "
               "subsamples of the archive's senc boxes (%d samples archived)" % (sink, len(got), len(want)),
               "first got %s" % got[:2])
    origin.kill()
    rep.done()


if __name__ == "__main__":
    main(sys.argv)
