// libFuzzer target for the fragment reader: the input as a moof
// (MovieFragmentBox::Parse, moof write/read/write stability), ReadFragment
// with and without a moov, and MediaIndex::Build over the input as a file and
// behind a fixed init segment (so moof-only inputs are indexed as fragments
// of a real movie rather than rejected for lack of a moov). The other readers
// that take a ByteSource of an untrusted file run on the same bytes: the
// origin's fragment rebuilding (BuildTrackFragment / KeyFrames), ReadBoxTree
// and the typefinder's SniffSmoothStreaming.
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "box_tree.h"
#include "fragment.h"
#include "fuzz_common.h"
#include "keyframes.h"
#include "media_index.h"
#include "movie.h"
#include "sniff.h"

namespace {

// A two-track movie: video track 1 with zero trex defaults, as ismvmux
// writes it, and audio track 2 whose trex carries defaults, so fragments that
// lean on trex (FFmpeg's and other writers') take the default paths.
struct Init {
  piff::MovieBox moov;
  std::vector<uint8_t> bytes;  // ftyp + moov
};

const Init& GetInit() {
  static const Init init = [] {
    piff::TrackConfig video;
    video.kind = piff::TrackConfig::Kind::kVideo;
    video.track_id = 1;
    video.width = 64;
    video.height = 64;
    video.avcc = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42,
                  0xc0, 0x1e, 0x01, 0x00, 0x02, 0x68, 0xce};
    piff::TrackConfig audio;
    audio.kind = piff::TrackConfig::Kind::kAudio;
    audio.track_id = 2;
    audio.sample_rate = 48000;
    audio.channels = 2;
    audio.audio_specific_config = {0x11, 0x90};
    Init i;
    i.moov = piff::MakeMovie({video, audio}, 10000000, 0);
    piff::TrackExtendsBox& trex = i.moov.mvex->trex[1];
    trex.default_sample_duration = 21333;
    trex.default_sample_size = 64;
    trex.default_sample_flags = piff::kSyncSampleFlags;
    piff::MakeIsmvFileType().Write(i.bytes);
    i.moov.Write(i.bytes);
    return i;
  }();
  return init;
}

uint64_t ContinuationTime(uint32_t track_id, void*) { return uint64_t{track_id} * 1000; }

void CheckFragments(const std::vector<piff::TrackFragmentSamples>& frags) {
  for (const auto& f : frags) {
    uint64_t sum = 0;
    for (const auto& s : f.samples) {
      FUZZ_CHECK(s.decode_time == f.decode_time + sum, "sample decode time is not the running sum");
      sum += s.duration;
    }
    FUZZ_CHECK(sum == f.duration, "fragment duration is not the sum of sample durations");
  }
}

// Rebuilding costs a moof parse per fragment and time linear in its samples,
// which the parser allows up to kMaxUnbackedEntries from a 16-byte trun: a few
// fragments per track, of a bounded size, cover the paths without making
// every such input a multi-second one.
constexpr size_t kMaxRebuiltFragments = 4;
constexpr uint32_t kMaxRebuiltSamples = 1u << 16;

// A rebuilt fragment is served as header + ranges of the source: every range
// must lie inside the file and, when there is a header, its moof must parse,
// count the samples it claims, point its data offset just past the mdat
// header, and the mdat size must cover exactly the ranges that follow.
void CheckBody(const piff::FragmentBody& body, uint64_t source_size) {
  uint64_t payload = 0;
  for (const piff::ByteRange& r : body.ranges) {
    FUZZ_CHECK(r.offset <= source_size && r.size <= source_size - r.offset, "range outside the file");
    payload += r.size;
  }
  if (!body.moof_size) return;
  FUZZ_CHECK(body.moof_size <= body.header.size(), "moof_size past the header");
  piff::MovieFragmentBox moof;
  fuzz::CheckOk(moof.Parse(body.header.data(), body.moof_size), "Parse(rebuilt moof)");
  uint64_t samples = 0;
  for (const auto& traf : moof.trafs)
    for (const auto& trun : traf.truns) samples += trun.samples.size();
  FUZZ_CHECK(samples == body.sample_count, "rebuilt moof has %llu samples, body says %u",
             static_cast<unsigned long long>(samples), body.sample_count);
  piff::BoxHeader mdat;
  fuzz::CheckOk(piff::ParseBoxHeaderAt(body.header.data() + body.moof_size, body.header.size() - body.moof_size,
                                       std::numeric_limits<uint64_t>::max(), &mdat),
                "mdat header of a rebuilt fragment");
  FUZZ_CHECK(mdat.type == piff::MakeFourCC("mdat") && mdat.header_size == body.header.size() - body.moof_size &&
                 mdat.size - mdat.header_size == payload,
             "mdat header does not describe the ranges (%llu vs %llu bytes)",
             static_cast<unsigned long long>(mdat.size - mdat.header_size), static_cast<unsigned long long>(payload));
  FUZZ_CHECK(!moof.trafs.empty() && !moof.trafs[0].truns.empty() &&
                 static_cast<uint64_t>(moof.trafs[0].truns[0].data_offset) == body.header.size(),
             "trun data offset does not point past the mdat header");
}

