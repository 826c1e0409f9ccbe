// The development origin's assets (origin_internal.h): loading an .ism with
// everything its responses need, the asset cache that reloads changed files,
// the fragment cache, and payload reads that never block an event loop.
#include <fcntl.h>
#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "origin_internal.h"

namespace gst_smooth {

// GLib, not C++ scope, decides when the last reference goes: the vector
// moves to the heap.
GBytes* BytesFromVector(std::vector<uint8_t>&& v) {
  auto owner = std::make_unique<std::vector<uint8_t>>(std::move(v));
  const uint8_t* data = owner->data();
  size_t size = owner->size();
  return g_bytes_new_with_free_func(
      data, size, [](gpointer p) { delete static_cast<std::vector<uint8_t>*>(p); }, owner.release());
}

// gzip with GIO's zlib converter; a VOD manifest once per load, a live one per change.
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

namespace {

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

// preadv2(RWF_NOWAIT) fails instead of waiting for the disk; where the file
// system does not support it, the loops stop trying and use the pool.
std::atomic<bool> g_nowait_reads{true};

}  // namespace

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

// ------------------------------------------------------------ assets

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
  // A track's QualityLevel: the StreamIndex named like the track, the level
  // with its bitrate (Asset::Load has checked that they agree).
  for (const piff::AssetTrack& t : a.tracks()) {
    la->track_attributes.emplace_back();
    for (const piff::StreamIndex& si : a.client_manifest().streams)
      if (si.EffectiveName() == t.name)
        for (const piff::QualityLevel& q : si.quality_levels)
          if (q.bitrate == t.bitrate) la->track_attributes.back() = q.custom_attributes;
  }
  return la;
}

}  // namespace

std::shared_ptr<const LoadedAsset> AssetCache::Get(const std::string& ism_path, bool* loaded) {
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

void AssetCache::RememberPath(const std::string& rel, const std::string& ism_path) {
  std::lock_guard<std::mutex> g(mutex_);
  if (paths_.size() >= kMaxPaths && !paths_.count(rel)) paths_.clear();
  paths_[rel] = {ism_path, NowUs()};
}

std::shared_ptr<const LoadedAsset> AssetCache::Peek(const std::string& rel) {
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

std::shared_ptr<AssetCache::Slot> AssetCache::SlotFor(const std::string& ism_path) {
  std::lock_guard<std::mutex> g(mutex_);
  auto& s = slots_[ism_path];
  if (!s) s = std::make_shared<Slot>();
  return s;
}

// ------------------------------------------------------------ fragment cache

BytesPtr FragmentCache::Get(uint64_t asset_id, uint64_t offset, uint64_t size) {
  if (!max_bytes_) return nullptr;
  std::lock_guard<std::mutex> g(mutex_);
  auto it = index_.find(Key{asset_id, offset, size});
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return BytesPtr(g_bytes_ref(it->second->data.get()));
}

void FragmentCache::Put(uint64_t asset_id, uint64_t offset, uint64_t size, GBytes* data) {
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

// ------------------------------------------------------------ body cursor

std::vector<piff::ByteRange> BodyCursor::Next(uint64_t max) {
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

}  // namespace gst_smooth
