// The development origin on its event loops (origin_internal.h): the
// SoupServer callbacks that answer requests (from the hot table, from
// Resolve, or through a pool job), stream bodies chunk by chunk, and write
// the request log.
#include <sys/ioctl.h>

#include <cstdio>
#include <cstring>

#include "origin_internal.h"

namespace gst_smooth {

namespace {

constexpr const char* kAllow = "GET, HEAD, OPTIONS";

// Object data by quark: g_object_get_data() would look the string up in
// GLib's global quark table (under a lock) on every call.
GQuark TransferQuark() {
  static const GQuark q = g_quark_from_static_string("gst-smooth-transfer");
  return q;
}


Transfer* GetTransfer(SoupServerMessage* msg) {
  return static_cast<Transfer*>(g_object_get_qdata(G_OBJECT(msg), TransferQuark()));
}

RequestLog* GetLog(SoupServerMessage* msg) {
  Transfer* t = GetTransfer(msg);
  return t ? &t->log : nullptr;
}

}  // namespace

Transfer* TransferOf(SoupServerMessage* msg) { return GetTransfer(msg); }

void RespondError(SoupServerMessage* msg, unsigned status, const std::string& why) {
  soup_server_message_set_status(msg, status, nullptr);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Cache-Control", "no-store");
  if (status == SOUP_STATUS_METHOD_NOT_ALLOWED) soup_message_headers_replace(h, "Allow", kAllow);
  std::string text = std::to_string(status) + " " + soup_status_get_phrase(status) + ": " + why + "\n";
  soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text.data(), text.size());
  if (RequestLog* log = GetLog(msg)) log->status = status;
  // Server-side failures need their reason where a developer looks.
  if (status >= 500) std::fprintf(stderr, "gst-smooth serve: %u: %s\n", status, why.c_str());
}

