// Presentation: from what a packager knows about its tracks (configuration,
// fragment times, payload bytes) to the client (.ismc) and server (.ism)
// manifests. The rules for grouping tracks into StreamIndexes, measuring and
// de-duplicating bitrates and naming tracks live here, not in the elements.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "client_manifest.h"
#include "ladder.h"
#include "movie.h"
#include "server_manifest.h"
#include "status.h"

namespace piff {

struct TrackSummary {
  TrackConfig config;
  std::string fourcc;           // manifest FourCC: H264/AVC1, AACL/AACH/AACP
  std::string src;              // media file name, relative to the .ism
  uint64_t payload_bytes = 0;   // sum of sample sizes
  std::vector<FragmentTime> fragments;
  // When set, used instead of the measured bitrate / the derived StreamIndex
  // name (e.g. the systemBitrate and trackName of an existing .ism).
  uint32_t bitrate = 0;
  std::string name;
};

// Measured bitrate of a track in bit/s: payload bits over its duration,
// rounded to the nearest integer; 0 for an empty track.
uint32_t MeasuredBitrate(const TrackSummary& t);

struct Presentation {
  // One entry per input track, in the same order.
  std::vector<uint32_t> bitrates;     // unique within each StreamIndex
  std::vector<std::string> names;     // StreamIndex Name == .ism trackName
  ClientManifest client;
  ServerManifest server;
  std::vector<std::string> warnings;  // e.g. bitrate ties raised by 1 bit/s
  // Tracks left out of both manifests because their fragments do not start
  // at the StreamIndex timeline's times (AlignLadder): a client would build
  // URLs for them that no fragment answers. In input order; `message` names
  // the track, its file, the StreamIndex and the first difference.
  struct LeftOut {
    size_t track = 0;
    std::string message;
  };
  std::vector<LeftOut> left_out;
  bool InManifests(size_t track) const;
};

// The Fragments(name=...) name of each track when none is given: "video";
// "audio" when all audio tracks share one language, else "audio_<lang>".
// Shared by the .ism/.ismc and the Live Server Manifest.
std::vector<std::string> DefaultTrackNames(const std::vector<TrackConfig>& tracks);

// The codec fields of a QualityLevel for a track (H.264: MaxWidth/MaxHeight,
// Annex-B CodecPrivateData, NALUnitLengthField when not 4; AAC: SamplingRate,
// Channels, BitsPerSample 16, PacketSize 4, AudioTag 255, the ASC as hex).
// The FourCC is the caller's (it depends on settings such as h264-fourcc).
Status DescribeCodec(const TrackConfig& config, QualityLevel* ql);

// Groups tracks into StreamIndexes by name: TrackSummary::name when set, else
// all video in one "video" and audio by language ("audio" when there is one
// language, else "audio_<lang>"). Bitrates: TrackSummary::bitrate when set,
// measures bitrates and makes them unique per StreamIndex (on a tie the later
// track, in input order, is raised by 1 bit/s until unique), and builds both
// manifests. The timeline of each StreamIndex is chosen by AlignLadder;
// tracks not aligned with it are in neither manifest (Presentation::left_out),
// so every URL the manifests list is served by every QualityLevel.
// `client_manifest_relative_path` goes into the .ism head.
Status BuildPresentation(const std::vector<TrackSummary>& tracks, uint32_t timescale,
                         const std::string& client_manifest_relative_path, Presentation* out);

}  // namespace piff
