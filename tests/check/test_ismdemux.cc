// gst-check tests of ismdemux and the video/x-ms-ismv typefinder: caps,
// timestamps and flags, fragment time precedence, multi-traf moofs, seeks
// (accurate, key-unit snap before/after/nearest; on synthetic files and on a
// real x264 encode decoded with avdec_h264 against qtdemux), queries, push
// mode streaming, unsupported tracks, and bad input (error or warning, never
// a crash or a hang). Encrypted tracks are tested in
// test_ismdemux_encryption.cc; the synthetic files and the Run harness are
// in demux_harness.h.
// The C++ and core headers come first: gst-check defines a `fail` macro that
// would clash with std::ios::fail().
#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fragment.h"
#include "movie.h"

#include "demux_harness.h"

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/base/gsttypefindhelper.h>
#include <gst/check/gstcheck.h>

namespace {

GstClockTime Ns(uint64_t ticks, uint32_t ts) { return gst_util_uint64_scale(ticks, GST_SECOND, ts); }

// Stream time of a buffer on its pad's (last) segment.
GstClockTime StreamTime(const PadLog& log, GstClockTime pts) {
  fail_unless(!log.segments.empty());
  // _full: buffers before the segment start (decoded, then clipped) count too.
  guint64 t = 0;
  int sign = gst_segment_to_stream_time_full(&log.segments.back(), GST_FORMAT_TIME, pts, &t);
  fail_unless(sign > 0, "buffer at negative stream time");
  return t;
}

bool HasWarning(const Run& r, const char* needle) {
  for (auto& w : r.warnings)
    if (w.find(needle) != std::string::npos) return true;
  return false;
}

}  // namespace

GST_START_TEST(test_metadata) {
  GstElementFactory* f = gst_element_factory_find("ismdemux");
  fail_unless(f != nullptr);
  fail_unless_equals_int(gst_plugin_feature_get_rank(GST_PLUGIN_FEATURE(f)), GST_RANK_PRIMARY);
  fail_unless_equals_string(gst_element_factory_get_metadata(f, GST_ELEMENT_METADATA_KLASS), "Codec/Demuxer");
  gst_object_unref(f);
  // The typefinder must be tried before GStreamer's quicktime one.
  GstPluginFeature* ours = gst_registry_lookup_feature(gst_registry_get(), "video/x-ms-ismv");
  GstPluginFeature* qt = gst_registry_lookup_feature(gst_registry_get(), "video/quicktime");
  fail_unless(ours != nullptr);
  if (qt) {
    fail_unless(gst_plugin_feature_get_rank(ours) > gst_plugin_feature_get_rank(qt));
    gst_object_unref(qt);
  }
  gst_object_unref(ours);
}
GST_END_TEST;

static std::string TypeOf(const std::vector<uint8_t>& data) {
  GstBuffer* b = gst_buffer_new_memdup(data.data(), data.size());
  GstCaps* caps = gst_type_find_helper_for_buffer(nullptr, b, nullptr);
  gst_buffer_unref(b);
  if (!caps) return "";
  std::string name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
  gst_caps_unref(caps);
  return name;
}

GST_START_TEST(test_typefind) {
  fail_unless_equals_string(TypeOf(MakeAvFile()).c_str(), "video/x-ms-ismv");
  // Compatible brand piff with a plain major brand: ours.
  std::vector<uint8_t> piff = MakeAvFile();
  piff[8] = 'i'; piff[9] = 's'; piff[10] = 'o'; piff[11] = '6';  // major brand iso6, compatible 'piff iso2'
  fail_unless_equals_string(TypeOf(piff).c_str(), "video/x-ms-ismv");
  // A plain fragmented MP4 (isom/iso2/dash): quicktime's, not ours.
  std::vector<uint8_t> plain = MakeAvFile();
  const char* brands = "isom\0\0\0\1iso2dash";
  std::copy(brands, brands + 16, plain.begin() + 8);
  fail_unless_equals_string(TypeOf(plain).c_str(), "video/quicktime");
  // Live ingest: ftyp (any brand) followed by the Live Server Manifest box.
  piff::LiveServerManifestBox lsm;
  lsm.xml = "<smil/>";
  std::vector<uint8_t> live(plain.begin(), plain.begin() + 24);
  lsm.Write(live);
  live.insert(live.end(), plain.begin() + 24, plain.end());
  fail_unless_equals_string(TypeOf(live).c_str(), "video/x-ms-ismv");
}
GST_END_TEST;

