// The development origin's ingest POSTs (an encoder's NAME.isml/Streams(id),
// [MS-SSTR] 2.2.7): refused before the body when ingest is off, the URL is
// not a live point, or the credentials are wrong; else the body is fed,
// chunk by chunk as libsoup reads it, to the core's IngestParser, and its
// header and fragments to the point's LivePoint. The final response goes
// when the body ends (200, or 400 for a body that ends inside a box); a bad
// body, a header the point refuses, or a POST that completes no fragment
// within --ingest-timeout is answered at once (400, 409, 408) and its
// connection closed, since libsoup would otherwise read an endless body to
// its end before any response.
#include <algorithm>
#include <cstdio>
#include <cstring>

#include "origin_live.h"

namespace gst_smooth {

// One ingest POST in progress. Owned by its message (object data); this
// loop's thread only.
struct IngestSession {
  Loop* loop = nullptr;
  SoupServerMessage* msg = nullptr;  // not a ref: the message owns us
  std::shared_ptr<LiveSlot> slot;
  std::string label;  // "dir/NAME.isml Streams(ID) from ADDR", for the log
  std::string stream_id;
  piff::IngestParser parser;
  bool opened = false;         // OpenStream accepted the header
  bool end_of_stream = false;  // the body sent its mfra
  bool ended = false;          // End ran: the point has been told
  bool failed = false;         // answered early, connection being closed
  uint64_t bytes = 0, fragments = 0, duplicates = 0, out_of_order = 0, discarded = 0;
  int64_t progress_us = 0;  // the POST began, or its last fragment completed

  explicit IngestSession(const piff::StreamLimits& limits) : parser(limits) {}
  ~IngestSession() { End(0, "connection gone"); }
  // Tells the point the stream is over (once) and writes the end line.
  void End(unsigned status, const std::string& why);
  // Applies one parser event; false when the point refused it (failed).
  bool Apply(piff::IngestParser::Event& e);
  // Answers `status` now and closes the connection.
  void Fail(unsigned status, const std::string& why);
};

namespace {

GQuark IngestQuark() {
  static const GQuark q = g_quark_from_static_string("gst-smooth-ingest");
  return q;
}

IngestSession* SessionOf(SoupServerMessage* msg) {
  return static_cast<IngestSession*>(g_object_get_qdata(G_OBJECT(msg), IngestQuark()));
}

// Sizes an encoder's boxes may have: what a fragment of a few seconds at a
// high bitrate needs, and the memory one POST may hold at most.
piff::StreamLimits IngestLimits() {
  piff::StreamLimits l;
  l.moov = 4u << 20;
  l.live_manifest = 1u << 20;
  l.moof = 4u << 20;
  l.mdat = 32u << 20;
  l.mfra = 1u << 20;
  return l;
}

// Equal without an early exit: the time taken says nothing about how much
// of a secret a guess got right.
bool SameSecret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() != b.size();
  for (size_t i = 0; i < a.size(); i++) diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  return diff == 0;
}

// Whether the request carries the credentials serve was given (none asked:
// yes). The header's value is never logged.
bool Authorized(const OriginOptions& o, SoupServerMessage* msg) {
  if (o.ingest_token.empty() && o.ingest_user.empty()) return true;
  const char* auth = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Authorization");
  if (!auth) return false;
  if (!o.ingest_token.empty() && g_ascii_strncasecmp(auth, "Bearer ", 7) == 0) {
    const char* v = auth + 7;
    while (*v == ' ') v++;
    return SameSecret(v, o.ingest_token);
  }
  if (!o.ingest_user.empty() && g_ascii_strncasecmp(auth, "Basic ", 6) == 0) {
    const char* v = auth + 6;
    while (*v == ' ') v++;
    gsize n = 0;
    GCharPtr decoded(reinterpret_cast<gchar*>(g_base64_decode(v, &n)));
    return decoded && SameSecret(std::string(decoded.get(), n), o.ingest_user);
  }
  return false;
}

}  // namespace

