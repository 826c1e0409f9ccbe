// gst-check tests of ismvmux: fragmenting rules, timestamps, zero-copy
// output, mfra/mehd, manifests, and one negative test per bad input.
// Inputs are synthetic (appsrc) so every timestamp and flag is controlled;
// peers (ffprobe, qtdemux) check real encodes in tests/interop.
// The C++ and core headers come first: gst-check defines a `fail` macro that
// would clash with std::ios::fail().
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "client_manifest.h"
#include "file.h"
#include "server_manifest.h"

#include "mux_rig.h"
#include "mux_samples.h"

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>

namespace {

std::string ReadText(const std::string& path) {
  gchar* c = nullptr;
  gsize n = 0;
  if (!g_file_get_contents(path.c_str(), &c, &n, nullptr)) return "";
  std::string s(c, n);
  g_free(c);
  return s;
}

}  // namespace

GST_START_TEST(test_properties) {
  GstElement* mux = gst_element_factory_make("ismvmux", nullptr);
  fail_unless(mux != nullptr);
  guint64 fd = 0;
  guint ts = 0;
  gchar* fourcc = nullptr;
  gboolean strict = TRUE;
  g_object_get(mux, "fragment-duration", &fd, "timescale", &ts, "h264-fourcc", &fourcc, "strict-alignment", &strict,
               nullptr);
  fail_unless_equals_uint64(fd, 2 * GST_SECOND);
  fail_unless_equals_int(ts, 10000000);
  fail_unless_equals_string(fourcc, "H264");
  fail_unless(!strict);
  g_free(fourcc);
  g_object_set(mux, "h264-fourcc", "avc1", nullptr);
  g_object_get(mux, "h264-fourcc", &fourcc, nullptr);
  fail_unless_equals_string(fourcc, "AVC1");
  g_free(fourcc);
  gst_object_unref(mux);
}
GST_END_TEST;

// 10 s of 25 fps video with a keyframe every second and 2 s fragments.
GST_START_TEST(test_video_fragments_and_index) {
  Rig r({"video_%u"});
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 250, 25);
  r.EndAll();
  r.ExpectEos();
  std::vector<uint8_t> data = r.ReadOutput();
  piff::PiffFile f = ParseFile(data);
  fail_unless(f.ftyp && f.ftyp->major_brand == piff::MakeFourCC("isml"));
  fail_unless(f.moov && f.moov->tracks.size() == 1);
  fail_unless_equals_int(f.moov->tracks[0].mdia.mdhd.timescale, 10000000);
  auto frags = Fragments(f, 1);
  fail_unless_equals_int(frags.size(), 5);
  uint64_t total = 0;
  for (size_t i = 0; i < frags.size(); i++) {
    fail_unless_equals_uint64(frags[i].decode_time, i * 20000000ull);
    fail_unless(frags[i].time_source == piff::FragmentTimeSource::kTfxd);
    fail_unless(frags[i].samples.front().sync, "fragment %zu does not start with a keyframe", i);
    fail_unless_equals_int(frags[i].samples.size(), 50);
    total += frags[i].samples.size();
  }
  fail_unless_equals_int(total, 250);
  // mfra: one tfra per track, one entry per fragment, pointing at the moofs.
  fail_unless(f.mfra && f.mfra->tfras.size() == 1);
  const auto& tfra = f.mfra->tfras[0];
  fail_unless_equals_int(tfra.entries.size(), 5);
  size_t moof_index = 0;
  for (auto& top : f.layout) {
    if (top.kind != piff::PiffFile::Kind::kMoof) continue;
    fail_unless_equals_uint64(tfra.entries[moof_index].moof_offset, top.offset);
    fail_unless_equals_uint64(tfra.entries[moof_index].time, frags[moof_index].decode_time);
    moof_index++;
  }
  // mfro holds the mfra size, and the file ends with the mfra.
  fail_unless(f.mfra->mfro.has_value());
  fail_unless_equals_uint64(f.mfra->mfro->mfra_size, f.layout.back().size);
  // filesink is seekable: mehd was patched with the duration (10 s).
  fail_unless(f.moov->mvex && f.moov->mvex->mehd);
  fail_unless_equals_uint64(f.moov->mvex->mehd->fragment_duration, 100000000ull);
  // Samples are where trun says, with the payload we pushed.
  const auto& s7 = frags[0].samples[7];
  fail_unless_equals_int(s7.size, 1007);
  fail_unless_equals_int(data[s7.offset], 7);
  // write, read, write: same bytes.
  fail_unless(f.Write() == data);
}
GST_END_TEST;

// Fragments close at the first keyframe at or after the target.
GST_START_TEST(test_fragment_closes_at_next_keyframe) {
  Rig r({"video_%u"});
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 150, 35);  // keyframes at 0, 1.4, 2.8, 4.2, 5.6 s
  r.EndAll();
  r.ExpectEos();
  auto frags = Fragments(ParseFile(r.ReadOutput()), 1);
  fail_unless_equals_int(frags.size(), 3);  // 0, 2.8, 5.6 (targets 2 s after each cut)
  fail_unless_equals_uint64(frags[1].decode_time, 28000000ull);
  fail_unless_equals_uint64(frags[2].decode_time, 56000000ull);
}
GST_END_TEST;

