// IngestTarget: one publishing point's connection, backlog and statistics
// (see the header). Everything below State runs in the target's own thread
// unless it says otherwise; `mu` guards what the streaming thread shares.
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ingest_target.h"

#include <libsoup/soup.h>
#include <linux/sockios.h>
#include <fcntl.h>
#include <linux/tcp.h>
#include <sys/ioctl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <vector>

#include "body_stream.h"
#include "ingest_answer.h"
#include "ingest_backlog.h"
#include "ingest_backoff.h"

GST_DEBUG_CATEGORY_EXTERN(smoothsink_debug);
#define GST_CAT_DEFAULT smoothsink_debug

namespace {

constexpr guint64 kBodyWindow = 256 * 1024;  // bytes handed to libsoup ahead of the socket
constexpr guint kTickMs = 50;

struct Fragment {
  GstBuffer* buffer = nullptr;
  guint32 track_id = 0;
  guint64 time = 0;
  guint64 bytes = 0;
};

// kParked: a POST was ended because no fragment came for idle-timeout; the
// next fragment (or the end of the input) starts a new one.
enum class Phase { kIdle, kProbe, kPost, kWaitRetry, kParked, kDone, kFailed };

gint64 NowMs() { return g_get_monotonic_time() / 1000; }

// One mapped memory block of a fragment, kept alive by the GBytes over it.
struct MappedMemory {
  explicit MappedMemory(GstMemory* m) : memory(m) { mapped = gst_memory_map(memory, &map, GST_MAP_READ); }
  ~MappedMemory() {
    if (mapped) gst_memory_unmap(memory, &map);
    gst_memory_unref(memory);
  }
  MappedMemory(const MappedMemory&) = delete;
  MappedMemory& operator=(const MappedMemory&) = delete;
  GstMemory* memory;
  GstMapInfo map = GST_MAP_INFO_INIT;
  bool mapped = false;
};

void FreeMappedMemory(gpointer data) { std::unique_ptr<MappedMemory> gone(static_cast<MappedMemory*>(data)); }

// The buffer's bytes as GBytes without a copy: one per memory block.
std::vector<GBytes*> BytesOf(GstBuffer* buf) {
  std::vector<GBytes*> out;
  for (guint i = 0; i < gst_buffer_n_memory(buf); i++) {
    auto m = std::make_unique<MappedMemory>(gst_buffer_get_memory(buf, i));
    if (!m->mapped) continue;
    const guint8* data = m->map.data;
    gsize size = m->map.size;
    out.push_back(g_bytes_new_with_free_func(data, size, FreeMappedMemory, m.release()));
  }
  return out;
}

}  // namespace

struct IngestTarget::State {
  GstElement* element = nullptr;
  IngestTargetConfig cfg;
  std::function<void(IngestTarget::State*)> on_failed;

  // Shared with the streaming thread.
  mutable std::mutex mu;
  std::condition_variable cv;
  piff::IngestBacklog backlog;
  std::map<guint64, Fragment> fragments;
  GBytes* header = nullptr;
  // A new header (the input restarted) for fragments from header_seq on: the
  // current POST ends after the older fragments, the next one starts with it.
  GBytes* pending_header = nullptr;
  guint64 header_seq = G_MAXUINT64;
  GBytes* tail = nullptr;
  bool finishing = false;
  std::atomic<bool> stopping{false};
  bool wait_cancelled = false;  // unlock(): Wait returns at once
  guint64 next_seq = 0;
  gint64 last_fragment_in_ms = 0;
  guint64 fragment_ms = 0;  // longest fragment seen
  Outcome outcome = Outcome::kRunning;
  std::string failure;  // why it failed (no credentials in it)
  guint failure_status = 0;
  // Statistics.
  guint64 bytes_sent = 0, fragments_sent = 0, fragments_resent = 0, fragments_dropped = 0, reconnects = 0;
  guint64 idle_ends = 0;
  gint64 rtt_ms = -1;
  std::string last_error;
  std::vector<std::pair<guint32, guint64>> dropped_list;  // (track, time)
  gint64 last_drop_warning_ms = 0;
  guint64 dropped_at_last_warning = 0;

