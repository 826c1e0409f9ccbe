// Private to the development origin (origin.h): the types its files share.
//   origin_request.cc  request paths, conditional and Range headers, Resolve
//                      (request -> response, on a loop or on the pool)
//   origin_assets.cc   loaded assets, the asset cache, the fragment cache,
//                      non-blocking payload reads
//   origin_http.cc     the SoupServer callbacks: answering, streaming bodies,
//                      pool jobs, the request log
//   origin.cc          listening sockets, accepting, idle connections, the
//                      loops' life cycle and the Origin class
//   origin_live.cc     publishing points (origin_live.h) and live GETs
//   origin_ingest.cc   ingest POSTs: auth, the streamed body, timeouts
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "asset.h"
#include "cross_origin.h"
#include "keyframes.h"
#include "origin.h"

namespace gst_smooth {

// ------------------------------------------------------------ GLib RAII

struct GObjectUnref {
  void operator()(gpointer p) const {
    if (p) g_object_unref(p);
  }
};
template <class T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;

struct GBytesUnref {
  void operator()(GBytes* b) const {
    if (b) g_bytes_unref(b);
  }
};
using BytesPtr = std::unique_ptr<GBytes, GBytesUnref>;

struct GErrorFree {
  void operator()(GError* e) const {
    if (e) g_error_free(e);
  }
};
using ErrorPtr = std::unique_ptr<GError, GErrorFree>;

struct GFree {
  void operator()(gpointer p) const { g_free(p); }
};
using GCharPtr = std::unique_ptr<gchar, GFree>;

// GBytes that takes over a std::vector's storage without copying it.
GBytes* BytesFromVector(std::vector<uint8_t>&& v);
// gzip (origin_assets.cc); null on failure.
BytesPtr Gzip(const std::string& in);

inline int64_t NowUs() { return g_get_monotonic_time(); }

// GDestroyNotify for a C++ object.
template <class T>
void Delete(gpointer p) {
  delete static_cast<T*>(p);
}

// "NAME.ism" and "NAME.isml", case-insensitively.
using piff::IsIsmSegment;
using piff::IsIsmlSegment;

// ------------------------------------------------------------ files and reads

struct FileStamp {
  std::string path;
  bool exists = false;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp& o) const {
    return path == o.path && exists == o.exists && size == o.size && mtime_ns == o.mtime_ns;
  }
};

// A file descriptor that closes itself.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

enum class ReadStatus { kOk, kWouldBlock, kError };

// Reads the pieces of `fd` into one new buffer. With `nowait` nothing may
// block: data that is not in the page cache gives kWouldBlock (the caller
// retries on the pool). The buffer is not zero-filled first.
ReadStatus ReadPieces(int fd, const std::vector<piff::ByteRange>& pieces, bool nowait, BytesPtr* out,
                      std::string* error);

// ------------------------------------------------------------ assets

// One loaded .ism with everything a response needs. Immutable once built;
// shared by the requests that use it, so a response that started before a
// reload keeps reading the files it started with.
struct LoadedAsset {
  uint64_t id = 0;                      // unique per load (fragment cache keys)
  std::unique_ptr<piff::Asset> asset;
  std::string error;                    // non-empty: loading failed
  std::vector<FileStamp> stamps;        // what a reload check compares
  // Parallel to asset->media(): the origin's own descriptors for payload
  // reads (preadv2 straight into the response buffer; the core's
  // FileByteSource has no non-blocking read) and their stamps (ETags).
  std::vector<Fd> media_fds;
  std::vector<FileStamp> media_stamps;
  std::vector<std::string> media_last_modified;  // HTTP dates, formatted once
  BytesPtr manifest, manifest_gz;
  std::string manifest_etag;
  std::string manifest_last_modified;  // the newest of all the files
  // Parallel to asset->tracks(): the CustomAttributes of each track's
  // QualityLevel in the client manifest (what QualityLevels(b,k=v) names).
  std::vector<piff::AttributeList> track_attributes;
};

// The assets by absolute .ism path, and which request paths named them.
// A slot's mutex serialises (re)loads of one asset; different assets load in
// parallel on different pool threads.
class AssetCache {
 public:
  // How often a cached asset's files are stat()ed for changes, and a request
  // path is resolved again (realpath) on the pool.
  static constexpr int64_t kRecheckUs = 1000000;
  // How long a failed load is remembered before it is tried again.
  static constexpr int64_t kFailureTtlUs = 2000000;
  // Request paths remembered (distinct spellings through symlinked folders
  // could otherwise grow the map without bound).
  static constexpr size_t kMaxPaths = 4096;

