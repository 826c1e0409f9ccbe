// SniffSmoothStreaming: brand and Live Server Manifest checks on the first
// bytes of a stream (see sniff.h for what is claimed and why).
#include "sniff.h"

#include "box_buffer.h"
#include "fourcc.h"

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

}  // namespace piff
