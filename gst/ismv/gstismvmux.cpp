// ismvmux: the GStreamer side of PIFF packaging. It decides *when* fragments
// close (GOP-aligned across a bitrate ladder, audio at the nearest sample
// boundary) and hands samples to the core, which decides *what bytes* they
// become. Sample payloads are pushed as shared GstMemory, never copied.

/**
 * SECTION:element-ismvmux
 * @title: ismvmux
 *
 * Muxes H.264 and AAC streams into one PIFF 1.1 / Smooth Streaming fragmented
 * MP4 file (.ismv, or .isma for audio only) with a 10 MHz timescale, a tfxd
 * box in every fragment and an mfra index, and writes the server (.ism) and
 * client (.ismc) manifests at EOS. With live=true it writes a live ingest
 * stream instead (ftyp + Live Server Manifest + moov, then one buffer list
 * per track fragment, its first buffer timestamped and carrying a
 * GstIsmvFragmentMeta; ismvmux_live.h has the contract with downstream).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 -e videotestsrc num-buffers=240 ! x264enc key-int-max=48 ! h264parse ! mux.video_0 \
 *   audiotestsrc num-buffers=470 ! avenc_aac ! aacparse ! mux.audio_0 \
 *   ismvmux name=mux server-manifest=out.ism client-manifest=out.ismc ! filesink location=out.ismv
 * ]|
 *
 * Live ingest stream, fragments of 2 s pushed as they close:
 * |[
 * gst-launch-1.0 -e videotestsrc is-live=true num-buffers=300 ! x264enc tune=zerolatency key-int-max=60 ! h264parse ! \
 *   ismvmux name=m live=true ! filesink location=live.isml \
 *   audiotestsrc is-live=true num-buffers=470 ! avenc_aac ! aacparse ! m.
 * ]|
 *
 * PlayReady-protected output (PIFF AES-CTR, a PlayReady Object generated from
 * the KID, key and license URL, random IVs):
 * |[
 * gst-launch-1.0 -e videotestsrc num-buffers=240 ! x264enc key-int-max=48 ! h264parse ! mux.video_0 \
 *   ismvmux name=mux encryption=piff-ctr key-id=01020304-0506-0708-090a-aabbccddeeff \
 *   content-key=00112233445566778899aabbccddeeff la-url=https://license.example/rightsmanager.asmx \
 *   client-manifest=enc.ismc ! filesink location=enc.ismv
 * ]|
 */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstismvmux.h"

#include <gst/tag/tag.h>

#include <algorithm>
#include <cstring>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "codec_config.h"
#include "fragment.h"
#include "fragment_start.h"
#include "movie.h"
#include "ismvmux_encryption.h"
#include "ismvmux_pads.h"
#include "ismvmux_queue.h"

GST_DEBUG_CATEGORY(gst_ismv_mux_debug);
#define GST_CAT_DEFAULT gst_ismv_mux_debug

static gboolean gst_ismv_mux_sink_event_queued(GstAggregator* agg, GstAggregatorPad* pad, GstEvent* event);


enum {
  PROP_0,
  PROP_FRAGMENT_DURATION,
  PROP_TIMESCALE,
  PROP_SERVER_MANIFEST,
  PROP_CLIENT_MANIFEST,
  PROP_H264_FOURCC,
  PROP_STRICT_ALIGNMENT,
  PROP_TIMESTAMP_MODE,
  PROP_MEDIA_FILE_NAME,
  PROP_LIVE,
  PROP_LIVE_END_MFRA,
  PROP_FRAGMENT_BOUNDARIES,
  PROP_ENCRYPTION,  // first of ismvmux::kEncryptionPropertyCount (ismvmux_encryption.h)
  PROP_LAST = PROP_ENCRYPTION + ismvmux::kEncryptionPropertyCount,
};


#include "ismvmux_fragment_buffers.h"
#include "ismvmux_live.h"
#include "ismvmux_private.h"



G_DEFINE_TYPE_WITH_CODE(GstIsmvMux, gst_ismv_mux, GST_TYPE_AGGREGATOR,
                        G_IMPLEMENT_INTERFACE(GST_TYPE_CHILD_PROXY, IsmvMuxChildProxyInit))
