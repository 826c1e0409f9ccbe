// LiveTimeline: duplicate, order, window and memory rules of one live track.
#include "live_timeline.h"

#include <algorithm>

#include "start_offset.h"

namespace piff {

ptrdiff_t LiveTimeline::Find(uint64_t time) const {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), time,
                             [](const LiveEntry& e, uint64_t t) { return e.time < t; });
  if (it == entries_.end() || it->time != time) return -1;
  return it - entries_.begin();
}

LiveOffer LiveTimeline::Check(uint64_t time, uint64_t duration) const {
  if (Find(time) >= 0) return LiveOffer::kDuplicate;
  if (IsNegativeTime(time) || duration > UINT64_MAX - time) return LiveOffer::kOutOfOrder;
  if (!entries_.empty() && (time < entries_.back().time || time + duration <= entries_.back().end()))
    return LiveOffer::kOutOfOrder;
  return LiveOffer::kAdd;
}

void LiveTimeline::Add(const LiveEntry& entry, std::vector<uint8_t> bytes, size_t memory_fragments) {
  entries_.push_back(entry);
  if (bytes.empty() || memory_fragments == 0) {
    // Nothing held for it: whatever was held before it is older still.
    resident_.clear();
    resident_bytes_ = 0;
    first_resident_ = entries_.size();
    return;
  }
  if (resident_.empty()) first_resident_ = entries_.size() - 1;
  resident_bytes_ += bytes.size();
  resident_.push_back(std::move(bytes));
  while (resident_.size() > memory_fragments) {
    resident_bytes_ -= resident_.front().size();
    resident_.pop_front();
    first_resident_++;
  }
}

const std::vector<uint8_t>* LiveTimeline::Resident(size_t i) const {
  if (i < first_resident_ || i - first_resident_ >= resident_.size()) return nullptr;
  return &resident_[i - first_resident_];
}

size_t LiveTimeline::WindowStart(uint64_t window) const {
  size_t start = 0;
  if (window && !entries_.empty()) {
    uint64_t edge = entries_.back().end();
    if (edge > window) {
      uint64_t oldest_end = edge - window;
      // Ends increase with starts (Check), so they can be searched.
      auto it = std::upper_bound(entries_.begin(), entries_.end(), oldest_end,
                                 [](uint64_t t, const LiveEntry& e) { return t < e.end(); });
      start = static_cast<size_t>(it - entries_.begin());
    }
  }
  // Archived fragments are all answerable; of the others only those held.
  while (start < entries_.size() && !Servable(start)) {
    if (entries_[start].offset == LiveEntry::kNotArchived && start < first_resident_) {
      start = std::min(first_resident_, entries_.size());
      continue;
    }
    start++;
  }
  return start;
}

uint64_t WindowInTrackTicks(uint64_t window_10mhz, uint64_t timescale) {
  const uint64_t hz = 10000000;
  // Split to stay within 64 bits: (q * hz + r) * ts / hz.
  return (window_10mhz / hz) * timescale + (window_10mhz % hz) * timescale / hz;
}

}  // namespace piff
