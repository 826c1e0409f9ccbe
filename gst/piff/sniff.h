// Recognising a Smooth Streaming / PIFF media stream from its first bytes, for
// the "video/x-ms-ismv" typefinder: an ftyp whose major or compatible brand is
// 'isml' or 'piff', or an ftyp directly followed by the Live Server Manifest
// uuid box of a live ingest stream. Plain MP4 (isom, mp41, dash, ...) is not
// claimed, so it still goes to qtdemux.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace piff {

enum class SniffResult {
  kNotSmooth,      // not ours (or not enough bytes to say yes)
  kSmoothBrand,    // ftyp brand isml or piff
  kLiveIngest,     // ftyp + Live Server Manifest box (brand may be anything)
};

// `data` holds the first `size` bytes of the stream (at least the ftyp header,
// 16 bytes, are needed; with the whole ftyp and the next box header (24 bytes
// after the ftyp) the live ingest form is recognised too).
SniffResult SniffSmoothStreaming(const uint8_t* data, size_t size);

// Whether ismdemux can play every audio and video track of a stream whose
// first `size` bytes are `data`: the typefinder claims a Smooth Streaming
// file only then, and leaves the others (HEVC, E-AC-3, VC-1, a moov our core
// cannot read) to qtdemux, so installing gst-smooth never makes a file
// unplayable that plays without it.
enum class TrackSniff {
  kUnknown,         // the moov is not within the bytes given
  kAllSupported,    // every audio/video track is H.264 or AAC
  kNotAllSupported  // some track is not, or the moov does not parse (*why)
};
TrackSniff SniffTracks(const uint8_t* data, size_t size, std::string* why);

}  // namespace piff