// B-frames: DTS before PTS; the fragment time is the first sample's
// presentation time and composition offsets are signed (trun v1).
GST_START_TEST(test_bframes_composition_offsets) {
  Rig r({"video_%u"});
  r.SetCaps(0, VideoCaps());
  r.Start();
  GstClockTime d = GST_SECOND / 25;
  // Decode order I0 P3 B1 B2 P6 B4 B5 ... with DTS starting one frame early.
  int order[] = {0, 3, 1, 2, 6, 4, 5, 9, 7, 8};
  for (int g = 0; g < 10; g++)
    for (int k = 0; k < 10; k++) {
      int i = g * 10 + k;
      GstClockTime pts = (g * 10 + order[k]) * d + d;  // offset so DTS stays >= 0
      GstClockTime dts = i * d;
      r.Push(0, Sample(500, pts, dts, d, k == 0));
    }
  r.EndAll();
  r.ExpectEos();
  piff::PiffFile f = ParseFile(r.ReadOutput());
  auto frags = Fragments(f, 1);
  fail_unless(!frags.empty());
  fail_unless_equals_uint64(frags[0].decode_time, 0);  // first PTS is the origin
  const auto& trun = f.moofs[0].trafs[0].truns[0];
  fail_unless_equals_int(trun.version, 1);
  fail_unless(trun.flags & piff::TrackRunBox::kSampleCompositionOffset);
  // I0: cto 0; P3 decoded 1 frame later, shown 3 frames later: +2 frames; B1: -1 frame.
  fail_unless_equals_int64(trun.samples[0].composition_offset, 0);
  fail_unless_equals_int64(trun.samples[1].composition_offset, 800000);
  fail_unless_equals_int64(trun.samples[2].composition_offset, -400000);
  // Fragments are 2 s (every other GOP of 0.4 s... keyframe every 10 frames).
  for (auto& fr : frags) fail_unless(fr.samples.front().sync);
  fail_unless_equals_uint64(frags[1].decode_time, 20000000ull);
}
GST_END_TEST;

// Output payload memory is the input's memory (no copy), in buffers of up
// to 16 memories.
GST_START_TEST(test_payload_not_copied) {
  Rig r({"video_%u"}, true);
  r.SetCaps(0, VideoCaps());
  std::vector<GstMemory*> input_memories;
  r.Start();
  GstClockTime dur = GST_SECOND / 25;
  for (int i = 0; i < 60; i++) {
    GstBuffer* b = Sample(2000, i * dur, i * dur, dur, i % 25 == 0);
    input_memories.push_back(gst_buffer_peek_memory(b, 0));
    gst_memory_ref(input_memories.back());
    r.Push(0, b);
  }
  r.EndAll();
  size_t shared = 0, buffers = 0;
  guint64 offset = 0;
  for (;;) {
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(r.sink), 10 * GST_SECOND);
    if (!s) break;
    GstBuffer* b = gst_sample_get_buffer(s);
    buffers++;
    for (guint m = 0; m < gst_buffer_n_memory(b); m++)
      for (GstMemory* in : input_memories)
        if (gst_buffer_peek_memory(b, m) == in) shared++;
    // Not seekable (appsink): the offsets run on, buffer after buffer.
    fail_unless_equals_uint64(GST_BUFFER_OFFSET(b), offset);
    offset += gst_buffer_get_size(b);
    gst_sample_unref(s);
  }
  fail_unless_equals_int(shared, 60);
  // Samples are packed 16 memories to a buffer: ftyp+moov; a fragment of 50
  // (header + 15, 16, 16, 3); one of 10 (header + 10); mfra.
  fail_unless_equals_int(buffers, 1 + 4 + 1 + 1);
  for (GstMemory* m : input_memories) gst_memory_unref(m);
}
GST_END_TEST;

