// libFuzzer target for the request paths an origin receives (request_path.h):
// any bytes give 0, 400 or 404 (with a reason) and never a crash; a path that
// parses names an .ism or .isml with no "." or ".." segment and no empty one; and
// FormatRequestPath writes a path that parses back to the same request, with
// the same path once more (a fixed point).
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "request_path.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string raw(reinterpret_cast<const char*>(data), size);
  piff::RequestPath r;
  std::string why;
  unsigned status = piff::ParseRequestPath(raw, &r, &why);
  FUZZ_CHECK(status == 0 || status == 400 || status == 404, "status %u", status);
  if (status) {
    FUZZ_CHECK(!why.empty(), "status %u without a reason", status);
    return 0;
  }
  const std::string& a = r.asset_path;
  FUZZ_CHECK(!a.empty() && a[0] != '/' && a.back() != '/' && a.find("//") == std::string::npos,
             "asset path \"%s\"", a.c_str());
  std::string last = a.substr(a.rfind('/') == std::string::npos ? 0 : a.rfind('/') + 1);
  FUZZ_CHECK(piff::IsIsmSegment(last) || piff::IsIsmlSegment(last),
             "asset path \"%s\" does not end in an .ism or .isml segment", a.c_str());
  for (size_t start = 0;;) {
    size_t slash = a.find('/', start);
    std::string seg = a.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    FUZZ_CHECK(seg != "." && seg != "..", "dot segment in \"%s\"", a.c_str());
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (r.kind == piff::RequestPath::Kind::kFragment) {
    FUZZ_CHECK(!r.track_name.empty(), "empty track name");
    for (const auto& kv : r.attributes) FUZZ_CHECK(!kv.first.empty(), "empty attribute key");
  }
  if (r.kind == piff::RequestPath::Kind::kIngest) FUZZ_CHECK(!r.stream_id.empty(), "empty stream id");

  std::string formatted = piff::FormatRequestPath(r);
  piff::RequestPath again;
  std::string why2;
  unsigned status2 = piff::ParseRequestPath(formatted, &again, &why2);
  FUZZ_CHECK(status2 == 0, "\"%s\" (from \"%s\") does not parse: %u %s", formatted.c_str(), raw.c_str(), status2,
             why2.c_str());
  FUZZ_CHECK(again == r, "\"%s\" parses to a different request than \"%s\"", formatted.c_str(), raw.c_str());
  FUZZ_CHECK(piff::FormatRequestPath(again) == formatted, "format is not a fixed point for \"%s\"",
             formatted.c_str());
  return 0;
}