LingeringClose::LingeringClose(GObjectPtr<GIOStream> s, GMainContext* context)
    : stream(std::move(s)), deadline_us(NowUs() + kMaxUs) {
  GInputStream* in = g_io_stream_get_input_stream(stream.get());
  if (!G_IS_POLLABLE_INPUT_STREAM(in) || !g_pollable_input_stream_can_poll(G_POLLABLE_INPUT_STREAM(in))) {
    done = true;
    return;
  }
  read_source = g_pollable_input_stream_create_source(G_POLLABLE_INPUT_STREAM(in), nullptr);
  GPollableSourceFunc on_read = [](GObject*, gpointer self) -> gboolean {
    return static_cast<LingeringClose*>(self)->Read();
  };
  g_source_set_callback(read_source, G_SOURCE_FUNC(on_read), this, nullptr);
  g_source_attach(read_source, context);
}

LingeringClose::~LingeringClose() {
  if (read_source) {
    g_source_destroy(read_source);
    g_source_unref(read_source);
  }
  g_io_stream_close(stream.get(), nullptr, nullptr);
}

gboolean LingeringClose::Read() {
  GInputStream* in = g_io_stream_get_input_stream(stream.get());
  char buf[16384];
  for (;;) {
    GError* raw = nullptr;
    gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(in), buf, sizeof buf, nullptr, &raw);
    ErrorPtr err(raw);
    if (n < 0 && g_error_matches(err.get(), G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) return G_SOURCE_CONTINUE;
    if (n <= 0 || (dropped += static_cast<uint64_t>(n)) > kMaxBytes) break;
  }
  done = true;  // the client finished (or sent too much): the sweep closes
  return G_SOURCE_REMOVE;
}

