// Codec configuration records and their Smooth Streaming manifest forms:
// the AVC decoder configuration record (avcC, ISO/IEC 14496-15) and its
// Annex-B hex CodecPrivateData, and the AAC AudioSpecificConfig (ISO/IEC
// 14496-3) with its SamplingRate/Channels/FourCC view. Also the hex helpers
// the manifests use for CodecPrivateData.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace piff {

// Hex text of data[0..size), two digits per byte.
std::string HexEncode(const uint8_t* data, size_t size, bool upper = true);
inline std::string HexEncode(const std::vector<uint8_t>& bytes, bool upper = true) {
  return HexEncode(bytes.data(), bytes.size(), upper);
}
// Accepts upper and lower case digits; fails (leaving *out unspecified) on an
// odd length or a non-hex character. An empty string decodes to no bytes.
bool HexDecode(const std::string& hex, std::vector<uint8_t>* out);

// AVCDecoderConfigurationRecord ('avcC' box payload).
struct AvcDecoderConfig {
  uint8_t configuration_version = 1;
  uint8_t profile_indication = 0;
  uint8_t profile_compatibility = 0;
  uint8_t level_indication = 0;
  uint8_t length_size = 4;  // NAL length prefix size in samples: 1, 2 or 4
  std::vector<std::vector<uint8_t>> sps;
  std::vector<std::vector<uint8_t>> pps;
  // Everything after the PPS list (the High-profile chroma_format /
  // bit_depth / SPS-extension block, or vendor padding), kept verbatim so a
  // parsed record serializes back to the same bytes.
  std::vector<uint8_t> trailing;
  // The reserved bits around lengthSizeMinusOne and numOfSequenceParameterSets.
  // 14496-15 wants them all set; some old writers left them zero and a round
  // trip must not "fix" that silently.
  uint8_t reserved_length_bits = 0xFC;
  uint8_t reserved_sps_count_bits = 0xE0;

  static Status Parse(const uint8_t* data, size_t size, AvcDecoderConfig* out);
  // At most 31 SPS and 255 PPS fit the record; further ones are not written.
  std::vector<uint8_t> Serialize() const;
};

// Manifest CodecPrivateData for H.264: uppercase hex of
// 00000001 <first SPS> 00000001 <first PPS>. Only the first SPS and first PPS
// are written (the form every Smooth Streaming client expects, see digest
// §1.6); further parameter sets stay in the avcC of the media file only.
// A missing SPS or PPS is simply left out.
std::string AvcConfigToCodecPrivateData(const AvcDecoderConfig& config);

// The reverse: reads an Annex-B hex string (upper or lower case, 3- or 4-byte
// start codes, any number of SPS (type 7) and PPS (type 8); other NAL types are
// ignored) into an avcC with length_size 4 and profile/compatibility/level
// taken from the first SPS. For High-type profiles the chroma_format and
// bit-depth block is derived from the SPS, as FFmpeg and x264 do.
Status CodecPrivateDataToAvcConfig(const std::string& hex, AvcDecoderConfig* out);

// AAC AudioSpecificConfig, the common subset: audio object type, sampling
// rate, channel configuration, and SBR/PS signalling (explicit hierarchical,
// object type 5/29 first, or backward-compatible via the 0x2B7 sync
// extension).
struct AudioSpecificConfig {
  // The core object type (2 = AAC LC). For explicit hierarchical signalling
  // (first object type 5 or 29) this is the underlying core type and
  // sbr_present / ps_present are set.
  uint32_t object_type = 2;
  uint8_t sampling_frequency_index = 15;  // 15 = explicit 24-bit rate
  uint32_t sampling_rate = 0;             // core rate in Hz
  uint8_t channel_configuration = 0;      // 0 = defined by a PCE (not parsed)
  bool sbr_present = false;
  bool ps_present = false;
  // True when SBR/PS was signalled hierarchically (object type 5/29 first);
  // false for implicit or backward-compatible (sync extension) signalling.
  bool explicit_hierarchical = false;
  uint8_t extension_sampling_frequency_index = 15;
  uint32_t extension_sampling_rate = 0;   // SBR output rate; 0 when no SBR
  // The bytes this config was parsed from. When non-empty Serialize() returns
  // them unchanged (so parse -> serialize is exact, including GA-specific and
  // extension bits this struct does not model). Clear it after editing fields.
  std::vector<uint8_t> original_bytes;

  static Status Parse(const uint8_t* data, size_t size, AudioSpecificConfig* out);
  // original_bytes if set; otherwise a minimal config: object type, frequency,
  // channels, a zero GASpecificConfig, and for SBR/PS the explicit
  // hierarchical form (5 or 29, extension frequency, core type).
  std::vector<uint8_t> Serialize() const;
  // AAC-LC config for a rate and channel count; an unlisted rate uses the
  // explicit 24-bit form, 8 channels map to configuration 7, other counts
  // above 6 to 0.
  static AudioSpecificConfig MakeLc(uint32_t rate, uint32_t channels);
  // "AACP" with PS, else "AACH" with SBR, else "AACL".
  std::string SmoothFourCC() const;
  // Rate after SBR, i.e. what a decoder outputs.
  uint32_t OutputSamplingRate() const {
    return sbr_present && extension_sampling_rate ? extension_sampling_rate : sampling_rate;
  }
};

// 14496-3 sampling frequency table; 0 for reserved / explicit indexes.
uint32_t AacSamplingRateForIndex(uint8_t index);
// Index of an exact table rate, or 15 when the rate is not in the table.
uint8_t AacSamplingIndexForRate(uint32_t rate);

}  // namespace piff