static void CheckAvRun(Run& r, bool bframes, bool push = false) {
  fail_unless(r.no_more_pads);
  fail_unless_equals_int(r.pads.size(), 2);
  fail_unless_equals_int(r.collection_size, 2);
  PadLog& v = r.Pad("video_0");
  PadLog& a = r.Pad("audio_0");
  // Caps from the sample entries.
  GstStructure* s = gst_caps_get_structure(v.caps, 0);
  fail_unless(gst_structure_has_name(s, "video/x-h264"));
  fail_unless_equals_string(gst_structure_get_string(s, "stream-format"), "avc");
  fail_unless_equals_string(gst_structure_get_string(s, "alignment"), "au");
  gint w = 0, h = 0, fn = 0, fd = 0;
  fail_unless(gst_structure_get_int(s, "width", &w) && w == 320);
  fail_unless(gst_structure_get_int(s, "height", &h) && h == 180);
  fail_unless(gst_structure_get_fraction(s, "framerate", &fn, &fd) && fn == 25 && fd == 1);
  GstBuffer* cd = gst_value_get_buffer(gst_structure_get_value(s, "codec_data"));
  fail_unless(gst_buffer_memcmp(cd, 0, kAvcC, sizeof(kAvcC)) == 0 && gst_buffer_get_size(cd) == sizeof(kAvcC));
  s = gst_caps_get_structure(a.caps, 0);
  fail_unless(gst_structure_has_name(s, "audio/mpeg"));
  gint mv = 0, rate = 0, ch = 0;
  fail_unless(gst_structure_get_int(s, "mpegversion", &mv) && mv == 4);
  fail_unless_equals_string(gst_structure_get_string(s, "stream-format"), "raw");
  fail_unless(gst_structure_get_int(s, "rate", &rate) && rate == 48000);
  fail_unless(gst_structure_get_int(s, "channels", &ch) && ch == 2);
  cd = gst_value_get_buffer(gst_structure_get_value(s, "codec_data"));
  fail_unless(gst_buffer_memcmp(cd, 0, kAsc, sizeof(kAsc)) == 0);
  // Stream ids: distinct, derived from the track IDs.
  fail_unless(v.stream_id != a.stream_id);
  fail_unless(g_str_has_suffix(v.stream_id.c_str(), "/1") && g_str_has_suffix(a.stream_id.c_str(), "/2"),
              "%s %s", v.stream_id.c_str(), a.stream_id.c_str());
  // Tags: language and codec.
  gchar* lang = nullptr;
  fail_unless(a.tags && gst_tag_list_get_string(a.tags, GST_TAG_LANGUAGE_CODE, &lang));
  fail_unless_equals_string(lang, "fr");
  g_free(lang);
  guint bitrate = 0;
  if (!push) fail_unless(gst_tag_list_get_uint(v.tags, GST_TAG_BITRATE, &bitrate) && bitrate > 0);

  // Video: every sample, in decode order, with its times and flags.
  fail_unless_equals_int(v.bufs.size(), 200);
  fail_unless_equals_int(v.segments.size(), 1);
  static const int cto[10] = {0, 2, -1, -1, 2, -1, -1, 2, -1, -1};
  GstClockTime shift = bframes ? Ns(kFrame, kTs) : 0;
  fail_unless_equals_uint64(v.segments[0].start, shift);
  fail_unless_equals_uint64(v.segments[0].time, 0);
  for (size_t i = 0; i < v.bufs.size(); i++) {
    const BufInfo& b = v.bufs[i];
    fail_unless_equals_int(b.index, i);
    fail_unless_equals_int(b.track, 1);
    fail_unless_equals_int(b.size, 100 + i % 7);
    fail_unless_equals_uint64(b.dts, Ns(i * kFrame, kTs));
    int64_t pts_ticks = static_cast<int64_t>(i * kFrame) + (bframes ? cto[i % 10] * int64_t(kFrame) : 0);
    fail_unless_equals_uint64(StreamTime(v, b.pts), Ns(static_cast<uint64_t>(pts_ticks), kTs));
    fail_unless(b.dts <= b.pts, "DTS after PTS at %zu", i);
    fail_unless_equals_uint64(b.dur, Ns(kFrame, kTs));
    fail_unless(b.delta == (i % 10 != 0), "delta flag of sample %zu", i);
    fail_unless(b.discont == (i == 0));
  }
  // Audio: 375 frames, times from the 48 kHz timescale.
  fail_unless_equals_int(a.bufs.size(), 375);
  for (size_t i = 0; i < a.bufs.size(); i++) {
    fail_unless_equals_int(a.bufs[i].index, i);
    fail_unless_equals_uint64(a.bufs[i].pts, Ns(i * 1024, kAudioTs));
    fail_unless_equals_uint64(a.bufs[i].dur, Ns((i + 1) * 1024, kAudioTs) - Ns(i * 1024, kAudioTs));
    fail_unless(!a.bufs[i].delta);
  }
  fail_unless(v.eos && a.eos);
}

GST_START_TEST(test_pull_caps_timestamps) {
  TempFile f(MakeAvFile(false));
  Run r(f.path, false);
  fail_unless(r.Play(), "%s", r.error.c_str());
  CheckAvRun(r, false);
}
GST_END_TEST;

