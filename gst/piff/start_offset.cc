// Start offsets for negative fragment times (see start_offset.h).
#include "start_offset.h"

namespace piff {

namespace {

using u128 = unsigned __int128;

uint64_t CeilScale(uint64_t v, uint64_t num, uint64_t den) {
  u128 p = static_cast<u128>(v) * num;
  u128 q = (p + den - 1) / den;
  return q > UINT64_MAX ? UINT64_MAX : static_cast<uint64_t>(q);
}

}  // namespace

std::string FormatSignedTime(uint64_t t) { return std::to_string(SignedTime(t)); }

uint64_t StartOffset::In(uint32_t ts) const {
  if (ticks == 0 || ts == 0 || timescale == 0) return 0;
  if (ts == timescale) return ticks;
  return CeilScale(ticks, ts, timescale);
}

bool StartOffset::LessThan(const StartOffset& other) const {
  return static_cast<u128>(ticks) * other.timescale < static_cast<u128>(other.ticks) * timescale;
}

Status ComputeStartOffset(const std::vector<TrackStart>& starts, StartOffset* out) {
  *out = StartOffset();
  for (const TrackStart& s : starts) {
    if (s.timescale == 0) return Status::Error("track " + std::to_string(s.track_id) + ": timescale 0");
    if (!IsNegativeTime(s.first_time)) continue;
    uint64_t magnitude = uint64_t{0} - s.first_time;
    if (magnitude / s.timescale >= kMaxNegativeStartSeconds)
      return Status::Error("track " + std::to_string(s.track_id) + ": first fragment time " +
                           FormatSignedTime(s.first_time) + " lies " + std::to_string(magnitude / s.timescale) +
                           " s before zero (an encoder priming offset is milliseconds; at most " +
                           std::to_string(kMaxNegativeStartSeconds) + " s is accepted)");
    StartOffset candidate{magnitude, s.timescale};
    if (out->LessThan(candidate)) *out = candidate;
  }
  return Status::Ok();
}

uint64_t StartOffsetDelta(const StartOffset& to, const StartOffset& from, uint32_t ts) {
  uint64_t a = to.In(ts), b = from.In(ts);
  return a > b ? a - b : 0;
}

bool ApplyStartOffset(uint64_t time, uint64_t offset_ticks, uint64_t* out) {
  int64_t t = SignedTime(time);
  if (offset_ticks > static_cast<uint64_t>(INT64_MAX)) return false;
  int64_t o = static_cast<int64_t>(offset_ticks);
  if (t > INT64_MAX - o) return false;
  int64_t r = t + o;
  if (r < 0) return false;
  *out = static_cast<uint64_t>(r);
  return true;
}

}  // namespace piff