namespace {

// An early answer (the body is not read to its end): written by hand on the
// connection taken from libsoup, which writes a response only after the
// whole request body, however long.
struct EarlyAnswer {
  Loop* loop = nullptr;
  SoupServerMessage* msg = nullptr;  // a ref
  unsigned status = 0;
  std::string text;
  std::vector<std::pair<std::string, std::string>> headers;
  ~EarlyAnswer() {
    if (msg) g_object_unref(msg);
  }
};

gboolean SendEarlyAnswer(gpointer data) {
  auto* a = static_cast<EarlyAnswer*>(data);
  Transfer* t = TransferOf(a->msg);
  if (!t || t->finished) return G_SOURCE_REMOVE;  // the client went away meanwhile
  std::string body = std::to_string(a->status) + " " + soup_status_get_phrase(a->status) + ": " + a->text + "\n";
  std::string head = "HTTP/1.1 " + std::to_string(a->status) + " " + soup_status_get_phrase(a->status) +
                     "\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nCache-Control: no-store\r\nConnection: close\r\n";
  // The CORS headers the early handler set (a page then sees the status).
  SoupMessageHeadersIter it;
  soup_message_headers_iter_init(&it, soup_server_message_get_response_headers(a->msg));
  const char *name, *value;
  while (soup_message_headers_iter_next(&it, &name, &value))
    if (g_ascii_strncasecmp(name, "Access-Control-", 15) == 0) head += std::string(name) + ": " + value + "\r\n";
  for (const auto& kv : a->headers) head += kv.first + ": " + kv.second + "\r\n";
  std::string all = head + "\r\n" + body;
  soup_server_message_set_status(a->msg, a->status, nullptr);
  t->log.status = a->status;
  t->log.bytes = body.size();
  t->log.counting = true;  // written here, not by libsoup
  a->loop->origin->Log(a->msg, false);
  t->finished = true;
  if (t->conn) {
    t->conn->busy = false;
    t->conn->idle_since_us = NowUs();
  }
  GObjectPtr<GIOStream> conn(soup_server_message_steal_connection(a->msg));
  if (!conn) return G_SOURCE_REMOVE;
  // A few hundred bytes on a connection that has sent nothing yet: they fit
  // in the socket buffer; what does not is dropped with the connection.
  GOutputStream* out = g_io_stream_get_output_stream(conn.get());
  if (G_IS_POLLABLE_OUTPUT_STREAM(out))
    g_pollable_output_stream_write_nonblocking(G_POLLABLE_OUTPUT_STREAM(out), all.data(), all.size(), nullptr,
                                               nullptr);
  if (t->conn) g_socket_shutdown(t->conn->socket.get(), FALSE, TRUE, nullptr);
  a->loop->lingering.push_back(std::make_unique<LingeringClose>(std::move(conn), a->loop->context));
  return G_SOURCE_REMOVE;
}

// Answers now and closes: from inside libsoup's callbacks, so the message
// is paused there and the connection taken from an idle of the loop.
void AnswerEarly(Loop* loop, SoupServerMessage* msg, unsigned status, const std::string& text,
                 std::vector<std::pair<std::string, std::string>> headers = {}) {
  if (Transfer* t = TransferOf(msg)) t->log.status = status;
  soup_server_message_pause(msg);
  auto a = std::make_unique<EarlyAnswer>();
  a->loop = loop;
  a->msg = static_cast<SoupServerMessage*>(g_object_ref(msg));
  a->status = status;
  a->text = text;
  a->headers = std::move(headers);
  GSource* idle = g_idle_source_new();
  g_source_set_callback(idle, SendEarlyAnswer, a.release(), Delete<EarlyAnswer>);
  g_source_attach(idle, loop->context);
  g_source_unref(idle);
}

// Whether the request announces a body (chunked, or a non-zero length).
bool HasBody(SoupServerMessage* msg) {
  SoupMessageHeaders* h = soup_server_message_get_request_headers(msg);
  SoupEncoding e = soup_message_headers_get_encoding(h);
  if (e == SOUP_ENCODING_NONE) return false;
  return e != SOUP_ENCODING_CONTENT_LENGTH || soup_message_headers_get_content_length(h) > 0;
}

// A POST refused before its body: one log line; an answer at once when a
// body follows (it is never read), else the ordinary way.
void Refuse(Loop* loop, SoupServerMessage* msg, const char* path, unsigned status, const std::string& why,
            std::vector<std::pair<std::string, std::string>> headers = {}) {
  loop->origin->counters.ingest_refused++;
  LogLine("ingest refused: " + std::string(path ? path : "-").substr(0, 256) + ": " + std::to_string(status) + " " +
          why);
  if (HasBody(msg)) {
    AnswerEarly(loop, msg, status, why, std::move(headers));
    return;
  }
  RespondError(msg, status, why);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  for (const auto& kv : headers) soup_message_headers_append(h, kv.first.c_str(), kv.second.c_str());
}

void OnGotChunk(SoupServerMessage* msg, GBytes* chunk, gpointer) {
  IngestSession* s = SessionOf(msg);
  if (!s) return;
  gsize n = 0;
  const auto* p = static_cast<const uint8_t*>(g_bytes_get_data(chunk, &n));
  if (s->failed || s->ended) {
    s->discarded += n;  // after an early answer: counted, then the connection goes
    return;
  }
  s->bytes += n;
  s->loop->origin->counters.ingest_bytes += n;
  std::vector<piff::IngestParser::Event> events;
  piff::Status st = s->parser.Push(p, n, &events);
  for (auto& e : events)
    if (!s->Apply(e)) return;
  if (!st) {
    s->loop->origin->counters.ingest_failed++;
    s->Fail(SOUP_STATUS_BAD_REQUEST, "bad ingest body at byte " + std::to_string(s->parser.offset()) + ": " +
                                         st.message());
  }
}

}  // namespace