  // The target's thread.
  GThread* thread = nullptr;
  GMainContext* ctx = nullptr;
  GMainLoop* loop = nullptr;
  SoupSession* session = nullptr;
  std::unique_ptr<piff::IngestBackoff> backoff;
  Phase phase = Phase::kIdle;
  SoupMessage* msg = nullptr;
  SinkBodyStream* body = nullptr;
  GCancellable* cancel = nullptr;
  GSocket* socket = nullptr;
  bool connected = false;
  bool tail_sent = false;
  bool idle_end = false;          // this POST's body was ended for idleness
  bool header_end = false;        // ... or for a new header
  guint64 seq_at_idle_end = 0;    // next_seq when it was
  gint64 phase_started_ms = 0;
  gint64 last_progress_ms = 0;
  guint64 appended = 0;  // body bytes handed to the stream
  guint64 written = 0;   // body bytes libsoup reports written
  guint64 last_acked = 0;
  std::string lost_reason;
  std::deque<std::pair<guint64, guint64>> inflight;  // (seq, body offset of its end), not yet written
  std::map<guint64, gint64> written_at_ms;
  GSource* tick = nullptr;
  GSource* retry = nullptr;
  bool feeding = false, feed_again = false;
  bool probed = false;  // the probe of the coming POST was answered 2xx
  // The last request failed the TLS handshake (certificate not trusted): a
  // configuration error, not retried.
  bool tls_refused = false;
  // A copy of the plain-HTTP connection's socket descriptor: an answer the
  // server sends before the body ends (then closing) is still in its receive
  // buffer after libsoup gives up on the connection (ingest_answer.h).
  int answer_fd = -1;
  bool early_seen = false;
  std::string answer_reason;  // of the last answer libsoup read
  piff::EarlyAnswer early;

  void Run();
  void Begin();
  void AddHeaders(SoupMessage* m);
  void SendProbe();
  void OnProbeDone(GAsyncResult* res);
  void StartPost();
  void OnPostDone(GAsyncResult* res);
  void Feed();
  void OnWrote(guint size);
  void Tick();
  bool SocketCounters(guint64* acked, guint64* outq) const;
  bool CheckAcks(gint64 now, guint64* outq);
  void Lose(const std::string& reason);
  void Retry(const std::string& reason);
  void Fail(const std::string& reason, guint status);
  bool EndRequest(GAsyncResult* res, guint* status, std::string* reason);
  bool PeekEarlyAnswer();
  void OnAnswer(guint status, const std::string& text);
  void ReleaseLocked();
  guint64 SendTimeoutMs() const;
  gint64 IdleTimeoutMs() const;
  void EndIdlePost(gint64 now);
  void Park();
  bool ResumeDue() const;
  void SwitchHeaderLocked();
};

namespace {

gpointer ThreadMain(gpointer data) {
  static_cast<IngestTarget::State*>(data)->Run();
  return nullptr;
}

gboolean OnPump(gpointer data) {
  auto* st = static_cast<IngestTarget::State*>(data);
  if (st->phase == Phase::kIdle || (st->phase == Phase::kParked && st->ResumeDue())) st->Begin();
  else if (st->phase == Phase::kPost) st->Feed();
  return G_SOURCE_REMOVE;
}

gboolean OnTick(gpointer data) {
  static_cast<IngestTarget::State*>(data)->Tick();
  return G_SOURCE_CONTINUE;
}

gboolean OnRetryTimer(gpointer data) {
  auto* st = static_cast<IngestTarget::State*>(data);
  st->retry = nullptr;
  st->Begin();
  return G_SOURCE_REMOVE;
}

gboolean OnStop(gpointer data) {
  auto* st = static_cast<IngestTarget::State*>(data);
  if (st->cancel) g_cancellable_cancel(st->cancel);
  if (st->session) soup_session_abort(st->session);
  if (!st->msg) g_main_loop_quit(st->loop);
  return G_SOURCE_REMOVE;
}

gboolean OnAcceptAnyCertificate(SoupMessage*, GTlsCertificate*, GTlsCertificateFlags, gpointer) { return TRUE; }

void OnNetworkEvent(SoupMessage*, GSocketClientEvent event, GIOStream* connection, gpointer data) {
  auto* st = static_cast<IngestTarget::State*>(data);
  if (event == G_SOCKET_CLIENT_CONNECTED && G_IS_SOCKET_CONNECTION(connection) && !st->socket) {
    st->socket = G_SOCKET(g_object_ref(g_socket_connection_get_socket(G_SOCKET_CONNECTION(connection))));
    // Over TLS the bytes in the socket are records we cannot read ourselves.
    if (st->answer_fd < 0 && g_strcmp0(g_uri_get_scheme(st->cfg.uri), "http") == 0)
      st->answer_fd = fcntl(g_socket_get_fd(st->socket), F_DUPFD_CLOEXEC, 0);
  } else if (event == G_SOCKET_CLIENT_COMPLETE) {
    st->connected = true;
    st->last_progress_ms = NowMs();
  }
}

// The answer came: the last acknowledgements, while the socket is still open.
void OnGotHeaders(SoupMessage*, gpointer data) {
  auto* st = static_cast<IngestTarget::State*>(data);
  guint64 outq = 0;
  st->CheckAcks(NowMs(), &outq);
}

void OnWroteBodyData(SoupMessage*, guint size, gpointer data) { static_cast<IngestTarget::State*>(data)->OnWrote(size); }

}  // namespace