GST_START_TEST(test_pull_composition_offsets) {
  TempFile f(MakeAvFile(true));
  Run r(f.path, false);
  fail_unless(r.Play(), "%s", r.error.c_str());
  CheckAvRun(r, true);
}
GST_END_TEST;

GST_START_TEST(test_push_mode) {
  TempFile f(MakeAvFile(true));
  Run r(f.path, true);
  fail_unless(r.Play(), "%s", r.error.c_str());
  CheckAvRun(r, true, true);
  fail_unless(r.warnings.empty(), "%s", r.warnings.empty() ? "" : r.warnings[0].c_str());
}
GST_END_TEST;

// The element read again after READY (push mode): what the first run read
// (moov, tracks, the reader's state) is forgotten, the second run is whole.
GST_START_TEST(test_push_mode_restart) {
  TempFile f(MakeAvFile(true));
  Run r(f.path, true);
  fail_unless(r.Play(), "%s", r.error.c_str());
  CheckAvRun(r, true, true);
  gst_element_set_state(r.pipeline, GST_STATE_READY);
  // Drop the branches of the first run's pads (they are gone with them).
  std::vector<GstElement*> branches;
  GstIterator* it = gst_bin_iterate_elements(GST_BIN(r.pipeline));
  GValue v = G_VALUE_INIT;
  while (gst_iterator_next(it, &v) == GST_ITERATOR_OK) {
    // A fakesink, or a queue whose demuxer pad is gone: part of a branch
    // (the queue before the demuxer is still linked to filesrc).
    GstElement* e = GST_ELEMENT(g_value_get_object(&v));
    GstPad* sink = gst_element_get_static_pad(e, "sink");
    const gchar* factory = GST_OBJECT_NAME(gst_element_get_factory(e));
    if (g_str_equal(factory, "fakesink") || (g_str_equal(factory, "queue") && sink && !gst_pad_is_linked(sink)))
      branches.push_back(GST_ELEMENT(gst_object_ref(e)));
    if (sink) gst_object_unref(sink);
    g_value_reset(&v);
  }
  g_value_unset(&v);
  gst_iterator_free(it);
  for (GstElement* e : branches) {
    gst_element_set_state(e, GST_STATE_NULL);
    gst_bin_remove(GST_BIN(r.pipeline), e);
    gst_object_unref(e);
  }
  for (auto& p : r.pads) {
    if (p.second.caps) gst_caps_unref(p.second.caps);
    if (p.second.tags) gst_tag_list_unref(p.second.tags);
  }
  r.pads.clear();
  r.no_more_pads = false;
  r.warnings.clear();
  fail_unless(r.Play(), "second run: %s", r.error.c_str());
  CheckAvRun(r, true, true);
  fail_unless(r.warnings.empty(), "%s", r.warnings.empty() ? "" : r.warnings[0].c_str());
}
GST_END_TEST;

// Push-mode streams (live ingest, HTTP) have no size and can't be seeked.
GST_START_TEST(test_queries) {
  for (bool push : {false, true}) {
    TempFile f(MakeAvFile());
    Run r(f.path, push);
    r.Pause();
    gint64 dur = -1;
    GstPad* pad = gst_element_get_static_pad(r.demux, "video_0");
    fail_unless(pad != nullptr);
    if (!push) {
      fail_unless(gst_pad_query_duration(pad, GST_FORMAT_TIME, &dur));
      fail_unless_equals_uint64(dur, 8 * GST_SECOND);
    }
    GstQuery* q = gst_query_new_seeking(GST_FORMAT_TIME);
    fail_unless(gst_pad_query(pad, q));
    gboolean seekable = !push;
    gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
    fail_unless_equals_int(seekable, !push);
    gst_query_unref(q);
    gst_object_unref(pad);
  }
}
GST_END_TEST;

// tfxd first, then tfdt, then the end of the previous fragment.
GST_START_TEST(test_time_precedence) {
  FileBuilder b;
  b.Init(piff::MakeMovie({VideoTrack(1)}, kTs, 0));
  Traf t;
  t.samples = VideoSamples(0, 10, false);
  t.decode_time = 50000000;  // tfxd says 5 s
  t.tfdt = true;
  t.tfdt_time = 90000000;  // tfdt says 9 s: ignored
  b.Fragment({t});
  t.tfxd = false;
  t.decode_time = 60000000;  // tfdt only: 6 s (a gap after the first fragment)
  t.tfdt_time = 0;
  b.Fragment({t});
  t.tfdt = false;  // neither: continues at 6.4 s
  b.Fragment({t});
  for (bool push : {false, true}) {
    TempFile f(b.bytes);
    Run r(f.path, push);
    fail_unless(r.Play(), "%s", r.error.c_str());
    PadLog& v = r.Pad("video_0");
    fail_unless_equals_int(v.bufs.size(), 30);
    fail_unless_equals_uint64(v.bufs[0].dts, 5 * GST_SECOND);
    fail_unless_equals_uint64(v.bufs[10].dts, 6 * GST_SECOND);
    fail_unless_equals_uint64(v.bufs[20].dts, 6400 * GST_MSECOND);
    // The timeline starts at the first fragment: stream time 0.
    fail_unless_equals_uint64(StreamTime(v, v.bufs[0].pts), 0);
  }
}
GST_END_TEST;

