// What the ismdemux element tests share (test_ismdemux.cc and
// test_ismdemux_encryption.cc): synthetic files written with the core
// (FragmentWriter) so every time, flag and payload byte is known, and Run,
// a pipeline that plays a file through ismdemux and records what every
// source pad sends.
// Include it after the C++ and core headers: gst-check defines a `fail`
// macro that would clash with std::ios::fail().
#pragma once

#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "fragment.h"
#include "movie.h"

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

inline constexpr uint8_t kAvcC[] = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x08, 0x67, 0x42, 0xc0, 0x1e,
                                    0xd9, 0x00, 0xa0, 0x47, 0x01, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80};
inline constexpr uint8_t kAsc[] = {0x11, 0x90};  // AAC-LC 48 kHz stereo
inline constexpr uint32_t kTs = 10000000;
inline constexpr uint32_t kFrame = 400000;  // 25 fps in 100 ns ticks
inline constexpr uint32_t kAudioTs = 48000;

inline piff::TrackConfig VideoTrack(uint32_t id, uint32_t timescale = kTs) {
  piff::TrackConfig c;
  c.kind = piff::TrackConfig::Kind::kVideo;
  c.track_id = id;
  c.timescale = timescale;
  c.width = 320;
  c.height = 180;
  c.avcc.assign(kAvcC, kAvcC + sizeof(kAvcC));
  return c;
}

inline piff::TrackConfig AudioTrack(uint32_t id, uint32_t timescale = kAudioTs) {
  piff::TrackConfig c;
  c.kind = piff::TrackConfig::Kind::kAudio;
  c.track_id = id;
  c.timescale = timescale;
  c.sample_rate = 48000;
  c.channels = 2;
  c.language = "fra";
  c.audio_specific_config.assign(kAsc, kAsc + sizeof(kAsc));
  return c;
}

// One track fragment as the builder writes it.
struct Traf {
  uint32_t track_id = 1;
  uint64_t decode_time = 0;
  std::vector<piff::FragmentSample> samples;
  bool tfxd = true;
  bool tfdt = false;
  uint64_t tfdt_time = 0;  // when tfdt and tfxd should disagree
  std::vector<uint8_t> extra_box;
};

// Writes ftyp + moov, then moof/mdat pairs. Sample payloads are
// recognisable: byte 0 = track ID, bytes 1..4 = index of the sample in its
// track (big-endian), the rest = that index's low byte.
struct FileBuilder {
  std::vector<uint8_t> bytes;
  uint32_t sequence = 1;
  std::map<uint32_t, uint32_t> counters;

  void Init(const piff::MovieBox& moov) {
    piff::MakeIsmvFileType().Write(bytes);
    moov.Write(bytes);
  }
  void Fragment(const std::vector<Traf>& trafs) {
    piff::MovieFragmentBox moof;
    moof.mfhd.sequence_number = sequence++;
    for (size_t i = 0; i < trafs.size(); i++) {
      const Traf& t = trafs[i];
      piff::FragmentParams params;
      params.track_id = t.track_id;
      params.decode_time = t.decode_time;
      params.write_tfdt = t.tfdt;
      piff::TrackFragmentBox traf = piff::FragmentWriter::MakeMoof(params, t.samples).trafs[0];
      if (!t.tfxd) traf.tfxd.reset();
      if (t.tfdt && t.tfdt_time) traf.tfdt->base_media_decode_time = t.tfdt_time;
      if (!t.extra_box.empty()) traf.other.push_back(t.extra_box);
      if (i > 0) traf.tfhd.flags |= piff::TrackFragmentHeaderBox::kDefaultBaseIsMoof;
      moof.trafs.push_back(traf);
    }
    size_t moof_size = moof.Serialize().size();
    uint64_t off = moof_size + 8;
    for (size_t i = 0; i < trafs.size(); i++) {
      moof.trafs[i].truns[0].data_offset = static_cast<int32_t>(off);
      for (auto& s : trafs[i].samples) off += s.size;
    }
    moof.Write(bytes);
    uint32_t mdat = static_cast<uint32_t>(off - moof_size);
    for (int i = 3; i >= 0; i--) bytes.push_back(static_cast<uint8_t>(mdat >> (8 * i)));
    for (char c : std::string("mdat")) bytes.push_back(static_cast<uint8_t>(c));
    for (auto& t : trafs)
      for (auto& s : t.samples) {
        uint32_t idx = counters[t.track_id]++;
        std::vector<uint8_t> p(s.size, static_cast<uint8_t>(idx));
        if (s.size >= 5) {
          p[0] = static_cast<uint8_t>(t.track_id);
          for (int k = 0; k < 4; k++) p[1 + k] = static_cast<uint8_t>(idx >> (8 * (3 - k)));
        }
        bytes.insert(bytes.end(), p.begin(), p.end());
      }
  }
  void Mfra() {
    const uint8_t empty_mfra[] = {0, 0, 0, 8, 'm', 'f', 'r', 'a'};
    bytes.insert(bytes.end(), empty_mfra, empty_mfra + 8);
  }
};