// Samples of several memories (as from a demuxer that hands out sub-buffers):
// each memory shared, a sample's memories never split over two buffers, and
// the mdat holds the samples' bytes in order.
GST_START_TEST(test_payload_multi_memory) {
  Rig r({"video_%u"}, true);
  r.SetCaps(0, VideoCaps());
  r.Start();
  std::vector<GstMemory*> inputs;
  std::vector<uint8_t> expect;
  GstClockTime dur = GST_SECOND / 25;
  for (int i = 0; i < 10; i++) {
    GstBuffer* b = Sample(0, i * dur, i * dur, dur, i == 0);
    for (int m = 0; m < 5; m++) {
      guint8 fill = static_cast<guint8>(i * 5 + m);
      GstMemory* mem = gst_allocator_alloc(nullptr, 100, nullptr);
      GstMapInfo map;
      fail_unless(gst_memory_map(mem, &map, GST_MAP_WRITE));
      memset(map.data, fill, map.size);
      gst_memory_unmap(mem, &map);
      inputs.push_back(gst_memory_ref(mem));
      gst_buffer_append_memory(b, mem);
      expect.insert(expect.end(), 100, fill);
    }
    r.Push(0, b);
  }
  r.EndAll();
  std::vector<uint8_t> out;
  std::vector<std::vector<GstMemory*>> per_buffer;
  for (;;) {
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(r.sink), 10 * GST_SECOND);
    if (!s) break;
    GstBuffer* b = gst_sample_get_buffer(s);
    per_buffer.emplace_back();
    for (guint m = 0; m < gst_buffer_n_memory(b); m++) per_buffer.back().push_back(gst_buffer_peek_memory(b, m));
    std::vector<uint8_t> v(gst_buffer_get_size(b));
    gst_buffer_extract(b, 0, v.data(), v.size());
    out.insert(out.end(), v.begin(), v.end());
    gst_sample_unref(s);
  }
  // ftyp+moov; the fragment: header + 3 samples (16 memories), + 3, + 3, + 1; mfra.
  fail_unless_equals_int(per_buffer.size(), 1 + 4 + 1);
  size_t next = 0;
  for (size_t k = 1; k <= 4; k++) {
    const std::vector<GstMemory*>& mems = per_buffer[k];
    // (not named `first`: gst-check's fail_unless_equals_* declare that name)
    size_t header = k == 1 ? 1 : 0;  // the moof + mdat header
    fail_unless_equals_int((mems.size() - header) % 5, 0);
    for (size_t m = header; m < mems.size(); m++) fail_unless(mems[m] == inputs[next++], "memory %zu not shared", next);
  }
  fail_unless_equals_int(next, inputs.size());
  piff::PiffFile f = ParseFile(out);
  const auto& mdat = f.layout[3];
  fail_unless(mdat.kind == piff::PiffFile::Kind::kMdat);
  fail_unless(std::equal(expect.begin(), expect.end(), out.begin() + mdat.offset + 8), "mdat bytes differ");
  for (GstMemory* m : inputs) gst_memory_unref(m);
}
GST_END_TEST;

// Not seekable downstream (appsink): mfra is still appended, mehd stays 0.
GST_START_TEST(test_not_seekable_downstream) {
  Rig r({"audio_%u"}, true);
  r.SetCaps(0, AudioCaps());
  r.Start();
  PushAudio(r, 0, 200);
  r.EndAll();
  std::vector<uint8_t> data;
  for (;;) {
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(r.sink), 10 * GST_SECOND);
    if (!s) break;
    GstMapInfo map;
    GstBuffer* b = gst_sample_get_buffer(s);
    gst_buffer_map(b, &map, GST_MAP_READ);
    data.insert(data.end(), map.data, map.data + map.size);
    gst_buffer_unmap(b, &map);
    gst_sample_unref(s);
  }
  piff::PiffFile f = ParseFile(data);
  fail_unless(f.mfra.has_value());
  fail_unless_equals_uint64(f.moov->mvex->mehd->fragment_duration, 0);
  auto frags = Fragments(f, 1);
  fail_unless(frags.size() >= 2);
}
GST_END_TEST;

// Audio fragments close at the sample boundary nearest the video boundary,
// and the manifests describe both tracks with exact timelines.
GST_START_TEST(test_av_alignment_and_manifests) {
  Rig r({"video_%u", "audio_%u"});
  std::string ism = r.dir + "/out.ism", ismc = r.dir + "/out.ismc";
  g_object_set(r.mux, "server-manifest", ism.c_str(), "client-manifest", ismc.c_str(), nullptr);
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  PushVideo(r, 0, 150, 50);
  PushAudio(r, 1, 282);  // 6.016 s
  r.EndAll();
  r.ExpectEos();
  piff::PiffFile f = ParseFile(r.ReadOutput());
  auto v = Fragments(f, 1), a = Fragments(f, 2);
  fail_unless_equals_int(v.size(), 3);
  fail_unless_equals_int(a.size(), 3);
  for (size_t i = 1; i < 3; i++) {
    // |audio boundary - video boundary| <= half an AAC frame (1024/48000 s / 2).
    int64_t diff = static_cast<int64_t>(a[i].decode_time) - static_cast<int64_t>(v[i].decode_time);
    fail_unless(diff <= 106667 && diff >= -106667, "audio boundary %" G_GUINT64_FORMAT " vs video %" G_GUINT64_FORMAT,
                a[i].decode_time, v[i].decode_time);
    fail_unless_equals_uint64(a[i].decode_time, a[i - 1].decode_time + a[i - 1].duration);
  }
  piff::ClientManifest cm;
  piff::Status s = piff::ClientManifest::Parse(ReadText(ismc), &cm);
  fail_unless(s.ok(), "%s", s.message().c_str());
  fail_unless_equals_int(cm.streams.size(), 2);
  for (auto& si : cm.streams) {
    auto& track = si.type == "video" ? v : a;
    fail_unless_equals_int(si.FragmentCount(), track.size());
    size_t i = 0;
    si.ForEachFragment([&](uint64_t t, uint64_t d) {
      fail_unless_equals_uint64(t, track[i].decode_time);
      fail_unless_equals_uint64(d, track[i].duration);
      i++;
      return true;
    });
  }
  fail_unless_equals_string(cm.streams[0].quality_levels[0].fourcc.c_str(), "H264");
  fail_unless_equals_string(cm.streams[1].quality_levels[0].fourcc.c_str(), "AACL");
  fail_unless_equals_string(cm.streams[1].quality_levels[0].codec_private_data.c_str(), "1190");
  piff::ServerManifest sm;
  s = piff::ServerManifest::Parse(ReadText(ism), &sm);
  fail_unless(s.ok(), "%s", s.message().c_str());
  fail_unless_equals_string(sm.client_manifest_relative_path().c_str(), "out.ismc");
  fail_unless_equals_int(sm.tracks.size(), 2);
  fail_unless_equals_string(sm.tracks[0].src.c_str(), "out.ismv");  // learned from filesink
  fail_unless_equals_int(*sm.tracks[0].track_id(), 1);
  fail_unless_equals_int(*sm.tracks[1].track_id(), 2);
  fail_unless_equals_string(sm.tracks[1].track_name().c_str(), "audio");
}
GST_END_TEST;