namespace {

struct ResolveJob {
  Origin::Impl* origin = nullptr;
  Loop* loop = nullptr;
  SoupServerMessage* msg = nullptr;  // a ref, dropped when the job is freed
  RequestInfo info;
  Response response;
  ~ResolveJob() {
    if (msg) g_object_unref(msg);
  }
};

struct ChunkJob {
  Loop* loop = nullptr;
  SoupServerMessage* msg = nullptr;  // a ref
  std::shared_ptr<const LoadedAsset> asset;  // keeps fd open
  int fd = -1;
  std::vector<piff::ByteRange> pieces;
  BytesPtr chunk;
  std::string error;
  ~ChunkJob() {
    if (msg) g_object_unref(msg);
  }
};

// Runs `job` on the GTask pool; `done` runs in this thread's default main
// context (the loop's), which g_task_new records.
template <class Job>
void Submit(std::unique_ptr<Job> job, GTaskThreadFunc work, GAsyncReadyCallback done) {
  job->loop->pending++;
  job->loop->origin->counters.pool_jobs++;
  GTask* task = g_task_new(nullptr, nullptr, done, nullptr);
  g_task_set_task_data(task, job.release(), Delete<Job>);
  g_task_run_in_thread(task, work);
  g_object_unref(task);
}

void ResolveWork(GTask* task, gpointer, gpointer data, GCancellable*) {
  auto* job = static_cast<ResolveJob*>(data);
  job->origin->Resolve(job->info, true, &job->response);
  g_task_return_boolean(task, TRUE);
}

void ResolveDone(GObject*, GAsyncResult* result, gpointer) {
  auto* job = static_cast<ResolveJob*>(g_task_get_task_data(G_TASK(result)));
  job->loop->pending--;
  if (job->response.asset_loaded) job->origin->counters.asset_loads++;
  Transfer* t = GetTransfer(job->msg);
  if (!t || t->finished) return;  // the client went away meanwhile
  job->loop->Respond(job->msg, &job->response);
}

void ChunkWork(GTask* task, gpointer, gpointer data, GCancellable*) {
  auto* job = static_cast<ChunkJob*>(data);
  if (ReadPieces(job->fd, job->pieces, false, &job->chunk, &job->error) != ReadStatus::kOk && job->error.empty())
    job->error = "read failed";
  g_task_return_boolean(task, TRUE);
}

void ChunkDone(GObject*, GAsyncResult* result, gpointer) {
  auto* job = static_cast<ChunkJob*>(g_task_get_task_data(G_TASK(result)));
  job->loop->pending--;
  Transfer* t = GetTransfer(job->msg);
  if (!t) return;
  t->reading = false;
  if (t->finished) return;
  if (!job->error.empty()) {
    job->loop->Abort(t, job->error);
    return;
  }
  SoupMessageBody* body = soup_server_message_get_response_body(t->msg);
  soup_message_body_append_bytes(body, job->chunk.get());
  t->queued++;
  if (t->cursor.done()) soup_message_body_complete(body);
  // The I/O paused itself when it ran out of chunks; waking it when it did
  // not is harmless (libsoup only schedules a run).
  soup_server_message_unpause(t->msg);
  t->loop->MaybeRead(t);
}

void OnWroteChunk(SoupServerMessage* msg, gpointer) {
  if (Transfer* t = GetTransfer(msg)) {
    t->queued--;
    t->loop->MaybeRead(t);
  }
}

// Counts written bytes for the log of a transfer that may be cut short
// (bodies sent whole are counted from their Content-Length).
void OnWroteBodyData(SoupServerMessage* msg, guint n, gpointer) {
  if (RequestLog* log = GetLog(msg)) log->bytes += n;
}

void OnRequestStarted(SoupServer*, SoupServerMessage* msg, gpointer data) {
  auto* loop = static_cast<Loop*>(data);
  auto t = std::make_unique<Transfer>();
  t->loop = loop;
  t->msg = msg;
  t->log.started_us = NowUs();
  // libsoup starts a connection's first message when it accepts it, the
  // next ones when their first bytes arrive: from here the headers must
  // come within the idle timeout. The request line has arrived if bytes
  // are waiting; if not, the log's clock starts with the headers
  // (EarlyHandler), not with a connection that may stay silent for long.
  if ((t->conn = loop->ConnOf(msg))) {
    t->conn->busy = false;
    t->conn->idle_since_us = t->log.started_us;
    int waiting = 0;
    if (ioctl(g_socket_get_fd(t->conn->socket.get()), FIONREAD, &waiting) == 0 && waiting > 0)
      t->log.start_us = t->log.started_us;
  }
  if (loop->origin->options.log_requests) {
    // libsoup formats the peer address anew for every message; the
    // connection keeps its own copy.
    if (t->conn && !t->conn->remote.empty()) {
      t->log.remote = t->conn->remote;
    } else if (const char* host = soup_server_message_get_remote_host(msg)) {
      t->log.remote = host;
      if (t->conn) t->conn->remote = host;
    }
  }
  g_object_set_qdata_full(G_OBJECT(msg), TransferQuark(), t.release(), Delete<Transfer>);
}

// The message is done (sent, or its connection gone): pool jobs still in
// flight must leave it alone, and a kept-alive connection waits for its
// next request from now on. The server signals cost nothing per message,
// unlike a "finished" handler on each.
void MessageDone(SoupServerMessage* msg, Origin::Impl* origin, bool aborted) {
  EndIngest(msg);
  if (Transfer* t = GetTransfer(msg)) {
    t->finished = true;
    if (t->conn) {
      t->conn->busy = false;
      t->conn->draining = true;
      t->conn->idle_since_us = NowUs();
    }
  }
  origin->Log(msg, aborted);
}

void OnRequestFinished(SoupServer*, SoupServerMessage* msg, gpointer origin) {
  MessageDone(msg, static_cast<Origin::Impl*>(origin), false);
}

void OnRequestAborted(SoupServer*, SoupServerMessage* msg, gpointer origin) {
  MessageDone(msg, static_cast<Origin::Impl*>(origin), true);
}

// Appends the CORS headers the core chose.
void AppendHeaders(SoupMessageHeaders* h, const piff::HeaderList& list) {
  for (const auto& kv : list) soup_message_headers_append(h, kv.first.c_str(), kv.second.c_str());
}

// Runs once the request headers are in: refuse other methods before any
// request body is read, and never keep a request body in memory (the origin
// has no use for one). Every answer gets its CORS headers here (errors too:
// a page can then see the status); OPTIONS is answered here.
void EarlyHandler(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer data) {
  auto* origin = static_cast<Loop*>(data)->origin;
  // From here to the end of the response the connection is not idle, however
  // long the answer takes (a pool read, a slow reader).
  if (Transfer* t = GetTransfer(msg)) {
    if (t->conn) t->conn->busy = true;
    if (t->log.start_us == 0) t->log.start_us = NowUs();
  }
  soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
  const char* m = soup_server_message_get_method(msg);
  SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  // Only a list of origins depends on the request's Origin.
  const char* from = origin->cors.mode() == piff::CrossOrigin::Mode::kList
                         ? soup_message_headers_get_one(req, "Origin")
                         : nullptr;
  if (std::strcmp(m, "OPTIONS") == 0) {
    // A preflight names the method it asks for; a plain OPTIONS asks what
    // the resource allows. Both get Allow, only a preflight the CORS grant.
    soup_message_headers_append(h, "Allow", kAllow);
    if (soup_message_headers_get_one(req, "Access-Control-Request-Method"))
      AppendHeaders(h, origin->cors.PreflightHeaders(from));
    soup_message_headers_append(h, "Cache-Control", "no-store");
    soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, nullptr);
    if (RequestLog* log = GetLog(msg)) log->status = SOUP_STATUS_NO_CONTENT;
    return;
  }
  AppendHeaders(h, origin->cors.ResponseHeaders(from));
  // An encoder's body is consumed as it arrives (origin_ingest.cc).
  if (std::strcmp(m, "POST") == 0 && StartIngest(static_cast<Loop*>(data), msg, path)) return;
  if (std::strcmp(m, "GET") != 0 && std::strcmp(m, "HEAD") != 0)
    RespondError(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, std::string("method ") + m + " not allowed");
}

