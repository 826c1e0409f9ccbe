// The body of a live ingest POST (an encoder's fragmented MP4 stream to
// NAME.isml/Streams(id)) cut into its header and its track fragments, for a
// publishing point (live_point.h) and for tests. Built on StreamReader in
// relay mode; owns the bytes it has been given until an event completes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "boxes.h"
#include "status.h"
#include "stream_reader.h"

namespace piff {

// The header of an ingest stream: every byte before its first moof (ftyp,
// optional StreamManifestBox, Live Server Manifest, moov), as received, and
// what was parsed from it. A reconnecting encoder must send the same bytes.
struct IngestHeader {
  std::vector<uint8_t> bytes;
  FileTypeBox ftyp;
  std::optional<LiveServerManifestBox> live_manifest;
  MovieBox moov;
};

// One track fragment of an ingest stream: a moof (with one traf) and its
// mdat, exactly as received. A moof with several trafs is split into one
// IngestFragment per track (each with a moof of its own and only its
// samples in the mdat), the rewrite the VOD origin already does.
struct IngestFragment {
  uint32_t track_id = 0;
  uint64_t offset = 0;     // stream offset of its moof (the received one, when split)
  uint32_t sequence = 0;   // mfhd
  uint64_t time = 0;       // tfxd (else tfdt, else continuation), track timescale
  uint64_t duration = 0;   // sum of sample durations
  uint32_t samples = 0;
  bool starts_with_sync = false;
  std::vector<uint8_t> bytes;  // moof + mdat
};

// Cuts an ingest body, pushed in pieces of any size, into its header and
// fragments (StreamReader in relay mode, with its size limits). Holds at most
// one moof and its mdat (and the header until the first moof, at most the
// ftyp + moov + Live Server Manifest limits plus 1 MiB of other boxes). An
// empty mfra (or any mfra) marks the end of the stream; bytes after it are an
// error. A single-traf fragment keeps its bytes as received; one whose moof
// has several trafs, or a tfhd base-data-offset (an absolute offset into
// this body), is rewritten as one moof per track (BuildTrackFragmentFromSamples),
// so every fragment's data offset is relative to its own moof. Boxes other
// than ftyp, moov, the LSM, moof, mdat and mfra after the header (free, skip,
// unknown uuid) are dropped and counted (skipped_bytes).
class IngestParser {
 public:
  explicit IngestParser(StreamLimits limits = StreamLimits());
  struct Event {
    enum class Kind { kHeader, kFragment, kEnd };
    Kind kind = Kind::kHeader;
    IngestHeader header;      // kHeader: once, before the first fragment
    IngestFragment fragment;  // kFragment
  };
  // Appends bytes and returns the events they complete. An error (corrupt or
  // oversized box, fragment before a moov, a second moov, ...) is final, with
  // a one-line text for a log or a 400 body.
  Status Push(const uint8_t* data, size_t size, std::vector<Event>* events);
  // The body ended: an error when it ended inside a box.
  Status Finish();
  uint64_t offset() const;  // bytes consumed so far
  size_t buffered() const;  // bytes held (the box being read, a moof waiting for its mdat, the header)
  uint64_t skipped_bytes() const;  // bytes of dropped boxes after the header

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace piff