// Two video tracks whose keyframes do not line up: a warning naming the
// track and time; with strict-alignment an error.
static void RunMisaligned(bool strict, std::vector<std::string>* warnings, std::string* error) {
  Rig r({"video_%u", "video_%u"});
  g_object_set(r.mux, "strict-alignment", strict, nullptr);
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, VideoCaps(kAvcC2, sizeof(kAvcC2), 640));
  r.Start();
  PushVideo(r, 0, 150, 50);
  PushVideo(r, 1, 150, 50, 0, 5);  // keyframes at 1.8 s, 3.8 s, ...
  r.EndAll();
  GstMessage* m = r.Wait(warnings);
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) *error = r.ErrorText(m);
  gst_message_unref(m);
}

GST_START_TEST(test_misaligned_keyframes_warn) {
  std::vector<std::string> warnings;
  std::string error;
  RunMisaligned(false, &warnings, &error);
  fail_unless(error.empty(), "%s", error.c_str());
  bool found = false;
  for (auto& w : warnings)
    found |= w.find("video_1") != std::string::npos && w.find("0:00:02.000000000") != std::string::npos;
  fail_unless(found, "no warning naming video_1 and the boundary time");
}
GST_END_TEST;

GST_START_TEST(test_misaligned_keyframes_strict) {
  std::vector<std::string> warnings;
  std::string error;
  RunMisaligned(true, &warnings, &error);
  fail_unless(error.find("do not line up") != std::string::npos, "error was: %s", error.c_str());
}
GST_END_TEST;

// The same misaligned pair with manifests: the level that cannot serve the
// manifest timeline is left out of both manifests, an element message
// "ismvmux-manifests" says which pad, and an error makes the outcome visible
// to gst-launch scripts (exit 1). (Before: both levels with video_0's times.)
GST_START_TEST(test_misaligned_level_left_out) {
  Rig r({"video_%u", "video_%u", "video_%u"});
  std::string ism = r.dir + "/out.ism", ismc = r.dir + "/out.ismc";
  g_object_set(r.mux, "server-manifest", ism.c_str(), "client-manifest", ismc.c_str(), nullptr);
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, VideoCaps(kAvcC2, sizeof(kAvcC2), 640));
  r.SetCaps(2, VideoCaps(kAvcC2, sizeof(kAvcC2), 640));
  r.Start();
  PushVideo(r, 0, 150, 50);
  PushVideo(r, 1, 150, 50, 0, 5);  // keyframes at 1.8 s, 3.8 s, ...
  PushVideo(r, 2, 150, 50);
  r.EndAll();
  GstBus* bus = gst_element_get_bus(r.pipeline);
  const GstStructure* outcome = nullptr;
  GstMessage* outcome_msg = nullptr;
  std::string error;
  for (int n = 0; n < 1000 && error.empty(); n++) {
    GstMessage* m = gst_bus_timed_pop_filtered(
        bus, 20 * GST_SECOND, static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT));
    fail_unless(m != nullptr, "timeout");
    fail_if(GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS, "EOS without an error");
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      error = Rig::ErrorText(m);
      gst_message_unref(m);
    } else if (gst_message_has_name(m, "ismvmux-manifests")) {
      outcome_msg = m;
      outcome = gst_message_get_structure(m);
    } else {
      gst_message_unref(m);
    }
  }
  gst_object_unref(bus);
  fail_unless(error.find("left out of the manifests") != std::string::npos, "error was: %s", error.c_str());
  fail_unless(error.find("video_1") != std::string::npos, "error does not name the pad: %s", error.c_str());
  fail_unless(outcome != nullptr, "no ismvmux-manifests element message before the error");
  guint levels = 0, left = 0;
  fail_unless(gst_structure_get_uint(outcome, "quality-levels", &levels));
  fail_unless(gst_structure_get_uint(outcome, "left-out", &left));
  fail_unless_equals_int(levels, 2);
  fail_unless_equals_int(left, 1);
  const GValue* pads = gst_structure_get_value(outcome, "left-out-pads");
  fail_unless_equals_int(gst_value_array_get_size(pads), 1);
  fail_unless_equals_string(g_value_get_string(gst_value_array_get_value(pads, 0)), "video_1");
  gst_message_unref(outcome_msg);

  piff::ClientManifest cm;
  fail_unless(piff::ClientManifest::Parse(ReadText(ismc), &cm).ok());
  fail_unless_equals_int(cm.streams[0].quality_levels.size(), 2);
  piff::ServerManifest sm;
  fail_unless(piff::ServerManifest::Parse(ReadText(ism), &sm).ok());
  fail_unless_equals_int(sm.tracks.size(), 2);
  fail_unless_equals_int(*sm.tracks[0].track_id(), 1);
  fail_unless_equals_int(*sm.tracks[1].track_id(), 3);
  // The listed times are the fragments of the levels that stay.
  piff::PiffFile f = ParseFile(r.ReadOutput());
  auto v0 = Fragments(f, 1), v2 = Fragments(f, 3);
  fail_unless_equals_int(cm.streams[0].FragmentCount(), v0.size());
  fail_unless_equals_int(v2.size(), v0.size());
}
GST_END_TEST;

