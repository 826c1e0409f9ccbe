// Unit tests for the client manifest (.ismc / Manifest): FFmpeg and IIS-style
// fixtures, every lenient variant the MSS digest names, the timeline rules
// (implicit t/d, r, exact 64-bit times) and the reject cases.
#include <glib.h>

#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "client_manifest.h"
#include "test_util.h"

using namespace piff;


namespace {

ClientManifest MustParse(const std::string& xml) { return ::MustParse<ClientManifest>(xml); }

void ExpectError(const std::string& xml, const char* expected_substring) {
  ExpectParseError<ClientManifest>(xml, expected_substring);
}

// Writing is a fixed point after one parse, with and without r.
void ExpectDeterministic(const ClientManifest& m) {
  for (bool use_repeat : {false, true}) {
    ClientManifestWriteOptions o;
    o.use_repeat = use_repeat;
    std::string first = m.Write(o);
    ClientManifest again = MustParse(first);
    std::string second = again.Write(o);
    EXPECT_STR(first, second.c_str());
  }
}

std::string Wrap(const std::string& stream_body, const std::string& root_attrs = "") {
  return "<SmoothStreamingMedia MajorVersion=\"2\" MinorVersion=\"2\" Duration=\"100\"" + root_attrs +
         "><StreamIndex Type=\"video\" Url=\"q({bitrate})/f(video={start time})\">"
         "<QualityLevel Index=\"0\" Bitrate=\"1000\" FourCC=\"H264\"/>" +
         stream_body + "</StreamIndex></SmoothStreamingMedia>";
}

std::vector<std::pair<uint64_t, uint64_t>> Fragments(const StreamIndex& s) {
  std::vector<std::pair<uint64_t, uint64_t>> v;
  s.ForEachFragment([&v](uint64_t t, uint64_t d) {
    v.emplace_back(t, d);
    return true;
  });
  return v;
}

void ExpectFragments(const StreamIndex& s, std::vector<std::pair<uint64_t, uint64_t>> expected) {
  auto got = Fragments(s);
  g_assert_cmpuint(got.size(), ==, expected.size());
  for (size_t i = 0; i < got.size(); i++) {
    g_assert_cmpuint(got[i].first, ==, expected[i].first);
    g_assert_cmpuint(got[i].second, ==, expected[i].second);
  }
  g_assert_cmpuint(s.FragmentCount(), ==, expected.size());
}

// --- fixtures ---------------------------------------------------------------

void TestFfmpegFixture() {
  ClientManifest m = MustParse(ReadFixture("ffmpeg_Manifest"));
  g_assert_cmpuint(m.major_version, ==, 2);
  g_assert_cmpuint(m.minor_version, ==, 0);
  g_assert_cmpuint(m.timescale, ==, 10000000);
  g_assert_cmpuint(m.duration, ==, 60800000);
  g_assert_false(m.is_live);
  g_assert_false(m.lookahead_count.has_value());
  g_assert_cmpuint(m.streams.size(), ==, 2);

  const StreamIndex& v = m.streams[0];
  EXPECT_STR(v.type, "video");
  EXPECT_STR(v.EffectiveName(), "video");
  EXPECT_STR(v.url, "QualityLevels({bitrate})/Fragments(video={start time})");
  g_assert_cmpuint(*v.declared_chunks, ==, 3);
  g_assert_cmpuint(*v.declared_quality_levels, ==, 1);
  g_assert_cmpuint(v.quality_levels.size(), ==, 1);
  const QualityLevel& vq = v.quality_levels[0];
  g_assert_cmpuint(vq.index, ==, 0);
  g_assert_cmpuint(vq.bitrate, ==, 36762);
  EXPECT_STR(vq.fourcc, "H264");
  g_assert_cmpuint(*vq.max_width, ==, 320);
  g_assert_cmpuint(*vq.max_height, ==, 180);
  AvcDecoderConfig avc;
  g_assert_true(vq.GetAvcDecoderConfig(&avc).ok());
  g_assert_cmpuint(avc.profile_indication, ==, 244);
  g_assert_cmpuint(avc.length_size, ==, 4);
  // FFmpeg's n-only list of equal durations is one run in memory.
  g_assert_cmpuint(v.chunks.size(), ==, 1);
  g_assert_cmpuint(*v.chunks[0].n, ==, 0);
  ExpectFragments(v, {{0, 20000000}, {20000000, 20000000}, {40000000, 20000000}});
  EXPECT_STR(v.FragmentUrl(vq, 20000000), "QualityLevels(36762)/Fragments(video=20000000)");

  const StreamIndex& a = m.streams[1];
  EXPECT_STR(a.type, "audio");
  const QualityLevel& aq = a.quality_levels[0];
  g_assert_cmpuint(aq.bitrate, ==, 126699);
  EXPECT_STR(aq.fourcc, "AACL");
  g_assert_cmpuint(*aq.sampling_rate, ==, 44100);
  g_assert_cmpuint(*aq.channels, ==, 1);
  g_assert_cmpuint(*aq.bits_per_sample, ==, 16);
  g_assert_cmpuint(*aq.packet_size, ==, 4);
  g_assert_cmpuint(*aq.audio_tag, ==, 255);
  EXPECT_STR(aq.codec_private_data, "120856e500");
  AudioSpecificConfig asc;
  g_assert_true(aq.GetAudioSpecificConfig(&asc).ok());
  g_assert_cmpuint(asc.sampling_rate, ==, 44100);
  EXPECT_STR(asc.SmoothFourCC(), "AACL");
  g_assert_cmpuint(a.chunks.size(), ==, 3);
  ExpectFragments(a, {{0, 19504763}, {19504763, 19969161}, {39473924, 20758276}});

  ExpectDeterministic(m);
  // The written form keeps FFmpeg's values (timeline recoded as t/d).
  std::string w = m.Write();
  g_assert_nonnull(strstr(w.c_str(), "<c t=\"0\" d=\"19504763\"/>\n    <c d=\"19969161\"/>"));
  g_assert_nonnull(strstr(w.c_str(), "CodecPrivateData=\"120856e500\""));
}

void TestIisFixture() {
  const uint64_t t0 = 17472959488675333ull;  // > 2^53
  ClientManifest m = MustParse(ReadFixture("iis_live.ismc"));
  g_assert_cmpuint(m.minor_version, ==, 2);
  g_assert_true(m.is_live);  // "true", lower case
  g_assert_cmpuint(*m.lookahead_count, ==, 2);  // spec name LookaheadCount
  g_assert_cmpuint(*m.dvr_window_length, ==, 1200000000);
  g_assert_true(*m.can_seek);
  g_assert_true(*m.can_pause);
  g_assert_cmpuint(m.unknown_attributes.size(), ==, 0);

  // Protection after the streams, braces + uppercase SystemID, wrapped base64.
  g_assert_cmpuint(m.protection.size(), ==, 1);
  g_assert_true(m.protection[0].system_id == kPlayReadySystemId);
  EXPECT_STR(m.protection[0].data_base64, "AAECAwQFBgcICQoLDA0ODxAREhM=");

  g_assert_cmpuint(m.streams.size(), ==, 3);
  const StreamIndex& v = m.streams[0];
  g_assert_cmpuint(*v.display_width, ==, 1280);
  g_assert_cmpuint(v.unknown_attributes.size(), ==, 1);
  EXPECT_STR(v.unknown_attributes[0].first, "HardwareProfile");
  g_assert_cmpuint(v.quality_levels.size(), ==, 2);
  g_assert_cmpuint(*v.quality_levels[0].nal_unit_length_field, ==, 4);
  g_assert_cmpuint(v.quality_levels[0].custom_attributes.size(), ==, 1);
  EXPECT_STR(v.quality_levels[0].custom_attributes[0].second, "Desktop");
  EXPECT_STR(v.FragmentUrl(v.quality_levels[0], t0), "QualityLevels(2962000,Compatibility=Desktop)/Fragments(video=17472959488675333)");
  AvcDecoderConfig avc;
  g_assert_true(v.quality_levels[1].GetAvcDecoderConfig(&avc).ok());
  g_assert_cmpuint(avc.profile_indication, ==, 66);

  // r="3", implicit t, then start-time coding with an implicit d.
  ExpectFragments(v, {{t0, 20000000},
                      {t0 + 20000000, 20000000},
                      {t0 + 40000000, 20000000},
                      {17472959548675333ull, 19999999},
                      {17472959568675332ull, 20000001},
                      {17472959588675333ull, 20000000}});
  FragmentInfo f;
  g_assert_true(v.FindFragment(17472959568675332ull, &f));
  g_assert_cmpuint(f.index, ==, 4);
  g_assert_cmpuint(f.d, ==, 20000001);
  g_assert_false(v.FindFragment(17472959568675333ull, &f));  // off by one tick
  g_assert_true(v.FindFragmentContaining(17472959568675333ull, &f));
  g_assert_cmpuint(f.t, ==, 17472959568675332ull);
  g_assert_true(v.GetFragment(2, &f));
  g_assert_cmpuint(f.t, ==, t0 + 40000000);
  g_assert_cmpuint(v.TimelineEnd(), ==, 17472959608675333ull);

  // AACL with empty CodecPrivateData: synthesised from SamplingRate/Channels.
  const StreamIndex& a = m.streams[1];
  EXPECT_STR(a.language, "eng");
  EXPECT_STR(a.EffectiveName(), "audio_eng");
  EXPECT_STR(a.quality_levels[0].codec_private_data, "");
  AudioSpecificConfig asc;
  g_assert_true(a.quality_levels[0].GetAudioSpecificConfig(&asc).ok());
  EXPECT_STR(HexEncode(asc.Serialize()), "1190");
  ExpectFragments(a, {{t0, 20053333}, {17472959508728666ull, 20053334}, {17472959528782000ull, 20053333}});

  const StreamIndex& text = m.streams[2];
  EXPECT_STR(text.subtype, "CAPT");
  EXPECT_STR(text.parent_stream_index, "video");
  g_assert_true(*text.manifest_output);
  g_assert_cmpuint(text.chunks.size(), ==, 1);
  g_assert_cmpuint(text.chunks[0].samples.size(), ==, 1);
  EXPECT_STR(text.chunks[0].samples[0].data_base64, "PHR0IHhtbG5zPSJodHRwOi8vd3d3LnczLm9yZy9ucy90dG1sIi8+");

  ExpectDeterministic(m);
  std::string w = m.Write();
  g_assert_nonnull(strstr(w.c_str(), "LookAheadFragmentCount=\"2\""));
  g_assert_null(strstr(w.c_str(), "LookaheadCount"));
  g_assert_nonnull(strstr(w.c_str(), "SystemID=\"9a04f079-9840-4286-ab92-e65be0885f95\""));
  g_assert_nonnull(strstr(w.c_str(), "IsLive=\"TRUE\""));
  g_assert_null(strstr(w.c_str(), " r=\""));
  g_assert_nonnull(strstr(w.c_str(), "<c t=\"17472959488675333\" d=\"20000000\"/>"));
  g_assert_nonnull(strstr(w.c_str(), "<f i=\"0\">PHR0"));
  ClientManifestWriteOptions o;
  o.use_repeat = true;
  o.write_spec_lookahead_name = true;
  w = m.Write(o);
  g_assert_nonnull(strstr(w.c_str(), "<c t=\"17472959488675333\" d=\"20000000\" r=\"3\"/>\n"
                                     "    <c d=\"19999999\"/>\n"
                                     "    <c d=\"20000001\"/>\n"
                                     "    <c d=\"20000000\"/>\n"));
  g_assert_nonnull(strstr(w.c_str(), "LookaheadCount=\"2\""));
}

std::string ToUtf16(const std::string& utf8, const char* encoding, const char* bom, size_t bom_len) {
  gsize written = 0;
  gchar* conv = g_convert(utf8.data(), static_cast<gssize>(utf8.size()), encoding, "UTF-8", nullptr,
                          &written, nullptr);
  g_assert_nonnull(conv);
  std::string out(bom, bom_len);
  out.append(conv, written);
  g_free(conv);
  return out;
}

void TestEncodings() {
  std::string utf8 = ReadFixture("iis_live.ismc");
  std::string expected = MustParse(utf8).Write();
  EXPECT_STR(MustParse(ToUtf16(utf8, "UTF-16LE", "\xFF\xFE", 2)).Write(), expected.c_str());
  EXPECT_STR(MustParse(ToUtf16(utf8, "UTF-16BE", "\xFE\xFF", 2)).Write(), expected.c_str());
  EXPECT_STR(MustParse(ToUtf16(utf8, "UTF-16LE", "", 0)).Write(), expected.c_str());
  EXPECT_STR(MustParse(ToUtf16(utf8, "UTF-16BE", "", 0)).Write(), expected.c_str());
  EXPECT_STR(MustParse("\xEF\xBB\xBF" + utf8).Write(), expected.c_str());
  // A truncated UTF-16 document (odd byte count) is an error, not a crash.
  std::string odd = ToUtf16(utf8, "UTF-16LE", "\xFF\xFE", 2);
  odd.pop_back();
  ExpectError(odd, "UTF-16LE");
}

// --- lenient variants ---------------------------------------------------------

void TestLookaheadNames() {
  ClientManifest m = MustParse(Wrap("<c d=\"10\"/>", " LookAheadFragmentCount=\"3\""));
  g_assert_cmpuint(*m.lookahead_count, ==, 3);
  m = MustParse(Wrap("<c d=\"10\"/>", " LookaheadCount=\"4\""));
  g_assert_cmpuint(*m.lookahead_count, ==, 4);
  // Both present: the server-style name wins.
  m = MustParse(Wrap("<c d=\"10\"/>", " LookaheadCount=\"4\" LookAheadFragmentCount=\"5\""));
  g_assert_cmpuint(*m.lookahead_count, ==, 5);
  g_assert_cmpuint(m.unknown_attributes.size(), ==, 0);
}

void TestSystemIdForms() {
  const char* forms[] = {"{9A04F079-9840-4286-AB92-E65BE0885F95}",
                         "9a04f079-9840-4286-ab92-e65be0885f95",
                         "9A04F07998404286AB92E65BE0885F95",
                         // the spec example's form, missing one dash
                         "{9A04F079-9840-4286-AB92E65BE0885F95}"};
  for (const char* id : forms) {
    std::string xml = "<SmoothStreamingMedia MajorVersion=\"2\" MinorVersion=\"0\" Duration=\"0\">"
                      "<Protection><ProtectionHeader SystemID=\"" + std::string(id) +
                      "\">AAAA\r\nBBBB\r\n</ProtectionHeader></Protection></SmoothStreamingMedia>";
    ClientManifest m = MustParse(xml);
    g_assert_true(m.protection[0].system_id == kPlayReadySystemId);
    EXPECT_STR(m.protection[0].data_base64, "AAAABBBB");
    g_assert_nonnull(strstr(m.Write().c_str(),
                            "<ProtectionHeader SystemID=\"9a04f079-9840-4286-ab92-e65be0885f95\">AAAABBBB<"));
  }
  ExpectError("<SmoothStreamingMedia Duration=\"0\"><Protection><ProtectionHeader SystemID=\"{123}\">A"
              "</ProtectionHeader></Protection></SmoothStreamingMedia>",
              "Protection/ProtectionHeader[0]@SystemID: not a UUID \"{123}\"");
}

void TestLegacyAttributes() {
  // v1 Width/Height and a WAVEFORMATEX carrying the AAC config.
  std::string xml =
      "<SmoothStreamingMedia MajorVersion=\"1\" MinorVersion=\"0\" Duration=\"30\">"
      "<StreamIndex Type=\"video\" Chunks=\"1\">"
      "<QualityLevel Bitrate=\"500000\" FourCC=\"WVC1\" Width=\"640\" Height=\"480\""
      " CodecPrivateData=\"250000010F\"/><c n=\"0\" d=\"30\"/></StreamIndex>"
      "<StreamIndex Type=\"audio\" Chunks=\"1\">"
      "<QualityLevel Bitrate=\"64000\" FourCC=\"AACL\""
      " WaveFormatEx=\"FF00020044AC0000803E00000400100002001210\"/><c n=\"0\" d=\"30\"/>"
      "</StreamIndex></SmoothStreamingMedia>";
  ClientManifest m = MustParse(xml);
  g_assert_cmpuint(m.major_version, ==, 1);
  const QualityLevel& v = m.streams[0].quality_levels[0];
  g_assert_cmpuint(v.index, ==, 0);  // Index absent: position
  g_assert_cmpuint(*v.max_width, ==, 640);
  g_assert_cmpuint(*v.max_height, ==, 480);
  g_assert_cmpuint(v.unknown_attributes.size(), ==, 0);
  const QualityLevel& a = m.streams[1].quality_levels[0];
  g_assert_cmpuint(*a.audio_tag, ==, 255);
  g_assert_cmpuint(*a.channels, ==, 2);
  g_assert_cmpuint(*a.sampling_rate, ==, 44100);
  g_assert_cmpuint(*a.packet_size, ==, 4);
  g_assert_cmpuint(*a.bits_per_sample, ==, 16);
  EXPECT_STR(a.codec_private_data, "1210");
  std::string w = m.Write();
  g_assert_nonnull(strstr(w.c_str(), "MaxWidth=\"640\" MaxHeight=\"480\""));
  g_assert_null(strstr(w.c_str(), "WaveFormatEx"));
  ExpectDeterministic(m);
  ExpectError("<SmoothStreamingMedia Duration=\"0\"><StreamIndex Type=\"audio\"><QualityLevel Bitrate=\"1\""
              " WaveFormatEx=\"FF00\"/></StreamIndex></SmoothStreamingMedia>",
              "StreamIndex[0]/QualityLevel[0]@WaveFormatEx: truncated");
}

void TestEmptyAacCodecPrivateData() {
  std::string xml =
      "<SmoothStreamingMedia MajorVersion=\"2\" MinorVersion=\"0\" Duration=\"0\">"
      "<StreamIndex Type=\"audio\"><QualityLevel Index=\"0\" Bitrate=\"96000\" FourCC=\"AACL\""
      " SamplingRate=\"44100\" Channels=\"2\" CodecPrivateData=\"\"/>"
      "<QualityLevel Index=\"1\" Bitrate=\"96000\" FourCC=\"AACL\"/>"
      "</StreamIndex></SmoothStreamingMedia>";
  ClientManifest m = MustParse(xml);
  AudioSpecificConfig asc;
  g_assert_true(m.streams[0].quality_levels[0].GetAudioSpecificConfig(&asc).ok());
  EXPECT_STR(HexEncode(asc.Serialize()), "1210");
  Status s = m.streams[0].quality_levels[1].GetAudioSpecificConfig(&asc);
  g_assert_false(s.ok());
  g_assert_nonnull(strstr(s.message().c_str(), "QualityLevel[1]"));
}

void TestNumberedChunks() {
  // v1 style: n and d only, first t defaults to 0.
  ClientManifest m = MustParse(Wrap("<c n=\"0\" d=\"10\"/><c n=\"1\" d=\"10\"/><c n=\"2\" d=\"15\"/>"));
  const StreamIndex& s = m.streams[0];
  ExpectFragments(s, {{0, 10}, {10, 10}, {20, 15}});
  g_assert_cmpuint(s.chunks.size(), ==, 2);
  g_assert_cmpuint(s.chunks[0].repeat, ==, 2);
  g_assert_cmpuint(*s.chunks[0].n, ==, 0);
  g_assert_cmpuint(*s.chunks[1].n, ==, 2);
  // Non-consecutive numbers are kept apart.
  m = MustParse(Wrap("<c n=\"0\" d=\"10\"/><c n=\"5\" d=\"10\"/>"));
  g_assert_cmpuint(m.streams[0].chunks.size(), ==, 2);
  ExpectDeterministic(m);
}

void TestImplicitTimes() {
  // Start-time coding: d derived from the next t; last has d.
  ClientManifest m = MustParse(Wrap("<c t=\"100\"/><c t=\"130\"/><c t=\"150\" d=\"25\"/>"));
  ExpectFragments(m.streams[0], {{100, 30}, {130, 20}, {150, 25}});
  // An element with neither t nor d, resolvable from its neighbours.
  m = MustParse(Wrap("<c t=\"0\" d=\"10\"/><c/><c t=\"30\" d=\"5\"/>"));
  ExpectFragments(m.streams[0], {{0, 10}, {10, 20}, {30, 5}});
  // A gap keeps an explicit t in the output.
  m = MustParse(Wrap("<c t=\"0\" d=\"10\"/><c t=\"50\" d=\"10\"/>"));
  ExpectFragments(m.streams[0], {{0, 10}, {50, 10}});
  g_assert_nonnull(strstr(m.Write().c_str(), "<c t=\"0\" d=\"10\"/>\n    <c t=\"50\" d=\"10\"/>"));
  ExpectDeterministic(m);
}

void TestRepeat() {
  ClientManifest m = MustParse(Wrap("<c t=\"100\" d=\"10\" r=\"4\"/><c d=\"7\"/>"));
  const StreamIndex& s = m.streams[0];
  ExpectFragments(s, {{100, 10}, {110, 10}, {120, 10}, {130, 10}, {140, 7}});
  FragmentInfo f;
  g_assert_true(s.GetFragment(3, &f));
  g_assert_cmpuint(f.t, ==, 130);
  g_assert_true(s.FindFragment(140, &f));
  g_assert_cmpuint(f.index, ==, 4);
  g_assert_false(s.FindFragment(115, &f));
  g_assert_false(s.FindFragment(99, &f));
  g_assert_false(s.GetFragment(5, &f));
  // r=1 is the same as no r.
  m = MustParse(Wrap("<c t=\"0\" d=\"10\" r=\"1\"/>"));
  g_assert_cmpuint(m.streams[0].FragmentCount(), ==, 1);
  // Writing expands r unless asked to keep it; MinorVersion follows.
  m = MustParse("<SmoothStreamingMedia MajorVersion=\"2\" MinorVersion=\"0\" Duration=\"0\">"
                "<StreamIndex Type=\"video\"><QualityLevel Bitrate=\"1\"/>"
                "<c t=\"0\" d=\"10\"/><c d=\"10\"/><c d=\"10\"/></StreamIndex></SmoothStreamingMedia>");
  std::string plain = m.Write();
  g_assert_nonnull(strstr(plain.c_str(), "MinorVersion=\"0\""));
  g_assert_nonnull(strstr(plain.c_str(), "<c t=\"0\" d=\"10\"/>\n    <c d=\"10\"/>\n    <c d=\"10\"/>\n"));
  ClientManifestWriteOptions o;
  o.use_repeat = true;
  std::string compact = m.Write(o);
  g_assert_nonnull(strstr(compact.c_str(), "MinorVersion=\"2\""));
  g_assert_nonnull(strstr(compact.c_str(), "<c t=\"0\" d=\"10\" r=\"3\"/>\n  </StreamIndex>"));
}

void TestHostileRepeat() {
  // Four billion fragments stay one entry; lookups are arithmetic.
  const uint64_t t0 = 17472959488675333ull;
  ClientManifest m = MustParse(Wrap("<c t=\"17472959488675333\" d=\"20000000\" r=\"4000000000\"/>"));
  const StreamIndex& s = m.streams[0];
  g_assert_cmpuint(s.chunks.size(), ==, 1);
  g_assert_cmpuint(s.FragmentCount(), ==, 4000000000ull);
  FragmentInfo f;
  g_assert_true(s.GetFragment(3999999999ull, &f));
  g_assert_cmpuint(f.t, ==, t0 + 3999999999ull * 20000000ull);
  g_assert_true(s.FindFragment(t0 + 123456789ull * 20000000ull, &f));
  g_assert_cmpuint(f.index, ==, 123456789ull);
  ClientManifestWriteOptions o;
  o.use_repeat = true;
  std::string w = m.Write(o);
  g_assert_nonnull(strstr(w.c_str(), "Chunks=\"4000000000\""));
  g_assert_nonnull(strstr(w.c_str(), "r=\"4000000000\""));
  // Early stop of the walk.
  uint64_t seen = 0;
  g_assert_false(s.ForEachFragment([&seen](uint64_t, uint64_t) { return ++seen < 5; }));
  g_assert_cmpuint(seen, ==, 5);

  ExpectError(Wrap("<c t=\"0\" d=\"2\" r=\"18446744073709551615\"/>"), "overflows 64 bits");
  ExpectError(Wrap("<c t=\"18446744073709551615\" d=\"1\"/>"), "overflows 64 bits");
  ExpectError(Wrap("<c t=\"5\" d=\"0\" r=\"9223372036854775808\"/><c d=\"0\" r=\"9223372036854775808\"/>"),
              "fragment count overflows");
}

void TestTimesAbove2Pow53() {
  // Consecutive ticks above 2^53 differ by one; a double cannot tell them apart.
  ClientManifest m = MustParse(Wrap("<c t=\"9007199254740993\" d=\"1\"/><c d=\"1\"/><c d=\"18446744073709551\"/>"));
  ExpectFragments(m.streams[0], {{9007199254740993ull, 1}, {9007199254740994ull, 1},
                                 {9007199254740995ull, 18446744073709551ull}});
  g_assert_nonnull(strstr(m.Write().c_str(), "<c t=\"9007199254740993\" d=\"1\"/>"));
  ExpectDeterministic(m);
}

// --- reject cases --------------------------------------------------------------

void TestTimelineRejects() {
  ExpectError(Wrap("<c t=\"0\" d=\"10\"/><c t=\"20\"/>"), "StreamIndex[0]/c[1]: the last c has no d");
  ExpectError(Wrap("<c/>"), "StreamIndex[0]/c[0]: the last c has no d");
  ExpectError(Wrap("<c t=\"0\" d=\"10\"/><c/><c d=\"5\"/>"),
              "StreamIndex[0]/c[1]: no d, and the next c has no t");
  ExpectError(Wrap("<c t=\"100\" d=\"10\"/><c t=\"50\" d=\"10\"/>"), "StreamIndex[0]/c[1]: t decreases (50 < 100)");
  ExpectError(Wrap("<c t=\"100\"/><c t=\"50\" d=\"10\"/>"), "StreamIndex[0]/c[1]: t decreases");
  ExpectError(Wrap("<c t=\"0\" d=\"10\" r=\"3\"/><c t=\"15\" d=\"10\"/>"), "t decreases (15 < 20)");
  ExpectError(Wrap("<c t=\"0\" d=\"10\" r=\"0\"/>"), "StreamIndex[0]/c[0]@r: must be at least 1");
  ExpectError(Wrap("<c t=\"0\" r=\"2\"/><c t=\"20\" d=\"10\"/>"), "r without d");
  ExpectError(Wrap("<c t=\"-5\" d=\"10\"/>"), "StreamIndex[0]/c[0]@t: not an unsigned integer \"-5\"");
  ExpectError(Wrap("<c t=\"0\" d=\"1.5\"/>"), "@d: not an unsigned integer \"1.5\"");
  ExpectError(Wrap("<c t=\"0\" d=\"10\" r=\"2\"><f i=\"0\">AA==</f></c>"), "ambiguous");
}

void TestAttributeRejects() {
  std::string two_streams =
      "<SmoothStreamingMedia MajorVersion=\"2\" MinorVersion=\"0\" Duration=\"0\">"
      "<StreamIndex Type=\"video\"><QualityLevel Index=\"0\" Bitrate=\"1\"/></StreamIndex>"
      "<StreamIndex Type=\"audio\"><QualityLevel Index=\"0\" Bitrate=\"BITRATE\"/></StreamIndex>"
      "</SmoothStreamingMedia>";
  auto with = [&two_streams](const char* value) {
    std::string s = two_streams;
    s.replace(s.find("BITRATE"), 7, value);
    return s;
  };
  ExpectError(with("abc"), "StreamIndex[1]/QualityLevel[0]@Bitrate: not an unsigned integer \"abc\"");
  ExpectError(with("-1"), "StreamIndex[1]/QualityLevel[0]@Bitrate: not an unsigned integer \"-1\"");
  ExpectError(with("4294967296"), "StreamIndex[1]/QualityLevel[0]@Bitrate: out of range \"4294967296\"");
  ExpectError(with("12kbps"), "not an unsigned integer \"12kbps\"");
  ExpectError(with(""), "not an unsigned integer \"\"");
  ExpectError(with("+5"), "not an unsigned integer \"+5\"");
  ClientManifest ok = MustParse(with(" 4294967295 "));
  g_assert_cmpuint(ok.streams[1].quality_levels[0].bitrate, ==, 4294967295u);

  ExpectError("<SmoothStreamingMedia Duration=\"18446744073709551616\"/>",
              "SmoothStreamingMedia@Duration: out of range");
  ExpectError("<SmoothStreamingMedia Duration=\"0\" IsLive=\"yes\"/>",
              "SmoothStreamingMedia@IsLive: not a boolean \"yes\"");
  ExpectError("<SmoothStreamingMedia Duration=\"0\" TimeScale=\"0\"/>", "SmoothStreamingMedia@TimeScale: must not be 0");
  ExpectError("<SmoothStreamingMedia MajorVersion=\"3\" Duration=\"0\"/>", "MajorVersion: unsupported");
  ExpectError("<SmoothStreamingMedia Duration=\"0\"><StreamIndex Name=\"x\"/></SmoothStreamingMedia>",
              "StreamIndex[0]@Type: missing");
  ExpectError("<SmoothStreamingMedia Duration=\"0\"><StreamIndex Type=\"video\"><QualityLevel Index=\"0\"/>"
              "</StreamIndex></SmoothStreamingMedia>",
              "StreamIndex[0]/QualityLevel[0]@Bitrate: missing");
  ExpectError("<SmoothStreamingMedia Duration=\"0\"><StreamIndex Type=\"video\" TimeScale=\"0\"/>"
              "</SmoothStreamingMedia>",
              "StreamIndex[0]@TimeScale: must not be 0");
  ExpectError("<SmoothStreamingMedia Duration=\"0\"><StreamIndex Type=\"video\" ManifestOutput=\"1\"/>"
              "</SmoothStreamingMedia>",
              "StreamIndex[0]@ManifestOutput: not a boolean");
  // Case-insensitive booleans.
  ClientManifest m = MustParse("<SmoothStreamingMedia Duration=\"0\" IsLive=\"True\" CanSeek=\"fAlSe\"/>");
  g_assert_true(m.is_live);
  g_assert_false(*m.can_seek);
}

void TestMalformedXml() {
  ExpectError("", "XML: ");
  ExpectError("   ", "XML: ");
  ExpectError("<SmoothStreamingMedia", "XML: ");
  ExpectError("<SmoothStreamingMedia Duration=\"0\"><StreamIndex></SmoothStreamingMedia>", "XML: ");
  ExpectError("<SmoothStreamingMedia Duration=\"0\" Duration=\"1\"/>", "XML: ");
  ExpectError("<SmoothStreamingMedia Duration=\"0\">&bogus;</SmoothStreamingMedia>", "XML: ");
  ExpectError("<SmoothStreamingMedia Duration=\"0\">" + std::string("\xff\xfe\0", 3) + "</SmoothStreamingMedia>",
              "XML: ");
  ExpectError("<html><body>404</body></html>", "root element is <html>, expected <SmoothStreamingMedia>");
  ExpectError("<SmoothStreamingMedia Duration=\"0\"/><SmoothStreamingMedia Duration=\"0\"/>", "XML: ");
  std::string deep;
  for (int i = 0; i < 100; i++) deep += "<a>";
  for (int i = 0; i < 100; i++) deep += "</a>";
  ExpectError("<SmoothStreamingMedia Duration=\"0\">" + deep + "</SmoothStreamingMedia>", "nested deeper");
  // Random garbage never crashes.
  GRand* rand = g_rand_new_with_seed(1234);
  std::string fixture = ReadFixture("iis_live.ismc");
  for (int i = 0; i < 500; i++) {
    std::string mutated = fixture;
    for (int k = 0; k < 4; k++) {
      size_t pos = static_cast<size_t>(g_rand_int_range(rand, 0, static_cast<gint32>(mutated.size())));
      mutated[pos] = static_cast<char>(g_rand_int_range(rand, 0, 256));
    }
    mutated.resize(static_cast<size_t>(g_rand_int_range(rand, 1, static_cast<gint32>(mutated.size()) + 1)));
    ClientManifest m;
    if (ClientManifest::Parse(mutated, &m).ok()) {
      std::string w = m.Write();
      ClientManifest again;
      g_assert_true(ClientManifest::Parse(w, &again).ok());
      EXPECT_STR(again.Write(), w.c_str());
    }
  }
  g_rand_free(rand);
}

// --- writer -----------------------------------------------------------------

void TestWriteFromScratch() {
  ClientManifest m;
  m.duration = 40000000;
  StreamIndex v;
  v.type = "video";
  v.url = "QualityLevels({bitrate})/Fragments(video={start time})";
  v.max_width = 320;
  v.max_height = 180;
  QualityLevel q;
  q.bitrate = 300000;
  q.fourcc = "H264";
  q.max_width = 320;
  q.max_height = 180;
  q.codec_private_data = "00000001674D401FAB0000000168EE3C80";
  v.quality_levels.push_back(q);
  g_assert_true(v.AppendFragment(0, 20000000).ok());
  g_assert_true(v.AppendFragment(20000000, 20000000).ok());
  g_assert_false(v.AppendFragment(10000000, 20000000).ok());
  g_assert_cmpuint(v.chunks.size(), ==, 1);
  m.streams.push_back(v);
  StreamIndex a;
  a.type = "audio";
  a.name = "audio & \"commentary\"";
  a.url = "QualityLevels({bitrate})/Fragments(audio={start time})";
  QualityLevel aq;
  aq.bitrate = 128000;
  aq.fourcc = "AACL";
  aq.codec_private_data = "1190";
  aq.sampling_rate = 48000;
  aq.channels = 2;
  aq.bits_per_sample = 16;
  aq.packet_size = 4;
  aq.audio_tag = 255;
  aq.unknown_attributes.push_back({"Vendor", "a<b>\tc\n"});
  a.quality_levels.push_back(aq);
  g_assert_true(a.AppendFragment(0, 20053333).ok());
  g_assert_true(a.AppendFragment(20053333, 19946667).ok());
  m.streams.push_back(a);
  m.protection.push_back({kPlayReadySystemId, "AAAA"});

  const char* expected =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<SmoothStreamingMedia MajorVersion=\"2\" MinorVersion=\"0\" TimeScale=\"10000000\" Duration=\"40000000\">\n"
      "  <Protection>\n"
      "    <ProtectionHeader SystemID=\"9a04f079-9840-4286-ab92-e65be0885f95\">AAAA</ProtectionHeader>\n"
      "  </Protection>\n"
      "  <StreamIndex Type=\"video\" Chunks=\"2\" QualityLevels=\"1\" Url=\"QualityLevels({bitrate})/Fragments(video={start time})\" MaxWidth=\"320\" MaxHeight=\"180\">\n"
      "    <QualityLevel Index=\"0\" Bitrate=\"300000\" FourCC=\"H264\" MaxWidth=\"320\" MaxHeight=\"180\" CodecPrivateData=\"00000001674D401FAB0000000168EE3C80\"/>\n"
      "    <c t=\"0\" d=\"20000000\"/>\n"
      "    <c d=\"20000000\"/>\n"
      "  </StreamIndex>\n"
      "  <StreamIndex Type=\"audio\" Name=\"audio &amp; &quot;commentary&quot;\" Chunks=\"2\" QualityLevels=\"1\" Url=\"QualityLevels({bitrate})/Fragments(audio={start time})\">\n"
      "    <QualityLevel Index=\"0\" Bitrate=\"128000\" FourCC=\"AACL\" CodecPrivateData=\"1190\" SamplingRate=\"48000\" Channels=\"2\" BitsPerSample=\"16\" PacketSize=\"4\" AudioTag=\"255\" Vendor=\"a&lt;b&gt;&#9;c&#10;\"/>\n"
      "    <c t=\"0\" d=\"20053333\"/>\n"
      "    <c d=\"19946667\"/>\n"
      "  </StreamIndex>\n"
      "</SmoothStreamingMedia>\n";
  std::string w = m.Write();
  EXPECT_STR(w, expected);
  ClientManifest back = MustParse(w);
  EXPECT_STR(back.streams[1].name, "audio & \"commentary\"");
  EXPECT_STR(back.streams[1].quality_levels[0].unknown_attributes[0].second, "a<b>\tc\n");
  ExpectDeterministic(m);
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/client_manifest/fixture/ffmpeg", TestFfmpegFixture);
  g_test_add_func("/client_manifest/fixture/iis-live", TestIisFixture);
  g_test_add_func("/client_manifest/encodings", TestEncodings);
  g_test_add_func("/client_manifest/lenient/lookahead-names", TestLookaheadNames);
  g_test_add_func("/client_manifest/lenient/system-id", TestSystemIdForms);
  g_test_add_func("/client_manifest/lenient/legacy-attributes", TestLegacyAttributes);
  g_test_add_func("/client_manifest/lenient/empty-aac-cpd", TestEmptyAacCodecPrivateData);
  g_test_add_func("/client_manifest/timeline/numbered", TestNumberedChunks);
  g_test_add_func("/client_manifest/timeline/implicit", TestImplicitTimes);
  g_test_add_func("/client_manifest/timeline/repeat", TestRepeat);
  g_test_add_func("/client_manifest/timeline/hostile-repeat", TestHostileRepeat);
  g_test_add_func("/client_manifest/timeline/above-2-pow-53", TestTimesAbove2Pow53);
  g_test_add_func("/client_manifest/reject/timeline", TestTimelineRejects);
  g_test_add_func("/client_manifest/reject/attributes", TestAttributeRejects);
  g_test_add_func("/client_manifest/reject/malformed-xml", TestMalformedXml);
  g_test_add_func("/client_manifest/write/from-scratch", TestWriteFromScratch);
  return g_test_run();
}
