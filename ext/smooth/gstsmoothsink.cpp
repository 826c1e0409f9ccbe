// smoothsink: cuts the input bytes into the header (everything before the
// first moof) and fragments (moof + mdat, with the reader of the PIFF core in
// relay mode), and hands them to one IngestTarget per publishing point
// (location, and backup-location when set). The targets do the HTTP; this
// file translates between GStreamer (properties, buffers, EOS, messages) and
// them.
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "gstsmoothsink.h"

#include <gst/base/gstadapter.h>

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "ingest_target.h"
#include "stream_reader.h"

GST_DEBUG_CATEGORY(smoothsink_debug);
#define GST_CAT_DEFAULT smoothsink_debug

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_BACKUP_LOCATION,
  PROP_PROBE,
  PROP_USER_ID,
  PROP_USER_PW,
  PROP_EXTRA_HEADERS,
  PROP_TLS_VERIFY,
  PROP_CA_FILE,
  PROP_CONNECT_TIMEOUT,
  PROP_SEND_TIMEOUT,
  PROP_IDLE_TIMEOUT,
  PROP_RETRY_DELAY,
  PROP_RETRY_DELAY_MAX,
  PROP_MAX_RETRIES,
  PROP_BACKLOG_BYTES,
  PROP_BACKLOG_TIME,
  PROP_EOS_TIMEOUT,
  PROP_ADD_MFRA,
  PROP_STATS,
};

namespace {

constexpr guint kDefaultConnectTimeout = 10000;
constexpr guint kDefaultRetryDelay = 500;
constexpr guint kDefaultRetryDelayMax = 8000;
constexpr guint64 kDefaultBacklogBytes = 64ull << 20;
constexpr guint kDefaultBacklogTime = 60000;
constexpr guint kDefaultEosTimeout = 30000;

// Everything the element holds besides GObject's fields.
struct SinkState {
  // Properties (object lock).
  std::string location, backup_location, user, password, ca_file;
  GstStructure* extra_headers = nullptr;
  bool probe = true, tls_verify = true, add_mfra = false;
  guint connect_timeout = kDefaultConnectTimeout, send_timeout = 0, retry_delay = kDefaultRetryDelay,
        retry_delay_max = kDefaultRetryDelayMax, backlog_time = kDefaultBacklogTime, eos_timeout = kDefaultEosTimeout;
  gint max_retries = -1;
  gint idle_timeout = -1;
  guint64 backlog_bytes = kDefaultBacklogBytes;

  // Streaming.
  GstAdapter* adapter = nullptr;
  std::unique_ptr<piff::StreamReader> reader;
  GstBuffer* header = nullptr;   // bytes before the first moof
  bool header_done = false;
  GBytes* sent_header = nullptr;  // the header the targets have
  guint64 header_changes = 0;
  GstBuffer* current = nullptr;  // the fragment being collected (moof ...)
  GstBuffer* between = nullptr;  // bytes after a fragment that belong to none (mfra, free)
  IngestFragmentIn meta;
  bool saw_mfra = false;
  guint64 fragments_in = 0;
  guint64 incomplete_dropped = 0;
  gint64 last_stats_us = 0;

  std::mutex targets_mu;
  std::vector<std::unique_ptr<IngestTarget>> targets;
  size_t failed_targets = 0;
};

SinkState* State(GstSmoothSink* self);

}  // namespace

struct _GstSmoothSink {
  GstBaseSink parent;
  SinkState* st;
};

namespace {

SinkState* State(GstSmoothSink* self) { return self->st; }

GstStaticPadTemplate sink_template =
    GST_STATIC_PAD_TEMPLATE("sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS("video/quicktime"));

// Appends `more` (taken) to `*to` (created when null); memory is shared.
void Append(GstBuffer** to, GstBuffer* more) {
  *to = *to ? gst_buffer_append(*to, more) : more;
}

GBytes* BytesOfBuffer(GstBuffer* buf) {
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READ)) return g_bytes_new(nullptr, 0);
  GBytes* b = g_bytes_new(map.data, map.size);  // the header and tail are small: one copy
  gst_buffer_unmap(buf, &map);
  return b;
}

