// ismdemux: the GStreamer side of reading PIFF / Smooth Streaming media. One
// top-level box walker serves both scheduling modes: in push mode it is fed
// by the chain function, in pull mode by a task that pulls the ranges it asks
// for (and jumps over what it skips). The core parses every box and resolves
// samples (ReadFragment); this file turns samples into buffers cut out of the
// stream without copying, with timestamps, flags, caps, segments and seeks.

/**
 * SECTION:element-ismdemux
 * @title: ismdemux
 *
 * Demuxes Smooth Streaming media (PIFF 1.1 fragmented MP4: .ismv, .isma,
 * FFmpeg `-f ismv` files and live ingest streams, GStreamer ismlmux files)
 * into H.264 and AAC elementary streams, one source pad per track.
 *
 * In pull mode (a seekable file) it indexes every fragment from the moof
 * headers first and supports flushing TIME seeks (accurate and key-unit,
 * snap before/after/nearest), duration and seeking queries. In push mode
 * (pipes, HTTP, live ingest) it parses incrementally with bounded memory.
 *
 * Encrypted tracks (PIFF 1.1 / PlayReady, CENC 'cenc' and 'cbc1') are
 * decrypted when #GstIsmDemux:decryption-key has a key for their KID and
 * then output with their clear caps. Otherwise they are signalled as
 * qtdemux signals CENC: application/x-cenc caps (original-media-type,
 * protection-system, cipher-mode), a GstProtectionMeta on every buffer and
 * protection events (for the PIFF uuid-pssh: the base64 text of the
 * PlayReady Object with origin "smooth-streaming", byte for byte what
 * mssdemux sends from the manifest's ProtectionHeader).
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 filesrc location=in.ismv ! ismdemux name=d \
 *   d.video_0 ! queue ! avdec_h264 ! videoconvert ! autovideosink \
 *   d.audio_0 ! queue ! avdec_aac ! audioconvert ! autoaudiosink
 * gst-launch-1.0 -e filesrc location=in.ismv ! ismdemux name=d \
 *   d.video_0 ! queue ! h264parse ! mp4mux name=m ! filesink location=out.mp4 \
 *   d.audio_0 ! queue ! aacparse ! m.
 * gst-launch-1.0 filesrc location=protected.ismv ! \
 *   ismdemux name=d decryption-key=10203040-5060-7080-90a0-b0c0d0e0f001:2b7e151628aed2a6abf7158809cf4f3c \
 *   d.video_0 ! queue ! avdec_h264 ! videoconvert ! autovideosink
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstismdemux.h"

#include <gst/base/gstadapter.h>
#include <gst/base/gstflowcombiner.h>
#include <gst/pbutils/pbutils.h>
#include <gst/tag/tag.h>
#include <gst/video/video.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boxes.h"
#include "codec_config.h"
#include "encryption.h"
#include "fragment.h"
#include "media_index.h"
#include "playready.h"
#include "protection.h"

GST_DEBUG_CATEGORY_STATIC(gst_ism_demux_debug);
#define GST_CAT_DEFAULT gst_ism_demux_debug

namespace {

// Bounds on what is ever held in memory for one box (hostile sizes fail
// early instead of growing the adapter without limit).
constexpr uint64_t kMaxFtypSize = 4096;
constexpr uint64_t kMaxMoovSize = 64ull << 20;
constexpr uint64_t kMaxMoofSize = 16ull << 20;
constexpr uint64_t kMaxLiveManifestSize = 4ull << 20;
constexpr uint64_t kMaxSampleSize = 64ull << 20;
// Pull mode: the most read at once inside an mdat, and the least read at a
// box boundary (so a small moof and its mdat header come in one pull).
constexpr uint64_t kPullChunk = 4ull << 20;
constexpr uint64_t kPullMin = 16ull << 10;
// Pull mode pushes buffer lists of at most kMaxBatch samples of one track,
// running at most kBatchLead ahead of the other tracks. Each push wakes a
// downstream queue thread: 1 s lists instead of 200 ms ones cut ismdemux's
// CPU by about 10% in bench_demux.py (720p file). The lead stays within what
// playbin's multiqueue holds; test_pull_interleaves checks that even 100 ms
// queues do not stall.
constexpr guint kMaxBatch = 128;
constexpr GstClockTime kBatchLead = 1000 * GST_MSECOND;
// Keyframe searches look at most this many fragments away from the target.
constexpr ptrdiff_t kMaxSeekScan = 64;

const char* kPlayReadySystemId = "9a04f079-9840-4286-ab92-e65be0885f95";

struct Track {
  Track() = default;
  Track(const Track&) = delete;
  Track& operator=(const Track&) = delete;
  ~Track() {
    ReleaseChunk();
    if (caps) gst_caps_unref(caps);
    if (tags) gst_tag_list_unref(tags);
    if (stream) gst_object_unref(stream);
  }
  uint32_t id = 0;
  uint32_t timescale = 1;
  bool video = false;
  piff::IndexedTrack info;  // description; fragments in pull mode
  bool expose = false;
  bool encrypted = false;
  piff::TrackProtection protection;
  // From the PIFF tenc AlgorithmID, else the schm type: what the caps say
  // (cenc, cbc1, cbcs, cens) and the cipher to decrypt with (kNone: the
  // scheme cannot be decrypted here).
  std::string cipher_mode;
  piff::EncryptionScheme scheme = piff::EncryptionScheme::kNone;
  // decryption-key has this track's KID: samples are decrypted and the pad
  // gets the clear caps, no protection meta and no protection events.
  bool decrypt = false;
  bool Signalled() const { return encrypted && !decrypt; }

  GstPad* pad = nullptr;  // owned by the element once added
  GstCaps* caps = nullptr;
  GstTagList* tags = nullptr;
  GstStream* stream = nullptr;
  std::string stream_id;
  gint fps_n = 0, fps_d = 1;

  // Ticks added to presentation times so that no DTS exceeds its PTS (see
  // ComputeShift); fixed by the first fragment of the track.
  bool shift_known = false;
  int64_t shift = 0;
  // End of the last fragment read: the time of a following fragment that
  // has neither tfxd nor tfdt.
  bool have_end = false;
  uint64_t end = 0;

  // Output state, reset by seeks.
  bool need_segment = true;
  bool need_tags = true;
  bool need_discont = true;
  bool eos = false;
  // Where output starts after a seek: samples of moofs before start_moof,
  // and of start_moof before start_sample, are not pushed.
  bool has_start = false;
  uint64_t start_moof = 0;
  size_t start_sample = 0;

  uint64_t pushed = 0;

  // Pull mode: each track reads its own fragments, so that output can be
  // interleaved by time whatever the file layout. The samples of the current
  // fragment, and one read of their bytes (sub-buffers are cut from it).
  size_t next_fragment = 0;
  size_t start_fragment = 0;
  bool have_fragment = false;
  piff::TrackFragmentSamples frag;
  std::shared_ptr<const piff::SampleEncryption> frag_enc;
  uint64_t frag_data_end = 0;
  size_t next_sample = 0;
  GstBuffer* chunk = nullptr;
  uint64_t chunk_offset = 0;

  void ReleaseChunk() {
    if (chunk) gst_buffer_unref(chunk);
    chunk = nullptr;
  }
  void ResetReading() {
    ReleaseChunk();
    have_fragment = false;
    frag = piff::TrackFragmentSamples();
    frag_enc.reset();
    next_sample = 0;
  }

  GstClockTime ToNs(uint64_t ticks) const { return gst_util_uint64_scale(ticks, GST_SECOND, timescale); }
  uint64_t ToTicks(GstClockTime ns) const { return gst_util_uint64_scale(ns, timescale, GST_SECOND); }
  GstClockTime ShiftNs() const { return ToNs(static_cast<uint64_t>(shift)); }
};

// A sample of the current moof waiting for its bytes.
struct PendingSample {
  Track* track = nullptr;
  piff::ReadSample sample;
  std::shared_ptr<const piff::SampleEncryption> encryption;
  size_t index = 0;  // in the track fragment, for the encryption entry
};

enum class Phase {
  kTop,   // at a top-level box header
  kBox,   // collecting a whole box (ftyp, moov, moof, live manifest)
  kMdat,  // inside an mdat, cutting out pending samples
  kSkip,  // dropping the rest of a box
};

}  // namespace

struct IsmDemuxState {
  GstAdapter* adapter = nullptr;
  GstFlowCombiner* combiner = nullptr;

  // Scheduling.
  bool pull = false;
  uint64_t upstream_size = 0;  // pull mode: bytes in the file

  // Top-level walker.
  Phase phase = Phase::kTop;
  uint64_t offset = 0;       // stream offset of the first byte in the adapter
  piff::BoxHeader box;
  uint64_t box_start = 0;
  uint64_t box_end = 0;
  uint64_t skip = 0;         // bytes of the current box still to drop
  uint64_t cur_moof = 0;     // offset of the moof being resolved
  bool error_posted = false;

  std::optional<piff::FileTypeBox> ftyp;
  std::optional<piff::LiveServerManifestBox> live_manifest;
  std::optional<piff::MovieBox> moov;
  std::vector<std::unique_ptr<Track>> tracks;
  std::vector<piff::ProtectionSystemHeader> pssh;
  bool exposed = false;
  std::deque<PendingSample> pending;

  // Pull mode index.
  bool indexed = false;
  piff::MediaIndex index;

  // Timeline. `segment` is in stream time (0 = start of the presentation);
  // media time = stream time + t0 (the first fragment time).
  bool t0_known = false;
  GstClockTime t0 = 0;
  GstSegment segment;
  guint32 segment_seqnum = 0;
  GstClockTime duration = GST_CLOCK_TIME_NONE;  // guarded by the object lock
  GstClockTime mehd_duration = GST_CLOCK_TIME_NONE;
  guint32 last_seek_seqnum = GST_SEQNUM_INVALID;  // guarded by the object lock
  GstEvent* pending_seek = nullptr;

  guint group_id = 0;
  bool have_group_id = false;

  // decryption-key: the property's text (object lock) and the keys parsed
  // from it when the element starts (streaming thread only).
  std::string decryption_key;
  piff::SampleDecryptor decryptor;

  IsmDemuxState() {
    adapter = gst_adapter_new();
    combiner = gst_flow_combiner_new();
    gst_segment_init(&segment, GST_FORMAT_TIME);
  }
  ~IsmDemuxState() {
    g_object_unref(adapter);
    gst_flow_combiner_free(combiner);
    if (pending_seek) gst_event_unref(pending_seek);
  }

  void ResetWalker(uint64_t at) {
    gst_adapter_clear(adapter);
    phase = Phase::kTop;
    offset = at;
    skip = 0;
    pending.clear();
  }
};

struct _GstIsmDemux {
  GstElement parent;
  GstPad* sinkpad;
  IsmDemuxState* state;
};

G_DEFINE_TYPE(GstIsmDemux, gst_ism_demux, GST_TYPE_ELEMENT)
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(ismdemux, "ismdemux", GST_RANK_PRIMARY, GST_TYPE_ISM_DEMUX,
                                      GST_DEBUG_CATEGORY_INIT(gst_ism_demux_debug, "ismdemux", 0,
                                                              "Smooth Streaming (PIFF) demuxer"));

static GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_ISM_DEMUX_SINK_CAPS));

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE(
    "video_%u", GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS("video/x-h264, stream-format = (string) avc, alignment = (string) au; "
                    "application/x-cenc, original-media-type = (string) video/x-h264"));

static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE(
    "audio_%u", GST_PAD_SRC, GST_PAD_SOMETIMES,
    GST_STATIC_CAPS("audio/mpeg, mpegversion = (int) 4, stream-format = (string) raw; "
                    "application/x-cenc, original-media-type = (string) audio/mpeg"));

enum { PROP_0, PROP_DECRYPTION_KEY };

static gboolean gst_ism_demux_src_event(GstPad* pad, GstObject* parent, GstEvent* event);
static gboolean gst_ism_demux_src_query(GstPad* pad, GstObject* parent, GstQuery* query);

// ---------------------------------------------------------------- helpers

namespace {

// Random access to the upstream file through gst_pad_pull_range, for the
// core's MediaIndex and for reading single moofs while seeking.
class PadByteSource : public piff::ByteSource {
 public:
  PadByteSource(GstPad* pad, uint64_t size) : pad_(pad), size_(size) {}
  piff::Status Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) override {
    if (offset > size_ || size > size_ - offset)
      return piff::Status::Error("read of " + std::to_string(size) + " bytes at " + std::to_string(offset) +
                                 " is past the end (" + std::to_string(size_) + ")");
    out->resize(size);
    size_t done = 0;
    while (done < size) {
      GstBuffer* buf = nullptr;
      GstFlowReturn ret = gst_pad_pull_range(pad_, offset + done, static_cast<guint>(size - done), &buf);
      if (ret != GST_FLOW_OK) {
        last_flow_ = ret;
        return piff::Status::Error("pulling " + std::to_string(size - done) + " bytes at " +
                                   std::to_string(offset + done) + ": " + gst_flow_get_name(ret));
      }
      gsize n = gst_buffer_get_size(buf);
      if (n == 0) {
        gst_buffer_unref(buf);
        return piff::Status::Error("unexpected end of data at " + std::to_string(offset + done));
      }
      n = std::min<gsize>(n, size - done);
      gst_buffer_extract(buf, 0, out->data() + done, n);
      gst_buffer_unref(buf);
      done += n;
    }
    return piff::Status::Ok();
  }
  uint64_t Size() const override { return size_; }
  GstFlowReturn last_flow() const { return last_flow_; }

 private:
  GstPad* pad_;
  uint64_t size_;
  GstFlowReturn last_flow_ = GST_FLOW_OK;
};

std::string CodecName(piff::FourCC f) {
  switch (f) {
    case piff::MakeFourCC("vc-1"): return "VC-1 ('vc-1')";
    case piff::MakeFourCC("WVC1"): return "VC-1 ('WVC1')";
    case piff::MakeFourCC("owma"): return "WMA ('owma')";
    case piff::MakeFourCC("wma "): return "WMA ('wma ')";
    case piff::MakeFourCC("ec-3"): return "E-AC-3 ('ec-3')";
    case piff::MakeFourCC("ac-3"): return "AC-3 ('ac-3')";
    case piff::MakeFourCC("hev1"): return "HEVC ('hev1')";
    case piff::MakeFourCC("hvc1"): return "HEVC ('hvc1')";
    default: return "'" + piff::FourCCToString(f) + "'";
  }
}

GstBuffer* BufferFromBytes(const std::vector<uint8_t>& v) { return gst_buffer_new_memdup(v.data(), v.size()); }

// Largest amount by which a composition offset pulls a sample's
// presentation time before its decode time, in ticks.
int64_t ComputeShift(const piff::TrackFragmentSamples& f) {
  int64_t shift = 0;
  for (auto& s : f.samples) shift = std::max<int64_t>(shift, -s.composition_offset);
  return shift;
}

// The frame rate of a fragment whose samples (but the last) all have one
// duration; 0/1 when they differ.
void GuessFramerate(const Track& t, const piff::TrackFragmentSamples& f, gint* n, gint* d) {
  *n = 0;
  *d = 1;
  if (f.samples.size() < 3) return;
  // Writers that round each DTS to 100 ns ticks alternate by one tick
  // (416666/416667 at 24 fps); allow that, not real variation.
  uint32_t lo = G_MAXUINT32, hi = 0;
  uint64_t sum = 0;
  size_t count = f.samples.size() - 1;  // the last duration is often a guess
  for (size_t i = 0; i < count; i++) {
    lo = std::min(lo, f.samples[i].duration);
    hi = std::max(hi, f.samples[i].duration);
    sum += f.samples[i].duration;
  }
  if (lo == 0 || hi - lo > hi / 1000 + 1) return;
  gst_video_guess_framerate(gst_util_uint64_scale(sum, GST_SECOND, static_cast<uint64_t>(t.timescale) * count), n, d);
}

}  // namespace

static IsmDemuxState* State(GstIsmDemux* self) { return self->state; }

static Track* FindTrack(IsmDemuxState* st, uint32_t id) {
  for (auto& t : st->tracks)
    if (t->id == id) return t.get();
  return nullptr;
}

static std::string TrackLabel(const Track& t) {
  return std::string(t.video ? "video" : "audio") + " track " + std::to_string(t.id);
}

// ---------------------------------------------------------------- tracks and pads

// The cipher of an encrypted track (rules in piff::ChooseCipher).
static void ClassifyProtection(const piff::RawBoxes& entry_children, Track* t) {
  t->cipher_mode = "cenc";
  t->scheme = piff::EncryptionScheme::kNone;
  for (const auto& raw : entry_children) {
    piff::BoxHeader h;
    if (!piff::ParseBoxHeader(raw.data(), raw.size(), &h) || h.type != piff::MakeFourCC("sinf")) continue;
    piff::ProtectionSchemeInfoBox sinf;
    if (!sinf.Parse(raw.data(), raw.size())) return;
    bool piff_tenc = sinf.schi && sinf.schi->piff_tenc;
    piff::CipherChoice c = piff::ChooseCipher(piff_tenc, piff_tenc ? sinf.schi->piff_tenc->fields.head : 0,
                                              sinf.schm ? sinf.schm->scheme_type : 0);
    t->cipher_mode = c.cipher_mode;
    t->scheme = c.scheme;
    return;
  }
}

// Decides, for every moov track, whether it gets a pad and with what caps
// (framerate is added later from the first fragment).
static bool PrepareTracks(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  st->tracks.clear();
  st->pssh = piff::FindProtectionSystemHeaders(st->moov->other);
  for (const piff::TrackBox& trak : st->moov->tracks) {
    auto t = std::make_unique<Track>();
    t->id = trak.tkhd.track_id;
    piff::Status s = piff::DescribeTrack(trak, &t->info);
    t->timescale = std::max<uint32_t>(t->info.config.timescale, 1);
    piff::FourCC handler = trak.mdia.hdlr.handler_type;
    t->video = handler == piff::MakeFourCC("vide");
    if (!s) {
      GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("Track %u is unusable and is skipped", t->id), ("%s", s.message().c_str()));
      st->tracks.push_back(std::move(t));
      continue;
    }
    if (handler != piff::MakeFourCC("vide") && handler != piff::MakeFourCC("soun")) {
      GST_ELEMENT_WARNING(self, STREAM, CODEC_NOT_FOUND,
                          ("Track %u has handler '%s' (not video or audio); it is skipped", t->id,
                           piff::FourCCToString(handler).c_str()),
                          (nullptr));
      st->tracks.push_back(std::move(t));
      continue;
    }
    const piff::RawBoxes* entry_children = nullptr;
    const auto& stsd = trak.mdia.minf.stbl.stsd;
    if (t->video && !stsd.video.empty()) entry_children = &stsd.video[0].other;
    if (!t->video && !stsd.audio.empty()) entry_children = &stsd.audio[0].other;
    piff::FourCC entry = t->info.sample_entry;
    piff::FourCC codec = entry;
    if (entry == piff::MakeFourCC("encv") || entry == piff::MakeFourCC("enca")) {
      bool found = false;
      s = entry_children ? piff::FindTrackProtection(*entry_children, &t->protection, &found) : piff::Status::Ok();
      if (!s || !found) {
        GST_ELEMENT_WARNING(self, STREAM, DEMUX,
                            ("Encrypted track %u has no usable protection scheme information; it is skipped", t->id),
                            ("%s", s ? "no sinf box in the sample entry" : s.message().c_str()));
        st->tracks.push_back(std::move(t));
        continue;
      }
      t->encrypted = true;
      codec = t->protection.original_format;
      ClassifyProtection(*entry_children, t.get());
      t->decrypt = t->protection.has_default_kid && st->decryptor.HasKey(t->protection.default_kid);
      if (t->decrypt && t->scheme == piff::EncryptionScheme::kNone) {
        GST_ELEMENT_ERROR(self, STREAM, DECRYPT,
                          ("Cannot decrypt track %u: its protection scheme '%s' is not supported", t->id,
                           t->cipher_mode.c_str()),
                          ("decryption-key has a key for KID %s; ismdemux decrypts PIFF AES-CTR/AES-CBC "
                           "(AlgorithmID 1/2) and CENC 'cenc'/'cbc1', not 'cbcs'/'cens'",
                           piff::UuidToString(t->protection.default_kid).c_str()));
        st->error_posted = true;
        return false;
      }
      GST_INFO_OBJECT(self, "track %u: encrypted (%s, KID %s)%s", t->id, t->cipher_mode.c_str(),
                      piff::UuidToString(t->protection.default_kid).c_str(),
                      t->decrypt ? ", decrypting with the key given" : ", no key: signalled downstream");
    }
    bool h264 = codec == piff::MakeFourCC("avc1") || codec == piff::MakeFourCC("avc3");
    bool aac = codec == piff::MakeFourCC("mp4a");
    if (!t->info.supported || !(h264 || aac)) {
      GST_ELEMENT_WARNING(self, STREAM, CODEC_NOT_FOUND,
                          ("%s uses codec %s, which ismdemux does not support; the track is skipped",
                           TrackLabel(*t).c_str(), CodecName(codec).c_str()),
                          ("only H.264 (avc1 with avcC) and AAC (mp4a with an AudioSpecificConfig) are exposed"));
      st->tracks.push_back(std::move(t));
      continue;
    }
    t->expose = true;
    st->tracks.push_back(std::move(t));
  }
  return true;
}

static GstCaps* MakeCaps(IsmDemuxState* st, Track* t) {
  const piff::TrackConfig& c = t->info.config;
  GstCaps* caps;
  if (t->video) {
    GstBuffer* cd = BufferFromBytes(c.avcc);
    caps = gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment", G_TYPE_STRING,
                               "au", "codec_data", GST_TYPE_BUFFER, cd, nullptr);
    gst_buffer_unref(cd);
    if (c.width && c.height)
      gst_caps_set_simple(caps, "width", G_TYPE_INT, c.width, "height", G_TYPE_INT, c.height, nullptr);
    if (t->fps_n > 0) gst_caps_set_simple(caps, "framerate", GST_TYPE_FRACTION, t->fps_n, t->fps_d, nullptr);
    // avcC bytes 1..3 are profile_idc, constraint flags and level_idc, the
    // layout the codec utils expect of an SPS body.
    if (c.avcc.size() > 4) gst_codec_utils_h264_caps_set_level_and_profile(caps, c.avcc.data() + 1, 3);
  } else {
    GstBuffer* cd = BufferFromBytes(c.audio_specific_config);
    caps = gst_caps_new_simple("audio/mpeg", "mpegversion", G_TYPE_INT, 4, "stream-format", G_TYPE_STRING, "raw",
                               "framed", G_TYPE_BOOLEAN, TRUE, "codec_data", GST_TYPE_BUFFER, cd, nullptr);
    gst_buffer_unref(cd);
    if (c.sample_rate) gst_caps_set_simple(caps, "rate", G_TYPE_INT, static_cast<gint>(c.sample_rate), nullptr);
    if (c.channels) gst_caps_set_simple(caps, "channels", G_TYPE_INT, static_cast<gint>(c.channels), nullptr);
    gst_codec_utils_aac_caps_set_level_and_profile(caps, c.audio_specific_config.data(),
                                                   static_cast<guint>(c.audio_specific_config.size()));
  }
  if (t->Signalled()) {
    // As qtdemux signals protected streams: the clear caps become fields of
    // application/x-cenc so a decryptor can be plugged. PlayReady is the
    // system of Smooth Streaming: named when the file has its header (or
    // none at all), else the first system the file has a header for.
    GstStructure* s = gst_caps_get_structure(caps, 0);
    std::string system = kPlayReadySystemId;
    bool playready = st->pssh.empty();
    for (auto& p : st->pssh) playready |= p.system_id == piff::kPlayReadySystemId;
    if (!playready) system = piff::UuidToString(st->pssh[0].system_id);
    gst_structure_set(s, "original-media-type", G_TYPE_STRING, gst_structure_get_name(s), "protection-system",
                      G_TYPE_STRING, system.c_str(), "cipher-mode", G_TYPE_STRING, t->cipher_mode.c_str(), nullptr);
    gst_structure_set_name(s, "application/x-cenc");
  }
  return caps;
}

static GstTagList* MakeTags(IsmDemuxState* st, Track* t) {
  GstTagList* tags = gst_tag_list_new_empty();
  const piff::TrackConfig& c = t->info.config;
  if (!c.language.empty() && c.language != "und") {
    const gchar* code = gst_tag_get_language_code_iso_639_1(c.language.c_str());
    gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_LANGUAGE_CODE, code ? code : c.language.c_str(), nullptr);
  }
  guint bitrate = 0;
  uint64_t dur = t->info.duration();
  if (st->pull && dur > 0)
    bitrate = static_cast<guint>(gst_util_uint64_scale(t->info.payload_bytes * 8, t->timescale, dur));
  else if (c.avg_bitrate)
    bitrate = c.avg_bitrate;
  if (bitrate) gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_BITRATE, bitrate, nullptr);
  if (c.max_bitrate) gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_MAXIMUM_BITRATE, c.max_bitrate, nullptr);
  GstCaps* clear = MakeCaps(st, t);
  if (t->Signalled()) {
    GstStructure* s = gst_caps_get_structure(clear, 0);
    gst_structure_set_name(s, gst_structure_get_string(s, "original-media-type"));
  }
  gst_pb_utils_add_codec_description_to_tag_list(tags, t->video ? GST_TAG_VIDEO_CODEC : GST_TAG_AUDIO_CODEC, clear);
  gst_caps_unref(clear);
  gst_tag_list_add(tags, GST_TAG_MERGE_REPLACE, GST_TAG_CONTAINER_FORMAT, "Smooth Streaming (PIFF)", nullptr);
  return tags;
}

// Creates the source pads with stream-start, stream collection, caps and
// protection events, then signals no-more-pads.
static void ExposePads(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  if (st->exposed) return;
  st->exposed = true;

  if (!st->have_group_id) {
    GstEvent* ss = gst_pad_get_sticky_event(self->sinkpad, GST_EVENT_STREAM_START, 0);
    if (ss) {
      st->have_group_id = gst_event_parse_group_id(ss, &st->group_id);
      gst_event_unref(ss);
    }
    if (!st->have_group_id) {
      st->group_id = gst_util_group_id_next();
      st->have_group_id = true;
    }
  }

  gchar* upstream_id = gst_pad_get_stream_id(self->sinkpad);
  GstStreamCollection* collection = gst_stream_collection_new(upstream_id);
  g_free(upstream_id);

  guint n_video = 0, n_audio = 0;
  GstElementClass* klass = GST_ELEMENT_GET_CLASS(self);
  for (auto& tp : st->tracks) {
    Track* t = tp.get();
    if (!t->expose) continue;
    gchar* name = g_strdup_printf(t->video ? "video_%u" : "audio_%u", t->video ? n_video++ : n_audio++);
    GstPadTemplate* templ = gst_element_class_get_pad_template(klass, t->video ? "video_%u" : "audio_%u");
    t->pad = gst_pad_new_from_template(templ, name);
    g_free(name);
    gst_pad_set_event_function(t->pad, gst_ism_demux_src_event);
    gst_pad_set_query_function(t->pad, gst_ism_demux_src_query);
    gst_pad_use_fixed_caps(t->pad);
    gst_pad_set_element_private(t->pad, t);
    gst_pad_set_active(t->pad, TRUE);

    gchar* sid = gst_pad_create_stream_id_printf(t->pad, GST_ELEMENT(self), "%u", t->id);
    t->stream_id = sid;
    g_free(sid);
    t->caps = MakeCaps(st, t);
    t->tags = MakeTags(st, t);
    t->stream = gst_stream_new(t->stream_id.c_str(), t->caps, t->video ? GST_STREAM_TYPE_VIDEO : GST_STREAM_TYPE_AUDIO,
                               GST_STREAM_FLAG_NONE);
    gst_stream_set_tags(t->stream, t->tags);
    gst_stream_collection_add_stream(collection, GST_STREAM(gst_object_ref(t->stream)));
  }

  gst_element_post_message(GST_ELEMENT(self),
                           gst_message_new_stream_collection(GST_OBJECT(self), collection));
  for (auto& tp : st->tracks) {
    Track* t = tp.get();
    if (!t->pad) continue;
    GstEvent* ev = gst_event_new_stream_start(t->stream_id.c_str());
    gst_event_set_group_id(ev, st->group_id);
    gst_event_set_stream(ev, t->stream);
    gst_pad_push_event(t->pad, ev);
    gst_pad_push_event(t->pad, gst_event_new_stream_collection(collection));
    gst_pad_set_caps(t->pad, t->caps);
    if (t->Signalled())
      for (auto& p : st->pssh) {
        // A PIFF uuid-pssh is sent as mssdemux sends the manifest's
        // ProtectionHeader: its base64 text (of the PlayReady Object, no NUL),
        // so decryptors written for mssdemux work unchanged; an ISO pssh
        // goes whole, as qtdemux sends it.
        std::vector<uint8_t> payload = p.box;
        if (p.piff) {
          std::string b64 = piff::Base64Encode(p.data);
          payload.assign(b64.begin(), b64.end());
        }
        GstBuffer* data = BufferFromBytes(payload);
        gst_pad_push_event(t->pad, gst_event_new_protection(piff::UuidToString(p.system_id).c_str(), data,
                                                            p.piff ? "smooth-streaming" : "isobmff/moov"));
        gst_buffer_unref(data);
      }
    GST_INFO_OBJECT(self, "%s: pad %s, caps %" GST_PTR_FORMAT, TrackLabel(*t).c_str(), GST_PAD_NAME(t->pad), t->caps);
    gst_element_add_pad(GST_ELEMENT(self), t->pad);
    gst_flow_combiner_add_pad(st->combiner, t->pad);
  }
  gst_object_unref(collection);
  gst_element_no_more_pads(GST_ELEMENT(self));
}

static void RemovePads(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  for (auto& t : st->tracks) {
    if (!t->pad) continue;
    gst_flow_combiner_remove_pad(st->combiner, t->pad);
    gst_pad_set_active(t->pad, FALSE);
    gst_element_remove_pad(GST_ELEMENT(self), t->pad);
    t->pad = nullptr;
  }
  st->tracks.clear();
  st->exposed = false;
}

static void PushToAll(GstIsmDemux* self, GstEvent* event) {
  for (auto& t : State(self)->tracks)
    if (t->pad) gst_pad_push_event(t->pad, gst_event_ref(event));
  gst_event_unref(event);
}

// ---------------------------------------------------------------- timing

static uint64_t ContinuationTime(uint32_t track_id, void* user) {
  auto* st = static_cast<IsmDemuxState*>(user);
  Track* t = FindTrack(st, track_id);
  if (!t) return 0;
  if (st->pull) {
    // The index resolved every fragment time already (same precedence).
    auto& frags = t->info.fragments;
    auto it = std::lower_bound(frags.begin(), frags.end(), st->cur_moof,
                               [](const piff::IndexedFragment& f, uint64_t off) { return f.moof_offset < off; });
    if (it != frags.end() && it->moof_offset == st->cur_moof) return it->time;
  }
  return t->have_end ? t->end : 0;
}

// The segment a track's pad gets: the stream-time segment moved to media time
// and by the track's composition shift.
static GstSegment PadSegment(IsmDemuxState* st, const Track& t) {
  GstSegment seg = st->segment;
  GstClockTime off = st->t0 + t.ShiftNs();
  seg.start += off;
  if (GST_CLOCK_TIME_IS_VALID(seg.stop)) seg.stop += off;
  seg.position += off;
  return seg;
}

// ---------------------------------------------------------------- output

// Gives a sample buffer its timestamps, flags and protection meta, after
// sending the pad's pending segment and tags. Returns null (and takes `buf`)
// when the sample is not to be pushed: track ended, past the segment stop,
// or audio wholly before the segment start.
static GstBuffer* PrepareSample(GstIsmDemux* self, const PendingSample& p, GstBuffer* buf) {
  IsmDemuxState* st = State(self);
  Track* t = p.track;
  const piff::ReadSample& s = p.sample;
  if (!t->pad || t->eos) {
    gst_buffer_unref(buf);
    return nullptr;
  }
  GstClockTime dts = t->ToNs(s.decode_time);
  int64_t pts_ticks = static_cast<int64_t>(s.decode_time) + s.composition_offset + t->shift;
  GstClockTime pts = t->ToNs(static_cast<uint64_t>(std::max<int64_t>(pts_ticks, 0)));
  GstClockTime end_dts = t->ToNs(s.decode_time + s.duration);
  GstClockTime duration = end_dts - dts;
  GstSegment seg = PadSegment(st, *t);

  // Segment stop: nothing at or after it can be shown (DTS <= PTS here).
  if (GST_CLOCK_TIME_IS_VALID(seg.stop) && dts >= seg.stop) {
    GST_DEBUG_OBJECT(self, "%s reached the segment stop", TrackLabel(*t).c_str());
    t->eos = true;
    gst_buffer_unref(buf);
    return nullptr;
  }
  // Audio that ends before the segment is dropped here; video is sent from
  // its keyframe and clipped after decoding.
  if (!t->video && pts + duration <= seg.start) {
    gst_buffer_unref(buf);
    return nullptr;
  }

  if (t->need_segment) {
    GstEvent* ev = gst_event_new_segment(&seg);
    if (st->segment_seqnum) gst_event_set_seqnum(ev, st->segment_seqnum);
    gst_pad_push_event(t->pad, ev);
    t->need_segment = false;
  }
  if (t->need_tags) {
    gst_pad_push_event(t->pad, gst_event_new_tag(gst_tag_list_ref(t->tags)));
    t->need_tags = false;
  }

  buf = gst_buffer_make_writable(buf);
  GST_BUFFER_FLAGS(buf) = 0;
  GST_BUFFER_PTS(buf) = pts;
  GST_BUFFER_DTS(buf) = dts;
  GST_BUFFER_DURATION(buf) = duration;
  GST_BUFFER_OFFSET(buf) = GST_BUFFER_OFFSET_NONE;
  GST_BUFFER_OFFSET_END(buf) = GST_BUFFER_OFFSET_NONE;
  if (!s.sync) GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  if (t->need_discont) {
    GST_BUFFER_FLAG_SET(buf, GST_BUFFER_FLAG_DISCONT);
    t->need_discont = false;
  }
  if (t->Signalled() && p.encryption && p.index < p.encryption->samples.size()) {
    const piff::SampleEncryption& enc = *p.encryption;
    const piff::SampleEncryption::Sample& e = enc.samples[p.index];
    const piff::Uuid& kid = enc.kid ? *enc.kid : t->protection.default_kid;
    GstBuffer* kid_buf = gst_buffer_new_memdup(kid.data(), kid.size());
    GstBuffer* iv_buf = BufferFromBytes(e.iv);
    GstStructure* info = gst_structure_new("application/x-cenc", "encrypted", G_TYPE_BOOLEAN, TRUE, "kid",
                                           GST_TYPE_BUFFER, kid_buf, "iv_size", G_TYPE_UINT,
                                           static_cast<guint>(e.iv.size()), "iv", GST_TYPE_BUFFER, iv_buf,
                                           "subsample_count", G_TYPE_UINT, static_cast<guint>(e.subsamples.size()),
                                           nullptr);
    if (!e.subsamples.empty()) {
      GstBuffer* subs = BufferFromBytes(piff::PackSubsamples(e.subsamples));
      gst_structure_set(info, "subsamples", GST_TYPE_BUFFER, subs, nullptr);
      gst_buffer_unref(subs);
    }
    gst_buffer_unref(kid_buf);
    gst_buffer_unref(iv_buf);
    gst_buffer_add_protection_meta(buf, info);
  }
  GST_LOG_OBJECT(self, "%s: pts %" GST_TIME_FORMAT " dts %" GST_TIME_FORMAT " size %u%s", TrackLabel(*t).c_str(),
                 GST_TIME_ARGS(pts), GST_TIME_ARGS(dts), s.size, s.sync ? " key" : "");
  // Stream-time position, for segment-done and seeks that keep the start.
  GstClockTime media_pts = pts - std::min<GstClockTime>(pts, t->ShiftNs());
  if (media_pts >= st->t0) st->segment.position = std::max<GstClockTime>(st->segment.position, media_pts - st->t0);
  t->pushed++;
  return buf;
}

static GstFlowReturn CombineFlow(IsmDemuxState* st, Track* t, GstFlowReturn ret) {
  if (ret == GST_FLOW_EOS) t->eos = true;
  return gst_flow_combiner_update_pad_flow(st->combiner, t->pad, ret);
}

static GstFlowReturn PushSample(GstIsmDemux* self, const PendingSample& p, GstBuffer* buf) {
  buf = PrepareSample(self, p, buf);
  if (!buf) return GST_FLOW_OK;
  return CombineFlow(State(self), p.track, gst_pad_push(p.track->pad, buf));
}

static bool AllTracksDone(IsmDemuxState* st) {
  bool any = false;
  for (auto& t : st->tracks) {
    if (!t->pad) continue;
    any = true;
    if (!t->eos) return false;
  }
  return any;
}

// ---------------------------------------------------------------- boxes

#define POST_ERROR(self, code, text, debug)                                                     \
  do {                                                                                          \
    GST_ELEMENT_ERROR(self, STREAM, code, text, debug);                                         \
    State(self)->error_posted = true;                                                           \
  } while (0)

// Decrypts sample `index` of a fragment of a decrypted track in place, with
// that sample's IV and subsamples. False (error posted) when the fragment
// has no entry for it or the entry does not fit the sample.
static bool DecryptSample(GstIsmDemux* self, Track* t, const piff::SampleEncryption* enc, size_t index,
                          uint8_t* data, size_t size, uint64_t offset) {
  if (!enc || index >= enc->samples.size()) {
    POST_ERROR(self, DECRYPT, ("Cannot decrypt %s: no sample encryption data (senc) for it", TrackLabel(*t).c_str()),
               ("sample %zu at offset %" G_GUINT64_FORMAT, index, offset));
    return false;
  }
  const piff::SampleEncryption::Sample& e = enc->samples[index];
  const piff::Uuid& kid = enc->kid ? *enc->kid : t->protection.default_kid;
  piff::Status s = State(self)->decryptor.Decrypt(t->scheme, kid, data, size, e.iv.data(), e.iv.size(), e.subsamples);
  if (!s) {
    POST_ERROR(self, DECRYPT, ("Cannot decrypt a sample of %s", TrackLabel(*t).c_str()),
               ("sample %zu at offset %" G_GUINT64_FORMAT " (%zu bytes): %s", index, offset, size,
                s.message().c_str()));
    return false;
  }
  return true;
}

// Push mode: decrypts a sample buffer cut from the adapter. Made writable
// and mapped for writing, it is decrypted where it is when its memory is
// ours alone, else in the one copy the map makes.
static GstBuffer* DecryptBuffer(GstIsmDemux* self, const PendingSample& p, GstBuffer* buf) {
  Track* t = p.track;
  if (!t->decrypt || !t->pad || t->eos || p.sample.size == 0) return buf;
  buf = gst_buffer_make_writable(buf);
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READWRITE)) {
    POST_ERROR(self, DECRYPT, ("Cannot decrypt a sample of %s", TrackLabel(*t).c_str()), ("buffer not mappable"));
    gst_buffer_unref(buf);
    return nullptr;
  }
  bool ok = DecryptSample(self, t, p.encryption.get(), p.index, map.data, map.size, p.sample.offset);
  gst_buffer_unmap(buf, &map);
  if (!ok) {
    gst_buffer_unref(buf);
    return nullptr;
  }
  return buf;
}

static GstFlowReturn HandleMoov(GstIsmDemux* self, const uint8_t* data, size_t size) {
  IsmDemuxState* st = State(self);
  if (st->moov) {
    GST_DEBUG_OBJECT(self, "ignoring a second moov at %" G_GUINT64_FORMAT, st->box_start);
    return GST_FLOW_OK;
  }
  piff::MovieBox moov;
  piff::Status s = moov.Parse(data, size);
  if (!s) {
    POST_ERROR(self, DEMUX, ("Corrupt moov box at offset %" G_GUINT64_FORMAT, st->box_start), ("%s", s.message().c_str()));
    return GST_FLOW_ERROR;
  }
  st->moov = std::move(moov);
  if (!PrepareTracks(self)) return GST_FLOW_ERROR;
  bool any = false;
  for (auto& t : st->tracks) any |= t->expose;
  if (!any) {
    POST_ERROR(self, CODEC_NOT_FOUND, ("No playable track (H.264 or AAC) in this file"), (nullptr));
    return GST_FLOW_ERROR;
  }
  if (st->moov->mvex && st->moov->mvex->mehd && st->moov->mvex->mehd->fragment_duration &&
      st->moov->mvhd.timescale) {
    GstClockTime d = gst_util_uint64_scale(st->moov->mvex->mehd->fragment_duration, GST_SECOND,
                                           st->moov->mvhd.timescale);
    st->mehd_duration = d;
    GST_OBJECT_LOCK(self);
    if (!GST_CLOCK_TIME_IS_VALID(st->duration)) st->duration = d;
    GST_OBJECT_UNLOCK(self);
  }
  return GST_FLOW_OK;
}

// Resolves a moof to samples and queues those that are to be pushed, in the
// order of their bytes in the stream.
static GstFlowReturn HandleMoof(GstIsmDemux* self, const uint8_t* data, size_t size) {
  IsmDemuxState* st = State(self);
  uint64_t moof_offset = st->box_start;
  if (!st->moov) {
    POST_ERROR(self, DEMUX, ("Movie fragment before the movie header"),
               ("moof at offset %" G_GUINT64_FORMAT " precedes any moov", moof_offset));
    return GST_FLOW_ERROR;
  }
  piff::MovieFragmentBox moof;
  piff::Status s = moof.Parse(data, size);
  std::vector<piff::TrackFragmentSamples> frags;
  st->cur_moof = moof_offset;
  if (s) s = piff::ReadFragment(moof, moof_offset, &*st->moov, ContinuationTime, st, &frags);
  if (!s) {
    POST_ERROR(self, DEMUX, ("Corrupt movie fragment at offset %" G_GUINT64_FORMAT, moof_offset),
               ("%s", s.message().c_str()));
    return GST_FLOW_ERROR;
  }
  GST_DEBUG_OBJECT(self, "moof #%u at %" G_GUINT64_FORMAT ": %zu track fragment(s)", moof.mfhd.sequence_number,
                   moof_offset, frags.size());

  if (!st->exposed) {
    // Push mode: the first fragment fixes the timeline origin, and gives the
    // frame rate and composition shift of the tracks it carries.
    if (!st->t0_known) {
      uint64_t t0 = G_MAXUINT64;
      for (auto& f : frags)
        if (Track* t = FindTrack(st, f.track_id); t && t->expose) t0 = std::min<uint64_t>(t0, t->ToNs(f.decode_time));
      st->t0 = t0 == G_MAXUINT64 ? 0 : t0;
      st->t0_known = true;
    }
    for (auto& f : frags) {
      Track* t = FindTrack(st, f.track_id);
      if (!t || !t->expose) continue;
      if (t->video && t->fps_n == 0) GuessFramerate(*t, f, &t->fps_n, &t->fps_d);
    }
    // As in pull mode: a movie duration in mehd ends the segment.
    if (GST_CLOCK_TIME_IS_VALID(st->mehd_duration)) st->segment.duration = st->segment.stop = st->mehd_duration;
    ExposePads(self);
  }

  for (size_t i = 0; i < frags.size(); i++) {
    const piff::TrackFragmentSamples& f = frags[i];
    Track* t = FindTrack(st, f.track_id);
    if (!t) continue;
    t->have_end = true;
    t->end = f.decode_time + f.duration;
    if (!t->pad || t->eos) continue;
    if (!t->shift_known) {
      t->shift = ComputeShift(f);
      t->shift_known = true;
      if (t->shift)
        GST_INFO_OBJECT(self, "%s: composition offsets down to -%" G_GINT64_FORMAT
                              " ticks; PTS and segment move by that much",
                        TrackLabel(*t).c_str(), t->shift);
    }
    GST_DEBUG_OBJECT(self, "%s: fragment at %" G_GUINT64_FORMAT " (%s), %zu samples", TrackLabel(*t).c_str(),
                     f.decode_time,
                     f.time_source == piff::FragmentTimeSource::kTfxd   ? "tfxd"
                     : f.time_source == piff::FragmentTimeSource::kTfdt ? "tfdt"
                                                                         : "continued",
                     f.samples.size());
    size_t first = 0;
    if (t->has_start) {
      if (moof_offset < t->start_moof) continue;
      if (moof_offset == t->start_moof) first = t->start_sample;
      t->has_start = false;
    }
    std::shared_ptr<piff::SampleEncryption> enc;
    if (t->encrypted) {
      auto e = std::make_shared<piff::SampleEncryption>();
      bool found = false;
      s = piff::FindSampleEncryption(moof.trafs[i], t->protection.iv_size, e.get(), &found);
      if (!s) {
        if (t->decrypt) {
          POST_ERROR(self, DECRYPT,
                     ("Cannot decrypt %s: unreadable sample encryption data (senc)", TrackLabel(*t).c_str()),
                     ("moof at %" G_GUINT64_FORMAT ": %s", moof_offset, s.message().c_str()));
          return GST_FLOW_ERROR;
        }
        GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("Unreadable sample encryption data for %s", TrackLabel(*t).c_str()),
                            ("%s", s.message().c_str()));
      } else if (found && e->samples.size() == f.samples.size()) {
        enc = e;
      } else if (t->decrypt) {
        // Decrypting without the IVs would push garbage as clear media.
        POST_ERROR(self, DECRYPT,
                   ("Cannot decrypt %s: no sample encryption data (senc) for a fragment", TrackLabel(*t).c_str()),
                   ("moof at %" G_GUINT64_FORMAT ": %s", moof_offset,
                    found ? ("senc has " + std::to_string(e->samples.size()) + " entries for " +
                             std::to_string(f.samples.size()) + " samples").c_str()
                          : "its traf has no senc box"));
        return GST_FLOW_ERROR;
      } else if (found) {
        GST_WARNING_OBJECT(self, "%s: senc has %zu entries for %zu samples", TrackLabel(*t).c_str(),
                           e->samples.size(), f.samples.size());
      }
    }
    for (size_t k = first; k < f.samples.size(); k++) {
      if (f.samples[k].size > kMaxSampleSize) {
        POST_ERROR(self, DEMUX, ("Sample too large in %s", TrackLabel(*t).c_str()),
                   ("sample %zu of the fragment at offset %" G_GUINT64_FORMAT " claims %u bytes", k, moof_offset,
                    f.samples[k].size));
        return GST_FLOW_ERROR;
      }
      PendingSample p;
      p.track = t;
      p.sample = f.samples[k];
      p.encryption = enc;
      p.index = k;
      st->pending.push_back(std::move(p));
    }
  }
  std::stable_sort(st->pending.begin(), st->pending.end(),
                   [](const PendingSample& a, const PendingSample& b) { return a.sample.offset < b.sample.offset; });
  return GST_FLOW_OK;
}

static GstFlowReturn HandleWholeBox(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  gsize size = static_cast<gsize>(st->box.size);
  const guint8* data = static_cast<const guint8*>(gst_adapter_map(st->adapter, size));
  GstFlowReturn ret = GST_FLOW_OK;
  piff::FourCC type = st->box.type;
  if (type == piff::MakeFourCC("ftyp")) {
    piff::FileTypeBox ftyp;
    if (ftyp.Parse(data, size)) st->ftyp = ftyp;
  } else if (type == piff::MakeFourCC("uuid")) {
    piff::LiveServerManifestBox lsm;
    piff::Status s = lsm.Parse(data, size);
    if (s) {
      GST_INFO_OBJECT(self, "live ingest stream: Live Server Manifest of %zu bytes", lsm.xml.size());
      st->live_manifest = std::move(lsm);
    } else {
      GST_WARNING_OBJECT(self, "unreadable Live Server Manifest box: %s", s.message().c_str());
    }
  } else if (type == piff::MakeFourCC("moov")) {
    ret = HandleMoov(self, data, size);
  } else if (type == piff::MakeFourCC("moof")) {
    ret = HandleMoof(self, data, size);
  }
  gst_adapter_unmap(st->adapter);
  gst_adapter_flush(st->adapter, size);
  st->offset += size;
  st->phase = Phase::kTop;
  return ret;
}

// Bytes a top-level box header needs (8, 16 with a 64-bit size, +16 for uuid).
static size_t HeaderBytes(const guint8* d) {
  size_t n = (d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1) ? 16 : 8;
  if (d[4] == 'u' && d[5] == 'u' && d[6] == 'i' && d[7] == 'd') n += 16;
  return n;
}

// Walks the bytes in the adapter as far as they go. Returns OK when it needs
// more data.
static GstFlowReturn Process(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  for (;;) {
    gsize avail = gst_adapter_available(st->adapter);
    switch (st->phase) {
      case Phase::kTop: {
        if (st->pending.empty() && AllTracksDone(st)) return GST_FLOW_EOS;
        if (avail < 8) return GST_FLOW_OK;
        const guint8* d = static_cast<const guint8*>(gst_adapter_map(st->adapter, 8));
        size_t need = HeaderBytes(d);
        gst_adapter_unmap(st->adapter);
        if (avail < need) return GST_FLOW_OK;
        d = static_cast<const guint8*>(gst_adapter_map(st->adapter, need));
        piff::BoxHeader h;
        piff::Status s = piff::ParseBoxHeaderAt(d, need, G_MAXUINT64 - st->offset, &h);
        gst_adapter_unmap(st->adapter);
        if (!s) {
          POST_ERROR(self, DEMUX, ("Corrupt box header at offset %" G_GUINT64_FORMAT, st->offset),
                     ("%s", s.message().c_str()));
          return GST_FLOW_ERROR;
        }
        st->box = h;
        st->box_start = st->offset;
        st->box_end = st->offset + h.size;
        piff::FourCC type = h.type;
        uint64_t limit = 0;
        if (type == piff::MakeFourCC("ftyp")) limit = kMaxFtypSize;
        else if (type == piff::MakeFourCC("moov") && !st->moov) limit = kMaxMoovSize;
        else if (type == piff::MakeFourCC("moof")) limit = kMaxMoofSize;
        else if (type == piff::MakeFourCC("uuid") && h.usertype == piff::kLiveServerManifestUuid && !st->live_manifest)
          limit = kMaxLiveManifestSize;
        GST_LOG_OBJECT(self, "box '%s' at %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " bytes",
                       piff::FourCCToString(type).c_str(), st->offset, h.size);
        if (!st->pending.empty() && (type == piff::MakeFourCC("moof") || type == piff::MakeFourCC("moov"))) {
          // Samples are cut out of the mdat that follows their moof; a
          // layout that puts them elsewhere cannot be streamed.
          POST_ERROR(self, DEMUX, ("Sample data is missing"),
                     ("%zu samples of the moof at %" G_GUINT64_FORMAT " are not in an mdat that follows it",
                      st->pending.size(), st->cur_moof));
          return GST_FLOW_ERROR;
        }
        if (type == piff::MakeFourCC("moof") && !st->moov) {
          POST_ERROR(self, DEMUX, ("Movie fragment before the movie header"),
                     ("moof at offset %" G_GUINT64_FORMAT " precedes any moov", st->offset));
          return GST_FLOW_ERROR;
        }
        if (limit) {
          if (h.size > limit) {
            POST_ERROR(self, DEMUX, ("Box '%s' at offset %" G_GUINT64_FORMAT " is too large",
                                     piff::FourCCToString(type).c_str(), st->offset),
                       ("%" G_GUINT64_FORMAT " bytes, the limit is %" G_GUINT64_FORMAT, h.size, limit));
            return GST_FLOW_ERROR;
          }
          st->phase = Phase::kBox;
        } else if (type == piff::MakeFourCC("mdat") && !st->pending.empty()) {
          gst_adapter_flush(st->adapter, h.header_size);
          st->offset += h.header_size;
          st->phase = Phase::kMdat;
        } else {
          st->skip = h.size;
          st->phase = Phase::kSkip;
        }
        break;
      }
      case Phase::kBox: {
        if (avail < st->box.size) return GST_FLOW_OK;
        GstFlowReturn ret = HandleWholeBox(self);
        if (ret != GST_FLOW_OK) return ret;
        break;
      }
      case Phase::kMdat: {
        if (st->pending.empty()) {
          st->skip = st->box_end - st->offset;
          st->phase = Phase::kSkip;
          break;
        }
        const PendingSample& p = st->pending.front();
        uint64_t start = p.sample.offset, end = p.sample.offset + p.sample.size;
        if (start < st->offset || end > st->box_end) {
          POST_ERROR(self, DEMUX, ("Sample data outside its mdat"),
                     ("%s sample at offset %" G_GUINT64_FORMAT " (+%u) is not inside the mdat at %" G_GUINT64_FORMAT
                      "..%" G_GUINT64_FORMAT " (reading at %" G_GUINT64_FORMAT ")",
                      TrackLabel(*p.track).c_str(), start, p.sample.size, st->box_start, st->box_end, st->offset));
          return GST_FLOW_ERROR;
        }
        if (st->offset < start) {
          gsize n = static_cast<gsize>(std::min<uint64_t>(avail, start - st->offset));
          if (n == 0) return GST_FLOW_OK;
          gst_adapter_flush(st->adapter, n);
          st->offset += n;
          break;
        }
        if (avail < p.sample.size) return GST_FLOW_OK;
        PendingSample sample = std::move(st->pending.front());
        st->pending.pop_front();
        GstBuffer* buf = sample.sample.size ? gst_adapter_take_buffer_fast(st->adapter, sample.sample.size)
                                            : gst_buffer_new();
        st->offset += sample.sample.size;
        if (!(buf = DecryptBuffer(self, sample, buf))) return GST_FLOW_ERROR;
        GstFlowReturn ret = PushSample(self, sample, buf);
        if (ret != GST_FLOW_OK) return ret;
        break;
      }
      case Phase::kSkip: {
        if (st->skip == 0) {
          st->phase = Phase::kTop;
          break;
        }
        gsize n = static_cast<gsize>(std::min<uint64_t>(avail, st->skip));
        if (n == 0) return GST_FLOW_OK;
        gst_adapter_flush(st->adapter, n);
        st->offset += n;
        st->skip -= n;
        break;
      }
    }
  }
}

// End of the input: reports what could not be completed. Returns EOS, or
// ERROR (posted) when nothing could be shown at all.
static GstFlowReturn Finish(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  if (st->error_posted) return GST_FLOW_ERROR;
  if (!st->moov) {
    POST_ERROR(self, DEMUX, ("This is not a usable Smooth Streaming file: no moov box"),
               ("the stream ended at offset %" G_GUINT64_FORMAT, st->offset + gst_adapter_available(st->adapter)));
    return GST_FLOW_ERROR;
  }
  if (!st->exposed) {
    POST_ERROR(self, DEMUX, ("No movie fragments in this file"),
               ("a PIFF/Smooth Streaming file carries its samples in moof/mdat fragments; "
                "a plain (non-fragmented) MP4 is read by qtdemux"));
    return GST_FLOW_ERROR;
  }
  gsize avail = gst_adapter_available(st->adapter);
  bool truncated = st->phase == Phase::kBox || st->phase == Phase::kMdat || !st->pending.empty() ||
                   (st->phase == Phase::kTop && avail > 0);
  if (truncated && !AllTracksDone(st)) {
    GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("The stream is truncated"),
                        ("box '%s' at offset %" G_GUINT64_FORMAT " needs %" G_GUINT64_FORMAT
                         " bytes, the stream ended at %" G_GUINT64_FORMAT "; %zu samples are lost",
                         piff::FourCCToString(st->box.type).c_str(), st->box_start, st->box.size,
                         st->offset + avail, st->pending.size()));
  }
  st->pending.clear();
  gst_adapter_clear(st->adapter);
  return GST_FLOW_EOS;
}

// ---------------------------------------------------------------- pull mode

// Reads the samples of fragment `i` of a track (one moof read).
static piff::Status ReadTrackFragment(GstIsmDemux* self, Track* t, size_t i, piff::TrackFragmentSamples* out,
                                     std::shared_ptr<const piff::SampleEncryption>* enc = nullptr) {
  IsmDemuxState* st = State(self);
  const piff::IndexedFragment& f = t->info.fragments[i];
  PadByteSource src(self->sinkpad, st->upstream_size);
  piff::MovieFragmentBox moof;
  size_t k = 0;
  piff::Status s = piff::ReadIndexedFragment(src, &*st->moov, f, t->id, out, &moof, &k);
  if (!s) return s;
  if (enc && t->encrypted) {
    auto e = std::make_shared<piff::SampleEncryption>();
    bool found = false;
    s = piff::FindSampleEncryption(moof.trafs[k], t->protection.iv_size, e.get(), &found);
    if (!s) GST_WARNING_OBJECT(self, "%s: %s", TrackLabel(*t).c_str(), s.message().c_str());
    if (s && found && e->samples.size() == out->samples.size()) {
      *enc = e;
    } else if (t->decrypt) {
      // Decrypting without the IVs would push garbage as clear media.
      std::string why = !s      ? s.message()
                        : found ? "senc has " + std::to_string(e->samples.size()) + " entries for " +
                                      std::to_string(out->samples.size()) + " samples"
                                : "its traf has no senc box";
      return piff::Status::Error("no usable sample encryption data (senc) for the fragment at offset " +
                                 std::to_string(f.moof_offset) + " (" + why + "): it cannot be decrypted");
    }
  }
  return piff::Status::Ok();
}

static bool BuildIndex(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  gint64 size = 0;
  if (!gst_pad_peer_query_duration(self->sinkpad, GST_FORMAT_BYTES, &size) || size <= 0) {
    POST_ERROR(self, DEMUX, ("Cannot read this stream"), ("upstream does not report a size in bytes"));
    return false;
  }
  st->upstream_size = static_cast<uint64_t>(size);
  PadByteSource src(self->sinkpad, st->upstream_size);
  piff::Status s = piff::MediaIndex::Build(src, &st->index);
  if (!s) {
    if (src.last_flow() == GST_FLOW_FLUSHING) return false;
    POST_ERROR(self, DEMUX, ("Corrupt or unreadable Smooth Streaming file"), ("%s", s.message().c_str()));
    return false;
  }
  for (auto& p : st->index.problems) {
    GST_WARNING_OBJECT(self, "index: %s", p.c_str());
    if (p.find("index stops here") != std::string::npos)
      GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("The file is truncated or damaged at its end"), ("%s", p.c_str()));
  }
  st->ftyp = st->index.ftyp;
  st->live_manifest = st->index.live_manifest;
  st->box_start = 0;
  std::vector<uint8_t> moov_bytes = st->index.moov->Serialize();
  if (HandleMoov(self, moov_bytes.data(), moov_bytes.size()) != GST_FLOW_OK) return false;

  uint64_t first_moof = G_MAXUINT64;
  GstClockTime t0 = GST_CLOCK_TIME_NONE, end = 0;
  for (auto& t : st->tracks) {
    if (!t->expose) continue;
    if (const piff::IndexedTrack* it = st->index.FindTrack(t->id)) {
      t->info.fragments = it->fragments;
      t->info.payload_bytes = it->payload_bytes;
    }
    if (t->info.fragments.empty()) continue;
    first_moof = std::min(first_moof, t->info.fragments[0].moof_offset);
    GstClockTime start = t->ToNs(t->info.fragments[0].time);
    t0 = GST_CLOCK_TIME_IS_VALID(t0) ? std::min(t0, start) : start;
    const piff::IndexedFragment& last = t->info.fragments.back();
    end = std::max(end, t->ToNs(last.time + last.duration));
    // The first fragment fixes frame rate and composition shift, as in push mode.
    piff::TrackFragmentSamples f;
    s = ReadTrackFragment(self, t.get(), 0, &f);
    if (!s) {
      POST_ERROR(self, DEMUX, ("Cannot read the first fragment of %s", TrackLabel(*t).c_str()), ("%s", s.message().c_str()));
      return false;
    }
    if (t->video) GuessFramerate(*t, f, &t->fps_n, &t->fps_d);
    t->shift = ComputeShift(f);
    t->shift_known = true;
  }
  if (first_moof == G_MAXUINT64) {
    POST_ERROR(self, DEMUX, ("No movie fragments in this file"),
               ("a PIFF/Smooth Streaming file carries its samples in moof/mdat fragments; "
                "a plain (non-fragmented) MP4 is read by qtdemux"));
    return false;
  }
  st->t0 = t0;
  st->t0_known = true;
  GST_OBJECT_LOCK(self);
  st->duration = end - t0;
  GST_OBJECT_UNLOCK(self);
  // A movie duration in mehd ends the segment: decoders then clip the last
  // frame to it (e.g. the AAC padding of the last frame), as with qtdemux.
  // Without one (FFmpeg; ismlmux writes 0) the tracks run to their end.
  st->segment.duration = end - t0;
  if (GST_CLOCK_TIME_IS_VALID(st->mehd_duration)) st->segment.stop = st->mehd_duration;
  GST_INFO_OBJECT(self, "indexed %" G_GUINT64_FORMAT " bytes: starts at %" GST_TIME_FORMAT ", duration %" GST_TIME_FORMAT,
                  st->upstream_size, GST_TIME_ARGS(t0), GST_TIME_ARGS(end - t0));
  st->ResetWalker(first_moof);
  st->indexed = true;
  ExposePads(self);
  return true;
}

// Makes t->frag/next_sample point at the track's next sample, loading the
// next fragment when needed. False at the end of the track (t->eos set) or
// on error (*ret set).
static bool EnsureSample(GstIsmDemux* self, Track* t, GstFlowReturn* ret) {
  while (!t->have_fragment || t->next_sample >= t->frag.samples.size()) {
    t->ResetReading();
    if (t->next_fragment >= t->info.fragments.size()) {
      t->eos = true;
      return false;
    }
    size_t index = t->next_fragment++;
    piff::Status s = ReadTrackFragment(self, t, index, &t->frag, &t->frag_enc);
    if (!s) {
      POST_ERROR(self, DEMUX, ("Cannot read a fragment of %s", TrackLabel(*t).c_str()), ("%s", s.message().c_str()));
      *ret = GST_FLOW_ERROR;
      return false;
    }
    t->have_fragment = true;
    t->next_sample = 0;
    if (t->has_start && index == t->start_fragment) t->next_sample = t->start_sample;
    t->has_start = false;
    t->frag_data_end = 0;
    for (auto& x : t->frag.samples) t->frag_data_end = std::max(t->frag_data_end, x.offset + x.size);
    GST_DEBUG_OBJECT(self, "%s: fragment %zu at %" G_GUINT64_FORMAT ", %zu samples", TrackLabel(*t).c_str(), index,
                     t->frag.decode_time, t->frag.samples.size());
  }
  return true;
}

// Decrypts, in a freshly read chunk, the samples of the current fragment
// it holds from the next one on (each exactly once: a chunk is only read
// for a sample it does not hold yet, and dropped when one is missing). The
// chunk from pull_range is ours, so this is done in place, before any
// sample is cut from it.
static bool DecryptChunk(GstIsmDemux* self, Track* t) {
  t->chunk = gst_buffer_make_writable(t->chunk);
  GstMapInfo map;
  if (!gst_buffer_map(t->chunk, &map, GST_MAP_READWRITE)) {
    POST_ERROR(self, DECRYPT, ("Cannot decrypt %s", TrackLabel(*t).c_str()), ("buffer not mappable"));
    return false;
  }
  bool ok = true;
  for (size_t k = t->next_sample; ok && k < t->frag.samples.size(); k++) {
    const piff::ReadSample& x = t->frag.samples[k];
    if (x.offset < t->chunk_offset || x.offset + x.size > t->chunk_offset + map.size) break;
    ok = DecryptSample(self, t, t->frag_enc.get(), k, map.data + (x.offset - t->chunk_offset), x.size, x.offset);
  }
  gst_buffer_unmap(t->chunk, &map);
  return ok;
}

// Makes the track's chunk cover its next sample: one read covers as much of
// the fragment's data as kPullChunk allows. False (t->eos set, warning
// posted) when the file ends first.
static GstFlowReturn LoadChunk(GstIsmDemux* self, Track* t, bool* have) {
  IsmDemuxState* st = State(self);
  *have = false;
  const piff::ReadSample& smp = t->frag.samples[t->next_sample];
  uint64_t chunk_end = t->chunk ? t->chunk_offset + gst_buffer_get_size(t->chunk) : 0;
  if (!t->chunk || smp.offset < t->chunk_offset || smp.offset + smp.size > chunk_end) {
    t->ReleaseChunk();
    uint64_t end = std::max<uint64_t>(std::min(t->frag_data_end, smp.offset + kPullChunk), smp.offset + smp.size);
    end = std::min(end, st->upstream_size);
    GstBuffer* buf = nullptr;
    GstFlowReturn ret = GST_FLOW_EOS;
    if (end > smp.offset)
      ret = gst_pad_pull_range(self->sinkpad, smp.offset, static_cast<guint>(end - smp.offset), &buf);
    if (ret == GST_FLOW_OK && gst_buffer_get_size(buf) < smp.size) {
      gst_buffer_unref(buf);
      ret = GST_FLOW_EOS;
    }
    if (ret == GST_FLOW_EOS) {
      GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("The file is truncated"),
                          ("%s: sample data at %" G_GUINT64_FORMAT " (+%u) is past the end of the file",
                           TrackLabel(*t).c_str(), smp.offset, smp.size));
      t->eos = true;
      return GST_FLOW_OK;
    }
    if (ret != GST_FLOW_OK) return ret;
    t->chunk = buf;
    t->chunk_offset = smp.offset;
    if (t->decrypt && !DecryptChunk(self, t)) return GST_FLOW_ERROR;
  }
  *have = true;
  return GST_FLOW_OK;
}

static bool ChunkCovers(const Track* t, const piff::ReadSample& s) {
  return t->chunk && s.offset >= t->chunk_offset &&
         s.offset + s.size <= t->chunk_offset + gst_buffer_get_size(t->chunk);
}

// Pushes the track's next samples, up to `until` (DTS, ns) and within the
// current fragment and chunk, as one buffer list: pushing per list instead
// of per buffer is most of what a demuxer can save downstream. `until` keeps
// the interleaving with the other tracks within kBatchLead.
static GstFlowReturn PushPulledSamples(GstIsmDemux* self, Track* t, GstClockTime until) {
  IsmDemuxState* st = State(self);
  bool have = false;
  GstFlowReturn ret = LoadChunk(self, t, &have);
  if (ret != GST_FLOW_OK || !have) return ret;
  GstBufferList* list = gst_buffer_list_new_sized(16);
  while (t->next_sample < t->frag.samples.size() && gst_buffer_list_length(list) < kMaxBatch) {
    const piff::ReadSample& smp = t->frag.samples[t->next_sample];
    if (gst_buffer_list_length(list) > 0 && (!ChunkCovers(t, smp) || t->ToNs(smp.decode_time) > until)) break;
    PendingSample p;
    p.track = t;
    p.sample = smp;
    p.encryption = t->frag_enc;
    p.index = t->next_sample;
    t->next_sample++;
    GstBuffer* sub = gst_buffer_copy_region(t->chunk, GST_BUFFER_COPY_MEMORY,
                                            static_cast<gsize>(p.sample.offset - t->chunk_offset), p.sample.size);
    if (GstBuffer* b = PrepareSample(self, p, sub)) gst_buffer_list_add(list, b);
    if (t->eos) break;
  }
  if (gst_buffer_list_length(list) == 0) {
    gst_buffer_list_unref(list);
    return GST_FLOW_OK;
  }
  return CombineFlow(st, t, gst_pad_push_list(t->pad, list));
}

// One step of the pull-mode task: the track whose next sample has the
// lowest DTS pushes it, so the output is interleaved by time.
static GstFlowReturn PullStep(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  Track* best = nullptr;
  GstClockTime best_dts = GST_CLOCK_TIME_NONE, second_dts = GST_CLOCK_TIME_NONE;
  for (auto& tp : st->tracks) {
    Track* t = tp.get();
    if (!t->pad || t->eos) continue;
    GstFlowReturn ret = GST_FLOW_OK;
    if (!EnsureSample(self, t, &ret)) {
      if (ret != GST_FLOW_OK) return ret;
      continue;
    }
    GstClockTime dts = t->ToNs(t->frag.samples[t->next_sample].decode_time);
    if (!best || dts < best_dts) {
      second_dts = best_dts;
      best = t;
      best_dts = dts;
    } else if (!GST_CLOCK_TIME_IS_VALID(second_dts) || dts < second_dts) {
      second_dts = dts;
    }
  }
  if (!best) return GST_FLOW_EOS;
  GstClockTime until = GST_CLOCK_TIME_IS_VALID(second_dts) ? second_dts + kBatchLead : GST_CLOCK_TIME_NONE;
  GstFlowReturn ret = PushPulledSamples(self, best, until);
  if (ret == GST_FLOW_OK && AllTracksDone(st)) ret = GST_FLOW_EOS;
  return ret;
}

static void PushEndOfSegment(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  if (st->segment.flags & GST_SEGMENT_FLAG_SEGMENT) {
    GstClockTime stop = GST_CLOCK_TIME_IS_VALID(st->segment.stop) ? st->segment.stop : st->segment.duration;
    GstMessage* m = gst_message_new_segment_done(GST_OBJECT(self), GST_FORMAT_TIME, static_cast<gint64>(stop));
    gst_message_set_seqnum(m, st->segment_seqnum);
    gst_element_post_message(GST_ELEMENT(self), m);
    GstEvent* ev = gst_event_new_segment_done(GST_FORMAT_TIME, static_cast<gint64>(stop));
    gst_event_set_seqnum(ev, st->segment_seqnum);
    PushToAll(self, ev);
  } else {
    GstEvent* ev = gst_event_new_eos();
    if (st->segment_seqnum) gst_event_set_seqnum(ev, st->segment_seqnum);
    PushToAll(self, ev);
  }
}

static gboolean DoSeek(GstIsmDemux* self, GstEvent* event);

static void gst_ism_demux_loop(GstPad* pad) {
  GstIsmDemux* self = GST_ISM_DEMUX(gst_pad_get_parent(pad));
  IsmDemuxState* st = State(self);
  GstFlowReturn ret = GST_FLOW_OK;
  if (!st->indexed) {
    if (!BuildIndex(self)) {
      ret = st->error_posted ? GST_FLOW_ERROR : GST_FLOW_FLUSHING;
      goto pause;
    }
    if (st->pending_seek) {
      GstEvent* ev = st->pending_seek;
      st->pending_seek = nullptr;
      // Applied in place: the task is running, so seek without flushing it.
      DoSeek(self, ev);
      gst_event_unref(ev);
    }
  }
  ret = PullStep(self);
  if (ret != GST_FLOW_OK) goto pause;
  gst_object_unref(self);
  return;

pause:
  GST_DEBUG_OBJECT(self, "pausing task: %s", gst_flow_get_name(ret));
  gst_pad_pause_task(pad);
  if (ret == GST_FLOW_EOS) {
    PushEndOfSegment(self);
  } else if (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS) {
    if (!st->error_posted) GST_ELEMENT_FLOW_ERROR(self, ret);
    st->error_posted = true;
    PushToAll(self, gst_event_new_eos());
  }
  gst_object_unref(self);
}

// ---------------------------------------------------------------- seeking

// A sync sample position of a track: fragment index, sample index and its
// presentation time (ticks, without the track's shift).
struct SyncPoint {
  ptrdiff_t fragment = -1;
  size_t sample = 0;
  int64_t pts = 0;
};

// The last sync sample with PTS <= target (before) or the first with PTS >=
// target (after), looking at most kMaxSeekScan fragments away.
static bool FindSync(GstIsmDemux* self, Track* t, uint64_t target, bool after, SyncPoint* out) {
  const auto& frags = t->info.fragments;
  if (frags.empty()) return false;
  ptrdiff_t i = t->info.FindFragmentAtOrBefore(target);
  if (i < 0) i = 0;
  ptrdiff_t n = static_cast<ptrdiff_t>(frags.size());
  for (ptrdiff_t k = i, steps = 0; k >= 0 && k < n && steps < kMaxSeekScan; k += after ? 1 : -1, steps++) {
    piff::TrackFragmentSamples f;
    piff::Status s = ReadTrackFragment(self, t, static_cast<size_t>(k), &f);
    if (!s) {
      GST_WARNING_OBJECT(self, "seek: %s", s.message().c_str());
      return false;
    }
    bool found = false;
    for (size_t j = 0; j < f.samples.size(); j++) {
      const piff::ReadSample& x = f.samples[j];
      if (!x.sync) continue;
      int64_t pts = static_cast<int64_t>(x.decode_time) + x.composition_offset;
      bool ok = after ? pts >= static_cast<int64_t>(target) : pts <= static_cast<int64_t>(target);
      if (!ok) continue;
      if (after && found) break;  // the first one after
      *out = SyncPoint{k, j, pts};
      found = true;
      if (after) break;
    }
    if (found) return true;
  }
  return false;
}

// Positions every track for presentation time `target` (media ns): each
// starts at its last sync sample at or before it (or its first sample).
static uint64_t PositionTracks(GstIsmDemux* self, GstClockTime target) {
  IsmDemuxState* st = State(self);
  uint64_t start = G_MAXUINT64;
  for (auto& tp : st->tracks) {
    Track* t = tp.get();
    if (!t->pad) continue;
    t->need_segment = true;
    t->need_discont = true;
    t->eos = false;
    t->has_start = false;
    t->ResetReading();
    if (t->info.fragments.empty()) {
      t->eos = true;
      continue;
    }
    SyncPoint p;
    if (!FindSync(self, t, t->ToTicks(target), false, &p)) p = SyncPoint{0, 0, 0};
    const piff::IndexedFragment& f = t->info.fragments[static_cast<size_t>(p.fragment)];
    t->has_start = true;
    t->start_moof = f.moof_offset;
    t->start_fragment = static_cast<size_t>(p.fragment);
    t->next_fragment = t->start_fragment;
    t->start_sample = p.sample;
    start = std::min(start, f.moof_offset);
    GST_DEBUG_OBJECT(self, "%s starts at fragment %zd sample %zu (pts %" G_GINT64_FORMAT " ticks)",
                     TrackLabel(*t).c_str(), p.fragment, p.sample, p.pts);
  }
  return start;
}

// Computes the new segment and positions the walker; the caller holds the
// stream lock (or is the streaming thread).
static gboolean DoSeek(GstIsmDemux* self, GstEvent* event) {
  IsmDemuxState* st = State(self);
  gdouble rate;
  GstFormat format;
  GstSeekFlags flags;
  GstSeekType start_type, stop_type;
  gint64 start, stop;
  gst_event_parse_seek(event, &rate, &format, &flags, &start_type, &start, &stop_type, &stop);

  GstSegment seg = st->segment;
  gboolean update = FALSE;
  if (!gst_segment_do_seek(&seg, rate, format, flags, start_type, start, stop_type, stop, &update)) return FALSE;
  GstClockTime target = seg.position;

  Track* ref = nullptr;
  for (auto& t : st->tracks)
    if (t->pad && (!ref || (t->video && !ref->video))) ref = t.get();
  if (ref && (flags & GST_SEEK_FLAG_KEY_UNIT) && !ref->info.fragments.empty()) {
    uint64_t want = ref->ToTicks(target + st->t0);
    SyncPoint before, after;
    bool have_before = FindSync(self, ref, want, false, &before);
    bool have_after = FindSync(self, ref, want, true, &after);
    const SyncPoint* pick = nullptr;
    if ((flags & GST_SEEK_FLAG_SNAP_AFTER) && !(flags & GST_SEEK_FLAG_SNAP_BEFORE))
      pick = have_after ? &after : (have_before ? &before : nullptr);
    else if ((flags & GST_SEEK_FLAG_SNAP_AFTER) && (flags & GST_SEEK_FLAG_SNAP_BEFORE) && have_before && have_after)
      pick = (static_cast<int64_t>(want) - before.pts <= after.pts - static_cast<int64_t>(want)) ? &before : &after;
    else
      pick = have_before ? &before : (have_after ? &after : nullptr);
    if (pick) {
      GstClockTime key = ref->ToNs(static_cast<uint64_t>(std::max<int64_t>(pick->pts, 0)));
      GstClockTime key_stream = key > st->t0 ? key - st->t0 : 0;
      GST_DEBUG_OBJECT(self, "key-unit seek to %" GST_TIME_FORMAT " snaps to %" GST_TIME_FORMAT, GST_TIME_ARGS(target),
                       GST_TIME_ARGS(key_stream));
      target = key_stream;
      seg.start = seg.position = seg.time = target;
    }
  }
  GST_INFO_OBJECT(self, "seek to %" GST_TIME_FORMAT " (flags 0x%x)", GST_TIME_ARGS(target), flags);
  PositionTracks(self, target + st->t0);
  st->segment = seg;
  st->segment_seqnum = gst_event_get_seqnum(event);
  if (seg.flags & GST_SEGMENT_FLAG_SEGMENT) {
    GstMessage* m = gst_message_new_segment_start(GST_OBJECT(self), GST_FORMAT_TIME, static_cast<gint64>(seg.start));
    gst_message_set_seqnum(m, st->segment_seqnum);
    gst_element_post_message(GST_ELEMENT(self), m);
  }
  return TRUE;
}

static gboolean HandleSeek(GstIsmDemux* self, GstEvent* event) {
  IsmDemuxState* st = State(self);
  gdouble rate;
  GstFormat format;
  GstSeekFlags flags;
  GstSeekType start_type, stop_type;
  gint64 start, stop;
  gst_event_parse_seek(event, &rate, &format, &flags, &start_type, &start, &stop_type, &stop);
  if (format != GST_FORMAT_TIME) {
    GST_DEBUG_OBJECT(self, "only TIME seeks are supported");
    return FALSE;
  }
  if (rate <= 0.0) {
    GST_DEBUG_OBJECT(self, "reverse playback is not supported");
    return FALSE;
  }
  bool flush = flags & GST_SEEK_FLAG_FLUSH;
  guint32 seqnum = gst_event_get_seqnum(event);
  // A pipeline seek reaches us once per sink: handle it once.
  GST_OBJECT_LOCK(self);
  bool seen = st->last_seek_seqnum == seqnum;
  st->last_seek_seqnum = seqnum;
  GST_OBJECT_UNLOCK(self);
  if (seen) {
    GST_DEBUG_OBJECT(self, "seek %u already handled", seqnum);
    return TRUE;
  }
  if (flush) {
    GstEvent* ev = gst_event_new_flush_start();
    gst_event_set_seqnum(ev, seqnum);
    PushToAll(self, ev);
  }
  gst_pad_pause_task(self->sinkpad);
  GST_PAD_STREAM_LOCK(self->sinkpad);
  if (!st->indexed) {
    // The index is built on the streaming thread; the seek is applied there.
    if (st->pending_seek) gst_event_unref(st->pending_seek);
    st->pending_seek = gst_event_ref(event);
  }
  if (flush) {
    GstEvent* ev = gst_event_new_flush_stop(TRUE);
    gst_event_set_seqnum(ev, seqnum);
    PushToAll(self, ev);
    gst_flow_combiner_reset(st->combiner);
  }
  gboolean res = TRUE;
  if (st->indexed) res = DoSeek(self, event);
  gst_pad_start_task(self->sinkpad, reinterpret_cast<GstTaskFunction>(gst_ism_demux_loop), self->sinkpad, nullptr);
  GST_PAD_STREAM_UNLOCK(self->sinkpad);
  return res;
}

// ---------------------------------------------------------------- pads

static gboolean gst_ism_demux_src_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  GstIsmDemux* self = GST_ISM_DEMUX(parent);
  if (GST_EVENT_TYPE(event) == GST_EVENT_SEEK) {
    gboolean res;
    if (State(self)->pull) {
      res = HandleSeek(self, event);
      gst_event_unref(event);
    } else {
      // Push mode: only upstream can seek (e.g. a server or a TIME source).
      res = gst_pad_push_event(self->sinkpad, event);
    }
    return res;
  }
  return gst_pad_event_default(pad, parent, event);
}

static gboolean gst_ism_demux_src_query(GstPad* pad, GstObject* parent, GstQuery* query) {
  GstIsmDemux* self = GST_ISM_DEMUX(parent);
  IsmDemuxState* st = State(self);
  switch (GST_QUERY_TYPE(query)) {
    case GST_QUERY_DURATION: {
      GstFormat fmt;
      gst_query_parse_duration(query, &fmt, nullptr);
      if (fmt != GST_FORMAT_TIME) break;
      GST_OBJECT_LOCK(self);
      GstClockTime d = st->duration;
      GST_OBJECT_UNLOCK(self);
      if (!GST_CLOCK_TIME_IS_VALID(d)) break;
      gst_query_set_duration(query, GST_FORMAT_TIME, static_cast<gint64>(d));
      return TRUE;
    }
    case GST_QUERY_SEEKING: {
      GstFormat fmt;
      gst_query_parse_seeking(query, &fmt, nullptr, nullptr, nullptr);
      if (fmt != GST_FORMAT_TIME) break;
      GST_OBJECT_LOCK(self);
      GstClockTime d = st->duration;
      bool pull = st->pull;
      GST_OBJECT_UNLOCK(self);
      if (pull) {
        gst_query_set_seeking(query, GST_FORMAT_TIME, TRUE, 0,
                              GST_CLOCK_TIME_IS_VALID(d) ? static_cast<gint64>(d) : -1);
        return TRUE;
      }
      if (gst_pad_peer_query(self->sinkpad, query)) return TRUE;
      gst_query_set_seeking(query, GST_FORMAT_TIME, FALSE, 0, -1);
      return TRUE;
    }
    default: break;
  }
  return gst_pad_query_default(pad, parent, query);
}

static GstFlowReturn gst_ism_demux_chain(GstPad* pad, GstObject* parent, GstBuffer* buf) {
  GstIsmDemux* self = GST_ISM_DEMUX(parent);
  IsmDemuxState* st = State(self);
  if (st->error_posted) {
    gst_buffer_unref(buf);
    return GST_FLOW_ERROR;
  }
  gst_adapter_push(st->adapter, buf);
  GstFlowReturn ret = Process(self);
  if (ret == GST_FLOW_EOS && AllTracksDone(st)) {
    GST_DEBUG_OBJECT(self, "all tracks done");
  }
  return ret;
}

static gboolean gst_ism_demux_sink_event(GstPad* pad, GstObject* parent, GstEvent* event) {
  GstIsmDemux* self = GST_ISM_DEMUX(parent);
  IsmDemuxState* st = State(self);
  switch (GST_EVENT_TYPE(event)) {
    case GST_EVENT_SEGMENT: {
      // Upstream's (byte) segment says where the data starts; the output
      // gets a TIME segment of its own.
      const GstSegment* seg;
      gst_event_parse_segment(event, &seg);
      if (seg->format == GST_FORMAT_BYTES && gst_adapter_available(st->adapter) == 0 && st->phase == Phase::kTop &&
          static_cast<uint64_t>(seg->start) != st->offset) {
        GST_DEBUG_OBJECT(self, "upstream data now starts at %" G_GUINT64_FORMAT, seg->start);
        st->offset = seg->start;
      }
      gst_event_unref(event);
      return TRUE;
    }
    case GST_EVENT_CAPS:
    case GST_EVENT_STREAM_START:
      gst_event_unref(event);
      return TRUE;
    case GST_EVENT_EOS: {
      GstFlowReturn ret = Finish(self);
      if (ret == GST_FLOW_EOS) PushToAll(self, event);
      else gst_event_unref(event);
      return TRUE;
    }
    case GST_EVENT_FLUSH_STOP: {
      st->ResetWalker(0);
      st->error_posted = false;
      gst_flow_combiner_reset(st->combiner);
      for (auto& t : st->tracks) {
        t->need_segment = true;
        t->need_discont = true;
        t->eos = false;
      }
      PushToAll(self, event);
      return TRUE;
    }
    default:
      if (GST_EVENT_IS_SERIALIZED(event) && !st->exposed) {
        // Nothing to forward serialized events to yet.
        gst_event_unref(event);
        return TRUE;
      }
      return gst_pad_event_default(pad, parent, event);
  }
}

static gboolean gst_ism_demux_sink_activate(GstPad* pad, GstObject* parent) {
  GstQuery* query = gst_query_new_scheduling();
  bool pull = false;
  if (gst_pad_peer_query(pad, query))
    pull = gst_query_has_scheduling_mode_with_flags(query, GST_PAD_MODE_PULL, GST_SCHEDULING_FLAG_SEEKABLE);
  gst_query_unref(query);
  GST_DEBUG_OBJECT(parent, "activating in %s mode", pull ? "pull" : "push");
  return gst_pad_activate_mode(pad, pull ? GST_PAD_MODE_PULL : GST_PAD_MODE_PUSH, TRUE);
}

static gboolean gst_ism_demux_sink_activate_mode(GstPad* pad, GstObject* parent, GstPadMode mode, gboolean active) {
  GstIsmDemux* self = GST_ISM_DEMUX(parent);
  IsmDemuxState* st = State(self);
  switch (mode) {
    case GST_PAD_MODE_PUSH:
      if (active) {
        GST_OBJECT_LOCK(self);
        st->pull = false;
        GST_OBJECT_UNLOCK(self);
      }
      return TRUE;
    case GST_PAD_MODE_PULL:
      if (active) {
        GST_OBJECT_LOCK(self);
        st->pull = true;
        GST_OBJECT_UNLOCK(self);
        return gst_pad_start_task(pad, reinterpret_cast<GstTaskFunction>(gst_ism_demux_loop), pad, nullptr);
      }
      return gst_pad_stop_task(pad);
    default:
      return FALSE;
  }
}

static void ResetAll(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  RemovePads(self);
  st->ResetWalker(0);
  st->ftyp.reset();
  st->live_manifest.reset();
  st->moov.reset();
  st->pssh.clear();
  st->indexed = false;
  st->index = piff::MediaIndex();
  st->t0_known = false;
  st->t0 = 0;
  st->error_posted = false;
  gst_segment_init(&st->segment, GST_FORMAT_TIME);
  st->segment_seqnum = 0;
  st->mehd_duration = GST_CLOCK_TIME_NONE;
  st->last_seek_seqnum = GST_SEQNUM_INVALID;
  st->have_group_id = false;
  gst_flow_combiner_reset(st->combiner);
  if (st->pending_seek) gst_event_unref(st->pending_seek);
  st->pending_seek = nullptr;
  GST_OBJECT_LOCK(self);
  st->duration = GST_CLOCK_TIME_NONE;
  GST_OBJECT_UNLOCK(self);
}

// Parses decryption-key into the decryptor when the element starts; a
// malformed value fails the start with an error naming the property.
static bool LoadKeys(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  GST_OBJECT_LOCK(self);
  std::string text = st->decryption_key;
  GST_OBJECT_UNLOCK(self);
  st->decryptor = piff::SampleDecryptor();
  if (text.find_first_not_of(" \t\r\n,;") == std::string::npos) return true;
  std::vector<std::pair<piff::Uuid, std::vector<uint8_t>>> keys;
  piff::Status s = piff::ParseKeyPairs(text, &keys);
  if (!s) {
    // The value holds secrets: the core's message names what is malformed
    // (at most the item that is not KID:KEY), never a well-formed key.
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid decryption-key property: %s", s.message().c_str()),
                      ("expected KID:KEY[,KID:KEY...], KID as a UUID (big-endian, as in tenc), KEY as 32 hex digits"));
    return false;
  }
  for (auto& k : keys) st->decryptor.AddKey(k.first, k.second);
  GST_INFO_OBJECT(self, "%zu decryption key(s)", keys.size());
  return true;
}

static GstStateChangeReturn gst_ism_demux_change_state(GstElement* element, GstStateChange transition) {
  GstIsmDemux* self = GST_ISM_DEMUX(element);
  if (transition == GST_STATE_CHANGE_READY_TO_PAUSED) {
    ResetAll(self);
    if (!LoadKeys(self)) return GST_STATE_CHANGE_FAILURE;
  }
  GstStateChangeReturn ret = GST_ELEMENT_CLASS(gst_ism_demux_parent_class)->change_state(element, transition);
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY) ResetAll(self);
  return ret;
}

static gboolean gst_ism_demux_send_event(GstElement* element, GstEvent* event) {
  // A seek sent to the element (not a pad) before the pads exist: keep it
  // for when the index is ready, as other demuxers do.
  GstIsmDemux* self = GST_ISM_DEMUX(element);
  IsmDemuxState* st = State(self);
  if (GST_EVENT_TYPE(event) == GST_EVENT_SEEK) {
    GST_OBJECT_LOCK(self);
    bool pull = st->pull;
    GST_OBJECT_UNLOCK(self);
    gboolean res;
    if (pull) {
      res = HandleSeek(self, event);
    } else {
      res = gst_pad_push_event(self->sinkpad, gst_event_ref(event));
    }
    gst_event_unref(event);
    return res;
  }
  return GST_ELEMENT_CLASS(gst_ism_demux_parent_class)->send_event(element, event);
}

// ---------------------------------------------------------------- GObject

static void gst_ism_demux_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  GstIsmDemux* self = GST_ISM_DEMUX(object);
  switch (id) {
    case PROP_DECRYPTION_KEY: {
      const gchar* v = g_value_get_string(value);
      GST_OBJECT_LOCK(self);
      self->state->decryption_key = v ? v : "";
      GST_OBJECT_UNLOCK(self);
      break;
    }
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
  }
}

static void gst_ism_demux_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  GstIsmDemux* self = GST_ISM_DEMUX(object);
  switch (id) {
    case PROP_DECRYPTION_KEY:
      GST_OBJECT_LOCK(self);
      g_value_set_string(value, self->state->decryption_key.empty() ? nullptr : self->state->decryption_key.c_str());
      GST_OBJECT_UNLOCK(self);
      break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
  }
}

static void gst_ism_demux_finalize(GObject* object) {
  delete GST_ISM_DEMUX(object)->state;
  G_OBJECT_CLASS(gst_ism_demux_parent_class)->finalize(object);
}

static void gst_ism_demux_init(GstIsmDemux* self) {
  self->state = new IsmDemuxState();
  self->sinkpad = gst_pad_new_from_static_template(&sink_template, "sink");
  gst_pad_set_activate_function(self->sinkpad, gst_ism_demux_sink_activate);
  gst_pad_set_activatemode_function(self->sinkpad, gst_ism_demux_sink_activate_mode);
  gst_pad_set_chain_function(self->sinkpad, gst_ism_demux_chain);
  gst_pad_set_event_function(self->sinkpad, gst_ism_demux_sink_event);
  gst_element_add_pad(GST_ELEMENT(self), self->sinkpad);
}

static void gst_ism_demux_class_init(GstIsmDemuxClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  gobject_class->finalize = gst_ism_demux_finalize;
  gobject_class->set_property = gst_ism_demux_set_property;
  gobject_class->get_property = gst_ism_demux_get_property;
  g_object_class_install_property(
      gobject_class, PROP_DECRYPTION_KEY,
      g_param_spec_string("decryption-key", "Decryption key",
                          "Content keys as \"KID:KEY[,KID:KEY...]\": KID as a UUID in big-endian order (as in the "
                          "tenc box), KEY as 32 hex digits. Encrypted tracks whose KID has a key are decrypted and "
                          "output with their clear caps; the others stay application/x-cenc. Default: none",
                          nullptr,
                          static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                                   GST_PARAM_MUTABLE_READY)));
  element_class->change_state = gst_ism_demux_change_state;
  element_class->send_event = gst_ism_demux_send_event;
  gst_element_class_add_static_pad_template(element_class, &sink_template);
  gst_element_class_add_static_pad_template(element_class, &video_template);
  gst_element_class_add_static_pad_template(element_class, &audio_template);
  gst_element_class_set_static_metadata(
      element_class, "Smooth Streaming (PIFF/ISMV) demuxer", "Codec/Demuxer",
      "Demuxes Smooth Streaming PIFF media (.ismv/.isma files, live ingest streams) into H.264 and AAC streams; "
      "seekable through a fragment index in pull mode",
      "gst-smooth developers <gst-smooth@example.org>");
}