GST_ELEMENT_REGISTER_DEFINE_WITH_CODE(ismvmux, "ismvmux", GST_RANK_PRIMARY, GST_TYPE_ISMV_MUX,
                                      GST_DEBUG_CATEGORY_INIT(gst_ismv_mux_debug, "ismvmux", 0,
                                                              "Smooth Streaming PIFF muxer"));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE(
    "src", GST_PAD_SRC, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/quicktime, variant = (string) { iso-fragmented, isml }"));

static GstStaticPadTemplate video_template = GST_STATIC_PAD_TEMPLATE(
    "video_%u", GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS("video/x-h264, stream-format = (string) avc, alignment = (string) au, "
                    "width = (int) [ 16, 8192 ], height = (int) [ 16, 8192 ]; "
                    "application/x-cenc, original-media-type = (string) video/x-h264, "
                    "stream-format = (string) avc, alignment = (string) au, "
                    "width = (int) [ 16, 8192 ], height = (int) [ 16, 8192 ]"));

static GstStaticPadTemplate audio_template = GST_STATIC_PAD_TEMPLATE(
    "audio_%u", GST_PAD_SINK, GST_PAD_REQUEST,
    GST_STATIC_CAPS("audio/mpeg, mpegversion = (int) 4, stream-format = (string) raw, "
                    "rate = (int) [ 1, 96000 ], channels = (int) [ 1, 8 ]; "
                    "application/x-cenc, original-media-type = (string) audio/mpeg, mpegversion = (int) 4, "
                    "stream-format = (string) raw, rate = (int) [ 1, 96000 ], channels = (int) [ 1, 8 ]"));

#define GST_TYPE_ISMV_MUX_TIMESTAMP_MODE (gst_ismv_mux_timestamp_mode_get_type())
static GType gst_ismv_mux_timestamp_mode_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_ISMV_MUX_TIMESTAMPS_ZERO, "Start at 0 (the earliest first timestamp of all inputs)", "zero"},
      {GST_ISMV_MUX_TIMESTAMPS_RUNNING_TIME, "Keep the running time of the inputs", "running-time"},
      {GST_ISMV_MUX_TIMESTAMPS_CLOCK, "Running time plus the element's base time (pipeline clock time)", "clock"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstIsmvMuxTimestampMode", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

#define GST_TYPE_ISMV_MUX_FRAGMENT_BOUNDARIES (gst_ismv_mux_fragment_boundaries_get_type())
static GType gst_ismv_mux_fragment_boundaries_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_ISMV_MUX_BOUNDARIES_KEYFRAME, "At the first keyframe at or after each fragment-duration", "keyframe"},
      {GST_ISMV_MUX_BOUNDARIES_CLOCK_GRID,
       "At the first frame of each multiple of fragment-duration on the output timeline, sample times snapped to "
       "the frame grid (timecode-ganged redundant encoders)",
       "clock-grid"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstIsmvMuxFragmentBoundaries", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

// ---------------------------------------------------------------- helpers

// Parses sink caps into a track configuration. Returns an error text or "".
static std::string ConfigFromCaps(GstIsmvMux* self, Track* t, GstCaps* caps, piff::TrackConfig* out,
                                  std::string* fourcc) {
  GstStructure* s = gst_caps_get_structure(caps, 0);
  const GValue* cd = gst_structure_get_value(s, "codec_data");
  if (!cd || !GST_VALUE_HOLDS_BUFFER(cd)) return "caps have no codec_data";
  GstBuffer* cdbuf = gst_value_get_buffer(cd);
  GstMapInfo map;
  if (!gst_buffer_map(cdbuf, &map, GST_MAP_READ)) return "cannot map codec_data";
  std::vector<uint8_t> bytes(map.data, map.data + map.size);
  gst_buffer_unmap(cdbuf, &map);

  piff::TrackConfig c = t->config;
  c.timescale = self->state->timescale;
  c.language = t->language;
  gint v = 0;
  if (t->is_video()) {
    piff::AvcDecoderConfig avc;
    piff::Status st = piff::AvcDecoderConfig::Parse(bytes.data(), bytes.size(), &avc);
    if (!st) return "invalid H.264 codec_data: " + st.message();
    if (avc.sps.empty() || avc.pps.empty()) return "H.264 codec_data has no SPS or no PPS";
    if (avc.length_size != 4)
      GST_INFO_OBJECT(self, "NAL length size %u (Smooth clients expect 4)", avc.length_size);
    c.avcc = bytes;
    if (!gst_structure_get_int(s, "width", &v)) return "caps have no width";
    c.width = static_cast<uint16_t>(v);
    if (!gst_structure_get_int(s, "height", &v)) return "caps have no height";
    c.height = static_cast<uint16_t>(v);
    *fourcc = self->state->h264_fourcc;
  } else {
    piff::AudioSpecificConfig asc;
    piff::Status st = piff::AudioSpecificConfig::Parse(bytes.data(), bytes.size(), &asc);
    if (!st) return "invalid AAC codec_data: " + st.message();
    c.audio_specific_config = bytes;
    c.sample_rate = asc.sampling_rate;
    if (gst_structure_get_int(s, "rate", &v) && v > 0) c.sample_rate = static_cast<uint32_t>(v);
    c.channels = static_cast<uint16_t>(asc.channel_configuration);
    if (gst_structure_get_int(s, "channels", &v) && v > 0) c.channels = static_cast<uint16_t>(v);
    *fourcc = asc.SmoothFourCC();
  }
  *out = c;
  return "";
}

static bool SameConfig(const piff::TrackConfig& a, const piff::TrackConfig& b) {
  return a.avcc == b.avcc && a.width == b.width && a.height == b.height &&
         a.audio_specific_config == b.audio_specific_config && a.sample_rate == b.sample_rate &&
         a.channels == b.channels;
}

// ---------------------------------------------------------------- output

GstBuffer* WrapBytes(std::vector<uint8_t> bytes) {
  gsize n = bytes.size();
  auto holder = std::make_unique<std::vector<uint8_t>>(std::move(bytes));
  guint8* data = holder->data();
  return gst_buffer_new_wrapped_full(GST_MEMORY_FLAG_READONLY, data, n, 0, n, holder.release(),
                                     [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); });
}

GstFlowReturn PushBytes(GstIsmvMux* self, std::vector<uint8_t> bytes) {
  IsmvMuxState* st = self->state;
  GstBuffer* buf = WrapBytes(std::move(bytes));
  GST_BUFFER_OFFSET(buf) = st->offset;
  st->offset += gst_buffer_get_size(buf);
  GST_BUFFER_OFFSET_END(buf) = st->offset;
  return gst_aggregator_finish_buffer(GST_AGGREGATOR(self), buf);
}

static void SeekOutput(GstIsmvMux* self, guint64 position) {
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_BYTES);
  segment.start = position;
  segment.position = position;
  gst_aggregator_update_segment(GST_AGGREGATOR(self), &segment);
}

static GstFlowReturn WriteHeader(GstIsmvMux* self) {
  IsmvMuxState* st = self->state;
  std::vector<piff::TrackConfig> configs;
  for (auto& t : st->tracks) configs.push_back(t->config);
  if (!SetUpTrackProtection(self, &configs)) return GST_FLOW_ERROR;
  if (st->live) {
    st->header_written = true;
    return ismvmux::PushLiveHeader(self, configs);
  }
  piff::InitSegment init = piff::BuildInitSegment(configs, st->timescale, 0, st->protection.moov_boxes());
  st->mehd_offset = init.mehd_duration_offset;

  SeekOutput(self, 0);
  st->header_written = true;
  GST_INFO_OBJECT(self, "writing ftyp+moov (%zu bytes, %zu tracks)", init.bytes.size(), st->tracks.size());
  return PushBytes(self, std::move(init.bytes));
}