void IngestTarget::State::Run() {
  g_main_context_push_thread_default(ctx);
  session = soup_session_new_with_options("timeout", 0, "idle-timeout", 0, "user-agent", "gst-smooth-smoothsink/" VERSION,
                                          nullptr);
  if (!cfg.ca_file.empty()) {
    GError* err = nullptr;
    GTlsDatabase* db = g_tls_file_database_new(cfg.ca_file.c_str(), &err);
    if (db) {
      soup_session_set_tls_database(session, db);
      g_object_unref(db);
    } else {
      Fail(std::string("cannot read ca-file: ") + err->message, 0);
      g_error_free(err);
    }
  }
  tick = g_timeout_source_new(kTickMs);
  g_source_set_callback(tick, OnTick, this, nullptr);
  g_source_attach(tick, ctx);
  if (phase != Phase::kFailed) Begin();
  g_main_loop_run(loop);
  g_source_destroy(tick);
  g_source_unref(tick);
  if (retry) g_source_destroy(retry);
  g_clear_object(&session);
  // Let aborted operations finish their callbacks.
  for (int i = 0; i < 100 && g_main_context_iteration(ctx, FALSE); i++) {
  }
  g_main_context_pop_thread_default(ctx);
}

void IngestTarget::State::Begin() {
  if (stopping || phase == Phase::kFailed || phase == Phase::kDone) return;
  // Each new connection is probed first; a probe answered before the header
  // existed still counts.
  if (cfg.probe && !probed) SendProbe();
  else StartPost();
}

void IngestTarget::State::AddHeaders(SoupMessage* m) {
  soup_message_set_flags(m, static_cast<SoupMessageFlags>(SOUP_MESSAGE_NO_REDIRECT | SOUP_MESSAGE_NEW_CONNECTION));
  SoupMessageHeaders* h = soup_message_get_request_headers(m);
  if (!cfg.user.empty() || !cfg.password.empty()) {
    std::string pair = cfg.user + ":" + cfg.password;
    gchar* b64 = g_base64_encode(reinterpret_cast<const guchar*>(pair.data()), pair.size());
    std::string value = std::string("Basic ") + b64;
    g_free(b64);
    soup_message_headers_replace(h, "Authorization", value.c_str());
  }
  if (cfg.extra_headers) {
    for (gint i = 0; i < gst_structure_n_fields(cfg.extra_headers); i++) {
      const gchar* name = gst_structure_nth_field_name(cfg.extra_headers, i);
      const GValue* v = gst_structure_get_value(cfg.extra_headers, name);
      GValue s = G_VALUE_INIT;
      g_value_init(&s, G_TYPE_STRING);
      if (g_value_transform(v, &s) && g_value_get_string(&s))
        soup_message_headers_replace(h, name, g_value_get_string(&s));
      g_value_unset(&s);
    }
  }
  if (!cfg.tls_verify) g_signal_connect(m, "accept-certificate", G_CALLBACK(OnAcceptAnyCertificate), nullptr);
  g_signal_connect(m, "network-event", G_CALLBACK(OnNetworkEvent), this);
}

void IngestTarget::State::SendProbe() {
  phase = Phase::kProbe;
  phase_started_ms = NowMs();
  msg = soup_message_new_from_uri("POST", cfg.uri);
  AddHeaders(msg);
  GBytes* empty = g_bytes_new(nullptr, 0);
  soup_message_set_request_body_from_bytes(msg, nullptr, empty);
  g_bytes_unref(empty);
  cancel = g_cancellable_new();
  GST_INFO_OBJECT(element, "%s: probe POST %s (empty body)", cfg.label.c_str(), cfg.redacted_url.c_str());
  soup_session_send_and_read_async(
      session, msg, G_PRIORITY_DEFAULT, cancel,
      [](GObject*, GAsyncResult* res, gpointer data) { static_cast<State*>(data)->OnProbeDone(res); }, this);
}

// Collects the answer of the request in flight and forgets the request.
// `reason` says why it failed at the transport level (empty: an HTTP answer
// came, `status`). False when the target is stopping (nothing more to do).
bool IngestTarget::State::EndRequest(GAsyncResult* res, guint* status, std::string* reason) {
  GError* err = nullptr;
  GBytes* reply = soup_session_send_and_read_finish(session, res, &err);
  *status = soup_message_get_status(msg);
  const char* type = soup_message_headers_get_content_type(soup_message_get_response_headers(msg), nullptr);
  gsize size = 0;
  const guint8* text = reply ? static_cast<const guint8*>(g_bytes_get_data(reply, &size)) : nullptr;
  const char* phrase = soup_message_get_reason_phrase(msg);
  answer_reason = piff::IngestAnswerReason(phrase && *phrase ? phrase : soup_status_get_phrase(*status),
                                           g_strcmp0(type, "text/plain") == 0, text, size);
  if (reply) g_bytes_unref(reply);
  if (err) *reason = lost_reason.empty() ? err->message : lost_reason;
  tls_refused = err && err->domain == G_TLS_ERROR;
  if (err) g_error_free(err);
  lost_reason.clear();
  g_clear_object(&msg);
  g_clear_object(&body);
  g_clear_object(&cancel);
  g_clear_object(&socket);
  if (answer_fd >= 0) close(answer_fd);
  answer_fd = -1;
  early_seen = false;
  connected = false;
  if (stopping) g_main_loop_quit(loop);
  return !stopping;
}

