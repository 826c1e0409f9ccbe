// Private to the development origin (origin.h): its live publishing points.
// The points themselves (timelines, duplicates, the archive, the live
// manifest and fragment responses) are the core's piff::LivePoint; this is
// only where the origin keeps them, finds them by URL, and serialises the
// calls of its event loops into each one.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "ingest_stream.h"
#include "live_archive.h"
#include "live_point.h"
#include "origin_internal.h"

namespace gst_smooth {

// One publishing point and the mutex that serialises every call into it:
// LivePoint is not thread-safe, and with --threads N the ingest POST of one
// loop and the GETs of the others use the same point.
struct LiveSlot {
  std::mutex mutex;
  std::string name;  // "dir/NAME" (the URL's dir/NAME.isml)
  std::unique_ptr<piff::LivePoint> point;
};

// The points by name, shared by all loops.
class LivePoints {
 public:
  // Points a hostile (or misconfigured) encoder may create: each costs
  // memory for its fragments in flight, so they are bounded.
  static constexpr size_t kMaxPoints = 64;

  // `settings`: serve's flags; a point's definition file overrides them.
  // `declared_only`: only points with a definition file are created.
  LivePoints(std::string root, piff::LivePointSettings settings, bool declared_only);

  // The point for `name` ("dir/NAME"): the one in memory, else the one its
  // archive (root/dir/NAME/) holds (LivePoint::Recover: a restart), else,
  // with `create`, a new one (its folders made under the root). Its
  // settings: serve's, overridden by root/dir/NAME.isml when that file
  // exists. Null with *status (400 for a name piff::CheckPointName
  // refuses, 404, 403, 409, 503) and *why when there is none.
  std::shared_ptr<LiveSlot> Find(const std::string& name, bool create, unsigned* status, std::string* why);
  // Time passes for every point (idle stop).
  void Tick(uint64_t now_ms);
  // The sum of the points' counters, for the counters line.
  piff::LivePointCounters Counters() const;
  size_t size() const;

 private:
  // Makes root/dir/NAME (each level a real folder, never a symlink, so the
  // archive cannot leave the root); false with *why.
  bool MakeArchiveDir(const std::string& name, std::string* why) const;

  const std::string root_;
  const piff::LivePointSettings settings_;
  const bool declared_only_;
  mutable std::mutex mutex_;
  std::map<std::string, std::shared_ptr<LiveSlot>> slots_;
};

// A connection answered early (origin_ingest.cc): what the client still
// sends is read and dropped, for a bounded time and amount, before the
// close, because closing with unread bytes resets the connection, and a
// reset can destroy the answer before the client reads it. Owned by the
// loop (Loop::lingering); its sweep closes it when `done` or past the
// deadline.
struct LingeringClose {
  static constexpr uint64_t kMaxBytes = 16u << 20;
  static constexpr int64_t kMaxUs = 2000000;
  LingeringClose(GObjectPtr<GIOStream> stream, GMainContext* context);
  ~LingeringClose();
  LingeringClose(const LingeringClose&) = delete;
  LingeringClose& operator=(const LingeringClose&) = delete;
  gboolean Read();

  GObjectPtr<GIOStream> stream;
  GSource* read_source = nullptr;
  int64_t deadline_us = 0;
  uint64_t dropped = 0;
  bool done = false;
};

// Milliseconds of the monotonic clock: the LivePoint's now_ms.
inline uint64_t NowMs() { return static_cast<uint64_t>(NowUs() / 1000); }

// Writes "gst-smooth serve: " + text as one stdout line, at most 1 KiB,
// with control characters as '?': names and stream ids come decoded from
// URLs and must not forge log lines.
void LogLine(const std::string& text);

// "dir/NAME.isml" -> "dir/NAME".
std::string PointName(const std::string& asset_path);

}  // namespace gst_smooth
