// The development origin of `gst-smooth serve` (see origin.h for the
// design): listening sockets, accepting connections, the event loops' life
// cycle and the Origin class. Requests are answered in origin_http.cc.
#include "origin.h"

#include <linux/sockios.h>
#include <linux/tcp.h>  // glibc's struct tcp_info lacks tcpi_bytes_acked
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <future>

#include "origin_internal.h"
#include "origin_live.h"

namespace gst_smooth {

namespace {

GQuark ConnQuark() {
  static const GQuark q = g_quark_from_static_string("gst-smooth-conn");
  return q;
}

// Whether the peer has acknowledged more bytes than *acked (which is
// updated). True when the kernel does not say (tcpi_bytes_acked is Linux
// 4.1+): without a measure of progress nothing may be cut.
bool AckedMore(int fd, uint64_t* acked) {
  struct tcp_info info;
  socklen_t len = sizeof info;
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
      len < offsetof(struct tcp_info, tcpi_bytes_acked) + sizeof info.tcpi_bytes_acked)
    return true;
  if (info.tcpi_bytes_acked == *acked) return false;
  *acked = info.tcpi_bytes_acked;
  return true;
}

}  // namespace

Conn::~Conn() {
  if (key) g_object_set_qdata(key.get(), ConnQuark(), nullptr);
}

Loop::~Loop() {
  StopAccepting();
  conns.clear();
  if (server) g_object_unref(server);
  if (socket) g_object_unref(socket);
  if (main_loop) g_main_loop_unref(main_loop);
  if (context) g_main_context_unref(context);
}

std::string Loop::Setup() {
  server = SOUP_SERVER(g_object_new(SOUP_TYPE_SERVER, "raw-paths", TRUE, "server-header", "gst-smooth-origin ",
                                    nullptr));
  ConnectHandlers(this);
  GError* raw = nullptr;
  if (!soup_server_listen_socket(server, socket, static_cast<SoupServerListenOptions>(0), &raw)) {
    ErrorPtr err(raw);
    return err->message;
  }
  StartAccepting();
  // The sweep also forgets closed connections, so it runs without a timeout
  // too. A quarter of the shorter timeout (at most 1 s) keeps a close within
  // 25 % of it.
  unsigned idle = origin->options.idle_timeout, send = origin->options.send_timeout;
  unsigned shortest = idle && send ? std::min(idle, send) : std::max(idle, send);
  sweep_source = g_timeout_source_new(shortest ? std::clamp(shortest * 250u, 250u, 1000u) : 1000u);
  g_source_set_callback(
      sweep_source,
      +[](gpointer self) -> gboolean {
        static_cast<Loop*>(self)->SweepConnections();
        return G_SOURCE_CONTINUE;
      },
      this, nullptr);
  g_source_attach(sweep_source, context);
  return "";
}

// This loop accepts every connection itself, for two reasons. It must know
// each one (SoupServer has no idle timeout, and no public list of its
// connections): see Conn. And libsoup's listener (3.2) removes its accept
// source for good after the first failed accept(), e.g. when the process is
// out of file descriptors: the port would stay open but never answer again;
// this source pauses 100 ms and tries again. It runs just above libsoup's
// listener (same socket, same readiness), which therefore never gets a
// connection while this source is attached; the listener stays registered
// because SoupServer keeps connections alive only while it has one. A
// connection libsoup does accept (while this source pauses) is tracked all
// the same, through its GSocket.
void Loop::StartAccepting() {
  accept_source = g_socket_create_source(socket, G_IO_IN, nullptr);
  g_source_set_priority(accept_source, G_PRIORITY_DEFAULT - 1);
  // A GSocket source calls a GSocketSourceFunc; G_SOURCE_FUNC casts it for
  // g_source_set_callback as GLib documents.
  GSocketSourceFunc on_ready = [](GSocket*, GIOCondition, gpointer self) -> gboolean {
    return static_cast<Loop*>(self)->AcceptPending();
  };
  g_source_set_callback(accept_source, G_SOURCE_FUNC(on_ready), this, nullptr);
  g_source_attach(accept_source, context);
}