void Handler(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer loop) {
  static_cast<Loop*>(loop)->Handle(msg, path);
}

}  // namespace

void ConnectHandlers(Loop* loop) {
  soup_server_add_early_handler(loop->server, nullptr, EarlyHandler, loop, nullptr);
  soup_server_add_handler(loop->server, nullptr, Handler, loop, nullptr);
  g_signal_connect(loop->server, "request-started", G_CALLBACK(OnRequestStarted), loop);
  g_signal_connect(loop->server, "request-finished", G_CALLBACK(OnRequestFinished), loop->origin);
  g_signal_connect(loop->server, "request-aborted", G_CALLBACK(OnRequestAborted), loop->origin);
}

void Loop::Handle(SoupServerMessage* msg, const char* path) {
  const char* method = soup_server_message_get_method(msg);
  if (std::strcmp(method, "POST") == 0) {
    FinishIngest(this, msg);
    return;
  }
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
    RespondError(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, std::string("method ") + method + " not allowed");
    return;
  }
  std::string raw_path = path ? path : "";
  bool head = std::strcmp(method, "HEAD") == 0;
  if (!head && ServeHot(msg, raw_path)) return;
  if (ServePolicyFile(msg, raw_path)) return;
  RequestInfo info;
  std::string why;
  if (unsigned status = ParseRequestPath(raw_path, &info.request, &why)) {
    RespondError(msg, status, why);
    return;
  }
  SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
  info.head = head;
  // Only manifests are compressed: parsing Accept-Encoding for a fragment
  // would be wasted work.
  if (info.request.kind == OriginRequest::Kind::kManifest)
    info.gzip_ok = AcceptsGzip(soup_message_headers_get_one(req, "Accept-Encoding"));
  if (const char* inm = soup_message_headers_get_one(req, "If-None-Match")) info.if_none_match = inm;
  if (const char* range = soup_message_headers_get_one(req, "Range")) info.range = range;
  if (const char* if_range = soup_message_headers_get_one(req, "If-Range")) info.if_range = if_range;
  if (info.request.live() || info.request.kind == OriginRequest::Kind::kIngest) {
    ServeLive(this, msg, info);
    return;
  }

  Transfer* t = GetTransfer(msg);
  if (!t) {  // request-started always comes first; never trust that blindly
    RespondError(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "request without state");
    return;
  }

  // Most requests are answered right here: a checked asset, a plain byte
  // range, pages in the cache. The rest goes to the pool.
  Response r;
  if (origin->Resolve(info, false, &r)) {
    if (!head && r.hot && (r.status == SOUP_STATUS_OK || r.status == SOUP_STATUS_PARTIAL_CONTENT))
      RememberHot(raw_path, info, r);
    Respond(msg, &r);
    return;
  }
  auto job = std::make_unique<ResolveJob>();
  job->origin = origin;
  job->loop = this;
  job->msg = static_cast<SoupServerMessage*>(g_object_ref(msg));
  job->info = std::move(info);
  soup_server_message_pause(msg);
  t->paused = true;
  Submit(std::move(job), ResolveWork, ResolveDone);
}

