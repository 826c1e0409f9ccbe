// StreamReader: an incremental reader of a fragmented MP4 / PIFF byte stream
// (a pipe, an HTTP body, a live ingest POST), in pieces of any size, with
// bounded memory and no seeks.
//
// It cuts the stream into units: ftyp, the Live Server Manifest uuid box,
// moov (all three parsed), and moof (parsed and resolved to per-track
// samples by ReadFragment) followed by the payloads of the samples the
// consumer asked for, cut out of the mdat that follows as their bytes
// arrive. Every other box is skipped. It never owns the stream's bytes: the
// consumer keeps them in its own buffer (a GstAdapter, a std::vector, a
// socket buffer) and the reader says, step by step, how many bytes at the
// head of that buffer make the next unit, sample or skip; the consumer then
// drops or takes exactly that many. Sample payloads are thus handed out
// without a copy, and the buffer never holds more than one whole box (limited
// per type, StreamLimits) or one sample.
//
// In relay mode (StreamMode::kRelay, for a consumer that forwards or stores
// whole fragments: smoothsink, a publishing point) the moof is still parsed,
// but no samples are cut: every mdat and mfra box comes as a whole unit
// (limited like the other boxes), so the consumer holds exactly one
// moof + mdat pair at a time and knows when a fragment is complete. A later
// moov or Live Server Manifest (a restarted muxer) is also a unit there, and
// replaces the one read before; in sample mode it is skipped.
//
// The loop of a consumer:
//
//   for (;;) {
//     size_t want = reader.Want(available);        // contiguous head bytes to show
//     const uint8_t* head = want ? map(want) : nullptr;
//     StreamStep step;
//     Status s = reader.Next(head, want, available, &step);
//     unmap();
//     if (!s) fail(step.error_text, s.message());   // the reader stays failed
//     switch (step.kind) {
//       case kNeedData: if (step.again) continue;   // else wait for more bytes
//                       return;
//       case kSkip:     drop(step.size); break;
//       case kUnit:     use the unit (moof: Queue() samples), drop(step.size); break;
//       case kSample:   take(step.size) as the payload of step.sample; break;
//     }
//   }
//
// The reader advances its stream offset as it returns a step: the consumer
// must drop or take step.size bytes before the next call. A kUnit step's
// bytes are also at step.data (= head) until the consumer drops them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "box_buffer.h"
#include "boxes.h"
#include "fragment.h"
#include "status.h"

namespace piff {

// The most bytes a box of each kind may claim before it is read whole, or a
// sample before it is taken: a hostile size fails at its header instead of
// growing the consumer's buffer without limit.
struct StreamLimits {
  uint64_t ftyp = 4096;
  uint64_t moov = 64ull << 20;
  uint64_t moof = 16ull << 20;
  uint64_t live_manifest = 4ull << 20;
  uint64_t sample = 64ull << 20;
  uint64_t mdat = 64ull << 20;  // relay mode: an mdat read whole
  uint64_t mfra = 16ull << 20;  // relay mode: an mfra read whole
};

enum class StreamMode { kSamples, kRelay };

enum class StreamUnit { kFtyp, kLiveManifest, kMoov, kMoof, kMdat, kMfra };
const char* StreamUnitName(StreamUnit u);

struct StreamStep {
  enum class Kind { kNeedData, kSkip, kUnit, kSample };
  Kind kind = Kind::kNeedData;
  uint64_t offset = 0;  // stream offset of the step's first byte
  uint64_t size = 0;    // bytes at the head to drop (kSkip, kUnit) or take (kSample)
  // kNeedData: the bytes are there, but Want() asks for more of them at
  // once (a whole box after its header): call again without waiting.
  bool again = false;
  // kUnit: which box, its bytes (valid until dropped), and for the Live
  // Server Manifest whether it parsed (an unreadable one is skipped, and a
  // later one is still read).
  StreamUnit unit = StreamUnit::kFtyp;
  const uint8_t* data = nullptr;
  Status unit_status;
  // kSample: the sample (absolute offset = `offset`, size = `size`), and
  // where it is in fragments() of the last moof.
  ReadSample sample;
  size_t fragment = 0;
  size_t index = 0;
  // On error: a one-line description for a person (the Status message has
  // the details).
  std::string error_text;
};

// What is left unread when the stream ends (Finish).
struct StreamEnd {
  bool truncated = false;  // inside a box, or queued samples never arrived
  FourCC box_type = 0;     // the box being read
  uint64_t box_offset = 0;
  uint64_t box_size = 0;
  uint64_t end_offset = 0;  // where the stream ended
  size_t lost_samples = 0;
};

class StreamReader {
 public:
  explicit StreamReader(StreamLimits limits = StreamLimits(), StreamMode mode = StreamMode::kSamples)
      : limits_(limits), mode_(mode) {}
  StreamMode mode() const { return mode_; }

