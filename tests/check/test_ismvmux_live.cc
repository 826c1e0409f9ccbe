// gst-check tests of ismvmux's live mode (live=true, ismvmux_live.h): the
// header in the caps' streamheader and as the first, HEADER-flagged buffer,
// identical across runs; one buffer list per track fragment whose first
// buffer's GstIsmvFragmentMeta matches its own tfxd/mfhd and size, the rest
// flagged as continuations; no mfra unless asked, no seeks; shared payload
// memory, also in fragments longer than a GstBuffer's 16 memories; the clock
// grid of ganged encoders; a stalled
// live input that does not hold the other tracks back. Every check reads the
// bytes with the core (PiffFile, StreamReader), not with the element's code.
#include <functional>
#include <map>
#include <set>
#include <tuple>
#include <string>
#include <vector>

#include "file.h"
#include "server_manifest.h"
#include "stream_reader.h"

#include "mux_rig.h"
#include "mux_samples.h"

#include <gst/app/gstappsink.h>
#include <gst/check/gstcheck.h>
#include <gst/video/video.h>

namespace {

std::vector<uint8_t> Bytes(GstBuffer* b) {
  std::vector<uint8_t> v(gst_buffer_get_size(b));
  gst_buffer_extract(b, 0, v.data(), v.size());
  return v;
}

std::vector<uint8_t> Bytes(const std::vector<GstBuffer*>& buffers) {
  std::vector<uint8_t> all;
  for (GstBuffer* b : buffers) {
    std::vector<uint8_t> v = Bytes(b);
    all.insert(all.end(), v.begin(), v.end());
  }
  return all;
}

// Everything the muxer pushed, in order: each push (a buffer, or a buffer
// list: the appsink runs with buffer-list=true) is one unit.
struct LiveOutput {
  struct Unit {
    std::vector<GstBuffer*> buffers;  // owned by the LiveOutput
    bool list = false;
  };
  GstCaps* caps = nullptr;
  std::vector<Unit> units;
  LiveOutput() = default;
  LiveOutput(const LiveOutput&) = delete;
  LiveOutput& operator=(const LiveOutput&) = delete;
  ~LiveOutput() {
    if (caps) gst_caps_unref(caps);
    for (auto& u : units)
      for (auto* b : u.buffers) gst_buffer_unref(b);
  }
  std::vector<uint8_t> Bytes(size_t unit) const { return ::Bytes(units[unit].buffers); }
};

// The live tests' appsink hands out whole buffer lists.
void PullLists(Rig& r) { g_object_set(r.sink, "buffer-list", TRUE, nullptr); }

// The first buffer of a pulled sample, whether it holds a buffer or a list.
GstBuffer* FirstBuffer(GstSample* s) {
  if (GstBuffer* b = gst_sample_get_buffer(s)) return b;
  GstBufferList* l = gst_sample_get_buffer_list(s);
  fail_unless(l && gst_buffer_list_length(l) > 0, "an empty sample");
  return gst_buffer_list_get(l, 0);
}

void PullAll(Rig& r, LiveOutput* out) {
  for (;;) {
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(r.sink), 10 * GST_SECOND);
    if (!s) break;
    if (!out->caps && gst_sample_get_caps(s)) out->caps = gst_caps_ref(gst_sample_get_caps(s));
    LiveOutput::Unit u;
    if (GstBufferList* l = gst_sample_get_buffer_list(s)) {
      u.list = true;
      for (guint i = 0; i < gst_buffer_list_length(l); i++) u.buffers.push_back(gst_buffer_ref(gst_buffer_list_get(l, i)));
    } else {
      u.buffers.push_back(gst_buffer_ref(gst_sample_get_buffer(s)));
    }
    out->units.push_back(std::move(u));
    gst_sample_unref(s);
  }
  fail_unless(gst_app_sink_is_eos(GST_APP_SINK(r.sink)), "no EOS after the last buffer");
}