// Writes the first `count` pending samples of a track as one fragment.
GstFlowReturn WriteFragment(GstIsmvMux* self, Track* t, size_t count, bool at_eos) {
  IsmvMuxState* st = self->state;
  if (count == 0) return GST_FLOW_OK;
  uint32_t ts = t->config.timescale;
  std::vector<piff::FragmentSample> samples(count);
  uint64_t first_decode = 0;
  piff::LeadingPictureCounter leading;  // open GOPs (fragment_start.h)
  for (size_t i = 0; i < count; i++) {
    const PendingSample& s = t->pending[i];
    int64_t decode = ToTicks(s.dts, ts) + t->decode_shift;
    int64_t pts = ToTicks(std::max<int64_t>(s.pts, 0), ts);
    if (i == 0) first_decode = static_cast<uint64_t>(std::max<int64_t>(decode, 0));
    uint64_t duration;
    if (i + 1 < t->pending.size()) {
      duration = static_cast<uint64_t>(ToTicks(t->pending[i + 1].dts, ts) + t->decode_shift - decode);
    } else {
      // The last sample of the stream: its own duration, else the previous one.
      GstClockTime d = GST_BUFFER_DURATION(s.buffer.get());
      duration = GST_CLOCK_TIME_IS_VALID(d) ? static_cast<uint64_t>(ToTicks(static_cast<int64_t>(d), ts)) : t->last_duration;
    }
    t->last_duration = duration;
    samples[i].duration = static_cast<uint32_t>(std::min<uint64_t>(duration, G_MAXUINT32));
    samples[i].size = static_cast<uint32_t>(gst_buffer_get_size(s.buffer.get()));
    samples[i].sync = s.sync;
    int64_t cto = pts - decode;
    samples[i].composition_offset = static_cast<int32_t>(CLAMP(cto, G_MININT32, G_MAXINT32));
    leading.Add(pts, s.sync);
  }
  if (leading.count() && t->open_gop_fragments++ == 0)
    GST_ELEMENT_WARNING(self, STREAM, MUX, ("Input on %s has open GOPs", GST_PAD_NAME(t->pad)),
                        ("%s: %s", TrackLabel(*t).c_str(),
                         piff::DescribeOpenGops(1, t->fragments_written + 1, static_cast<double>(first_decode) / ts,
                                                leading.count(), true).c_str()));
  else if (leading.count())
    GST_DEBUG_OBJECT(self, "%s: fragment at %" G_GUINT64_FORMAT " has %u leading pictures (%" G_GUINT64_FORMAT " so far)",
                     TrackLabel(*t).c_str(), first_decode, leading.count(), t->open_gop_fragments);
  // Keep the timeline exact: a fragment starts where the previous one ended.
  if (!t->fragments.empty()) {
    const WrittenFragment& prev = t->fragments.back();
    if (prev.time + prev.duration != first_decode)
      GST_DEBUG_OBJECT(self, "%s: fragment at %" G_GUINT64_FORMAT " follows a gap/overlap (previous end %" G_GUINT64_FORMAT ")",
                       TrackLabel(*t).c_str(), first_decode, prev.time + prev.duration);
  }

  piff::FragmentParams params;
  params.track_id = t->config.track_id;
  params.decode_time = first_decode;
  // Encrypted samples go to new memory (inputs are never written to); the
  // fragment's senc is known once all of them are done.
  std::vector<BufferPtr> encrypted;
  if (t->crypto.encryptor) {
    piff::SampleEncryption senc = t->crypto.encryptor->NewFragment();
    for (size_t i = 0; i < count; i++) {
      GstBuffer* out = nullptr;
      piff::Status s = ismvmux::EncryptBuffer(t->crypto.encryptor.get(), t->pending[i].buffer.get(), &senc, &out);
      if (!s) {
        GST_ELEMENT_ERROR(self, STREAM, MUX, ("Cannot encrypt a sample of %s", TrackLabel(*t).c_str()),
                          ("sample at %s: %s", FormatTime(t->pending[i].pts).c_str(), s.message().c_str()));
        return GST_FLOW_ERROR;
      }
      encrypted.emplace_back(out);
    }
    params.senc = piff::SerializeSampleEncryption(senc);
  } else if (t->crypto.input_encrypted) {
    std::vector<const ismvmux::SampleProtection*> prot(count);
    std::vector<uint32_t> sizes(count);
    for (size_t i = 0; i < count; i++) {
      prot[i] = &*t->pending[i].protection;  // AddSample refuses buffers without it
      sizes[i] = samples[i].size;
    }
    params.senc = ismvmux::PassthroughSenc(prot, sizes, t->crypto.input_scheme, t->crypto.input_iv_size);
  }
  params.sequence_number = ++st->sequence_number;
  piff::FragmentHeader header = piff::FragmentWriter::Build(params, samples);

  WrittenFragment wf;
  wf.time = first_decode;
  wf.moof_offset = st->offset;
  for (auto& s : samples) wf.duration += s.duration;
  t->fragments.push_back(wf);
  t->fragments_written++;
  // A live stream runs for days and needs no index: only the last fragment
  // is kept (for the continuity check above).
  if (st->live && t->fragments.size() > 1) t->fragments.erase(t->fragments.begin());
  t->payload_bytes += header.payload_size;

  GST_INFO_OBJECT(self, "%s: fragment #%u t=%" G_GUINT64_FORMAT " d=%" G_GUINT64_FORMAT " samples=%zu bytes=%" G_GUINT64_FORMAT "%s",
                  TrackLabel(*t).c_str(), params.sequence_number, wf.time, wf.duration, count,
                  static_cast<guint64>(header.bytes.size() + header.payload_size), at_eos ? " (final)" : "");

  // The samples leave the queue now; the output shares their memory.
  std::vector<BufferPtr> payloads;
  payloads.reserve(count);
  for (size_t i = 0; i < count; i++) {
    payloads.push_back(encrypted.empty() ? std::move(t->pending.front().buffer) : std::move(encrypted[i]));
    t->pending.pop_front();
  }
  t->scan_time = t->ref_scan_time = G_MININT64;  // the indexes moved
  GstBufferList* list = ismvmux::FragmentBufferList(std::move(header.bytes), std::move(payloads), &st->offset);
  if (st->live) return ismvmux::PushLiveFragment(self, *t, list, params, wf, samples[0].sync);
  return gst_aggregator_finish_buffer_list(GST_AGGREGATOR(self), list);
}

// ---------------------------------------------------------------- input

static int64_t RunningTime(GstAggregatorPad* pad, GstClockTime ts) {
  gint64 rt = 0;
  GstSegment* seg = &pad->segment;
  int sign = gst_segment_to_running_time_full(seg, GST_FORMAT_TIME, ts, reinterpret_cast<guint64*>(&rt));
  if (sign == 0) return G_MININT64;
  return sign > 0 ? rt : -rt;
}

static GstClockTime BufferDts(GstBuffer* b) {
  return GST_BUFFER_DTS_IS_VALID(b) ? GST_BUFFER_DTS(b) : GST_BUFFER_PTS(b);
}

