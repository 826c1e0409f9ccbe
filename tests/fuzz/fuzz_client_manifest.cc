// libFuzzer target for the client manifest (.ismc / Manifest): Parse, then
// the writer must be a fixed point (Parse(Write(m)) succeeds and writes the
// same text, with and without c@r), and the timeline queries (ForEachFragment,
// FindFragment, GetFragment, FragmentUrl) must agree with each other.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>

#include "client_manifest.h"
#include "codec_config.h"
#include "fuzz_common.h"

namespace {

// Walking or expanding a timeline costs per fragment and a hostile r makes
// billions of them (by design: the model stays small). Only this many are
// walked per stream, and the one-c-per-fragment writer is only used below it.
constexpr uint64_t kMaxWalk = 2000;
constexpr uint64_t kMaxExpandedWrite = 20000;

std::string WriteChecked(const piff::ClientManifest& m, const piff::ClientManifestWriteOptions& options,
                         const char* what) {
  std::string first = m.Write(options);
  piff::ClientManifest again;
  fuzz::CheckOk(piff::ClientManifest::Parse(first, &again), what);
  std::string second = again.Write(options);
  FUZZ_CHECK(second == first, "%s: writer is not a fixed point:\n--- first\n%s\n--- second\n%s", what,
             first.c_str(), second.c_str());
  return first;
}

void ExerciseTimeline(const piff::StreamIndex& st) {
  uint64_t count = st.FragmentCount();
  uint64_t walked = 0, prev_t = 0;
  st.ForEachFragment([&](uint64_t t, uint64_t d) {
    FUZZ_CHECK(d <= std::numeric_limits<uint64_t>::max() - t, "fragment end overflows");
    FUZZ_CHECK(walked == 0 || t >= prev_t, "fragment times go backwards");
    piff::FragmentInfo at;
    FUZZ_CHECK(st.GetFragment(walked, &at) && at.index == walked && at.t == t && at.d == d,
               "GetFragment(%llu) disagrees with ForEachFragment", static_cast<unsigned long long>(walked));
    piff::FragmentInfo found;
    FUZZ_CHECK(st.FindFragment(t, &found) && found.t == t, "FindFragment misses a fragment start");
    if (d > 0) {
      piff::FragmentInfo containing;
      FUZZ_CHECK(st.FindFragmentContaining(t + d - 1, &containing) && containing.t <= t + d - 1 &&
                     t + d - 1 - containing.t < containing.d,
                 "FindFragmentContaining misses a time inside a fragment");
    }
    for (const piff::QualityLevel& q : st.quality_levels) (void)st.FragmentUrl(q, t);
    prev_t = t;
    return ++walked < kMaxWalk;
  });
  FUZZ_CHECK(walked == (count < kMaxWalk ? count : kMaxWalk), "ForEachFragment visited %llu of %llu",
             static_cast<unsigned long long>(walked), static_cast<unsigned long long>(count));
  piff::FragmentInfo info;
  FUZZ_CHECK(!st.GetFragment(count, &info), "GetFragment past the end succeeded");
  (void)st.FindFragmentContaining(st.TimelineEnd(), &info);
  (void)st.FindFragment(std::numeric_limits<uint64_t>::max(), &info);
}

// What a client hands to a decoder must itself be readable: a config derived
// from the manifest serializes to something the config parser accepts.
void ExerciseCodecConfig(const piff::StreamIndex& st) {
  for (const piff::QualityLevel& q : st.quality_levels) {
    piff::AudioSpecificConfig asc;
    if (q.GetAudioSpecificConfig(&asc).ok()) {
      std::vector<uint8_t> bytes = asc.Serialize();
      piff::AudioSpecificConfig back;
      fuzz::CheckOk(piff::AudioSpecificConfig::Parse(bytes.data(), bytes.size(), &back),
                    "AudioSpecificConfig from the manifest");
      FUZZ_CHECK(back.sampling_rate == asc.sampling_rate, "ASC sampling rate %u became %u", asc.sampling_rate,
                 back.sampling_rate);
    }
    piff::AvcDecoderConfig avc;
    if (q.GetAvcDecoderConfig(&avc).ok()) {
      std::vector<uint8_t> bytes = avc.Serialize();
      piff::AvcDecoderConfig back;
      fuzz::CheckOk(piff::AvcDecoderConfig::Parse(bytes.data(), bytes.size(), &back), "avcC from the manifest");
      FUZZ_CHECK(back.Serialize() == bytes, "avcC from the manifest does not round-trip");
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  piff::ClientManifest m;
  if (!piff::ClientManifest::Parse(std::string(reinterpret_cast<const char*>(data), size), &m).ok()) return 0;

  piff::ClientManifestWriteOptions repeat;
  repeat.use_repeat = true;
  repeat.write_spec_lookahead_name = true;
  std::string compact = WriteChecked(m, repeat, "Parse(Write(m, use_repeat))");

  uint64_t total = 0;
  for (const piff::StreamIndex& st : m.streams) {
    ExerciseTimeline(st);
    ExerciseCodecConfig(st);
    uint64_t n = st.FragmentCount();
    total = n > kMaxExpandedWrite || total > kMaxExpandedWrite ? kMaxExpandedWrite + 1 : total + n;
  }

  if (total <= kMaxExpandedWrite) {
    std::string expanded = WriteChecked(m, {}, "Parse(Write(m))");
    // Both encodings describe one model: reading the expanded form back and
    // compacting it gives the compact form.
    piff::ClientManifest from_expanded;
    fuzz::CheckOk(piff::ClientManifest::Parse(expanded, &from_expanded), "Parse(Write(m))");
    FUZZ_CHECK(from_expanded.Write(repeat) == compact, "expanded and compact timelines differ");

    // Rebuilding every timeline with AppendFragment (the muxer's and live
    // path's way) describes the same fragments as the parser's runs.
    piff::ClientManifest rebuilt = m;
    bool inline_samples = false;
    for (piff::StreamIndex& st : rebuilt.streams) {
      for (const piff::Chunk& c : st.chunks) inline_samples |= !c.samples.empty();
      piff::StreamIndex copy = st;
      copy.chunks.clear();
      st.ForEachFragment([&](uint64_t t, uint64_t d) {
        fuzz::CheckOk(copy.AppendFragment(t, d), "AppendFragment of a parsed timeline");
        return true;
      });
      st.chunks = std::move(copy.chunks);
    }
    if (!inline_samples)
      FUZZ_CHECK(rebuilt.Write(repeat) == compact, "AppendFragment and the parser build different timelines");
  }
  return 0;
}