void ExerciseRebuild(piff::ByteSource& source, const piff::MediaIndex& index) {
  const piff::MovieBox* moov = index.moov ? &*index.moov : nullptr;
  for (const piff::IndexedTrack& t : index.tracks) {
    for (size_t i = 0; i < t.fragments.size() && i < kMaxRebuiltFragments; i++) {
      if (t.fragments[i].sample_count > kMaxRebuiltSamples) continue;
      piff::FragmentBody body;
      if (piff::BuildTrackFragment(source, moov, t.fragments[i], t.config.track_id, piff::SampleSelection::kAll,
                                   &body).ok())
        CheckBody(body, source.Size());
      body = piff::FragmentBody();
      if (piff::BuildKeyFramesFragment(source, moov, t.fragments[i], t.config.track_id, &body).ok())
        CheckBody(body, source.Size());
    }
  }
}

void ExerciseIndex(const uint8_t* data, size_t size) {
  fuzz::MemoryByteSource source(data, size);
  (void)piff::SniffSmoothStreaming(data, size);
  std::vector<piff::BoxNode> tree;
  std::vector<std::string> problems;
  piff::BoxTreeOptions options;
  options.max_nodes = 10000;
  (void)piff::ReadBoxTree(source, options, &tree, &problems);

  piff::MediaIndex index;
  if (!piff::MediaIndex::Build(source, &index).ok()) return;
  ExerciseRebuild(source, index);
  for (const piff::IndexedTrack& t : index.tracks) {
    FUZZ_CHECK(index.FindTrack(t.config.track_id) != nullptr, "FindTrack misses an indexed track");
    (void)t.duration();
    for (size_t i = 0; i < t.fragments.size(); i++) {
      const piff::IndexedFragment& f = t.fragments[i];
      FUZZ_CHECK(f.moof_offset < size, "moof offset outside the file");
      ptrdiff_t at = t.FindFragmentAtOrBefore(f.time);
      FUZZ_CHECK(at >= 0 && t.fragments[static_cast<size_t>(at)].time <= f.time,
                 "FindFragmentAtOrBefore misses a fragment time");
      (void)t.FindFragment(f.time);
      (void)t.FindFragment(f.time + 1);
    }
    (void)t.FindFragmentAtOrBefore(0);
    (void)t.FindFragmentAtOrBefore(std::numeric_limits<uint64_t>::max());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Init& init = GetInit();

  piff::MovieFragmentBox moof;
  if (moof.Parse(data, size).ok()) {
    std::vector<uint8_t> first = moof.Serialize();
    piff::MovieFragmentBox again;
    fuzz::CheckOk(again.Parse(first.data(), first.size()), "moof Parse(Serialize(Parse(x)))");
    FUZZ_CHECK(again.Serialize() == first, "moof write/read/write unstable");

    std::vector<piff::TrackFragmentSamples> frags;
    if (piff::ReadFragment(moof, 0, nullptr, nullptr, nullptr, &frags).ok()) CheckFragments(frags);
    frags.clear();
    if (piff::ReadFragment(moof, init.bytes.size(), &init.moov, ContinuationTime, nullptr, &frags).ok())
      CheckFragments(frags);
    // A moof near the end of a 64-bit file: offsets must not wrap silently.
    frags.clear();
    if (piff::ReadFragment(moof, std::numeric_limits<uint64_t>::max() - 16, nullptr, ContinuationTime, nullptr,
                           &frags).ok())
      CheckFragments(frags);
  }

  ExerciseIndex(data, size);
  std::vector<uint8_t> file = init.bytes;
  file.insert(file.end(), data, data + size);
  ExerciseIndex(file.data(), file.size());
  return 0;
}