void IngestTarget::State::OnProbeDone(GAsyncResult* res) {
  guint status = 0;
  std::string reason;
  if (!EndRequest(res, &status, &reason)) return;
  if (tls_refused) return Fail("TLS: " + reason + " (ca-file for a private CA)", 0);
  if (!reason.empty()) return Retry("probe: " + reason);
  GST_INFO_OBJECT(element, "%s: probe answered %u", cfg.label.c_str(), status);
  if (status >= 200 && status < 300) {
    probed = true;
    return StartPost();
  }
  OnAnswer(status, "probe POST answered HTTP " + std::to_string(status) + ": " + answer_reason);
}

// A non-2xx answer (or a 2xx before the end of the body): a refusal is a
// configuration error (ERROR, never retried); 408, 429 and 5xx reconnect.
void IngestTarget::State::OnAnswer(guint status, const std::string& text) {
  if (piff::IngestActionFor(status) == piff::IngestAction::kRefused) return Fail(text, status);
  Retry(text);
}

// Looks for an answer in the connection's receive buffer without taking it
// (libsoup may still read it the ordinary way).
bool IngestTarget::State::PeekEarlyAnswer() {
  if (early_seen) return true;
  if (answer_fd < 0) return false;
  guint8 buf[2048];
  ssize_t n = recv(answer_fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0 || !piff::ParseEarlyAnswer(buf, static_cast<size_t>(n), &early)) return false;
  early_seen = true;
  return true;
}

void IngestTarget::State::StartPost() {
  GBytes* head = nullptr;
  {
    std::lock_guard<std::mutex> lock(mu);
    // Fragments of the old header still owed go first, under the old header
    // (Feed ends the body after them); then the new header.
    if (pending_header && backlog.queued_fragments(header_seq) == 0) SwitchHeaderLocked();
    if (header) head = g_bytes_ref(header);
  }
  if (!head) {  // nothing to send yet: SetHeader pumps us again
    phase = Phase::kIdle;
    return;
  }
  phase = Phase::kPost;
  phase_started_ms = last_progress_ms = NowMs();
  appended = written = last_acked = 0;
  tail_sent = idle_end = header_end = false;
  inflight.clear();
  msg = soup_message_new_from_uri("POST", cfg.uri);
  AddHeaders(msg);
  g_signal_connect(msg, "wrote-body-data", G_CALLBACK(OnWroteBodyData), this);
  g_signal_connect(msg, "got-headers", G_CALLBACK(OnGotHeaders), this);
  body = sink_body_stream_new();
  soup_message_set_request_body(msg, nullptr, G_INPUT_STREAM(body), -1);
  cancel = g_cancellable_new();
  sink_body_stream_append(body, head);
  appended += g_bytes_get_size(head);
  g_bytes_unref(head);
  GST_INFO_OBJECT(element, "%s: chunked POST %s", cfg.label.c_str(), cfg.redacted_url.c_str());
  Feed();
  soup_session_send_and_read_async(
      session, msg, G_PRIORITY_DEFAULT, cancel,
      [](GObject*, GAsyncResult* res, gpointer data) { static_cast<State*>(data)->OnPostDone(res); }, this);
}

// Hands queued fragments to the body stream, up to kBodyWindow ahead of what
// libsoup has read. Appending may run libsoup's write at once (and so
// OnWrote, and Feed again): the bytes are collected under the lock and
// appended outside it, and a nested call only asks the outer one to loop.
void IngestTarget::State::Feed() {
  if (feeding) {
    feed_again = true;
    return;
  }
  feeding = true;
  do {
    feed_again = false;
    if (phase != Phase::kPost || !body || tail_sent) break;
    std::vector<GBytes*> out;
    bool end = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      guint64 ahead = sink_body_stream_unread(body);
      while (ahead < kBodyWindow) {
        bool resend = false;
        std::optional<guint64> seq = backlog.Hand(&resend, pending_header ? header_seq : G_MAXUINT64);
        if (!seq) break;
        const Fragment& f = fragments.at(*seq);
        for (GBytes* b : BytesOf(f.buffer)) out.push_back(b);
        appended += f.bytes;
        ahead += f.bytes;
        inflight.emplace_back(*seq, appended);
        if (resend) fragments_resent++;
        else fragments_sent++;
        GST_INFO_OBJECT(element, "%s: %s fragment %" G_GUINT64_FORMAT " (track %u, time %" G_GUINT64_FORMAT
                        ", %" G_GUINT64_FORMAT " bytes)", cfg.label.c_str(), resend ? "resending" : "sending", *seq,
                        f.track_id, f.time, f.bytes);
      }
      if (pending_header && backlog.queued_fragments(header_seq) == 0) {
        // Everything of the old header is handed: end this body cleanly; the
        // next POST starts with the new header.
        end = tail_sent = header_end = true;
        GST_INFO_OBJECT(element, "%s: new header: ending this POST", cfg.label.c_str());
      } else if (finishing && backlog.queued_fragments() == 0) {
        if (tail) {
          out.push_back(g_bytes_ref(tail));
          appended += g_bytes_get_size(tail);
        }
        end = true;
        tail_sent = true;
        GST_INFO_OBJECT(element, "%s: end of the body (%" G_GUINT64_FORMAT " bytes in this POST)", cfg.label.c_str(),
                        appended);
      }
    }
    SinkBodyStream* to = body ? SINK_BODY_STREAM(g_object_ref(body)) : nullptr;
    for (GBytes* b : out) {
      if (to) sink_body_stream_append(to, b);
      g_bytes_unref(b);
    }
    if (to && end) sink_body_stream_end(to);
    if (to) g_object_unref(to);
  } while (feed_again);
  feeding = false;
}