void Loop::StopAccepting() {
  for (GSource** s : {&accept_source, &retry_source, &sweep_source})
    if (*s) {
      g_source_destroy(*s);
      g_source_unref(*s);
      *s = nullptr;
    }
}

gboolean Loop::AcceptPending() {
  for (int i = 0; i < 64; i++) {
    int fd = accept4(g_socket_get_fd(socket), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return G_SOURCE_CONTINUE;
      if (errno == EINTR || errno == ECONNABORTED) continue;
      // EMFILE, ENFILE, ENOBUFS: the connection waits in the backlog. The
      // socket stays readable, so pause 100 ms rather than spin.
      if (NowUs() - warned_us > 10000000) {
        std::fprintf(stderr, "gst-smooth serve: cannot accept connections: %s (retrying)\n", std::strerror(errno));
        warned_us = NowUs();
      }
      g_source_unref(accept_source);  // the return value destroys it
      accept_source = nullptr;
      retry_source = g_timeout_source_new(100);
      g_source_set_callback(
          retry_source,
          +[](gpointer self) -> gboolean {
            auto* loop = static_cast<Loop*>(self);
            g_source_unref(loop->retry_source);
            loop->retry_source = nullptr;
            loop->StartAccepting();
            return G_SOURCE_REMOVE;
          },
          this, nullptr);
      g_source_attach(retry_source, context);
      return G_SOURCE_REMOVE;
    }
    GError* raw = nullptr;
    GObjectPtr<GSocket> client(g_socket_new_from_fd(fd, &raw));
    ErrorPtr err(raw);
    if (!client) {
      ::close(fd);
      continue;
    }
    g_socket_set_option(client.get(), IPPROTO_TCP, TCP_NODELAY, TRUE, nullptr);
    GObjectPtr<GSocketConnection> conn(g_socket_connection_factory_create_connection(client.get()));
    GObjectPtr<GSocketAddress> local(g_socket_get_local_address(client.get(), nullptr));
    GObjectPtr<GSocketAddress> remote(g_socket_get_remote_address(client.get(), nullptr));
    if (local) {
      auto c = std::make_unique<Conn>();
      c->socket.reset(G_SOCKET(g_object_ref(client.get())));
      c->key.reset(G_OBJECT(g_object_ref(local.get())));
      c->idle_since_us = c->progress_us = NowUs();
      if (origin->options.log_requests && remote && G_IS_INET_SOCKET_ADDRESS(remote.get())) {
        GCharPtr host(g_inet_address_to_string(g_inet_socket_address_get_address(G_INET_SOCKET_ADDRESS(remote.get()))));
        c->remote = host.get();
      }
      g_object_set_qdata(c->key.get(), ConnQuark(), c.get());
      conns.push_back(std::move(c));
    }
    soup_server_accept_iostream(server, G_IO_STREAM(conn.get()), local.get(), remote.get(), nullptr);
  }
  return G_SOURCE_CONTINUE;
}

Conn* Loop::ConnOf(SoupServerMessage* msg) {
  // Only a connection libsoup accepted itself has a GSocket on its messages.
  GSocket* sock = soup_server_message_get_socket(msg);
  GObject* key = sock ? G_OBJECT(sock) : G_OBJECT(soup_server_message_get_local_address(msg));
  if (!key) return nullptr;
  if (auto* c = static_cast<Conn*>(g_object_get_qdata(key, ConnQuark()))) return c;
  if (!sock) return nullptr;
  auto c = std::make_unique<Conn>();
  c->socket.reset(G_SOCKET(g_object_ref(sock)));
  c->key.reset(G_OBJECT(g_object_ref(sock)));
  c->idle_since_us = c->progress_us = NowUs();
  g_object_set_qdata(key, ConnQuark(), c.get());
  conns.push_back(std::move(c));
  return conns.back().get();
}