  // Blocking (pool threads): the asset, loaded or reloaded when needed.
  std::shared_ptr<const LoadedAsset> Get(const std::string& ism_path, bool* loaded);
  // After a blocking resolution: `rel` (the request's path) names `ism_path`.
  void RememberPath(const std::string& rel, const std::string& ism_path);
  // Non-blocking (event loops): the loaded asset for a request path resolved
  // and checked within kRecheckUs, unless a pool thread is busy with it.
  // Null means "ask the pool".
  std::shared_ptr<const LoadedAsset> Peek(const std::string& rel);

 private:
  struct Slot {
    std::mutex mutex;
    std::shared_ptr<const LoadedAsset> current;
    int64_t checked_us = 0;
  };
  struct PathEntry {
    std::string ism_path;
    int64_t checked_us = 0;
  };
  std::shared_ptr<Slot> SlotFor(const std::string& ism_path);
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Slot>> slots_;  // one per existing .ism file
  std::map<std::string, PathEntry> paths_;
};

// Recently served fragment bodies (whole moof+mdat or moof byte ranges), so
// that popular fragments go to the socket without a read(): what a
// production origin's memory cache does. Bounded by bytes, least recently
// used first out; keyed by the load of the asset, so a reload never serves
// old bytes.
class FragmentCache {
 public:
  explicit FragmentCache(size_t max_bytes) : max_bytes_(max_bytes) {}
  BytesPtr Get(uint64_t asset_id, uint64_t offset, uint64_t size);
  void Put(uint64_t asset_id, uint64_t offset, uint64_t size, GBytes* data);

 private:
  struct Key {
    uint64_t asset_id, offset, size;
    bool operator<(const Key& o) const {
      return std::tie(asset_id, offset, size) < std::tie(o.asset_id, o.offset, o.size);
    }
  };
  struct Entry {
    Key key;
    BytesPtr data;
  };
  const size_t max_bytes_;
  std::mutex mutex_;
  std::list<Entry> lru_;
  std::map<Key, std::list<Entry>::iterator> index_;
  size_t bytes_ = 0;
};

// ------------------------------------------------------------ requests and responses

// Where a streamed body stands: the source ranges still to read.
struct BodyCursor {
  std::vector<piff::ByteRange> ranges;
  size_t index = 0;
  uint64_t pos = 0;  // within ranges[index]

  bool done() const { return index >= ranges.size(); }
  std::pair<size_t, uint64_t> Mark() const { return {index, pos}; }
  void Reset(std::pair<size_t, uint64_t> mark) { std::tie(index, pos) = mark; }
  // The next pieces, at most `max` bytes in all.
  std::vector<piff::ByteRange> Next(uint64_t max);
};

// If-None-Match: "*" or a list of (possibly weak) entity tags.
bool EtagMatches(const std::string& header, const std::string& etag);

// Byte ranges (RFC 9110 14): one part of a body, or the whole.
struct ByteSpan {
  uint64_t start = 0, size = 0;
};
enum class RangeAnswer { kWhole, kPartial, kUnsatisfiable };
// What the Range and If-Range request headers (null: absent) ask of a body
// of `length` bytes whose entity tag is `etag`: kPartial with *span for one
// satisfiable range (bytes=a-b, a-, -n), kUnsatisfiable (416) for one that
// starts at or past the end (or -0), and kWhole for everything else: no
// Range, another unit, several ranges, a malformed one (b < a included), or
// an If-Range other than exactly `etag` (a date never matches).
RangeAnswer ChooseRange(const char* range, const char* if_range, const std::string& etag, uint64_t length,
                        ByteSpan* span);
// "bytes A-B/LENGTH", the Content-Range of a 206.
std::string ContentRange(const ByteSpan& span, uint64_t length);
// Accept-Encoding allows gzip: listed (or "*") with a non-zero q.
bool AcceptsGzip(const char* header);

enum class Served { kOther, kManifest, kFragment, kFragmentInfo, kKeyFrames, kRawFragment };

// What a request asks, as copied out of the message for a pool thread.
struct RequestInfo {
  OriginRequest request;
  bool head = false;
  bool gzip_ok = false;
  std::string if_none_match;
  std::optional<std::string> range, if_range;
};

// The answer to a request.
struct Response {
  unsigned status = 500;
  std::string error;          // for error statuses: the body text
  Served served = Served::kOther;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  BytesPtr body;              // whole body (manifests)
  // A streamed body: `prefix` bytes, then `cursor`'s ranges of `fd`.
  std::shared_ptr<const LoadedAsset> asset;  // keeps `fd` open
  int fd = -1;
  std::vector<uint8_t> prefix;
  BodyCursor cursor;
  uint64_t length = 0;        // streamed body (of a 206: the part)
  BytesPtr first_chunk;       // already read from the cursor
  bool cache_hit = false;     // first_chunk came from the fragment cache
  bool asset_loaded = false;  // this request (re)loaded the asset
  // A whole plain byte range in first_chunk (a fragment cache entry): the
  // loop may answer the same path again from its hot table (Loop::ServeHot).
  bool hot = false;
  size_t media = 0;
  std::string etag;
};