const GstStructure* FragmentMeta(GstBuffer* b) {
  GstCustomMeta* m = gst_buffer_get_custom_meta(b, "GstIsmvFragmentMeta");
  return m ? gst_custom_meta_get_structure(m) : nullptr;
}

// Video (25 fps, GOP 25) + audio, 2 s, live ingest with 1 s fragments.
void RunAv(bool live_sources, LiveOutput* out, const std::function<void(Rig&)>& configure = nullptr) {
  Rig r({"video_%u", "audio_%u"}, Rig::Sink::kApp, live_sources);
  PullLists(r);
  g_object_set(r.mux, "live", TRUE, "fragment-duration", static_cast<guint64>(GST_SECOND), nullptr);
  if (configure) configure(r);
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  PushVideo(r, 0, 50, 25);
  PushAudio(r, 1, 94);
  r.EndAll();
  PullAll(r, out);
}

// The contract of ismvmux_live.h, checked buffer by buffer.
void CheckContract(const LiveOutput& out, size_t expect_fragments) {
  fail_unless(out.caps != nullptr);
  GstStructure* cs = gst_caps_get_structure(out.caps, 0);
  fail_unless(gst_structure_has_name(cs, "video/quicktime"));
  fail_unless_equals_string(gst_structure_get_string(cs, "variant"), "isml");
  const GValue* sh = gst_structure_get_value(cs, "streamheader");
  fail_unless(sh && GST_VALUE_HOLDS_ARRAY(sh) && gst_value_array_get_size(sh) == 1, "no streamheader in the caps");
  GstBuffer* caps_header = gst_value_get_buffer(gst_value_array_get_value(sh, 0));
  fail_unless(GST_BUFFER_FLAG_IS_SET(caps_header, GST_BUFFER_FLAG_HEADER));

  fail_unless(out.units.size() == expect_fragments + 1, "%zu units", out.units.size());
  fail_unless(!out.units[0].list, "the header came in a buffer list");
  GstBuffer* head = out.units[0].buffers[0];
  fail_unless(GST_BUFFER_FLAG_IS_SET(head, GST_BUFFER_FLAG_HEADER));
  fail_unless(!GST_BUFFER_PTS_IS_VALID(head) && !GST_BUFFER_DTS_IS_VALID(head));
  fail_unless(Bytes(head) == Bytes(caps_header), "the first buffer is not the caps' streamheader");
  piff::PiffFile h = ParseFile(Bytes(head));
  fail_unless_equals_int(h.layout.size(), 3);
  fail_unless(h.ftyp && h.ftyp->major_brand == piff::MakeFourCC("isml") && h.ftyp->minor_version == 1);
  fail_unless(h.live_manifest && h.moov && h.moov->mvex);
  piff::ServerManifest lsm;
  fail_unless(piff::ServerManifest::Parse(h.live_manifest->xml, &lsm).ok());
  fail_unless_equals_int(lsm.tracks.size(), h.moov->tracks.size());
  std::map<uint32_t, std::string> names;
  for (size_t i = 0; i < lsm.tracks.size(); i++) {
    fail_unless_equals_int(*lsm.tracks[i].track_id(), h.moov->tracks[i].tkhd.track_id);
    names[*lsm.tracks[i].track_id()] = lsm.tracks[i].track_name();
    for (const char* p : {"FourCC", "CodecPrivateData", "timescale"})
      fail_unless(lsm.tracks[i].FindParam(p) != nullptr, "LSM track %zu has no %s", i, p);
  }

  guint64 offset = gst_buffer_get_size(head);
  for (size_t i = 1; i < out.units.size(); i++) {
    const LiveOutput::Unit& u = out.units[i];
    fail_unless(u.list, "fragment %zu is not a buffer list", i);
    GstBuffer* b = u.buffers[0];
    // Continuations: no timestamps, no meta, DELTA_UNIT; offsets run on.
    for (size_t k = 0; k < u.buffers.size(); k++) {
      GstBuffer* c = u.buffers[k];
      fail_unless(!GST_BUFFER_FLAG_IS_SET(c, GST_BUFFER_FLAG_HEADER));
      fail_unless(gst_buffer_n_memory(c) <= gst_buffer_get_max_memory());
      fail_unless_equals_uint64(GST_BUFFER_OFFSET(c), offset);
      offset += gst_buffer_get_size(c);
      fail_unless_equals_uint64(GST_BUFFER_OFFSET_END(c), offset);
      if (k == 0) continue;
      fail_unless(FragmentMeta(c) == nullptr, "fragment %zu: continuation %zu has a meta", i, k);
      fail_unless(!GST_BUFFER_PTS_IS_VALID(c) && !GST_BUFFER_DTS_IS_VALID(c) && !GST_BUFFER_DURATION_IS_VALID(c));
      fail_unless(GST_BUFFER_FLAG_IS_SET(c, GST_BUFFER_FLAG_DELTA_UNIT), "fragment %zu: continuation %zu", i, k);
    }
    std::vector<uint8_t> bytes = out.Bytes(i);
    piff::PiffFile f = ParseFile(bytes);
    fail_unless_equals_int(f.layout.size(), 2);
    fail_unless(f.layout[0].kind == piff::PiffFile::Kind::kMoof && f.layout[1].kind == piff::PiffFile::Kind::kMdat,
                "buffer %zu is not one moof + mdat", i);
    fail_unless(f.layout[1].offset + f.layout[1].size == bytes.size());
    const piff::MovieFragmentBox& moof = f.moofs[0];
    fail_unless_equals_int(moof.trafs.size(), 1);
    const piff::TrackFragmentBox& traf = moof.trafs[0];
    fail_unless(traf.tfxd.has_value(), "no tfxd");
    std::vector<piff::TrackFragmentSamples> samples;
    fail_unless(f.Fragments(&samples).ok());
    const GstStructure* m = FragmentMeta(b);
    fail_unless(m != nullptr, "fragment %zu has no GstIsmvFragmentMeta", i);
    fail_unless(gst_structure_has_name(m, "ismv-fragment"));
    guint track = 0, timescale = 0, sequence = 0;
    guint64 time = 0, duration = 0, size = 0;
    gboolean key = FALSE;
    fail_unless(gst_structure_get(m, "track-id", G_TYPE_UINT, &track, "time", G_TYPE_UINT64, &time, "duration",
                                  G_TYPE_UINT64, &duration, "timescale", G_TYPE_UINT, &timescale, "sequence",
                                  G_TYPE_UINT, &sequence, "keyframe", G_TYPE_BOOLEAN, &key, "size", G_TYPE_UINT64,
                                  &size, nullptr));
    fail_unless_equals_uint64(size, bytes.size());
    fail_unless_equals_int(track, traf.tfhd.track_id);
    fail_unless_equals_uint64(time, traf.tfxd->fragment_absolute_time);
    fail_unless_equals_uint64(duration, traf.tfxd->fragment_duration);
    fail_unless_equals_int(timescale, 10000000);
    fail_unless_equals_int(sequence, moof.mfhd.sequence_number);
    fail_unless(key == samples[0].samples[0].sync);
    fail_unless(key == !GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT));
    fail_unless_equals_string(gst_structure_get_string(m, "track-name"), names[track].c_str());
    fail_unless_equals_uint64(GST_BUFFER_PTS(b), gst_util_uint64_scale_round(time, GST_SECOND, timescale));
    fail_unless_equals_uint64(GST_BUFFER_DTS(b), GST_BUFFER_PTS(b));
    fail_unless_equals_uint64(GST_BUFFER_PTS(b) + GST_BUFFER_DURATION(b),
                              gst_util_uint64_scale_round(time + duration, GST_SECOND, timescale));
  }
}