static GstFlowReturn AddSample(GstIsmvMux* self, Track* t, GstBuffer* buf) {
  IsmvMuxState* st = self->state;
  BufferPtr owned(buf);
  GstAggregatorPad* pad = &t->pad->parent;
  if (!GST_BUFFER_PTS_IS_VALID(buf)) {
    GST_ELEMENT_ERROR(self, STREAM, MUX, ("Buffer without timestamp on %s", GST_PAD_NAME(t->pad)),
                      ("Every sample needs a PTS (and a DTS when frames are reordered); put a parser "
                       "(h264parse, aacparse) before the muxer"));
    return GST_FLOW_ERROR;
  }
  int64_t pts = RunningTime(pad, GST_BUFFER_PTS(buf));
  int64_t dts = RunningTime(pad, BufferDts(buf));
  if (pts == G_MININT64 || dts == G_MININT64) {
    GST_ELEMENT_ERROR(self, STREAM, MUX, ("Timestamp outside the segment on %s", GST_PAD_NAME(t->pad)), (nullptr));
    return GST_FLOW_ERROR;
  }
  pts -= st->origin;
  dts -= st->origin;
  bool sync = !GST_BUFFER_FLAG_IS_SET(buf, GST_BUFFER_FLAG_DELTA_UNIT);
  if (!t->is_video()) sync = true;
  if (st->fragment_boundaries == GST_ISMV_MUX_BOUNDARIES_CLOCK_GRID) {
    // Snapped to the track's frame grid; dropped before the first boundary.
    PendingSample grid_sample;
    grid_sample.pts = pts;
    grid_sample.dts = dts;
    grid_sample.sync = sync;
    if (!ismvmux::GridAdmitSample(self, t, &grid_sample)) return GST_FLOW_OK;
    pts = grid_sample.pts;
    dts = grid_sample.dts;
  }

  if (!t->started) {
    if (!sync) {
      // Documented recovery: a stream must start with a keyframe; what comes
      // before the first one cannot be decoded and is dropped (and reported).
      t->dropped_leading++;
      return GST_FLOW_OK;
    }
    if (t->dropped_leading)
      GST_ELEMENT_WARNING(self, STREAM, MUX, ("Stream on %s did not start with a keyframe", GST_PAD_NAME(t->pad)),
                          ("dropped %" G_GUINT64_FORMAT " leading non-keyframe buffers", t->dropped_leading));
    t->started = true;
    uint32_t ts = t->config.timescale;
    t->decode_shift = ToTicks(std::max<int64_t>(pts, 0), ts) - ToTicks(dts, ts);
  }
  if (dts < t->last_dts) {
    GST_ELEMENT_ERROR(self, STREAM, MUX, ("Decode timestamps go backwards on %s", GST_PAD_NAME(t->pad)),
                      ("%s after %s", FormatTime(dts).c_str(), FormatTime(t->last_dts).c_str()));
    return GST_FLOW_ERROR;
  }
  t->last_dts = dts;
  PendingSample s;
  if (t->crypto.input_encrypted) {
    s.protection.emplace();
    piff::Status ps = ismvmux::ReadProtectionMeta(buf, &*s.protection);
    if (ps && t->crypto.have_input_tenc && s.protection->kid != t->crypto.input_kid)
      ps = piff::Status::Error("KID changes from " + piff::UuidToString(t->crypto.input_kid) + " to " +
                               piff::UuidToString(s.protection->kid) + " within the track (not supported)");
    if (ps && t->crypto.have_input_tenc && s.protection->sample.iv.size() != t->crypto.input_iv_size)
      ps = piff::Status::Error("IV size changes from " + std::to_string(t->crypto.input_iv_size) + " to " +
                               std::to_string(s.protection->sample.iv.size()) + " within the track");
    if (!ps) {
      GST_ELEMENT_ERROR(self, STREAM, MUX, ("Unusable encrypted sample on %s", GST_PAD_NAME(t->pad)),
                        ("sample at %s: %s (application/x-cenc input needs a GstProtectionMeta on every buffer)",
                         FormatTime(pts).c_str(), ps.message().c_str()));
      return GST_FLOW_ERROR;
    }
  }
  s.buffer = std::move(owned);
  s.pts = pts;
  s.dts = dts;
  s.sync = sync;
  t->pending.push_back(std::move(s));
  if (st->fragment_boundaries == GST_ISMV_MUX_BOUNDARIES_CLOCK_GRID) {
    size_t ready = ismvmux::GridFragmentReady(self, t);
    return ready ? WriteFragment(self, t, ready, false) : GST_FLOW_OK;
  }
  return CloseReadyFragments(self);
}

// ---------------------------------------------------------------- EOS

static GstFlowReturn Finish(GstIsmvMux* self) {
  IsmvMuxState* st = self->state;
  if (st->finished) return GST_FLOW_EOS;
  st->finished = true;
  if (!st->header_written) {
    GST_ELEMENT_ERROR(self, STREAM, MUX, ("No data was muxed"), ("all inputs reached EOS before any sample"));
    return GST_FLOW_ERROR;
  }
  GstFlowReturn ret;
  for (auto& t : st->tracks) {
    // Boundaries decided but not applied (the track ended first) just end here.
    t->next_boundary = st->boundaries.size();
    if ((ret = WriteFragment(self, t.get(), t->pending.size(), true)) != GST_FLOW_OK) return ret;
  }
  if (st->live) return ismvmux::FinishLive(self);

  // mfra: one tfra v1 per track, one entry per fragment.
  piff::MovieFragmentRandomAccessBox mfra;
  uint64_t end = 0;
  for (auto& t : st->tracks) {
    piff::TrackFragmentRandomAccessBox tfra;
    tfra.track_id = t->config.track_id;
    for (auto& f : t->fragments) {
      piff::TrackFragmentRandomAccessBox::Entry e;
      e.time = f.time;
      e.moof_offset = f.moof_offset;
      tfra.entries.push_back(e);
      end = std::max(end, gst_util_uint64_scale_round(f.time + f.duration, st->timescale, t->config.timescale));
    }
    mfra.tfras.push_back(std::move(tfra));
  }
  if ((ret = PushBytes(self, mfra.SerializeWithMfro())) != GST_FLOW_OK) return ret;

  // mehd duration: only when downstream can seek back to the header.
  GstQuery* q = gst_query_new_seeking(GST_FORMAT_BYTES);
  gboolean seekable = FALSE;
  if (gst_pad_peer_query(GST_AGGREGATOR_SRC_PAD(self), q)) gst_query_parse_seeking(q, nullptr, &seekable, nullptr, nullptr);
  gst_query_unref(q);
  if (seekable) {
    std::vector<uint8_t> dur = piff::MehdDurationBytes(end);
    uint64_t saved = st->offset;
    SeekOutput(self, st->mehd_offset);
    st->offset = st->mehd_offset;
    ret = PushBytes(self, std::move(dur));
    st->offset = saved;
    if (ret != GST_FLOW_OK) return ret;
  } else {
    GST_INFO_OBJECT(self, "downstream is not seekable: mehd duration stays 0");
  }
  if (!WriteManifests(self)) return GST_FLOW_ERROR;
  return GST_FLOW_EOS;
}

// ---------------------------------------------------------------- aggregate

