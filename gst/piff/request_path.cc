// Request paths of Smooth Streaming presentations and publishing points (request_path.h).
#include "request_path.h"

#include <glib.h>

#include <algorithm>
#include <cstring>
#include <limits>

namespace piff {

bool RequestPath::operator==(const RequestPath& o) const {
  return kind == o.kind && asset_path == o.asset_path && noun == o.noun && bitrate == o.bitrate &&
         attributes == o.attributes && track_name == o.track_name && time == o.time && stream_id == o.stream_id &&
         event_id == o.event_id;
}

bool RequestPath::live() const {
  size_t slash = asset_path.rfind('/');
  return IsIsmlSegment(slash == std::string::npos ? asset_path : asset_path.substr(slash + 1));
}

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

bool IsIsmSegment(const std::string& seg) {
  return seg.size() > 4 && g_ascii_strcasecmp(seg.c_str() + seg.size() - 4, ".ism") == 0;
}

bool IsIsmlSegment(const std::string& seg) {
  return seg.size() > 5 && g_ascii_strcasecmp(seg.c_str() + seg.size() - 5, ".isml") == 0;
}

namespace {

bool StartsWithNoCase(const std::string& s, const char* prefix) {
  size_t n = std::strlen(prefix);
  return s.size() >= n && g_ascii_strncasecmp(s.c_str(), prefix, n) == 0;
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

// [Events(event)/]Streams(id): the ingest URL of [MS-SSTR] 2.2.7. The
// identifiers are any non-empty text without parentheses.
unsigned ParseIngest(const std::vector<std::string>& rest, RequestPath* out, std::string* why) {
  std::string name, inner;
  size_t i = 0;
  if (rest.size() == 2) {
    if (!SplitCall(rest[0], &name, &inner) || g_ascii_strcasecmp(name.c_str(), "Events") != 0 || inner.empty()) {
      *why = "malformed Events(...) segment";
      return 400;
    }
    out->event_id = inner;
    i = 1;
  } else if (rest.size() != 1) {
    *why = "an ingest path is [Events(id)/]Streams(id)";
    return 404;
  }
  if (!SplitCall(rest[i], &name, &inner) || g_ascii_strcasecmp(name.c_str(), "Streams") != 0 || inner.empty()) {
    *why = "malformed Streams(...) segment (expected Streams(id))";
    return 400;
  }
  out->stream_id = inner;
  out->kind = RequestPath::Kind::kIngest;
  return 0;
}

}  // namespace

unsigned ParseRequestPath(const std::string& raw_path, RequestPath* out, std::string* why) {
  *out = RequestPath();
  if (raw_path.empty() || raw_path[0] != '/') {
    *why = "the path does not start with '/'";
    return 400;
  }
  // An encoded '/' (or NUL) would let one segment name a different file than
  // it appears to: refuse it rather than guess.
  gchar* unescaped = g_uri_unescape_string(raw_path.c_str(), "/");
  if (!unescaped) {
    *why = "bad percent-encoding (or an encoded '/' or NUL)";
    return 400;
  }
  std::string decoded(unescaped);
  g_free(unescaped);
  std::vector<std::string> segs;
  for (const char* p = decoded.c_str(); *p;) {
    const char* slash = std::strchr(p, '/');
    size_t n = slash ? static_cast<size_t>(slash - p) : std::strlen(p);
    if (n) segs.emplace_back(p, n);  // "//" is folded, as web servers do
    p += n;
    if (*p == '/') p++;
  }
  size_t ism = segs.size();
  for (size_t i = 0; i < segs.size(); i++)
    if (IsIsmSegment(segs[i]) || IsIsmlSegment(segs[i])) {
      ism = i;
      break;
    }
  for (size_t i = 0; i < std::min(ism + 1, segs.size()); i++)
    if (segs[i] == "." || segs[i] == "..") {
      *why = "'.' and '..' segments are not allowed";
      return 400;
    }
  if (ism == segs.size()) {
    *why = "no NAME.ism (or NAME.isml) segment in the path";
    return 404;
  }
  for (size_t i = 0; i <= ism; i++) out->asset_path += (i ? "/" : "") + segs[i];
  std::vector<std::string> rest(segs.begin() + ism + 1, segs.end());
  if (rest.size() == 1 && g_ascii_strcasecmp(rest[0].c_str(), "Manifest") == 0) {
    out->kind = RequestPath::Kind::kManifest;
    return 0;
  }
  if (!rest.empty() && (StartsWithNoCase(rest[0], "Streams(") || StartsWithNoCase(rest[0], "Events(")))
    return ParseIngest(rest, out, why);
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
  out->kind = RequestPath::Kind::kFragment;
  if (g_ascii_strcasecmp(name.c_str(), "Fragments") == 0) {
    out->noun = RequestPath::Noun::kFragments;
  } else if (g_ascii_strcasecmp(name.c_str(), "FragmentInfo") == 0) {
    out->noun = RequestPath::Noun::kFragmentInfo;
  } else if (g_ascii_strcasecmp(name.c_str(), "KeyFrames") == 0) {
    out->noun = RequestPath::Noun::kKeyFrames;
  } else if (g_ascii_strcasecmp(name.c_str(), "RawFragments") == 0) {
    out->noun = RequestPath::Noun::kRawFragments;
  } else {
    *why = "unknown fragment noun '" + name + "'";
    return 404;
  }
  return 0;
}

namespace {

// Percent-encodes everything but RFC 3986 unreserved characters and the
// sub-delimiters the grammar does not use for structure at that place
// (`keep`). '%' is always encoded.
std::string Escape(const std::string& s, const char* keep) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (g_ascii_isalnum(c) || std::strchr("-._~", c) || (c && std::strchr(keep, c))) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace

std::string FormatRequestPath(const RequestPath& r) {
  std::string out;
  size_t start = 0;
  for (;;) {  // the asset path keeps its '/' separators
    size_t slash = r.asset_path.find('/', start);
    out += "/" + Escape(r.asset_path.substr(start, slash == std::string::npos ? std::string::npos : slash - start),
                        "!$&'()*+,;=:@");
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (r.kind == RequestPath::Kind::kManifest) return out + "/Manifest";
  if (r.kind == RequestPath::Kind::kIngest) {
    if (!r.event_id.empty()) out += "/Events(" + Escape(r.event_id, "!$&'*+,;=:@") + ")";
    return out + "/Streams(" + Escape(r.stream_id, "!$&'*+,;=:@") + ")";
  }
  // The parser decodes the whole path before it splits on ( ) , = so these
  // stay literal where the grammar allows them inside a field and cannot
  // occur where it does not.
  out += "/QualityLevels(" + std::to_string(r.bitrate);
  for (const auto& kv : r.attributes) out += "," + Escape(kv.first, "!$&'*+;:@") + "=" + Escape(kv.second, "!$&'*+;=:@");
  out += ")/";
  switch (r.noun) {
    case RequestPath::Noun::kFragments: out += "Fragments"; break;
    case RequestPath::Noun::kFragmentInfo: out += "FragmentInfo"; break;
    case RequestPath::Noun::kKeyFrames: out += "KeyFrames"; break;
    case RequestPath::Noun::kRawFragments: out += "RawFragments"; break;
  }
  return out + "(" + Escape(r.track_name, "!$&'*+,;:@") + "=" + std::to_string(r.time) + ")";
}

}  // namespace piff