// Splits a location into the URI to use (no user info), the text to log,
// and the credentials it carried. False with `error` for a bad one.
bool ParseLocation(const std::string& location, GUri** out, std::string* redacted, std::string* user,
                   std::string* password, std::string* error) {
  GError* err = nullptr;
  GUri* uri = g_uri_parse(location.c_str(), static_cast<GUriFlags>(G_URI_FLAGS_HAS_PASSWORD | G_URI_FLAGS_ENCODED),
                          &err);
  if (!uri) {
    *error = std::string("not a URL (") + err->message + ")";
    g_error_free(err);
    return false;
  }
  const char* scheme = g_uri_get_scheme(uri);
  if (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0) {
    *error = std::string("the scheme must be http or https, not ") + scheme;
    g_uri_unref(uri);
    return false;
  }
  if (g_uri_get_user(uri)) {
    gchar* u = g_uri_unescape_string(g_uri_get_user(uri), nullptr);
    *user = u ? u : "";
    g_free(u);
  }
  if (g_uri_get_password(uri)) {
    gchar* p = g_uri_unescape_string(g_uri_get_password(uri), nullptr);
    *password = p ? p : "";
    g_free(p);
  }
  GUri* clean = g_uri_build(G_URI_FLAGS_ENCODED, scheme, nullptr, g_uri_get_host(uri), g_uri_get_port(uri),
                            g_uri_get_path(uri), g_uri_get_query(uri), nullptr);
  g_uri_unref(uri);
  gchar* text = g_uri_to_string(clean);
  *redacted = text;
  g_free(text);
  *out = clean;
  return true;
}

bool LooksLikeIngestPath(const std::string& url) {
  gchar* lower = g_ascii_strdown(url.c_str(), -1);
  bool ok = strstr(lower, ".isml/streams(") != nullptr;
  g_free(lower);
  return ok;
}

void OnTargetFailed(GstSmoothSink* self, IngestTarget* t) {
  SinkState* st = State(self);
  guint status = 0;
  std::string why = t->failure(&status);
  size_t failed, total;
  {
    std::lock_guard<std::mutex> lock(st->targets_mu);
    failed = ++st->failed_targets;
    total = st->targets.size();
  }
  if (failed < total) {
    GST_ELEMENT_WARNING(self, RESOURCE, WRITE, ("The %s publishing point failed; the other one goes on", t->label().c_str()),
                        ("%s: %s", t->redacted_url().c_str(), why.c_str()));
    return;
  }
  if (status == 401 || status == 403)
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_AUTHORIZED, ("The publishing point refused the stream: %s", why.c_str()),
                      ("%s (%s): check user-id/user-pw or extra-headers", t->redacted_url().c_str(), t->label().c_str()));
  else if (status == 404)
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No publishing point at this location: %s", why.c_str()),
                      ("%s (%s): check the location (…/NAME.isml/Streams(ID))", t->redacted_url().c_str(),
                       t->label().c_str()));
  else
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("Could not push the stream to the publishing point: %s", why.c_str()),
                      ("%s (%s)", t->redacted_url().c_str(), t->label().c_str()));
}

bool MakeTarget(GstSmoothSink* self, const std::string& label, const std::string& location) {
  SinkState* st = State(self);
  IngestTargetConfig cfg;
  cfg.label = label;
  std::string url_user, url_password, error;
  GUri* uri = nullptr;
  if (!ParseLocation(location, &uri, &cfg.redacted_url, &url_user, &url_password, &error)) {
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid %s location", label == "primary" ? "" : "backup-"),
                      ("%s", error.c_str()));
    return false;
  }
  if (!LooksLikeIngestPath(cfg.redacted_url))
    GST_ELEMENT_WARNING(self, RESOURCE, SETTINGS, ("The %s location does not look like a publishing point", label.c_str()),
                        ("%s: expected http[s]://host/path/NAME.isml/Streams(ID)", cfg.redacted_url.c_str()));
  GST_OBJECT_LOCK(self);
  cfg.uri = uri;
  cfg.user = st->user.empty() ? url_user : st->user;
  cfg.password = st->password.empty() ? url_password : st->password;
  cfg.extra_headers = st->extra_headers;
  cfg.probe = st->probe;
  cfg.tls_verify = st->tls_verify;
  cfg.ca_file = st->ca_file;
  cfg.connect_timeout_ms = st->connect_timeout;
  cfg.send_timeout_ms = st->send_timeout;
  cfg.idle_timeout_ms = st->idle_timeout;
  cfg.retry_delay_ms = st->retry_delay;
  cfg.retry_delay_max_ms = st->retry_delay_max;
  cfg.max_retries = st->max_retries;
  cfg.backlog_bytes = st->backlog_bytes;
  cfg.backlog_time_ms = st->backlog_time;
  auto target = std::make_unique<IngestTarget>(GST_ELEMENT(self), cfg);
  GST_OBJECT_UNLOCK(self);
  g_uri_unref(uri);
  if (!cfg.tls_verify)
    GST_WARNING_OBJECT(self, "%s: TLS certificate verification is OFF (tls-verify=false): anyone on the path can "
                       "read and change the stream", label.c_str());
  target->SetFailureHandler([self](IngestTarget* t) { OnTargetFailed(self, t); });
  {
    std::lock_guard<std::mutex> lock(st->targets_mu);
    st->targets.push_back(std::move(target));
  }
  if (!st->targets.back()->Start(&error)) {
    GST_ELEMENT_ERROR(self, RESOURCE, FAILED, ("Could not start the upload thread"), ("%s", error.c_str()));
    return false;
  }
  GST_INFO_OBJECT(self, "%s publishing point %s", label.c_str(), cfg.redacted_url.c_str());
  return true;
}