// One moof with a video and an audio traf, tfdt and no tfxd (ismlmux style).
GST_START_TEST(test_multi_traf_moof) {
  FileBuilder b;
  b.Init(piff::MakeMovie({VideoTrack(1, 2500), AudioTrack(2)}, 1000, 0));
  for (int f = 0; f < 4; f++) {
    Traf v, a;
    v.track_id = 1;
    v.decode_time = f * 20 * 100;
    v.samples = VideoSamples(f * 20, 20, false);
    for (auto& s : v.samples) s.duration = 100;  // 25 fps at 2500 Hz
    v.tfxd = false;
    v.tfdt = true;
    a.track_id = 2;
    a.decode_time = static_cast<uint64_t>(f) * 37 * 1024;
    a.samples = AudioSamples(37);
    a.tfxd = false;
    a.tfdt = true;
    b.Fragment({v, a});
  }
  for (bool push : {false, true}) {
    TempFile f(b.bytes);
    Run r(f.path, push);
    fail_unless(r.Play(), "%s", r.error.c_str());
    PadLog& v = r.Pad("video_0");
    PadLog& a = r.Pad("audio_0");
    fail_unless_equals_int(v.bufs.size(), 80);
    fail_unless_equals_int(a.bufs.size(), 148);
    for (size_t i = 0; i < v.bufs.size(); i++) {
      fail_unless_equals_int(v.bufs[i].index, i);
      fail_unless_equals_uint64(v.bufs[i].pts, Ns(i * 100, 2500));
    }
    for (size_t i = 0; i < a.bufs.size(); i++) {
      fail_unless_equals_int(a.bufs[i].track, 2);
      fail_unless_equals_int(a.bufs[i].index, i);
    }
  }
}
GST_END_TEST;

// Pull mode interleaves tracks by time even when the file holds 0.8 s of
// one track before the other: a 100 ms queue between demuxer and sink is
// enough to preroll.
GST_START_TEST(test_pull_interleaves) {
  TempFile f(MakeAvFile());
  gchar* desc = g_strdup_printf(
      "filesrc location=%s ! ismdemux name=d d.video_0 ! queue max-size-time=100000000 max-size-buffers=0 "
      "max-size-bytes=0 ! fakesink sync=false d.audio_0 ! queue max-size-time=100000000 max-size-buffers=0 "
      "max-size-bytes=0 ! fakesink sync=false",
      f.path.c_str());
  GstElement* p = gst_parse_launch(desc, nullptr);
  g_free(desc);
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(p);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND,
                                             static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(m != nullptr && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS, "no EOS: interleaving stalled the queues");
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
}
GST_END_TEST;

// Keyframes every 0.4 s (10 frames at 25 fps), two per fragment.
GST_START_TEST(test_seek_accurate) {
  TempFile f(MakeAvFile(true));
  Run r(f.path, false);
  r.Pause();
  // Forward to 3.1 s: decoding starts at the keyframe at 2.8 s, the segment
  // starts at 3.1 s so that downstream clips; audio starts in the frame
  // that contains 3.1 s.
  fail_unless(r.Seek(3100 * GST_MSECOND, GST_SEEK_FLAG_ACCURATE));
  fail_unless(r.Play(), "%s", r.error.c_str());
  {
    PadLog& v = r.Pad("video_0");
    PadLog& a = r.Pad("audio_0");
    fail_unless_equals_uint64(v.segments.back().time, 3100 * GST_MSECOND);
    fail_unless_equals_uint64(StreamTime(v, v.bufs[0].pts), 2800 * GST_MSECOND);
    fail_unless(!v.bufs[0].delta && v.bufs[0].discont);
    fail_unless_equals_int(v.bufs[0].index, 70);
    fail_unless_equals_int(v.bufs.size(), 130);
    GstClockTime a0 = StreamTime(a, a.bufs[0].pts);
    fail_unless(a0 <= 3100 * GST_MSECOND && a0 + a.bufs[0].dur > 3100 * GST_MSECOND);
    fail_unless_equals_int(a.bufs[0].index, 3100 * 48 / 1024);
  }
  // Backwards to 1.0 s.
  r.Pause();
  fail_unless(r.Seek(1000 * GST_MSECOND, GST_SEEK_FLAG_ACCURATE));
  fail_unless(r.Play(), "%s", r.error.c_str());
  PadLog& v = r.Pad("video_0");
  fail_unless_equals_uint64(v.segments.back().time, 1000 * GST_MSECOND);
  fail_unless_equals_int(v.bufs[0].index, 20);  // keyframe at 0.8 s
  fail_unless_equals_int(v.bufs.size(), 180);
}
GST_END_TEST;

