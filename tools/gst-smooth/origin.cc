// The development origin of `gst-smooth serve`: URL parsing, the asset cache,
// disk reads on the GTask thread pool, and the SoupServer handlers that
// stream fragment bodies chunk by chunk (see origin.h for the design).
#include "origin.h"

#include <libsoup/soup.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <future>
#include <limits>
#include <map>
#include <mutex>
#include <thread>

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

// GBytes that owns a std::vector's storage, so bytes read from disk reach the
// socket without another copy. The vector moves to the heap because GLib, not
// C++ scope, decides when the last reference goes.
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
  if (s.empty() || s.size() > 20) return false;
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

FileStamp Stamp(const std::string& path) {
  FileStamp s;
  s.path = path;
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    s.exists = true;
    s.size = static_cast<uint64_t>(st.st_size);
    s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  }
  return s;
}

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

}  // namespace

// One loaded .ism with everything a response needs. Immutable once built;
// shared by the requests that use it (the byte sources stay open while any
// response still streams from them, even after a reload replaced it).
struct LoadedAsset {
  std::unique_ptr<piff::Asset> asset;
  std::string error;                    // non-empty: loading failed
  std::vector<FileStamp> stamps;        // what a reload check compares
  std::vector<FileStamp> media_stamps;  // parallel to asset->media()
  BytesPtr manifest, manifest_gz;
  std::string manifest_etag;
  int64_t last_modified = 0;            // Unix seconds, the newest file
};

namespace {

std::shared_ptr<const LoadedAsset> LoadAsset(const std::string& ism_path) {
  auto la = std::make_shared<LoadedAsset>();
  FileStamp ism = Stamp(ism_path);
  la->stamps.push_back(ism);
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
    la->media_stamps.push_back(Stamp(m.path));
    la->stamps.push_back(la->media_stamps.back());
  }
  for (const FileStamp& st : la->stamps)
    la->last_modified = std::max<int64_t>(la->last_modified, st.mtime_ns / 1000000000);
  const std::string& xml = a.client_manifest_xml();
  la->manifest.reset(g_bytes_new(xml.data(), xml.size()));
  la->manifest_gz = Gzip(xml);
  GCharPtr sum(g_compute_checksum_for_data(G_CHECKSUM_SHA1, reinterpret_cast<const guchar*>(xml.data()),
                                           xml.size()));
  la->manifest_etag = std::string(sum.get()).substr(0, 20);
  return la;
}

// The assets by absolute .ism path. A slot's mutex serialises (re)loads of
// one asset; different assets load in parallel on different pool threads.
class AssetCache {
 public:
  // How often a cached asset's files are stat()ed for changes.
  static constexpr int64_t kRecheckUs = 1000000;
  // How long a failed load is remembered before it is tried again.
  static constexpr int64_t kFailureTtlUs = 2000000;

  std::shared_ptr<const LoadedAsset> Get(const std::string& ism_path, bool* loaded) {
    *loaded = false;
    std::shared_ptr<Slot> slot;
    {
      std::lock_guard<std::mutex> g(mutex_);
      auto& s = slots_[ism_path];
      if (!s) s = std::make_shared<Slot>();
      slot = s;
    }
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

 private:
  struct Slot {
    std::mutex mutex;
    std::shared_ptr<const LoadedAsset> current;
    int64_t checked_us = 0;
  };
  std::mutex mutex_;
  std::map<std::string, std::shared_ptr<Slot>> slots_;
};

// Where a streamed body stands: the source ranges still to read.
struct BodyCursor {
  std::vector<piff::ByteRange> ranges;
  size_t index = 0;
  uint64_t pos = 0;  // within ranges[index]

