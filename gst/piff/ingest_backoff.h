// IngestBackoff: the delays between reconnect attempts of a live ingest
// sender (smoothsink): exponential from a first delay up to a bounded
// maximum, with jitter so that many encoders cut off at once do not return
// in step, and an optional limit on attempts ([AMS-INGEST] §4 says retry
// forever; a limit is for callers that want to give up).
#pragma once

#include <cstdint>
#include <random>

namespace piff {

class IngestBackoff {
 public:
  // `max_attempts` < 0: no limit. `seed` makes the jitter reproducible.
  IngestBackoff(uint64_t first_ms, uint64_t max_ms, int64_t max_attempts, uint32_t seed = std::random_device{}());

  // The delay before the next attempt, in [d/2, d] where d doubles per
  // failure from first_ms and is capped at max_ms; nothing when the attempts
  // are used up.
  bool Next(uint64_t* delay_ms);
  // A connection worked: the next failure starts from first_ms again.
  void Reset() { failures_ = 0; }
  int64_t failures() const { return failures_; }
  // The delay before jitter for the current failure count.
  uint64_t Ceiling() const;

 private:
  uint64_t first_ms_;
  uint64_t max_ms_;
  int64_t max_attempts_;
  int64_t failures_ = 0;
  std::mt19937 rng_;
};

}  // namespace piff
