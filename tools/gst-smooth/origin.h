// The development Smooth Streaming origin behind `gst-smooth serve`: maps
// [MS-SSTR] URLs (NAME.ism/Manifest, QualityLevels(b)/Fragments(name=t), ...)
// onto the .ism assets under a root folder through piff::Asset, and serves
// them over HTTP/1.1 with libsoup 3 (SoupServer).
//
// Threading: one SoupServer per GMainContext ("loop"); a loop never waits for
// the disk. It answers from memory (a loaded asset checked within the last
// second, the fragment cache) or with preadv2(RWF_NOWAIT), which reads pages
// already in the page cache and fails instead of blocking; everything else
// (resolving and loading assets, rewriting moofs for KeyFrames, reads that
// would block) runs on GLib's GTask thread pool and comes back to the loop.
// Bodies are streamed in chunks of at most kChunkSize (whole fragments up to
// kMaxCachedBody) with at most two chunks queued per response, so memory per
// response is bounded whatever the fragment size; a single byte Range is cut
// from the cached fragment or streamed from where it starts. With
// --threads N, N loops accept on the same port (SO_REUSEPORT), each in its
// own thread. Each loop
// remembers the request paths it recently answered from the fragment cache
// (the "hot table"), so that a repeated GET of a popular fragment skips URL
// parsing and resolution while the asset is known to be unchanged. Each loop
// accepts its connections itself and closes those idle for longer than
// --idle-timeout, and those whose client stopped reading a response for
// longer than --send-timeout.
//
// Live publishing points (NAME.isml, with --ingest): encoders POST to
// NAME.isml/Streams(id); the body is cut by the core's IngestParser as it
// arrives and handed to the core's LivePoint, which answers the live
// manifest and fragments (origin_live.cc, origin_ingest.cc).
//
// The code: origin.cc (sockets, connections, the Origin class),
// origin_http.cc (the SoupServer callbacks), origin_request.cc (request
// paths and headers, Resolve), origin_assets.cc (asset and fragment caches,
// reads), origin_live.cc (publishing points, live GETs), origin_ingest.cc
// (ingest POSTs); origin_internal.h and origin_live.h have the types they
// share.
#pragma once

#include <gio/gio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "request_path.h"

namespace gst_smooth {

// ------------------------------------------------------------ request paths

// What a request path names. Pure parsing: no file system access.
// The request grammar lives in the core (request_path.h).
using OriginRequest = piff::RequestPath;
using piff::ParseDecimalU32;
using piff::ParseDecimalU64;
using piff::ParseRequestPath;

// ------------------------------------------------------------ the server

struct OriginOptions {
  std::string root;                 // folder searched for .ism files
  std::string bind = "127.0.0.1";   // address to listen on
  unsigned port = 0;                // 0: pick a free port
  unsigned threads = 1;             // event loops accepting on the port
  unsigned fragment_max_age = 86400;  // Cache-Control max-age of fragments, s
  unsigned manifest_max_age = 10;     // ... of manifests (repackaging changes them)
  size_t cache_bytes = 64u << 20;     // fragment cache (0: none)
  // A connection that waits longer than this for the headers of its next
  // request (after it was accepted or after its last response) is closed, s
  // (0: never). A request being answered is never cut.
  unsigned idle_timeout = 60;
  // A connection whose client takes no byte of a response (in progress, or
  // still queued in the kernel) for this long is closed, s (0: never). A
  // slow reader that keeps taking bytes is never cut.
  unsigned send_timeout = 60;
  bool log_requests = true;         // one line per request on stdout
  // Cross-origin access (piff::CrossOrigin::Parse): "*", "none" or a
  // comma-separated list of origins.
  std::string cors_origin = "*";
  // /clientaccesspolicy.xml and /crossdomain.xml: these files' contents
  // when set, else (with policy_files) generated from cors_origin (none
  // when it is "none"), else 404.
  bool policy_files = true;
  std::string client_access_policy_file, cross_domain_file;

  // Live publishing points (docs/live-serving.md).
  bool ingest = false;              // accept encoders' POSTs to NAME.isml/Streams(id)
  // Create only the points defined by a file ROOT/DIR/NAME.isml (its
  // settings override the flags below for that point).
  bool ingest_declared_only = false;
  unsigned lookahead = 2;           // LookAheadFragmentCount of new points
  unsigned dvr_window = 0;          // DVRWindowLength of new points, s (0: unbounded)
  unsigned live_manifest_max_age = 1;  // Cache-Control max-age of a running point's manifest, s
  // A POST that completes no fragment for this long is answered 408 and
  // closed, s (0: never): a stalled or slow-loris encoder.
  unsigned ingest_timeout = 30;
  unsigned ingest_idle_stop = 30;   // a point with no stream for this long stops, s (0: never)
  // Optional ingest credentials: "Authorization: Bearer TOKEN" and/or
  // Basic "USER:PASSWORD". Either accepted when both are set. Never logged.
  std::string ingest_token, ingest_user;
};

class Origin {
 public:
  // Bytes read from disk per chunk of a streamed response.
  static constexpr size_t kChunkSize = 256 * 1024;
  // Fragments (and FragmentInfo) up to this size are read in one piece and
  // kept in the fragment cache.
  static constexpr size_t kMaxCachedBody = 1024 * 1024;

  ~Origin();
  Origin(const Origin&) = delete;
  Origin& operator=(const Origin&) = delete;

  // Checks the root, binds the port (on every loop) and starts accepting in
  // the calling thread's default main context; extra loops run in their own
  // threads. Returns null with *error set on failure.
  static std::unique_ptr<Origin> Start(const OriginOptions& options, std::string* error);

  // "http://ADDR:PORT/".
  const std::string& url() const;
  // Relative paths of the .ism files under the root (a bounded scan, for the
  // start-up message; requests look files up directly).
  std::vector<std::string> ListAssets() const;
  // Stops accepting, closes connections, waits (at most `timeout_ms`) for
  // disk reads in flight and joins the extra loops. Call from the thread that
  // called Start, with its main loop no longer running. False when pool
  // jobs were still running at the deadline: the Origin must then not be
  // destroyed (they still use it), only the process ended.
  bool Stop(unsigned timeout_ms = 2000);
  // One line of counters: requests by status class, bytes, fragments, ...
  std::string CountersLine() const;

  struct Impl;

 private:
  explicit Origin(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace gst_smooth