  bool done() const { return index >= ranges.size(); }
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

// Reads the pieces into one buffer (worker thread). Empty string on success.
std::string ReadPieces(piff::ByteSource& src, const std::vector<piff::ByteRange>& pieces, BytesPtr* out) {
  uint64_t total = 0;
  for (const auto& p : pieces) total += p.size;
  std::vector<uint8_t> buf;
  if (pieces.size() == 1) {
    piff::Status s = src.Read(pieces[0].offset, static_cast<size_t>(pieces[0].size), &buf);
    if (!s) return s.message();
  } else {
    buf.reserve(total);
    std::vector<uint8_t> piece;
    for (const auto& p : pieces) {
      piff::Status s = src.Read(p.offset, static_cast<size_t>(p.size), &piece);
      if (!s) return s.message();
      buf.insert(buf.end(), piece.begin(), piece.end());
    }
  }
  out->reset(BytesFromVector(std::move(buf)));
  return "";
}

std::string HttpDate(int64_t unix_seconds) {
  GDateTime* dt = g_date_time_new_from_unix_utc(unix_seconds);
  if (!dt) return "";
  GCharPtr s(soup_date_time_to_string(dt, SOUP_DATE_HTTP));
  g_date_time_unref(dt);
  return s.get();
}

// If-None-Match: "*" or a list of (possibly weak) entity tags.
bool EtagMatches(const char* header, const std::string& etag) {
  if (!header) return false;
  GSList* list = soup_header_parse_list(header);
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

// The answer to a request, built on a pool thread.
struct Response {
  unsigned status = 500;
  std::string error;          // for error statuses: the body text and log note
  Served served = Served::kOther;
  std::string content_type;
  std::vector<std::pair<std::string, std::string>> headers;
  BytesPtr body;              // whole body (manifests, errors)
  // A streamed body: `prefix` bytes, then `cursor`'s ranges of `source`.
  std::shared_ptr<const LoadedAsset> asset;  // keeps `source` open
  piff::FileByteSource* source = nullptr;
  std::vector<uint8_t> prefix;
  BodyCursor cursor;
  uint64_t length = 0;        // whole streamed body
  BytesPtr first_chunk;       // already read from the cursor
  bool asset_loaded = false;  // this request (re)loaded the asset
};

}  // namespace

// ------------------------------------------------------------ shared state

struct Counters {
  std::atomic<uint64_t> requests{0}, status_2xx{0}, status_3xx{0}, status_4xx{0}, status_5xx{0};
  std::atomic<uint64_t> aborted{0}, bytes{0}, manifests{0}, fragments{0}, fragment_infos{0}, keyframes{0},
      raw_fragments{0}, asset_loads{0};
};

struct Loop;

struct Origin::Impl {
  OriginOptions options;
  std::string root;  // canonical, no trailing '/'
  std::string url;
  AssetCache cache;
  Counters counters;
  std::vector<std::unique_ptr<Loop>> loops;