// The whole stream through the core's incremental reader, a buffer at a
// time as a sink gets it: every moof starts a pushed buffer; sample counts.
void CheckWithStreamReader(const LiveOutput& out, std::map<uint32_t, size_t>* samples_per_track) {
  piff::StreamReader reader;
  std::vector<uint8_t> held;
  std::vector<uint64_t> unit_starts;
  std::vector<uint64_t> moofs;
  uint64_t total = 0;
  for (const LiveOutput::Unit& u : out.units) {
    unit_starts.push_back(total);
    for (GstBuffer* b : u.buffers) {
      std::vector<uint8_t> v = Bytes(b);
      total += v.size();
      held.insert(held.end(), v.begin(), v.end());
      for (int guard = 0; guard < 100000; guard++) {
        size_t want = reader.Want(held.size());
        piff::StreamStep step;
        piff::Status s = reader.Next(want ? held.data() : nullptr, want, held.size(), &step);
        fail_unless(s.ok(), "StreamReader: %s (%s)", step.error_text.c_str(), s.message().c_str());
        if (step.kind == piff::StreamStep::Kind::kNeedData) {
          if (step.again) continue;
          break;
        }
        if (step.kind == piff::StreamStep::Kind::kUnit && step.unit == piff::StreamUnit::kMoof) {
          moofs.push_back(step.offset);
          for (size_t k = 0; k < reader.fragments().size(); k++) {
            (*samples_per_track)[reader.fragments()[k].track_id] += reader.fragments()[k].samples.size();
            fail_unless(reader.Queue(k).ok());
          }
        }
        held.erase(held.begin(), held.begin() + static_cast<std::ptrdiff_t>(step.size));
      }
    }
  }
  fail_unless(held.empty(), "%zu bytes left unread", held.size());
  fail_unless(!reader.Finish(0).truncated);
  fail_unless(reader.live_manifest().has_value() && reader.moov().has_value());
  fail_unless_equals_int(moofs.size(), out.units.size() - 1);
  for (size_t i = 0; i < moofs.size(); i++) fail_unless_equals_uint64(moofs[i], unit_starts[i + 1]);
}