static void KeyUnitSeek(GstSeekFlags snap, GstClockTime target, GstClockTime expect, uint32_t expect_index) {
  TempFile f(MakeAvFile(true));
  Run r(f.path, false);
  r.Pause();
  fail_unless(r.Seek(target, static_cast<GstSeekFlags>(GST_SEEK_FLAG_KEY_UNIT | snap)));
  fail_unless(r.Play(), "%s", r.error.c_str());
  PadLog& v = r.Pad("video_0");
  PadLog& a = r.Pad("audio_0");
  fail_unless_equals_uint64(v.segments.back().time, expect);
  fail_unless_equals_uint64(StreamTime(v, v.bufs[0].pts), expect);
  fail_unless_equals_int(v.bufs[0].index, expect_index);
  fail_unless(!v.bufs[0].delta);
  fail_unless_equals_uint64(a.segments.back().time, expect);
  GstClockTime a0 = StreamTime(a, a.bufs[0].pts);
  fail_unless(a0 <= expect && a0 + a.bufs[0].dur > expect);
}

GST_START_TEST(test_seek_key_unit) {
  KeyUnitSeek(static_cast<GstSeekFlags>(0), 3100 * GST_MSECOND, 2800 * GST_MSECOND, 70);
  KeyUnitSeek(GST_SEEK_FLAG_SNAP_BEFORE, 3100 * GST_MSECOND, 2800 * GST_MSECOND, 70);
  KeyUnitSeek(GST_SEEK_FLAG_SNAP_AFTER, 3100 * GST_MSECOND, 3200 * GST_MSECOND, 80);
  KeyUnitSeek(GST_SEEK_FLAG_SNAP_NEAREST, 3100 * GST_MSECOND, 3200 * GST_MSECOND, 80);
  KeyUnitSeek(GST_SEEK_FLAG_SNAP_NEAREST, 2900 * GST_MSECOND, 2800 * GST_MSECOND, 70);
  // A keyframe in the middle of a fragment (0.4 s into the fragment at 2.4 s).
  KeyUnitSeek(GST_SEEK_FLAG_SNAP_BEFORE, 2999 * GST_MSECOND, 2800 * GST_MSECOND, 70);
  KeyUnitSeek(GST_SEEK_FLAG_SNAP_AFTER, 7900 * GST_MSECOND, 7600 * GST_MSECOND, 190);  // none after: last one
}
GST_END_TEST;

GST_START_TEST(test_seek_segment_stop) {
  TempFile f(MakeAvFile());
  Run r(f.path, false);
  r.Pause();
  fail_unless(gst_element_seek(r.pipeline, 1.0, GST_FORMAT_TIME,
                               static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE),
                               GST_SEEK_TYPE_SET, 2 * GST_SECOND, GST_SEEK_TYPE_SET, 4 * GST_SECOND));
  fail_unless(r.Play(), "%s", r.error.c_str());
  PadLog& v = r.Pad("video_0");
  fail_unless_equals_int(v.bufs.front().index, 50);
  fail_unless_equals_int(v.bufs.back().index, 99);  // the last frame before 4 s
  // Reverse playback is refused, not mishandled.
  fail_unless(!gst_element_seek(r.pipeline, -1.0, GST_FORMAT_TIME, GST_SEEK_FLAG_FLUSH, GST_SEEK_TYPE_SET, 0,
                                GST_SEEK_TYPE_SET, 4 * GST_SECOND));
}
GST_END_TEST;

// ------------------------------------------------------------ bad input

static Run* PlayBytes(const std::vector<uint8_t>& data, bool push, bool expect_eos, TempFile** keep) {
  *keep = new TempFile(data);
  Run* r = new Run((*keep)->path, push);
  bool eos = r->Play();
  fail_unless(eos == expect_eos, "expected %s, got %s: %s", expect_eos ? "EOS" : "ERROR", eos ? "EOS" : "ERROR",
              r->error.c_str());
  return r;
}

static void ExpectError(const std::vector<uint8_t>& data, const char* needle) {
  for (bool push : {false, true}) {
    TempFile* f;
    Run* r = PlayBytes(data, push, false, &f);
    fail_unless(r->error.find(needle) != std::string::npos, "%s mode: error \"%s\" lacks \"%s\"",
                push ? "push" : "pull", r->error.c_str(), needle);
    delete r;
    delete f;
  }
}