bool Loop::ServeHot(SoupServerMessage* msg, const std::string& path) {
  if (hot.empty()) return false;
  auto it = hot.find(path);
  if (it == hot.end()) return false;
  // Revalidations take the full path (ETag comparison).
  SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
  if (soup_message_headers_get_one(req, "If-None-Match")) return false;
  Transfer* t = GetTransfer(msg);
  if (!t) return false;
  const HotEntry& e = it->second;
  std::shared_ptr<const LoadedAsset> la = origin->cache.Peek(e.asset_path);
  BytesPtr bytes;
  if (!la || la != e.asset.lock() || !(bytes = origin->fragments->Get(la->id, e.offset, e.size))) {
    hot.erase(it);
    return false;
  }
  ByteSpan span;
  RangeAnswer ra = RangeAnswer::kWhole;
  if (const char* range = soup_message_headers_get_one(req, "Range")) {
    ra = ChooseRange(range, soup_message_headers_get_one(req, "If-Range"), e.etag, e.size, &span);
    if (ra == RangeAnswer::kUnsatisfiable) return false;  // Resolve words the 416
    if (ra == RangeAnswer::kPartial) bytes.reset(g_bytes_new_from_bytes(bytes.get(), span.start, span.size));
  }
  // What Respond does for a fragment cache hit, without the intermediate
  // Response.
  unsigned status = ra == RangeAnswer::kPartial ? SOUP_STATUS_PARTIAL_CONTENT : SOUP_STATUS_OK;
  t->log.served = e.served;
  t->log.status = status;
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_append(h, "ETag", e.etag.c_str());
  soup_message_headers_append(h, "Last-Modified", la->media_last_modified[e.media].c_str());
  soup_message_headers_append(h, "Cache-Control", origin->fragment_cache_control.c_str());
  if (ra == RangeAnswer::kPartial)
    soup_message_headers_append(h, "Content-Range", ContentRange(span, e.size).c_str());
  else
    soup_message_headers_append(h, "Accept-Ranges", "bytes");
  soup_server_message_set_status(msg, status, nullptr);
  soup_message_headers_append(h, "Content-Type", e.content_type.c_str());  // a fresh response has none
  soup_message_headers_set_content_length(h, static_cast<goffset>(g_bytes_get_size(bytes.get())));
  SoupMessageBody* body = soup_server_message_get_response_body(msg);
  soup_message_body_set_accumulate(body, FALSE);
  origin->counters.cache_hits++;
  soup_message_body_append_bytes(body, bytes.get());
  soup_message_body_complete(body);
  return true;
}

bool Loop::ServePolicyFile(SoupServerMessage* msg, const std::string& path) {
  const std::string* body = path == "/clientaccesspolicy.xml" ? &origin->client_access_policy
                            : path == "/crossdomain.xml"      ? &origin->cross_domain
                                                              : nullptr;
  if (!body) return false;
  if (body->empty()) {
    RespondError(msg, SOUP_STATUS_NOT_FOUND, "no " + path.substr(1) + " (see --cors-origin, --no-policy-files)");
    return true;
  }
  if (RequestLog* log = GetLog(msg)) log->status = SOUP_STATUS_OK;
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_append(h, "Cache-Control", origin->manifest_cache_control.c_str());
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  // For HEAD libsoup sends the headers (Content-Length included) and drops the body.
  soup_server_message_set_response(msg, "text/xml; charset=utf-8", SOUP_MEMORY_COPY, body->data(), body->size());
  return true;
}

void Loop::RememberHot(const std::string& path, const RequestInfo& info, const Response& r) {
  if (r.cursor.ranges.size() != 1 || !r.prefix.empty() || !r.asset) return;
  if (hot.size() >= kMaxHot) hot.clear();
  HotEntry& e = hot[path];
  e.asset_path = info.request.asset_path;
  e.asset = r.asset;
  e.served = r.served;
  e.content_type = r.content_type;
  e.etag = r.etag;
  e.media = r.media;
  e.offset = r.cursor.ranges[0].offset;
  e.size = r.cursor.ranges[0].size;
}

