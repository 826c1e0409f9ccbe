// gst-check tests of ismdemux and the video/x-ms-ismv typefinder: caps,
// timestamps and flags, fragment time precedence, multi-traf moofs, seeks
// (accurate, key-unit snap before/after/nearest; on synthetic files and on a
// real x264 encode decoded with avdec_h264 against qtdemux), queries, push
// mode streaming, encrypted and unsupported tracks, and bad input (error or
// warning, never a crash or a hang). Encryption: the decryption-key
// property, decryption (AES-CTR and AES-CBC, H.264 subsamples and AAC whole
// samples, push and pull, after seeks) against the clear samples, and the
// signalling without a key (x-cenc caps, protection meta checked by
// decrypting with OpenSSL directly, protection events).
// Synthetic files are written with the core (FragmentWriter) so every time,
// flag and payload byte is known.
// The C++ and core headers come first: gst-check defines a `fail` macro that
// would clash with std::ios::fail().
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "encryption.h"
#include "fragment.h"
#include "movie.h"
#include "playready.h"
#include "protection.h"

#include <openssl/evp.h>

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/base/gsttypefindhelper.h>
#include <gst/check/gstcheck.h>

namespace {

const uint8_t kAvcC[] = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x08, 0x67, 0x42, 0xc0, 0x1e,
                         0xd9, 0x00, 0xa0, 0x47, 0x01, 0x00, 0x04, 0x68, 0xce, 0x3c, 0x80};
const uint8_t kAsc[] = {0x11, 0x90};  // AAC-LC 48 kHz stereo
constexpr uint32_t kTs = 10000000;
constexpr uint32_t kFrame = 400000;  // 25 fps in 100 ns ticks
constexpr uint32_t kAudioTs = 48000;

piff::TrackConfig VideoTrack(uint32_t id, uint32_t timescale = kTs) {
  piff::TrackConfig c;
  c.kind = piff::TrackConfig::Kind::kVideo;
  c.track_id = id;
  c.timescale = timescale;
  c.width = 320;
  c.height = 180;
  c.avcc.assign(kAvcC, kAvcC + sizeof(kAvcC));
  return c;
}