GstStructure* MakeStats(GstSmoothSink* self) {
  SinkState* st = State(self);
  GstStructure* s = gst_structure_new_empty("smoothsink-stats");
  std::lock_guard<std::mutex> lock(st->targets_mu);
  gst_structure_set(s, "fragments-in", G_TYPE_UINT64, st->fragments_in, nullptr);
  for (size_t i = 0; i < st->targets.size(); i++) {
    if (i == 0) {
      st->targets[i]->FillStats(s);
    } else {
      GstStructure* b = gst_structure_new_empty("backup");
      st->targets[i]->FillStats(b);
      gst_structure_set(s, "backup", GST_TYPE_STRUCTURE, b, nullptr);
      gst_structure_free(b);
    }
  }
  return s;
}

void PostStats(GstSmoothSink* self) {
  gst_element_post_message(GST_ELEMENT(self), gst_message_new_element(GST_OBJECT(self), MakeStats(self)));
}

// Hands the fragment in `current` to every target.
void EmitFragment(GstSmoothSink* self) {
  SinkState* st = State(self);
  st->meta.buffer = st->current;
  st->fragments_in++;
  GST_INFO_OBJECT(self, "fragment %" G_GUINT64_FORMAT ": track %u, time %" G_GUINT64_FORMAT ", duration %" G_GUINT64_FORMAT
                  "%s, %" G_GSIZE_FORMAT " bytes", st->fragments_in - 1, st->meta.track_id, st->meta.time,
                  st->meta.duration, st->meta.keyframe ? ", sync" : "", gst_buffer_get_size(st->current));
  {
    std::lock_guard<std::mutex> lock(st->targets_mu);
    for (auto& t : st->targets) t->PushFragment(st->meta);
  }
  gst_buffer_unref(st->current);
  st->current = nullptr;
  st->meta = IngestFragmentIn();
  gint64 now = g_get_monotonic_time();
  if (now - st->last_stats_us >= G_USEC_PER_SEC) {
    st->last_stats_us = now;
    PostStats(self);
  }
}

void FinishHeader(GstSmoothSink* self) {
  SinkState* st = State(self);
  st->header_done = true;
  if (!st->header) return;
  GBytes* bytes = BytesOfBuffer(st->header);
  GST_INFO_OBJECT(self, "header: %" G_GSIZE_FORMAT " bytes", g_bytes_get_size(bytes));
  if (st->sent_header && g_bytes_equal(st->sent_header, bytes)) {
    // The input restarted with the same header: the POST goes on (the
    // publishing point ignores fragments it already has).
    GST_INFO_OBJECT(self, "the input repeated its header; the POST goes on");
    g_bytes_unref(bytes);
    return;
  }
  if (st->sent_header) {
    st->header_changes++;
    GST_ELEMENT_WARNING(self, STREAM, FORMAT,
                        ("The input's header (ftyp/moov) changed mid-stream; starting a new POST with the new header"),
                        ("header change %" G_GUINT64_FORMAT " after %" G_GUINT64_FORMAT " fragments; the publishing "
                         "point may refuse it (then an ERROR follows)", st->header_changes, st->fragments_in));
    g_bytes_unref(st->sent_header);
  }
  st->sent_header = g_bytes_ref(bytes);
  {
    std::lock_guard<std::mutex> lock(st->targets_mu);
    for (auto& t : st->targets) t->SetHeader(bytes);
  }
  g_bytes_unref(bytes);
}

void OnMoof(GstSmoothSink* self, GstBuffer* bytes) {
  SinkState* st = State(self);
  if (!st->header_done) FinishHeader(self);
  if (st->current) {  // a moof without its mdat: not a fragment the server can use
    st->incomplete_dropped++;
    GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("A moof without an mdat was not sent"),
                        ("%" G_GUINT64_FORMAT " such fragments so far", st->incomplete_dropped));
    gst_buffer_unref(st->current);
  }
  st->current = st->between;  // bytes between fragments go with the next one
  st->between = nullptr;
  Append(&st->current, bytes);
  const auto& frags = st->reader->fragments();
  st->meta = IngestFragmentIn();
  if (!frags.empty()) {
    // One traf per moof is the ingest layout; with several, the first names
    // it (time, duration) and the backlog files it under every track.
    st->meta.track_id = frags[0].track_id;
    for (size_t i = 1; i < frags.size(); i++)
      if (frags[i].track_id != frags[0].track_id) st->meta.other_tracks.push_back(frags[i].track_id);
    st->meta.time = frags[0].decode_time;
    st->meta.duration = frags[0].duration;
    st->meta.keyframe = !frags[0].samples.empty() && frags[0].samples[0].sync;
    const auto& moov = st->reader->moov();
    const piff::TrackBox* trak = moov ? moov->FindTrack(frags[0].track_id) : nullptr;
    st->meta.timescale = trak ? trak->mdia.mdhd.timescale : 0;
  }
}

