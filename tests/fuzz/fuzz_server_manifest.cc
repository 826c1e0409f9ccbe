// libFuzzer target for the server manifest (.ism SMIL and the Live Server
// Manifest): Parse, then the writer must be a fixed point, the accessors must
// be safe on whatever was parsed, and edits through the setters (with values
// taken from the input, so escaping is exercised) must still write a document
// that parses.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "server_manifest.h"

namespace {

std::string WriteChecked(const piff::ServerManifest& m, const char* what) {
  std::string first = m.Write();
  piff::ServerManifest again;
  fuzz::CheckOk(piff::ServerManifest::Parse(first, &again), what);
  FUZZ_CHECK(again.tracks.size() == m.tracks.size() && again.meta.size() == m.meta.size(),
             "%s: %zu tracks / %zu meta became %zu / %zu", what, m.tracks.size(), m.meta.size(),
             again.tracks.size(), again.meta.size());
  std::string second = again.Write();
  FUZZ_CHECK(second == first, "%s: writer is not a fixed point:\n--- first\n%s\n--- second\n%s", what,
             first.c_str(), second.c_str());
  return first;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  piff::ServerManifest m;
  if (!piff::ServerManifest::Parse(std::string(reinterpret_cast<const char*>(data), size), &m).ok()) return 0;
  WriteChecked(m, "Parse(Write(m))");

  (void)m.client_manifest_relative_path();
  for (const auto& kv : m.meta) FUZZ_CHECK(m.FindMeta(kv.first) != nullptr, "FindMeta misses a meta");
  for (const piff::ServerTrack& t : m.tracks) {
    (void)t.track_id();
    (void)t.track_name();
    for (const piff::ServerParam& p : t.params) FUZZ_CHECK(t.FindParam(p.name) != nullptr, "FindParam misses");
  }

  piff::ServerManifest edited = m;
  std::string value = m.tracks.empty() ? std::string("x") : m.tracks.front().src + "\"<&>\t\r\n";
  edited.set_client_manifest_relative_path(value);
  for (piff::ServerTrack& t : edited.tracks) {
    t.set_track_name(value);
    t.set_track_id(t.system_bitrate);
    FUZZ_CHECK(t.track_id() == t.system_bitrate, "set_track_id does not read back");
  }
  WriteChecked(edited, "Parse(Write(edited m))");
  return 0;
}