GST_START_TEST(test_missing_codec_data) {
  Rig r({"video_%u"});
  r.SetCaps(0, gst_caps_from_string("video/x-h264,stream-format=avc,alignment=au,width=320,height=180"));
  r.Start();
  PushVideo(r, 0, 10, 5);
  r.EndAll();
  GstMessage* m = r.Wait();
  std::string e = r.ErrorText(m);
  gst_message_unref(m);
  fail_unless(e.find("codec_data") != std::string::npos, "error was: %s", e.c_str());
}
GST_END_TEST;

GST_START_TEST(test_missing_timestamps) {
  Rig r({"video_%u"});
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 5, 5);
  r.Push(0, Sample(100, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, GST_CLOCK_TIME_NONE, false));
  r.EndAll();
  GstMessage* m = r.Wait();
  std::string e = r.ErrorText(m);
  gst_message_unref(m);
  fail_unless(e.find("without timestamp") != std::string::npos, "error was: %s", e.c_str());
}
GST_END_TEST;

GST_START_TEST(test_dts_backwards) {
  Rig r({"video_%u"});
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 5, 5);
  r.Push(0, Sample(100, GST_SECOND / 25, GST_SECOND / 25, GST_SECOND / 25, false));
  r.EndAll();
  GstMessage* m = r.Wait();
  std::string e = r.ErrorText(m);
  gst_message_unref(m);
  fail_unless(e.find("backwards") != std::string::npos, "error was: %s", e.c_str());
}
GST_END_TEST;

GST_START_TEST(test_caps_change_midstream) {
  Rig r({"video_%u"});
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 60, 25);
  r.SetCaps(0, VideoCaps(kAvcC2, sizeof(kAvcC2), 640));
  PushVideo(r, 0, 10, 25, 60 * GST_SECOND / 25);
  r.EndAll();
  GstMessage* m = r.Wait();
  std::string e = r.ErrorText(m);
  gst_message_unref(m);
  fail_unless(e.find("Caps changed") != std::string::npos, "error was: %s", e.c_str());
}
GST_END_TEST;

// Same caps again (renegotiation without change) is accepted.
GST_START_TEST(test_same_caps_again) {
  Rig r({"video_%u"});
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 60, 25);
  r.SetCaps(0, VideoCaps());
  PushVideo(r, 0, 10, 25, 60 * GST_SECOND / 25);
  r.EndAll();
  r.ExpectEos();
}
GST_END_TEST;

// Documented recovery: leading non-keyframes are dropped with a warning.
GST_START_TEST(test_starts_on_non_keyframe) {
  Rig r({"video_%u"});
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 100, 25, 0, 22);  // first keyframe at frame 3
  r.EndAll();
  std::vector<std::string> warnings;
  GstMessage* m = r.Wait(&warnings);
  fail_unless_equals_int(GST_MESSAGE_TYPE(m), GST_MESSAGE_EOS);
  gst_message_unref(m);
  bool found = false;
  for (auto& w : warnings) found |= w.find("did not start with a keyframe") != std::string::npos &&
                                    w.find("dropped 3") != std::string::npos;
  fail_unless(found, "no warning about the 3 dropped frames");
  auto frags = Fragments(ParseFile(r.ReadOutput()), 1);
  size_t total = 0;
  for (auto& fr : frags) total += fr.samples.size();
  fail_unless_equals_int(total, 97);
  fail_unless(frags[0].samples[0].sync);
  // The origin is the earliest input timestamp (dropped frames included), so
  // that A/V sync holds when the other streams start earlier.
  fail_unless_equals_uint64(frags[0].decode_time, 1200000ull);
}
GST_END_TEST;

