// The development origin of `gst-smooth serve`: URL parsing, the asset cache,
// non-blocking reads on the loops with the GTask thread pool behind them, and
// the SoupServer handlers that stream fragment bodies chunk by chunk (see
// origin.h for the design).
#include "origin.h"

#include <fcntl.h>
#include <libsoup/soup.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <future>
#include <limits>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <tuple>
#include <unordered_map>

#include "asset.h"
#include "keyframes.h"
#include "media_index.h"

namespace gst_smooth {

namespace {

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

// GBytes that takes over a std::vector's storage without copying it. The
// vector moves to the heap because GLib, not C++ scope, decides when the last
// reference goes.
GBytes* BytesFromVector(std::vector<uint8_t>&& v) {
  auto owner = std::make_unique<std::vector<uint8_t>>(std::move(v));
  const uint8_t* data = owner->data();
  size_t size = owner->size();
  return g_bytes_new_with_free_func(
      data, size, [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); }, owner.release());
}

int64_t NowUs() { return g_get_monotonic_time(); }

}  // namespace

// ------------------------------------------------------------ request paths

bool ParseDecimalU64(const std::string& s, uint64_t* out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  *out = v;
  return true;
}

bool ParseDecimalU32(const std::string& s, uint32_t* out) {
  uint64_t v = 0;
  if (!ParseDecimalU64(s, &v) || v > std::numeric_limits<uint32_t>::max()) return false;
  *out = static_cast<uint32_t>(v);
  return true;
}

namespace {

bool StartsWithNoCase(const std::string& s, const char* prefix) {
  size_t n = std::strlen(prefix);
  return s.size() >= n && g_ascii_strncasecmp(s.c_str(), prefix, n) == 0;
}

bool IsIsmSegment(const std::string& seg) {
  return seg.size() > 4 && g_ascii_strcasecmp(seg.c_str() + seg.size() - 4, ".ism") == 0;
}

// "Name(inner)" -> inner; false when the parentheses are missing or the
// segment has text after the closing one.
bool SplitCall(const std::string& seg, std::string* name, std::string* inner) {
  size_t open = seg.find('(');
  if (open == std::string::npos || seg.back() != ')' || open + 1 > seg.size() - 1) return false;
  *name = seg.substr(0, open);
  *inner = seg.substr(open + 1, seg.size() - open - 2);
  return inner->find('(') == std::string::npos && inner->find(')') == std::string::npos;
}

}  // namespace