void CheckAvStream(const LiveOutput& out) {
  CheckContract(out, 4);
  std::map<uint32_t, size_t> counts;
  CheckWithStreamReader(out, &counts);
  fail_unless_equals_int(counts[1], 50);
  fail_unless_equals_int(counts[2], 94);
  // No mfra by default.
  for (size_t i = 0; i < out.units.size(); i++) fail_unless(out.Bytes(i).size() != 8);
}

}  // namespace

GST_START_TEST(test_live_contract) {
  LiveOutput out;
  RunAv(false, &out);
  CheckAvStream(out);
}
GST_END_TEST;

// Live sources: the aggregator's own input path and timeout.
GST_START_TEST(test_live_contract_live_sources) {
  LiveOutput out;
  RunAv(true, &out);
  CheckAvStream(out);
}
GST_END_TEST;

// Two runs, one with clock timestamps (wall-clock dependent times): the
// same header bytes.
GST_START_TEST(test_live_header_identical) {
  LiveOutput a, b;
  RunAv(false, &a);
  RunAv(true, &b, [](Rig& r) { gst_util_set_object_arg(G_OBJECT(r.mux), "timestamp-mode", "clock"); });
  fail_unless(a.Bytes(0) == b.Bytes(0), "headers differ between runs");
}
GST_END_TEST;

GST_START_TEST(test_live_end_mfra) {
  LiveOutput out;
  RunAv(false, &out, [](Rig& r) { g_object_set(r.mux, "live-end-mfra", TRUE, nullptr); });
  std::vector<uint8_t> last = out.Bytes(out.units.size() - 1);
  std::vector<uint8_t> empty_mfra = {0, 0, 0, 8, 'm', 'f', 'r', 'a'};
  fail_unless(last == empty_mfra, "the last buffer is not the empty mfra");
  fail_unless(!out.units.back().list);
  fail_unless_equals_int(out.units.size(), 6);
}
GST_END_TEST;