void Loop::SweepConnections() {
  int64_t now = NowUs();
  int64_t idle_us = static_cast<int64_t>(origin->options.idle_timeout) * 1000000;
  int64_t send_us = static_cast<int64_t>(origin->options.send_timeout) * 1000000;
  size_t kept = 0;
  for (size_t i = 0; i < conns.size(); i++) {
    Conn& c = *conns[i];
    // libsoup closes the socket when it drops the connection (the client
    // left, Connection: close, an error, or our shutdown below), or we do.
    if (g_socket_is_closed(c.socket.get())) continue;
    if (c.closing) {
      // libsoup 3.2 never closes a kept-alive connection whose next request
      // meets the end of the stream (fixed in 3.3): it stops watching the
      // socket and keeps the descriptor until the server goes. So what it
      // has not closed one sweep after the end was seen, we close (GSocket
      // then refuses any later use). A response in progress ends by itself:
      // its next write fails.
      if (!c.busy) g_socket_close(c.socket.get(), nullptr);
    } else {
      Check(c, now, idle_us, send_us);
    }
    if (kept != i) conns[kept] = std::move(conns[i]);
    kept++;
  }
  conns.resize(kept);
  SweepIngests(this);
  // The points are shared: the first loop keeps their time.
  if (origin->live && this == origin->loops[0].get()) origin->live->Tick(NowMs());
}

void Loop::Check(Conn& c, int64_t now, int64_t idle_us, int64_t send_us) {
  int fd = g_socket_get_fd(c.socket.get());
  // Bytes of a response the kernel still holds (unsent, or sent and not
  // acknowledged). Only a response in progress or just finished can leave
  // any.
  int unsent = 0;
  bool queued = (c.busy || c.draining) && ioctl(fd, SIOCOUTQ, &unsent) == 0 && unsent > 0;
  if (c.draining && !c.busy) {
    // A response libsoup has finished may still be leaving the kernel's
    // send buffer for a slow client (a whole fragment fits in it): that is
    // activity, and the idle time starts when the buffer is empty.
    if (queued)
      c.idle_since_us = now;
    else
      c.draining = false;
  }
  // The send timeout runs only while bytes wait for the client. Progress is
  // what the client's TCP acknowledged (a byte it took), not what libsoup
  // wrote: a write only moves bytes into the kernel's buffer, and a whole
  // fragment fits there, so the cached-body path would look done while
  // nothing leaves. A client that reads a little at a time opens its window
  // and acknowledges more, however slowly.
  if (!queued || !send_us || AckedMore(fd, &c.acked)) {
    c.progress_us = now;
  } else if (now - c.progress_us >= send_us) {
    // Unsent bytes would keep the socket alive in the kernel after it is
    // closed (zero-window probes for minutes): SO_LINGER 0 makes the close a
    // reset. The shutdown wakes libsoup's pending write (it fails: the
    // request is logged as aborted) or read (a finished response).
    struct linger reset = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    c.closing = true;
    g_socket_shutdown(c.socket.get(), TRUE, TRUE, nullptr);
    origin->counters.stalled_closed++;
    return;
  }
  if (c.busy || c.draining) return;
  if (idle_us && now - c.idle_since_us >= idle_us) {
    // shutdown() rather than close(): libsoup still owns the descriptor;
    // its pending read sees the end of the stream and it drops the
    // connection as if the client had closed it (no request, no log line).
    c.closing = true;
    g_socket_shutdown(c.socket.get(), TRUE, TRUE, nullptr);
    origin->counters.idle_closed++;
    return;
  }
  // The client closed its end and nothing is left to read or send: libsoup
  // has seen (or is about to see) the end of the stream. Marked, so the next
  // sweep closes what libsoup leaves open.
  char byte;
  if (recv(fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT) == 0) c.closing = true;
}

bool Loop::Drain(unsigned timeout_ms) {
  StopAccepting();  // before libsoup closes the listening socket
  if (server) soup_server_disconnect(server);
  int64_t deadline = NowUs() + static_cast<int64_t>(timeout_ms) * 1000;
  while (pending > 0 && NowUs() < deadline) {
    if (!g_main_context_iteration(context, FALSE)) g_usleep(1000);
  }
  // Let the disconnections finish their callbacks (log lines of aborted
  // requests) before the server goes.
  while (g_main_context_iteration(context, FALSE)) {
  }
  return pending == 0;
}

// ------------------------------------------------------------ Origin