bool IngestTarget::State::SocketCounters(guint64* acked, guint64* outq) const {
  if (!socket) return false;
  int fd = g_socket_get_fd(socket);
  struct tcp_info info = {};
  socklen_t len = sizeof(info);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
      len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof(info.tcpi_bytes_acked))
    return false;
  int queued = 0;
  if (ioctl(fd, SIOCOUTQ, &queued) != 0) return false;
  // bytes_acked counts from 1 (the SYN) on some kernels' accounting of the
  // handshake; what matters is that it only grows.
  *acked = info.tcpi_bytes_acked;
  *outq = static_cast<guint64>(queued);
  return true;
}

void IngestTarget::State::OnWrote(guint size) {
  written += size;
  last_progress_ms = NowMs();
  connected = true;
  guint64 acked = 0, outq = 0;
  bool counters = SocketCounters(&acked, &outq);
  {
    std::lock_guard<std::mutex> lock(mu);
    bytes_sent += size;
    while (!inflight.empty() && inflight.front().second <= written) {
      // Without socket counters, a write completion is all we can know.
      backlog.OnWritten(inflight.front().first, counters ? acked + outq : 0);
      written_at_ms[inflight.front().first] = NowMs();
      inflight.pop_front();
    }
    if (!counters) backlog.OnAcked(0);
  }
  if (counters) CheckAcks(NowMs(), &outq);
  Feed();
}

guint64 IngestTarget::State::SendTimeoutMs() const {
  if (cfg.send_timeout_ms) return cfg.send_timeout_ms;
  std::lock_guard<std::mutex> lock(mu);
  return piff::IngestSendTimeoutMs(fragment_ms);
}

void IngestTarget::State::ReleaseLocked() {
  for (guint64 seq : backlog.TakeReleased()) {
    auto it = fragments.find(seq);
    if (it == fragments.end()) continue;
    gst_buffer_unref(it->second.buffer);
    fragments.erase(it);
    written_at_ms.erase(seq);
  }
}

// Confirms the fragments the peer acknowledged (TCP_INFO). False without
// socket counters; `outq` is the socket's unacknowledged byte count.
bool IngestTarget::State::CheckAcks(gint64 now, guint64* outq) {
  guint64 acked = 0;
  if (!SocketCounters(&acked, outq)) return false;
  if (acked <= last_acked) return true;
  last_acked = acked;
  last_progress_ms = now;
  std::lock_guard<std::mutex> lock(mu);
  std::vector<guint64> confirmed = backlog.OnAcked(acked);
  for (guint64 seq : confirmed) {
    auto w = written_at_ms.find(seq);
    if (w != written_at_ms.end()) rtt_ms = now - w->second;
  }
  if (!confirmed.empty()) backoff->Reset();
  ReleaseLocked();
  return true;
}

void IngestTarget::State::Tick() {
  gint64 now = NowMs();
  if (phase == Phase::kProbe && now - phase_started_ms > cfg.connect_timeout_ms) {
    Lose("no answer to the probe within " + std::to_string(cfg.connect_timeout_ms) + " ms");
    return;
  }
  if (phase != Phase::kPost) return;
  // The server answered while the body is still going: it will not read the
  // rest (our origin reads and discards it for a while, then closes).
  if (connected && !tail_sent && PeekEarlyAnswer()) {
    Lose("answered before the end of the body");
    return;
  }
  if (!connected) {
    if (now - phase_started_ms > cfg.connect_timeout_ms)
      Lose("could not connect within " + std::to_string(cfg.connect_timeout_ms) + " ms");
    return;
  }
  guint64 outq = 0;
  bool counters = CheckAcks(now, &outq);
  bool outstanding = (counters && outq > 0) || (body && sink_body_stream_unread(body) > 0);
  guint64 timeout = SendTimeoutMs();
  if (outstanding && static_cast<guint64>(now - last_progress_ms) > timeout)
    return Lose("send timeout: no progress for " + std::to_string(timeout) + " ms");
  if (!tail_sent && body && sink_body_stream_unread(body) == 0) EndIdlePost(now);
}

