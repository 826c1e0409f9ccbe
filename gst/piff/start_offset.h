// Negative start times and the start offset that removes them.
//
// PIFF and ISO fragment times (tfxd, tfdt) are unsigned 64-bit fields, but
// FFmpeg writes the first fragment of an AAC track at minus its encoder
// priming (e.g. 2^64 - 213333 = -21.3 ms at 10 MHz), so that the first
// *audible* sample lies at time zero. gst-smooth reads a fragment time with
// the top bit set as a negative time in two's complement (a positive time of
// 2^63 ticks would be 29 000 years at 10 MHz) and keeps every timeline in
// unsigned ticks by adding one *start offset* to every time of a file or
// presentation:
//
//   start offset  = the smallest duration that moves every track's first
//                   fragment time to >= 0 (0 when none is negative), the same
//                   duration for all tracks, expressed in each track's own
//                   timescale rounded up;
//   served time   = file time + start offset (the manifest `c@t`, the
//                   Fragments(name=t) URLs, the tfxd of served and exported
//                   fragments, the index);
//   stream time   = file time (ismdemux: segment start = served time of the
//                   file's zero, so samples before zero, the priming, lie
//                   before the segment start and decoders clip them).
//
// A negative start deeper than kMaxNegativeStartSeconds is not a priming
// offset but damage, and is refused.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace piff {

inline constexpr uint64_t kMaxNegativeStartSeconds = 60;

// True for a 64-bit fragment time that is negative in two's complement.
constexpr bool IsNegativeTime(uint64_t t) { return (t >> 63) != 0; }
// The signed value of a fragment time.
constexpr int64_t SignedTime(uint64_t t) { return static_cast<int64_t>(t); }
// "-213333" or "100000000": a time as a person reads it.
std::string FormatSignedTime(uint64_t t);
// t1 < t2 on the signed timeline (fragment times of one track).
constexpr bool TimeBefore(uint64_t t1, uint64_t t2) { return SignedTime(t1) < SignedTime(t2); }

// A duration as ticks of one timescale (exact in the timescale that defined
// it, rounded up in the others).
struct StartOffset {
  uint64_t ticks = 0;
  uint32_t timescale = 1;
  bool zero() const { return ticks == 0; }
  // The offset in ticks of `ts`, rounded up (so shifted times are >= 0).
  uint64_t In(uint32_t ts) const;
  // Nanoseconds, rounded up.
  uint64_t Nanoseconds() const { return StartOffset{ticks, timescale}.In(1000000000u); }
  // Compares the durations exactly.
  bool LessThan(const StartOffset& other) const;
};

// The first fragment time of one track and its timescale.
struct TrackStart {
  uint32_t track_id = 0;
  uint64_t first_time = 0;  // as read (possibly negative)
  uint32_t timescale = 0;
};

// The start offset for a set of tracks that share one timeline. Fails, naming
// the track, when a start lies more than kMaxNegativeStartSeconds before zero
// or a timescale is 0.
Status ComputeStartOffset(const std::vector<TrackStart>& starts, StartOffset* out);

// The ticks a track of timescale `ts` must add to go from `from` to `to`
// (to >= from; both are start offsets of the same timeline).
uint64_t StartOffsetDelta(const StartOffset& to, const StartOffset& from, uint32_t ts);

// time + offset on the signed timeline. False when the sum is still negative
// or overflows (a time further before zero than the start offset allows).
bool ApplyStartOffset(uint64_t time, uint64_t offset_ticks, uint64_t* out);

}  // namespace piff