GST_START_TEST(test_truncated) {
  std::vector<uint8_t> full = MakeAvFile(false, false);
  // Inside the moov: nothing can be shown.
  ExpectError(std::vector<uint8_t>(full.begin(), full.begin() + 200), "no moov");
  // Nothing at all: say so (not "upstream does not report a size").
  ExpectError({}, "empty");
  // Inside the last mdat: what precedes plays, a warning says it is cut.
  std::vector<uint8_t> cut(full.begin(), full.end() - 120);
  for (bool push : {false, true}) {
    TempFile* f;
    Run* r = PlayBytes(cut, push, true, &f);
    fail_unless(HasWarning(*r, "truncated"), "%s: no truncation warning", push ? "push" : "pull");
    PadLog& v = r->Pad("video_0");
    PadLog& a = r->Pad("audio_0");
    fail_unless_equals_int(v.bufs.size(), 200);
    fail_unless(a.bufs.size() < 375 && a.bufs.size() >= 300, "%zu audio buffers", a.bufs.size());
    delete r;
    delete f;
  }
}
GST_END_TEST;

GST_START_TEST(test_garbage_moof) {
  std::vector<uint8_t> data = MakeAvFile();
  // The first moof follows ftyp (24 bytes) and moov: scribble over its body.
  size_t moov_size = (data[24] << 24) | (data[25] << 16) | (data[26] << 8) | data[27];
  size_t moof = 24 + moov_size;
  fail_unless(data[moof + 4] == 'm' && data[moof + 5] == 'o');
  for (size_t i = moof + 8; i < moof + 60; i++) data[i] = static_cast<uint8_t>(i * 37);
  ExpectError(data, "Corrupt");
}
GST_END_TEST;

GST_START_TEST(test_moof_before_moov) {
  std::vector<uint8_t> data = MakeAvFile();
  size_t moov_size = (data[24] << 24) | (data[25] << 16) | (data[26] << 8) | data[27];
  // ftyp, then everything after the moov, then the moov.
  std::vector<uint8_t> moved(data.begin(), data.begin() + 24);
  moved.insert(moved.end(), data.begin() + 24 + moov_size, data.end());
  moved.insert(moved.end(), data.begin() + 24, data.begin() + 24 + moov_size);
  ExpectError(moved, "before");
}
GST_END_TEST;

GST_START_TEST(test_hostile_sizes) {
  std::vector<uint8_t> data = MakeAvFile();
  // A moof claiming 1 GiB: refused before anything is allocated.
  size_t moov_size = (data[24] << 24) | (data[25] << 16) | (data[26] << 8) | data[27];
  size_t moof = 24 + moov_size;
  std::vector<uint8_t> big = data;
  big[moof] = 0x40;
  ExpectError(big, "");
  // Random bytes: an error, not a crash.
  std::vector<uint8_t> noise(5000);
  for (size_t i = 0; i < noise.size(); i++) noise[i] = static_cast<uint8_t>((i * 7919) ^ (i >> 3));
  ExpectError(noise, "");
  // A box size smaller than its header.
  std::vector<uint8_t> tiny = data;
  tiny[moof] = 0; tiny[moof + 1] = 0; tiny[moof + 2] = 0; tiny[moof + 3] = 4;
  ExpectError(tiny, "");
}
GST_END_TEST;

// ------------------------------------------------------------ tracks

GST_START_TEST(test_unsupported_codec_skipped) {
  piff::MovieBox moov = piff::MakeMovie({VideoTrack(1), AudioTrack(2)}, kTs, 0);
  auto& entry = moov.tracks[0].mdia.minf.stbl.stsd.video[0];
  entry.format = piff::MakeFourCC("vc-1");
  entry.avcc.reset();
  FileBuilder b;
  b.Init(moov);
  Traf v;
  v.samples = VideoSamples(0, 10, false);
  b.Fragment({v});
  Traf a;
  a.track_id = 2;
  a.samples = AudioSamples(10);
  b.Fragment({a});
  TempFile f(b.bytes);
  Run r(f.path, false);
  fail_unless(r.Play(), "%s", r.error.c_str());
  fail_unless(HasWarning(r, "VC-1") && HasWarning(r, "track 1"), "no warning naming the track and codec");
  fail_unless_equals_int(r.pads.size(), 1);
  fail_unless_equals_int(r.Pad("audio_0").bufs.size(), 10);
}
GST_END_TEST;


// Push mode cuts samples out of an mdat as its bytes arrive: the first
// sample leaves the demuxer long before the 8 MB mdat is complete.
namespace {
struct PushCounter {
  std::mutex lock;
  guint64 pushed = 0;
  guint64 at_first_output = 0;
  bool seen = false;
};
GstPadProbeReturn CountIn(GstPad*, GstPadProbeInfo* info, gpointer user) {
  auto* c = static_cast<PushCounter*>(user);
  std::lock_guard<std::mutex> l(c->lock);
  c->pushed += gst_buffer_get_size(GST_PAD_PROBE_INFO_BUFFER(info));
  return GST_PAD_PROBE_OK;
}
GstPadProbeReturn FirstOut(GstPad*, GstPadProbeInfo*, gpointer user) {
  auto* c = static_cast<PushCounter*>(user);
  std::lock_guard<std::mutex> l(c->lock);
  if (!c->seen) c->at_first_output = c->pushed;
  c->seen = true;
  return GST_PAD_PROBE_OK;
}
void LinkCounted(GstElement* demux, GstPad* pad, PushCounter* c) {
  GstElement* bin = GST_ELEMENT(gst_element_get_parent(demux));
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", FALSE, nullptr);
  gst_bin_add(GST_BIN(bin), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad* sp = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sp);
  gst_object_unref(sp);
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, FirstOut, c, nullptr);
  gst_object_unref(bin);
}
}  // namespace

