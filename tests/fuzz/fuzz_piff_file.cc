// libFuzzer target for the box parser and writer: PiffFile::Parse on a whole
// file image, then write/read/write stability.
//
// Why stability rather than "Write(Parse(x)) == x": the writer normalises
// what foreign files leave open (64-bit or to-end box sizes, descriptor
// length padding, reserved fields, sample entry fields we do not model), so a
// foreign file may legitimately come back different. What must hold for every
// input is that the writer's output parses again and re-writes to the same
// bytes. That is the same as saying that every file our writer can produce
// round-trips exactly (Write∘Parse∘Write == Write). run.sh additionally
// replays the ismvmux-made seeds with PIFF_FUZZ_EXACT=1, which demands
// Write(Parse(x)) == x for them.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "codec_config.h"
#include "file.h"
#include "fuzz_common.h"
#include "media_index.h"

namespace {

size_t FirstDifference(const std::vector<uint8_t>& a, const uint8_t* b, size_t b_size) {
  size_t n = a.size() < b_size ? a.size() : b_size;
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return i;
  return n;
}

// Everything a reader does with a parsed file after the box parse: fragment
// resolution and the per-track codec description. Results are not compared
// (a hostile file may fail here); these paths must simply not misbehave.
void ExerciseModel(const piff::PiffFile& file) {
  std::vector<piff::TrackFragmentSamples> frags;
  if (file.Fragments(&frags).ok()) {
    for (const auto& f : frags) {
      uint64_t sum = 0;
      for (const auto& s : f.samples) sum += s.duration;
      FUZZ_CHECK(sum == f.duration, "fragment duration %llu != sum of samples %llu",
                 static_cast<unsigned long long>(f.duration), static_cast<unsigned long long>(sum));
    }
  }
  if (file.moov) {
    for (const piff::TrackBox& trak : file.moov->tracks) {
      piff::IndexedTrack t;
      (void)piff::DescribeTrack(trak, &t);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  piff::PiffFile file;
  if (!piff::PiffFile::Parse(data, size, &file).ok()) return 0;
  ExerciseModel(file);

  std::vector<uint8_t> first = file.Write();
  if (fuzz::ExpectExactRoundTrip())
    FUZZ_CHECK(first.size() == size && FirstDifference(first, data, size) == size,
               "Write(Parse(x)) != x: %zu vs %zu bytes, first difference at %zu", first.size(), size,
               FirstDifference(first, data, size));

  piff::PiffFile again;
  fuzz::CheckOk(piff::PiffFile::Parse(first.data(), first.size(), &again), "Parse(Write(Parse(x)))");
  FUZZ_CHECK(again.layout.size() == file.layout.size(), "top-level box count %zu became %zu",
             file.layout.size(), again.layout.size());
  std::vector<uint8_t> second = again.Write();
  FUZZ_CHECK(second == first, "write/read/write unstable: %zu vs %zu bytes, first difference at %zu",
             first.size(), second.size(), FirstDifference(second, first.data(), first.size()));
  return 0;
}
