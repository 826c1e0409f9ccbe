// Live ingest streams (digest section 4.2): the header every POST starts
// with, byte-identical on every reconnect and across redundant encoders with
// the same settings - ftyp, the Live Server Manifest box (SMIL listing every
// track with the parameters a publishing point needs), and a fragmented moov -
// and the optional empty mfra that ends a stream for IIS.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boxes.h"
#include "movie.h"
#include "server_manifest.h"
#include "status.h"

namespace piff {

struct LiveTrack {
  TrackConfig config;  // track_id becomes the LSM trackID and the trak ID
  std::string fourcc;  // manifest FourCC: H264/AVC1, AACL/AACH/AACP
  uint32_t bitrate = 0;  // systemBitrate, bit/s (the server matches QualityLevels(...) against it)
  std::string name;      // trackName; empty = DefaultTrackNames (presentation.h)
};

// The Live Server Manifest: one <video>/<audio> per track, src "Streams"
// (what [MS-SSTR] 2.2.7.3 says a live manifest SHOULD use), systemBitrate,
// systemLanguage, and params systemBitrate, trackID, trackName,
// systemLanguage, timescale,
// FourCC, CodecPrivateData, then MaxWidth, MaxHeight, DisplayWidth,
// DisplayHeight (video) or AudioTag, Channels, SamplingRate, BitsPerSample,
// PacketSize (audio) - FFmpeg's isml set plus the timescale. Fails on a track
// whose codec configuration cannot be described.
Status MakeLiveServerManifest(const std::vector<LiveTrack>& tracks, ServerManifest* out);

// The trackName of each track in the Live Server Manifest (LiveTrack::name,
// else the default), for Fragments(name=...).
std::vector<std::string> LiveTrackNames(const std::vector<LiveTrack>& tracks);

// ftyp (isml, 1, piff iso2) + LiveServerManifestBox + moov with mvex/trex and
// no mehd (a live stream has no known duration). `moov_extra` as for
// MakeMovie (PIFF pssh). Deterministic: no creation times, no random bytes.
Status BuildLiveHeader(const std::vector<LiveTrack>& tracks, uint32_t movie_timescale, const RawBoxes& moov_extra,
                       std::vector<uint8_t>* out);

// The empty 8-byte mfra ([MS-SSTR] 3.3.4.2: the end of a live stream for IIS;
// Azure ignores it).
std::vector<uint8_t> EmptyMfra();

}  // namespace piff