// A header box after fragments: a restarted muxer. What its predecessor left
// between its last fragment and here (an mfra would end the point) is not
// sent; the new header collects until the next moof.
void RestartHeader(GstSmoothSink* self) {
  SinkState* st = State(self);
  if (st->between)
    GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("The input restarted; the bytes before its new header were not sent"),
                        ("%" G_GSIZE_FORMAT " bytes%s", gst_buffer_get_size(st->between),
                         st->saw_mfra ? " (with an mfra, which would end the stream)" : ""));
  gst_clear_buffer(&st->between);
  gst_clear_buffer(&st->header);
  st->header_done = st->saw_mfra = false;
}

// Walks the adapter's bytes as far as they go.
GstFlowReturn Process(GstSmoothSink* self) {
  SinkState* st = State(self);
  piff::StreamReader& r = *st->reader;
  for (;;) {
    gsize avail = gst_adapter_available(st->adapter);
    size_t want = r.Want(avail);
    const guint8* head = want ? static_cast<const guint8*>(gst_adapter_map(st->adapter, want)) : nullptr;
    piff::StreamStep step;
    piff::Status s = r.Next(head, want, avail, &step);
    if (head) gst_adapter_unmap(st->adapter);
    if (!s) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("%s", step.error_text.c_str()), ("%s", s.message().c_str()));
      return GST_FLOW_ERROR;
    }
    if (step.kind == piff::StreamStep::Kind::kNeedData) {
      if (step.again) continue;
      return GST_FLOW_OK;
    }
    GstBuffer* bytes = gst_adapter_take_buffer(st->adapter, static_cast<gsize>(step.size));
    bool unit = step.kind == piff::StreamStep::Kind::kUnit;
    bool header_box = unit && (step.unit == piff::StreamUnit::kFtyp || step.unit == piff::StreamUnit::kMoov ||
                               step.unit == piff::StreamUnit::kLiveManifest);
    if (header_box && st->header_done && !st->current) RestartHeader(self);
    if (unit && step.unit == piff::StreamUnit::kMoof) {
      OnMoof(self, bytes);
    } else if (unit && step.unit == piff::StreamUnit::kMdat && st->current) {
      Append(&st->current, bytes);
      EmitFragment(self);
    } else if (!st->header_done) {
      Append(&st->header, bytes);
    } else if (st->current) {
      Append(&st->current, bytes);  // a box inside a fragment (between moof and mdat)
    } else {
      if (unit && step.unit == piff::StreamUnit::kMfra) st->saw_mfra = true;
      Append(&st->between, bytes);
    }
  }
}

bool AllFailed(SinkState* st) {
  std::lock_guard<std::mutex> lock(st->targets_mu);
  return !st->targets.empty() && st->failed_targets == st->targets.size();
}