GST_START_TEST(test_push_streams_mdat) {
  FileBuilder b;
  b.Init(piff::MakeMovie({VideoTrack(1)}, kTs, 0));
  Traf v;
  v.samples = VideoSamples(0, 80, false);
  for (auto& s : v.samples) s.size = 100000;
  b.Fragment({v});
  TempFile f(b.bytes);
  gchar* desc = g_strdup_printf("filesrc location=%s blocksize=65536 ! queue name=q ! ismdemux name=d", f.path.c_str());
  GstElement* p = gst_parse_launch(desc, nullptr);
  g_free(desc);
  PushCounter c;
  GstElement* q = gst_bin_get_by_name(GST_BIN(p), "q");
  GstPad* qsrc = gst_element_get_static_pad(q, "src");
  gst_pad_add_probe(qsrc, GST_PAD_PROBE_TYPE_BUFFER, CountIn, &c, nullptr);
  gst_object_unref(qsrc);
  gst_object_unref(q);
  GstElement* d = gst_bin_get_by_name(GST_BIN(p), "d");
  g_signal_connect(d, "pad-added", G_CALLBACK(LinkCounted), &c);
  gst_object_unref(d);
  gst_element_set_state(p, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(p);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 10 * GST_SECOND,
                                             static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS);
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  fail_unless(c.seen);
  fail_unless(c.at_first_output < 400000, "first sample left after %" G_GUINT64_FORMAT " of %zu bytes",
              c.at_first_output, b.bytes.size());
}
GST_END_TEST;

// ------------------------------------------------------------ real media

namespace {

// PTS -> checksum of every decoded frame of `demuxer` on `path`, or from the
// first frame after a flushing seek to `seek` with `flags`.
std::vector<std::pair<GstClockTime, std::string>> DecodedFrames(const std::string& path, const char* demuxer,
                                                                GstClockTime seek = GST_CLOCK_TIME_NONE,
                                                                GstSeekFlags flags = GST_SEEK_FLAG_NONE) {
  gchar* desc = g_strdup_printf(
      "filesrc location=%s ! %s ! avdec_h264 ! videoconvert ! video/x-raw,format=I420 ! appsink name=s sync=false",
      path.c_str(), demuxer);
  GError* err = nullptr;
  GstElement* p = gst_parse_launch(desc, &err);
  g_free(desc);
  fail_unless(p != nullptr && err == nullptr);
  GstElement* sink = gst_bin_get_by_name(GST_BIN(p), "s");
  gst_element_set_state(p, GST_STATE_PAUSED);
  fail_unless_equals_int(gst_element_get_state(p, nullptr, nullptr, 10 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  if (GST_CLOCK_TIME_IS_VALID(seek)) {
    fail_unless(gst_element_seek_simple(p, GST_FORMAT_TIME, static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | flags),
                                        static_cast<gint64>(seek)));
    gst_element_get_state(p, nullptr, nullptr, 10 * GST_SECOND);
  }
  gst_element_set_state(p, GST_STATE_PLAYING);
  std::vector<std::pair<GstClockTime, std::string>> out;
  while (GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 10 * GST_SECOND)) {
    GstBuffer* b = gst_sample_get_buffer(s);
    GstSegment* seg = gst_sample_get_segment(s);
    GstMapInfo map;
    gst_buffer_map(b, &map, GST_MAP_READ);
    gchar* sum = g_compute_checksum_for_data(G_CHECKSUM_SHA1, map.data, map.size);
    gst_buffer_unmap(b, &map);
    out.emplace_back(gst_segment_to_stream_time(seg, GST_FORMAT_TIME, GST_BUFFER_PTS(b)), sum);
    g_free(sum);
    gst_sample_unref(s);
    if (gst_app_sink_is_eos(GST_APP_SINK(sink))) break;
  }
  gst_object_unref(sink);
  gst_element_set_state(p, GST_STATE_NULL);
  gst_object_unref(p);
  return out;
}

}  // namespace