GST_START_TEST(test_manifest_write_error) {
  Rig r({"audio_%u"});
  g_object_set(r.mux, "server-manifest", "/nonexistent-dir/x.ism", "client-manifest", "/nonexistent-dir/x.ismc",
               nullptr);
  r.SetCaps(0, AudioCaps());
  r.Start();
  PushAudio(r, 0, 50);
  r.EndAll();
  GstMessage* m = r.Wait();
  std::string e = r.ErrorText(m);
  gst_message_unref(m);
  fail_unless(e.find("Could not write manifest") != std::string::npos, "error was: %s", e.c_str());
}
GST_END_TEST;

// A failing downstream write (filesink on /dev/full) ends in an error, not a hang.
GST_START_TEST(test_output_write_error) {
  Rig r({"audio_%u"});
  g_object_set(r.sink, "location", "/dev/full", nullptr);
  r.SetCaps(0, AudioCaps());
  r.Start();
  PushAudio(r, 0, 2000);
  r.EndAll();
  GstMessage* m = r.Wait();
  fail_unless_equals_int(GST_MESSAGE_TYPE(m), GST_MESSAGE_ERROR);
  gst_message_unref(m);
}
GST_END_TEST;

// A non-default timescale reaches mdhd, tfxd, tfra and the manifest.
// Loading the plugin costs what its libraries cost to load and relocate:
// OpenSSL's libcrypto (about 6 million instructions) is only for encrypted
// content, so clear muxing must never load it.
GST_START_TEST(test_clear_mux_does_not_load_libcrypto) {
  Rig r({"video_%u", "audio_%u"});
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  PushVideo(r, 0, 60, 25);
  PushAudio(r, 1, 110);
  r.EndAll();
  r.ExpectEos();
  fail_unless(r.ReadOutput().size() > 0);
  std::string maps = ReadText("/proc/self/maps");
  fail_unless(!maps.empty());
  fail_unless(maps.find("libcrypto") == std::string::npos, "libcrypto is mapped after muxing clear content");
}
GST_END_TEST;

GST_START_TEST(test_custom_timescale) {
  Rig r({"video_%u"});
  std::string ismc = r.dir + "/out.ismc";
  g_object_set(r.mux, "timescale", 90000, "client-manifest", ismc.c_str(), nullptr);
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 100, 50);
  r.EndAll();
  r.ExpectEos();
  piff::PiffFile f = ParseFile(r.ReadOutput());
  fail_unless_equals_int(f.moov->tracks[0].mdia.mdhd.timescale, 90000);
  auto frags = Fragments(f, 1);
  fail_unless_equals_int(frags.size(), 2);
  fail_unless_equals_uint64(frags[1].decode_time, 180000);
  fail_unless_equals_int(frags[0].samples[0].duration, 3600);
  fail_unless_equals_uint64(f.mfra->tfras[0].entries[1].time, 180000);
  piff::ClientManifest cm;
  fail_unless(piff::ClientManifest::Parse(ReadText(ismc), &cm).ok());
  fail_unless_equals_uint64(cm.timescale, 90000);
  fail_unless_equals_uint64(cm.duration, 360000);
  piff::FragmentInfo fi;
  fail_unless(cm.streams[0].GetFragment(1, &fi));
  fail_unless_equals_uint64(fi.t, 180000);
}
GST_END_TEST;

static long RssKiB() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

// Memory stays flat as the stream gets longer: 10 minutes of 25 fps video
// (150 MB of samples) through the muxer; RSS after minute 10 is within a few
// MB of RSS after minute 1.
GST_START_TEST(test_memory_flat) {
  Rig r({"video_%u"}, Rig::Sink::kFake);
  g_object_set(r.srcs[0], "max-bytes", (guint64)(1 << 20), "block", TRUE, nullptr);
  r.SetCaps(0, VideoCaps());
  r.Start();
  GstClockTime dur = GST_SECOND / 25;
  long after_first_minute = 0;
  for (int i = 0; i < 25 * 600; i++) {
    r.Push(0, Sample(10000, i * dur, i * dur, dur, i % 50 == 0));
    if (i == 25 * 60) after_first_minute = RssKiB();
  }
  r.EndAll();
  r.ExpectEos();
  long at_end = RssKiB();
  fail_unless(after_first_minute > 0 && at_end > 0);
  fail_unless(at_end - after_first_minute < 8 * 1024, "RSS grew from %ld KiB to %ld KiB", after_first_minute, at_end);
}
GST_END_TEST;

// timestamp-mode=running-time keeps absolute times (live rigs).
GST_START_TEST(test_running_time_mode) {
  Rig r({"video_%u"});
  g_object_set(r.mux, "timestamp-mode", 1, nullptr);
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 100, 25, 100 * GST_SECOND);
  r.EndAll();
  r.ExpectEos();
  auto frags = Fragments(ParseFile(r.ReadOutput()), 1);
  fail_unless_equals_uint64(frags[0].decode_time, 1000000000ull);
  fail_unless_equals_uint64(frags[1].decode_time, 1020000000ull);
}
GST_END_TEST;