unsigned ParseRequestPath(const std::string& raw_path, OriginRequest* out, std::string* why) {
  *out = OriginRequest();
  if (raw_path.empty() || raw_path[0] != '/') {
    *why = "the path does not start with '/'";
    return 400;
  }
  // An encoded '/' (or NUL) would let one segment name a different file than
  // it appears to: refuse it rather than guess.
  GCharPtr decoded(g_uri_unescape_string(raw_path.c_str(), "/"));
  if (!decoded) {
    *why = "bad percent-encoding (or an encoded '/' or NUL)";
    return 400;
  }
  std::vector<std::string> segs;
  for (const char* p = decoded.get(); *p;) {
    const char* slash = std::strchr(p, '/');
    size_t n = slash ? static_cast<size_t>(slash - p) : std::strlen(p);
    if (n) segs.emplace_back(p, n);  // "//" is folded, as web servers do
    p += n;
    if (*p == '/') p++;
  }
  size_t ism = segs.size();
  for (size_t i = 0; i < segs.size(); i++)
    if (IsIsmSegment(segs[i])) {
      ism = i;
      break;
    }
  for (size_t i = 0; i < std::min(ism + 1, segs.size()); i++)
    if (segs[i] == "." || segs[i] == "..") {
      *why = "'.' and '..' segments are not allowed";
      return 400;
    }
  if (ism == segs.size()) {
    *why = "no NAME.ism segment in the path";
    return 404;
  }
  for (size_t i = 0; i <= ism; i++) out->asset_path += (i ? "/" : "") + segs[i];
  std::vector<std::string> rest(segs.begin() + ism + 1, segs.end());
  if (rest.size() == 1 && g_ascii_strcasecmp(rest[0].c_str(), "Manifest") == 0) {
    out->kind = OriginRequest::Kind::kManifest;
    return 0;
  }
  if (rest.empty() || !StartsWithNoCase(rest[0], "QualityLevels")) {
    *why = rest.empty() ? "the path ends at the .ism (try .../Manifest)" : "unknown resource '" + rest[0] + "'";
    return 404;
  }

  // QualityLevels(bitrate[,key=value...])
  std::string name, inner;
  if (!SplitCall(rest[0], &name, &inner) || g_ascii_strcasecmp(name.c_str(), "QualityLevels") != 0) {
    *why = "malformed QualityLevels(...) segment";
    return 400;
  }
  std::vector<std::string> parts;
  for (size_t start = 0;;) {
    size_t comma = inner.find(',', start);
    parts.push_back(inner.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (!ParseDecimalU32(parts[0], &out->bitrate)) {
    *why = "QualityLevels bitrate \"" + parts[0] + "\" is not a decimal uint32";
    return 400;
  }
  for (size_t i = 1; i < parts.size(); i++) {
    size_t eq = parts[i].find('=');
    if (eq == std::string::npos || eq == 0) {
      *why = "QualityLevels attribute \"" + parts[i] + "\" is not key=value";
      return 400;
    }
    out->attributes.emplace_back(parts[i].substr(0, eq), parts[i].substr(eq + 1));
  }
  if (rest.size() != 2) {
    *why = rest.size() < 2 ? "QualityLevels(...) without a fragment noun" : "extra segments after the fragment";
    return 404;
  }

  // Noun(name=time)
  if (!SplitCall(rest[1], &name, &inner)) {
    *why = "malformed fragment segment (expected Noun(name=time))";
    return 400;
  }
  size_t eq = inner.find('=');
  if (eq == std::string::npos || eq == 0) {
    *why = "fragment segment without name=time";
    return 400;
  }
  out->track_name = inner.substr(0, eq);
  if (!ParseDecimalU64(inner.substr(eq + 1), &out->time)) {
    *why = "fragment time \"" + inner.substr(eq + 1) + "\" is not a decimal uint64";
    return 400;
  }
  out->kind = OriginRequest::Kind::kFragment;
  if (g_ascii_strcasecmp(name.c_str(), "Fragments") == 0) {
    out->noun = OriginRequest::Noun::kFragments;
  } else if (g_ascii_strcasecmp(name.c_str(), "FragmentInfo") == 0) {
    out->noun = OriginRequest::Noun::kFragmentInfo;
  } else if (g_ascii_strcasecmp(name.c_str(), "KeyFrames") == 0) {
    out->noun = OriginRequest::Noun::kKeyFrames;
  } else if (g_ascii_strcasecmp(name.c_str(), "RawFragments") == 0) {
    out->noun = OriginRequest::Noun::kRawFragments;
  } else {
    *why = "unknown fragment noun '" + name + "'";
    return 404;
  }
  return 0;
}

// ------------------------------------------------------------ assets

namespace {

struct FileStamp {
  std::string path;
  bool exists = false;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  bool operator==(const FileStamp& o) const {
    return path == o.path && exists == o.exists && size == o.size && mtime_ns == o.mtime_ns;
  }
};

FileStamp StampOf(const std::string& path, const struct stat& st) {
  FileStamp s;
  s.path = path;
  if (S_ISREG(st.st_mode)) {
    s.exists = true;
    s.size = static_cast<uint64_t>(st.st_size);
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  return s;
}

FileStamp Stamp(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return FileStamp{path};
  return StampOf(path, st);
}

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

// gzip with GIO's zlib converter; the manifest is compressed once per load.
BytesPtr Gzip(const std::string& in) {
  GObjectPtr<GZlibCompressor> z(g_zlib_compressor_new(G_ZLIB_COMPRESSOR_FORMAT_GZIP, 6));
  std::vector<uint8_t> out(in.size() / 4 + 256);
  size_t in_pos = 0, out_pos = 0;
  for (;;) {
    if (out_pos == out.size()) out.resize(out.size() * 2);
    gsize nread = 0, nwritten = 0;
    GError* raw_err = nullptr;
    GConverterResult r = g_converter_convert(G_CONVERTER(z.get()), in.data() + in_pos, in.size() - in_pos,
                                             out.data() + out_pos, out.size() - out_pos, G_CONVERTER_INPUT_AT_END,
                                             &nread, &nwritten, &raw_err);
    ErrorPtr err(raw_err);
    if (r == G_CONVERTER_ERROR) {
      if (g_error_matches(err.get(), G_IO_ERROR, G_IO_ERROR_NO_SPACE)) {
        out.resize(out.size() * 2);
        continue;
      }
      return nullptr;
    }
    in_pos += nread;
    out_pos += nwritten;
    if (r == G_CONVERTER_FINISHED) break;
  }
  out.resize(out_pos);
  return BytesPtr(BytesFromVector(std::move(out)));
}

std::string DirName(const std::string& path) {
  GCharPtr d(g_path_get_dirname(path.c_str()));
  return d.get();
}

std::string Canonical(const std::string& path, const std::string& base) {
  GCharPtr c(g_canonicalize_filename(path.c_str(), base.empty() ? nullptr : base.c_str()));
  return c.get();
}

std::string HttpDate(int64_t unix_seconds) {
  GDateTime* dt = g_date_time_new_from_unix_utc(unix_seconds);
  if (!dt) return "";
  GCharPtr s(soup_date_time_to_string(dt, SOUP_DATE_HTTP));
  g_date_time_unref(dt);
  return s.get();
}

// ------------------------------------------------------------ reading payloads

enum class ReadStatus { kOk, kWouldBlock, kError };

// preadv2(RWF_NOWAIT) fails instead of waiting for the disk; where the file
// system does not support it, the loops stop trying and use the pool.
std::atomic<bool> g_nowait_reads{true};

// Reads the pieces of `fd` into one new buffer. With `nowait` nothing may
// block: data that is not in the page cache gives kWouldBlock (the caller
// retries on the pool). The buffer is not zero-filled first.
ReadStatus ReadPieces(int fd, const std::vector<piff::ByteRange>& pieces, bool nowait, BytesPtr* out,
                      std::string* error) {
  if (nowait && !g_nowait_reads.load(std::memory_order_relaxed)) return ReadStatus::kWouldBlock;
  uint64_t total = 0;
  for (const auto& p : pieces) total += p.size;
  std::unique_ptr<uint8_t, GFree> buf(static_cast<uint8_t*>(g_malloc(total ? total : 1)));
  uint64_t at = 0;
  for (const auto& p : pieces) {
    uint64_t done = 0;
    while (done < p.size) {
      struct iovec v = {buf.get() + at + done, static_cast<size_t>(p.size - done)};
      off_t off = static_cast<off_t>(p.offset + done);
      ssize_t n = nowait ? preadv2(fd, &v, 1, off, RWF_NOWAIT) : pread(fd, v.iov_base, v.iov_len, off);
      if (n < 0 && errno == EINTR) continue;
      if (nowait && n < 0 && errno != EAGAIN) g_nowait_reads = false;  // EOPNOTSUPP and friends
      if (nowait && (n < 0 || static_cast<size_t>(n) < v.iov_len)) return ReadStatus::kWouldBlock;
      if (n <= 0) {
        *error = "read at " + std::to_string(off) + ": " + (n < 0 ? std::strerror(errno) : "unexpected end of file");
        return ReadStatus::kError;
      }
      done += static_cast<uint64_t>(n);
    }
    at += p.size;
  }
  out->reset(g_bytes_new_take(buf.release(), total));
  return ReadStatus::kOk;
}

}  // namespace

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
};

namespace {

std::shared_ptr<const LoadedAsset> LoadAsset(const std::string& ism_path) {
  static std::atomic<uint64_t> next_id{1};
  auto la = std::make_shared<LoadedAsset>();
  la->id = next_id++;
  la->stamps.push_back(Stamp(ism_path));
  piff::Status s = piff::Asset::Load(ism_path, &la->asset);
  if (!s) {
    la->error = s.message();
    la->asset.reset();
    return la;
  }
  const piff::Asset& a = *la->asset;
  std::string dir = DirName(ism_path);
  std::string ismc_rel = a.server_manifest().client_manifest_relative_path();
  if (!ismc_rel.empty()) la->stamps.push_back(Stamp(Canonical(ismc_rel, dir)));
  for (const piff::AssetMedia& m : a.media()) {
    Fd fd(::open(m.path.c_str(), O_RDONLY | O_CLOEXEC));
    struct stat st;
    if (fd.get() < 0 || fstat(fd.get(), &st) != 0) {
      la->error = m.path + ": " + std::strerror(errno);
      la->asset.reset();
      return la;
    }
    la->media_stamps.push_back(StampOf(m.path, st));
    la->stamps.push_back(la->media_stamps.back());
    la->media_fds.push_back(std::move(fd));
  }
  int64_t newest = 0;
  for (const FileStamp& st : la->stamps) newest = std::max<int64_t>(newest, st.mtime_ns / 1000000000);
  la->manifest_last_modified = HttpDate(newest);
  for (const FileStamp& st : la->media_stamps) la->media_last_modified.push_back(HttpDate(st.mtime_ns / 1000000000));
  const std::string& xml = a.client_manifest_xml();
  la->manifest.reset(g_bytes_new(xml.data(), xml.size()));
  la->manifest_gz = Gzip(xml);
  GCharPtr sum(g_compute_checksum_for_data(G_CHECKSUM_SHA1, reinterpret_cast<const guchar*>(xml.data()),
                                           xml.size()));
  la->manifest_etag = std::string(sum.get()).substr(0, 20);
  return la;
}

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
  std::shared_ptr<const LoadedAsset> Get(const std::string& ism_path, bool* loaded) {
    *loaded = false;
    std::shared_ptr<Slot> slot = SlotFor(ism_path);
    std::lock_guard<std::mutex> g(slot->mutex);
    int64_t now = NowUs();
    if (slot->current) {
      if (!slot->current->error.empty()) {
        if (now - slot->checked_us < kFailureTtlUs && Stamp(ism_path) == slot->current->stamps[0])
          return slot->current;
      } else if (now - slot->checked_us < kRecheckUs) {
        return slot->current;
      } else {
        bool same = true;
        for (const FileStamp& st : slot->current->stamps) same = same && Stamp(st.path) == st;
        if (same) {
          slot->checked_us = now;
          return slot->current;
        }
      }
    }
    slot->current = LoadAsset(ism_path);
    slot->checked_us = NowUs();
    *loaded = true;
    return slot->current;
  }

  // After a blocking resolution: `rel` (the request's path) names `ism_path`.
  void RememberPath(const std::string& rel, const std::string& ism_path) {
    std::lock_guard<std::mutex> g(mutex_);
    if (paths_.size() >= kMaxPaths && !paths_.count(rel)) paths_.clear();
    paths_[rel] = {ism_path, NowUs()};
  }

  // Non-blocking (event loops): the loaded asset for a request path resolved
  // and checked within kRecheckUs, unless a pool thread is busy with it.
  // Null means "ask the pool".
  std::shared_ptr<const LoadedAsset> Peek(const std::string& rel) {
    std::shared_ptr<Slot> slot;
    int64_t now = NowUs();
    {
      std::lock_guard<std::mutex> g(mutex_);
      auto p = paths_.find(rel);
      if (p == paths_.end() || now - p->second.checked_us >= kRecheckUs) return nullptr;
      auto s = slots_.find(p->second.ism_path);
      if (s == slots_.end()) return nullptr;
      slot = s->second;
    }
    std::unique_lock<std::mutex> lock(slot->mutex, std::try_to_lock);
    if (!lock.owns_lock() || !slot->current || !slot->current->error.empty() ||
        now - slot->checked_us >= kRecheckUs)
      return nullptr;
    return slot->current;
  }

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
  std::shared_ptr<Slot> SlotFor(const std::string& ism_path) {
    std::lock_guard<std::mutex> g(mutex_);
    auto& s = slots_[ism_path];
    if (!s) s = std::make_shared<Slot>();
    return s;
  }
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

  BytesPtr Get(uint64_t asset_id, uint64_t offset, uint64_t size) {
    if (!max_bytes_) return nullptr;
    std::lock_guard<std::mutex> g(mutex_);
    auto it = index_.find(Key{asset_id, offset, size});
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return BytesPtr(g_bytes_ref(it->second->data.get()));
  }

  void Put(uint64_t asset_id, uint64_t offset, uint64_t size, GBytes* data) {
    if (!max_bytes_ || size > max_bytes_ / 8) return;
    std::lock_guard<std::mutex> g(mutex_);
    Key key{asset_id, offset, size};
    if (index_.count(key)) return;
    lru_.push_front(Entry{key, BytesPtr(g_bytes_ref(data))});
    index_[key] = lru_.begin();
    bytes_ += size;
    while (bytes_ > max_bytes_ && !lru_.empty()) {
      bytes_ -= lru_.back().key.size;
      index_.erase(lru_.back().key);
      lru_.pop_back();
    }
  }

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

// Where a streamed body stands: the source ranges still to read.
struct BodyCursor {
  std::vector<piff::ByteRange> ranges;
  size_t index = 0;
  uint64_t pos = 0;  // within ranges[index]

  bool done() const { return index >= ranges.size(); }
  std::pair<size_t, uint64_t> Mark() const { return {index, pos}; }
  void Reset(std::pair<size_t, uint64_t> mark) { std::tie(index, pos) = mark; }
  // The next pieces, at most `max` bytes in all.
  std::vector<piff::ByteRange> Next(uint64_t max) {
    std::vector<piff::ByteRange> pieces;
    while (max > 0 && !done()) {
      const piff::ByteRange& r = ranges[index];
      uint64_t n = std::min(max, r.size - pos);
      if (n) pieces.push_back({r.offset + pos, n});
      pos += n;
      max -= n;
      if (pos == r.size) {
        index++;
        pos = 0;
      }
    }
    return pieces;
  }
};

// If-None-Match: "*" or a list of (possibly weak) entity tags.
bool EtagMatches(const std::string& header, const std::string& etag) {
  if (header.empty()) return false;
  GSList* list = soup_header_parse_list(header.c_str());
  bool hit = false;
  for (GSList* l = list; l && !hit; l = l->next) {
    const char* v = static_cast<const char*>(l->data);
    if (g_str_has_prefix(v, "W/")) v += 2;
    hit = std::strcmp(v, "*") == 0 || etag == v;
  }
  soup_header_free_list(list);
  return hit;
}

// Accept-Encoding allows gzip: listed (or "*") with a non-zero q.
bool AcceptsGzip(const char* header) {
  if (!header) return false;
  GSList* unacceptable = nullptr;
  GSList* acceptable = soup_header_parse_quality_list(header, &unacceptable);
  bool gzip_refused = false, gzip = false, star = false;
  for (GSList* l = unacceptable; l; l = l->next) {
    const char* v = static_cast<const char*>(l->data);
    gzip_refused |= !g_ascii_strcasecmp(v, "gzip") || !g_ascii_strcasecmp(v, "x-gzip");
  }
  for (GSList* l = acceptable; l; l = l->next) {
    const char* v = static_cast<const char*>(l->data);
    gzip |= !g_ascii_strcasecmp(v, "gzip") || !g_ascii_strcasecmp(v, "x-gzip");
    star |= !std::strcmp(v, "*");
  }
  soup_header_free_list(acceptable);
  soup_header_free_list(unacceptable);
  return gzip || (star && !gzip_refused);
}

enum class Served { kOther, kManifest, kFragment, kFragmentInfo, kKeyFrames, kRawFragment };

// What a request asks, as copied out of the message for a pool thread.
struct RequestInfo {
  OriginRequest request;
  bool head = false;
  bool gzip_ok = false;
  std::string if_none_match;
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
  uint64_t length = 0;        // whole streamed body
  BytesPtr first_chunk;       // already read from the cursor
  bool cache_hit = false;     // first_chunk came from the fragment cache
  bool asset_loaded = false;  // this request (re)loaded the asset
  // A whole plain byte range in first_chunk (a fragment cache entry): the
  // loop may answer the same path again from its hot table (Loop::ServeHot).
  bool hot = false;
  size_t media = 0;
  std::string etag;
};

}  // namespace

// ------------------------------------------------------------ shared state

struct Counters {
  std::atomic<uint64_t> requests{0}, status_2xx{0}, status_3xx{0}, status_4xx{0}, status_5xx{0};
  std::atomic<uint64_t> aborted{0}, bytes{0}, manifests{0}, fragments{0}, fragment_infos{0}, keyframes{0},
      raw_fragments{0}, asset_loads{0}, pool_jobs{0}, cache_hits{0};
};

struct Loop;

struct Origin::Impl {
  OriginOptions options;
  std::string fragment_cache_control, manifest_cache_control;  // formatted once
  std::string root;  // canonical, no trailing '/'
  std::string url;
  AssetCache cache;
  std::unique_ptr<FragmentCache> fragments;
  Counters counters;
  std::vector<std::unique_ptr<Loop>> loops;

  // Builds the response. With may_block false (on an event loop) it touches
  // no disk beyond a non-blocking read of cached pages, and returns false
  // when the answer needs more (an unchecked asset, a moof to rewrite, pages
  // not in memory): the caller then runs it again on the pool.
  bool Resolve(const RequestInfo& info, bool may_block, Response* out);
  void Log(SoupServerMessage* msg, bool aborted);
};

namespace {

bool SetError(Response* r, unsigned status, const std::string& why) {
  r->status = status;
  r->error = why;
  return true;
}

const char* ContentTypeOf(const piff::AssetTrack& t, OriginRequest::Noun noun) {
  if (noun == OriginRequest::Noun::kRawFragments) return "application/octet-stream";
  return t.kind == "audio" ? "audio/mp4" : "video/mp4";
}

}  // namespace

bool Origin::Impl::Resolve(const RequestInfo& info, bool may_block, Response* out) {
  const OriginRequest& req = info.request;
  std::shared_ptr<const LoadedAsset> la;
  if (!may_block) {
    if (!(la = cache.Peek(req.asset_path))) return false;
  } else {
    // Resolve symlinks too: a link inside the root must not reach outside it.
    std::string joined = root + "/" + req.asset_path;
    GCharPtr real(realpath(joined.c_str(), nullptr));
    std::string ism = real ? real.get() : "";
    struct stat st;
    if (ism.compare(0, root.size() + 1, root + "/") != 0 || ::stat(ism.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
      return SetError(out, 404, "no such asset: " + req.asset_path);
    cache.RememberPath(req.asset_path, ism);
    la = cache.Get(ism, &out->asset_loaded);
    if (!la->error.empty()) return SetError(out, 500, "cannot load " + req.asset_path + ": " + la->error);
  }
  const piff::Asset& asset = *la->asset;

  if (req.kind == OriginRequest::Kind::kManifest) {
    out->served = Served::kManifest;
    bool gz = info.gzip_ok && la->manifest_gz;
    std::string etag = "\"" + la->manifest_etag + (gz ? "-gz" : "") + "\"";
    out->content_type = "text/xml";
    out->headers = {{"ETag", etag},
                    {"Last-Modified", la->manifest_last_modified},
                    {"Cache-Control", manifest_cache_control},
                    {"Vary", "Accept-Encoding"}};
    if (gz) out->headers.emplace_back("Content-Encoding", "gzip");
    if (EtagMatches(info.if_none_match, etag)) {
      out->status = 304;
      return true;
    }
    out->status = 200;
    out->body.reset(g_bytes_ref(gz ? la->manifest_gz.get() : la->manifest.get()));
    return true;
  }

  const piff::AssetTrack* track = asset.FindTrack(req.bitrate, req.track_name);
  if (!track)
    return SetError(out, 404, "no track \"" + req.track_name + "\" at QualityLevels(" +
                                  std::to_string(req.bitrate) + ")");
  ptrdiff_t fi = track->track->FindFragment(req.time);
  if (fi < 0 || track->track->fragments[fi].end_offset == 0)
    return SetError(out, 404, "no " + req.track_name + " fragment at time " + std::to_string(req.time));
  const piff::IndexedFragment& frag = track->track->fragments[fi];
  using Noun = OriginRequest::Noun;
  // Anything but a plain byte range of the file needs the moof read and
  // rewritten: pool work.
  bool plain = !frag.shared_moof && (req.noun == Noun::kFragments || req.noun == Noun::kFragmentInfo);
  if (!may_block && !plain) return false;
  const piff::AssetMedia& media = asset.media()[track->media];
  piff::FileByteSource& src = *media.source;
  const piff::MovieBox* moov = media.index.moov ? &*media.index.moov : nullptr;
  const FileStamp& ms = la->media_stamps[track->media];

  piff::FragmentBody body;
  piff::Status s;
  char noun_tag = 'F';
  switch (req.noun) {
    case Noun::kFragments:
      out->served = Served::kFragment;
      if (plain)
        body.ranges.push_back({frag.moof_offset, frag.end_offset - frag.moof_offset});
      else
        s = piff::BuildTrackFragment(src, moov, frag, track->track_id, piff::SampleSelection::kAll, &body);
      break;
    case Noun::kFragmentInfo:
      out->served = Served::kFragmentInfo;
      noun_tag = 'I';
      if (plain) {
        body.ranges.push_back({frag.moof_offset, frag.moof_size});
      } else if ((s = piff::BuildTrackFragment(src, moov, frag, track->track_id, piff::SampleSelection::kAll,
                                               &body))) {
        body.header.resize(body.moof_size);
        body.ranges.clear();
      }
      break;
    case Noun::kKeyFrames:
      out->served = Served::kKeyFrames;
      noun_tag = 'K';
      if (frag.sync_samples == 0)
        return SetError(out, 404, "the " + req.track_name + " fragment at " + std::to_string(req.time) +
                                      " has no keyframe");
      s = piff::BuildKeyFramesFragment(src, moov, frag, track->track_id, &body);
      break;
    case Noun::kRawFragments:
      out->served = Served::kRawFragment;
      noun_tag = 'R';
      if ((s = piff::BuildTrackFragment(src, moov, frag, track->track_id, piff::SampleSelection::kAll, &body)))
        body.header.clear();
      break;
  }
  if (!s) return SetError(out, 500, "cannot build the response: " + s.message());

  // The entity tag names the file version (size, mtime), the fragment, the
  // track and the noun, so a changed file never revalidates an old copy.
  char etag[128];
  g_snprintf(etag, sizeof etag, "\"%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x-%x%c\"",
             static_cast<guint64>(ms.size), static_cast<guint64>(ms.mtime_ns),
             static_cast<guint64>(frag.moof_offset), track->track_id, noun_tag);
  out->content_type = ContentTypeOf(*track, req.noun);
  out->headers = {{"ETag", etag},
                  {"Last-Modified", la->media_last_modified[track->media]},
                  {"Cache-Control", fragment_cache_control}};
  out->media = track->media;
  out->etag = etag;
  if (EtagMatches(info.if_none_match, etag)) {
    out->status = 304;
    return true;
  }
  out->status = 200;
  out->asset = la;
  out->fd = la->media_fds[track->media].get();
  out->length = body.size();
  out->prefix = std::move(body.header);
  out->cursor.ranges = std::move(body.ranges);
  if (info.head || out->cursor.done()) return true;
  // A plain range of at most kMaxCachedBody is read whole and kept in the
  // fragment cache; anything else streams in kChunkSize pieces. Either way
  // the first read comes with the lookup, without a pool round trip when the
  // pages are in the page cache.
  bool cacheable = plain && out->length <= kMaxCachedBody;
  if (cacheable) {
    const piff::ByteRange& r = out->cursor.ranges[0];
    if ((out->first_chunk = fragments->Get(la->id, r.offset, r.size))) {
      out->cursor.Next(r.size);
      out->cache_hit = true;
      out->hot = true;
      return true;
    }
  }
  std::string err;
  ReadStatus r = ReadPieces(out->fd, out->cursor.Next(cacheable ? kMaxCachedBody : kChunkSize), !may_block,
                            &out->first_chunk, &err);
  if (r == ReadStatus::kWouldBlock) return false;
  if (r == ReadStatus::kError) return SetError(out, 500, err);
  if (cacheable) {
    fragments->Put(la->id, out->cursor.ranges[0].offset, out->cursor.ranges[0].size, out->first_chunk.get());
    out->hot = true;
  }
  return true;
}

// ------------------------------------------------------------ event loops

namespace {

// Per-request bookkeeping for the log line, attached to every message.
struct RequestLog {
  int64_t start_us = 0;
  uint64_t bytes = 0;
  unsigned status = 0;  // what we answered; libsoup turns it into 500 when the client hangs up
  std::string remote;   // taken early: a reset connection no longer has an address
  Served served = Served::kOther;
  bool counting = false;  // bytes counted as written (wrote-body-data)
};

// Object data by quark: g_object_get_data() would look the string up in
// GLib's global quark table (under a lock) on every call.
GQuark TransferQuark() {
  static const GQuark q = g_quark_from_static_string("gst-smooth-transfer");
  return q;
}
GQuark RemoteQuark() {
  static const GQuark q = g_quark_from_static_string("gst-smooth-remote");
  return q;
}

}  // namespace

// The state of one request and its response, created when the request
// starts and owned by its message (object data), so it lives exactly as
// long as the message. Pool jobs hold a message ref.
struct Transfer {
  RequestLog log;
  Loop* loop = nullptr;
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
  GSource* accept_source = nullptr;  // the fallback acceptor (see StartAccepting)
  GSource* retry_source = nullptr;   // re-arms it after running out of descriptors
  int64_t warned_us = 0;             // last "out of descriptors" message

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

  ~Loop() {
    StopAccepting();
    if (server) g_object_unref(server);
    if (socket) g_object_unref(socket);
    if (main_loop) g_main_loop_unref(main_loop);
    if (context) g_main_context_unref(context);
  }

  std::string Setup();
  void StartAccepting();
  void StopAccepting();
  gboolean AcceptPending();
  // Closes the connections and waits for this loop's pool jobs; false when
  // some are still running at the deadline.
  bool Drain(unsigned timeout_ms);
  void Handle(SoupServerMessage* msg, const char* path);
  bool ServeHot(SoupServerMessage* msg, const std::string& path);
  void RememberHot(const std::string& path, const RequestInfo& info, const Response& r);
  void Respond(SoupServerMessage* msg, Response* r);
  void MaybeRead(Transfer* t);
  void Abort(Transfer* t, const std::string& why);
};

namespace {

Transfer* GetTransfer(SoupServerMessage* msg) {
  return static_cast<Transfer*>(g_object_get_qdata(G_OBJECT(msg), TransferQuark()));
}

RequestLog* GetLog(SoupServerMessage* msg) {
  Transfer* t = GetTransfer(msg);
  return t ? &t->log : nullptr;
}

void RespondError(SoupServerMessage* msg, unsigned status, const std::string& why) {
  soup_server_message_set_status(msg, status, nullptr);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Cache-Control", "no-store");
  if (status == SOUP_STATUS_METHOD_NOT_ALLOWED) soup_message_headers_replace(h, "Allow", "GET, HEAD");
  std::string text = std::to_string(status) + " " + soup_status_get_phrase(status) + ": " + why + "\n";
  soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text.data(), text.size());
  if (RequestLog* log = GetLog(msg)) log->status = status;
  // Server-side failures need their reason where a developer looks.
  if (status >= 500) std::fprintf(stderr, "gst-smooth serve: %u: %s\n", status, why.c_str());
}

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

template <class T>
void Delete(gpointer p) {
  delete static_cast<T*>(p);
}

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
  t->log.start_us = NowUs();
  if (loop->origin->options.log_requests) {
    // libsoup formats the peer address anew for every message; a keep-alive
    // connection keeps its own copy on the socket (one loop per socket).
    GSocket* sock = soup_server_message_get_socket(msg);
    auto* remote = sock ? static_cast<const std::string*>(g_object_get_qdata(G_OBJECT(sock), RemoteQuark())) : nullptr;
    if (remote) {
      t->log.remote = *remote;
    } else if (const char* host = soup_server_message_get_remote_host(msg)) {
      t->log.remote = host;
      if (sock) g_object_set_qdata_full(G_OBJECT(sock), RemoteQuark(), new std::string(host), Delete<std::string>);
    }
  }
  g_object_set_qdata_full(G_OBJECT(msg), TransferQuark(), t.release(), Delete<Transfer>);
}

// The message is done (sent, or its connection gone): pool jobs still in
// flight must leave it alone. The server signals cost nothing per message,
// unlike a "finished" handler on each.
void OnRequestFinished(SoupServer*, SoupServerMessage* msg, gpointer origin) {
  if (Transfer* t = GetTransfer(msg)) t->finished = true;
  static_cast<Origin::Impl*>(origin)->Log(msg, false);
}

void OnRequestAborted(SoupServer*, SoupServerMessage* msg, gpointer origin) {
  if (Transfer* t = GetTransfer(msg)) t->finished = true;
  static_cast<Origin::Impl*>(origin)->Log(msg, true);
}

// Runs once the request headers are in: refuse other methods before any
// request body is read, and never keep a request body in memory (the origin
// has no use for one).
void EarlyHandler(SoupServer*, SoupServerMessage* msg, const char*, GHashTable*, gpointer) {
  soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
  const char* m = soup_server_message_get_method(msg);
  if (std::strcmp(m, "GET") != 0 && std::strcmp(m, "HEAD") != 0)
    RespondError(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, std::string("method ") + m + " not allowed");
}

void Handler(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer loop) {
  static_cast<Loop*>(loop)->Handle(msg, path);
}

}  // namespace

void Loop::Handle(SoupServerMessage* msg, const char* path) {
  const char* method = soup_server_message_get_method(msg);
  if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0) {
    RespondError(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, std::string("method ") + method + " not allowed");
    return;
  }
  std::string raw_path = path ? path : "";
  bool head = std::strcmp(method, "HEAD") == 0;
  if (!head && ServeHot(msg, raw_path)) return;
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

  Transfer* t = GetTransfer(msg);
  if (!t) {  // request-started always comes first; never trust that blindly
    RespondError(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "request without state");
    return;
  }

  // Most requests are answered right here: a checked asset, a plain byte
  // range, pages in the cache. The rest goes to the pool.
  Response r;
  if (origin->Resolve(info, false, &r)) {
    if (!head && r.hot && r.status == SOUP_STATUS_OK) RememberHot(raw_path, info, r);
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
  if (soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "If-None-Match")) return false;
  Transfer* t = GetTransfer(msg);
  if (!t) return false;
  const HotEntry& e = it->second;
  std::shared_ptr<const LoadedAsset> la = origin->cache.Peek(e.asset_path);
  BytesPtr bytes;
  if (!la || la != e.asset.lock() || !(bytes = origin->fragments->Get(la->id, e.offset, e.size))) {
    hot.erase(it);
    return false;
  }
  // What Respond does for a fragment cache hit, without the intermediate
  // Response.
  t->log.served = e.served;
  t->log.status = SOUP_STATUS_OK;
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_append(h, "ETag", e.etag.c_str());
  soup_message_headers_append(h, "Last-Modified", la->media_last_modified[e.media].c_str());
  soup_message_headers_append(h, "Cache-Control", origin->fragment_cache_control.c_str());
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_message_headers_append(h, "Content-Type", e.content_type.c_str());  // a fresh response has none
  soup_message_headers_set_content_length(h, static_cast<goffset>(e.size));
  SoupMessageBody* body = soup_server_message_get_response_body(msg);
  soup_message_body_set_accumulate(body, FALSE);
  origin->counters.cache_hits++;
  soup_message_body_append_bytes(body, bytes.get());
  soup_message_body_complete(body);
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
  // Streamed: chunks are dropped once written (no accumulation), at most two
  // are queued, and the next is read when one has gone out.
  soup_message_body_set_accumulate(body, FALSE);
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

std::string Loop::Setup() {
  server = SOUP_SERVER(g_object_new(SOUP_TYPE_SERVER, "raw-paths", TRUE, "server-header", "gst-smooth-origin ",
                                    nullptr));
  soup_server_add_early_handler(server, nullptr, EarlyHandler, nullptr, nullptr);
  soup_server_add_handler(server, nullptr, Handler, this, nullptr);
  g_signal_connect(server, "request-started", G_CALLBACK(OnRequestStarted), this);
  g_signal_connect(server, "request-finished", G_CALLBACK(OnRequestFinished), origin);
  g_signal_connect(server, "request-aborted", G_CALLBACK(OnRequestAborted), origin);
  GError* raw = nullptr;
  if (!soup_server_listen_socket(server, socket, static_cast<SoupServerListenOptions>(0), &raw)) {
    ErrorPtr err(raw);
    return err->message;
  }
  StartAccepting();
  return "";
}

// libsoup's listener (3.2) removes its accept source for good after the
// first failed accept(), e.g. when the process is out of file descriptors:
// the port would stay open but never answer again. So a second source
// watches the same socket at low priority. While libsoup's source lives it
// takes every connection first (higher priority, same readiness) and this
// one never runs; once it is gone, this one accepts and hands connections
// to the server with soup_server_accept_iostream(). libsoup's listener stays
// registered: the server keeps connections alive only while it has one.
void Loop::StartAccepting() {
  accept_source = g_socket_create_source(socket, G_IO_IN, nullptr);
  g_source_set_priority(accept_source, G_PRIORITY_LOW);
  // A GSocket source calls a GSocketSourceFunc; G_SOURCE_FUNC casts it for
  // g_source_set_callback as GLib documents.
  GSocketSourceFunc on_ready = [](GSocket*, GIOCondition, gpointer self) -> gboolean {
    return static_cast<Loop*>(self)->AcceptPending();
  };
  g_source_set_callback(accept_source, G_SOURCE_FUNC(on_ready), this, nullptr);
  g_source_attach(accept_source, context);
}

void Loop::StopAccepting() {
  for (GSource** s : {&accept_source, &retry_source})
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
    soup_server_accept_iostream(server, G_IO_STREAM(conn.get()), local.get(), remote.get(), nullptr);
  }
  return G_SOURCE_CONTINUE;
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
  if (status == 200 || status == 304) {
    switch (log->served) {
      case Served::kManifest: counters.manifests++; break;
      case Served::kFragment: counters.fragments++; break;
      case Served::kFragmentInfo: counters.fragment_infos++; break;
      case Served::kKeyFrames: counters.keyframes++; break;
      case Served::kRawFragment: counters.raw_fragments++; break;
      case Served::kOther: break;
    }
  }
  int64_t elapsed_us = NowUs() - log->start_us;
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
  if (impl->root.size() > 1 && impl->root.back() == '/') impl->root.pop_back();
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
  char line[768];
  g_snprintf(line, sizeof line,
             "%" G_GUINT64_FORMAT " requests (2xx %" G_GUINT64_FORMAT ", 3xx %" G_GUINT64_FORMAT
             ", 4xx %" G_GUINT64_FORMAT ", 5xx %" G_GUINT64_FORMAT ", aborted %" G_GUINT64_FORMAT
             "), %" G_GUINT64_FORMAT " bytes; served %" G_GUINT64_FORMAT " manifests, %" G_GUINT64_FORMAT
             " fragments, %" G_GUINT64_FORMAT " FragmentInfo, %" G_GUINT64_FORMAT " KeyFrames, %" G_GUINT64_FORMAT
             " RawFragments; %" G_GUINT64_FORMAT " asset loads, %" G_GUINT64_FORMAT " fragment cache hits, %"
             G_GUINT64_FORMAT " pool jobs",
             v(c.requests), v(c.status_2xx), v(c.status_3xx), v(c.status_4xx), v(c.status_5xx), v(c.aborted),
             v(c.bytes), v(c.manifests), v(c.fragments), v(c.fragment_infos), v(c.keyframes), v(c.raw_fragments),
             v(c.asset_loads), v(c.cache_hits), v(c.pool_jobs));
  return line;
}

}  // namespace gst_smooth
