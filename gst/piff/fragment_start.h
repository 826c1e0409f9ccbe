// How a fragment starts: the rules that decide where a muxer cuts a track
// into fragments, and what a reader can say about a fragment's first GOP.
// Times are ticks of the track's timescale.
#pragma once

#include <cstdint>
#include <string>

namespace piff {

// A cut for `boundary` in a track whose every sample may start a fragment
// (audio): between two adjacent sample starts `earlier` < `boundary` <=
// `later`, the nearer one starts the next fragment; on a tie (the boundary
// exactly halfway) the later one. True when that is `earlier`. Decided on
// the track's own ticks, so a file re-muxed from its own timeline is cut at
// the same samples.
constexpr bool CutAtEarlierSample(int64_t earlier, int64_t later, int64_t boundary) {
  return boundary - earlier < later - boundary;
}

// Leading pictures of a fragment: samples that follow its first sync sample
// in decode order but are presented before it. x264 makes them with
// open-gop=1 and B-frames: the B-frames after an open GOP's I-frame that
// reference the previous GOP. A player that starts, seeks or switches
// bitrate at such a fragment has no previous GOP (or the other bitrate's),
// so it cannot decode them: it drops them or shows damaged pictures, and the
// fragment's presentation begins before its keyframe, overlapping the
// previous fragment. Feed the samples in decode order.
class LeadingPictureCounter {
 public:
  void Add(int64_t presentation_time, bool sync) {
    if (!have_key_) {
      if (sync) {
        have_key_ = true;
        key_time_ = presentation_time;
      }
      return;
    }
    if (presentation_time < key_time_) count_++;
  }
  uint32_t count() const { return count_; }

 private:
  bool have_key_ = false;
  int64_t key_time_ = 0;
  uint32_t count_ = 0;
};

// The text (one sentence per fact) that ismvmux's warning and the index's
// problem give for a track with open GOPs: `affected` of `fragments`
// fragments start with leading pictures, the first of them at
// `first_seconds` with `first_leading` of them; what that means for a
// player and what to do.
// `so_far`: the counts are of the fragments written up to now (a muxer).
std::string DescribeOpenGops(uint64_t affected, uint64_t fragments, double first_seconds, uint32_t first_leading,
                             bool so_far = false);

}  // namespace piff
