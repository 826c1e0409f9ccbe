// The request paths of a Smooth Streaming presentation ([MS-SSTR] 2.2.2,
// 2.2.3, 2.2.7 and the IIS nouns), as an origin receives them:
//   /dir/NAME.ism/Manifest             (NAME.isml for a live publishing point)
//   /dir/NAME.ism/QualityLevels(BITRATE[,KEY=VALUE...])/NOUN(TRACK=TIME)
//   /dir/NAME.isml[/Events(EVENT)]/Streams(ID)   (an encoder's ingest POST)
// with NOUN one of Fragments, FragmentInfo, KeyFrames, RawFragments. Parsed
// from the raw (percent-encoded) path, and written back (clients build these
// URLs). Hostile input: the parser is fuzzed (tests/fuzz/fuzz_request_path.cc).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace piff {

struct RequestPath {
  enum class Kind { kManifest, kFragment, kIngest };
  enum class Noun { kFragments, kFragmentInfo, kKeyFrames, kRawFragments };
  Kind kind = Kind::kManifest;
  std::string asset_path;  // "dir/NAME.ism" or "dir/NAME.isml", relative to the root, decoded
  // Fragment requests only.
  Noun noun = Noun::kFragments;
  uint32_t bitrate = 0;
  std::vector<std::pair<std::string, std::string>> attributes;  // QualityLevels(b,k=v,...)
  std::string track_name;
  uint64_t time = 0;
  // Ingest requests only: Streams(stream_id), after an optional Events(event_id).
  std::string stream_id, event_id;

  // The path names a live publishing point (NAME.isml).
  bool live() const;
  bool operator==(const RequestPath& o) const;
};

// Parses the raw (still percent-encoded) path of a request. Returns 0 and
// fills *out, or an HTTP status: 400 for a malformed URL (bad escapes, an
// encoded '/' or NUL, "."/".." segments, missing parentheses or '=', numbers
// that are not decimal or overflow uint32/uint64), 404 for a well-formed
// path that names nothing an origin serves. *why says which rule failed.
// The first .ism or .isml segment ends the presentation's path.
unsigned ParseRequestPath(const std::string& raw_path, RequestPath* out, std::string* why);

// The path of `r`, beginning with '/', every field percent-encoded where
// needed, so that ParseRequestPath gives `r` back for anything it produced.
std::string FormatRequestPath(const RequestPath& r);

// Strict decimal parsers: digits only (no sign, spaces or hex), no overflow.
bool ParseDecimalU64(const std::string& s, uint64_t* out);
bool ParseDecimalU32(const std::string& s, uint32_t* out);

// A path segment naming an on-demand presentation: "NAME.ism" (any case).
bool IsIsmSegment(const std::string& seg);
// A path segment naming a live publishing point: "NAME.isml" (any case).
bool IsIsmlSegment(const std::string& seg);

}  // namespace piff