gint64 IngestTarget::State::IdleTimeoutMs() const {
  if (cfg.idle_timeout_ms >= 0) return cfg.idle_timeout_ms;
  std::lock_guard<std::mutex> lock(mu);
  return static_cast<gint64>(3 * fragment_ms);
}

// No fragment came for idle-timeout and everything handed is read: end the
// chunked body cleanly (without a tail: the stream is not over), so the
// server does not hold a POST that sends nothing.
void IngestTarget::State::EndIdlePost(gint64 now) {
  gint64 idle = IdleTimeoutMs();
  {
    std::lock_guard<std::mutex> lock(mu);
    if (idle <= 0 || finishing || backlog.queued_fragments() > 0 || next_seq == 0 ||
        now - last_fragment_in_ms < idle)
      return;
    seq_at_idle_end = next_seq;
  }
  idle_end = tail_sent = true;
  GST_INFO_OBJECT(element, "%s: no fragment for %" G_GINT64_FORMAT " ms (idle-timeout): ending the POST",
                  cfg.label.c_str(), idle);
  sink_body_stream_end(body);
}

// The server took the idle POST: every fragment is delivered; the last two
// per track go again at the start of the next POST (the reconnect rule).
// Starts using the new header: what is left of the old one's fragments goes
// (they cannot follow the new header); those never confirmed are counted as
// dropped and reported like a backlog overflow.
void IngestTarget::State::SwitchHeaderLocked() {
  std::vector<guint64> lost = backlog.Forget(header_seq);
  for (guint64 seq : lost) {
    const Fragment& d = fragments.at(seq);
    dropped_list.emplace_back(d.track_id, d.time);
    fragments_dropped++;
  }
  if (!lost.empty())
    GST_WARNING_OBJECT(element, "%s: %zu fragments of the old header were not delivered before the new header",
                       cfg.label.c_str(), lost.size());
  ReleaseLocked();
  g_bytes_unref(header);
  header = pending_header;
  pending_header = nullptr;
  header_seq = G_MAXUINT64;
}

void IngestTarget::State::Park() {
  {
    std::lock_guard<std::mutex> lock(mu);
    for (auto& f : inflight) backlog.OnWritten(f.first, 0);
    backlog.OnAcked(G_MAXUINT64);
    backlog.OnConnectionLost();
    ReleaseLocked();
    idle_ends++;
  }
  inflight.clear();
  probed = false;
  backoff->Reset();
  phase = Phase::kParked;
  GST_INFO_OBJECT(element, "%s: idle POST completed; a new POST when data comes", cfg.label.c_str());
  if (ResumeDue()) Begin();
}

bool IngestTarget::State::ResumeDue() const {
  std::lock_guard<std::mutex> lock(mu);
  return finishing || next_seq > seq_at_idle_end;
}

void IngestTarget::State::Lose(const std::string& reason) {
  if (!msg || !cancel) return;
  lost_reason = reason;
  g_cancellable_cancel(cancel);
}

void IngestTarget::State::OnPostDone(GAsyncResult* res) {
  bool complete = tail_sent && !idle_end && !header_end;
  bool idle = idle_end;
  bool switching = header_end;
  guint status = 0;
  std::string reason;
  // A write that failed because the server answered and closed: the answer
  // is still readable (the kernel keeps received bytes after a reset).
  bool got_early = PeekEarlyAnswer();
  piff::EarlyAnswer answer = early;
  if (!EndRequest(res, &status, &reason)) return;
  if (tls_refused) return Fail("TLS: " + reason + " (ca-file for a private CA)", 0);
  if (!reason.empty() && got_early) {
    GST_INFO_OBJECT(element, "%s: POST answered %u before the end of the body", cfg.label.c_str(), answer.status);
    return OnAnswer(answer.status, "POST answered HTTP " + std::to_string(answer.status) +
                                       " before the end of the body: " + answer.reason);
  }
  if (!reason.empty()) return Retry(reason);
  GST_INFO_OBJECT(element, "%s: POST answered %u", cfg.label.c_str(), status);
  if (status >= 200 && status < 300 && idle) return Park();
  if (status >= 200 && status < 300 && switching) {
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& f : inflight) backlog.OnWritten(f.first, 0);
      backlog.OnAcked(G_MAXUINT64);
    }
    inflight.clear();
    probed = false;
    return Begin();
  }
  if (status >= 200 && status < 300 && complete) {
    std::lock_guard<std::mutex> lock(mu);
    // The server took the whole body: every fragment is delivered.
    for (auto& f : inflight) backlog.OnWritten(f.first, 0);
    inflight.clear();
    backlog.OnAcked(G_MAXUINT64);
    ReleaseLocked();
    phase = Phase::kDone;
    outcome = Outcome::kDone;
    cv.notify_all();
    return;
  }
  std::string text = "POST answered HTTP " + std::to_string(status) + ": " + answer_reason;
  if (status < 300) text += " before the end of the body";
  OnAnswer(status, text);
}