// ------------------------------------------------------------ shared state

struct Counters {
  std::atomic<uint64_t> requests{0}, status_2xx{0}, status_3xx{0}, status_4xx{0}, status_5xx{0};
  std::atomic<uint64_t> aborted{0}, bytes{0}, manifests{0}, fragments{0}, fragment_infos{0}, keyframes{0},
      raw_fragments{0}, asset_loads{0}, pool_jobs{0}, cache_hits{0}, idle_closed{0}, stalled_closed{0};
  // Live: ingest POSTs (accepted, refused before the body, cut for a bad
  // body or a timeout), their bytes and fragments by fate; live GETs.
  std::atomic<uint64_t> ingest_posts{0}, ingest_refused{0}, ingest_failed{0}, ingest_timeouts{0}, ingest_bytes{0},
      ingest_fragments{0}, ingest_duplicates{0}, ingest_out_of_order{0}, live_manifests{0}, live_fragments{0},
      live_not_yet{0}, live_out_of_window{0};
};

struct Loop;
class LivePoints;
struct IngestSession;
struct LingeringClose;

struct Origin::Impl {
  OriginOptions options;
  std::string fragment_cache_control, manifest_cache_control;  // formatted once
  std::string root;  // canonical, no trailing '/'
  piff::CrossOrigin cors;
  // The bodies of /clientaccesspolicy.xml and /crossdomain.xml (empty: 404).
  std::string client_access_policy, cross_domain;
  std::string url;
  AssetCache cache;
  std::unique_ptr<FragmentCache> fragments;
  Counters counters;
  std::vector<std::unique_ptr<Loop>> loops;
  std::unique_ptr<LivePoints> live;  // the publishing points (origin_live.h)
  std::string live_manifest_cache_control;

  // Builds the response. With may_block false (on an event loop) it touches
  // no disk beyond a non-blocking read of cached pages, and returns false
  // when the answer needs more (an unchecked asset, a moof to rewrite, pages
  // not in memory): the caller then runs it again on the pool.
  bool Resolve(const RequestInfo& info, bool may_block, Response* out);
  void Log(SoupServerMessage* msg, bool aborted);
};

// ------------------------------------------------------------ event loops

// One client connection of a loop (origin.cc). The loop's list owns it and
// holds a ref on its socket until the socket is closed (by libsoup, or by
// the sweep when libsoup leaves it open); each request finds its connection
// through object data on `key`: the connection's local address object,
// which libsoup hands back as it was given
// (soup_server_message_get_local_address) for the connections this origin
// accepts, or libsoup's own GSocket for any it accepted itself.
struct Conn {
  GObjectPtr<GSocket> socket;
  GObjectPtr<GObject> key;
  std::string remote;          // the peer's address, for the log
  int64_t idle_since_us = 0;   // accepted, a request begun, the last response sent
  bool busy = false;           // between a request's headers and the end of its response
  bool draining = false;       // a response ended: the kernel may still be sending it
  bool closing = false;        // shut down (idle, stalled) or closed by the client
  // The send timeout (Loop::SweepConnections): the bytes the client had
  // acknowledged at the last look, and when it last took any (or had
  // nothing waiting for it).
  uint64_t acked = 0;
  int64_t progress_us = 0;
  ~Conn();
};

// Per-request bookkeeping for the log line, attached to every message.
struct RequestLog {
  // When the request line arrived: at request-started when its bytes were
  // waiting already, else when its headers were in (libsoup starts a
  // connection's first message when it accepts it; 0 until then).
  // started_us stands in when no headers ever came (a request line libsoup
  // refused itself). -1 once logged.
  int64_t start_us = 0;
  int64_t started_us = 0;
  uint64_t bytes = 0;
  unsigned status = 0;  // what we answered; libsoup turns it into 500 when the client hangs up
  std::string remote;   // taken early: a reset connection no longer has an address
  Served served = Served::kOther;
  bool counting = false;  // bytes counted as written (wrote-body-data)
};

// The state of one request and its response, created when the request
// starts and owned by its message (object data), so it lives exactly as
// long as the message. Pool jobs hold a message ref.
struct Transfer {
  RequestLog log;
  Loop* loop = nullptr;
  Conn* conn = nullptr;              // null for a connection the loop does not know
  SoupServerMessage* msg = nullptr;  // not a ref: the message owns us
  bool finished = false;             // the message is done (or its connection gone)
  bool paused = false;               // we paused it (waiting for the pool)
  std::shared_ptr<const LoadedAsset> asset;
  int fd = -1;
  BodyCursor cursor;
  int queued = 0;        // chunks appended, not yet written
  bool reading = false;  // a chunk read is in flight on the pool
};