void Loop::Respond(SoupServerMessage* msg, Response* r) {
  Transfer* t = GetTransfer(msg);
  if (RequestLog* log = GetLog(msg)) {
    log->served = r->served;
    log->status = r->status;
  }
  auto resume = [t] {
    if (t->paused) {
      t->paused = false;
      soup_server_message_unpause(t->msg);
    }
  };
  if (r->status >= 400) {
    RespondError(msg, r->status, r->error);
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    for (const auto& kv : r->headers) soup_message_headers_append(h, kv.first.c_str(), kv.second.c_str());
    resume();
    return;
  }
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  // A fresh response has none of these yet: append (cheaper than replace).
  for (const auto& kv : r->headers) soup_message_headers_append(h, kv.first.c_str(), kv.second.c_str());
  soup_server_message_set_status(msg, r->status, nullptr);
  if (r->status == SOUP_STATUS_NOT_MODIFIED) {
    resume();
    return;
  }
  soup_message_headers_replace(h, "Content-Type", r->content_type.c_str());
  SoupMessageBody* body = soup_server_message_get_response_body(msg);
  // Never accumulated: libsoup would answer a Range itself (and with
  // multipart for several) for an accumulated 200 body; the origin has
  // decided already.
  soup_message_body_set_accumulate(body, FALSE);
  if (r->body) {
    // Small and whole; for HEAD libsoup sends the headers (Content-Length
    // included) and drops the body.
    soup_message_body_append_bytes(body, r->body.get());
    resume();
    return;
  }
  soup_message_headers_set_content_length(h, static_cast<goffset>(r->length));
  bool head = std::strcmp(soup_server_message_get_method(msg), "HEAD") == 0;
  if (head || r->length == 0) {
    resume();
    return;
  }
  // Streamed: chunks are dropped once written, at most two are queued, and
  // the next is read when one has gone out.
  if (r->cache_hit) origin->counters.cache_hits++;
  if (!r->cursor.done()) {
    g_signal_connect(msg, "wrote-chunk", G_CALLBACK(OnWroteChunk), nullptr);
    g_signal_connect(msg, "wrote-body-data", G_CALLBACK(OnWroteBodyData), nullptr);
    if (RequestLog* log = GetLog(msg)) log->counting = true;
  }
  t->asset = r->asset;
  t->fd = r->fd;
  t->cursor = std::move(r->cursor);
  if (!r->prefix.empty()) {
    BytesPtr prefix(BytesFromVector(std::move(r->prefix)));
    soup_message_body_append_bytes(body, prefix.get());
    t->queued++;
  }
  if (r->first_chunk) {
    soup_message_body_append_bytes(body, r->first_chunk.get());
    t->queued++;
  }
  if (t->cursor.done()) soup_message_body_complete(body);
  resume();
  MaybeRead(t);
}

void Loop::MaybeRead(Transfer* t) {
  while (!t->finished && !t->reading && !t->cursor.done() && t->queued < 2) {
    auto mark = t->cursor.Mark();
    std::vector<piff::ByteRange> pieces = t->cursor.Next(Origin::kChunkSize);
    BytesPtr chunk;
    std::string err;
    ReadStatus r = ReadPieces(t->fd, pieces, true, &chunk, &err);
    if (r == ReadStatus::kOk) {
      // Called from wrote-chunk (the I/O keeps going and finds the chunk)
      // or right after an append that already woke the I/O.
      SoupMessageBody* body = soup_server_message_get_response_body(t->msg);
      soup_message_body_append_bytes(body, chunk.get());
      t->queued++;
      if (t->cursor.done()) soup_message_body_complete(body);
      continue;
    }
    if (r == ReadStatus::kError) {
      t->cursor.Reset(mark);
      Abort(t, err);
      return;
    }
    auto job = std::make_unique<ChunkJob>();
    job->loop = this;
    job->msg = static_cast<SoupServerMessage*>(g_object_ref(t->msg));
    job->asset = t->asset;
    job->fd = t->fd;
    job->pieces = std::move(pieces);
    t->reading = true;
    Submit(std::move(job), ChunkWork, ChunkDone);
  }
}