void IngestTarget::State::Retry(const std::string& reason) {
  std::string why = reason;
  {
    std::lock_guard<std::mutex> lock(mu);
    last_error = why;
    reconnects++;
    size_t again = backlog.OnConnectionLost();
    GST_INFO_OBJECT(element, "%s: connection lost (%s); %zu fragments to resend", cfg.label.c_str(), why.c_str(), again);
  }
  inflight.clear();
  probed = false;
  guint64 delay = 0;
  if (!backoff->Next(&delay)) {
    Fail("gave up after " + std::to_string(backoff->failures()) + " retries; last error: " + why, 0);
    return;
  }
  GST_WARNING_OBJECT(element, "%s: %s; reconnecting in %" G_GUINT64_FORMAT " ms", cfg.label.c_str(), why.c_str(), delay);
  phase = Phase::kWaitRetry;
  retry = g_timeout_source_new(static_cast<guint>(delay));
  g_source_set_callback(retry, OnRetryTimer, this, nullptr);
  g_source_attach(retry, ctx);
  g_source_unref(retry);
}

void IngestTarget::State::Fail(const std::string& reason, guint status) {
  phase = Phase::kFailed;
  {
    std::lock_guard<std::mutex> lock(mu);
    failure = reason;
    failure_status = status;
    last_error = reason;
    outcome = Outcome::kFailed;
    cv.notify_all();
  }
  GST_WARNING_OBJECT(element, "%s: failed: %s", cfg.label.c_str(), reason.c_str());
  if (on_failed) on_failed(this);
}

// ---- the streaming thread's side

IngestTarget::IngestTarget(GstElement* element, const IngestTargetConfig& config) : st_(std::make_unique<State>()) {
  st_->element = element;
  st_->cfg = config;
  st_->cfg.uri = g_uri_ref(config.uri);
  st_->cfg.extra_headers = config.extra_headers ? gst_structure_copy(config.extra_headers) : nullptr;
  piff::IngestBacklogLimits limits;
  limits.max_bytes = config.backlog_bytes;
  limits.max_duration_ms = config.backlog_time_ms;
  st_->backlog = piff::IngestBacklog(limits);
  st_->backoff = std::make_unique<piff::IngestBackoff>(config.retry_delay_ms, config.retry_delay_max_ms, config.max_retries);
}

IngestTarget::~IngestTarget() {
  if (st_->thread) {
    {
      std::lock_guard<std::mutex> lock(st_->mu);
      st_->stopping = true;
    }
    g_main_context_invoke(st_->ctx, OnStop, st_.get());
    g_thread_join(st_->thread);
  }
  if (st_->loop) g_main_loop_unref(st_->loop);
  if (st_->ctx) g_main_context_unref(st_->ctx);
  for (auto& f : st_->fragments) gst_buffer_unref(f.second.buffer);
  if (st_->header) g_bytes_unref(st_->header);
  if (st_->pending_header) g_bytes_unref(st_->pending_header);
  if (st_->answer_fd >= 0) close(st_->answer_fd);
  if (st_->tail) g_bytes_unref(st_->tail);
  if (st_->cfg.extra_headers) gst_structure_free(st_->cfg.extra_headers);
  g_uri_unref(st_->cfg.uri);
}

void IngestTarget::SetFailureHandler(std::function<void(IngestTarget*)> handler) {
  IngestTarget* self = this;
  st_->on_failed = [handler, self](State*) { handler(self); };
}

bool IngestTarget::Start(std::string* error) {
  st_->ctx = g_main_context_new();
  st_->loop = g_main_loop_new(st_->ctx, FALSE);
  GError* err = nullptr;
  std::string name = "smoothsink-" + st_->cfg.label;
  st_->thread = g_thread_try_new(name.c_str(), ThreadMain, st_.get(), &err);
  if (!st_->thread) {
    *error = err->message;
    g_error_free(err);
    return false;
  }
  return true;
}

void IngestTarget::SetHeader(GBytes* header) {
  {
    std::lock_guard<std::mutex> lock(st_->mu);
    if (!st_->header) {
      st_->header = g_bytes_ref(header);
    } else {  // the input restarted with another header: from the next fragment on
      if (st_->pending_header) g_bytes_unref(st_->pending_header);
  if (st_->answer_fd >= 0) close(st_->answer_fd);
      st_->pending_header = g_bytes_ref(header);
      st_->header_seq = st_->next_seq;
    }
  }
  g_main_context_invoke(st_->ctx, OnPump, st_.get());
}