// Default: the earliest input timestamp becomes 0 even when streams start late.
GST_START_TEST(test_zero_mode_offsets) {
  Rig r({"video_%u"});
  r.SetCaps(0, VideoCaps());
  r.Start();
  PushVideo(r, 0, 60, 25, 42 * GST_SECOND);
  r.EndAll();
  r.ExpectEos();
  auto frags = Fragments(ParseFile(r.ReadOutput()), 1);
  fail_unless_equals_uint64(frags[0].decode_time, 0);
}
GST_END_TEST;

// The reference (video) pad released while muxing: its track ends there and
// the audio takes over the fragmenting, instead of holding every sample
// until EOS.
GST_START_TEST(test_reference_pad_released) {
  Rig r({"video_%u", "audio_%u"});
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  GstPad* vpad = gst_element_get_static_pad(r.mux, "video_0");
  fail_unless(vpad != nullptr);
  g_object_set(vpad, "emit-signals", TRUE, nullptr);
  gint consumed = 0;
  g_signal_connect(vpad, "buffer-consumed",
                   G_CALLBACK(+[](GstPad*, GstBuffer*, gpointer n) { g_atomic_int_inc(static_cast<gint*>(n)); }),
                   &consumed);
  r.Start();
  PushVideo(r, 0, 50, 25);  // 2 s
  PushAudio(r, 1, 118);     // 2.5 s: every video sample can go
  gint64 deadline = g_get_monotonic_time() + 10 * G_TIME_SPAN_SECOND;
  while (g_atomic_int_get(&consumed) < 50 && g_get_monotonic_time() < deadline) g_usleep(1000);
  fail_unless_equals_int(g_atomic_int_get(&consumed), 50);
  GstPad* srcpad = gst_element_get_static_pad(r.srcs[0], "src");
  fail_unless(gst_pad_unlink(srcpad, vpad));
  gst_object_unref(srcpad);
  gst_element_release_request_pad(r.mux, vpad);
  gst_object_unref(vpad);
  for (int i = 118; i < 563; i++) {  // on to 12 s
    GstClockTime ts = gst_util_uint64_scale(i, 1024 * GST_SECOND, 48000);
    GstClockTime next = gst_util_uint64_scale(i + 1, 1024 * GST_SECOND, 48000);
    r.Push(1, Sample(300, ts, ts, next - ts, true));
  }
  gst_app_src_end_of_stream(GST_APP_SRC(r.srcs[1]));
  std::vector<std::string> warnings;
  GstMessage* m = r.Wait(&warnings);
  if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) fail("unexpected error: %s", Rig::ErrorText(m).c_str());
  gst_message_unref(m);
  bool warned = false;
  for (auto& w : warnings) warned |= w.find("released while muxing") != std::string::npos;
  fail_unless(warned, "no warning about the released pad");
  piff::PiffFile f = ParseFile(r.ReadOutput());
  auto v = Fragments(f, 1), a = Fragments(f, 2);
  fail_unless_equals_int(v.size(), 1);
  fail_unless_equals_int(v[0].samples.size(), 50);
  // 12 s of audio in 2 s fragments (to the nearest AAC frame).
  fail_unless_equals_int(a.size(), 6);
  size_t samples = 0;
  for (auto& x : a) {
    fail_unless(x.duration <= 21000000, "audio fragment at %" G_GUINT64_FORMAT " lasts %" G_GUINT64_FORMAT,
                x.decode_time, x.duration);
    samples += x.samples.size();
  }
  fail_unless_equals_int(samples, 563);
}
GST_END_TEST;

// Live input keeps the aggregator's input path and latency: by default the
// muxer reports its upstream's latency unchanged (it adds none), and the
// `latency` property adds exactly its value. The muxed output is complete.
static GstClockTime LiveMuxLatency(guint64 extra) {
  Rig r({"video_%u", "audio_%u"}, Rig::Sink::kFake, true);
  for (auto* src : r.srcs)
    g_object_set(src, "min-latency", static_cast<gint64>(100 * GST_MSECOND), "max-latency",
                 static_cast<gint64>(GST_SECOND), nullptr);
  g_object_set(r.mux, "latency", extra, nullptr);
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  GstQuery* q = gst_query_new_latency();
  fail_unless(gst_element_query(r.mux, q), "latency query failed");
  gboolean live = FALSE;
  GstClockTime min = 0, max = 0;
  gst_query_parse_latency(q, &live, &min, &max);
  gst_query_unref(q);
  fail_unless(live, "not live");
  PushVideo(r, 0, 50, 25);
  for (int i = 0; i < 94; i++) {
    GstClockTime ts = gst_util_uint64_scale(i, 1024 * GST_SECOND, 48000);
    GstClockTime next = gst_util_uint64_scale(i + 1, 1024 * GST_SECOND, 48000);
    r.Push(1, Sample(300, ts, ts, next - ts, true));
  }
  r.EndAll();
  r.ExpectEos();
  return min;
}

