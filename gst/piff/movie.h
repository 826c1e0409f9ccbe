// The initialisation part of a PIFF file (ftyp + moov) built from track
// descriptions: the one place that decides brands, handlers and sample entries.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boxes.h"

namespace piff {

struct TrackConfig {
  enum class Kind { kVideo, kAudio };
  Kind kind = Kind::kVideo;
  uint32_t track_id = 1;
  uint32_t timescale = 10000000;
  std::string language = "und";
  // Video.
  FourCC sample_entry = MakeFourCC("avc1");
  uint16_t width = 0, height = 0;
  std::vector<uint8_t> avcc;  // AVCDecoderConfigurationRecord
  // Audio.
  uint32_t sample_rate = 0;
  uint16_t channels = 0;
  std::vector<uint8_t> audio_specific_config;
  uint32_t avg_bitrate = 0, max_bitrate = 0;
  // Encrypted track: the sinf box (MakePiffSinf). The sample entry becomes
  // encv/enca and the sinf's frma keeps the original format.
  std::vector<uint8_t> sinf;
};

struct InitSegment {
  std::vector<uint8_t> bytes;  // ftyp followed by moov
  // Absolute offset of mehd's 64-bit fragment_duration, for patching the
  // duration once it is known.
  size_t mehd_duration_offset = 0;
};

// ftyp: major 'isml', minor 1, compatible 'piff' 'iso2' ([MS-SSTR] 2.2.7.1,
// digest section 8). The same brands serve on-demand files and live ingest.
FileTypeBox MakeIsmvFileType();

// `moov_extra`: complete boxes appended to moov after mvex (PIFF uuid-pssh).
MovieBox MakeMovie(const std::vector<TrackConfig>& tracks, uint32_t movie_timescale, uint64_t duration,
                   const RawBoxes& moov_extra = {});

// The 8 bytes to write at InitSegment::mehd_duration_offset once the
// duration (movie timescale) is known.
std::vector<uint8_t> MehdDurationBytes(uint64_t duration);

// Serialises ftyp + moov; mehd (version 1) is always present.
InitSegment BuildInitSegment(const std::vector<TrackConfig>& tracks, uint32_t movie_timescale, uint64_t duration,
                             const RawBoxes& moov_extra = {});

}  // namespace piff
