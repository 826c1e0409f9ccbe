// Ladder rules: which QualityLevels of a StreamIndex can share one manifest
// timeline, and which elementary streams of several inputs are the same.
// A client builds every fragment URL of a StreamIndex from one timeline and
// the QualityLevel's bitrate, so a level whose fragments start at other times
// cannot serve those URLs: it must be left out of the manifests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace piff {

struct FragmentTime {
  uint64_t time = 0;      // tfxd / tfra / manifest t
  uint64_t duration = 0;  // tfxd duration / manifest d
};

struct LadderAlignment {
  size_t reference = 0;       // the track whose fragment times the manifest lists
  std::vector<bool> aligned;  // per track: its fragments start at exactly those times
  // Per track not aligned: why (first differing fragment, or the counts).
  std::vector<std::string> reasons;
};

// The timeline of a StreamIndex is the sequence of fragment start times
// shared by the most tracks (on a tie, the one of the earliest track in
// input order). A track is aligned when its start times equal it exactly,
// fragment for fragment and in number; durations (the last fragment of a
// rendition may be a frame longer) do not matter. Empty input: empty result.
LadderAlignment AlignLadder(const std::vector<const std::vector<FragmentTime>*>& timelines);

// What identifies an elementary stream cheaply: codec configuration, sample
// count and a digest over sample sizes, times and payload.
struct StreamFingerprint {
  std::vector<uint8_t> config;  // e.g. the AudioSpecificConfig
  uint64_t samples = 0;
  std::string digest;
  bool operator==(const StreamFingerprint& o) const {
    return config == o.config && samples == o.samples && digest == o.digest;
  }
};

// For each stream, the index of the first stream identical to it (itself
// when it is the first of its kind).
std::vector<size_t> FirstIdenticalStreams(const std::vector<StreamFingerprint>& streams);

}  // namespace piff