// Video: GOP of 10 frames, fragments of 20 frames (two keyframes each), a
// B-frame-like pattern of composition offsets (I P B B ... with negative
// offsets, as ismvmux and FFmpeg write them).
inline std::vector<piff::FragmentSample> VideoSamples(int first, int count, bool bframes) {
  std::vector<piff::FragmentSample> v;
  for (int i = first; i < first + count; i++) {
    piff::FragmentSample s;
    s.duration = kFrame;
    s.size = 100 + (i % 7);
    s.sync = i % 10 == 0;
    if (bframes) {
      int k = i % 10;
      // decode order I0 P3 B1 B2 P6 B4 B5 P9 B7 B8 -> offsets in frames
      static const int cto[10] = {0, 2, -1, -1, 2, -1, -1, 2, -1, -1};
      s.composition_offset = cto[k] * static_cast<int32_t>(kFrame);
    }
    v.push_back(s);
  }
  return v;
}

inline std::vector<piff::FragmentSample> AudioSamples(int count) {
  std::vector<piff::FragmentSample> v(count);
  for (auto& s : v) {
    s.duration = 1024;
    s.size = 50;
    s.sync = true;
  }
  return v;
}

// 8 s: video 25 fps (200 frames, 10 fragments of 0.8 s), audio 48 kHz
// (375 frames of 1024, fragments of 37/38 frames), one moof per track per
// fragment as ismvmux writes them.
inline std::vector<uint8_t> MakeAvFile(bool bframes = false, bool mfra = true) {
  FileBuilder b;
  b.Init(piff::MakeMovie({VideoTrack(1), AudioTrack(2)}, kTs, 0));
  int audio_done = 0;
  for (int f = 0; f < 10; f++) {
    Traf v;
    v.track_id = 1;
    v.decode_time = static_cast<uint64_t>(f) * 20 * kFrame;
    v.samples = VideoSamples(f * 20, 20, bframes);
    b.Fragment({v});
    int audio_end = static_cast<int>((f + 1) * 0.8 * 48000 / 1024 + 0.5);
    if (f == 9) audio_end = 375;
    Traf a;
    a.track_id = 2;
    a.decode_time = static_cast<uint64_t>(audio_done) * 1024;
    a.samples = AudioSamples(audio_end - audio_done);
    audio_done = audio_end;
    b.Fragment({a});
  }
  if (mfra) b.Mfra();
  return b.bytes;
}

struct TempFile {
  std::string path;
  explicit TempFile(const std::vector<uint8_t>& data, const char* name = "in.ismv") {
    gchar* d = g_dir_make_tmp("ismdemux-test-XXXXXX", nullptr);
    path = std::string(d) + "/" + name;
    g_free(d);
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(data.data()), data.size());
  }
  ~TempFile() {
    g_unlink(path.c_str());
    g_rmdir(path.substr(0, path.rfind('/')).c_str());
  }
};