// End of stream: ends every POST and waits (bounded) for the answers.
bool HandleEos(GstSmoothSink* self) {
  SinkState* st = State(self);
  gsize left = gst_adapter_available(st->adapter);
  piff::StreamEnd end = st->reader->Finish(left);
  if (end.truncated || left) {
    GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("The input ended inside a box; its %" G_GSIZE_FORMAT " bytes were not sent", left),
                        ("box at offset %" G_GUINT64_FORMAT, end.box_offset));
    gst_adapter_clear(st->adapter);
  }
  if (st->current) {
    GST_ELEMENT_WARNING(self, STREAM, FORMAT, ("The input ended after a moof without its mdat; that fragment was not sent"),
                        (nullptr));
    gst_clear_buffer(&st->current);
  }
  if (!st->header_done) {
    if (!st->header) {
      GST_ELEMENT_ERROR(self, STREAM, FORMAT, ("No input: nothing to push"), (nullptr));
      return false;
    }
    if (!st->reader->moov()) {
      GST_ELEMENT_ERROR(self, STREAM, WRONG_TYPE, ("The input is not a fragmented MP4 / ISML stream: no moov box"),
                        ("%" G_GUINT64_FORMAT " bytes read", end.end_offset));
      return false;
    }
    FinishHeader(self);
  }
  if (!st->saw_mfra && st->add_mfra) {
    static const guint8 kEmptyMfra[8] = {0, 0, 0, 8, 'm', 'f', 'r', 'a'};
    Append(&st->between, gst_buffer_new_memdup(kEmptyMfra, sizeof(kEmptyMfra)));
  }
  GBytes* tail = st->between ? BytesOfBuffer(st->between) : nullptr;
  gst_clear_buffer(&st->between);
  std::vector<IngestTarget*> targets;
  {
    std::lock_guard<std::mutex> lock(st->targets_mu);
    for (auto& t : st->targets) targets.push_back(t.get());
  }
  for (IngestTarget* t : targets) t->Finish(tail);
  if (tail) g_bytes_unref(tail);
  gint64 deadline = g_get_monotonic_time() + static_cast<gint64>(st->eos_timeout) * 1000;
  size_t done = 0, failed = 0;
  for (IngestTarget* t : targets) {
    gint64 left_us = MAX(0, deadline - g_get_monotonic_time());
    IngestTarget::Outcome o = t->Wait(static_cast<guint64>(left_us / 1000));
    if (o == IngestTarget::Outcome::kDone) done++;
    else if (o == IngestTarget::Outcome::kFailed) failed++;
    else if (o == IngestTarget::Outcome::kRunning)
      GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
                          ("The %s publishing point did not take the end of the stream within eos-timeout (%u ms)",
                           t->label().c_str(), st->eos_timeout),
                          ("%s", t->redacted_url().c_str()));
    if (t->dropped())
      GST_ELEMENT_WARNING(self, RESOURCE, WRITE,
                          ("%" G_GUINT64_FORMAT " fragments were dropped for the %s publishing point in total",
                           t->dropped(), t->label().c_str()),
                          ("dropped (track:time): %s", t->DroppedSummary().c_str()));
  }
  PostStats(self);
  // When every target failed, their failure handler posts the ERROR.
  if (done == 0 && failed < targets.size()) {
    GST_ELEMENT_ERROR(self, RESOURCE, WRITE, ("The stream could not be completed on any publishing point"),
                      ("no final answer within eos-timeout (%u ms)", st->eos_timeout));
    return false;
  }
  return done > 0;
}

void ClearStream(SinkState* st) {
  gst_clear_buffer(&st->header);
  if (st->sent_header) g_bytes_unref(st->sent_header);
  st->sent_header = nullptr;
  st->header_changes = 0;
  gst_clear_buffer(&st->current);
  gst_clear_buffer(&st->between);
  st->header_done = st->saw_mfra = false;
  st->fragments_in = st->incomplete_dropped = 0;
  if (st->adapter) gst_adapter_clear(st->adapter);
}

}  // namespace

G_DEFINE_TYPE_WITH_CODE(GstSmoothSink, gst_smooth_sink, GST_TYPE_BASE_SINK,
                        GST_DEBUG_CATEGORY_INIT(smoothsink_debug, "smoothsink", 0,
                                                "Smooth Streaming live ingest (HTTP POST)"))
GST_ELEMENT_REGISTER_DEFINE(smoothsink, "smoothsink", GST_RANK_NONE, GST_TYPE_SMOOTH_SINK)

static gboolean gst_smooth_sink_start(GstBaseSink* sink) {
  GstSmoothSink* self = GST_SMOOTH_SINK(sink);
  SinkState* st = State(self);
  ClearStream(st);
  st->reader = std::make_unique<piff::StreamReader>(piff::StreamLimits(), piff::StreamMode::kRelay);
  std::string location, backup;
  GST_OBJECT_LOCK(self);
  location = st->location;
  backup = st->backup_location;
  GST_OBJECT_UNLOCK(self);
  if (location.empty()) {
    GST_ELEMENT_ERROR(self, RESOURCE, NOT_FOUND, ("No location set"),
                      ("set location=http[s]://host/path/NAME.isml/Streams(ID)"));
    return FALSE;
  }
  st->failed_targets = 0;
  if (!MakeTarget(self, "primary", location)) return FALSE;
  if (!backup.empty() && !MakeTarget(self, "backup", backup)) return FALSE;
  return TRUE;
}

static gboolean gst_smooth_sink_stop(GstBaseSink* sink) {
  SinkState* st = State(GST_SMOOTH_SINK(sink));
  std::vector<std::unique_ptr<IngestTarget>> gone;
  {
    std::lock_guard<std::mutex> lock(st->targets_mu);
    gone.swap(st->targets);
  }
  gone.clear();  // joins the threads
  ClearStream(st);
  return TRUE;
}