Origin::Origin(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Origin::~Origin() = default;

const std::string& Origin::url() const { return impl_->url; }

namespace {

GSocket* ListenSocket(GInetAddress* addr, unsigned port, bool reuse_port, std::string* error) {
  GError* raw = nullptr;
  GObjectPtr<GSocket> s(g_socket_new(g_inet_address_get_family(addr), G_SOCKET_TYPE_STREAM,
                                     G_SOCKET_PROTOCOL_TCP, &raw));
  ErrorPtr err(raw);
  if (!s) {
    *error = err->message;
    return nullptr;
  }
  int fd = g_socket_get_fd(s.get());
  int one = 1;
  // Several loops accept on one port: the kernel spreads new connections
  // over their sockets. SO_REUSEADDR lets a restarted origin take its port
  // at once.
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    *error = std::string("SO_REUSEPORT: ") + std::strerror(errno);
    return nullptr;
  }
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  // bind(2) directly: g_socket_bind() clears SO_REUSEPORT on unicast sockets.
  GObjectPtr<GSocketAddress> sa(g_inet_socket_address_new(addr, static_cast<guint16>(port)));
  struct sockaddr_storage native;
  gssize len = g_socket_address_get_native_size(sa.get());
  if (len <= 0 || !g_socket_address_to_native(sa.get(), &native, sizeof native, &raw)) {
    err.reset(raw);
    *error = err ? err->message : "cannot convert the address";
    return nullptr;
  }
  if (::bind(fd, reinterpret_cast<struct sockaddr*>(&native), static_cast<socklen_t>(len)) != 0) {
    *error = std::strerror(errno);
    return nullptr;
  }
  g_socket_set_listen_backlog(s.get(), 1024);
  if (!g_socket_listen(s.get(), &raw)) {
    err.reset(raw);
    *error = err->message;
    return nullptr;
  }
  return s.release();
}

// A policy file given on the command line, read once at start (at most
// 64 KiB: these are a few lines).
bool ReadPolicyFile(const std::string& path, std::string* out, std::string* why) {
  gchar* contents = nullptr;
  gsize len = 0;
  GError* raw = nullptr;
  if (!g_file_get_contents(path.c_str(), &contents, &len, &raw)) {
    ErrorPtr err(raw);
    *why = err->message;
    return false;
  }
  GCharPtr owned(contents);
  if (len == 0 || len > 64 * 1024) {
    *why = "must be 1 byte to 64 KiB, is " + std::to_string(len);
    return false;
  }
  out->assign(contents, len);
  return true;
}

}  // namespace

