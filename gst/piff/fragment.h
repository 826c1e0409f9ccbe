// Fragments: samples in, moof + mdat header out (FragmentWriter), and a moof
// back to samples with absolute file offsets and times (ReadFragment).
//
// The fragment time definition used throughout gst-smooth: the tfxd
// FragmentAbsoluteTime, the tfra time and the manifest `c@t` of a fragment are
// all the *decode time of its first sample* on the track's timeline. Writers
// place the decode timeline so that the first sample's decode time equals its
// presentation time (composition offsets may then be negative, trun version
// 1), which for closed GOPs makes the fragment time the keyframe's PTS as well.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "boxes.h"
#include "status.h"

namespace piff {

// One sample as the writer needs it, in track timescale ticks.
struct FragmentSample {
  uint32_t duration = 0;
  uint32_t size = 0;
  bool sync = false;
  int32_t composition_offset = 0;  // presentation time - decode time
};

struct FragmentParams {
  uint32_t sequence_number = 1;
  uint32_t track_id = 1;
  uint64_t decode_time = 0;  // written to tfxd (and tfdt when asked)
  bool write_tfdt = false;   // not part of the Smooth v2.0 subset; off by default
  // Encrypted track: the fragment's PIFF uuid-senc box (SerializeSampleEncryption).
  std::vector<uint8_t> senc;
};

// The bytes that precede the sample payloads of one track fragment.
struct FragmentHeader {
  std::vector<uint8_t> bytes;  // moof followed by the mdat box header
  size_t moof_size = 0;
  uint64_t payload_size = 0;   // sum of sample sizes; the caller appends them
};

class FragmentWriter {
 public:
  // Builds moof (mfhd, traf: tfhd default-sample-flags only, trun with data
  // offset, per-sample duration/size, flags as needed, composition offsets,
  // tfxd v1) and the mdat header for the given samples.
  static FragmentHeader Build(const FragmentParams& params, const std::vector<FragmentSample>& samples);
  // The moof alone as a box model (what Build serialises).
  static MovieFragmentBox MakeMoof(const FragmentParams& params, const std::vector<FragmentSample>& samples);
};

// A live fragment response: `fragment` (a moof with one traf whose data
// offsets count from the moof, then its mdat) with a tfrf (version 1)
// listing `next` (at most 255) put into the traf after its tfxd, replacing
// any tfrf it had; the moof is re-serialised, the trun data offsets moved by
// the change of its size, the mdat copied unchanged. Empty `next`: a tfrf
// with no entries when `empty_tfrf` (a live track's newest fragment: GStreamer
// 1.22's mssdemux aborts on a live fragment without tfrf), else none.
// A traf without tfxd (an encoder that sent tfdt only) gets one (version 1)
// from `self` (the fragment's time and duration): Smooth clients take the
// fragment time from it and read tfrf only beside it.
Status AddFragmentReferences(const uint8_t* fragment, size_t size, TfrfBox::Entry self,
                             const std::vector<TfrfBox::Entry>& next, bool empty_tfrf, std::vector<uint8_t>* out);

// Where a fragment's time came from when read.
enum class FragmentTimeSource { kTfxd, kTfdt, kContinuation };

struct ReadSample {
  uint64_t offset = 0;  // absolute byte offset of the payload
  uint32_t size = 0;
  uint32_t duration = 0;
  uint64_t decode_time = 0;
  int64_t composition_offset = 0;
  bool sync = false;
};

struct TrackFragmentSamples {
  uint32_t track_id = 0;
  uint32_t sequence_number = 0;
  uint64_t decode_time = 0;  // of the first sample
  FragmentTimeSource time_source = FragmentTimeSource::kContinuation;
  uint64_t duration = 0;     // sum of sample durations
  std::vector<ReadSample> samples;
};

// A composition offset (presentation - decode time) beyond this is not a
// B-frame reorder delay (a few frames) but damage, e.g. a corrupted trun
// entry: readers report it and use 0 for that sample, so one bad entry cannot
// move a whole track's presentation by minutes.
inline constexpr int64_t kMaxCompositionOffsetSeconds = 10;
constexpr bool IsPlausibleCompositionOffset(int64_t offset, uint32_t timescale) {
  return offset <= kMaxCompositionOffsetSeconds * int64_t{timescale} &&
         offset >= -kMaxCompositionOffsetSeconds * int64_t{timescale};
}

// Resolves the samples of every traf in `moof`, which starts at byte
// `moof_offset` of the stream. Precedence of the fragment time: tfxd, then
// tfdt, then `continuation_time(track_id)` (the end of the previous fragment).
// Defaults missing from tfhd come from the trex of `moov` (may be null).
// Fails when a sample's data would lie before the moof or when sizes overflow.
// Times are returned as read: a negative start (top bit set) stays so, and
// later samples wrap through zero (start_offset.h says how readers shift).
Status ReadFragment(const MovieFragmentBox& moof, uint64_t moof_offset, const MovieBox* moov,
                    uint64_t (*continuation_time)(uint32_t track_id, void* user), void* user,
                    std::vector<TrackFragmentSamples>* out);

}  // namespace piff
