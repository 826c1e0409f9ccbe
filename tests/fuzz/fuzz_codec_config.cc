// libFuzzer target for the codec configuration parsers: the first input byte
// picks the parser, the rest is its input.
//   0: avcC (AvcDecoderConfig::Parse; Serialize must give the bytes back) and
//      its CodecPrivateData form
//   1: AudioSpecificConfig (exact Serialize, and the minimal re-encoding
//      must parse to the same rates, channels and SBR/PS signalling)
//   2: CodecPrivateData hex text (CodecPrivateDataToAvcConfig)
//   3: hex and UUID text helpers
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "codec_config.h"
#include "fourcc.h"
#include "fuzz_common.h"

namespace {

// A NAL that survives the Annex-B form unchanged: no start-code-like 00 00 0x
// (x <= 2) inside and no trailing zero byte, as emulation prevention and
// rbsp_trailing_bits guarantee for real parameter sets.
bool IsCleanNal(const std::vector<uint8_t>& nal, unsigned type) {
  if (nal.empty() || (nal[0] & 0x1F) != type || nal.back() == 0) return false;
  for (size_t i = 0; i + 2 < nal.size(); i++)
    if (nal[i] == 0 && nal[i + 1] == 0 && nal[i + 2] <= 2) return false;
  return true;
}

void FuzzAvcC(const uint8_t* data, size_t size) {
  piff::AvcDecoderConfig c;
  if (!piff::AvcDecoderConfig::Parse(data, size, &c).ok()) return;
  std::vector<uint8_t> bytes = c.Serialize();
  FUZZ_CHECK(bytes.size() == size && std::equal(bytes.begin(), bytes.end(), data), "avcC does not round-trip");

  std::string hex = piff::AvcConfigToCodecPrivateData(c);
  piff::AvcDecoderConfig from_hex;
  piff::Status s = piff::CodecPrivateDataToAvcConfig(hex, &from_hex);
  if (!c.sps.empty() && !c.pps.empty() && c.sps[0].size() >= 4 && IsCleanNal(c.sps[0], 7) &&
      IsCleanNal(c.pps[0], 8)) {
    fuzz::CheckOk(s, "CodecPrivateDataToAvcConfig(AvcConfigToCodecPrivateData(avcC))");
    FUZZ_CHECK(from_hex.sps.size() == 1 && from_hex.sps[0] == c.sps[0] && from_hex.pps.size() == 1 &&
                   from_hex.pps[0] == c.pps[0],
               "first SPS/PPS change through CodecPrivateData");
  }
}

void FuzzAsc(const uint8_t* data, size_t size) {
  piff::AudioSpecificConfig c;
  if (!piff::AudioSpecificConfig::Parse(data, size, &c).ok()) return;
  std::vector<uint8_t> bytes = c.Serialize();
  FUZZ_CHECK(bytes.size() == size && std::equal(bytes.begin(), bytes.end(), data), "ASC does not round-trip");
  (void)c.SmoothFourCC();

  piff::AudioSpecificConfig minimal = c;
  minimal.original_bytes.clear();
  bytes = minimal.Serialize();
  piff::AudioSpecificConfig back;
  fuzz::CheckOk(piff::AudioSpecificConfig::Parse(bytes.data(), bytes.size(), &back), "Parse(minimal ASC)");
  FUZZ_CHECK(back.object_type == c.object_type && back.sampling_rate == c.sampling_rate &&
                 back.channel_configuration == c.channel_configuration && back.sbr_present == c.sbr_present &&
                 back.ps_present == c.ps_present && back.OutputSamplingRate() == c.OutputSamplingRate(),
             "minimal ASC re-encoding changes the config (ot %u->%u rate %u->%u ch %u->%u sbr %d->%d ps %d->%d)",
             c.object_type, back.object_type, c.sampling_rate, back.sampling_rate, c.channel_configuration,
             back.channel_configuration, c.sbr_present, back.sbr_present, c.ps_present, back.ps_present);
}

void FuzzCodecPrivateData(const uint8_t* data, size_t size) {
  std::string hex(reinterpret_cast<const char*>(data), size);
  piff::AvcDecoderConfig c;
  if (!piff::CodecPrivateDataToAvcConfig(hex, &c).ok()) return;
  std::vector<uint8_t> bytes = c.Serialize();
  piff::AvcDecoderConfig back;
  fuzz::CheckOk(piff::AvcDecoderConfig::Parse(bytes.data(), bytes.size(), &back), "Parse(avcC from hex)");
  FUZZ_CHECK(back.Serialize() == bytes, "avcC from hex does not round-trip");
  std::string again_hex = piff::AvcConfigToCodecPrivateData(c);
  piff::AvcDecoderConfig again;
  fuzz::CheckOk(piff::CodecPrivateDataToAvcConfig(again_hex, &again), "CodecPrivateData written by us");
  FUZZ_CHECK(again.sps.front() == c.sps.front() && again.pps.front() == c.pps.front(),
             "first SPS/PPS change through our own CodecPrivateData");
}

void FuzzText(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<uint8_t> bytes;
  if (piff::HexDecode(text, &bytes)) {
    FUZZ_CHECK(bytes.size() * 2 == size, "hex decode size");
    std::vector<uint8_t> back;
    FUZZ_CHECK(piff::HexDecode(piff::HexEncode(bytes, false), &back) && back == bytes, "hex round trip");
  }
  (void)piff::HexEncode(data, size);
  piff::Uuid u{};
  if (piff::UuidFromString(text, &u)) {
    piff::Uuid back{};
    FUZZ_CHECK(piff::UuidFromString(piff::UuidToString(u), &back) && back == u, "UUID round trip");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  switch (data[0] & 3) {
    case 0: FuzzAvcC(data + 1, size - 1); break;
    case 1: FuzzAsc(data + 1, size - 1); break;
    case 2: FuzzCodecPrivateData(data + 1, size - 1); break;
    case 3: FuzzText(data + 1, size - 1); break;
  }
  return 0;
}
