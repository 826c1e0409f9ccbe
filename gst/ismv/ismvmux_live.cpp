// ismvmux live mode: the ingest header and per-fragment buffer lists of the
// contract in ismvmux_live.h, the aggregator's live timeout, and the clock
// grid of timecode-ganged encoders. What bytes and which times is the core's
// (live_ingest.h, clock_grid.h); this file turns them into GStreamer buffers,
// caps, metas and events.
#include "ismvmux_live.h"

#include <gst/video/video.h>

#include <algorithm>

#include "codec_config.h"
#include "live_ingest.h"

#define GST_CAT_DEFAULT gst_ismv_mux_debug

namespace ismvmux {

void RegisterFragmentMeta() {
  static gsize once = 0;
  if (g_once_init_enter(&once)) {
    // No tags: the meta describes the buffer's bytes, which elements that
    // only pass buffers on keep unchanged.
    static const gchar* tags[] = {nullptr};
    gst_meta_register_custom(kFragmentMetaName, tags, nullptr, nullptr, nullptr);
    g_once_init_leave(&once, 1);
  }
}

GstFlowReturn PushLiveHeader(GstIsmvMux* self, const std::vector<piff::TrackConfig>& configs) {
  IsmvMuxState* st = self->state;
  std::vector<piff::LiveTrack> tracks(configs.size());
  for (size_t i = 0; i < configs.size(); i++) {
    Track* t = st->tracks[i].get();
    tracks[i].config = configs[i];
    tracks[i].fourcc = t->fourcc;
    GST_OBJECT_LOCK(t->pad);
    guint bitrate = t->pad->bitrate;
    GST_OBJECT_UNLOCK(t->pad);
    tracks[i].bitrate = bitrate ? bitrate : t->tag_bitrate;
    if (!tracks[i].bitrate)
      GST_ELEMENT_WARNING(self, STREAM, MUX, ("No bitrate for %s", TrackLabel(*t).c_str()),
                          ("its systemBitrate in the Live Server Manifest is 0; set the pad's bitrate property "
                           "(ismvmux name=mux %s::bitrate=...) or use an encoder that tags its nominal bitrate",
                           GST_PAD_NAME(t->pad)));
  }
  std::vector<uint8_t> bytes;
  piff::Status s = piff::BuildLiveHeader(tracks, st->timescale, st->protection.moov_boxes(), &bytes);
  if (!s) {
    GST_ELEMENT_ERROR(self, STREAM, MUX, ("Cannot build the live ingest header"), ("%s", s.message().c_str()));
    return GST_FLOW_ERROR;
  }
  std::vector<std::string> names = piff::LiveTrackNames(tracks);
  for (size_t i = 0; i < names.size(); i++) st->tracks[i]->live_name = names[i];

  GstBuffer* header = WrapBytes(std::move(bytes));
  GST_BUFFER_FLAG_SET(header, GST_BUFFER_FLAG_HEADER);
  GST_BUFFER_OFFSET(header) = 0;
  st->offset = gst_buffer_get_size(header);
  GST_BUFFER_OFFSET_END(header) = st->offset;

  GstCaps* caps = gst_caps_new_simple("video/quicktime", "variant", G_TYPE_STRING, "isml", nullptr);
  GValue array = G_VALUE_INIT, value = G_VALUE_INIT;
  g_value_init(&array, GST_TYPE_ARRAY);
  g_value_init(&value, GST_TYPE_BUFFER);
  gst_value_set_buffer(&value, header);
  gst_value_array_append_and_take_value(&array, &value);
  gst_structure_take_value(gst_caps_get_structure(caps, 0), "streamheader", &array);
  gst_caps_replace(&st->live_caps, caps);

  // A TIME segment under which a fragment's PTS maps back to the running
  // time of its input (the output timeline is running time - origin).
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  if (st->origin < 0) {
    segment.start = segment.time = segment.position = static_cast<guint64>(-st->origin);
  } else {
    segment.base = static_cast<guint64>(st->origin);
  }
  gst_aggregator_update_segment(GST_AGGREGATOR(self), &segment);
  gst_aggregator_set_src_caps(GST_AGGREGATOR(self), caps);
  gst_caps_unref(caps);
  GST_INFO_OBJECT(self, "live header: ftyp + Live Server Manifest + moov, %" G_GSIZE_FORMAT " bytes, %zu tracks",
                  gst_buffer_get_size(header), tracks.size());
  return gst_aggregator_finish_buffer(GST_AGGREGATOR(self), gst_buffer_ref(header));
}

GstFlowReturn PushLiveFragment(GstIsmvMux* self, const Track& t, GstBufferList* list,
                               const piff::FragmentParams& params, const WrittenFragment& fragment, bool keyframe) {
  // The buffers are new (FragmentBufferList), so writable without a copy.
  GstBuffer* first = gst_buffer_list_get(list, 0);
  const guint n = gst_buffer_list_length(list);
  const guint64 size = GST_BUFFER_OFFSET_END(gst_buffer_list_get(list, n - 1)) - GST_BUFFER_OFFSET(first);
  const uint32_t ts = t.config.timescale;
  GstClockTime start = gst_util_uint64_scale_round(fragment.time, GST_SECOND, ts);
  GstClockTime end = gst_util_uint64_scale_round(fragment.time + fragment.duration, GST_SECOND, ts);
  GST_BUFFER_PTS(first) = GST_BUFFER_DTS(first) = start;
  GST_BUFFER_DURATION(first) = end - start;
  if (!keyframe) GST_BUFFER_FLAG_SET(first, GST_BUFFER_FLAG_DELTA_UNIT);
  // The rest continue the fragment: never a place to start decoding.
  for (guint i = 1; i < n; i++) GST_BUFFER_FLAG_SET(gst_buffer_list_get(list, i), GST_BUFFER_FLAG_DELTA_UNIT);
  GstCustomMeta* meta = gst_buffer_add_custom_meta(first, kFragmentMetaName);
  GstStructure* s = gst_custom_meta_get_structure(meta);
  gst_structure_set_name(s, kFragmentStructureName);
  gst_structure_set(s, "track-id", G_TYPE_UINT, t.config.track_id, "track-name", G_TYPE_STRING, t.live_name.c_str(),
                    "time", G_TYPE_UINT64, fragment.time, "duration", G_TYPE_UINT64, fragment.duration, "timescale",
                    G_TYPE_UINT, ts, "sequence", G_TYPE_UINT, params.sequence_number, "keyframe", G_TYPE_BOOLEAN,
                    keyframe, "size", G_TYPE_UINT64, size, nullptr);
  GST_LOG_OBJECT(self, "%s: fragment of %" G_GUINT64_FORMAT " bytes in %u buffers", TrackLabel(t).c_str(), size, n);
  return gst_aggregator_finish_buffer_list(GST_AGGREGATOR(self), list);
}

GstFlowReturn FinishLive(GstIsmvMux* self) {
  IsmvMuxState* st = self->state;
  GST_OBJECT_LOCK(self);
  bool mfra = st->live_end_mfra;
  GST_OBJECT_UNLOCK(self);
  for (auto& t : st->tracks) {
    if (t->dropped_before_grid && !t->started)
      GST_ELEMENT_WARNING(self, STREAM, MUX, ("No fragment boundary of the clock grid on %s", GST_PAD_NAME(t->pad)),
                          ("all %" G_GUINT64_FORMAT " samples came before the first keyframe on the grid and were "
                           "dropped", t->dropped_before_grid));
  }
  if (mfra) {
    GstFlowReturn ret = PushBytes(self, piff::EmptyMfra());
    if (ret != GST_FLOW_OK) return ret;
  }
  return GST_FLOW_EOS;
}

GstFlowReturn LiveSrcCaps(GstIsmvMux* self, GstCaps** ret) {
  IsmvMuxState* st = self->state;
  if (!st->live_caps) return GST_AGGREGATOR_FLOW_NEED_DATA;
  *ret = gst_caps_ref(st->live_caps);
  return GST_FLOW_OK;
}

// ---------------------------------------------------------------- live timeout

GstClockTime LiveNextTime(GstIsmvMux* self) {
  IsmvMuxState* st = self->state;
  return st->next_time.load();
}

void NoteSampleTaken(GstIsmvMux* self, GstAggregatorPad* pad, GstBuffer* buf) {
  IsmvMuxState* st = self->state;
  GstClockTime ts = GST_BUFFER_DTS_IS_VALID(buf) ? GST_BUFFER_DTS(buf) : GST_BUFFER_PTS(buf);
  if (!GST_CLOCK_TIME_IS_VALID(ts)) return;
  GstClockTime rt = gst_segment_to_running_time(&pad->segment, GST_FORMAT_TIME, ts);
  GstClockTime prev = st->next_time.load();
  if (GST_CLOCK_TIME_IS_VALID(rt) && (!GST_CLOCK_TIME_IS_VALID(prev) || rt > prev)) st->next_time = rt;
}

void NoteStarved(GstIsmvMux* self) {
  // Nothing on any pad although the deadline passed: wait from now on, at
  // least 20 ms, instead of timing out again at once (a busy loop).
  GstClock* clock = gst_element_get_clock(GST_ELEMENT(self));
  if (!clock) return;
  GstClockTime now = gst_clock_get_time(clock);
  gst_object_unref(clock);
  GstClockTime base = gst_element_get_base_time(GST_ELEMENT(self));
  if (now >= base) self->state->next_time = now - base + 20 * GST_MSECOND;
}

// ---------------------------------------------------------------- clock grid

piff::FrameGrid GridFromCaps(const GstStructure* caps, const piff::TrackConfig& config) {
  if (config.kind == piff::TrackConfig::Kind::kVideo) {
    gint n = 0, d = 0;
    if (gst_structure_get_fraction(caps, "framerate", &n, &d) && n > 0 && d > 0)
      return piff::FrameGrid(config.timescale, static_cast<uint64_t>(n), static_cast<uint64_t>(d));
    return piff::FrameGrid();
  }
  // An AAC frame is 1024 samples at the core rate (HE-AAC's SBR doubles the
  // output rate, not the frame count).
  piff::AudioSpecificConfig asc;
  if (!piff::AudioSpecificConfig::Parse(config.audio_specific_config.data(), config.audio_specific_config.size(), &asc) ||
      asc.sampling_rate == 0)
    return piff::FrameGrid();
  return piff::FrameGrid(config.timescale, asc.sampling_rate, 1024);
}

static uint64_t FragmentTicks(IsmvMuxState* st, const Track& t) {
  return static_cast<uint64_t>(ToTicks(static_cast<int64_t>(st->fragment_duration), t.config.timescale));
}

// Asks upstream (the encoder) for a keyframe at the first frame of the cell
// after `snapped`, once per boundary, a whole fragment ahead.
static void RequestKeyframe(GstIsmvMux* self, Track* t, int64_t snapped) {
  IsmvMuxState* st = self->state;
  if (!t->is_video() || !t->grid.valid()) return;
  int64_t target = piff::NextCellFirstFrame(t->grid, snapped, FragmentTicks(st, *t));
  if (target == t->key_requested) return;
  t->key_requested = target;
  int64_t rt = TicksToNs(piff::KeyRequestTime(t->grid, target), t->config.timescale) + st->origin;
  if (rt < 0) return;
  GST_DEBUG_OBJECT(self, "%s: asking upstream for a keyframe at running time %s (boundary %" G_GINT64_FORMAT " ticks)",
                   TrackLabel(*t).c_str(), FormatTime(rt).c_str(), target);
  gst_pad_push_event(GST_PAD(t->pad),
                     gst_video_event_new_upstream_force_key_unit(static_cast<GstClockTime>(rt), TRUE, 0));
}

bool GridAdmitSample(GstIsmvMux* self, Track* t, PendingSample* s) {
  IsmvMuxState* st = self->state;
  const uint32_t ts = t->config.timescale;
  const uint64_t cell_ticks = FragmentTicks(st, *t);
  int64_t pts = ToTicks(s->pts, ts), dts = ToTicks(s->dts, ts);
  if (t->grid.valid()) {
    int64_t snapped_dts = t->grid.Snap(dts);
    // A jittery source can put two samples on one grid time: the later one
    // moves to the next frame (counted), so durations never become 0.
    if (t->last_snapped != G_MININT64 && snapped_dts <= t->last_snapped) {
      int64_t moved = t->grid.FrameTime(t->grid.NearestFrame(t->last_snapped) + 1);
      if (t->snap_collisions++ == 0)
        GST_WARNING_OBJECT(self, "%s: two samples on one frame time of the grid; later ones move to the next frame",
                           TrackLabel(*t).c_str());
      pts += moved - snapped_dts;
      snapped_dts = moved;
    }
    t->last_snapped = snapped_dts;
    pts = t->grid.Snap(pts);
    dts = snapped_dts;
    s->pts = TicksToNs(pts, ts);
    s->dts = TicksToNs(dts, ts);
  }
  RequestKeyframe(self, t, pts);
  if (t->grid_cell != G_MININT64) return true;
  // The first fragment starts at a cell's first frame, a keyframe for video,
  // as the other encoder's does: what comes before is dropped.
  bool starts = t->grid.valid() ? piff::StartsGridCell(t->grid, pts, cell_ticks) : true;
  if ((s->sync || !t->is_video()) && starts) {
    t->grid_cell = piff::GridCell(pts, cell_ticks);
    if (t->dropped_before_grid)
      GST_ELEMENT_INFO(self, STREAM, MUX, ("%s starts at the clock grid", GST_PAD_NAME(t->pad)),
                       ("dropped %" G_GUINT64_FORMAT " samples before its first fragment boundary at %s",
                        t->dropped_before_grid, FormatTime(s->pts).c_str()));
    return true;
  }
  t->dropped_before_grid++;
  return false;
}

size_t GridFragmentReady(GstIsmvMux* self, Track* t) {
  IsmvMuxState* st = self->state;
  if (t->pending.size() < 2) return 0;
  const PendingSample& s = t->pending.back();
  const uint64_t cell_ticks = FragmentTicks(st, *t);
  const int64_t pts = ToTicks(s.pts, t->config.timescale);
  const int64_t cell = piff::GridCell(pts, cell_ticks);
  if (cell <= t->grid_cell) return 0;
  bool first_of_cell = t->grid.valid() ? piff::StartsGridCell(t->grid, pts, cell_ticks) : true;
  if (!first_of_cell) return 0;
  if (t->is_video() && !s.sync) {
    // The encoder did not key the boundary frame: this fragment runs on to
    // the next cell (the other encoder must miss the same one to stay equal).
    if (t->missed_grid_keys++ == 0)
      GST_ELEMENT_WARNING(self, STREAM, MUX, ("No keyframe on the clock grid on %s", GST_PAD_NAME(t->pad)),
                          ("the frame at %s starts a fragment of the grid but is not a keyframe; the fragment "
                           "continues to the next boundary. The encoder must honour force-key-unit events or use "
                           "a fixed GOP of exactly fragment-duration aligned to the grid",
                           FormatTime(s.pts).c_str()));
    return 0;
  }
  t->grid_cell = cell;
  return t->pending.size() - 1;
}

}  // namespace ismvmux
