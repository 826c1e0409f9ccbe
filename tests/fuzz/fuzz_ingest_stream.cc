// libFuzzer target for the ingest body parser (ingest_stream.h): the input
// is an ingest body fed once whole and once in pieces of random sizes (from
// a generator seeded by the input, 1 byte up to 4 KiB). Properties: both
// feeds give the same events (kinds, header bytes, each fragment's track,
// time, duration and bytes) and the same error text; an error has one line;
// what the parser holds stays under the largest limit plus the header room
// and one piece; a fragment's moof parses and has one traf. Small limits
// keep the hostile-size paths reachable. The events then feed a LivePoint
// (no archive): its running manifest parses back with the core parser and
// every fragment it lists answers kFound with a moof that parses. The same
// bytes read as an archive file (ScanArchiveFile, what Recover uses) give
// fragments inside the file, in order, ending at good_end.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "client_manifest.h"
#include "fuzz_common.h"
#include "ingest_stream.h"
#include "live_archive.h"
#include "live_point.h"

namespace {

struct Outcome {
  std::vector<int> kinds;
  std::vector<uint8_t> header;
  std::optional<piff::IngestHeader> parsed_header;
  std::vector<piff::IngestFragment> fragments;
  std::string error;
};

Outcome Run(const uint8_t* data, size_t size, bool whole) {
  const piff::StreamLimits limits = fuzz::SmallStreamLimits();
  // Header room: ftyp + LSM + moov + 1 MiB of other boxes; then a moof and
  // an mdat (the buffer) plus a piece.
  const uint64_t bound = limits.ftyp + limits.live_manifest + limits.moov + (1u << 20) + limits.moof + limits.mdat + 4096 + 64;
  uint64_t seed = size;
  for (size_t i = 0; i < std::min<size_t>(size, 8); i++) seed = seed * 131 + data[i];
  std::mt19937_64 rng(seed);
  piff::IngestParser parser(limits);
  Outcome o;
  size_t fed = 0;
  piff::Status s;
  while (s && fed < size) {
    size_t piece = whole ? size : static_cast<size_t>(1 + rng() % (size_t{1} << (rng() % 13)));
    piece = std::min(piece, size - fed);
    std::vector<piff::IngestParser::Event> events;
    s = parser.Push(data + fed, piece, &events);
    fed += piece;
    FUZZ_CHECK(parser.buffered() <= bound, "%zu bytes held", parser.buffered());
    for (auto& e : events) {
      o.kinds.push_back(static_cast<int>(e.kind));
      if (e.kind == piff::IngestParser::Event::Kind::kHeader) {
        o.header = e.header.bytes;
        o.parsed_header = e.header;
      }
      if (e.kind == piff::IngestParser::Event::Kind::kFragment) {
        piff::BoxHeader h;
        FUZZ_CHECK(piff::ParseBoxHeader(e.fragment.bytes.data(), e.fragment.bytes.size(), &h).ok(),
                   "a fragment without a moof header");
        piff::MovieFragmentBox moof;
        FUZZ_CHECK(moof.Parse(e.fragment.bytes.data(), static_cast<size_t>(h.size)).ok(), "a fragment's moof does not parse");
        FUZZ_CHECK(moof.trafs.size() == 1, "a fragment with %zu trafs", moof.trafs.size());
        o.fragments.push_back(std::move(e.fragment));
      }
    }
  }
  if (s) s = parser.Finish();
  if (!s) {
    o.error = s.message();
    FUZZ_CHECK(!o.error.empty() && o.error.find('\n') == std::string::npos, "error text: '%s'", o.error.c_str());
  }
  return o;
}

// The point's answers agree with its manifest.
void CheckPoint(Outcome& o) {
  if (!o.parsed_header) return;
  piff::LivePointSettings settings;
  settings.lookahead = 1;
  settings.memory_fragments = 4;
  piff::LivePoint point("fuzz", settings);
  if (!point.OpenStream("s", *o.parsed_header, 0)) return;
  for (piff::IngestFragment& f : o.fragments) point.AddFragment("s", f, 0);
  std::shared_ptr<const std::string> cached;
  if (!point.ClientManifestXml(&cached)) return;  // BuildPresentation refused the tracks
  const std::string& xml = *cached;
  piff::ClientManifest m;
  fuzz::CheckOk(piff::ClientManifest::Parse(xml, &m), "the live manifest parses");
  FUZZ_CHECK(m.is_live, "a running point's manifest is not live");
  for (const piff::StreamIndex& si : m.streams)
    for (const piff::QualityLevel& ql : si.quality_levels)
      si.ForEachFragment([&](uint64_t t, uint64_t) {
        std::vector<uint8_t> r;
        piff::FragmentLookup l = point.Fragment(ql.bitrate, si.name, t, &r);
        FUZZ_CHECK(l == piff::FragmentLookup::kFound, "listed fragment %s@%u t=%llu not found", si.name.c_str(),
                   ql.bitrate, static_cast<unsigned long long>(t));
        piff::BoxHeader h;
        piff::MovieFragmentBox moof;
        FUZZ_CHECK(piff::ParseBoxHeader(r.data(), r.size(), &h).ok() &&
                       moof.Parse(r.data(), static_cast<size_t>(h.size)).ok(),
                   "a fragment response does not parse");
        return true;
      });
}

bool Same(const piff::IngestFragment& a, const piff::IngestFragment& b) {
  return a.track_id == b.track_id && a.offset == b.offset && a.time == b.time && a.duration == b.duration &&
         a.samples == b.samples && a.bytes == b.bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Outcome whole = Run(data, size, true);
  Outcome pieces = Run(data, size, false);
  FUZZ_CHECK(whole.error == pieces.error, "errors differ: '%s' vs '%s'", whole.error.c_str(), pieces.error.c_str());
  FUZZ_CHECK(whole.kinds == pieces.kinds, "events differ");
  FUZZ_CHECK(whole.header == pieces.header, "headers differ");
  FUZZ_CHECK(whole.fragments.size() == pieces.fragments.size(), "fragment counts differ");
  for (size_t i = 0; i < whole.fragments.size(); i++)
    FUZZ_CHECK(Same(whole.fragments[i], pieces.fragments[i]), "fragment %zu differs", i);
  CheckPoint(whole);
  fuzz::MemoryByteSource file(data, size);
  piff::ArchiveScan scan;
  if (piff::ScanArchiveFile(file, "fuzz", &scan)) {
    FUZZ_CHECK(scan.good_end <= size, "good_end past the file");
    uint64_t at = 0;
    for (const piff::ArchivedFragment& f : scan.fragments) {
      FUZZ_CHECK(f.entry.offset >= at && f.entry.offset + f.entry.size <= scan.good_end, "fragment out of place");
      at = f.entry.offset + f.entry.size;
    }
  }
  return 0;
}
