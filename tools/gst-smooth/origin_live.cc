// The development origin's live publishing points (origin_live.h): where
// they are kept and found (in memory, recovered from their archive after a
// restart, or created by an encoder's POST), and the GETs of a point's
// manifest and fragments, answered by the core's LivePoint.
#include "origin_live.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

namespace gst_smooth {

std::string PointName(const std::string& asset_path) {
  return IsIsmlSegment(asset_path) ? asset_path.substr(0, asset_path.size() - 5) : asset_path;
}

void LogLine(const std::string& text) {
  std::string line = "gst-smooth serve: " + text.substr(0, 1024);
  for (char& c : line)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  line += '\n';
  std::fwrite(line.data(), 1, line.size(), stdout);
}

LivePoints::LivePoints(std::string root, piff::LivePointSettings settings, bool declared_only)
    : root_(std::move(root)), settings_(std::move(settings)), declared_only_(declared_only) {}

namespace {

// Whether `dir` holds an archive to pick up (a stream's .ismv): a look at
// the names only; the core reads the files.
bool HasArchive(const std::string& dir) {
  GDir* d = g_dir_open(dir.c_str(), 0, nullptr);
  if (!d) return false;
  bool found = false;
  while (const gchar* name = g_dir_read_name(d)) {
    size_t n = std::strlen(name);
    if (n > 5 && g_ascii_strcasecmp(name + n - 5, ".ismv") == 0) {
      found = true;
      break;
    }
  }
  g_dir_close(d);
  return found;
}

// The optional definition of a point, ROOT/DIR/NAME.isml: lines of
// "KEY VALUE" (lookahead N, dvr-window SECONDS, idle-stop SECONDS), '#'
// comments, overriding serve's flags for that point. Absent: true, nothing
// changed. Unreadable or wrong: false with *why.
bool ReadDefinition(const std::string& path, piff::LivePointSettings* s, bool* found, std::string* why) {
  *found = false;
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return true;
  *found = true;
  gchar* contents = nullptr;
  gsize len = 0;
  if (!S_ISREG(st.st_mode) || st.st_size > 4096 || !g_file_get_contents(path.c_str(), &contents, &len, nullptr)) {
    *why = "unreadable (a file of at most 4 KiB)";
    return false;
  }
  GCharPtr owned(contents);
  gchar** lines = g_strsplit(contents, "\n", -1);
  bool ok = true;
  for (int i = 0; ok && lines[i]; i++) {
    std::string line = g_strstrip(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.find_first_of(" \t");
    std::string key = line.substr(0, space);
    std::string value = space == std::string::npos ? "" : g_strstrip(&line[space]);
    uint32_t v = 0;
    ok = ParseDecimalU32(value, &v);
    if (ok && key == "lookahead" && v <= 255)
      s->lookahead = v;
    else if (ok && key == "dvr-window")
      s->dvr_window = static_cast<uint64_t>(v) * 10000000;
    else if (ok && key == "idle-stop")
      s->idle_stop_ms = static_cast<uint64_t>(v) * 1000;
    else
      ok = false;
    if (!ok) *why = "line " + std::to_string(i + 1) + ": expected lookahead N, dvr-window S or idle-stop S";
  }
  g_strfreev(lines);
  return ok;
}

}  // namespace

bool LivePoints::MakeArchiveDir(const std::string& name, std::string* why) const {
  std::string path = root_;
  for (size_t start = 0;;) {
    size_t slash = name.find('/', start);
    path += "/" + name.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    struct stat st;
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISDIR(st.st_mode)) {
        *why = name.substr(0, slash) + " exists and is not a folder (symlinks are not followed)";
        return false;
      }
    } else if (errno != ENOENT || ::mkdir(path.c_str(), 0755) != 0) {
      *why = "cannot make the folder " + name.substr(0, slash) + ": " + std::strerror(errno);
      return false;
    }
    if (slash == std::string::npos) return true;
    start = slash + 1;
  }
}