// Downstream sees one TIME segment and nothing that seeks back.
static GstPadProbeReturn RecordSegments(GstPad*, GstPadProbeInfo* info, gpointer user) {
  GstEvent* e = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(e) == GST_EVENT_SEGMENT) {
    const GstSegment* seg = nullptr;
    gst_event_parse_segment(e, &seg);
    static_cast<std::vector<GstFormat>*>(user)->push_back(seg->format);
  }
  return GST_PAD_PROBE_OK;
}

GST_START_TEST(test_live_no_seek) {
  std::vector<GstFormat> formats;
  LiveOutput out;
  RunAv(false, &out, [&formats](Rig& r) {
    GstPad* pad = gst_element_get_static_pad(r.sink, "sink");
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, RecordSegments, &formats, nullptr);
    gst_object_unref(pad);
  });
  fail_unless_equals_int(formats.size(), 1);
  fail_unless_equals_int(formats[0], GST_FORMAT_TIME);
}
GST_END_TEST;

// Payload memory is the input's: every input memory is in the output once
// (pointer-identical), and nothing else but the fragment headers is.
// `frames` video frames at 25 fps, a keyframe every `gop`, fragments of
// `fragment_ms`; returns the number of buffers of each fragment.
static std::vector<size_t> RunShared(int frames, int gop, guint64 fragment_ms, size_t expect_fragments) {
  Rig r({"video_%u"}, Rig::Sink::kApp);
  PullLists(r);
  g_object_set(r.mux, "live", TRUE, "fragment-duration", fragment_ms * GST_MSECOND, nullptr);
  r.SetCaps(0, VideoCaps());
  r.Start();
  std::vector<GstMemory*> inputs;
  GstClockTime dur = GST_SECOND / 25;
  for (int i = 0; i < frames; i++) {
    GstBuffer* b = Sample(2000 + i, i * dur, i * dur, dur, i % gop == 0);
    inputs.push_back(gst_memory_ref(gst_buffer_peek_memory(b, 0)));
    r.Push(0, b);
  }
  r.EndAll();
  LiveOutput out;
  PullAll(r, &out);
  CheckContract(out, expect_fragments);
  std::set<GstMemory*> in_set(inputs.begin(), inputs.end());
  size_t shared = 0, other = 0;
  std::vector<size_t> sizes;
  for (size_t i = 1; i < out.units.size(); i++) {
    sizes.push_back(out.units[i].buffers.size());
    for (GstBuffer* b : out.units[i].buffers)
      for (guint m = 0; m < gst_buffer_n_memory(b); m++) (in_set.count(gst_buffer_peek_memory(b, m)) ? shared : other)++;
  }
  fail_unless_equals_int(shared, frames);
  fail_unless_equals_int(other, expect_fragments);  // the moof + mdat header of each
  for (GstMemory* m : inputs) gst_memory_unref(m);
  return sizes;
}

// Fragments of 10 samples fit one buffer: a list of one.
GST_START_TEST(test_live_payload_shared) {
  std::vector<size_t> sizes = RunShared(30, 10, 400, 3);
  for (size_t n : sizes) fail_unless_equals_int(n, 1);
}
GST_END_TEST;

// A 2.4 s fragment of 60 samples (a real video fragment): still no copy;
// the header and 15 samples, then 16 + 16 + 13 in three continuations.
GST_START_TEST(test_live_long_fragment_shared) {
  std::vector<size_t> sizes = RunShared(120, 60, 2000, 2);
  fail_unless_equals_int(sizes.size(), 2);
  for (size_t n : sizes) fail_unless_equals_int(n, 4);
}
GST_END_TEST;

// ---------------------------------------------------------------- clock grid