std::unique_ptr<Origin> Origin::Start(const OriginOptions& options, std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  GCharPtr root(realpath(options.root.c_str(), nullptr));
  struct stat st;
  if (!root || ::stat(root.get(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    *error = "--root " + options.root + ": not a folder";
    return nullptr;
  }
  impl->root = root.get();
  impl->fragments = std::make_unique<FragmentCache>(options.cache_bytes);
  impl->fragment_cache_control = "public, max-age=" + std::to_string(options.fragment_max_age);
  impl->manifest_cache_control = "public, max-age=" + std::to_string(options.manifest_max_age);
  impl->live_manifest_cache_control =
      options.live_manifest_max_age ? "public, max-age=" + std::to_string(options.live_manifest_max_age) : "no-cache";
  if (impl->root.size() > 1 && impl->root.back() == '/') impl->root.pop_back();
  std::string why;
  if (!impl->cors.Parse(options.cors_origin, &why)) {
    *error = "--cors-origin: " + why;
    return nullptr;
  }
  if (options.policy_files) {
    impl->client_access_policy = impl->cors.ClientAccessPolicy();
    impl->cross_domain = impl->cors.CrossDomainPolicy();
  }
  {
    for (auto [file, body, opt] : {std::tuple(&options.client_access_policy_file, &impl->client_access_policy,
                                              "--client-access-policy"),
                                   std::tuple(&options.cross_domain_file, &impl->cross_domain,
                                              "--cross-domain-policy")}) {
      if (file->empty()) continue;
      if (!ReadPolicyFile(*file, body, &why)) {
        *error = std::string(opt) + " " + *file + ": " + why;
        return nullptr;
      }
    }
  }
  if (options.ingest) {
    piff::LivePointSettings live;
    live.lookahead = options.lookahead;
    live.dvr_window = static_cast<uint64_t>(options.dvr_window) * 10000000;
    live.idle_stop_ms = static_cast<uint64_t>(options.ingest_idle_stop) * 1000;
    impl->live = std::make_unique<LivePoints>(impl->root, live, options.ingest_declared_only);
  }
  if (options.threads < 1 || options.threads > 64) {
    *error = "--threads must be 1..64";
    return nullptr;
  }
  if (options.port > 65535) {
    *error = "--port must be 0..65535";
    return nullptr;
  }
  std::string bind = options.bind == "localhost" ? "127.0.0.1" : options.bind;
  GObjectPtr<GInetAddress> addr(g_inet_address_new_from_string(bind.c_str()));
  if (!addr) {
    *error = "--bind " + options.bind + ": not an IPv4/IPv6 address";
    return nullptr;
  }

  unsigned port = options.port;
  for (unsigned i = 0; i < options.threads; i++) {
    auto loop = std::make_unique<Loop>();
    loop->origin = impl.get();
    loop->socket = ListenSocket(addr.get(), port, options.threads > 1, error);
    if (!loop->socket) {
      *error = "cannot listen on " + bind + ":" + std::to_string(port) + ": " + *error;
      return nullptr;
    }
    if (port == 0) {
      GObjectPtr<GSocketAddress> local(g_socket_get_local_address(loop->socket, nullptr));
      port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local.get()));
    }
    impl->loops.push_back(std::move(loop));
  }
  bool v6 = g_inet_address_get_family(addr.get()) == G_SOCKET_FAMILY_IPV6;
  impl->url = std::string("http://") + (v6 ? "[" : "") + bind + (v6 ? "]" : "") + ":" + std::to_string(port) + "/";

  // Loop 0 serves in the caller's thread; the others get a context and a
  // thread each and build their server inside it (libsoup attaches its
  // sources to the context that is thread-default where it is set up).
  Loop& first = *impl->loops[0];
  first.context = g_main_context_ref_thread_default();
  if (std::string e = first.Setup(); !e.empty()) {
    *error = "cannot listen: " + e;
    return nullptr;
  }
  for (size_t i = 1; i < impl->loops.size(); i++) {
    Loop* loop = impl->loops[i].get();
    loop->context = g_main_context_new();
    loop->main_loop = g_main_loop_new(loop->context, FALSE);
    std::promise<std::string> ready;
    std::future<std::string> setup = ready.get_future();
    loop->thread = std::thread([loop, ready = std::move(ready)]() mutable {
      g_main_context_push_thread_default(loop->context);
      std::string e = loop->Setup();
      ready.set_value(e);
      if (e.empty()) {
        g_main_loop_run(loop->main_loop);
        loop->drained = loop->Drain(2000);
      }
      g_main_context_pop_thread_default(loop->context);
    });
    if (std::string e = setup.get(); !e.empty()) {
      loop->thread.join();
      *error = "cannot listen: " + e;
      impl->loops.resize(i);
      Origin partial(std::move(impl));
      partial.Stop(0);
      return nullptr;
    }
  }
  return std::unique_ptr<Origin>(new Origin(std::move(impl)));
}

bool Origin::Stop(unsigned timeout_ms) {
  bool drained = true;
  for (size_t i = 1; i < impl_->loops.size(); i++) {
    Loop& l = *impl_->loops[i];
    if (l.thread.joinable()) {
      g_main_loop_quit(l.main_loop);
      l.thread.join();
      drained &= l.drained;
    }
  }
  if (!impl_->loops.empty()) drained &= impl_->loops[0]->Drain(timeout_ms);
  std::fflush(stdout);
  return drained;
}

