// SniffSmoothStreaming: brand and Live Server Manifest checks on the first
// bytes of a stream (see sniff.h for what is claimed and why).
#include "sniff.h"

#include "box_buffer.h"
#include "boxes.h"
#include "fourcc.h"
#include "media_index.h"

namespace piff {

SniffResult SniffSmoothStreaming(const uint8_t* data, size_t size) {
  BoxHeader ftyp;
  // The ftyp header alone is enough to read its size; the size check must not
  // depend on how much the caller could peek.
  if (size < 16 || !ParseBoxHeaderAt(data, size, UINT64_MAX, &ftyp).ok() || ftyp.type != MakeFourCC("ftyp"))
    return SniffResult::kNotSmooth;
  if (ftyp.size < 16 || ftyp.size > 4096) return SniffResult::kNotSmooth;
  auto brand_at = [&](size_t off) {
    return (uint32_t(data[off]) << 24) | (uint32_t(data[off + 1]) << 16) | (uint32_t(data[off + 2]) << 8) |
           uint32_t(data[off + 3]);
  };
  auto is_ours = [](FourCC b) { return b == MakeFourCC("isml") || b == MakeFourCC("piff"); };
  size_t header = ftyp.header_size;
  if (is_ours(brand_at(header))) return SniffResult::kSmoothBrand;
  // Compatible brands follow major brand and minor version.
  for (uint64_t off = header + 8; off + 4 <= ftyp.size && off + 4 <= size; off += 4)
    if (is_ours(brand_at(static_cast<size_t>(off)))) return SniffResult::kSmoothBrand;
  uint64_t next = ftyp.size;
  if (next + 24 <= size) {
    BoxHeader h;
    if (ParseBoxHeaderAt(data + next, static_cast<size_t>(size - next), UINT64_MAX, &h).ok() &&
        h.type == MakeFourCC("uuid") && h.usertype == kLiveServerManifestUuid)
      return SniffResult::kLiveIngest;
  }
  return SniffResult::kNotSmooth;
}

TrackSniff SniffTracks(const uint8_t* data, size_t size, std::string* why) {
  uint64_t off = 0;
  // The moov follows ftyp and at most a few small boxes (the Live Server
  // Manifest, free, pssh-like uuids): look at the first eight.
  for (int i = 0; i < 8 && off + 8 <= size; i++) {
    BoxHeader h;
    if (!ParseBoxHeaderAt(data + off, static_cast<size_t>(size - off), UINT64_MAX, &h).ok() || h.size < 8)
      return TrackSniff::kUnknown;
    if (h.type == MakeFourCC("moov")) {
      if (h.size > size - off) return TrackSniff::kUnknown;
      MovieBox moov;
      Status s = moov.Parse(data + off, static_cast<size_t>(h.size));
      if (!s) {
        *why = "moov: " + s.message();
        return TrackSniff::kNotAllSupported;
      }
      for (const TrackBox& trak : moov.tracks) {
        IndexedTrack t;
        Status d = DescribeTrack(trak, &t);
        FourCC handler = trak.mdia.hdlr.handler_type;
        if (handler != MakeFourCC("vide") && handler != MakeFourCC("soun")) continue;
        if (!d || !t.supported) {
          *why = "track " + std::to_string(trak.tkhd.track_id) + ": " +
                 (d ? "'" + FourCCToString(t.sample_entry) + "' is not H.264 or AAC" : d.message());
          return TrackSniff::kNotAllSupported;
        }
      }
      return TrackSniff::kAllSupported;
    }
    if (h.type == MakeFourCC("moof") || h.type == MakeFourCC("mdat")) return TrackSniff::kUnknown;
    off += h.size;
  }
  return TrackSniff::kUnknown;
}

}  // namespace piff