std::shared_ptr<LiveSlot> LivePoints::Find(const std::string& name, bool create, unsigned* status,
                                           std::string* why) {
  // Before any file is looked at or folder made: the name becomes a path.
  piff::Status valid = piff::CheckPointName(name);
  if (!valid) {
    *status = 400;
    *why = valid.message();
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = slots_.find(name);
  if (it != slots_.end()) return it->second;
  piff::LivePointSettings s = settings_;
  s.archive_dir = root_ + "/" + name;
  bool defined = false;
  if (!ReadDefinition(s.archive_dir + ".isml", &s, &defined, why)) {
    *status = 403;
    *why = name + ".isml (the point's definition): " + *why;
    return nullptr;
  }
  std::unique_ptr<piff::LivePoint> point;
  if (HasArchive(s.archive_dir)) {
    // A restart: the point goes on from what its archive holds. The core
    // reads it (on this loop: a dev origin's pause, once per point).
    std::string err;
    point = piff::LivePoint::Recover(name, s, &err);
    if (!point) {
      *status = 409;
      *why = "cannot pick up the archive in " + name + "/: " + err + " (move it away to start afresh)";
      return nullptr;
    }
    LogLine("live " + name + ".isml: picked up from its archive");
  } else if (!create) {
    *status = 404;
    *why = "no publishing point " + name + ".isml (an encoder creates it: POST to " + name +
           ".isml/Streams(id) with --ingest)";
    return nullptr;
  } else if (declared_only_ && !defined) {
    *status = 403;
    *why = "no definition " + name + ".isml under the root (--ingest-declared-only)";
    return nullptr;
  } else {
    if (slots_.size() >= kMaxPoints) {
      *status = 503;
      *why = "too many publishing points (" + std::to_string(kMaxPoints) + ")";
      return nullptr;
    }
    if (!MakeArchiveDir(name, why)) {
      *status = 403;
      return nullptr;
    }
    point = std::make_unique<piff::LivePoint>(name, s);
    LogLine("live " + name + ".isml: new publishing point, archive in " + name + "/");
  }
  auto slot = std::make_shared<LiveSlot>();
  slot->name = name;
  slot->point = std::move(point);
  slots_[name] = slot;
  return slot;
}

void LivePoints::Tick(uint64_t now_ms) {
  std::vector<std::shared_ptr<LiveSlot>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& kv : slots_) all.push_back(kv.second);
  }
  for (auto& slot : all) {
    std::lock_guard<std::mutex> lock(slot->mutex);
    slot->point->Tick(now_ms);
  }
}

piff::LivePointCounters LivePoints::Counters() const {
  std::vector<std::shared_ptr<LiveSlot>> all;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& kv : slots_) all.push_back(kv.second);
  }
  piff::LivePointCounters sum;
  for (auto& slot : all) {
    std::lock_guard<std::mutex> lock(slot->mutex);
    piff::LivePointCounters c = slot->point->counters();
    sum.streams_opened += c.streams_opened;
    sum.reconnects += c.reconnects;
    sum.refused_headers += c.refused_headers;
    sum.fragments_added += c.fragments_added;
    sum.duplicates += c.duplicates;
    sum.out_of_order += c.out_of_order;
    sum.bytes_in += c.bytes_in;
    sum.archive_errors += c.archive_errors;
    sum.redundant_tracks += c.redundant_tracks;
  }
  return sum;
}

size_t LivePoints::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return slots_.size();
}

// ------------------------------------------------------------ GETs

namespace {

// A whole body from memory, as Loop::Respond sends one (never accumulated:
// the origin, not libsoup, decides about ranges).
void SendBody(SoupServerMessage* msg, const char* content_type, BytesPtr bytes) {
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
  soup_message_headers_replace(h, "Content-Type", content_type);
  SoupMessageBody* body = soup_server_message_get_response_body(msg);
  soup_message_body_set_accumulate(body, FALSE);
  soup_message_body_append_bytes(body, bytes.get());
}

}  // namespace

