// FourCC codes and 16-byte UUID extended types used by ISO BMFF and PIFF.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace piff {

using FourCC = uint32_t;

constexpr FourCC MakeFourCC(const char (&s)[5]) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(s[0])) << 24) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[1])) << 16) |
         (static_cast<uint32_t>(static_cast<uint8_t>(s[2])) << 8) |
         static_cast<uint32_t>(static_cast<uint8_t>(s[3]));
}

// Printable form; non-printable bytes become '.'.
std::string FourCCToString(FourCC f);

using Uuid = std::array<uint8_t, 16>;

// Canonical 8-4-4-4-12 lowercase form.
std::string UuidToString(const Uuid& u);
// Accepts upper/lower case, optional braces, with or without dashes.
bool UuidFromString(const std::string& s, Uuid* out);

// PIFF / Smooth Streaming extended types, bytes in printed (big-endian) order.
extern const Uuid kTfxdUuid;        // 6D1D9B05-42D5-44E6-80E2-141DAFF757B2
extern const Uuid kTfrfUuid;        // D4807EF2-CA39-4695-8E54-26CB9E46A79F
extern const Uuid kLiveServerManifestUuid;  // A5D40B30-E814-11DD-BA2F-0800200C9A66
extern const Uuid kStreamManifestUuid;      // 3C2FE51B-EFEE-40A3-AE81-5300199DC348
extern const Uuid kPiffPsshUuid;    // D08A4F18-10F3-4A82-B6C8-32D8ABA183D3
extern const Uuid kPiffTencUuid;    // 8974DBCE-7BE7-4C51-84F9-7148F9882554
extern const Uuid kPiffSencUuid;    // A2394F52-5A9B-4F14-A244-6C427C648DF4
extern const Uuid kPlayReadySystemId;  // 9A04F079-9840-4286-AB92-E65BE0885F95

}  // namespace piff