bool IngestSession::Apply(piff::IngestParser::Event& e) {
  using Kind = piff::IngestParser::Event::Kind;
  Counters& c = loop->origin->counters;
  switch (e.kind) {
    case Kind::kHeader: {
      piff::Status st;
      {
        std::lock_guard<std::mutex> lock(slot->mutex);
        st = slot->point->OpenStream(stream_id, e.header, NowMs());
      }
      if (!st) {
        c.ingest_failed++;
        Fail(SOUP_STATUS_CONFLICT, "header refused by the publishing point: " + st.message());
        return false;
      }
      opened = true;
      return true;
    }
    case Kind::kFragment: {
      piff::FragmentFate fate;
      {
        std::lock_guard<std::mutex> lock(slot->mutex);
        fate = slot->point->AddFragment(stream_id, std::move(e.fragment), NowMs());
      }
      progress_us = NowUs();
      switch (fate) {
        case piff::FragmentFate::kAdded: fragments++, c.ingest_fragments++; break;
        case piff::FragmentFate::kDuplicate: duplicates++, c.ingest_duplicates++; break;
        case piff::FragmentFate::kOutOfOrder: out_of_order++, c.ingest_out_of_order++; break;
        case piff::FragmentFate::kRejected:
          c.ingest_failed++;
          Fail(SOUP_STATUS_CONFLICT, "fragment refused by the publishing point (stopped, or a track it does not have)");
          return false;
      }
      return true;
    }
    case Kind::kEnd:
      end_of_stream = true;
      return true;
  }
  return true;
}

void IngestSession::End(unsigned status, const std::string& why) {
  if (ended) return;
  ended = true;
  auto& list = loop->ingests;
  list.erase(std::remove(list.begin(), list.end(), this), list.end());
  if (opened) {
    std::lock_guard<std::mutex> lock(slot->mutex);
    slot->point->CloseStream(stream_id, end_of_stream, NowMs());
  }
  char counts[256];
  g_snprintf(counts, sizeof counts,
             "%" G_GUINT64_FORMAT " bytes, %" G_GUINT64_FORMAT " fragments, %" G_GUINT64_FORMAT
             " duplicates, %" G_GUINT64_FORMAT " out of order, %" G_GUINT64_FORMAT " bytes of other boxes dropped%s",
             static_cast<guint64>(bytes), static_cast<guint64>(fragments), static_cast<guint64>(duplicates),
             static_cast<guint64>(out_of_order), static_cast<guint64>(parser.skipped_bytes()),
             end_of_stream ? ", end of stream (mfra)" : "");
  LogLine("ingest end " + label + ": " + (status ? std::to_string(status) : std::string("closed")) +
          (why.empty() ? "" : " " + why) + ", " + counts);
}

void IngestSession::Fail(unsigned status, const std::string& why) {
  failed = true;
  End(status, why);
  AnswerEarly(loop, msg, status, why);
}

