// ProbeInput: filesrc ! qtdemux ! fakesink per stream, with a buffer probe
// that counts samples and fingerprints audio. See package_probe.h.
#include "package_probe.h"

#include <algorithm>
#include <memory>
#include <mutex>

namespace {

struct ProbeState;

struct PadContext {
  ProbeState* state = nullptr;
  size_t index = 0;
};

struct ProbeState {
  GstElement* pipeline = nullptr;
  std::mutex lock;
  std::vector<ProbedStream> streams;
  std::vector<GChecksum*> sums;
  std::vector<std::unique_ptr<PadContext>> contexts;
  uint64_t buffers = 0;  // all streams (under lock): progress for the stall check
  ~ProbeState() {
    for (GChecksum* c : sums) g_checksum_free(c);
  }
};

void Describe(GstCaps* caps, ProbedStream* s) {
  gchar* text = gst_caps_to_string(caps);
  s->caps = text ? text : "";
  g_free(text);
  const GstStructure* st = gst_caps_get_structure(caps, 0);
  const std::string name = gst_structure_get_name(st);
  int mpegversion = 0, rate = 0, channels = 0;
  if (name == "video/x-h264") {
    s->kind = ProbedStream::Kind::kVideo;
    s->usable = gst_structure_has_field(st, "codec_data");
  } else if (name == "audio/mpeg" && gst_structure_get_int(st, "mpegversion", &mpegversion) && mpegversion == 4) {
    s->kind = ProbedStream::Kind::kAudio;
    const GValue* cd = gst_structure_get_value(st, "codec_data");
    s->usable = cd && G_VALUE_HOLDS(cd, GST_TYPE_BUFFER);
    if (s->usable) {
      GstBuffer* b = gst_value_get_buffer(cd);
      s->fingerprint.config.resize(gst_buffer_get_size(b));
      gst_buffer_extract(b, 0, s->fingerprint.config.data(), s->fingerprint.config.size());
    }
    gst_structure_get_int(st, "rate", &rate);
    gst_structure_get_int(st, "channels", &channels);
    for (int v : {rate, channels})
      for (int k = 0; k < 4; k++) s->fingerprint.config.push_back(static_cast<uint8_t>(v >> (8 * k)));
  } else {
    s->kind = ProbedStream::Kind::kOther;
  }
}

GstPadProbeReturn OnBuffer(GstPad*, GstPadProbeInfo* info, gpointer data) {
  auto* ctx = static_cast<PadContext*>(data);
  GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
  std::lock_guard<std::mutex> lock(ctx->state->lock);
  ProbedStream& s = ctx->state->streams[ctx->index];
  s.samples++;
  ctx->state->buffers++;
  GstClockTime pts = GST_BUFFER_PTS(b), dur = GST_BUFFER_DURATION(b);
  if (GST_CLOCK_TIME_IS_VALID(pts)) s.end = std::max(s.end, pts + (GST_CLOCK_TIME_IS_VALID(dur) ? dur : 0));
  if (s.kind == ProbedStream::Kind::kAudio) {
    GChecksum* c = ctx->state->sums[ctx->index];
    const guint64 head[3] = {pts, dur, gst_buffer_get_size(b)};
    g_checksum_update(c, reinterpret_cast<const guchar*>(head), sizeof(head));
    GstMapInfo map;
    if (gst_buffer_map(b, &map, GST_MAP_READ)) {
      g_checksum_update(c, map.data, map.size);
      gst_buffer_unmap(b, &map);
    }
  }
  return GST_PAD_PROBE_OK;
}

void OnPadAdded(GstElement*, GstPad* pad, gpointer data) {
  auto* st = static_cast<ProbeState*>(data);
  ProbedStream s;
  gchar* name = gst_pad_get_name(pad);
  s.pad = name;
  g_free(name);
  GstCaps* caps = gst_pad_get_current_caps(pad);
  if (caps) {
    Describe(caps, &s);
    gst_caps_unref(caps);
  }
  PadContext* ctx;
  {
    std::lock_guard<std::mutex> lock(st->lock);
    st->streams.push_back(std::move(s));
    st->sums.push_back(g_checksum_new(G_CHECKSUM_SHA256));
    st->contexts.push_back(std::make_unique<PadContext>());
    ctx = st->contexts.back().get();
    ctx->state = st;
    ctx->index = st->streams.size() - 1;
  }
  gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_BUFFER, OnBuffer, ctx, nullptr);
  // Not async: qtdemux feeds every sink from one thread, so a sink that
  // waited for preroll would block the buffers the other sinks wait for.
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add(GST_BIN(st->pipeline), sink);
  gst_element_sync_state_with_parent(sink);
  GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
  gst_pad_link(pad, sinkpad);
  gst_object_unref(sinkpad);
}

}  // namespace

piff::Status ProbeInput(const std::string& path, GstClockTime stall_timeout, ProbedInput* out) {
  *out = ProbedInput();
  out->path = path;
  ProbeState st;
  st.pipeline = gst_pipeline_new("probe");
  GstElement* src = gst_element_factory_make("filesrc", nullptr);
  GstElement* demux = gst_element_factory_make("qtdemux", nullptr);
  if (!src || !demux) {
    if (src) gst_object_unref(src);
    if (demux) gst_object_unref(demux);
    gst_object_unref(st.pipeline);
    return piff::Status::Error("the GStreamer elements filesrc and qtdemux are needed (gstreamer1.0-plugins-good)");
  }
  g_object_set(src, "location", path.c_str(), nullptr);
  gst_bin_add_many(GST_BIN(st.pipeline), src, demux, nullptr);
  gst_element_link(src, demux);
  g_signal_connect(demux, "pad-added", G_CALLBACK(OnPadAdded), &st);

  piff::Status result = piff::Status::Ok();
  if (gst_element_set_state(st.pipeline, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    result = piff::Status::Error(path + ": cannot start reading it");
  GstBus* bus = gst_element_get_bus(st.pipeline);
  uint64_t seen = 0;
  GstClockTime idle = 0;
  while (result.ok()) {
    GstMessage* m = gst_bus_timed_pop_filtered(bus, GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    if (!m) {
      uint64_t now;
      {
        std::lock_guard<std::mutex> lock(st.lock);
        now = st.buffers;
      }
      idle = now == seen ? idle + GST_SECOND : 0;
      seen = now;
      if (idle >= stall_timeout) {
        result = piff::Status::Error(path + ": reading it stalled (no sample for " +
                                     std::to_string(stall_timeout / GST_SECOND) + " s)");
        break;
      }
      continue;
    }
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gst_message_parse_error(m, &e, nullptr);
      result = piff::Status::Error(path + ": " + (e ? e->message : "read error"));
      g_clear_error(&e);
    }
    gst_message_unref(m);
    break;
  }
  gst_object_unref(bus);
  gst_element_set_state(st.pipeline, GST_STATE_NULL);
  gst_object_unref(st.pipeline);
  if (!result.ok()) return result;
  for (size_t i = 0; i < st.streams.size(); i++) {
    st.streams[i].fingerprint.samples = st.streams[i].samples;
    if (st.streams[i].kind == ProbedStream::Kind::kAudio) st.streams[i].fingerprint.digest = g_checksum_get_string(st.sums[i]);
  }
  out->streams = std::move(st.streams);
  // qtdemux adds pads in track order, but threads may race: keep a stable order.
  std::stable_sort(out->streams.begin(), out->streams.end(),
                   [](const ProbedStream& a, const ProbedStream& b) { return a.pad < b.pad; });
  return piff::Status::Ok();
}
