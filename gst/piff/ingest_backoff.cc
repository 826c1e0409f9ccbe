// IngestBackoff: reconnect delays with exponential growth and jitter.
#include "ingest_backoff.h"

#include <algorithm>

namespace piff {

IngestBackoff::IngestBackoff(uint64_t first_ms, uint64_t max_ms, int64_t max_attempts, uint32_t seed)
    : first_ms_(std::max<uint64_t>(1, first_ms)),
      max_ms_(std::max(max_ms, std::max<uint64_t>(1, first_ms))),
      max_attempts_(max_attempts),
      rng_(seed) {}

uint64_t IngestBackoff::Ceiling() const {
  uint64_t d = first_ms_;
  for (int64_t i = 0; i < failures_ && d < max_ms_; i++) d *= 2;
  return std::min(d, max_ms_);
}

bool IngestBackoff::Next(uint64_t* delay_ms) {
  if (max_attempts_ >= 0 && failures_ >= max_attempts_) return false;
  uint64_t d = Ceiling();
  failures_++;
  std::uniform_int_distribution<uint64_t> jitter(0, d - d / 2);
  *delay_ms = d / 2 + jitter(rng_);
  return true;
}

}  // namespace piff