bool StartIngest(Loop* loop, SoupServerMessage* msg, const char* path) {
  Origin::Impl* o = loop->origin;
  OriginRequest req;
  std::string why;
  if (unsigned status = ParseRequestPath(path ? path : "", &req, &why)) {
    Refuse(loop, msg, path, status, why);
    return true;
  }
  if (req.kind != OriginRequest::Kind::kIngest) {
    Refuse(loop, msg, path, SOUP_STATUS_METHOD_NOT_ALLOWED,
           "POST is for an encoder's ingest: NAME.isml/Streams(id)", {{"Allow", "GET, HEAD, OPTIONS"}});
    return true;
  }
  if (!req.live()) {
    Refuse(loop, msg, path, SOUP_STATUS_METHOD_NOT_ALLOWED,
           req.asset_path + " is an on-demand presentation: it takes no uploads (a live point is NAME.isml)",
           {{"Allow", "GET, HEAD, OPTIONS"}});
    return true;
  }
  if (!o->live) {
    Refuse(loop, msg, path, SOUP_STATUS_FORBIDDEN, "ingest is off: start gst-smooth serve with --ingest");
    return true;
  }
  if (!Authorized(o->options, msg)) {
    std::vector<std::pair<std::string, std::string>> challenge;
    if (!o->options.ingest_token.empty()) challenge.emplace_back("WWW-Authenticate", "Bearer realm=\"ingest\"");
    if (!o->options.ingest_user.empty())
      challenge.emplace_back("WWW-Authenticate", "Basic realm=\"ingest\", charset=\"UTF-8\"");
    Refuse(loop, msg, path, SOUP_STATUS_UNAUTHORIZED, "ingest needs valid credentials", std::move(challenge));
    return true;
  }
  unsigned status = 0;
  std::shared_ptr<LiveSlot> slot = o->live->Find(PointName(req.asset_path), true, &status, &why);
  if (!slot) {
    Refuse(loop, msg, path, status, why);
    return true;
  }
  auto s = std::make_unique<IngestSession>(IngestLimits());
  s->loop = loop;
  s->msg = msg;
  s->slot = std::move(slot);
  s->stream_id = req.stream_id;
  Transfer* t = TransferOf(msg);
  s->label = req.asset_path + " Streams(" + req.stream_id + ") from " +
             (t && !t->log.remote.empty() ? t->log.remote : std::string("-"));
  s->progress_us = NowUs();
  o->counters.ingest_posts++;
  LogLine("ingest start " + s->label);
  loop->ingests.push_back(s.get());
  IngestSession* raw = s.release();
  g_object_set_qdata_full(G_OBJECT(msg), IngestQuark(), raw, Delete<IngestSession>);
  g_signal_connect(msg, "got-chunk", G_CALLBACK(OnGotChunk), nullptr);
  return true;
}

void FinishIngest(Loop*, SoupServerMessage* msg) {
  IngestSession* s = SessionOf(msg);
  if (!s) {
    RespondError(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "ingest POST without state");
    return;
  }
  if (s->failed) return;  // answered already
  piff::Status st = s->parser.Finish();
  if (!st) {
    std::string why = "the body ended inside a box: " + st.message();
    s->loop->origin->counters.ingest_failed++;
    s->End(SOUP_STATUS_BAD_REQUEST, why);
    RespondError(msg, SOUP_STATUS_BAD_REQUEST, why);
    return;
  }
  std::string text = "200 OK: " + std::to_string(s->fragments) + " fragments, " + std::to_string(s->duplicates) +
                     " duplicates, " + std::to_string(s->out_of_order) + " out of order\n";
  s->End(SOUP_STATUS_OK, s->bytes ? "" : "(probe)");
  if (Transfer* t = TransferOf(msg)) t->log.status = SOUP_STATUS_OK;
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control", "no-store");
  soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text.data(), text.size());
}

void EndIngest(SoupServerMessage* msg) {
  if (IngestSession* s = SessionOf(msg)) s->End(0, "the encoder closed the connection before the end of its body");
}

void SweepIngests(Loop* loop) {
  int64_t now_us = NowUs();
  auto& l = loop->lingering;
  l.erase(std::remove_if(l.begin(), l.end(),
                         [now_us](const std::unique_ptr<LingeringClose>& c) {
                           return c->done || now_us >= c->deadline_us;
                         }),
          l.end());
  unsigned timeout = loop->origin->options.ingest_timeout;
  if (!timeout || loop->ingests.empty()) return;
  int64_t now = NowUs();
  std::vector<IngestSession*> stalled;
  for (IngestSession* s : loop->ingests)
    if (!s->failed && now - s->progress_us >= static_cast<int64_t>(timeout) * 1000000) stalled.push_back(s);
  for (IngestSession* s : stalled) {
    loop->origin->counters.ingest_timeouts++;
    s->Fail(SOUP_STATUS_REQUEST_TIMEOUT,
            "no complete fragment for " + std::to_string(timeout) + " s (--ingest-timeout)");
  }
}

}  // namespace gst_smooth