void ServeLive(Loop* loop, SoupServerMessage* msg, const RequestInfo& info) {
  Origin::Impl* o = loop->origin;
  const OriginRequest& req = info.request;
  if (!o->live) {
    RespondError(msg, SOUP_STATUS_NOT_FOUND,
                 req.asset_path + " is a live publishing point: serve runs without --ingest");
    return;
  }
  if (req.kind == OriginRequest::Kind::kIngest) {
    RespondError(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Streams(id) is an encoder's ingest URL: it takes POST");
    return;
  }
  unsigned status = 0;
  std::string why;
  std::shared_ptr<LiveSlot> slot = o->live->Find(PointName(req.asset_path), false, &status, &why);
  if (!slot) {
    RespondError(msg, status, why);
    return;
  }
  Transfer* t = TransferOf(msg);
  SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
  if (req.kind == OriginRequest::Kind::kManifest) {
    std::shared_ptr<const std::string> xml;
    bool running = false, has_tracks = false;
    piff::Status built;
    {
      std::lock_guard<std::mutex> lock(slot->mutex);
      running = slot->point->running();
      has_tracks = running || slot->point->stopped();
      if (has_tracks) built = slot->point->ClientManifestXml(&xml);
    }
    if (!has_tracks) {
      RespondError(msg, SOUP_STATUS_NOT_FOUND, "the publishing point " + req.asset_path + " has no stream yet");
      return;
    }
    if (!built) {
      RespondError(msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, built.message());
      return;
    }
    // A running manifest changes with every fragment: a cache (or CDN) may
    // keep it only briefly. After the stop it is the archive's, as VOD.
    soup_message_headers_append(h, "Cache-Control",
                                running ? o->live_manifest_cache_control.c_str() : o->manifest_cache_control.c_str());
    soup_message_headers_append(h, "Vary", "Accept-Encoding");
    BytesPtr body;
    if (info.gzip_ok && (body = Gzip(*xml))) {
      soup_message_headers_append(h, "Content-Encoding", "gzip");
    } else {
      body.reset(g_bytes_new(xml->data(), xml->size()));
    }
    if (t) {
      t->log.served = Served::kManifest;
      t->log.status = SOUP_STATUS_OK;
    }
    o->counters.live_manifests++;
    SendBody(msg, "text/xml", std::move(body));
    return;
  }
  if (req.noun != OriginRequest::Noun::kFragments) {
    RespondError(msg, SOUP_STATUS_NOT_FOUND,
                 "a live point serves Fragments(...) only (FragmentInfo, KeyFrames, RawFragments: not for live)");
    return;
  }
  std::vector<uint8_t> bytes;
  piff::FragmentLookup found;
  {
    std::lock_guard<std::mutex> lock(slot->mutex);
    found = slot->point->Fragment(req.bitrate, req.track_name, req.time, &bytes);
  }
  std::string at = req.track_name + "=" + std::to_string(req.time) + " at QualityLevels(" +
                   std::to_string(req.bitrate) + ")";
  switch (found) {
    case piff::FragmentLookup::kFound:
      break;
    case piff::FragmentLookup::kNotYet:
      // What IIS answers for a fragment past the live edge (dash.js issue
      // 2392, PR 2438): the client waits and asks again. Never cached.
      o->counters.live_not_yet++;
      RespondError(msg, SOUP_STATUS_PRECONDITION_FAILED, "fragment " + at + " is not there yet (live edge)");
      return;
    case piff::FragmentLookup::kOutOfWindow:
      // Gone for good: it left the DVR window.
      o->counters.live_out_of_window++;
      RespondError(msg, SOUP_STATUS_GONE, "fragment " + at + " has left the DVR window");
      return;
    case piff::FragmentLookup::kNoTrack:
      RespondError(msg, SOUP_STATUS_NOT_FOUND, "no track " + req.track_name + " at QualityLevels(" +
                                                   std::to_string(req.bitrate) + ")");
      return;
    case piff::FragmentLookup::kNoFragment:
      RespondError(msg, SOUP_STATUS_NOT_FOUND, "no fragment starts at " + at);
      return;
  }
  soup_message_headers_append(h, "Cache-Control", o->fragment_cache_control.c_str());
  if (t) {
    t->log.served = Served::kFragment;
    t->log.status = SOUP_STATUS_OK;
  }
  o->counters.live_fragments++;
  SendBody(msg, "video/mp4", BytesPtr(BytesFromVector(std::move(bytes))));
}

}  // namespace gst_smooth