namespace {

struct GridRun {
  // (track, tfxd time) -> (duration, samples), and the last time per track.
  std::map<std::pair<uint32_t, uint64_t>, std::pair<uint64_t, size_t>> fragments;
  std::map<uint32_t, uint64_t> last;
  std::vector<GstClockTime> key_requests;  // running times of force-key-unit events
};

GstPadProbeReturn RecordKeyRequests(GstPad*, GstPadProbeInfo* info, gpointer user) {
  GstEvent* e = GST_PAD_PROBE_INFO_EVENT(info);
  GstClockTime rt = GST_CLOCK_TIME_NONE;
  gboolean all_headers = FALSE;
  guint count = 0;
  if (gst_video_event_is_force_key_unit(e) && gst_video_event_parse_upstream_force_key_unit(e, &rt, &all_headers, &count))
    static_cast<std::vector<GstClockTime>*>(user)->push_back(rt);
  return GST_PAD_PROBE_OK;
}

// An encoder started at video frame `first` (audio at the matching AAC frame),
// whose source is `video_phase` / `audio_phase` off the frame grids (less
// than half a frame). Video keyframes: a fixed GOP of 25 on the absolute
// frame index (one fragment of 1 s), plus the encoder's first frame.
void RunGrid(int first, GstClockTimeDiff video_phase, GstClockTimeDiff audio_phase, GridRun* run) {
  Rig r({"video_%u", "audio_%u"}, Rig::Sink::kApp);
  PullLists(r);
  g_object_set(r.mux, "live", TRUE, "fragment-duration", static_cast<guint64>(GST_SECOND), nullptr);
  gst_util_set_object_arg(G_OBJECT(r.mux), "timestamp-mode", "running-time");
  gst_util_set_object_arg(G_OBJECT(r.mux), "fragment-boundaries", "clock-grid");
  GstPad* src = gst_element_get_static_pad(r.srcs[0], "src");
  gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, RecordKeyRequests, &run->key_requests, nullptr);
  gst_object_unref(src);
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  const GstClockTime vdur = GST_SECOND / 25;
  const int frames = 100;
  const int64_t first_audio = gst_util_uint64_scale_ceil(first * vdur, 48000, 1024 * GST_SECOND);
  const int64_t audio_frames = gst_util_uint64_scale(frames * vdur, 48000, 1024 * GST_SECOND);
  // Interleaved roughly in time, as live encoders deliver.
  int64_t a = first_audio;
  for (int v = first; v < first + frames; v++) {
    GstClockTime ts = static_cast<GstClockTime>(v * static_cast<int64_t>(vdur) + video_phase);
    r.Push(0, Sample(800 + v % 7, ts, ts, vdur, v == first || v % 25 == 0));
    for (; a < first_audio + audio_frames && gst_util_uint64_scale(a, 1024 * GST_SECOND, 48000) <= ts; a++) {
      GstClockTime at = gst_util_uint64_scale(a, 1024 * GST_SECOND, 48000) + audio_phase;
      r.Push(1, Sample(200, at, at, gst_util_uint64_scale(1024, GST_SECOND, 48000), true));
    }
  }
  r.EndAll();
  LiveOutput out;
  PullAll(r, &out);
  for (size_t i = 1; i < out.units.size(); i++) {
    piff::PiffFile f = ParseFile(out.Bytes(i));
    std::vector<piff::TrackFragmentSamples> fr;
    fail_unless(f.Fragments(&fr).ok());
    run->fragments[{fr[0].track_id, fr[0].decode_time}] = {fr[0].duration, fr[0].samples.size()};
    run->last[fr[0].track_id] = fr[0].decode_time;
  }
}

}  // namespace

