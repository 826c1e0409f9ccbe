// libFuzzer target for the incremental stream reader (stream_reader.h): the
// input is a byte stream (a file, an ingest body) fed to a consumer over a
// std::vector, once whole and once in pieces of random sizes (drawn from a
// generator seeded by the input, from 1 byte up to 4 KiB). Properties: the
// consumer never has to drop or take more than it holds and never shows more
// than it holds; both feeds give the same units, the same sample bytes at
// the same offsets, the same error and the same end of stream (the result
// does not depend on how the bytes arrive); sample offsets only grow; the
// buffer never holds more than the largest limit plus one piece; every walk
// ends (bounded steps). Small limits keep the hostile-size paths reachable.
// Both modes are walked: samples, and relay (whole mdat/mfra units), whose
// steps' bytes put together must be the input.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fuzz_common.h"
#include "stream_reader.h"

namespace {

struct Outcome {
  std::vector<int> units;
  std::vector<uint64_t> sample_offsets;
  std::vector<uint8_t> sample_bytes;
  std::vector<uint8_t> stepped;  // relay mode: every step's bytes
  bool ok = true;
  std::string error;
  piff::StreamEnd end;
};

Outcome Run(const uint8_t* data, size_t size, bool whole, piff::StreamMode mode) {
  const piff::StreamLimits limits = fuzz::SmallStreamLimits();
  const uint64_t bound = std::max({limits.ftyp, limits.moov, limits.moof, limits.live_manifest, limits.sample,
                                 limits.mdat, limits.mfra});
  uint64_t seed = size;
  for (size_t i = 0; i < std::min<size_t>(size, 8); i++) seed = seed * 131 + data[i];
  std::mt19937_64 rng(seed);
  piff::StreamReader reader(limits, mode);
  Outcome o;
  std::vector<uint8_t> buf;
  size_t fed = 0;
  uint64_t consumed = 0, last_sample_end = 0;
  size_t steps = 0, queued = 0;
  while (o.ok) {
    for (;;) {
      // Each step takes at least one byte, but for one kNeedData per box and
      // the empty samples queued.
      FUZZ_CHECK(++steps < 4 * size + queued + 1000, "the walk does not end");
      size_t want = reader.Want(buf.size());
      FUZZ_CHECK(want <= buf.size(), "Want %zu with %zu buffered", want, buf.size());
      FUZZ_CHECK(reader.offset() == consumed, "offset %llu, consumed %llu",
                 static_cast<unsigned long long>(reader.offset()), static_cast<unsigned long long>(consumed));
      piff::StreamStep step;
      piff::Status s = reader.Next(want ? buf.data() : nullptr, want, buf.size(), &step);
      if (!s) {
        o.ok = false;
        o.error = step.error_text + ": " + s.message();
        FUZZ_CHECK(!step.error_text.empty(), "an error without a description");
        break;
      }
      if (step.kind == piff::StreamStep::Kind::kNeedData) {
        if (step.again) continue;
        break;
      }
      FUZZ_CHECK(step.size <= buf.size(), "step of %llu bytes with %zu buffered",
                 static_cast<unsigned long long>(step.size), buf.size());
      FUZZ_CHECK(step.offset == consumed, "step at the wrong offset");
      if (step.kind == piff::StreamStep::Kind::kSkip) FUZZ_CHECK(step.size > 0, "an empty skip");
      if (step.kind == piff::StreamStep::Kind::kUnit) {
        o.units.push_back(static_cast<int>(step.unit));
        FUZZ_CHECK(step.data == buf.data(), "a unit not at the head");
        if (step.unit == piff::StreamUnit::kMoof)
          for (size_t i = 0; i < reader.fragments().size(); i++)
            if (reader.Queue(i)) queued += reader.fragments()[i].samples.size();
      } else if (step.kind == piff::StreamStep::Kind::kSample) {
        FUZZ_CHECK(step.offset >= last_sample_end, "samples out of byte order");
        FUZZ_CHECK(step.sample.size == step.size, "sample size differs from the step");
        last_sample_end = step.offset + step.size;
        o.sample_offsets.push_back(step.offset);
        o.sample_bytes.insert(o.sample_bytes.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(step.size));
      }
      if (mode == piff::StreamMode::kRelay) {
        FUZZ_CHECK(step.kind != piff::StreamStep::Kind::kSample, "a sample in relay mode");
        o.stepped.insert(o.stepped.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(step.size));
      }
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(step.size));
      consumed += step.size;
    }
    if (!o.ok || fed == size) break;
    size_t piece = whole ? size : static_cast<size_t>(1 + rng() % (size_t{1} << (rng() % 13)));
    piece = std::min(piece, size - fed);
    FUZZ_CHECK(buf.size() <= bound + 32, "%zu bytes held between pieces", buf.size());
    buf.insert(buf.end(), data + fed, data + fed + piece);
    fed += piece;
  }
  o.end = reader.Finish(buf.size());
  FUZZ_CHECK(o.end.end_offset == consumed + buf.size(), "end offset");
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Outcome relay = Run(data, size, false, piff::StreamMode::kRelay);
  FUZZ_CHECK(relay.stepped.size() <= size &&
                 std::equal(relay.stepped.begin(), relay.stepped.end(), data),
             "relay steps are not the input");
  Outcome relay_whole = Run(data, size, true, piff::StreamMode::kRelay);
  FUZZ_CHECK(relay.units == relay_whole.units && relay.ok == relay_whole.ok && relay.stepped == relay_whole.stepped,
             "relay walks differ by feed");
  Outcome whole = Run(data, size, true, piff::StreamMode::kSamples);
  Outcome pieces = Run(data, size, false, piff::StreamMode::kSamples);
  FUZZ_CHECK(whole.ok == pieces.ok && whole.error == pieces.error, "errors differ: '%s' vs '%s'", whole.error.c_str(),
             pieces.error.c_str());
  FUZZ_CHECK(whole.units == pieces.units, "units differ");
  FUZZ_CHECK(whole.sample_offsets == pieces.sample_offsets, "sample offsets differ");
  FUZZ_CHECK(whole.sample_bytes == pieces.sample_bytes, "sample bytes differ");
  if (whole.ok) {
    FUZZ_CHECK(whole.end.truncated == pieces.end.truncated && whole.end.lost_samples == pieces.end.lost_samples &&
                   whole.end.end_offset == pieces.end.end_offset,
               "ends differ");
  }
  return 0;
}
