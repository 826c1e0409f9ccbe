// ismdemux: the GStreamer side of reading PIFF / Smooth Streaming media. The
// core parses every box and resolves samples; the element turns samples into
// buffers cut out of the stream without copying, with timestamps, flags,
// caps, segments and seeks. This file is the element itself (class,
// properties, tracks and pads, sample output, state changes); push mode,
// pull mode and protection have files of their own (ismdemux_private.h).

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

#include "ismdemux_private.h"

#include <gst/pbutils/pbutils.h>
#include <gst/tag/tag.h>
#include <gst/video/video.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "boxes.h"
#include "codec_config.h"
#include "media_index.h"

GST_DEBUG_CATEGORY(gst_ism_demux_debug);

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

namespace ismdemux {

// ---------------------------------------------------------------- helpers

namespace {

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

}  // namespace

// Largest amount by which a composition offset pulls a sample's
// presentation time before its decode time, in ticks.
int64_t ComputeShift(const Track& t, const piff::TrackFragmentSamples& f) {
  int64_t shift = 0;
  for (auto& s : f.samples)
    if (piff::IsPlausibleCompositionOffset(s.composition_offset, t.timescale))
      shift = std::max<int64_t>(shift, -s.composition_offset);
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

// ---------------------------------------------------------------- tracks and pads

// Decides, for every moov track, whether it gets a pad and with what caps
// (framerate is added later from the first fragment).
static bool PrepareTracks(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  st->tracks.clear();
  st->pssh = piff::FindProtectionSystemHeaders(st->moov->other);
  MatchKeysToTracks(self);
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
      ProtectionSetup p = SetUpTrackProtection(self, entry_children, t.get());
      if (p == ProtectionSetup::kFail) return false;
      if (p == ProtectionSetup::kSkip) {
        st->tracks.push_back(std::move(t));
        continue;
      }
      codec = t->protection.original_format;
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

GstFlowReturn HandleMoov(GstIsmDemux* self, const uint8_t* data, size_t size) {
  piff::MovieBox moov;
  piff::Status s = moov.Parse(data, size);
  if (!s) {
    POST_ERROR(self, DEMUX, ("Corrupt moov box"), ("%s", s.message().c_str()));
    return GST_FLOW_ERROR;
  }
  return AdoptMoov(self, moov, 0);
}

GstFlowReturn AdoptMoov(GstIsmDemux* self, const piff::MovieBox& moov, uint64_t offset) {
  IsmDemuxState* st = State(self);
  if (st->moov) {
    GST_DEBUG_OBJECT(self, "ignoring a second moov at %" G_GUINT64_FORMAT, offset);
    return GST_FLOW_OK;
  }
  st->moov = moov;
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
  if (t->Signalled()) SetProtectedCaps(st, *t, caps);
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
void ExposePads(GstIsmDemux* self) {
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
    if (t->Signalled()) PushProtectionEvents(st, t);
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

void PushToAll(GstIsmDemux* self, GstEvent* event) {
  for (auto& t : State(self)->tracks)
    if (t->pad) gst_pad_push_event(t->pad, gst_event_ref(event));
  gst_event_unref(event);
}

// ---------------------------------------------------------------- output

// The segment a track's pad gets: the stream-time segment moved to media time
// and by the track's composition shift.
static GstSegment PadSegment(IsmDemuxState* st, const Track& t) {
  GstSegment seg = st->segment;
  GstClockTime off = st->t0 + t.OffsetNs();
  seg.start += off;
  if (GST_CLOCK_TIME_IS_VALID(seg.stop)) seg.stop += off;
  seg.position += off;
  return seg;
}

// Gives a sample buffer its timestamps, flags and protection meta, after
// sending the pad's pending segment and tags. Returns null (and takes `buf`)
// when the sample is not to be pushed: track ended, past the segment stop,
// or audio wholly before the segment start.
GstBuffer* PrepareSample(GstIsmDemux* self, const PendingSample& p, GstBuffer* buf) {
  IsmDemuxState* st = State(self);
  Track* t = p.track;
  const piff::ReadSample& s = p.sample;
  if (!t->pad || t->eos) {
    gst_buffer_unref(buf);
    return nullptr;
  }
  GstClockTime dts = t->ToNs(s.decode_time);
  int64_t cto = s.composition_offset;
  if (!piff::IsPlausibleCompositionOffset(cto, t->timescale)) {
    // Damage (a corrupt trun entry): presented at its decode time, so that
    // one entry cannot hold this pad minutes away from the others.
    if (t->implausible_offsets++ % 100 == 0)
      GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("Damaged composition offset in %s", TrackLabel(*t).c_str()),
                          ("a sample at decode time %" GST_TIME_FORMAT " claims a composition offset of %" G_GINT64_FORMAT
                           " ticks (beyond %" G_GINT64_FORMAT " s); presented at its decode time (%" G_GUINT64_FORMAT
                           " such sample(s) so far)",
                           GST_TIME_ARGS(dts), cto, piff::kMaxCompositionOffsetSeconds, t->implausible_offsets));
    cto = 0;
  }
  int64_t pts_ticks = static_cast<int64_t>(s.decode_time) + cto + t->shift;
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
  // its keyframe and clipped after decoding. Audio before the file's zero
  // (a negative start: encoder priming) is sent, for the decoder to prime
  // itself, and clipped after decoding.
  bool priming = t->start_offset && pts < t->OffsetNs();
  if (!t->video && pts + duration <= seg.start && !priming) {
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
  AddProtectionMeta(*t, p, buf);
  GST_LOG_OBJECT(self, "%s: pts %" GST_TIME_FORMAT " dts %" GST_TIME_FORMAT " size %u%s", TrackLabel(*t).c_str(),
                 GST_TIME_ARGS(pts), GST_TIME_ARGS(dts), s.size, s.sync ? " key" : "");
  // Stream-time position, for segment-done and seeks that keep the start.
  GstClockTime file_pts = pts - std::min<GstClockTime>(pts, t->OffsetNs());
  if (file_pts >= st->t0) st->segment.position = std::max<GstClockTime>(st->segment.position, file_pts - st->t0);
  t->pushed++;
  return buf;
}

GstFlowReturn CombineFlow(IsmDemuxState* st, Track* t, GstFlowReturn ret) {
  if (ret == GST_FLOW_EOS) t->eos = true;
  return gst_flow_combiner_update_pad_flow(st->combiner, t->pad, ret);
}

bool AllTracksDone(IsmDemuxState* st) {
  bool any = false;
  for (auto& t : st->tracks) {
    if (!t->pad) continue;
    any = true;
    if (!t->eos) return false;
  }
  return any;
}

}  // namespace ismdemux

using namespace ismdemux;

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
      if (seg->format == GST_FORMAT_BYTES && gst_adapter_available(st->adapter) == 0 &&
          st->reader.AtBoxBoundary() && static_cast<uint64_t>(seg->start) != st->reader.offset()) {
        GST_DEBUG_OBJECT(self, "upstream data now starts at %" G_GUINT64_FORMAT, seg->start);
        st->reader.SetOffset(seg->start);
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
        return gst_pad_start_task(pad, reinterpret_cast<GstTaskFunction>(PullLoop), pad, nullptr);
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
  st->reader = piff::StreamReader();  // forgets the moov, ftyp and track ends too
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
                          "output with their clear caps; the others stay application/x-cenc. A wrong key is an error "
                          "naming the KID (PlayReady CHECKSUM, else the first decrypted samples); a KID that is no "
                          "track's a warning (in GUID byte order it is recognised and used). Default: none",
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
