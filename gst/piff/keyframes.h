// Fragment responses an origin cannot serve as one contiguous byte range of
// the media file: KeyFrames (the fragment reduced to its sync samples, for
// trick play), RawFragments (sample data only), and any response for a track
// whose moof also carries other tracks. Each is described as new header bytes
// (moof + mdat header, written by FragmentWriter) followed by byte ranges of
// the source file, so the caller can stream it with bounded memory: sample
// payloads are never read here, only the moof.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boxes.h"
#include "media_index.h"
#include "status.h"

namespace piff {

struct ByteRange {
  uint64_t offset = 0;
  uint64_t size = 0;
};

// A response body: `header` first, then each range of the source in order.
struct FragmentBody {
  std::vector<uint8_t> header;
  size_t moof_size = 0;           // the moof is header[0, moof_size) (0: header empty)
  std::vector<ByteRange> ranges;  // adjacent ranges are merged
  uint32_t sample_count = 0;
  uint64_t decode_time = 0;       // of the first sample kept
  uint64_t duration = 0;          // sum of the kept samples' durations
  uint64_t size() const;
};

enum class SampleSelection {
  kAll,       // every sample of the track fragment
  kSyncOnly,  // sync samples only (KeyFrames)
};

// Rebuilds the fragment of `track_id` whose moof is described by `frag`
// (from the MediaIndex of `src`): reads and parses that moof (at most 16 MiB),
// resolves its samples with ReadFragment (trex defaults from `moov`, which may
// be null) and writes a single-traf moof + mdat header for the selected
// samples. The mfhd sequence number is kept.
//
// Timing with kSyncOnly: each kept sample takes over the durations of the
// samples dropped after it, so kept samples keep their decode and
// presentation times and the fragment still spans [time, time + duration).
// Samples before the first sync sample cannot be folded anywhere; the
// rebuilt fragment then starts (tfxd time) at the first sync sample.
//
// Fails when the track has no traf in that moof, no sample is selected, a
// composition offset does not fit the 32-bit trun field, or the traf carries
// boxes that describe the dropped samples and cannot be rewritten here
// (PIFF/CENC senc, saiz, saio: encrypted fragments).
Status BuildTrackFragment(ByteSource& src, const MovieBox* moov, const IndexedFragment& frag, uint32_t track_id,
                          SampleSelection selection, FragmentBody* out);

// The same rewrite for a moof already parsed and resolved (tf: the samples
// of moof.trafs[traf_index], as ReadFragment gives them): the ranges are
// the samples' offsets as resolved, whatever stream they refer to (a file,
// an ingest body held in memory). `where` prefixes error messages. The
// ranges are not checked against any end: that is the caller's.
Status BuildTrackFragmentFromSamples(const MovieFragmentBox& moof, size_t traf_index, const TrackFragmentSamples& tf,
                                     SampleSelection selection, const std::string& where, FragmentBody* out);

// The KeyFrames response of a fragment. When every sample is a sync sample
// (AAC audio, all-intra video) and the moof carries only this track, the
// answer is the fragment's own bytes (one range, no header), identical to the
// Fragments response; otherwise BuildTrackFragment(kSyncOnly).
Status BuildKeyFramesFragment(ByteSource& src, const MovieBox* moov, const IndexedFragment& frag,
                              uint32_t track_id, FragmentBody* out);

}  // namespace piff
