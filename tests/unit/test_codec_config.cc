// Unit tests for codec_config: hex helpers, avcC <-> Annex-B CodecPrivateData,
// AAC AudioSpecificConfig. Known answers come from FFmpeg/x264 output and the
// AAC configs quoted in the MSS digest.
#include <glib.h>

#include <cstring>
#include <string>
#include <vector>

#include "codec_config.h"
#include "test_util.h"

using namespace piff;


namespace {

std::vector<uint8_t> Hex(const std::string& s) {
  std::vector<uint8_t> v;
  g_assert_true(HexDecode(s, &v));
  return v;
}

// avcC written by FFmpeg/x264 into in.mp4 of the ffmpeg_Manifest fixture
// (High 4:4:4 Predictive, profile 244, with the chroma/bit-depth block).
const char* kFfmpegAvcC =
    "01f4000cffe1001967f4000c919b282833f1b808800000030080000019078a14cb01000668ebe3c44844fff8f800";
// The same stream's CodecPrivateData, as FFmpeg wrote it in the Live Server
// Manifest (uppercase) and in the Manifest (lowercase).
const char* kFfmpegCpd =
    "0000000167F4000C919B282833F1B808800000030080000019078A14CB0000000168EBE3C44844";
// x264 main 1280x720 and baseline 640x360 avcC records.
const char* kMainAvcC =
    "014d401fffe10019674d401feca02802dd80880000030008000003019078c18cb001000568ebe3cb20";
const char* kMainCpd =
    "00000001674D401FECA02802DD80880000030008000003019078C18CB00000000168EBE3CB20";
const char* kBaselineAvcC =
    "0142c01effe100196742c01ed900a02ff97011000003000100000300320f162e4801000568cb83cb20";
const char* kBaselineCpd =
    "000000016742c01ed900a02ff97011000003000100000300320f162e480000000168cb83cb20";

void TestHex() {
  const uint8_t bytes[] = {0x00, 0x1f, 0xa0, 0xff};
  EXPECT_STR(HexEncode(bytes, 4), "001FA0FF");
  EXPECT_STR(HexEncode(bytes, 4, false), "001fa0ff");
  EXPECT_STR(HexEncode(bytes, 0), "");
  std::vector<uint8_t> out;
  g_assert_true(HexDecode("001fA0Ff", &out));
  g_assert_cmpuint(out.size(), ==, 4);
  g_assert_cmpmem(out.data(), out.size(), bytes, 4);
  g_assert_true(HexDecode("", &out));
  g_assert_cmpuint(out.size(), ==, 0);
  g_assert_false(HexDecode("abc", &out));
  g_assert_false(HexDecode("0g", &out));
  g_assert_false(HexDecode("00 11", &out));
  g_assert_false(HexDecode("-1", &out));
}

void TestAvcCParseSerialize() {
  std::vector<uint8_t> raw = Hex(kFfmpegAvcC);
  AvcDecoderConfig c;
  Status s = AvcDecoderConfig::Parse(raw.data(), raw.size(), &c);
  g_assert_true(s.ok());
  g_assert_cmpuint(c.configuration_version, ==, 1);
  g_assert_cmpuint(c.profile_indication, ==, 244);
  g_assert_cmpuint(c.profile_compatibility, ==, 0);
  g_assert_cmpuint(c.level_indication, ==, 12);
  g_assert_cmpuint(c.length_size, ==, 4);
  g_assert_cmpuint(c.sps.size(), ==, 1);
  g_assert_cmpuint(c.sps[0].size(), ==, 25);
  g_assert_cmpuint(c.pps.size(), ==, 1);
  g_assert_cmpuint(c.pps[0].size(), ==, 6);
  EXPECT_STR(HexEncode(c.trailing, false), "fff8f800");
  g_assert_true(c.Serialize() == raw);

  for (const char* hex : {kMainAvcC, kBaselineAvcC}) {
    std::vector<uint8_t> r = Hex(hex);
    AvcDecoderConfig m;
    g_assert_true(AvcDecoderConfig::Parse(r.data(), r.size(), &m).ok());
    g_assert_cmpuint(m.trailing.size(), ==, 0);
    g_assert_true(m.Serialize() == r);
  }
}

void TestAvcCReservedBitsRoundTrip() {
  // Some old writers left the reserved bits zero; that must survive.
  std::vector<uint8_t> raw = Hex(kBaselineAvcC);
  raw[4] = 0x03;
  raw[5] = 0x01;
  AvcDecoderConfig c;
  g_assert_true(AvcDecoderConfig::Parse(raw.data(), raw.size(), &c).ok());
  g_assert_cmpuint(c.length_size, ==, 4);
  g_assert_cmpuint(c.sps.size(), ==, 1);
  g_assert_true(c.Serialize() == raw);
}

void TestAvcCErrors() {
  std::vector<uint8_t> raw = Hex(kFfmpegAvcC);
  // Everything shorter than the end of the PPS list is truncated.
  const size_t complete = 6 + 2 + 25 + 1 + 2 + 6;
  for (size_t n = 0; n < complete; n++) {
    AvcDecoderConfig c;
    Status s = AvcDecoderConfig::Parse(raw.data(), n, &c);
    g_assert_false(s.ok());
    g_assert_true(g_str_has_prefix(s.message().c_str(), "avcC: truncated"));
  }
  AvcDecoderConfig c;
  g_assert_true(AvcDecoderConfig::Parse(raw.data(), complete, &c).ok());
  g_assert_cmpuint(c.trailing.size(), ==, 0);

  std::vector<uint8_t> bad = raw;
  bad[0] = 0;
  Status s = AvcDecoderConfig::Parse(bad.data(), bad.size(), &c);
  g_assert_false(s.ok());
  g_assert_nonnull(strstr(s.message().c_str(), "configurationVersion"));
  bad = raw;
  bad[4] = 0xFE;  // lengthSizeMinusOne = 2
  s = AvcDecoderConfig::Parse(bad.data(), bad.size(), &c);
  g_assert_false(s.ok());
  g_assert_nonnull(strstr(s.message().c_str(), "lengthSizeMinusOne"));
  bad = raw;
  bad[5] = 0xE2;  // claims two SPS
  s = AvcDecoderConfig::Parse(bad.data(), bad.size(), &c);
  g_assert_false(s.ok());
}

void TestAvcToCodecPrivateData() {
  std::vector<uint8_t> raw = Hex(kFfmpegAvcC);
  AvcDecoderConfig c;
  g_assert_true(AvcDecoderConfig::Parse(raw.data(), raw.size(), &c).ok());
  EXPECT_STR(AvcConfigToCodecPrivateData(c), kFfmpegCpd);

  // Extra parameter sets are not part of the manifest form.
  c.sps.push_back({0x67, 0x01, 0x02, 0x03});
  c.pps.push_back({0x68, 0x05});
  EXPECT_STR(AvcConfigToCodecPrivateData(c), kFfmpegCpd);

  raw = Hex(kMainAvcC);
  g_assert_true(AvcDecoderConfig::Parse(raw.data(), raw.size(), &c).ok());
  EXPECT_STR(AvcConfigToCodecPrivateData(c), kMainCpd);
}

void TestCodecPrivateDataToAvc() {
  // FFmpeg's avcC for this stream is reproduced byte for byte, including the
  // chroma_format (4:4:4) block derived from the SPS.
  AvcDecoderConfig c;
  Status s = CodecPrivateDataToAvcConfig(kFfmpegCpd, &c);
  g_assert_true(s.ok());
  EXPECT_STR(HexEncode(c.Serialize(), false), kFfmpegAvcC);
  gchar* down = g_ascii_strdown(kFfmpegCpd, -1);
  g_assert_true(CodecPrivateDataToAvcConfig(down, &c).ok());
  g_free(down);
  EXPECT_STR(HexEncode(c.Serialize(), false), kFfmpegAvcC);

  g_assert_true(CodecPrivateDataToAvcConfig(kMainCpd, &c).ok());
  g_assert_cmpuint(c.profile_indication, ==, 77);
  g_assert_cmpuint(c.profile_compatibility, ==, 0x40);
  g_assert_cmpuint(c.level_indication, ==, 31);
  g_assert_cmpuint(c.length_size, ==, 4);
  EXPECT_STR(HexEncode(c.Serialize(), false), kMainAvcC);
  g_assert_true(CodecPrivateDataToAvcConfig(kBaselineCpd, &c).ok());
  EXPECT_STR(HexEncode(c.Serialize(), false), kBaselineAvcC);
}

void TestCodecPrivateDataVariants() {
  AvcDecoderConfig c;
  // 3-byte start codes, two SPS, two PPS, an SEI (ignored), trailing zeros.
  std::string cpd = "000001674d401fab" "00000167" "4d401fcd" "0000000106050102" "00000168ee3c80" "00000168ee3880" "0000";
  Status s = CodecPrivateDataToAvcConfig(cpd, &c);
  g_assert_true(s.ok());
  g_assert_cmpuint(c.sps.size(), ==, 2);
  g_assert_cmpuint(c.pps.size(), ==, 2);
  EXPECT_STR(HexEncode(c.sps[0], false), "674d401fab");
  EXPECT_STR(HexEncode(c.sps[1], false), "674d401fcd");
  EXPECT_STR(HexEncode(c.pps[0], false), "68ee3c80");
  EXPECT_STR(HexEncode(c.pps[1], false), "68ee3880");
  g_assert_cmpuint(c.profile_indication, ==, 77);
  g_assert_cmpuint(c.trailing.size(), ==, 0);
  // Only the first of each goes back into the manifest form.
  EXPECT_STR(AvcConfigToCodecPrivateData(c), "00000001674D401FAB0000000168EE3C80");
  // avcC round trip of the multi-set config.
  std::vector<uint8_t> bytes = c.Serialize();
  AvcDecoderConfig back;
  g_assert_true(AvcDecoderConfig::Parse(bytes.data(), bytes.size(), &back).ok());
  g_assert_cmpuint(back.sps.size(), ==, 2);
  g_assert_cmpuint(back.pps.size(), ==, 2);
  g_assert_true(back.Serialize() == bytes);
  // Surrounding whitespace is tolerated.
  g_assert_true(CodecPrivateDataToAvcConfig(std::string(" ") + kMainCpd + "\n", &c).ok());
}

void TestCodecPrivateDataErrors() {
  AvcDecoderConfig c;
  struct Case {
    const char* cpd;
    const char* reason;
  } cases[] = {
      {"000000016", "odd number"},
      {"00000001zz", "not a hex digit"},
      {"", "no Annex-B start code"},
      {"674d401f", "no Annex-B start code"},
      {"ff00000001674d401f0000000168ee3c80", "data before"},
      {"0000000168ee3c80", "no SPS"},
      {"00000001674d401f", "no PPS"},
      {"00000001674d0000000168ee3c80", "SPS too short"},
  };
  for (const Case& k : cases) {
    Status s = CodecPrivateDataToAvcConfig(k.cpd, &c);
    g_assert_false(s.ok());
    g_assert_true(g_str_has_prefix(s.message().c_str(), "CodecPrivateData"));
    if (!strstr(s.message().c_str(), k.reason)) g_error("%s: got \"%s\"", k.cpd, s.message().c_str());
  }
}

std::string AscHex(const AudioSpecificConfig& c) { return HexEncode(c.Serialize()); }

AudioSpecificConfig ParseAsc(const char* hex) {
  std::vector<uint8_t> b = Hex(hex);
  AudioSpecificConfig c;
  Status s = AudioSpecificConfig::Parse(b.data(), b.size(), &c);
  if (!s.ok()) g_error("%s: %s", hex, s.message().c_str());
  EXPECT_STR(AscHex(c), hex);  // exact round trip
  return c;
}

void TestAscLc() {
  AudioSpecificConfig c = ParseAsc("1190");
  g_assert_cmpuint(c.object_type, ==, 2);
  g_assert_cmpuint(c.sampling_frequency_index, ==, 3);
  g_assert_cmpuint(c.sampling_rate, ==, 48000);
  g_assert_cmpuint(c.channel_configuration, ==, 2);
  g_assert_false(c.sbr_present);
  g_assert_false(c.ps_present);
  EXPECT_STR(c.SmoothFourCC(), "AACL");

  c = ParseAsc("1210");
  g_assert_cmpuint(c.sampling_rate, ==, 44100);
  g_assert_cmpuint(c.channel_configuration, ==, 2);
  g_assert_cmpuint(c.OutputSamplingRate(), ==, 44100);

  EXPECT_STR(AscHex(AudioSpecificConfig::MakeLc(48000, 2)), "1190");
  EXPECT_STR(AscHex(AudioSpecificConfig::MakeLc(44100, 2)), "1210");
  EXPECT_STR(AscHex(AudioSpecificConfig::MakeLc(44100, 1)), "1208");
  AudioSpecificConfig m = AudioSpecificConfig::MakeLc(96000, 8);
  g_assert_cmpuint(m.channel_configuration, ==, 7);
  EXPECT_STR(AscHex(m), "1038");
  EXPECT_STR(m.SmoothFourCC(), "AACL");
}

void TestAscFfmpegSyncExtension() {
  // FFmpeg's AAC encoder signals "no SBR" through the 0x2B7 sync extension.
  AudioSpecificConfig c = ParseAsc("120856E500");
  g_assert_cmpuint(c.object_type, ==, 2);
  g_assert_cmpuint(c.sampling_rate, ==, 44100);
  g_assert_cmpuint(c.channel_configuration, ==, 1);
  g_assert_false(c.sbr_present);
  EXPECT_STR(c.SmoothFourCC(), "AACL");
}

void TestAscHeAac() {
  // Explicit hierarchical HE-AAC: 24 kHz core, 48 kHz SBR, stereo.
  AudioSpecificConfig c = ParseAsc("2B118800");
  g_assert_cmpuint(c.object_type, ==, 2);
  g_assert_true(c.sbr_present);
  g_assert_false(c.ps_present);
  g_assert_true(c.explicit_hierarchical);
  g_assert_cmpuint(c.sampling_rate, ==, 24000);
  g_assert_cmpuint(c.extension_sampling_rate, ==, 48000);
  g_assert_cmpuint(c.OutputSamplingRate(), ==, 48000);
  g_assert_cmpuint(c.channel_configuration, ==, 2);
  EXPECT_STR(c.SmoothFourCC(), "AACH");
  // Built from fields it serializes to the same bytes.
  c.original_bytes.clear();
  EXPECT_STR(AscHex(c), "2B118800");

  // HE-AAC v2: object type 29, mono core.
  c = ParseAsc("EB098800");
  g_assert_true(c.sbr_present);
  g_assert_true(c.ps_present);
  g_assert_cmpuint(c.channel_configuration, ==, 1);
  g_assert_cmpuint(c.extension_sampling_rate, ==, 48000);
  EXPECT_STR(c.SmoothFourCC(), "AACP");
  c.original_bytes.clear();
  EXPECT_STR(AscHex(c), "EB098800");

  // Backward-compatible SBR signalling after an LC config.
  c = ParseAsc("131056E598");
  g_assert_cmpuint(c.object_type, ==, 2);
  g_assert_false(c.explicit_hierarchical);
  g_assert_true(c.sbr_present);
  g_assert_false(c.ps_present);
  g_assert_cmpuint(c.sampling_rate, ==, 24000);
  g_assert_cmpuint(c.extension_sampling_rate, ==, 48000);
  EXPECT_STR(c.SmoothFourCC(), "AACH");
}

void TestAscExplicitRateAndEscape() {
  AudioSpecificConfig c = AudioSpecificConfig::MakeLc(12345, 1);
  g_assert_cmpuint(c.sampling_frequency_index, ==, 15);
  std::vector<uint8_t> b = c.Serialize();
  g_assert_cmpuint(b.size(), ==, 5);  // 5 + 4 + 24 + 4 + 3 bits
  AudioSpecificConfig back;
  g_assert_true(AudioSpecificConfig::Parse(b.data(), b.size(), &back).ok());
  g_assert_cmpuint(back.sampling_frequency_index, ==, 15);
  g_assert_cmpuint(back.sampling_rate, ==, 12345);
  g_assert_cmpuint(back.channel_configuration, ==, 1);

  // Escaped object type 42 (31 + 6 bits of 10), 48 kHz, stereo.
  // 11111 001010 0011 0010 -> 1111 1001 0100 0110 010(0 0000)
  back = ParseAsc("F94640");
  g_assert_cmpuint(back.object_type, ==, 42);
  g_assert_cmpuint(back.sampling_rate, ==, 48000);
  g_assert_cmpuint(back.channel_configuration, ==, 2);
  back.original_bytes.clear();
  EXPECT_STR(AscHex(back), "F94640");
}

void TestAscErrors() {
  AudioSpecificConfig c;
  const char* bad[] = {
      "",        // nothing
      "11",      // truncated before channels
      "16",      // truncated in the frequency index
      "1690",    // index 13: 00010 1101 -> reserved
      "0190",    // object type 0
      "1780",    // index 15 but no 24-bit rate
      "2B",      // explicit SBR, truncated
      "F8",      // escape without its 6 bits
  };
  for (const char* hex : bad) {
    std::vector<uint8_t> b = Hex(hex);
    Status s = AudioSpecificConfig::Parse(b.data(), b.size(), &c);
    if (s.ok()) g_error("ASC %s should fail", hex);
    g_assert_true(g_str_has_prefix(s.message().c_str(), "ASC: "));
  }
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/codec_config/hex", TestHex);
  g_test_add_func("/codec_config/avcc/parse-serialize", TestAvcCParseSerialize);
  g_test_add_func("/codec_config/avcc/reserved-bits", TestAvcCReservedBitsRoundTrip);
  g_test_add_func("/codec_config/avcc/errors", TestAvcCErrors);
  g_test_add_func("/codec_config/avc/to-codec-private-data", TestAvcToCodecPrivateData);
  g_test_add_func("/codec_config/avc/from-codec-private-data", TestCodecPrivateDataToAvc);
  g_test_add_func("/codec_config/avc/cpd-variants", TestCodecPrivateDataVariants);
  g_test_add_func("/codec_config/avc/cpd-errors", TestCodecPrivateDataErrors);
  g_test_add_func("/codec_config/asc/lc", TestAscLc);
  g_test_add_func("/codec_config/asc/ffmpeg-sync-extension", TestAscFfmpegSyncExtension);
  g_test_add_func("/codec_config/asc/he-aac", TestAscHeAac);
  g_test_add_func("/codec_config/asc/explicit-rate-escape", TestAscExplicitRateAndEscape);
  g_test_add_func("/codec_config/asc/errors", TestAscErrors);
  return g_test_run();
}