static gboolean gst_smooth_sink_unlock(GstBaseSink* sink) {
  SinkState* st = State(GST_SMOOTH_SINK(sink));
  std::lock_guard<std::mutex> lock(st->targets_mu);
  for (auto& t : st->targets) t->Cancel(true);
  return TRUE;
}

static gboolean gst_smooth_sink_unlock_stop(GstBaseSink* sink) {
  SinkState* st = State(GST_SMOOTH_SINK(sink));
  std::lock_guard<std::mutex> lock(st->targets_mu);
  for (auto& t : st->targets) t->Cancel(false);
  return TRUE;
}

static GstFlowReturn gst_smooth_sink_render(GstBaseSink* sink, GstBuffer* buf) {
  GstSmoothSink* self = GST_SMOOTH_SINK(sink);
  SinkState* st = State(self);
  if (AllFailed(st)) return GST_FLOW_ERROR;
  gst_adapter_push(st->adapter, gst_buffer_ref(buf));
  return Process(self);
}

static gboolean gst_smooth_sink_event(GstBaseSink* sink, GstEvent* event) {
  GstSmoothSink* self = GST_SMOOTH_SINK(sink);
  if (GST_EVENT_TYPE(event) == GST_EVENT_EOS && !HandleEos(self)) {
    gst_event_unref(event);
    return FALSE;
  }
  return GST_BASE_SINK_CLASS(gst_smooth_sink_parent_class)->event(sink, event);
}

static void gst_smooth_sink_set_property(GObject* object, guint id, const GValue* value, GParamSpec* pspec) {
  GstSmoothSink* self = GST_SMOOTH_SINK(object);
  SinkState* st = State(self);
  auto str = [value]() { return std::string(g_value_get_string(value) ? g_value_get_string(value) : ""); };
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_LOCATION: st->location = str(); break;
    case PROP_BACKUP_LOCATION: st->backup_location = str(); break;
    case PROP_PROBE: st->probe = g_value_get_boolean(value); break;
    case PROP_USER_ID: st->user = str(); break;
    case PROP_USER_PW: st->password = str(); break;
    case PROP_EXTRA_HEADERS:
      if (st->extra_headers) gst_structure_free(st->extra_headers);
      st->extra_headers = g_value_get_boxed(value) ? gst_structure_copy(gst_value_get_structure(value)) : nullptr;
      break;
    case PROP_TLS_VERIFY: st->tls_verify = g_value_get_boolean(value); break;
    case PROP_CA_FILE: st->ca_file = str(); break;
    case PROP_CONNECT_TIMEOUT: st->connect_timeout = g_value_get_uint(value); break;
    case PROP_SEND_TIMEOUT: st->send_timeout = g_value_get_uint(value); break;
    case PROP_IDLE_TIMEOUT: st->idle_timeout = g_value_get_int(value); break;
    case PROP_RETRY_DELAY: st->retry_delay = g_value_get_uint(value); break;
    case PROP_RETRY_DELAY_MAX: st->retry_delay_max = g_value_get_uint(value); break;
    case PROP_MAX_RETRIES: st->max_retries = g_value_get_int(value); break;
    case PROP_BACKLOG_BYTES: st->backlog_bytes = g_value_get_uint64(value); break;
    case PROP_BACKLOG_TIME: st->backlog_time = g_value_get_uint(value); break;
    case PROP_EOS_TIMEOUT: st->eos_timeout = g_value_get_uint(value); break;
    case PROP_ADD_MFRA: st->add_mfra = g_value_get_boolean(value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_smooth_sink_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec) {
  GstSmoothSink* self = GST_SMOOTH_SINK(object);
  SinkState* st = State(self);
  if (id == PROP_STATS) {
    GstStructure* s = MakeStats(self);
    gst_value_set_structure(value, s);
    gst_structure_free(s);
    return;
  }
  GST_OBJECT_LOCK(self);
  switch (id) {
    case PROP_LOCATION: g_value_set_string(value, st->location.empty() ? nullptr : st->location.c_str()); break;
    case PROP_BACKUP_LOCATION:
      g_value_set_string(value, st->backup_location.empty() ? nullptr : st->backup_location.c_str());
      break;
    case PROP_PROBE: g_value_set_boolean(value, st->probe); break;
    case PROP_USER_ID: g_value_set_string(value, st->user.empty() ? nullptr : st->user.c_str()); break;
    case PROP_TLS_VERIFY: g_value_set_boolean(value, st->tls_verify); break;
    case PROP_CA_FILE: g_value_set_string(value, st->ca_file.empty() ? nullptr : st->ca_file.c_str()); break;
    case PROP_CONNECT_TIMEOUT: g_value_set_uint(value, st->connect_timeout); break;
    case PROP_SEND_TIMEOUT: g_value_set_uint(value, st->send_timeout); break;
    case PROP_IDLE_TIMEOUT: g_value_set_int(value, st->idle_timeout); break;
    case PROP_RETRY_DELAY: g_value_set_uint(value, st->retry_delay); break;
    case PROP_RETRY_DELAY_MAX: g_value_set_uint(value, st->retry_delay_max); break;
    case PROP_MAX_RETRIES: g_value_set_int(value, st->max_retries); break;
    case PROP_BACKLOG_BYTES: g_value_set_uint64(value, st->backlog_bytes); break;
    case PROP_BACKLOG_TIME: g_value_set_uint(value, st->backlog_time); break;
    case PROP_EOS_TIMEOUT: g_value_set_uint(value, st->eos_timeout); break;
    case PROP_ADD_MFRA: g_value_set_boolean(value, st->add_mfra); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec); break;
  }
  GST_OBJECT_UNLOCK(self);
}

