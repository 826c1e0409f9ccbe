// LiveTimeline: the fragments of one track of a live publishing point
// (live_point.h), in time order, and the rules that decide which of them a
// client sees: duplicates and fragments out of order are refused, a gap is
// kept (a new `c t=` in the manifest), the DVR window and the look-ahead
// bound what the manifest lists, and only the newest fragments are held in
// memory; older ones are read back from the archive by offset. Times are
// ticks of the track's timescale.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

namespace piff {

// ~32 bytes per fragment, however long the event.
struct LiveEntry {
  static constexpr uint64_t kNotArchived = UINT64_MAX;
  uint64_t time = 0;
  uint64_t duration = 0;
  uint64_t offset = kNotArchived;  // of its moof in the stream's archive file
  uint32_t size = 0;               // moof + mdat
  uint32_t moof_size = 0;
  uint64_t end() const { return time + duration; }
};

enum class LiveOffer {
  kAdd,
  kDuplicate,   // a fragment at that time is already there
  // Not at a known time, and before the last fragment's start, or ending
  // no later than the last fragment ends (inside it); or at a negative
  // time (the top bit set: FFmpeg's first AAC fragment, at minus the
  // encoder priming, which a live timeline that starts at the first
  // fragment cannot place).
  kOutOfOrder,
};

class LiveTimeline {
 public:
  // What becomes of a fragment at `time`: a duplicate whatever its
  // duration. A fragment may overlap the end of the last one (FFmpeg's
  // tfxd durations are rounded up: d=3333334 then t=3333333) as long as it
  // starts after it and ends after it, so starts and ends both increase.
  LiveOffer Check(uint64_t time, uint64_t duration) const;
  // Appends (after Check said kAdd). `bytes` (may be empty: archived only)
  // is held in memory; then the oldest held fragments beyond
  // `memory_fragments` are let go (they stay readable from the archive when
  // archived).
  void Add(const LiveEntry& entry, std::vector<uint8_t> bytes, size_t memory_fragments);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const LiveEntry& at(size_t i) const { return entries_[i]; }
  uint64_t end() const { return entries_.empty() ? 0 : entries_.back().end(); }
  // Index of the fragment starting exactly at `time`, or -1.
  ptrdiff_t Find(uint64_t time) const;

  // The bytes of fragment i when held in memory, else null.
  const std::vector<uint8_t>* Resident(size_t i) const;
  size_t resident_bytes() const { return resident_bytes_; }
  size_t resident_count() const { return resident_.size(); }
  // Can be answered: in memory or in the archive.
  bool Servable(size_t i) const { return Resident(i) || entries_[i].offset != LiveEntry::kNotArchived; }

  // First fragment of the window: the oldest whose end is after
  // (live edge - window), the live edge being the end of the last
  // fragment; `window` 0 is unbounded. Fragments that cannot be answered
  // (not archived, no longer in memory) are outside too.
  size_t WindowStart(uint64_t window) const;
  // End (exclusive) of what a manifest lists: the fragments that have
  // `lookahead` fragments after them.
  size_t ListedEnd(uint32_t lookahead) const {
    return entries_.size() > lookahead ? entries_.size() - lookahead : 0;
  }

 private:
  std::deque<LiveEntry> entries_;
  // The newest fragments' bytes; resident_[k] is entry first_resident_ + k.
  std::deque<std::vector<uint8_t>> resident_;
  size_t first_resident_ = 0;
  size_t resident_bytes_ = 0;
};

// A window length in 10 MHz ticks (DVRWindowLength) on a track's timescale.
uint64_t WindowInTrackTicks(uint64_t window_10mhz, uint64_t timescale);

}  // namespace piff