static GstFlowReturn gst_ismv_mux_aggregate(GstAggregator* agg, gboolean timeout) {
  GstIsmvMux* self = reinterpret_cast<GstIsmvMux*>(agg);
  IsmvMuxState* st = self->state;
  std::lock_guard<std::mutex> lock(st->tracks_lock);
  if (st->finished) return GST_FLOW_EOS;
  if (st->direct.flow != GST_FLOW_OK) return st->direct.flow;
  if (st->tracks.empty()) {
    GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No input pads"), ("request video_%%u or audio_%%u pads"));
    return GST_FLOW_ERROR;
  }

  // Choose the pad whose head buffer has the earliest decode time.
  Track* best = nullptr;
  int64_t best_dts = 0;
  bool all_eos = true;
  for (auto& t : st->tracks) {
    if (t->released) continue;
    GstAggregatorPad* pad = &t->pad->parent;
    GstBuffer* head = ismvmux::PeekBuffer(pad);
    if (!head) {
      if (!ismvmux::PadIsEos(pad)) {
        all_eos = false;
        if (!timeout) return GST_AGGREGATOR_FLOW_NEED_DATA;
      }
      continue;
    }
    all_eos = false;
    GstClockTime ts = BufferDts(head);
    int64_t dts = GST_CLOCK_TIME_IS_VALID(ts) ? RunningTime(pad, ts) : G_MININT64;
    gst_buffer_unref(head);
    if (!best || dts < best_dts) {
      best = t.get();
      best_dts = dts;
    }
  }

  if (!st->header_written && (best || all_eos)) {
    for (auto& t : st->tracks)
      if (!t->has_caps) {
        GST_ELEMENT_ERROR(self, CORE, NEGOTIATION, ("No caps on %s", GST_PAD_NAME(t->pad)),
                          ("every requested pad needs caps before data; release unused pads"));
        return GST_FLOW_NOT_NEGOTIATED;
      }
    if (!best) return Finish(self);
    // The tenc of already-encrypted input comes from its first buffer.
    for (auto& t : st->tracks) {
      GstAggregatorPad* pad = GST_AGGREGATOR_PAD(t->pad);
      if (!t->crypto.input_encrypted || t->released || ismvmux::HasBuffer(pad) ||
          ismvmux::PadIsEos(pad))
        continue;
      GST_DEBUG_OBJECT(self, "waiting for the first sample of encrypted %s (its KID goes into the header)",
                       GST_PAD_NAME(t->pad));
      return GST_FLOW_OK;
    }
    // Origin: the earliest first presentation time of all inputs.
    int64_t origin = G_MAXINT64;
    for (auto& t : st->tracks) {
      GstAggregatorPad* pad = GST_AGGREGATOR_PAD(t->pad);
      GstBuffer* head = ismvmux::PeekBuffer(pad);
      if (!head) continue;
      if (GST_BUFFER_PTS_IS_VALID(head)) origin = std::min(origin, RunningTime(pad, GST_BUFFER_PTS(head)));
      gst_buffer_unref(head);
    }
    if (origin == G_MAXINT64) origin = 0;
    switch (st->timestamp_mode) {
      case GST_ISMV_MUX_TIMESTAMPS_ZERO: st->origin = origin; break;
      case GST_ISMV_MUX_TIMESTAMPS_RUNNING_TIME: st->origin = 0; break;
      case GST_ISMV_MUX_TIMESTAMPS_CLOCK:
        st->origin = -static_cast<int64_t>(gst_element_get_base_time(GST_ELEMENT(self)));
        break;
    }
    st->next_target = (st->timestamp_mode == GST_ISMV_MUX_TIMESTAMPS_ZERO ? 0 : origin - st->origin) +
                      static_cast<int64_t>(st->fragment_duration);
    GST_INFO_OBJECT(self, "origin %s (mode %d)", FormatTime(st->origin).c_str(), st->timestamp_mode);
    GstFlowReturn ret = WriteHeader(self);
    if (ret != GST_FLOW_OK) return ret;
  }

  if (!best) {
    if (all_eos) return Finish(self);
    if (timeout && st->live) ismvmux::NoteStarved(self);
    return GST_FLOW_OK;
  }
  GstBuffer* buf = ismvmux::PopBuffer(&best->pad->parent);
  if (!buf) return GST_FLOW_OK;
  if (st->live) ismvmux::NoteSampleTaken(self, &best->pad->parent, buf);
  return AddSample(self, best, buf);
}

// ---------------------------------------------------------------- events, pads

static gboolean gst_ismv_mux_sink_event(GstAggregator* agg, GstAggregatorPad* pad, GstEvent* event) {
  GstIsmvMux* self = GST_ISMV_MUX(agg);
  IsmvMuxState* st = self->state;
  std::unique_lock<std::mutex> lock(st->tracks_lock);
  if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
    Track* t = FindTrack(st, pad);
    GstCaps* caps;
    gst_event_parse_caps(event, &caps);
    piff::TrackConfig config;
    std::string fourcc;
    std::string err = t ? ConfigFromCaps(self, t, caps, &config, &fourcc) : "unknown pad";
    bool encrypted = false;
    piff::EncryptionScheme scheme = piff::EncryptionScheme::kNone;
    if (err.empty()) {
      piff::Status ps = ismvmux::InputProtectionFromCaps(gst_caps_get_structure(caps, 0),
                                                         t->is_video() ? "video/x-h264" : "audio/mpeg", &encrypted,
                                                         &scheme);
      if (!ps) err = ps.message();
    }
    if (err.empty() && encrypted && st->encryption.enabled()) {
      GST_ELEMENT_ERROR(self, STREAM, MUX, ("Input on %s is already encrypted; set encryption=none to re-mux it",
                                            GST_PAD_NAME(pad)),
                        ("encrypting it again would make it unplayable; the input's own encryption and "
                         "PlayReady header are kept when encryption=none"));
      gst_event_unref(event);
      return FALSE;
    }
    if (!err.empty()) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Unusable caps on %s: %s", GST_PAD_NAME(pad), err.c_str()),
                        ("caps: %" GST_PTR_FORMAT, caps));
      gst_event_unref(event);
      return FALSE;
    }
    if (t->has_caps && st->header_written &&
        (!SameConfig(t->config, config) || encrypted != t->crypto.input_encrypted || scheme != t->crypto.input_scheme)) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("Caps changed on %s after the header was written", GST_PAD_NAME(pad)),
                        ("a PIFF track has one sample description; new caps %" GST_PTR_FORMAT
                         " differ in codec_data, size, rate, channels or encryption. Start a new file instead.",
                         caps));
      gst_event_unref(event);
      return FALSE;
    }
    t->config = config;
    t->fourcc = fourcc;
    t->has_caps = true;
    t->grid = ismvmux::GridFromCaps(gst_caps_get_structure(caps, 0), config);
    if (st->fragment_boundaries == GST_ISMV_MUX_BOUNDARIES_CLOCK_GRID && !t->grid.valid())
      GST_ELEMENT_WARNING(self, STREAM, MUX, ("No frame grid for %s", GST_PAD_NAME(pad)),
                          ("fragment-boundaries=clock-grid needs a fixed framerate in the video caps (or a "
                           "parseable AAC config); sample times are not snapped, so ganged encoders may differ"));
    t->crypto.input_encrypted = encrypted;
    t->crypto.input_scheme = scheme;
    GST_DEBUG_OBJECT(self, "%s configured: %" GST_PTR_FORMAT, TrackLabel(*t).c_str(), caps);
  } else if (GST_EVENT_TYPE(event) == GST_EVENT_TAG) {
    Track* t = FindTrack(st, pad);
    GstTagList* tags;
    gst_event_parse_tag(event, &tags);
    guint bitrate = 0;
    if (t && !st->header_written &&
        (gst_tag_list_get_uint(tags, GST_TAG_NOMINAL_BITRATE, &bitrate) ||
         gst_tag_list_get_uint(tags, GST_TAG_BITRATE, &bitrate)) && bitrate)
      t->tag_bitrate = bitrate;
    gchar* lang = nullptr;
    if (t && !GST_ISMV_MUX_PAD(pad)->language && gst_tag_list_get_string(tags, GST_TAG_LANGUAGE_CODE, &lang) &&
        lang) {
      // An unmappable value is warned about once (tags come again and again).
      std::string iso;
      if (t->unmapped_tag != lang) {
        if (MapPadLanguage(GST_ELEMENT(self), GST_PAD(pad), lang, "language-code tag", &iso))
          t->language = t->config.language = iso;
        else
          t->unmapped_tag = lang;
      }
      g_free(lang);
    }
  } else if (GST_EVENT_TYPE(event) == GST_EVENT_PROTECTION) {
    const gchar* system_id = nullptr;
    const gchar* origin = nullptr;
    GstBuffer* data = nullptr;
    gst_event_parse_protection(event, &system_id, &data, &origin);
    if (st->header_written) {
      GST_WARNING_OBJECT(self, "protection event for %s on %s after the header was written: not in the file",
                         system_id, GST_PAD_NAME(pad));
    } else {
      std::string note;
      st->input_protection.AddFromEvent(system_id ? system_id : "", data, origin ? origin : "", &note);
      if (!note.empty())
        GST_ELEMENT_WARNING(self, STREAM, MUX, ("Protection event on %s not used", GST_PAD_NAME(pad)), ("%s", note.c_str()));
      else
        GST_DEBUG_OBJECT(self, "protection header for %s (origin %s) from %s", system_id, origin, GST_PAD_NAME(pad));
    }
    // Consumed: the signalling goes into the file, not downstream of it.
    gst_event_unref(event);
    return TRUE;
  }
  lock.unlock();
  return GST_AGGREGATOR_CLASS(gst_ismv_mux_parent_class)->sink_event(agg, pad, event);
}