piff::TrackConfig AudioTrack(uint32_t id, uint32_t timescale = kAudioTs) {
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
std::vector<piff::FragmentSample> VideoSamples(int first, int count, bool bframes) {
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

std::vector<piff::FragmentSample> AudioSamples(int count) {
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
std::vector<uint8_t> MakeAvFile(bool bframes = false, bool mfra = true) {
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

// The ASCII bytes of the base64 of `v` (a Smooth protection event's data).
std::vector<uint8_t> Base64Bytes(const std::vector<uint8_t>& v) {
  std::string b = piff::Base64Encode(v);
  return std::vector<uint8_t>(b.begin(), b.end());
}

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

std::vector<uint8_t> BufferBytes(GstBuffer* b) {
  std::vector<uint8_t> v(gst_buffer_get_size(b));
  gst_buffer_extract(b, 0, v.data(), v.size());
  return v;
}

std::vector<uint8_t> StructureBuffer(const GstStructure* s, const char* field) {
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

GST_START_TEST(test_encrypted_track) {
  piff::MovieBox moov = piff::MakeMovie({VideoTrack(1)}, kTs, 0);
  auto& entry = moov.tracks[0].mdia.minf.stbl.stsd.video[0];
  entry.format = piff::MakeFourCC("encv");
  piff::ProtectionSchemeInfoBox sinf;
  sinf.frma.data_format = piff::MakeFourCC("avc1");
  sinf.schm.emplace();
  sinf.schm->scheme_type = piff::MakeFourCC("piff");
  sinf.schm->scheme_version = 0x00010001;
  sinf.schi.emplace();
  sinf.schi->piff_tenc.emplace();
  sinf.schi->piff_tenc->fields.head = 1;  // AlgorithmID 1: AES-CTR
  sinf.schi->piff_tenc->fields.iv_size = 8;
  sinf.schi->piff_tenc->fields.kid.fill(0x11);
  entry.other.push_back(sinf.Serialize());
  // PIFF uuid-pssh with the PlayReady system ID.
  std::vector<uint8_t> pssh = {0, 0, 0, 0, 'u', 'u', 'i', 'd'};
  pssh.insert(pssh.end(), piff::kPiffPsshUuid.begin(), piff::kPiffPsshUuid.end());
  pssh.insert(pssh.end(), {0, 0, 0, 0});
  pssh.insert(pssh.end(), piff::kPlayReadySystemId.begin(), piff::kPlayReadySystemId.end());
  pssh.insert(pssh.end(), {0, 0, 0, 4, 'd', 'a', 't', 'a'});
  pssh[3] = static_cast<uint8_t>(pssh.size());
  moov.other.push_back(pssh);
  FileBuilder b;
  b.Init(moov);
  Traf v;
  v.samples = VideoSamples(0, 10, false);
  piff::SampleEncryption senc;
  senc.piff = true;
  senc.iv_size = 8;
  for (int i = 0; i < 10; i++) senc.samples.push_back({std::vector<uint8_t>(8, static_cast<uint8_t>(i)), {}});
  v.extra_box = piff::SerializeSampleEncryption(senc);
  b.Fragment({v});
  for (bool push : {false, true}) {
    TempFile f(b.bytes);
    Run r(f.path, push);
    fail_unless(r.Play(), "%s", r.error.c_str());
    PadLog& p = r.Pad("video_0");
    GstStructure* s = gst_caps_get_structure(p.caps, 0);
    fail_unless(gst_structure_has_name(s, "application/x-cenc"), "%" GST_PTR_FORMAT, p.caps);
    fail_unless_equals_string(gst_structure_get_string(s, "original-media-type"), "video/x-h264");
    fail_unless_equals_string(gst_structure_get_string(s, "protection-system"), "9a04f079-9840-4286-ab92-e65be0885f95");
    fail_unless(gst_structure_has_field(s, "codec_data"));
    fail_unless_equals_int(p.protection_systems.size(), 1);
    fail_unless_equals_int(p.bufs.size(), 10);
    for (size_t i = 0; i < 10; i++) {
      fail_unless(p.bufs[i].protection, "no protection meta on buffer %zu", i);
      fail_unless(p.bufs[i].iv == std::string(8, static_cast<char>(i)));
      fail_unless_equals_int(p.bufs[i].index, i);  // samples as they are
    }
  }
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

// ------------------------------------------------------------ encryption
//
// Encrypted files made with the core (TrackEncryptor, FragmentWriter,
// BuildInitSegment with sinf and the PIFF uuid-pssh), laid out like
// MakeAvFile: H.264 with NAL-unit subsamples (length-prefixed NALs of sizes
// that leave partial blocks) and AAC as whole samples. The same samples are
// also written clear, for byte-for-byte comparison.

namespace {

const piff::Uuid kVideoKid = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80,
                              0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x01};
const piff::Uuid kAudioKid = {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18,
                              0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90};
const char* kVideoKidText = "10203040-5060-7080-90a0-b0c0d0e0f001";
const char* kAudioKidText = "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90";
const char* kVideoKeyHex = "2b7e151628aed2a6abf7158809cf4f3c";
const char* kAudioKeyHex = "000102030405060708090a0b0c0d0e0f";

std::vector<uint8_t> Hex(const char* hex) {
  std::vector<uint8_t> v;
  fail_unless(piff::ParseHex(hex, &v));
  return v;
}

std::string KeyPair(const char* kid, const char* key) { return std::string(kid) + ":" + key; }

// Deterministic filler bytes.
void Fill(std::vector<uint8_t>* out, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    out->push_back(static_cast<uint8_t>(seed >> 24));
  }
}

// An H.264 access unit in avcC form (4-byte lengths): keyframes carry an SEI
// and an IDR slice, others one slice. Sizes vary so that encrypted ranges
// end in partial blocks.
std::vector<uint8_t> VideoPayload(uint32_t i, bool sync) {
  std::vector<uint8_t> s;
  auto nal = [&](uint8_t header, size_t body) {
    uint32_t n = static_cast<uint32_t>(body + 1);
    for (int k = 3; k >= 0; k--) s.push_back(static_cast<uint8_t>(n >> (8 * k)));
    s.push_back(header);
    Fill(&s, body, i * 31 + header);
  };
  if (sync) {
    nal(0x06, 7 + i % 5);
    nal(0x65, 300 + (i * 37) % 200);
  } else {
    nal(0x41, 60 + (i * 53) % 150);
  }
  return s;
}

std::vector<uint8_t> AudioPayload(uint32_t i) {
  std::vector<uint8_t> s;
  Fill(&s, 40 + (i * 29) % 120, 7000 + i);
  return s;
}

struct EncOptions {
  piff::EncryptionScheme scheme = piff::EncryptionScheme::kPiffCtr;
  bool drop_senc = false;            // no senc in the video traf of fragment 3
  bool standard_pssh = false;        // also an ISO 'pssh' box (another system)
  // Instead of the PIFF sinf: CENC tenc under this schm type (e.g. "cbcs").
  std::string cenc_scheme;
};

struct EncAv {
  std::vector<uint8_t> clear_file, enc_file;
  std::vector<std::vector<uint8_t>> clear[3];  // [track id] -> samples
  std::vector<piff::SampleEncryption::Sample> entries[3];  // senc entries, track order
  std::vector<uint8_t> pro;
  std::vector<uint8_t> standard_pssh;
};

std::vector<uint8_t> CencSinf(piff::FourCC format, const std::string& scheme, const piff::TrackEncryptionFields& f) {
  piff::ProtectionSchemeInfoBox sinf;
  sinf.frma.data_format = format;
  sinf.schm.emplace();
  sinf.schm->scheme_type = (uint32_t(uint8_t(scheme[0])) << 24) | (uint32_t(uint8_t(scheme[1])) << 16) |
                           (uint32_t(uint8_t(scheme[2])) << 8) | uint32_t(uint8_t(scheme[3]));
  sinf.schm->scheme_version = 0x00010000;
  sinf.schi.emplace();
  sinf.schi->tenc.emplace();
  sinf.schi->tenc->fields = f;
  sinf.schi->tenc->fields.head = 1;  // default_isProtected
  return sinf.Serialize();
}

EncAv MakeEncryptedAv(const EncOptions& o) {
  EncAv r;
  const bool cbc = o.scheme == piff::EncryptionScheme::kPiffCbc;
  std::unique_ptr<piff::TrackEncryptor> enc[3];
  const piff::Uuid kids[3] = {{}, kVideoKid, kAudioKid};
  const char* keys[3] = {"", kVideoKeyHex, kAudioKeyHex};
  for (uint32_t id = 1; id <= 2; id++) {
    piff::EncryptionSettings es;
    es.scheme = o.scheme;
    es.kid = kids[id];
    es.key = Hex(keys[id]);
    es.iv.assign(cbc ? 16 : 8, static_cast<uint8_t>(0x30 + id));
    es.iv.back() = 0xf0;  // the counter carries into the next byte early on
    piff::TrackEncryptor::Format fmt;
    if (id == 1) fmt.nal_length_size = 4;
    piff::Status s = piff::TrackEncryptor::Create(es, fmt, &enc[id]);
    fail_unless(s, "%s", s.message().c_str());
  }
  piff::TrackConfig v = VideoTrack(1), a = AudioTrack(2);
  std::vector<piff::TrackConfig> clear_tracks = {v, a};
  if (o.cenc_scheme.empty()) {
    v.sinf = piff::MakePiffSinf(piff::MakeFourCC("avc1"), enc[1]->TencFields());
    a.sinf = piff::MakePiffSinf(piff::MakeFourCC("mp4a"), enc[2]->TencFields());
  } else {
    v.sinf = CencSinf(piff::MakeFourCC("avc1"), o.cenc_scheme, enc[1]->TencFields());
    a.sinf = CencSinf(piff::MakeFourCC("mp4a"), o.cenc_scheme, enc[2]->TencFields());
  }
  piff::PlayReadyHeaderParams hp;
  hp.scheme = o.scheme;
  hp.kid = kVideoKid;
  hp.key = Hex(kVideoKeyHex);
  hp.la_url = "https://pr.example.com/rightsmanager.asmx";
  std::string xml;
  fail_unless(piff::BuildWrmHeader(hp, &xml));
  r.pro = piff::BuildPlayReadyObject(xml);
  piff::RawBoxes extra = {piff::MakePiffPssh(piff::kPlayReadySystemId, r.pro)};
  if (o.standard_pssh) {
    // ISO pssh v0 for another system: SystemID, DataSize, Data.
    const uint8_t widevine[16] = {0xed, 0xef, 0x8b, 0xa9, 0x79, 0xd6, 0x4a, 0xce,
                                  0xa3, 0xc8, 0x27, 0xdc, 0xd5, 0x1d, 0x21, 0xed};
    std::vector<uint8_t>& p = r.standard_pssh;
    p = {0, 0, 0, 0, 'p', 's', 's', 'h', 0, 0, 0, 0};
    p.insert(p.end(), widevine, widevine + 16);
    p.insert(p.end(), {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'});
    p[3] = static_cast<uint8_t>(p.size());
    extra.push_back(p);
  }
  r.clear_file = piff::BuildInitSegment(clear_tracks, kTs, 0).bytes;
  r.enc_file = piff::BuildInitSegment({v, a}, kTs, 0, extra).bytes;

  uint32_t seq = 1, video_done = 0, audio_done = 0;
  auto fragment = [&](uint32_t id, uint64_t decode_time, const std::vector<piff::FragmentSample>& meta,
                      const std::vector<std::vector<uint8_t>>& payloads, bool drop_senc) {
    piff::SampleEncryption senc = enc[id]->NewFragment();
    std::vector<uint8_t> cipher;
    for (auto& p : payloads) {
      std::vector<uint8_t> out(p.size());
      piff::Status s = enc[id]->EncryptSample(p.data(), out.data(), p.size(), &senc);
      fail_unless(s, "%s", s.message().c_str());
      cipher.insert(cipher.end(), out.begin(), out.end());
      r.clear[id].push_back(p);
    }
    r.entries[id].insert(r.entries[id].end(), senc.samples.begin(), senc.samples.end());
    piff::FragmentParams params;
    params.sequence_number = seq++;
    params.track_id = id;
    params.decode_time = decode_time;
    piff::FragmentHeader h = piff::FragmentWriter::Build(params, meta);
    r.clear_file.insert(r.clear_file.end(), h.bytes.begin(), h.bytes.end());
    for (auto& p : payloads) r.clear_file.insert(r.clear_file.end(), p.begin(), p.end());
    if (!drop_senc) params.senc = piff::SerializeSampleEncryption(senc);
    h = piff::FragmentWriter::Build(params, meta);
    r.enc_file.insert(r.enc_file.end(), h.bytes.begin(), h.bytes.end());
    r.enc_file.insert(r.enc_file.end(), cipher.begin(), cipher.end());
  };
  for (int f = 0; f < 10; f++) {
    std::vector<piff::FragmentSample> meta;
    std::vector<std::vector<uint8_t>> payloads;
    for (int k = 0; k < 20; k++, video_done++) {
      piff::FragmentSample s;
      s.duration = kFrame;
      s.sync = video_done % 10 == 0;
      payloads.push_back(VideoPayload(video_done, s.sync));
      s.size = static_cast<uint32_t>(payloads.back().size());
      meta.push_back(s);
    }
    fragment(1, static_cast<uint64_t>(f) * 20 * kFrame, meta, payloads, o.drop_senc && f == 3);
    int audio_end = f == 9 ? 375 : static_cast<int>((f + 1) * 0.8 * 48000 / 1024 + 0.5);
    uint64_t start = audio_done;
    meta.clear();
    payloads.clear();
    for (; static_cast<int>(audio_done) < audio_end; audio_done++) {
      payloads.push_back(AudioPayload(audio_done));
      piff::FragmentSample s;
      s.duration = 1024;
      s.sync = true;
      s.size = static_cast<uint32_t>(payloads.back().size());
      meta.push_back(s);
    }
    fragment(2, start * 1024, meta, payloads, false);
  }
  return r;
}

// Decrypts one sample with OpenSSL directly (not through the core), from
// what the protection meta says: the check that the meta is enough for a
// decryptor downstream.
std::vector<uint8_t> EvpDecrypt(bool cbc, const std::vector<uint8_t>& key, const BufInfo& b) {
  std::vector<uint8_t> out = b.bytes;
  std::vector<std::pair<size_t, size_t>> ranges;  // offset, size of encrypted ranges
  if (b.subsample_count == 0) {
    ranges.push_back({0, cbc ? out.size() / 16 * 16 : out.size()});
  } else {
    size_t pos = 0;
    for (guint i = 0; i < b.subsample_count; i++) {
      const uint8_t* e = b.subsamples.data() + 6 * i;
      size_t clear = (e[0] << 8) | e[1];
      size_t encrypted = (size_t(e[2]) << 24) | (e[3] << 16) | (e[4] << 8) | e[5];
      ranges.push_back({pos + clear, encrypted});
      pos += clear + encrypted;
    }
  }
  std::vector<uint8_t> joined;
  for (auto& r : ranges) joined.insert(joined.end(), out.begin() + r.first, out.begin() + r.first + r.second);
  uint8_t iv[16] = {0};
  std::copy(b.iv.begin(), b.iv.end(), iv);  // CTR with an 8-byte IV: IV || 64-bit block counter from 0
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<uint8_t> plain(joined.size() + 16);
  int n = 0, m = 0;
  fail_unless(EVP_DecryptInit_ex(ctx, cbc ? EVP_aes_128_cbc() : EVP_aes_128_ctr(), nullptr, key.data(), iv) == 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  fail_unless(EVP_DecryptUpdate(ctx, plain.data(), &n, joined.data(), static_cast<int>(joined.size())) == 1);
  fail_unless(EVP_DecryptFinal_ex(ctx, plain.data() + n, &m) == 1);
  EVP_CIPHER_CTX_free(ctx);
  size_t pos = 0;
  for (auto& r : ranges) {
    std::copy(plain.begin() + pos, plain.begin() + pos + r.second, out.begin() + r.first);
    pos += r.second;
  }
  return out;
}

std::vector<uint8_t> PackSubsamples(const piff::SampleEncryption::Sample& e) {
  std::vector<uint8_t> v;
  for (auto& s : e.subsamples) {
    v.push_back(static_cast<uint8_t>(s.clear_bytes >> 8));
    v.push_back(static_cast<uint8_t>(s.clear_bytes));
    for (int k = 3; k >= 0; k--) v.push_back(static_cast<uint8_t>(s.encrypted_bytes >> (8 * k)));
  }
  return v;
}

Run* PlayEncrypted(const TempFile& f, bool push, const std::string& keys, bool expect_eos = true) {
  Run* r = new Run(f.path, push);
  r->record_bytes = true;
  if (!keys.empty()) g_object_set(r->demux, "decryption-key", keys.c_str(), nullptr);
  bool eos = r->Play();
  fail_unless(eos == expect_eos, "expected %s: %s", expect_eos ? "EOS" : "an error", r->error.c_str());
  return r;
}

// A decrypted pad: clear caps, no protection anywhere, the clear samples
// from sample `from` of the track on (not `first`: the check macros use it).
void CheckDecryptedPad(PadLog& p, const char* media_type, const std::vector<std::vector<uint8_t>>& clear,
                       size_t from = 0) {
  GstStructure* s = gst_caps_get_structure(p.caps, 0);
  fail_unless(gst_structure_has_name(s, media_type), "%" GST_PTR_FORMAT, p.caps);
  fail_if(gst_structure_has_field(s, "protection-system") || gst_structure_has_field(s, "original-media-type"));
  fail_unless(gst_structure_has_field(s, "codec_data"));
  fail_unless_equals_int(p.protection_events.size(), 0);
  fail_unless_equals_int(p.bufs.size(), clear.size() - from);
  for (size_t i = 0; i < p.bufs.size(); i++) {
    fail_if(p.bufs[i].protection, "protection meta on decrypted buffer %zu", i);
    fail_unless(p.bufs[i].bytes == clear[from + i], "%s sample %zu differs from the clear sample", media_type,
                from + i);
  }
}

// An encrypted pad: x-cenc caps and, on every buffer, meta that equals the
// senc entry and is enough to decrypt the sample (checked with OpenSSL).
void CheckSignalledPad(PadLog& p, const char* media_type, const char* cipher_mode, const piff::Uuid& kid,
                       const char* key_hex, const EncAv& av, uint32_t track_id, bool cbc) {
  GstStructure* s = gst_caps_get_structure(p.caps, 0);
  fail_unless(gst_structure_has_name(s, "application/x-cenc"), "%" GST_PTR_FORMAT, p.caps);
  fail_unless_equals_string(gst_structure_get_string(s, "original-media-type"), media_type);
  fail_unless_equals_string(gst_structure_get_string(s, "protection-system"), "9a04f079-9840-4286-ab92-e65be0885f95");
  fail_unless_equals_string(gst_structure_get_string(s, "cipher-mode"), cipher_mode);
  fail_unless(gst_structure_has_field(s, "codec_data"));
  // The PlayReady Object as base64 text, as mssdemux sends it.
  fail_unless(!p.protection_events.empty());
  const ProtectionEventInfo& ev = p.protection_events[0];
  fail_unless_equals_string(ev.system.c_str(), "9a04f079-9840-4286-ab92-e65be0885f95");
  fail_unless_equals_string(ev.origin.c_str(), "smooth-streaming");
  fail_unless(ev.data == Base64Bytes(av.pro), "protection event data is not the base64 PlayReady Object");
  std::vector<uint8_t> decoded;
  fail_unless(piff::Base64Decode(std::string(ev.data.begin(), ev.data.end()), &decoded));
  piff::PlayReadyObjectInfo pro;
  fail_unless(piff::ParsePlayReadyObject(decoded, &pro));
  fail_unless_equals_int(pro.kids.size(), 1);
  fail_unless(pro.kids[0] == kVideoKid);
  const auto& clear = av.clear[track_id];
  const auto& entries = av.entries[track_id];
  fail_unless_equals_int(p.bufs.size(), clear.size());
  std::vector<uint8_t> key = Hex(key_hex);
  for (size_t i = 0; i < p.bufs.size(); i++) {
    const BufInfo& b = p.bufs[i];
    fail_unless(b.protection && b.encrypted, "buffer %zu: no protection meta", i);
    fail_unless(b.kid == std::vector<uint8_t>(kid.begin(), kid.end()), "buffer %zu: kid", i);
    fail_unless(b.iv == std::string(entries[i].iv.begin(), entries[i].iv.end()), "buffer %zu: iv", i);
    fail_unless_equals_int(b.iv_size, entries[i].iv.size());
    fail_unless_equals_int(b.subsample_count, entries[i].subsamples.size());
    fail_unless(b.subsamples == PackSubsamples(entries[i]), "buffer %zu: subsamples", i);
    fail_unless(b.bytes != clear[i] || clear[i].size() < 16, "buffer %zu is not encrypted", i);
    fail_unless(EvpDecrypt(cbc, key, b) == clear[i], "buffer %zu: OpenSSL decryption from the meta differs", i);
  }
}

}  // namespace

GST_START_TEST(test_decryption_key_property) {
  GstElement* d = gst_element_factory_make("ismdemux", nullptr);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(d), "decryption-key");
  fail_unless(spec != nullptr && G_IS_PARAM_SPEC_STRING(spec));
  fail_unless(strstr(g_param_spec_get_blurb(spec), "KID:KEY") != nullptr, "%s", g_param_spec_get_blurb(spec));
  gchar* v = nullptr;
  g_object_get(d, "decryption-key", &v, nullptr);
  fail_unless(v == nullptr || *v == 0);
  g_free(v);
  g_object_set(d, "decryption-key", "x", nullptr);
  g_object_get(d, "decryption-key", &v, nullptr);
  fail_unless_equals_string(v, "x");
  g_free(v);
  gst_object_unref(d);

  // Bad values: an error naming the property when the pipeline starts.
  EncAv av = MakeEncryptedAv(EncOptions());
  TempFile f(av.enc_file);
  const char* bad[] = {
      "nonsense",
      "10203040-5060-7080-90a0-b0c0d0e0f001",                                     // no key
      "10203040-5060-7080-90a0-b0c0d0e0f001:2b7e151628aed2a6abf7158809cf4f",     // 15 bytes
      "10203040-5060-7080-90a0-b0c0d0e0f001:2b7e151628aed2a6abf7158809cf4fzz",   // not hex
      "1020304050607080:2b7e151628aed2a6abf7158809cf4f3c",                       // KID too short
      "10203040-5060-7080-90a0-b0c0d0e0f001:2b7e151628aed2a6abf7158809cf4f3c,x:y",
  };
  for (const char* value : bad)
    for (bool push : {false, true}) {
      Run* r = PlayEncrypted(f, push, value, false);
      fail_unless(r->error.find("decryption-key") != std::string::npos, "%s: error \"%s\" does not name the property",
                  value, r->error.c_str());
      delete r;
    }
}
GST_END_TEST;

static void DecryptRoundTrip(piff::EncryptionScheme scheme) {
  bool cbc = scheme == piff::EncryptionScheme::kPiffCbc;
  EncOptions o;
  o.scheme = scheme;
  EncAv av = MakeEncryptedAv(o);
  TempFile enc(av.enc_file), clear(av.clear_file, "clear.ismv");
  std::string both = KeyPair(kVideoKidText, kVideoKeyHex) + "," + KeyPair(kAudioKidText, kAudioKeyHex);
  for (bool push : {false, true}) {
    // The clear file, as the reference.
    Run* ref = PlayEncrypted(clear, push, "");
    // Both keys: both tracks decrypted, equal to the clear file's output.
    Run* r = PlayEncrypted(enc, push, both);
    CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", av.clear[1]);
    CheckDecryptedPad(r->Pad("audio_0"), "audio/mpeg", av.clear[2]);
    for (const char* pad : {"video_0", "audio_0"}) {
      fail_unless(gst_caps_is_equal(r->Pad(pad).caps, ref->Pad(pad).caps), "%s caps differ from the clear file's",
                  pad);
      fail_unless_equals_int(r->Pad(pad).bufs.size(), ref->Pad(pad).bufs.size());
      for (size_t i = 0; i < r->Pad(pad).bufs.size(); i++) {
        fail_unless(r->Pad(pad).bufs[i].bytes == ref->Pad(pad).bufs[i].bytes);
        fail_unless_equals_uint64(r->Pad(pad).bufs[i].pts, ref->Pad(pad).bufs[i].pts);
      }
    }
    delete r;
    delete ref;
    // No key: signalled for a decryptor downstream.
    r = PlayEncrypted(enc, push, "");
    CheckSignalledPad(r->Pad("video_0"), "video/x-h264", cbc ? "cbc1" : "cenc", kVideoKid, kVideoKeyHex, av, 1, cbc);
    CheckSignalledPad(r->Pad("audio_0"), "audio/mpeg", cbc ? "cbc1" : "cenc", kAudioKid, kAudioKeyHex, av, 2, cbc);
    delete r;
    // A key for the video KID only: the audio track stays signalled.
    r = PlayEncrypted(enc, push, KeyPair(kVideoKidText, kVideoKeyHex));
    CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", av.clear[1]);
    CheckSignalledPad(r->Pad("audio_0"), "audio/mpeg", cbc ? "cbc1" : "cenc", kAudioKid, kAudioKeyHex, av, 2, cbc);
    delete r;
  }
}

GST_START_TEST(test_decrypt_ctr) { DecryptRoundTrip(piff::EncryptionScheme::kPiffCtr); }
GST_END_TEST;

GST_START_TEST(test_decrypt_cbc) { DecryptRoundTrip(piff::EncryptionScheme::kPiffCbc); }
GST_END_TEST;

// A seek into the middle of a fragment: the IV of the first sample pushed is
// its own, not the fragment's first.
GST_START_TEST(test_decrypt_after_seek) {
  for (auto scheme : {piff::EncryptionScheme::kPiffCtr, piff::EncryptionScheme::kPiffCbc}) {
    EncOptions o;
    o.scheme = scheme;
    EncAv av = MakeEncryptedAv(o);
    TempFile f(av.enc_file);
    Run r(f.path, false);
    r.record_bytes = true;
    g_object_set(r.demux, "decryption-key",
                 (KeyPair(kVideoKidText, kVideoKeyHex) + "," + KeyPair(kAudioKidText, kAudioKeyHex)).c_str(), nullptr);
    r.Pause();
    // 3.1 s: video from the keyframe at 2.8 s (sample 10 of the fragment
    // at 2.4 s), audio from the frame holding 3.1 s (mid-fragment too).
    fail_unless(r.Seek(3100 * GST_MSECOND, GST_SEEK_FLAG_ACCURATE));
    fail_unless(r.Play(), "%s", r.error.c_str());
    CheckDecryptedPad(r.Pad("video_0"), "video/x-h264", av.clear[1], 70);
    CheckDecryptedPad(r.Pad("audio_0"), "audio/mpeg", av.clear[2], 3100 * 48 / 1024);
    // And back to 1.0 s, across chunks already read.
    r.Pause();
    fail_unless(r.Seek(1000 * GST_MSECOND, GST_SEEK_FLAG_ACCURATE));
    fail_unless(r.Play(), "%s", r.error.c_str());
    CheckDecryptedPad(r.Pad("video_0"), "video/x-h264", av.clear[1], 20);
  }
}
GST_END_TEST;

GST_START_TEST(test_decrypt_missing_senc) {
  EncOptions o;
  o.drop_senc = true;
  EncAv av = MakeEncryptedAv(o);
  TempFile f(av.enc_file);
  for (bool push : {false, true}) {
    // With the key: an error, not clear-looking garbage.
    Run* r = PlayEncrypted(f, push, KeyPair(kVideoKidText, kVideoKeyHex), false);
    fail_unless(r->error.find("senc") != std::string::npos || r->error.find("sample encryption") != std::string::npos,
                "%s", r->error.c_str());
    delete r;
    // Without: the fragment's buffers go out without protection meta.
    r = PlayEncrypted(f, push, "");
    PadLog& v = r->Pad("video_0");
    fail_unless_equals_int(v.bufs.size(), 200);
    for (size_t i = 0; i < v.bufs.size(); i++) fail_unless(v.bufs[i].protection == (i / 20 != 3), "buffer %zu", i);
    delete r;
  }
}
GST_END_TEST;

// CENC tenc under schm 'cbcs': signalled with cipher-mode cbcs; decrypting
// it is not supported and says so.
GST_START_TEST(test_cbcs_signalled_not_decrypted) {
  EncOptions o;
  o.scheme = piff::EncryptionScheme::kPiffCbc;
  o.cenc_scheme = "cbcs";
  EncAv av = MakeEncryptedAv(o);
  TempFile f(av.enc_file);
  for (bool push : {false, true}) {
    Run* r = PlayEncrypted(f, push, "");
    GstStructure* s = gst_caps_get_structure(r->Pad("video_0").caps, 0);
    fail_unless(gst_structure_has_name(s, "application/x-cenc"));
    fail_unless_equals_string(gst_structure_get_string(s, "cipher-mode"), "cbcs");
    delete r;
    r = PlayEncrypted(f, push, KeyPair(kVideoKidText, kVideoKeyHex), false);
    fail_unless(r->error.find("cbcs") != std::string::npos, "%s", r->error.c_str());
    delete r;
  }
  // schm 'cenc' with a CENC tenc: cipher-mode cenc, and it decrypts (AES-CTR).
  o.scheme = piff::EncryptionScheme::kPiffCtr;
  o.cenc_scheme = "cenc";
  av = MakeEncryptedAv(o);
  TempFile g(av.enc_file);
  Run* r = PlayEncrypted(g, false, "");
  fail_unless_equals_string(gst_structure_get_string(gst_caps_get_structure(r->Pad("video_0").caps, 0), "cipher-mode"),
                            "cenc");
  delete r;
  r = PlayEncrypted(g, false, KeyPair(kVideoKidText, kVideoKeyHex));
  CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", av.clear[1]);
  delete r;
}
GST_END_TEST;

// A PIFF uuid-pssh gives the PlayReady Object with origin smooth-streaming;
// an ISO pssh the whole box with origin isobmff/moov (as qtdemux).
GST_START_TEST(test_protection_events) {
  EncOptions o;
  o.standard_pssh = true;
  EncAv av = MakeEncryptedAv(o);
  TempFile f(av.enc_file);
  for (bool push : {false, true}) {
    Run* r = PlayEncrypted(f, push, "");
    for (const char* pad : {"video_0", "audio_0"}) {
      PadLog& p = r->Pad(pad);
      fail_unless_equals_int(p.protection_events.size(), 2);
      fail_unless_equals_string(p.protection_events[0].origin.c_str(), "smooth-streaming");
      fail_unless(p.protection_events[0].data == Base64Bytes(av.pro));
      fail_unless_equals_string(p.protection_events[1].system.c_str(), "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed");
      fail_unless_equals_string(p.protection_events[1].origin.c_str(), "isobmff/moov");
      fail_unless(p.protection_events[1].data == av.standard_pssh);
      // PlayReady stays the caps' protection system.
      fail_unless_equals_string(gst_structure_get_string(gst_caps_get_structure(p.caps, 0), "protection-system"),
                                "9a04f079-9840-4286-ab92-e65be0885f95");
    }
    delete r;
  }
}
GST_END_TEST;

// ismvmux's encryption read back: a clear file through ismdemux into
// ismvmux encryption=piff-ctr|piff-cbc, then the result through ismdemux
// with the key (bit-identical to the clear samples) and without it (the
// meta decrypts every sample with OpenSSL directly).
GST_START_TEST(test_ismvmux_encryption_read_back) {
  GstElement* probe = gst_element_factory_make("ismvmux", nullptr);
  fail_unless(probe != nullptr);
  bool has = g_object_class_find_property(G_OBJECT_GET_CLASS(probe), "encryption") != nullptr;
  gst_object_unref(probe);
  if (!has) {
    g_print("ismvmux has no encryption property: test_ismvmux_encryption_read_back skipped\n");
    return;
  }
  EncAv av = MakeEncryptedAv(EncOptions());
  TempFile clear(av.clear_file, "clear.ismv");
  for (const char* scheme : {"piff-ctr", "piff-cbc"}) {
    bool cbc = std::string(scheme) == "piff-cbc";
    std::string out = clear.path + "." + scheme + ".ismv";
    std::string desc = "filesrc location=" + clear.path +
                       " ! ismdemux name=d d.video_0 ! queue ! mux.video_0 d.audio_0 ! queue ! mux.audio_0 "
                       "ismvmux name=mux encryption=" + scheme + " key-id=" + kVideoKidText + " content-key=" +
                       kVideoKeyHex + " ! filesink location=" + out;
    GError* err = nullptr;
    GstElement* pipe = gst_parse_launch(desc.c_str(), &err);
    fail_unless(pipe && !err, "%s", err ? err->message : "");
    gst_element_set_state(pipe, GST_STATE_PLAYING);
    GstBus* bus = gst_element_get_bus(pipe);
    GstMessage* m = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    fail_unless(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS, "muxing with encryption=%s failed", scheme);
    gst_message_unref(m);
    gst_object_unref(bus);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);

    std::ifstream in(out, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    g_unlink(out.c_str());
    TempFile enc(bytes);
    for (bool push : {false, true}) {
      Run* r = PlayEncrypted(enc, push, KeyPair(kVideoKidText, kVideoKeyHex));
      CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", av.clear[1]);
      CheckDecryptedPad(r->Pad("audio_0"), "audio/mpeg", av.clear[2]);
      delete r;
      r = PlayEncrypted(enc, push, "");
      for (const char* pad : {"video_0", "audio_0"}) {
        PadLog& p = r->Pad(pad);
        const auto& clear_samples = av.clear[pad[0] == 'v' ? 1 : 2];
        GstStructure* s = gst_caps_get_structure(p.caps, 0);
        fail_unless(gst_structure_has_name(s, "application/x-cenc"));
        fail_unless_equals_string(gst_structure_get_string(s, "cipher-mode"), cbc ? "cbc1" : "cenc");
        fail_unless(!p.protection_events.empty() && p.protection_events[0].origin == "smooth-streaming");
        const std::vector<uint8_t>& text = p.protection_events[0].data;
        std::vector<uint8_t> raw;
        fail_unless(piff::Base64Decode(std::string(text.begin(), text.end()), &raw));
        piff::PlayReadyObjectInfo pro;
        fail_unless(piff::ParsePlayReadyObject(raw, &pro));
        fail_unless(pro.kids.size() == 1 && pro.kids[0] == kVideoKid);
        fail_unless_equals_int(p.bufs.size(), clear_samples.size());
        for (size_t i = 0; i < p.bufs.size(); i++) {
          fail_unless(p.bufs[i].protection, "%s buffer %zu: no protection meta", pad, i);
          fail_unless(p.bufs[i].kid == std::vector<uint8_t>(kVideoKid.begin(), kVideoKid.end()));
          if (pad[0] == 'v') fail_unless(p.bufs[i].subsample_count > 0, "H.264 sample %zu without subsamples", i);
          fail_unless(EvpDecrypt(cbc, Hex(kVideoKeyHex), p.bufs[i]) == clear_samples[i],
                      "%s %s sample %zu: OpenSSL decryption from the meta differs from the clear sample", scheme, pad,
                      i);
        }
      }
      delete r;
    }
  }
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
  tcase_add_test(tc, test_encrypted_track);
  tcase_add_test(tc, test_decryption_key_property);
  tcase_add_test(tc, test_decrypt_ctr);
  tcase_add_test(tc, test_decrypt_cbc);
  tcase_add_test(tc, test_decrypt_after_seek);
  tcase_add_test(tc, test_decrypt_missing_senc);
  tcase_add_test(tc, test_cbcs_signalled_not_decrypted);
  tcase_add_test(tc, test_protection_events);
  tcase_add_test(tc, test_ismvmux_encryption_read_back);
  tcase_add_test(tc, test_push_streams_mdat);
  tcase_add_test(tc, test_real_seeks_land_on_frame);
  return s;
}

GST_CHECK_MAIN(ismdemux);