  void Resolve(const OriginRequest& req, bool head, bool gzip_ok, const std::string& if_none_match,
               Response* out);
  void Log(SoupServerMessage* msg, bool aborted);
};

namespace {

void SetError(Response* r, unsigned status, const std::string& why) {
  r->status = status;
  r->error = why;
}

const char* ContentTypeOf(const piff::AssetTrack& t, OriginRequest::Noun noun) {
  if (noun == OriginRequest::Noun::kRawFragments) return "application/octet-stream";
  return t.kind == "audio" ? "audio/mp4" : "video/mp4";
}

}  // namespace

void Origin::Impl::Resolve(const OriginRequest& req, bool head, bool gzip_ok, const std::string& if_none_match,
                           Response* out) {
  // Resolve symlinks too: a link inside the root must not reach outside it.
  std::string joined = root + "/" + req.asset_path;
  GCharPtr real(realpath(joined.c_str(), nullptr));
  if (!real) {
    SetError(out, 404, "no such asset: " + req.asset_path);
    return;
  }
  std::string ism = real.get();
  if (ism.compare(0, root.size() + 1, root + "/") != 0) {
    SetError(out, 404, "no such asset: " + req.asset_path);
    return;
  }
  struct stat st;
  if (::stat(ism.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
    SetError(out, 404, "no such asset: " + req.asset_path);
    return;
  }
  std::shared_ptr<const LoadedAsset> la = cache.Get(ism, &out->asset_loaded);
  if (!la->error.empty()) {
    SetError(out, 500, "cannot load " + req.asset_path + ": " + la->error);
    return;
  }
  const piff::Asset& asset = *la->asset;

  if (req.kind == OriginRequest::Kind::kManifest) {
    out->served = Served::kManifest;
    bool gz = gzip_ok && la->manifest_gz;
    std::string etag = "\"" + la->manifest_etag + (gz ? "-gz" : "") + "\"";
    out->content_type = "text/xml";
    out->headers = {{"ETag", etag},
                    {"Last-Modified", HttpDate(la->last_modified)},
                    {"Cache-Control", "public, max-age=" + std::to_string(options.manifest_max_age)},
                    {"Vary", "Accept-Encoding"}};
    if (gz) out->headers.emplace_back("Content-Encoding", "gzip");
    if (EtagMatches(if_none_match.empty() ? nullptr : if_none_match.c_str(), etag)) {
      out->status = 304;
      return;
    }
    out->status = 200;
    out->body.reset(g_bytes_ref(gz ? la->manifest_gz.get() : la->manifest.get()));
    return;
  }

  const piff::AssetTrack* track = asset.FindTrack(req.bitrate, req.track_name);
  if (!track) {
    SetError(out, 404, "no track \"" + req.track_name + "\" at QualityLevels(" + std::to_string(req.bitrate) + ")");
    return;
  }
  ptrdiff_t fi = track->track->FindFragment(req.time);
  if (fi < 0 || track->track->fragments[fi].end_offset == 0) {
    SetError(out, 404, "no " + req.track_name + " fragment at time " + std::to_string(req.time));
    return;
  }
  const piff::IndexedFragment& frag = track->track->fragments[fi];
  const piff::AssetMedia& media = asset.media()[track->media];
  piff::FileByteSource& src = *media.source;
  const piff::MovieBox* moov = media.index.moov ? &*media.index.moov : nullptr;
  const FileStamp& ms = la->media_stamps[track->media];

  piff::FragmentBody body;
  piff::Status s;
  char noun_tag = 'F';
  using Noun = OriginRequest::Noun;
  switch (req.noun) {
    case Noun::kFragments:
      out->served = Served::kFragment;
      if (!frag.shared_moof)
        body.ranges.push_back({frag.moof_offset, frag.end_offset - frag.moof_offset});
      else
        s = piff::BuildTrackFragment(src, moov, frag, track->track_id, piff::SampleSelection::kAll, &body);
      break;
    case Noun::kFragmentInfo:
      out->served = Served::kFragmentInfo;
      noun_tag = 'I';
      if (!frag.shared_moof) {
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
      if (frag.sync_samples == 0) {
        SetError(out, 404, "the " + req.track_name + " fragment at " + std::to_string(req.time) +
                               " has no keyframe");
        return;
      }
      s = piff::BuildKeyFramesFragment(src, moov, frag, track->track_id, &body);
      break;
    case Noun::kRawFragments:
      out->served = Served::kRawFragment;
      noun_tag = 'R';
      if ((s = piff::BuildTrackFragment(src, moov, frag, track->track_id, piff::SampleSelection::kAll, &body)))
        body.header.clear();
      break;
  }
  if (!s) {
    SetError(out, 500, "cannot build the response: " + s.message());
    return;
  }

  // The entity tag names the file version (size, mtime), the fragment and the
  // noun, so a changed file never revalidates an old cached copy.
  char etag[128];
  g_snprintf(etag, sizeof etag, "\"%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x-%x%c\"",
             static_cast<guint64>(ms.size), static_cast<guint64>(ms.mtime_ns),
             static_cast<guint64>(frag.moof_offset), track->track_id, noun_tag);
  out->content_type = ContentTypeOf(*track, req.noun);
  out->headers = {{"ETag", etag},
                  {"Last-Modified", HttpDate(ms.mtime_ns / 1000000000)},
                  {"Cache-Control", "public, max-age=" + std::to_string(options.fragment_max_age)}};
  if (EtagMatches(if_none_match.empty() ? nullptr : if_none_match.c_str(), etag)) {
    out->status = 304;
    return;
  }
  out->status = 200;
  out->asset = la;
  out->source = &src;
  out->length = body.size();
  out->prefix = std::move(body.header);
  out->cursor.ranges = std::move(body.ranges);
  if (!head && !out->cursor.done()) {
    // The first chunk rides along with the lookup: one pool round trip for
    // most fragments.
    std::string err = ReadPieces(src, out->cursor.Next(kChunkSize), &out->first_chunk);
    if (!err.empty()) SetError(out, 500, "read error: " + err);
  }
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
};

constexpr char kLogKey[] = "gst-smooth-log";
constexpr char kTransferKey[] = "gst-smooth-transfer";

RequestLog* GetLog(SoupServerMessage* msg) {
  return static_cast<RequestLog*>(g_object_get_data(G_OBJECT(msg), kLogKey));
}

}  // namespace

// The state of one streamed response, owned by its message (object data), so
// it lives exactly as long as the message. Pool jobs hold a message ref.
struct Transfer {
  Loop* loop = nullptr;
  SoupServerMessage* msg = nullptr;  // not a ref: the message owns us
  bool finished = false;
  std::shared_ptr<const LoadedAsset> asset;
  piff::FileByteSource* source = nullptr;
  BodyCursor cursor;
  int queued = 0;        // chunks appended, not yet written
  bool reading = false;  // a chunk read is in flight
};

struct Loop {
  Origin::Impl* origin = nullptr;
  GMainContext* context = nullptr;  // owned ref
  GMainLoop* main_loop = nullptr;   // extra loops only
  SoupServer* server = nullptr;
  GSocket* socket = nullptr;        // owned ref, bound and listening
  std::thread thread;
  unsigned pending = 0;             // pool jobs in flight (this loop's thread only)

  ~Loop() {
    if (server) g_object_unref(server);
    if (socket) g_object_unref(socket);
    if (main_loop) g_main_loop_unref(main_loop);
    if (context) g_main_context_unref(context);
  }

  std::string Setup();
  void Drain(unsigned timeout_ms);
  void Handle(SoupServerMessage* msg, const char* path);
  void Respond(SoupServerMessage* msg, Response* r);
  void MaybeRead(Transfer* t);
  void Abort(Transfer* t, const std::string& why);
};

namespace {

void RespondError(SoupServerMessage* msg, unsigned status, const std::string& why) {
  soup_server_message_set_status(msg, status, nullptr);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_message_headers_replace(h, "Cache-Control", "no-store");
  if (status == SOUP_STATUS_METHOD_NOT_ALLOWED) soup_message_headers_replace(h, "Allow", "GET, HEAD");
  std::string text = std::to_string(status) + " " + soup_status_get_phrase(status) + ": " + why + "\n";
  soup_server_message_set_response(msg, "text/plain; charset=utf-8", SOUP_MEMORY_COPY, text.data(), text.size());
  if (RequestLog* log = GetLog(msg)) log->status = status;
  // Server-side failures need their reason somewhere a developer looks.
  if (status >= 500) std::fprintf(stderr, "gst-smooth serve: %u: %s\n", status, why.c_str());
}

struct ResolveJob {
  Origin::Impl* origin = nullptr;
  Loop* loop = nullptr;
  SoupServerMessage* msg = nullptr;  // a ref, dropped when the job is freed
  OriginRequest request;
  bool head = false, gzip_ok = false;
  std::string if_none_match;
  Response response;
  ~ResolveJob() {
    if (msg) g_object_unref(msg);
  }
};

struct ChunkJob {
  Loop* loop = nullptr;
  SoupServerMessage* msg = nullptr;  // a ref
  std::shared_ptr<const LoadedAsset> asset;
  piff::FileByteSource* source = nullptr;
  std::vector<piff::ByteRange> pieces;
  BytesPtr chunk;
  std::string error;
  ~ChunkJob() {
    if (msg) g_object_unref(msg);
  }
};

template <class Job>
void DeleteJob(gpointer p) {
  delete static_cast<Job*>(p);
}

// Runs `job` on the GTask pool; `done` runs in this thread's default main
// context (the loop's), which g_task_new records.
template <class Job>
void Submit(std::unique_ptr<Job> job, GTaskThreadFunc work, GAsyncReadyCallback done) {
  job->loop->pending++;
  GTask* task = g_task_new(nullptr, nullptr, done, nullptr);
  g_task_set_task_data(task, job.release(), DeleteJob<Job>);
  g_task_run_in_thread(task, work);
  g_object_unref(task);
}

void ResolveWork(GTask* task, gpointer, gpointer data, GCancellable*) {
  auto* job = static_cast<ResolveJob*>(data);
  job->origin->Resolve(job->request, job->head, job->gzip_ok, job->if_none_match, &job->response);
  g_task_return_boolean(task, TRUE);
}

void ResolveDone(GObject*, GAsyncResult* result, gpointer) {
  auto* job = static_cast<ResolveJob*>(g_task_get_task_data(G_TASK(result)));
  job->loop->pending--;
  auto* t = static_cast<Transfer*>(g_object_get_data(G_OBJECT(job->msg), kTransferKey));
  if (job->response.asset_loaded) job->origin->counters.asset_loads++;
  if (!t || t->finished) return;  // the client went away meanwhile
  job->loop->Respond(job->msg, &job->response);
}

void ChunkWork(GTask* task, gpointer, gpointer data, GCancellable*) {
  auto* job = static_cast<ChunkJob*>(data);
  job->error = ReadPieces(*job->source, job->pieces, &job->chunk);
  g_task_return_boolean(task, TRUE);
}

void ChunkDone(GObject*, GAsyncResult* result, gpointer) {
  auto* job = static_cast<ChunkJob*>(g_task_get_task_data(G_TASK(result)));
  job->loop->pending--;
  auto* t = static_cast<Transfer*>(g_object_get_data(G_OBJECT(job->msg), kTransferKey));
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
  soup_server_message_unpause(t->msg);
  t->loop->MaybeRead(t);
}

void OnWroteChunk(SoupServerMessage* msg, gpointer) {
  auto* t = static_cast<Transfer*>(g_object_get_data(G_OBJECT(msg), kTransferKey));
  if (!t) return;
  t->queued--;
  t->loop->MaybeRead(t);
}

void OnFinished(SoupServerMessage* msg, gpointer) {
  if (auto* t = static_cast<Transfer*>(g_object_get_data(G_OBJECT(msg), kTransferKey))) t->finished = true;
}

void OnWroteBodyData(SoupServerMessage* msg, guint n, gpointer) {
  if (RequestLog* log = GetLog(msg)) log->bytes += n;
}

void OnRequestStarted(SoupServer*, SoupServerMessage* msg, gpointer) {
  auto log = std::make_unique<RequestLog>();
  log->start_us = NowUs();
  if (const char* host = soup_server_message_get_remote_host(msg)) log->remote = host;
  g_object_set_data_full(G_OBJECT(msg), kLogKey, log.release(), DeleteJob<RequestLog>);
  g_signal_connect(msg, "wrote-body-data", G_CALLBACK(OnWroteBodyData), nullptr);
}

void OnRequestFinished(SoupServer*, SoupServerMessage* msg, gpointer origin) {
  static_cast<Origin::Impl*>(origin)->Log(msg, false);
}

void OnRequestAborted(SoupServer*, SoupServerMessage* msg, gpointer origin) {
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
  auto job = std::make_unique<ResolveJob>();
  std::string why;
  unsigned status = ParseRequestPath(path ? path : "", &job->request, &why);
  if (status) {
    RespondError(msg, status, why);
    return;
  }
  SoupMessageHeaders* req = soup_server_message_get_request_headers(msg);
  job->origin = origin;
  job->loop = this;
  job->msg = static_cast<SoupServerMessage*>(g_object_ref(msg));
  job->head = std::strcmp(method, "HEAD") == 0;
  job->gzip_ok = AcceptsGzip(soup_message_headers_get_one(req, "Accept-Encoding"));
  if (const char* inm = soup_message_headers_get_one(req, "If-None-Match")) job->if_none_match = inm;

  auto t = std::make_unique<Transfer>();
  t->loop = this;
  t->msg = msg;
  g_object_set_data_full(G_OBJECT(msg), kTransferKey, t.release(), DeleteJob<Transfer>);
  g_signal_connect(msg, "finished", G_CALLBACK(OnFinished), nullptr);
  soup_server_message_pause(msg);
  Submit(std::move(job), ResolveWork, ResolveDone);
}

void Loop::Respond(SoupServerMessage* msg, Response* r) {
  auto* t = static_cast<Transfer*>(g_object_get_data(G_OBJECT(msg), kTransferKey));
  if (RequestLog* log = GetLog(msg)) {
    log->served = r->served;
    log->status = r->status;
  }
  if (r->status >= 400) {
    RespondError(msg, r->status, r->error);
    soup_server_message_unpause(msg);
    return;
  }
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  for (const auto& kv : r->headers) soup_message_headers_replace(h, kv.first.c_str(), kv.second.c_str());
  soup_server_message_set_status(msg, r->status, nullptr);
  if (r->status == SOUP_STATUS_NOT_MODIFIED) {
    soup_server_message_unpause(msg);
    return;
  }
  soup_message_headers_replace(h, "Content-Type", r->content_type.c_str());
  SoupMessageBody* body = soup_server_message_get_response_body(msg);
  if (r->body) {
    // Small and whole; for HEAD libsoup sends the headers (Content-Length
    // included) and drops the body.
    soup_message_body_append_bytes(body, r->body.get());
    soup_server_message_unpause(msg);
    return;
  }
  soup_message_headers_set_content_length(h, static_cast<goffset>(r->length));
  bool head = std::strcmp(soup_server_message_get_method(msg), "HEAD") == 0;
  if (head || r->length == 0) {
    soup_server_message_unpause(msg);
    return;
  }
  // Streamed: chunks are dropped once written (no accumulation), at most two
  // are queued, and the next is read on the pool when one has gone out.
  soup_message_body_set_accumulate(body, FALSE);
  g_signal_connect(msg, "wrote-chunk", G_CALLBACK(OnWroteChunk), nullptr);
  t->asset = r->asset;
  t->source = r->source;
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
  soup_server_message_unpause(msg);
  MaybeRead(t);
}

void Loop::MaybeRead(Transfer* t) {
  if (t->finished || t->reading || t->cursor.done() || t->queued >= 2) return;
  auto job = std::make_unique<ChunkJob>();
  job->loop = this;
  job->msg = static_cast<SoupServerMessage*>(g_object_ref(t->msg));
  job->asset = t->asset;
  job->source = t->source;
  job->pieces = t->cursor.Next(Origin::kChunkSize);
  t->reading = true;
  Submit(std::move(job), ChunkWork, ChunkDone);
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
  g_signal_connect(server, "request-started", G_CALLBACK(OnRequestStarted), nullptr);
  g_signal_connect(server, "request-finished", G_CALLBACK(OnRequestFinished), origin);
  g_signal_connect(server, "request-aborted", G_CALLBACK(OnRequestAborted), origin);
  GError* raw = nullptr;
  if (!soup_server_listen_socket(server, socket, static_cast<SoupServerListenOptions>(0), &raw)) {
    ErrorPtr err(raw);
    return err->message;
  }
  return "";
}

void Loop::Drain(unsigned timeout_ms) {
  if (server) soup_server_disconnect(server);
  int64_t deadline = NowUs() + static_cast<int64_t>(timeout_ms) * 1000;
  while (pending > 0 && NowUs() < deadline) {
    if (!g_main_context_iteration(context, FALSE)) g_usleep(1000);
  }
  // Let the disconnections finish their callbacks (log lines of aborted
  // requests) before the server goes.
  while (g_main_context_iteration(context, FALSE)) {
  }
}

void Origin::Impl::Log(SoupServerMessage* msg, bool aborted) {
  RequestLog* log = GetLog(msg);
  if (!log || log->start_us < 0) return;  // logged already (Abort)
  unsigned status = aborted && log->status ? log->status : soup_server_message_get_status(msg);
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
  double ms = static_cast<double>(NowUs() - log->start_us) / 1000.0;
  log->start_us = -1;
  if (!options.log_requests) return;
  const char* method = soup_server_message_get_method(msg);
  GUri* uri = soup_server_message_get_uri(msg);
  std::string path = uri ? g_uri_get_path(uri) : "-";
  // Raw paths are percent-encoded already; cap the length so a hostile URL
  // cannot flood the log.
  if (path.size() > 512) path = path.substr(0, 512) + "...";
  for (char& c : path)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) c = '?';
  char line[1024];
  g_snprintf(line, sizeof line, "%s %s %s %u %" G_GUINT64_FORMAT " %.2fms%s\n",
             log->remote.empty() ? "-" : log->remote.c_str(),
             method ? method : "-", path.c_str(), status, static_cast<guint64>(log->bytes), ms,
             aborted ? " aborted" : "");
  std::fputs(line, stdout);
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
  // Several loops accept on one port: the kernel spreads new connections
  // over their sockets.
  if (reuse_port && !g_socket_set_option(s.get(), SOL_SOCKET, SO_REUSEPORT, 1, &raw)) {
    err.reset(raw);
    *error = std::string("SO_REUSEPORT: ") + err->message;
    return nullptr;
  }
  GObjectPtr<GSocketAddress> sa(g_inet_socket_address_new(addr, static_cast<guint16>(port)));
  // bind(2) directly: g_socket_bind() resets SO_REUSEPORT for unicast
  // addresses. SO_REUSEADDR lets a restarted origin take its port at once.
  int one = 1;
  setsockopt(g_socket_get_fd(s.get()), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_storage native;
  gssize len = g_socket_address_get_native_size(sa.get());
  if (len <= 0 || !g_socket_address_to_native(sa.get(), &native, sizeof native, &raw)) {
    err.reset(raw);
    *error = err ? err->message : "cannot convert the address";
    return nullptr;
  }
  if (::bind(g_socket_get_fd(s.get()), reinterpret_cast<struct sockaddr*>(&native),
             static_cast<socklen_t>(len)) != 0) {
    *error = std::string("bind: ") + std::strerror(errno);
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
  // thread each and build their server inside it (a SoupServer belongs to
  // the context that is thread-default where it is set up).
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
        loop->Drain(2000);
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

void Origin::Stop(unsigned timeout_ms) {
  for (size_t i = 1; i < impl_->loops.size(); i++) {
    Loop& l = *impl_->loops[i];
    if (l.thread.joinable()) {
      g_main_loop_quit(l.main_loop);
      l.thread.join();
    }
  }
  if (!impl_->loops.empty()) impl_->loops[0]->Drain(timeout_ms);
  std::fflush(stdout);
}

std::vector<std::string> Origin::ListAssets() const {
  // Breadth-first, bounded: this is only for the start-up message.
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
      std::string child = rel.empty() ? name : rel + "/" + name;
      std::string child_abs = abs + "/" + name;
      if (name[0] == '.') continue;
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
  char line[512];
  g_snprintf(line, sizeof line,
             "%" G_GUINT64_FORMAT " requests (2xx %" G_GUINT64_FORMAT ", 3xx %" G_GUINT64_FORMAT
             ", 4xx %" G_GUINT64_FORMAT ", 5xx %" G_GUINT64_FORMAT ", aborted %" G_GUINT64_FORMAT
             "), %" G_GUINT64_FORMAT " bytes; served %" G_GUINT64_FORMAT " manifests, %" G_GUINT64_FORMAT
             " fragments, %" G_GUINT64_FORMAT " FragmentInfo, %" G_GUINT64_FORMAT " KeyFrames, %" G_GUINT64_FORMAT
             " RawFragments; %" G_GUINT64_FORMAT " asset loads",
             static_cast<guint64>(c.requests), static_cast<guint64>(c.status_2xx),
             static_cast<guint64>(c.status_3xx), static_cast<guint64>(c.status_4xx),
             static_cast<guint64>(c.status_5xx), static_cast<guint64>(c.aborted), static_cast<guint64>(c.bytes),
             static_cast<guint64>(c.manifests), static_cast<guint64>(c.fragments),
             static_cast<guint64>(c.fragment_infos), static_cast<guint64>(c.keyframes),
             static_cast<guint64>(c.raw_fragments), static_cast<guint64>(c.asset_loads));
  return line;
}

}  // namespace gst_smooth