std::vector<std::string> Origin::ListAssets() const {
  // Breadth-first and bounded: this is only for the start-up message.
  std::vector<std::string> found;
  std::vector<std::pair<std::string, int>> dirs = {{"", 0}};
  size_t visited = 0;
  for (size_t i = 0; i < dirs.size() && visited < 20000; i++) {
    std::string rel = dirs[i].first;
    std::string abs = impl_->root + (rel.empty() ? "" : "/" + rel);
    GDir* d = g_dir_open(abs.c_str(), 0, nullptr);
    if (!d) continue;
    while (const gchar* name = g_dir_read_name(d)) {
      if (++visited >= 20000) break;
      if (name[0] == '.') continue;
      std::string child = rel.empty() ? name : rel + "/" + name;
      std::string child_abs = abs + "/" + name;
      if (g_file_test(child_abs.c_str(), G_FILE_TEST_IS_SYMLINK)) continue;
      if (g_file_test(child_abs.c_str(), G_FILE_TEST_IS_DIR)) {
        if (dirs[i].second < 8) dirs.push_back({child, dirs[i].second + 1});
      } else if (IsIsmSegment(name)) {
        found.push_back(child);
      }
    }
    g_dir_close(d);
  }
  std::sort(found.begin(), found.end());
  return found;
}

std::string Origin::CountersLine() const {
  const Counters& c = impl_->counters;
  auto v = [](const std::atomic<uint64_t>& a) { return static_cast<guint64>(a.load()); };
  char line[1024];
  g_snprintf(line, sizeof line,
             "%" G_GUINT64_FORMAT " requests (2xx %" G_GUINT64_FORMAT ", 3xx %" G_GUINT64_FORMAT
             ", 4xx %" G_GUINT64_FORMAT ", 5xx %" G_GUINT64_FORMAT ", aborted %" G_GUINT64_FORMAT
             "), %" G_GUINT64_FORMAT " bytes; served %" G_GUINT64_FORMAT " manifests, %" G_GUINT64_FORMAT
             " fragments, %" G_GUINT64_FORMAT " FragmentInfo, %" G_GUINT64_FORMAT " KeyFrames, %" G_GUINT64_FORMAT
             " RawFragments; %" G_GUINT64_FORMAT " asset loads, %" G_GUINT64_FORMAT " fragment cache hits, %"
             G_GUINT64_FORMAT " pool jobs; %" G_GUINT64_FORMAT " idle connections closed, %" G_GUINT64_FORMAT
             " stalled connections closed",
             v(c.requests), v(c.status_2xx), v(c.status_3xx), v(c.status_4xx), v(c.status_5xx), v(c.aborted),
             v(c.bytes), v(c.manifests), v(c.fragments), v(c.fragment_infos), v(c.keyframes), v(c.raw_fragments),
             v(c.asset_loads), v(c.cache_hits), v(c.pool_jobs), v(c.idle_closed),
             v(c.stalled_closed));
  if (!impl_->live) return line;
  piff::LivePointCounters p = impl_->live->Counters();
  char live[1024];
  g_snprintf(live, sizeof live,
             "; live: %" G_GSIZE_FORMAT " points, %" G_GUINT64_FORMAT " ingest POSTs (%" G_GUINT64_FORMAT
             " refused, %" G_GUINT64_FORMAT " cut for a bad body, %" G_GUINT64_FORMAT " timed out), %"
             G_GUINT64_FORMAT " bytes in, fragments %" G_GUINT64_FORMAT " added %" G_GUINT64_FORMAT
             " duplicate %" G_GUINT64_FORMAT " out of order; points: %" G_GUINT64_FORMAT " streams opened, %"
             G_GUINT64_FORMAT " reconnects, %" G_GUINT64_FORMAT " refused headers, %" G_GUINT64_FORMAT
             " archive write errors; served %" G_GUINT64_FORMAT
             " live manifests, %" G_GUINT64_FORMAT " live fragments, %" G_GUINT64_FORMAT " not yet (412), %"
             G_GUINT64_FORMAT " out of window (410)",
             impl_->live->size(), v(c.ingest_posts), v(c.ingest_refused), v(c.ingest_failed), v(c.ingest_timeouts),
             v(c.ingest_bytes), v(c.ingest_fragments), v(c.ingest_duplicates), v(c.ingest_out_of_order),
             static_cast<guint64>(p.streams_opened), static_cast<guint64>(p.reconnects),
             static_cast<guint64>(p.refused_headers), static_cast<guint64>(p.archive_errors), v(c.live_manifests), v(c.live_fragments), v(c.live_not_yet),
             v(c.live_out_of_window));
  return std::string(line) + live;
}

}  // namespace gst_smooth