static void gst_smooth_sink_finalize(GObject* object) {
  GstSmoothSink* self = GST_SMOOTH_SINK(object);
  SinkState* st = State(self);
  ClearStream(st);
  if (st->adapter) g_object_unref(st->adapter);
  if (st->extra_headers) gst_structure_free(st->extra_headers);
  delete st;
  G_OBJECT_CLASS(gst_smooth_sink_parent_class)->finalize(object);
}

static void gst_smooth_sink_init(GstSmoothSink* self) {
  self->st = new SinkState;
  self->st->adapter = gst_adapter_new();
  // Ingest sends fragments as soon as they exist; the input sets the pace.
  gst_base_sink_set_sync(GST_BASE_SINK(self), FALSE);
}

static void gst_smooth_sink_class_init(GstSmoothSinkClass* klass) {
  GObjectClass* gobject = G_OBJECT_CLASS(klass);
  GstElementClass* element = GST_ELEMENT_CLASS(klass);
  GstBaseSinkClass* base = GST_BASE_SINK_CLASS(klass);
  gobject->set_property = gst_smooth_sink_set_property;
  gobject->get_property = gst_smooth_sink_get_property;
  gobject->finalize = gst_smooth_sink_finalize;
  const auto rw = static_cast<GParamFlags>(G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const auto wo = static_cast<GParamFlags>(G_PARAM_WRITABLE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  g_object_class_install_property(
      gobject, PROP_LOCATION,
      g_param_spec_string("location", "Location",
                          "Publishing point stream URL, http[s]://host/path/NAME.isml/Streams(ID); user:password@ in "
                          "it is used for basic auth and never logged (default: none, required)",
                          nullptr, rw));
  g_object_class_install_property(
      gobject, PROP_BACKUP_LOCATION,
      g_param_spec_string("backup-location", "Backup location",
                          "Second publishing point that gets the same stream at the same time, with its own "
                          "connection, backlog and stats; either may fail alone (default: none)",
                          nullptr, rw));
  g_object_class_install_property(
      gobject, PROP_PROBE,
      g_param_spec_boolean("probe", "Probe",
                           "Send an empty POST (Content-Length: 0) before each long POST, so that a 4xx "
                           "(bad URL or credentials) is seen at once (default: true)",
                           TRUE, rw));
  g_object_class_install_property(
      gobject, PROP_USER_ID,
      g_param_spec_string("user-id", "User ID", "User name for HTTP basic authentication (default: none)", nullptr, rw));
  g_object_class_install_property(
      gobject, PROP_USER_PW,
      g_param_spec_string("user-pw", "User password",
                          "Password for HTTP basic authentication; write-only, never logged (default: none)", nullptr,
                          wo));
  g_object_class_install_property(
      gobject, PROP_EXTRA_HEADERS,
      g_param_spec_boxed("extra-headers", "Extra headers",
                         "Request headers added to every POST, one field per header, e.g. "
                         "\"headers,Authorization=\\\"Bearer TOKEN\\\"\"; write-only, never logged (default: none)",
                         GST_TYPE_STRUCTURE, wo));
  g_object_class_install_property(
      gobject, PROP_TLS_VERIFY,
      g_param_spec_boolean("tls-verify", "TLS verify",
                           "Verify the server certificate for https; false accepts any certificate and logs a "
                           "warning (default: true)",
                           TRUE, rw));
  g_object_class_install_property(
      gobject, PROP_CA_FILE,
      g_param_spec_string("ca-file", "CA file",
                          "PEM file of the certificate authorities to trust for https instead of the system's "
                          "(default: none, the system store)",
                          nullptr, rw));
  g_object_class_install_property(
      gobject, PROP_CONNECT_TIMEOUT,
      g_param_spec_uint("connect-timeout", "Connect timeout",
                        "Milliseconds to connect (and for the probe to be answered) before retrying (default: 10000)",
                        100, G_MAXUINT, kDefaultConnectTimeout, rw));
  g_object_class_install_property(
      gobject, PROP_SEND_TIMEOUT,
      g_param_spec_uint("send-timeout", "Send timeout",
                        "Milliseconds without progress (bytes written or acknowledged) while data is waiting before "
                        "the connection is dropped and remade; 0 = 1.5 times the longest fragment duration, at "
                        "least 1000 (default: 0)",
                        0, G_MAXUINT, 0, rw));
  g_object_class_install_property(
      gobject, PROP_IDLE_TIMEOUT,
      g_param_spec_int("idle-timeout", "Idle timeout",
                       "Milliseconds without a new input fragment after which the POST is ended cleanly; the next "
                       "fragment starts a new POST (header, then the last two fragments per track); -1 = 3 times "
                       "the longest fragment duration, 0 = never (default: -1)",
                       -1, G_MAXINT, -1, rw));
  g_object_class_install_property(
      gobject, PROP_RETRY_DELAY,
      g_param_spec_uint("retry-delay", "Retry delay",
                        "Milliseconds before the first reconnect; doubles per failure, with jitter (default: 500)", 1,
                        G_MAXUINT, kDefaultRetryDelay, rw));
  g_object_class_install_property(
      gobject, PROP_RETRY_DELAY_MAX,
      g_param_spec_uint("retry-delay-max", "Maximum retry delay",
                        "Milliseconds the reconnect delay grows to at most (default: 8000)", 1, G_MAXUINT,
                        kDefaultRetryDelayMax, rw));
  g_object_class_install_property(
      gobject, PROP_MAX_RETRIES,
      g_param_spec_int("max-retries", "Maximum retries",
                       "Reconnect attempts in a row before giving up with an error; -1 = retry forever (default: -1)",
                       -1, G_MAXINT, -1, rw));
  g_object_class_install_property(
      gobject, PROP_BACKLOG_BYTES,
      g_param_spec_uint64("backlog-bytes", "Backlog bytes",
                          "Bytes of fragments kept while not known delivered (per publishing point); above it the "
                          "oldest unsent ones are dropped with a warning (default: 67108864)",
                          1, G_MAXUINT64, kDefaultBacklogBytes, rw));
  g_object_class_install_property(
      gobject, PROP_BACKLOG_TIME,
      g_param_spec_uint("backlog-time", "Backlog time",
                        "Milliseconds of media per track kept while not known delivered (per publishing point); "
                        "above it the oldest unsent fragments are dropped with a warning (default: 60000)",
                        1, G_MAXUINT, kDefaultBacklogTime, rw));
  g_object_class_install_property(
      gobject, PROP_EOS_TIMEOUT,
      g_param_spec_uint("eos-timeout", "EOS timeout",
                        "Milliseconds EOS waits for the backlog to drain, the end of the chunked body and the "
                        "server's final answer (default: 30000)",
                        0, G_MAXUINT, kDefaultEosTimeout, rw));
  g_object_class_install_property(
      gobject, PROP_ADD_MFRA,
      g_param_spec_boolean("add-mfra", "Add mfra",
                           "At EOS, end the body with an empty 8-byte mfra box when the input has none (the MS-SSTR "
                           "end of stream; Azure ignores it) (default: false)",
                           FALSE, rw));
  g_object_class_install_property(
      gobject, PROP_STATS,
      g_param_spec_boxed("stats", "Statistics",
                         "smoothsink-stats: bytes-sent, fragments-sent, fragments-resent, fragments-dropped, "
                         "reconnects, backlog-fragments, backlog-bytes, last-error, last-fragment-rtt-ms (kernel "
                         "ack time, -1 unknown), state, url; the backup's in a 'backup' field",
                         GST_TYPE_STRUCTURE, static_cast<GParamFlags>(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  gst_element_class_add_static_pad_template(element, &sink_template);
  gst_element_class_set_static_metadata(
      element, "Smooth Streaming live ingest sink", "Sink/Network",
      "Pushes a live Smooth Streaming (ISML fragmented MP4) stream to a publishing point by HTTP POST, with "
      "reconnect, resend and a bounded backlog",
      "gst-smooth developers");
  base->start = gst_smooth_sink_start;
  base->stop = gst_smooth_sink_stop;
  base->unlock = gst_smooth_sink_unlock;
  base->unlock_stop = gst_smooth_sink_unlock_stop;
  base->render = gst_smooth_sink_render;
  base->event = gst_smooth_sink_event;
}
