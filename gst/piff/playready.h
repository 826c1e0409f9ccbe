// The PlayReady Object (PRO) and the WRMHEADER inside it: what goes into the
// PIFF uuid-pssh box and the client manifest's <ProtectionHeader>.
//
// PRO: little-endian Length(32), RecordCount(16), then records of
// Type(16) Length(16) Value; type 1 holds the WRMHEADER as UTF-16LE XML.
// For AES-CTR we write WRMHEADER 4.0.0.0 (<KID> element; the form Smooth
// clients such as ExoPlayer and dash.js can read); AES-CBC needs 4.3.0.0
// (<KIDS><KID ALGID="AESCBC" VALUE=.../></KIDS>), the first version that
// knows CBC. KIDs in the header are base64 of the GUID byte order.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "encryption.h"
#include "fourcc.h"
#include "status.h"

namespace piff {

// First 8 bytes of AES-128-ECB(key = content key, data = GUID-order KID).
// `kid` is in UUID (big-endian) order; the swap is done here.
Status PlayReadyChecksum(const Uuid& kid, const std::vector<uint8_t>& key, std::vector<uint8_t>* out);

struct PlayReadyHeaderParams {
  EncryptionScheme scheme = EncryptionScheme::kPiffCtr;
  Uuid kid{};                  // UUID order
  std::vector<uint8_t> key;    // for the CHECKSUM (CTR); empty: no CHECKSUM
  std::string la_url;          // optional
  std::string lui_url;         // optional
  std::string ds_id;           // optional, base64 service id
};

// The WRMHEADER XML (UTF-8, no declaration).
Status BuildWrmHeader(const PlayReadyHeaderParams& params, std::string* xml);

// Wraps a WRMHEADER (UTF-8 XML) into a PRO with one type-1 record.
std::vector<uint8_t> BuildPlayReadyObject(const std::string& wrmheader_xml);

// What a PRO says, for inspection and tests.
struct PlayReadyObjectInfo {
  std::string wrmheader_xml;  // UTF-8; empty when there is no type-1 record
  std::string version;        // WRMHEADER@version
  std::vector<Uuid> kids;     // UUID order (converted from the GUID order of the header)
  std::vector<std::string> algorithms;  // AESCTR / AESCBC / COCKTAIL, one per KID when known
  std::vector<std::vector<uint8_t>> checksums;  // decoded CHECKSUMs, one per KID (may be empty)
  std::string la_url;
  uint16_t record_count = 0;
};

// Parses a PRO; fails on a length or record that does not add up or on
// UTF-16 that is not valid.
Status ParsePlayReadyObject(const uint8_t* data, size_t size, PlayReadyObjectInfo* out);
inline Status ParsePlayReadyObject(const std::vector<uint8_t>& pro, PlayReadyObjectInfo* out) {
  return ParsePlayReadyObject(pro.data(), pro.size(), out);
}

std::string Base64Encode(const std::vector<uint8_t>& data);
// Ignores whitespace; fails on characters outside the base64 alphabet.
bool Base64Decode(const std::string& text, std::vector<uint8_t>* out);

}  // namespace piff