void Loop::Abort(Transfer* t, const std::string& why) {
  // The status line is gone already: the only honest signal left is to cut
  // the connection short of the promised Content-Length.
  std::fprintf(stderr, "gst-smooth serve: read error, closing the connection: %s\n", why.c_str());
  origin->Log(t->msg, true);
  t->finished = true;
  GObjectPtr<GIOStream> conn(soup_server_message_steal_connection(t->msg));
  if (conn) g_io_stream_close(conn.get(), nullptr, nullptr);
}

void Origin::Impl::Log(SoupServerMessage* msg, bool aborted) {
  RequestLog* log = GetLog(msg);
  if (!log || log->start_us < 0) return;  // logged already (Abort)
  unsigned status = aborted && log->status ? log->status : soup_server_message_get_status(msg);
  if (!log->counting && !aborted) {
    // Sent whole: the body is what the headers announced.
    const char* method = soup_server_message_get_method(msg);
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    bool bodyless = (method && !std::strcmp(method, "HEAD")) || status == 304 || status == 204 || status < 200;
    log->bytes = bodyless ? 0 : static_cast<uint64_t>(soup_message_headers_get_content_length(h));
  }
  counters.requests++;
  counters.bytes += log->bytes;
  if (aborted) counters.aborted++;
  if (status >= 500)
    counters.status_5xx++;
  else if (status >= 400)
    counters.status_4xx++;
  else if (status >= 300)
    counters.status_3xx++;
  else
    counters.status_2xx++;
  if (status == 200 || status == 206 || status == 304) {
    switch (log->served) {
      case Served::kManifest: counters.manifests++; break;
      case Served::kFragment: counters.fragments++; break;
      case Served::kFragmentInfo: counters.fragment_infos++; break;
      case Served::kKeyFrames: counters.keyframes++; break;
      case Served::kRawFragment: counters.raw_fragments++; break;
      case Served::kOther: break;
    }
  }
  int64_t elapsed_us = NowUs() - (log->start_us > 0 ? log->start_us : log->started_us);
  log->start_us = -1;
  if (!options.log_requests) return;
  // Formatted by hand into one buffer: this runs for every request, and
  // printf-style formatting (the float above all) cost more than the rest of
  // the line. Same format: REMOTE METHOD PATH STATUS BYTES N.NNms[ aborted].
  const char* method = soup_server_message_get_method(msg);
  GUri* uri = soup_server_message_get_uri(msg);
  const char* path = uri ? g_uri_get_path(uri) : nullptr;
  char line[1024];
  size_t n = 0;
  auto put = [&](const char* str, size_t max) {
    for (size_t i = 0; str[i] && i < max && n < sizeof line - 64; i++) line[n++] = str[i];
  };
  auto put_uint = [&](uint64_t v) {
    char digits[24];
    size_t k = 0;
    do {
      digits[k++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v);
    while (k) line[n++] = digits[--k];
  };
  put(log->remote.empty() ? "-" : log->remote.c_str(), 128);
  line[n++] = ' ';
  put(method ? method : "-", 32);
  line[n++] = ' ';
  if (!path || !*path) path = "-";
  // Raw paths are percent-encoded already; cap the length so a hostile URL
  // cannot flood the log, and never let control characters through.
  size_t path_len = std::strlen(path);
  for (size_t i = 0; i < path_len && i < 512; i++) {
    char c = path[i];
    line[n++] = static_cast<unsigned char>(c) <= 0x20 || c == 0x7f ? '?' : c;
  }
  if (path_len > 512) put("...", 3);
  line[n++] = ' ';
  put_uint(status);
  line[n++] = ' ';
  put_uint(log->bytes);
  line[n++] = ' ';
  uint64_t hundredths = static_cast<uint64_t>(std::max<int64_t>(0, elapsed_us) + 5) / 10;
  put_uint(hundredths / 100);
  line[n++] = '.';
  line[n++] = static_cast<char>('0' + hundredths % 100 / 10);
  line[n++] = static_cast<char>('0' + hundredths % 10);
  put("ms", 2);
  if (aborted) put(" aborted", 8);
  line[n++] = '\n';
  std::fwrite(line, 1, n, stdout);  // locked: several loops may log at once
}

}  // namespace gst_smooth
