// Helpers shared by the libFuzzer targets in tests/fuzz: an invariant check
// that turns a broken property into a crash libFuzzer can record, and an
// in-memory ByteSource so MediaIndex::Build can run on the fuzzer's buffer.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "media_index.h"
#include "status.h"
#include "stream_reader.h"

// A failed invariant must abort (not just log): libFuzzer only saves a
// reproducer for crashes, and a silent mismatch would be lost.
#define FUZZ_CHECK(cond, ...)                                                \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,        \
                   __LINE__, #cond);                                         \
      std::fprintf(stderr, "  " __VA_ARGS__);                                \
      std::fprintf(stderr, "\n");                                            \
      std::abort();                                                          \
    }                                                                        \
  } while (0)

namespace fuzz {

// Stream limits small enough that the fuzzer reaches the hostile-size paths
// of the incremental readers (stream reader, ingest parser).
inline piff::StreamLimits SmallStreamLimits() {
  piff::StreamLimits l;
  l.ftyp = 256;
  l.moov = 64 << 10;
  l.moof = 32 << 10;
  l.live_manifest = 8 << 10;
  l.sample = 16 << 10;
  l.mdat = 48 << 10;
  l.mfra = 8 << 10;
  return l;
}

// A parse that succeeded once must succeed again on the writer's output;
// print the reason so a reproducer explains itself.
inline void CheckOk(const piff::Status& s, const char* what) {
  FUZZ_CHECK(s.ok(), "%s: %s", what, s.message().c_str());
}

// Random access over a byte range that the fuzzer owns. Reads past the end
// fail like a short read of a real file, which is what MediaIndex must
// tolerate.
class MemoryByteSource : public piff::ByteSource {
 public:
  MemoryByteSource(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  piff::Status Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) override {
    if (offset > size_ || size > size_ - offset)
      return piff::Status::Error("memory: read of " + std::to_string(size) + " bytes at " +
                                 std::to_string(offset) + " is past the end");
    out->assign(data_ + offset, data_ + offset + size);
    return piff::Status::Ok();
  }
  uint64_t Size() const override { return size_; }

 private:
  const uint8_t* data_;
  size_t size_;
};

// True when the process was asked to also require exact reproduction of the
// input (run.sh sets it while replaying files that our own writer produced).
inline bool ExpectExactRoundTrip() {
  const char* v = std::getenv("PIFF_FUZZ_EXACT");
  return v && std::strcmp(v, "1") == 0;
}

}  // namespace fuzz