// A real x264 encode with B-frames, muxed by ismvmux: every seek lands on
// the frame that qtdemux + avdec_h264 decode at that time.
GST_START_TEST(test_real_seeks_land_on_frame) {
  const gchar* needed[] = {"x264enc", "avdec_h264", "qtdemux", "ismvmux", "h264parse", "timeoverlay"};
  for (const gchar* n : needed)
    if (!gst_registry_check_feature_version(gst_registry_get(), n, 0, 0, 0)) {
      GST_WARNING("%s missing: test skipped", n);
      return;
    }
  gchar* dir = g_dir_make_tmp("ismdemux-real-XXXXXX", nullptr);
  std::string path = std::string(dir) + "/real.ismv";
  gchar* desc = g_strdup_printf(
      "videotestsrc num-buffers=144 pattern=smpte ! video/x-raw,width=160,height=90,framerate=24/1 ! timeoverlay ! "
      "x264enc bframes=2 key-int-max=24 option-string=scenecut=0:min-keyint=24 speed-preset=ultrafast ! h264parse ! "
      "ismvmux fragment-duration=2000000000 ! filesink location=%s",
      path.c_str());
  GstElement* enc = gst_parse_launch(desc, nullptr);
  g_free(desc);
  gst_element_set_state(enc, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(enc);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND,
                                             static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  fail_unless(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS);
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(enc, GST_STATE_NULL);
  gst_object_unref(enc);

  auto reference = DecodedFrames(path, "qtdemux");
  auto all = DecodedFrames(path, "ismdemux");
  fail_unless_equals_int(reference.size(), 144);
  fail_unless_equals_int(all.size(), 144);
  std::map<GstClockTime, std::string> by_time;
  for (size_t i = 0; i < reference.size(); i++) {
    fail_unless(reference[i].second == all[i].second, "frame %zu differs from qtdemux's", i);
    fail_unless_equals_uint64(reference[i].first, all[i].first);
    by_time[reference[i].first] = reference[i].second;
  }
  // Accurate, forwards then backwards: the first decoded frame is the one at
  // (or just after) the target.
  for (GstClockTime t : {3 * GST_SECOND + 300 * GST_MSECOND, 5 * GST_SECOND + 10 * GST_MSECOND, 700 * GST_MSECOND}) {
    auto got = DecodedFrames(path, "ismdemux", t, GST_SEEK_FLAG_ACCURATE);
    // The frame on screen at t: the decoder clips its start to t.
    auto want = std::prev(by_time.upper_bound(t));
    fail_unless(!got.empty());
    fail_unless_equals_uint64(got[0].first, std::max(t, want->first));
    fail_unless(got[0].second == want->second, "accurate seek to %" GST_TIME_FORMAT " shows another picture",
                GST_TIME_ARGS(t));
    fail_unless_equals_int(got.size(), std::distance(want, by_time.end()));
  }
  // Key-unit: the first frame is the keyframe before (1 s GOP) / after.
  auto got = DecodedFrames(path, "ismdemux", 3 * GST_SECOND + 300 * GST_MSECOND,
                           static_cast<GstSeekFlags>(GST_SEEK_FLAG_KEY_UNIT | GST_SEEK_FLAG_SNAP_BEFORE));
  fail_unless_equals_uint64(got[0].first, 3 * GST_SECOND);
  fail_unless(got[0].second == by_time[3 * GST_SECOND]);
  got = DecodedFrames(path, "ismdemux", 1 * GST_SECOND + 300 * GST_MSECOND,
                      static_cast<GstSeekFlags>(GST_SEEK_FLAG_KEY_UNIT | GST_SEEK_FLAG_SNAP_AFTER));
  fail_unless_equals_uint64(got[0].first, 2 * GST_SECOND);
  fail_unless(got[0].second == by_time[2 * GST_SECOND]);
  g_unlink(path.c_str());
  g_rmdir(dir);
  g_free(dir);
}
GST_END_TEST;

static Suite* ismdemux_suite(void) {
  Suite* s = suite_create("ismdemux");
  TCase* tc = tcase_create("general");
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_metadata);
  tcase_add_test(tc, test_typefind);
  tcase_add_test(tc, test_pull_caps_timestamps);
  tcase_add_test(tc, test_pull_composition_offsets);
  tcase_add_test(tc, test_push_mode);
  tcase_add_test(tc, test_push_mode_restart);
  tcase_add_test(tc, test_queries);
  tcase_add_test(tc, test_time_precedence);
  tcase_add_test(tc, test_multi_traf_moof);
  tcase_add_test(tc, test_pull_interleaves);
  tcase_add_test(tc, test_seek_accurate);
  tcase_add_test(tc, test_seek_key_unit);
  tcase_add_test(tc, test_seek_segment_stop);
  tcase_add_test(tc, test_truncated);
  tcase_add_test(tc, test_garbage_moof);
  tcase_add_test(tc, test_moof_before_moov);
  tcase_add_test(tc, test_hostile_sizes);
  tcase_add_test(tc, test_unsupported_codec_skipped);
  tcase_add_test(tc, test_push_streams_mdat);
  tcase_add_test(tc, test_real_seeks_land_on_frame);
  return s;
}

GST_CHECK_MAIN(ismdemux);