static GstAggregatorPad* gst_ismv_mux_create_new_pad(GstAggregator* agg, GstPadTemplate* templ, const gchar* req_name,
                                                     const GstCaps* caps) {
  GstIsmvMux* self = GST_ISMV_MUX(agg);
  IsmvMuxState* st = self->state;
  std::lock_guard<std::mutex> lock(st->tracks_lock);
  if (st->header_written) {
    GST_ELEMENT_WARNING(self, STREAM, MUX, ("Cannot add a track after the header was written"), (nullptr));
    return nullptr;
  }
  bool video = g_str_has_prefix(GST_PAD_TEMPLATE_NAME_TEMPLATE(templ), "video");
  std::string name;
  if (req_name) {
    name = req_name;
  } else {
    for (guint i = 0;; i++) {
      name = std::string(video ? "video_" : "audio_") + std::to_string(i);
      bool used = false;
      for (auto& t : st->tracks) used |= name == GST_PAD_NAME(t->pad);
      if (!used) break;
    }
  }
  for (auto& t : st->tracks)
    if (name == GST_PAD_NAME(t->pad)) return nullptr;
  auto* pad = static_cast<GstIsmvMuxPad*>(g_object_new(GST_TYPE_ISMV_MUX_PAD, "name", name.c_str(), "direction",
                                                       GST_PAD_SINK, "template", templ, nullptr));
  ismvmux::InstallPadFunctions(GST_PAD(pad));
  auto track = std::make_unique<Track>();
  track->pad = GST_ISMV_MUX_PAD(gst_object_ref(pad));
  track->config.kind = video ? piff::TrackConfig::Kind::kVideo : piff::TrackConfig::Kind::kAudio;
  track->config.track_id = st->next_track_id++;
  st->tracks.push_back(std::move(track));
  GST_DEBUG_OBJECT(self, "new pad %s", name.c_str());
  return GST_AGGREGATOR_PAD(pad);
}

static void gst_ismv_mux_release_pad(GstElement* element, GstPad* pad) {
  GstIsmvMux* self = GST_ISMV_MUX(element);
  IsmvMuxState* st = self->state;
  std::unique_lock<std::mutex> lock(st->tracks_lock);
  auto it = std::find_if(st->tracks.begin(), st->tracks.end(),
                         [pad](const std::unique_ptr<Track>& t) { return GST_PAD(t->pad) == pad; });
  if (it != st->tracks.end()) {
    if (st->header_written) {
      // The track stays in the file (its header is written); it just ends.
      GST_ELEMENT_WARNING(self, STREAM, MUX, ("Pad %s released while muxing", GST_PAD_NAME(pad)),
                          ("its track ends here"));
      (*it)->released = true;
    } else {
      st->tracks.erase(it);
    }
  }
  lock.unlock();
  IsmvMuxChildRemoved(element, pad);
  GST_ELEMENT_CLASS(gst_ismv_mux_parent_class)->release_pad(element, pad);
}

static GstPad* gst_ismv_mux_request_new_pad(GstElement* element, GstPadTemplate* templ, const gchar* name,
                                            const GstCaps* caps) {
  return IsmvMuxRequestNewPad(GST_ELEMENT_CLASS(gst_ismv_mux_parent_class), element, templ, name, caps);
}

static GstFlowReturn gst_ismv_mux_update_src_caps(GstAggregator* agg, GstCaps* caps, GstCaps** ret) {
  if (GST_ISMV_MUX(agg)->state->live) return ismvmux::LiveSrcCaps(GST_ISMV_MUX(agg), ret);
  *ret = gst_caps_new_simple("video/quicktime", "variant", G_TYPE_STRING, "iso-fragmented", nullptr);
  return GST_FLOW_OK;
}

// Live mode: the aggregator's timeout counts from here (ismvmux_live.h).
static GstClockTime gst_ismv_mux_get_next_time(GstAggregator* agg) {
  GstIsmvMux* self = GST_ISMV_MUX(agg);
  return self->state->live ? ismvmux::LiveNextTime(self) : GST_CLOCK_TIME_NONE;
}

static gboolean gst_ismv_mux_start(GstAggregator* agg) {
  GstIsmvMux* self = GST_ISMV_MUX(agg);
  IsmvMuxState* st = self->state;
  st->ResetStreaming();
  st->input_protection.Clear();
  // Bad encryption settings stop the pipeline here, before any byte is
  // written: better than clear output by mistake.
  GST_OBJECT_LOCK(self);
  ismvmux::EncryptionProperties props = st->encryption_props;
  GST_OBJECT_UNLOCK(self);
  std::vector<std::string> warnings;
  piff::Status s = ismvmux::ResolveEncryption(props, &st->encryption, &warnings);
  if (!s) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid encryption settings: %s", s.message().c_str()), (nullptr));
    return FALSE;
  }
  for (auto& w : warnings)
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("Encryption settings: %s", w.c_str()), (nullptr));
  GST_OBJECT_LOCK(self);
  bool manifests_in_live = st->live && (!st->server_manifest.empty() || !st->client_manifest.empty());
  GST_OBJECT_UNLOCK(self);
  if (manifests_in_live)
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("server-manifest and client-manifest are ignored in live mode"),
                        ("the publishing point makes the manifests of a live stream from the Live Server Manifest "
                         "and the fragments"));
  if (st->encryption.enabled())
    GST_INFO_OBJECT(self, "encrypting with %s, KID %s, PlayReady Object of %zu bytes",
                    piff::SchemeName(st->encryption.settings.scheme),
                    piff::UuidToString(st->encryption.settings.kid).c_str(), st->encryption.pro.size());
  return TRUE;
}