GST_START_TEST(test_live_latency_unchanged) {
  fail_unless_equals_uint64(LiveMuxLatency(0), 100 * GST_MSECOND);
  fail_unless_equals_uint64(LiveMuxLatency(300 * GST_MSECOND), 400 * GST_MSECOND);
}
GST_END_TEST;

GST_START_TEST(test_no_pads_after_start) {
  GstElement* mux = gst_element_factory_make("ismvmux", nullptr);
  GstPad* a = gst_element_request_pad_simple(mux, "video_%u");
  GstPad* b = gst_element_request_pad_simple(mux, "audio_%u");
  fail_unless_equals_string(GST_PAD_NAME(a), "video_0");
  fail_unless_equals_string(GST_PAD_NAME(b), "audio_0");
  gst_element_release_request_pad(mux, a);
  gst_element_release_request_pad(mux, b);
  gst_object_unref(a);
  gst_object_unref(b);
  gst_object_unref(mux);
}
GST_END_TEST;

// Pad languages through GstChildProxy, as gst-launch-1.0 sets them
// (`ismvmux name=mux audio_0::language=pt-BR`): BCP 47 and ISO 639-2/B tags
// are written as ISO 639-2/T in mdhd; a tag that maps to no language is a
// warning naming the pad and the tag, and the track stays "und".
GST_START_TEST(test_pad_language) {
  Rig r({"audio_%u", "audio_%u", "audio_%u"});
  fail_unless(GST_IS_CHILD_PROXY(r.mux), "ismvmux is no GstChildProxy");
  GstChildProxy* proxy = GST_CHILD_PROXY(r.mux);
  fail_unless_equals_int(gst_child_proxy_get_children_count(proxy), 3);
  gst_child_proxy_set(proxy, "audio_0::language", "pt-BR", "audio_1::language", "fre", "audio_2::language", "klingon",
                      nullptr);
  gchar* v = nullptr;
  gst_child_proxy_get(proxy, "audio_0::language", &v, nullptr);
  fail_unless_equals_string(v, "pt-BR");  // the property keeps what was set
  g_free(v);
  for (size_t i = 0; i < 3; i++) r.SetCaps(i, AudioCaps());
  r.Start();
  for (size_t i = 0; i < 3; i++) PushAudio(r, i, 50);
  r.EndAll();
  std::vector<std::string> warnings;
  GstMessage* m = r.Wait(&warnings);
  fail_unless_equals_int(GST_MESSAGE_TYPE(m), GST_MESSAGE_EOS);
  gst_message_unref(m);
  piff::PiffFile f = ParseFile(r.ReadOutput());
  fail_unless_equals_int(f.moov->tracks.size(), 3);
  const char* want[] = {"por", "fra", "und"};
  for (size_t i = 0; i < 3; i++) fail_unless_equals_string(f.moov->tracks[i].mdia.mdhd.language.c_str(), want[i]);
  fail_unless_equals_int(warnings.size(), 1);
  fail_unless(warnings[0].find("Pad audio_2") != std::string::npos && warnings[0].find("\"klingon\"") != std::string::npos,
              "%s", warnings[0].c_str());
}
GST_END_TEST;

static Suite* ismvmux_suite(void) {
  Suite* s = suite_create("ismvmux");
  TCase* tc = tcase_create("general");
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_properties);
  tcase_add_test(tc, test_video_fragments_and_index);
  tcase_add_test(tc, test_fragment_closes_at_next_keyframe);
  tcase_add_test(tc, test_bframes_composition_offsets);
  tcase_add_test(tc, test_payload_not_copied);
  tcase_add_test(tc, test_payload_multi_memory);
  tcase_add_test(tc, test_not_seekable_downstream);
  tcase_add_test(tc, test_av_alignment_and_manifests);
  tcase_add_test(tc, test_misaligned_keyframes_warn);
  tcase_add_test(tc, test_misaligned_keyframes_strict);
  tcase_add_test(tc, test_misaligned_level_left_out);
  tcase_add_test(tc, test_missing_codec_data);
  tcase_add_test(tc, test_missing_timestamps);
  tcase_add_test(tc, test_dts_backwards);
  tcase_add_test(tc, test_caps_change_midstream);
  tcase_add_test(tc, test_same_caps_again);
  tcase_add_test(tc, test_starts_on_non_keyframe);
  tcase_add_test(tc, test_manifest_write_error);
  tcase_add_test(tc, test_output_write_error);
  tcase_add_test(tc, test_running_time_mode);
  tcase_add_test(tc, test_zero_mode_offsets);
  tcase_add_test(tc, test_no_pads_after_start);
  tcase_add_test(tc, test_reference_pad_released);
  tcase_add_test(tc, test_live_latency_unchanged);
  tcase_add_test(tc, test_memory_flat);
  tcase_add_test(tc, test_custom_timescale);
  tcase_add_test(tc, test_clear_mux_does_not_load_libcrypto);
  tcase_add_test(tc, test_pad_language);
  return s;
}

GST_CHECK_MAIN(ismvmux);