struct BufInfo {
  GstClockTime pts, dts, dur;
  bool delta, discont;
  gsize size;
  uint32_t index;  // payload bytes 1..4
  uint8_t track;
  bool protection;
  std::string iv;
  // With Run::record_bytes: the payload and every protection meta field.
  std::vector<uint8_t> bytes;
  bool encrypted = false;
  guint iv_size = 0, subsample_count = 0;
  std::vector<uint8_t> kid, subsamples;
};

struct ProtectionEventInfo {
  std::string system, origin;
  std::vector<uint8_t> data;
};

struct PadLog {
  std::vector<BufInfo> bufs;
  std::vector<GstSegment> segments;
  GstCaps* caps = nullptr;
  GstTagList* tags = nullptr;
  std::string stream_id;
  std::vector<std::string> protection_systems;
  std::vector<ProtectionEventInfo> protection_events;
  bool eos = false;
};

inline std::vector<uint8_t> BufferBytes(GstBuffer* b) {
  std::vector<uint8_t> v(gst_buffer_get_size(b));
  gst_buffer_extract(b, 0, v.data(), v.size());
  return v;
}

inline std::vector<uint8_t> StructureBuffer(const GstStructure* s, const char* field) {
  const GValue* v = gst_structure_get_value(s, field);
  if (!v || !GST_VALUE_HOLDS_BUFFER(v)) return {};
  return BufferBytes(gst_value_get_buffer(v));
}

// filesrc [! queue] ! ismdemux, each source pad into queue ! fakesink, with
// a probe on every demuxer pad recording buffers and events. A flush-stop
// clears what was recorded, so after a seek only post-seek data remains.
struct Run {
  GstElement* pipeline = nullptr;
  GstElement* demux = nullptr;
  std::mutex lock;
  std::map<std::string, PadLog> pads;
  std::vector<std::string> warnings;
  std::string error;
  bool no_more_pads = false;
  guint collection_size = 0;
  bool record_bytes = false;  // keep every payload and protection meta field