// Two encoders 1.2 s apart with different source phases: every fragment
// both have (the last, cut by EOS, aside) has the same tfxd time, duration
// and sample count; the first fragment of each starts on the grid.
GST_START_TEST(test_live_clock_grid_ganged) {
  GridRun a, b;
  RunGrid(7, 13 * GST_MSECOND, 5 * GST_MSECOND, &a);
  RunGrid(37, -9 * static_cast<GstClockTimeDiff>(GST_MSECOND), -7 * static_cast<GstClockTimeDiff>(GST_MSECOND), &b);
  std::map<uint32_t, int> common;
  for (auto& [key, value] : a.fragments) {
    auto it = b.fragments.find(key);
    if (it == b.fragments.end() || key.second == a.last[key.first] || key.second == b.last[key.first]) continue;
    fail_unless(value == it->second, "track %u fragment at %" G_GUINT64_FORMAT ": %" G_GUINT64_FORMAT "/%zu vs %"
                G_GUINT64_FORMAT "/%zu", key.first, key.second, value.first, value.second, it->second.first,
                it->second.second);
    common[key.first]++;
  }
  fail_unless(common[1] >= 2 && common[2] >= 2, "too few common fragments: video %d audio %d", common[1], common[2]);
  // Fragments start on the grid: video at whole seconds, audio at the
  // first AAC frame of each second (10 MHz ticks).
  for (GridRun* run : {&a, &b})
    for (auto& [key, value] : run->fragments) {
      if (key.first == 1) fail_unless_equals_uint64(key.second % 10000000, 0);
      if (key.first == 2) fail_unless(key.second % 10000000 < 213334, "audio fragment at %" G_GUINT64_FORMAT, key.second);
    }
  // Keyframes were asked for half a frame before each boundary.
  std::set<GstClockTime> asked(a.key_requests.begin(), a.key_requests.end());
  for (GstClockTime boundary : {GST_SECOND, 2 * GST_SECOND, 3 * GST_SECOND, 4 * GST_SECOND})
    fail_unless(asked.count(boundary - 20 * GST_MSECOND), "no force-key-unit for %" GST_TIME_FORMAT,
                GST_TIME_ARGS(boundary));
}
GST_END_TEST;

// A live input that stops (no data, no EOS) after the start: the other
// track's fragments still come out, after the aggregator's latency.
GST_START_TEST(test_live_stalled_input) {
  Rig r({"video_%u", "audio_%u"}, Rig::Sink::kApp, true);
  PullLists(r);
  g_object_set(r.mux, "live", TRUE, "fragment-duration", static_cast<guint64>(400 * GST_MSECOND), nullptr);
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  PushAudio(r, 1, 10);
  PushVideo(r, 0, 40, 10);
  int video_fragments = 0;
  gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
  GstSample* s;
  while (video_fragments < 3 && g_get_monotonic_time() < deadline &&
         (s = gst_app_sink_try_pull_sample(GST_APP_SINK(r.sink), GST_SECOND))) {
    const GstStructure* m = FragmentMeta(FirstBuffer(s));
    guint track = 0;
    if (m && gst_structure_get_uint(m, "track-id", &track) && track == 1) video_fragments++;
    gst_sample_unref(s);
  }
  fail_unless_equals_int(video_fragments, 3);
  r.EndAll();
  LiveOutput rest;
  PullAll(r, &rest);
}
GST_END_TEST;

static Suite* ismvmux_live_suite(void) {
  Suite* s = suite_create("ismvmux-live");
  TCase* tc = tcase_create("general");
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_live_contract);
  tcase_add_test(tc, test_live_contract_live_sources);
  tcase_add_test(tc, test_live_header_identical);
  tcase_add_test(tc, test_live_end_mfra);
  tcase_add_test(tc, test_live_no_seek);
  tcase_add_test(tc, test_live_payload_shared);
  tcase_add_test(tc, test_live_long_fragment_shared);
  tcase_add_test(tc, test_live_clock_grid_ganged);
  tcase_add_test(tc, test_live_stalled_input);
  return s;
}

GST_CHECK_MAIN(ismvmux_live);