void IngestTarget::PushFragment(const IngestFragmentIn& in) {
  guint64 total_dropped = 0, new_drops = 0;
  bool warn = false;
  {
    std::lock_guard<std::mutex> lock(st_->mu);
    if (st_->outcome == Outcome::kFailed) return;  // it gave up: keep nothing
    piff::IngestFragment f;
    f.seq = st_->next_seq++;
    f.track_id = in.track_id;
    f.other_tracks = in.other_tracks;
    f.duration = in.duration;
    f.timescale = in.timescale;
    f.bytes = gst_buffer_get_size(in.buffer);
    st_->last_fragment_in_ms = NowMs();
    st_->fragment_ms = std::max(st_->fragment_ms, piff::IngestBacklog::TicksToMs(in.duration, in.timescale));
    Fragment keep;
    keep.buffer = gst_buffer_ref(in.buffer);
    keep.track_id = in.track_id;
    keep.time = in.time;
    keep.bytes = f.bytes;
    st_->fragments[f.seq] = keep;
    for (guint64 seq : st_->backlog.Add(f)) {
      const Fragment& d = st_->fragments.at(seq);
      st_->dropped_list.emplace_back(d.track_id, d.time);
      st_->fragments_dropped++;
    }
    st_->ReleaseLocked();
    total_dropped = st_->fragments_dropped;
    new_drops = total_dropped - st_->dropped_at_last_warning;
    gint64 now = NowMs();
    if (new_drops && now - st_->last_drop_warning_ms >= 1000) {
      warn = true;
      st_->last_drop_warning_ms = now;
      st_->dropped_at_last_warning = total_dropped;
    }
  }
  if (warn)
    GST_ELEMENT_WARNING(st_->element, RESOURCE, WRITE,
                        ("%s publishing point unreachable and its backlog is full: %" G_GUINT64_FORMAT
                         " fragments dropped (%" G_GUINT64_FORMAT " in total)",
                         st_->cfg.label.c_str(), new_drops, total_dropped),
                        ("%s; oldest fragments not yet sent are dropped first", st_->cfg.redacted_url.c_str()));
  g_main_context_invoke(st_->ctx, OnPump, st_.get());
}

void IngestTarget::Finish(GBytes* tail) {
  {
    std::lock_guard<std::mutex> lock(st_->mu);
    st_->finishing = true;
    if (tail) st_->tail = g_bytes_ref(tail);
  }
  g_main_context_invoke(st_->ctx, OnPump, st_.get());
}

IngestTarget::Outcome IngestTarget::Wait(guint64 timeout_ms) {
  std::unique_lock<std::mutex> lock(st_->mu);
  st_->cv.wait_for(lock, std::chrono::milliseconds(timeout_ms),
                   [this] { return st_->outcome != Outcome::kRunning || st_->wait_cancelled; });
  return st_->outcome;
}

void IngestTarget::Cancel(bool cancel) {
  std::lock_guard<std::mutex> lock(st_->mu);
  st_->wait_cancelled = cancel;
  st_->cv.notify_all();
}

IngestTarget::Outcome IngestTarget::outcome() const {
  std::lock_guard<std::mutex> lock(st_->mu);
  return st_->outcome;
}

std::string IngestTarget::failure(guint* status) const {
  std::lock_guard<std::mutex> lock(st_->mu);
  if (status) *status = st_->failure_status;
  return st_->failure;
}

const std::string& IngestTarget::label() const { return st_->cfg.label; }
const std::string& IngestTarget::redacted_url() const { return st_->cfg.redacted_url; }

guint64 IngestTarget::dropped() const {
  std::lock_guard<std::mutex> lock(st_->mu);
  return st_->fragments_dropped;
}

std::string IngestTarget::DroppedSummary() const {
  std::lock_guard<std::mutex> lock(st_->mu);
  std::string s;
  size_t n = 0;
  for (auto& d : st_->dropped_list) {
    if (n++ == 100) {
      s += " ...";
      break;
    }
    s += (s.empty() ? "" : " ") + std::to_string(d.first) + ":" + std::to_string(d.second);
  }
  return s;
}

void IngestTarget::FillStats(GstStructure* s) const {
  std::lock_guard<std::mutex> lock(st_->mu);
  const char* state = st_->outcome == Outcome::kDone ? "done" : st_->outcome == Outcome::kFailed ? "failed" : "running";
  gst_structure_set(s, "url", G_TYPE_STRING, st_->cfg.redacted_url.c_str(), "state", G_TYPE_STRING, state,
                    "bytes-sent", G_TYPE_UINT64, st_->bytes_sent, "fragments-sent", G_TYPE_UINT64, st_->fragments_sent,
                    "fragments-resent", G_TYPE_UINT64, st_->fragments_resent, "fragments-dropped", G_TYPE_UINT64,
                    st_->fragments_dropped, "reconnects", G_TYPE_UINT64, st_->reconnects, "idle-ends", G_TYPE_UINT64, st_->idle_ends, "backlog-fragments",
                    G_TYPE_UINT64, static_cast<guint64>(st_->backlog.pending_fragments()), "backlog-bytes",
                    G_TYPE_UINT64, st_->backlog.pending_bytes(), "last-error", G_TYPE_STRING,
                    st_->last_error.c_str(), "last-fragment-rtt-ms", G_TYPE_INT64, st_->rtt_ms, nullptr);
}