static gboolean gst_ismv_mux_stop(GstAggregator* agg) {
  IsmvMuxState* st = GST_ISMV_MUX(agg)->state;
  st->ResetStreaming();
  st->input_protection.Clear();
  st->encryption = ismvmux::MuxEncryption();  // resolved again from the properties at the next start
  return TRUE;
}

static GstFlowReturn gst_ismv_mux_flush(GstAggregator* agg) {
  // A flushing seek restarts the file; this muxer writes one file per run.
  GST_ISMV_MUX(agg)->state->ResetStreaming(false);
  return GST_FLOW_OK;
}

// ---------------------------------------------------------------- GObject

static void gst_ismv_mux_set_property(GObject* object, guint prop_id, const GValue* value, GParamSpec* pspec) {
  GstIsmvMux* self = GST_ISMV_MUX(object);
  IsmvMuxState* st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_FRAGMENT_DURATION: st->fragment_duration = g_value_get_uint64(value); break;
    case PROP_TIMESCALE: st->timescale = g_value_get_uint(value); break;
    case PROP_SERVER_MANIFEST: st->server_manifest = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_CLIENT_MANIFEST: st->client_manifest = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_H264_FOURCC: {
      const gchar* v = g_value_get_string(value);
      if (v && (g_ascii_strcasecmp(v, "H264") == 0 || g_ascii_strcasecmp(v, "AVC1") == 0)) {
        gchar* up = g_ascii_strup(v, -1);
        st->h264_fourcc = up;
        g_free(up);
      } else {
        g_warning("ismvmux: h264-fourcc must be H264 or AVC1, not \"%s\"", v ? v : "(null)");
      }
      break;
    }
    case PROP_STRICT_ALIGNMENT: st->strict_alignment = g_value_get_boolean(value); break;
    case PROP_TIMESTAMP_MODE: st->timestamp_mode = static_cast<GstIsmvMuxTimestampMode>(g_value_get_enum(value)); break;
    case PROP_MEDIA_FILE_NAME: st->media_file_name = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case PROP_LIVE: st->live = g_value_get_boolean(value); break;
    case PROP_LIVE_END_MFRA: st->live_end_mfra = g_value_get_boolean(value); break;
    case PROP_FRAGMENT_BOUNDARIES:
      st->fragment_boundaries = static_cast<GstIsmvMuxFragmentBoundaries>(g_value_get_enum(value));
      break;
    default:
      if (!ismvmux::SetEncryptionProperty(&st->encryption_props, prop_id - PROP_ENCRYPTION, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_ismv_mux_get_property(GObject* object, guint prop_id, GValue* value, GParamSpec* pspec) {
  GstIsmvMux* self = GST_ISMV_MUX(object);
  IsmvMuxState* st = self->state;
  GST_OBJECT_LOCK(self);
  switch (prop_id) {
    case PROP_FRAGMENT_DURATION: g_value_set_uint64(value, st->fragment_duration); break;
    case PROP_TIMESCALE: g_value_set_uint(value, st->timescale); break;
    case PROP_SERVER_MANIFEST: g_value_set_string(value, st->server_manifest.empty() ? nullptr : st->server_manifest.c_str()); break;
    case PROP_CLIENT_MANIFEST: g_value_set_string(value, st->client_manifest.empty() ? nullptr : st->client_manifest.c_str()); break;
    case PROP_H264_FOURCC: g_value_set_string(value, st->h264_fourcc.c_str()); break;
    case PROP_STRICT_ALIGNMENT: g_value_set_boolean(value, st->strict_alignment); break;
    case PROP_TIMESTAMP_MODE: g_value_set_enum(value, st->timestamp_mode); break;
    case PROP_MEDIA_FILE_NAME: g_value_set_string(value, st->media_file_name.empty() ? nullptr : st->media_file_name.c_str()); break;
    case PROP_LIVE: g_value_set_boolean(value, st->live); break;
    case PROP_LIVE_END_MFRA: g_value_set_boolean(value, st->live_end_mfra); break;
    case PROP_FRAGMENT_BOUNDARIES: g_value_set_enum(value, st->fragment_boundaries); break;
    default:
      if (!ismvmux::GetEncryptionProperty(st->encryption_props, prop_id - PROP_ENCRYPTION, value))
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_ismv_mux_finalize(GObject* object) {
  delete GST_ISMV_MUX(object)->state;
  G_OBJECT_CLASS(gst_ismv_mux_parent_class)->finalize(object);
}

static void gst_ismv_mux_init(GstIsmvMux* self) { self->state = new IsmvMuxState(); }

static void gst_ismv_mux_class_init(GstIsmvMuxClass* klass) {
  GObjectClass* gobject_class = G_OBJECT_CLASS(klass);
  GstElementClass* element_class = GST_ELEMENT_CLASS(klass);
  GstAggregatorClass* agg_class = GST_AGGREGATOR_CLASS(klass);
  const auto flags = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);

  gobject_class->set_property = gst_ismv_mux_set_property;
  gobject_class->get_property = gst_ismv_mux_get_property;
  gobject_class->finalize = gst_ismv_mux_finalize;

  g_object_class_install_property(
      gobject_class, PROP_FRAGMENT_DURATION,
      g_param_spec_uint64("fragment-duration", "Fragment duration",
                          "Target fragment duration in nanoseconds; a video fragment closes at the first keyframe "
                          "at or after it (default 2000000000 = 2 s)",
                          GST_MSECOND, G_MAXUINT64, DEFAULT_FRAGMENT_DURATION, flags));
  g_object_class_install_property(
      gobject_class, PROP_TIMESCALE,
      g_param_spec_uint("timescale", "Timescale",
                        "Ticks per second of every track, tfxd, tfra and the manifests (default 10000000 = 100 ns)",
                        1, G_MAXUINT, DEFAULT_TIMESCALE, flags));
  g_object_class_install_property(
      gobject_class, PROP_SERVER_MANIFEST,
      g_param_spec_string("server-manifest", "Server manifest",
                          "Path of the server manifest (.ism, SMIL) written at EOS; none when unset (default: unset)",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_CLIENT_MANIFEST,
      g_param_spec_string("client-manifest", "Client manifest",
                          "Path of the client manifest (.ismc) written at EOS; none when unset (default: unset)",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_H264_FOURCC,
      g_param_spec_string("h264-fourcc", "H.264 FourCC",
                          "FourCC of H.264 QualityLevels in the manifests: \"H264\" (the spec's, needed by older "
                          "Silverlight players) or \"AVC1\" (default: H264)",
                          DEFAULT_H264_FOURCC, flags));
  g_object_class_install_property(
      gobject_class, PROP_STRICT_ALIGNMENT,
      g_param_spec_boolean("strict-alignment", "Strict alignment",
                           "Fail with an error at the first video keyframe that does not line up with the "
                           "fragment boundary of the reference video track. When false (default) a warning per "
                           "boundary, and at EOS the QualityLevels that cannot serve the manifest timeline are left "
                           "out of both manifests and an error (after the files are written) names their pads",
                           DEFAULT_STRICT_ALIGNMENT, flags));
  g_object_class_install_property(
      gobject_class, PROP_TIMESTAMP_MODE,
      g_param_spec_enum("timestamp-mode", "Timestamp mode",
                        "Where the output timeline starts: zero (the earliest input timestamp becomes 0), "
                        "running-time (keep running time), clock (running time + base time, i.e. pipeline "
                        "clock time, for synchronised live encoders) (default: zero)",
                        GST_TYPE_ISMV_MUX_TIMESTAMP_MODE, DEFAULT_TIMESTAMP_MODE, flags));
  g_object_class_install_property(
      gobject_class, PROP_MEDIA_FILE_NAME,
      g_param_spec_string("media-file-name", "Media file name",
                          "Media file name written as src in the server manifest; when unset it is learned from "
                          "downstream (the URI query that filesink answers), relative to the .ism (default: unset)",
                          nullptr, flags));
  g_object_class_install_property(
      gobject_class, PROP_LIVE,
      g_param_spec_boolean("live", "Live ingest",
                           "Write a Smooth Streaming live ingest stream (for a publishing point, e.g. through "
                           "smoothsink): ftyp + Live Server Manifest + moov as a HEADER buffer and in the src caps "
                           "(streamheader), then each track fragment as one buffer as soon as it closes; no seeking "
                           "back, no mfra index, no manifest files (default: false)",
                           DEFAULT_LIVE, flags));
  g_object_class_install_property(
      gobject_class, PROP_LIVE_END_MFRA,
      g_param_spec_boolean("live-end-mfra", "Live end mfra",
                           "In live mode, end the stream with an empty 8-byte mfra box: IIS publishing points take "
                           "it as end of stream; Azure Media Services ignores it and asks encoders not to send it "
                           "(default: false)",
                           DEFAULT_LIVE_END_MFRA, flags));
  g_object_class_install_property(
      gobject_class, PROP_FRAGMENT_BOUNDARIES,
      g_param_spec_enum("fragment-boundaries", "Fragment boundaries",
                        "Where fragments start: keyframe (the first keyframe at or after fragment-duration after "
                        "the previous boundary) or clock-grid (for timecode-ganged redundant encoders with "
                        "timestamp-mode=clock: at the first frame of every multiple of fragment-duration on the "
                        "output timeline, sample times snapped to each track's frame grid, samples before the "
                        "first boundary dropped, and force-key-unit events sent upstream for each boundary) "
                        "(default: keyframe)",
                        GST_TYPE_ISMV_MUX_FRAGMENT_BOUNDARIES, DEFAULT_FRAGMENT_BOUNDARIES, flags));
  ismvmux::InstallEncryptionProperties(gobject_class, PROP_ENCRYPTION, flags);

  gst_element_class_add_static_pad_template_with_gtype(element_class, &src_template, GST_TYPE_AGGREGATOR_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &video_template, GST_TYPE_ISMV_MUX_PAD);
  gst_element_class_add_static_pad_template_with_gtype(element_class, &audio_template, GST_TYPE_ISMV_MUX_PAD);
  gst_element_class_set_static_metadata(
      element_class, "Smooth Streaming (PIFF/ISMV) muxer", "Codec/Muxer",
      "Muxes H.264 and AAC into PIFF 1.1 fragmented MP4 (.ismv/.isma) with tfxd and mfra, GOP-aligned across "
      "bitrates, and writes the .ism and .ismc manifests; or, with live=true, into a Smooth Streaming live "
      "ingest stream (Live Server Manifest, one buffer per fragment)",
      "gst-smooth developers <gst-smooth@example.org>");

  element_class->release_pad = gst_ismv_mux_release_pad;
  element_class->request_new_pad = gst_ismv_mux_request_new_pad;
  agg_class->aggregate = gst_ismv_mux_aggregate;
  agg_class->sink_event = gst_ismv_mux_sink_event_queued;
  agg_class->create_new_pad = gst_ismv_mux_create_new_pad;
  agg_class->start = gst_ismv_mux_start;
  agg_class->stop = gst_ismv_mux_stop;
  agg_class->flush = gst_ismv_mux_flush;
  agg_class->update_src_caps = gst_ismv_mux_update_src_caps;
  agg_class->get_next_time = gst_ismv_mux_get_next_time;
  ismvmux::RegisterFragmentMeta();

  gst_type_mark_as_plugin_api(GST_TYPE_ISMV_MUX_PAD, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_ISMV_MUX_TIMESTAMP_MODE, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_ISMV_MUX_FRAGMENT_BOUNDARIES, static_cast<GstPluginAPIFlags>(0));
  gst_type_mark_as_plugin_api(GST_TYPE_ISMV_ENCRYPTION, static_cast<GstPluginAPIFlags>(0));
}

// ---------------------------------------------------------------- direct input (ismvmux_queue.h)

// Every serialized event the aggregator queued comes through here, in its
// thread: the direct input counts them (a buffer behind one waits for it).
// The src caps are set at the first caps, from this thread, which holds the
// src pad's stream lock: with direct input the first output is pushed from an
// upstream thread, before the aggregator's own negotiation would run.
static gboolean gst_ismv_mux_sink_event_queued(GstAggregator* agg, GstAggregatorPad* pad, GstEvent* event) {
  GstEventType type = GST_EVENT_TYPE(event);
  bool queued = GST_EVENT_IS_SERIALIZED(event) && type != GST_EVENT_FLUSH_STOP;
  gboolean ret = gst_ismv_mux_sink_event(agg, pad, event);
  // Live mode: the caps carry the header, set when it is built.
  if (type == GST_EVENT_CAPS && ret && !GST_ISMV_MUX(agg)->state->live &&
      !gst_pad_has_current_caps(GST_AGGREGATOR_SRC_PAD(agg))) {
    GstCaps* caps = nullptr;
    gst_ismv_mux_update_src_caps(agg, nullptr, &caps);
    gst_aggregator_set_src_caps(agg, caps);
    gst_caps_unref(caps);
  }
  if (queued) ismvmux::SerializedEventHandled(agg, pad, type);
  return ret;
}

// Unchecked casts: called per sample, only with this element and its pads.
std::mutex& ismvmux::MuxLock(GstAggregator* mux) { return reinterpret_cast<GstIsmvMux*>(mux)->state->tracks_lock; }
ismvmux::DirectInput& ismvmux::MuxDirectInput(GstAggregator* mux) { return reinterpret_cast<GstIsmvMux*>(mux)->state->direct; }
ismvmux::PadQueue& ismvmux::MuxPadQueue(GstPad* pad) { return *reinterpret_cast<GstIsmvMuxPad*>(pad)->queue; }
GstFlowReturn ismvmux::MuxStep(GstAggregator* mux) { return gst_ismv_mux_aggregate(mux, FALSE); }