struct Loop {
  Origin::Impl* origin = nullptr;
  GMainContext* context = nullptr;  // owned ref
  GMainLoop* main_loop = nullptr;   // extra loops only
  SoupServer* server = nullptr;
  GSocket* socket = nullptr;        // owned ref, bound and listening
  std::thread thread;
  unsigned pending = 0;             // pool jobs in flight (this loop's thread only)
  bool drained = true;              // extra loops: what Drain said at exit
  GSource* accept_source = nullptr;  // the acceptor (see StartAccepting)
  GSource* retry_source = nullptr;   // re-arms it after running out of descriptors
  int64_t warned_us = 0;             // last "out of descriptors" message
  // The open connections, checked for idling by `sweep_source`.
  std::vector<std::unique_ptr<Conn>> conns;
  GSource* sweep_source = nullptr;

  // The hot table: request paths (raw) recently answered from the fragment
  // cache, with what their answer needs besides the bytes. A repeated GET
  // skips URL parsing and resolution; the entry is used only while it names
  // the asset load that AssetCache::Peek still returns (checked within the
  // last second, not reloaded) and the fragment cache still has the bytes,
  // so it answers exactly what Resolve would. This thread only.
  struct HotEntry {
    std::string asset_path;               // for AssetCache::Peek
    std::weak_ptr<const LoadedAsset> asset;  // weak: never keeps an old load open
    Served served = Served::kOther;
    std::string content_type, etag;
    size_t media = 0;
    uint64_t offset = 0, size = 0;
  };
  static constexpr size_t kMaxHot = 4096;
  std::unordered_map<std::string, HotEntry> hot;

  ~Loop();

  // origin.cc: the server, accepting, shutting down.
  std::string Setup();
  void StartAccepting();
  void StopAccepting();  // also stops the sweep
  gboolean AcceptPending();
  // The connection of a request (see Conn); null when unknown.
  Conn* ConnOf(SoupServerMessage* msg);
  // Closes the connections idle for longer than --idle-timeout, and those
  // whose client has taken no byte for --send-timeout, and forgets those
  // libsoup has closed.
  void SweepConnections();
  // SweepConnections for one open connection not closing yet.
  void Check(Conn& c, int64_t now, int64_t idle_us, int64_t send_us);
  // Closes the connections and waits for this loop's pool jobs; false when
  // some are still running at the deadline.
  bool Drain(unsigned timeout_ms);

  // The ingest POSTs in progress on this loop (their messages own them),
  // checked for --ingest-timeout by the sweep.
  std::vector<IngestSession*> ingests;
  // Connections answered early, being drained before their close.
  std::vector<std::unique_ptr<LingeringClose>> lingering;

  // origin_http.cc: answering requests.
  void Handle(SoupServerMessage* msg, const char* path);
  bool ServeHot(SoupServerMessage* msg, const std::string& path);
  // /clientaccesspolicy.xml, /crossdomain.xml; false for other paths.
  bool ServePolicyFile(SoupServerMessage* msg, const std::string& path);
  void RememberHot(const std::string& path, const RequestInfo& info, const Response& r);
  void Respond(SoupServerMessage* msg, Response* r);
  void MaybeRead(Transfer* t);
  void Abort(Transfer* t, const std::string& why);
};

// origin_http.cc: connects the request handlers and signals to a loop's server.
void ConnectHandlers(Loop* loop);
// origin_http.cc: the request's state (null before request-started), and an
// error answer with a text/plain body (and its status in the log).
Transfer* TransferOf(SoupServerMessage* msg);
void RespondError(SoupServerMessage* msg, unsigned status, const std::string& why);

// origin_ingest.cc: POSTs. From the early handler (headers in, body not
// read): refuses or starts an ingest; true when it took the request.
bool StartIngest(Loop* loop, SoupServerMessage* msg, const char* path);
// From the handler: the body has ended.
void FinishIngest(Loop* loop, SoupServerMessage* msg);
// The message is done or its connection gone (request-finished/aborted).
void EndIngest(SoupServerMessage* msg);
// --ingest-timeout for this loop's POSTs (from the sweep).
void SweepIngests(Loop* loop);
// origin_live.cc: a GET or HEAD of NAME.isml/...
void ServeLive(Loop* loop, SoupServerMessage* msg, const RequestInfo& info);

}  // namespace gst_smooth
