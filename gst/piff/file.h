// PiffFile: a whole .ismv/.isma (or any fragmented MP4) held in memory as its
// top-level boxes, for inspection, tests and exact re-serialisation.
// (Streaming readers for large files use the box and fragment APIs directly.)
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "boxes.h"
#include "fragment.h"
#include "status.h"

namespace piff {

struct PiffFile {
  enum class Kind { kFtyp, kLiveServerManifest, kMoov, kMoof, kMdat, kMfra, kOther };
  struct TopBox {
    Kind kind = Kind::kOther;
    FourCC type = 0;
    uint64_t offset = 0;
    uint64_t size = 0;
    size_t index = 0;  // into the list of its kind (moofs, raw)
  };
  std::vector<TopBox> layout;  // every top-level box in file order

  std::optional<FileTypeBox> ftyp;
  std::optional<LiveServerManifestBox> live_manifest;
  std::optional<MovieBox> moov;
  std::vector<MovieFragmentBox> moofs;
  std::optional<MovieFragmentRandomAccessBox> mfra;
  RawBoxes raw;  // mdat and unknown top-level boxes, verbatim

  // Parses data[0..size). A truncated last box is an error naming it.
  static Status Parse(const uint8_t* data, size_t size, PiffFile* out);
  // Re-serialises every top-level box in the original order.
  std::vector<uint8_t> Write() const;

  // Samples of every fragment, in file order (times as ReadFragment resolves them).
  Status Fragments(std::vector<TrackFragmentSamples>* out) const;
};

}  // namespace piff
