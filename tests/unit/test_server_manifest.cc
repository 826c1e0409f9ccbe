// Unit tests for the SMIL server manifest: FFmpeg's Live Server Manifest, an
// IIS-style on-demand .ism, encodings, writer output and reject cases.
#include <glib.h>

#include <cstring>
#include <string>

#include "server_manifest.h"
#include "test_util.h"

using namespace piff;


namespace {

ServerManifest MustParse(const std::string& xml) { return ::MustParse<ServerManifest>(xml); }

void ExpectError(const std::string& xml, const char* expected_substring) {
  ExpectParseError<ServerManifest>(xml, expected_substring);
}

void ExpectDeterministic(const ServerManifest& m) {
  std::string first = m.Write();
  std::string second = MustParse(first).Write();
  EXPECT_STR(first, second.c_str());
}

void TestFfmpegLiveServerManifest() {
  ServerManifest m = MustParse(ReadFixture("ffmpeg_live_server_manifest.xml"));
  g_assert_cmpuint(m.meta.size(), ==, 1);
  EXPECT_STR(m.meta[0].first, "creator");
  EXPECT_STR(m.client_manifest_relative_path(), "");
  g_assert_cmpuint(m.tracks.size(), ==, 2);

  const ServerTrack& v = m.tracks[0];
  EXPECT_STR(v.kind, "video");
  EXPECT_STR(v.src, "");  // FFmpeg omits src
  g_assert_cmpuint(v.system_bitrate, ==, 36762);
  g_assert_false(v.system_language.has_value());
  g_assert_cmpuint(v.params.size(), ==, 10);
  g_assert_cmpuint(*v.track_id(), ==, 1);
  EXPECT_STR(v.track_name(), "video_und");
  EXPECT_STR(v.FindParam("FourCC")->value, "H264");
  EXPECT_STR(v.FindParam("CodecPrivateData")->value, "0000000167F4000C919B282833F1B808800000030080000019078A14CB0000000168EBE3C44844");
  EXPECT_STR(v.params[0].valuetype, "data");

  const ServerTrack& a = m.tracks[1];
  EXPECT_STR(a.kind, "audio");
  g_assert_cmpuint(a.system_bitrate, ==, 126699);
  g_assert_cmpuint(*a.track_id(), ==, 2);
  EXPECT_STR(a.FindParam("SamplingRate")->value, "44100");
  EXPECT_STR(a.FindParam("CodecPrivateData")->value, "120856E500");
  g_assert_null(a.FindParam("MaxWidth"));

  ExpectDeterministic(m);
  std::string w = m.Write();
  g_assert_nonnull(strstr(w.c_str(), "<video systemBitrate=\"36762\">\n"
                                     "        <param name=\"systemBitrate\" value=\"36762\" valuetype=\"data\"/>\n"));
}

void TestIisOnDemand() {
  ServerManifest m = MustParse(ReadFixture("iis_vod.ism"));
  g_assert_cmpuint(m.meta.size(), ==, 3);
  EXPECT_STR(m.client_manifest_relative_path(), "bbb.ismc");
  EXPECT_STR(*m.FindMeta("title"), "Big Buck Bunny");
  g_assert_null(m.FindMeta("nothing"));
  g_assert_cmpuint(m.tracks.size(), ==, 5);
  EXPECT_STR(m.tracks[1].src, "bbb_1427.ismv");
  g_assert_cmpuint(m.tracks[1].system_bitrate, ==, 1427000);
  EXPECT_STR(m.tracks[1].params[0].valuetype, "data");  // from valueType
  EXPECT_STR(m.tracks[1].track_name(), "video");        // default name

  const ServerTrack& fr = m.tracks[3];
  EXPECT_STR(fr.kind, "audio");
  EXPECT_STR(*fr.system_language, "fr");
  g_assert_cmpuint(*fr.track_id(), ==, 1);  // "trackId" spelling
  EXPECT_STR(fr.track_name(), "audio_fra");
  EXPECT_STR(fr.FindParam("timescale")->value, "48000");

  const ServerTrack& text = m.tracks[4];
  EXPECT_STR(text.kind, "textstream");
  EXPECT_STR(text.track_name(), "textstream");

  ExpectDeterministic(m);
  std::string w = m.Write();
  g_assert_null(strstr(w.c_str(), "valueType"));
  g_assert_nonnull(strstr(w.c_str(), "<meta name=\"clientManifestRelativePath\" content=\"bbb.ismc\"/>"));

  // UTF-16 with and without BOM reads the same.
  std::string utf8 = ReadFixture("iis_vod.ism");
  for (const char* enc : {"UTF-16LE", "UTF-16BE"}) {
    gsize written = 0;
    gchar* conv = g_convert(utf8.data(), static_cast<gssize>(utf8.size()), enc, "UTF-8", nullptr,
                            &written, nullptr);
    g_assert_nonnull(conv);
    std::string raw(conv, written);
    g_free(conv);
    EXPECT_STR(MustParse(raw).Write(), w.c_str());
    std::string bom = strcmp(enc, "UTF-16LE") == 0 ? "\xFF\xFE" : "\xFE\xFF";
    EXPECT_STR(MustParse(bom + raw).Write(), w.c_str());
  }
}

void TestWriteFromScratch() {
  ServerManifest m;
  m.set_client_manifest_relative_path("movie.ismc");
  m.set_client_manifest_relative_path("film.ismc");  // replaces, does not duplicate
  ServerTrack v;
  v.kind = "video";
  v.src = "film_1500.ismv";
  v.system_bitrate = 1500000;
  v.set_track_id(2);
  ServerTrack a;
  a.kind = "audio";
  a.src = "film_1500.ismv";
  a.system_bitrate = 128000;
  a.system_language = "en";
  a.set_track_id(1);
  a.set_track_name("audio_eng");
  a.set_track_id(3);  // replaces
  a.SetParam("Note", "a&b \"q\"");
  ServerTrack t;
  t.kind = "textstream";
  t.src = "film.ismt";
  t.system_bitrate = 1000;
  m.tracks = {v, a, t};
  const char* expected =
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
      "<smil xmlns=\"http://www.w3.org/2001/SMIL20/Language\">\n"
      "  <head>\n"
      "    <meta name=\"clientManifestRelativePath\" content=\"film.ismc\"/>\n"
      "  </head>\n"
      "  <body>\n"
      "    <switch>\n"
      "      <video src=\"film_1500.ismv\" systemBitrate=\"1500000\">\n"
      "        <param name=\"trackID\" value=\"2\" valuetype=\"data\"/>\n"
      "      </video>\n"
      "      <audio src=\"film_1500.ismv\" systemBitrate=\"128000\" systemLanguage=\"en\">\n"
      "        <param name=\"trackID\" value=\"3\" valuetype=\"data\"/>\n"
      "        <param name=\"trackName\" value=\"audio_eng\" valuetype=\"data\"/>\n"
      "        <param name=\"Note\" value=\"a&amp;b &quot;q&quot;\" valuetype=\"data\"/>\n"
      "      </audio>\n"
      "      <textstream src=\"film.ismt\" systemBitrate=\"1000\"/>\n"
      "    </switch>\n"
      "  </body>\n"
      "</smil>\n";
  std::string w = m.Write();
  EXPECT_STR(w, expected);
  ServerManifest back = MustParse(w);
  EXPECT_STR(back.tracks[1].FindParam("note")->value, "a&b \"q\"");
  g_assert_cmpuint(*back.tracks[1].track_id(), ==, 3);
  ExpectDeterministic(m);

  // A Live Server Manifest has no meta at all.
  ServerManifest live;
  live.tracks = {v};
  g_assert_nonnull(strstr(live.Write().c_str(), "  <head/>\n  <body>"));
  ExpectDeterministic(live);
}

void TestRejects() {
  const std::string ns = "<smil xmlns=\"http://www.w3.org/2001/SMIL20/Language\">";
  ExpectError(ns + "<body><switch><video src=\"a\"/></switch></body></smil>",
              "switch/video[0]@systemBitrate: missing");
  ExpectError(ns + "<body><switch><video systemBitrate=\"1\"/><audio systemBitrate=\"1\"/>"
                   "<audio systemBitrate=\"x1\"/></switch></body></smil>",
              "switch/audio[1]@systemBitrate: not an unsigned integer \"x1\"");
  ExpectError(ns + "<body><switch><video systemBitrate=\"1\"><param value=\"2\"/></video></switch></body></smil>",
              "switch/video[0]/param[0]@name: missing");
  ExpectError(ns + "<head><meta content=\"x\"/></head></smil>", "head/meta[0]@name: missing");
  ExpectError("<smil xmlns=\"urn:other\"/>", "unexpected namespace");
  ExpectError("<SmoothStreamingMedia/>", "expected <smil>");
  ExpectError(ns + "<body><switch>", "XML: ");
  ExpectError("", "XML: ");
  // No xmlns at all is tolerated.
  ServerManifest m = MustParse("<smil><body><switch><audio systemBitrate=\"5\"/></switch></body></smil>");
  g_assert_cmpuint(m.tracks.size(), ==, 1);
  g_assert_false(m.tracks[0].track_id().has_value());
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/server_manifest/fixture/ffmpeg-lsm", TestFfmpegLiveServerManifest);
  g_test_add_func("/server_manifest/fixture/iis-vod", TestIisOnDemand);
  g_test_add_func("/server_manifest/write/from-scratch", TestWriteFromScratch);
  g_test_add_func("/server_manifest/reject", TestRejects);
  return g_test_run();
}