  // How many contiguous bytes at the head of the consumer's buffer the next
  // Next() wants to see, given `available` buffered bytes (0: none needed, or
  // not enough buffered yet).
  size_t Want(uint64_t available) const;
  // Decides the next step from `available` buffered bytes, of which the
  // first `head_size` (>= Want(available)) are at `head`.
  Status Next(const uint8_t* head, size_t head_size, uint64_t available, StreamStep* step);

  // After a kMoof unit: the resolved track fragments of that moof (file
  // times; the consumer may edit them, e.g. drop samples, before queuing) and
  // the moof itself (its trafs, in the same order, for encryption boxes).
  std::vector<TrackFragmentSamples>& fragments() { return fragments_; }
  const MovieFragmentBox& moof() const { return moof_; }
  uint64_t moof_offset() const { return moof_offset_; }
  // Queues samples [first, end) of fragments()[fragment] for output: they
  // come out as kSample steps in the order of their bytes in the stream. An
  // error (nothing queued) for a sample above the sample limit.
  Status Queue(size_t fragment, size_t first = 0);
  size_t queued() const { return pending_.size() - next_pending_; }

  // What was read so far.
  const std::optional<FileTypeBox>& ftyp() const { return ftyp_; }
  const std::optional<LiveServerManifestBox>& live_manifest() const { return live_manifest_; }
  const std::optional<MovieBox>& moov() const { return moov_; }

  uint64_t offset() const { return offset_; }  // of the first byte the consumer holds
  // At a top-level box boundary with nothing queued.
  bool AtBoxBoundary() const { return phase_ == Phase::kTop && queued() == 0; }
  // Moves the stream offset (the consumer's buffer is empty and the stream
  // continues at `at`); only at a box boundary.
  void SetOffset(uint64_t at);
  // Drops the walk (the consumer cleared its buffer; the stream restarts at
  // `at` with a top-level box). What was read (ftyp, moov, track ends) stays.
  void Reset(uint64_t at);
  // The end of the stream with `available` bytes still buffered.
  StreamEnd Finish(uint64_t available) const;

 private:
  enum class Phase { kTop, kBox, kMdat, kSkip, kFailed };
  struct Pending {
    ReadSample sample;
    size_t fragment;
    size_t index;
  };

  Status Fail(StreamStep* step, std::string text, std::string detail);
  Status OnHeader(const uint8_t* head, size_t head_size, uint64_t available, StreamStep* step);
  Status OnWholeBox(const uint8_t* data, StreamStep* step);
  Status OnMdat(uint64_t available, StreamStep* step);
  void Settle();
  static uint64_t ContinuationTime(uint32_t track_id, void* user);

  StreamLimits limits_;
  StreamMode mode_;
  Phase phase_ = Phase::kTop;
  uint64_t offset_ = 0;
  BoxHeader box_;
  uint64_t box_start_ = 0;
  uint64_t box_end_ = 0;
  uint64_t skip_ = 0;
  std::string failure_text_;
  std::string failure_detail_;

  std::optional<FileTypeBox> ftyp_;
  std::optional<LiveServerManifestBox> live_manifest_;
  std::optional<MovieBox> moov_;
  std::map<uint32_t, uint64_t> track_ends_;  // file time where each track's last fragment ended

  MovieFragmentBox moof_;
  uint64_t moof_offset_ = 0;
  std::vector<TrackFragmentSamples> fragments_;
  std::vector<Pending> pending_;
  size_t next_pending_ = 0;
  bool sorted_ = true;
};

}  // namespace piff