  Run(const std::string& path, bool push) {
    pipeline = gst_pipeline_new(nullptr);
    GstElement* src = gst_element_factory_make("filesrc", nullptr);
    g_object_set(src, "location", path.c_str(), nullptr);
    demux = gst_element_factory_make("ismdemux", nullptr);
    fail_unless(demux != nullptr, "ismdemux not found (GST_PLUGIN_PATH_1_0?)");
    gst_bin_add_many(GST_BIN(pipeline), src, demux, nullptr);
    if (push) {
      // queue's source pad cannot be pulled from: ismdemux runs in push mode.
      GstElement* q = gst_element_factory_make("queue", nullptr);
      gst_bin_add(GST_BIN(pipeline), q);
      fail_unless(gst_element_link_many(src, q, demux, nullptr));
    } else {
      fail_unless(gst_element_link(src, demux));
    }
    g_signal_connect(demux, "pad-added", G_CALLBACK(PadAdded), this);
    g_signal_connect(demux, "no-more-pads", G_CALLBACK(NoMorePads), this);
  }
  ~Run() {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
    for (auto& p : pads) {
      if (p.second.caps) gst_caps_unref(p.second.caps);
      if (p.second.tags) gst_tag_list_unref(p.second.tags);
    }
  }
  static void NoMorePads(GstElement*, Run* r) {
    std::lock_guard<std::mutex> l(r->lock);
    r->no_more_pads = true;
  }
  static void PadAdded(GstElement*, GstPad* pad, Run* r) {
    GstElement* q = gst_element_factory_make("queue", nullptr);
    g_object_set(q, "max-size-buffers", 0, "max-size-bytes", 0, "max-size-time", (guint64)0, nullptr);
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "sync", FALSE, nullptr);
    gst_bin_add_many(GST_BIN(r->pipeline), q, sink, nullptr);
    gst_element_link(q, sink);
    gst_element_sync_state_with_parent(sink);
    gst_element_sync_state_with_parent(q);
    GstPad* sinkpad = gst_element_get_static_pad(q, "sink");
    {
      std::lock_guard<std::mutex> l(r->lock);
      PadLog& log = r->pads[GST_PAD_NAME(pad)];
      GstEvent* ss = gst_pad_get_sticky_event(pad, GST_EVENT_STREAM_START, 0);
      if (ss) {
        const gchar* id;
        gst_event_parse_stream_start(ss, &id);
        log.stream_id = id;
        gst_event_unref(ss);
      }
      log.caps = gst_pad_get_current_caps(pad);
      // Protection events were sent before the pad was added: sticky.
      for (guint i = 0;; i++) {
        GstEvent* ev = gst_pad_get_sticky_event(pad, GST_EVENT_PROTECTION, i);
        if (!ev) break;
        const gchar* system;
        GstBuffer* data = nullptr;
        const gchar* origin = nullptr;
        gst_event_parse_protection(ev, &system, &data, &origin);
        log.protection_systems.push_back(system);
        log.protection_events.push_back(
            {system, origin ? origin : "", data ? BufferBytes(data) : std::vector<uint8_t>()});
        gst_event_unref(ev);
      }
    }
    gst_pad_add_probe(pad, static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                                        GST_PAD_PROBE_TYPE_EVENT_BOTH |
                                                        GST_PAD_PROBE_TYPE_EVENT_FLUSH),
                      Probe, r, nullptr);
    fail_unless_equals_int(gst_pad_link(pad, sinkpad), GST_PAD_LINK_OK);
    gst_object_unref(sinkpad);
  }
  static void Record(PadLog& log, GstBuffer* b, bool record_bytes) {
    BufInfo bi{GST_BUFFER_PTS(b), GST_BUFFER_DTS(b), GST_BUFFER_DURATION(b),
               GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT), GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DISCONT),
               gst_buffer_get_size(b), 0, 0, false, ""};
    guint8 head[5] = {0};
    if (gst_buffer_extract(b, 0, head, 5) == 5) {
      bi.track = head[0];
      bi.index = (uint32_t(head[1]) << 24) | (uint32_t(head[2]) << 16) | (uint32_t(head[3]) << 8) | head[4];
    }
    if (GstProtectionMeta* m = gst_buffer_get_protection_meta(b)) {
      bi.protection = true;
      const GValue* v = gst_structure_get_value(m->info, "iv");
      if (v) {
        GstBuffer* iv = gst_value_get_buffer(v);
        GstMapInfo map;
        gst_buffer_map(iv, &map, GST_MAP_READ);
        bi.iv.assign(reinterpret_cast<const char*>(map.data), map.size);
        gst_buffer_unmap(iv, &map);
      }
      if (record_bytes) {
        gboolean enc = FALSE;
        gst_structure_get_boolean(m->info, "encrypted", &enc);
        bi.encrypted = enc;
        gst_structure_get_uint(m->info, "iv_size", &bi.iv_size);
        gst_structure_get_uint(m->info, "subsample_count", &bi.subsample_count);
        bi.kid = StructureBuffer(m->info, "kid");
        bi.subsamples = StructureBuffer(m->info, "subsamples");
      }
    }
    if (record_bytes) bi.bytes = BufferBytes(b);
    log.bufs.push_back(bi);
  }
  static GstPadProbeReturn Probe(GstPad* pad, GstPadProbeInfo* info, gpointer user) {
    Run* r = static_cast<Run*>(user);
    std::lock_guard<std::mutex> l(r->lock);
    PadLog& log = r->pads[GST_PAD_NAME(pad)];
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
      GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
      for (guint i = 0; i < gst_buffer_list_length(list); i++)
        Record(log, gst_buffer_list_get(list, i), r->record_bytes);
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
      Record(log, GST_PAD_PROBE_INFO_BUFFER(info), r->record_bytes);
    } else {
      GstEvent* ev = GST_PAD_PROBE_INFO_EVENT(info);
      if (GST_EVENT_TYPE(ev) == GST_EVENT_FLUSH_STOP) {
        log.bufs.clear();
        log.segments.clear();
        log.eos = false;
      } else if (GST_EVENT_TYPE(ev) == GST_EVENT_SEGMENT) {
        const GstSegment* seg;
        gst_event_parse_segment(ev, &seg);
        log.segments.push_back(*seg);
      } else if (GST_EVENT_TYPE(ev) == GST_EVENT_TAG) {
        GstTagList* t;
        gst_event_parse_tag(ev, &t);
        if (log.tags) gst_tag_list_unref(log.tags);
        log.tags = gst_tag_list_ref(t);
      } else if (GST_EVENT_TYPE(ev) == GST_EVENT_EOS) {
        log.eos = true;
      }
    }
    return GST_PAD_PROBE_OK;
  }
  // Runs until EOS or ERROR; returns true on EOS.
  bool WaitEnd() {
    GstBus* bus = gst_element_get_bus(pipeline);
    bool eos = false;
    for (;;) {
      GstMessage* m = gst_bus_timed_pop_filtered(
          bus, 20 * GST_SECOND,
          static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_WARNING |
                                      GST_MESSAGE_STREAM_COLLECTION));
      fail_unless(m != nullptr, "timeout waiting for EOS/ERROR");
      GError* e = nullptr;
      gchar* dbg = nullptr;
      switch (GST_MESSAGE_TYPE(m)) {
        case GST_MESSAGE_WARNING:
          gst_message_parse_warning(m, &e, &dbg);
          warnings.push_back(std::string(e->message) + " | " + (dbg ? dbg : ""));
          break;
        case GST_MESSAGE_ERROR:
          gst_message_parse_error(m, &e, &dbg);
          error = std::string(e->message) + " | " + (dbg ? dbg : "");
          break;
        case GST_MESSAGE_STREAM_COLLECTION: {
          GstStreamCollection* c = nullptr;
          gst_message_parse_stream_collection(m, &c);
          collection_size = gst_stream_collection_get_size(c);
          gst_object_unref(c);
          break;
        }
        case GST_MESSAGE_EOS: eos = true; break;
        default: break;
      }
      if (e) g_error_free(e);
      g_free(dbg);
      GstMessageType type = GST_MESSAGE_TYPE(m);
      gst_message_unref(m);
      if (type == GST_MESSAGE_EOS || type == GST_MESSAGE_ERROR) break;
    }
    gst_object_unref(bus);
    return eos;
  }
  bool Play() {
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    return WaitEnd();
  }
  // PAUSED with every pad prerolled. The sinks are added when the pads
  // appear (after the index is built), so wait for them first: before that
  // the pipeline has no sink and is PAUSED at once.
  void Pause() {
    fail_unless(gst_element_set_state(pipeline, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
    for (int i = 0; i < 1000; i++) {
      {
        std::lock_guard<std::mutex> l(lock);
        if (no_more_pads) break;
      }
      g_usleep(10000);
    }
    fail_unless_equals_int(gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND),
                           GST_STATE_CHANGE_SUCCESS);
  }
  bool Seek(GstClockTime pos, GstSeekFlags flags) {
    bool ok = gst_element_seek_simple(pipeline, GST_FORMAT_TIME, static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | flags),
                                      static_cast<gint64>(pos));
    gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND);
    return ok;
  }
  PadLog& Pad(const char* name) {
    fail_unless(pads.count(name), "no pad %s", name);
    return pads[name];
  }
};

