// Unit tests of the live ingest header (live_ingest.h): the Live Server
// Manifest lists every track with the params a publishing point needs, the
// header is ftyp + LSM + moov (no mehd) and the same bytes every time, and
// the end-of-stream mfra is the empty 8-byte box.
#include <glib.h>

#include <string>
#include <vector>

#include "file.h"
#include "live_ingest.h"
#include "test_util.h"

using namespace piff;

namespace {

std::vector<LiveTrack> Tracks() {
  LiveTrack v;
  v.config.kind = TrackConfig::Kind::kVideo;
  v.config.track_id = 1;
  v.config.width = 320;
  v.config.height = 180;
  v.config.avcc = Hex("0142c01effe100086742c01ed900a04701000468ce3c80");
  v.fourcc = "H264";
  v.bitrate = 500000;
  LiveTrack a;
  a.config.kind = TrackConfig::Kind::kAudio;
  a.config.track_id = 2;
  a.config.sample_rate = 48000;
  a.config.channels = 2;
  a.config.language = "fra";
  a.config.audio_specific_config = Hex("1190");
  a.fourcc = "AACL";
  a.bitrate = 128000;
  return {v, a};
}

std::string Param(const ServerTrack& t, const char* name) {
  const ServerParam* p = t.FindParam(name);
  if (!p) g_error("no param %s", name);
  return p->value;
}

void TestManifest() {
  ServerManifest m;
  g_assert_true(MakeLiveServerManifest(Tracks(), &m).ok());
  ServerManifest back;
  g_assert_true(ServerManifest::Parse(m.Write(), &back).ok());
  g_assert_cmpuint(back.tracks.size(), ==, 2);
  const ServerTrack& v = back.tracks[0];
  EXPECT_STR(v.kind, "video");
  EXPECT_STR(v.src, "Streams");
  g_assert_cmpuint(v.system_bitrate, ==, 500000);
  g_assert_cmpuint(*v.track_id(), ==, 1);
  EXPECT_STR(v.track_name(), "video");
  EXPECT_STR(Param(v, "FourCC"), "H264");
  EXPECT_STR(Param(v, "CodecPrivateData"), "000000016742C01ED900A0470000000168CE3C80");
  EXPECT_STR(Param(v, "MaxWidth"), "320");
  EXPECT_STR(Param(v, "DisplayHeight"), "180");
  EXPECT_STR(Param(v, "timescale"), "10000000");
  const ServerTrack& a = back.tracks[1];
  EXPECT_STR(a.kind, "audio");
  EXPECT_STR(*a.system_language, "fra");
  EXPECT_STR(Param(a, "systemLanguage"), "fra");
  g_assert_cmpuint(*a.track_id(), ==, 2);
  EXPECT_STR(a.track_name(), "audio");
  EXPECT_STR(Param(a, "FourCC"), "AACL");
  EXPECT_STR(Param(a, "CodecPrivateData"), "1190");
  EXPECT_STR(Param(a, "AudioTag"), "255");
  EXPECT_STR(Param(a, "Channels"), "2");
  EXPECT_STR(Param(a, "SamplingRate"), "48000");
  EXPECT_STR(Param(a, "BitsPerSample"), "16");
  EXPECT_STR(Param(a, "PacketSize"), "4");
  // Two audio languages: distinct names, as the .ismc would use.
  std::vector<LiveTrack> t = Tracks();
  t.push_back(t[1]);
  t[2].config.track_id = 3;
  t[2].config.language = "eng";
  std::vector<std::string> names = LiveTrackNames(t);
  EXPECT_STR(names[1], "audio_fra");
  EXPECT_STR(names[2], "audio_eng");
}

void TestHeader() {
  std::vector<uint8_t> h1, h2;
  g_assert_true(BuildLiveHeader(Tracks(), 10000000, {}, &h1).ok());
  g_assert_true(BuildLiveHeader(Tracks(), 10000000, {}, &h2).ok());
  g_assert_true(h1 == h2);
  PiffFile f;
  g_assert_true(PiffFile::Parse(h1.data(), h1.size(), &f).ok());
  g_assert_cmpuint(f.layout.size(), ==, 3);
  g_assert_true(f.layout[0].kind == PiffFile::Kind::kFtyp);
  g_assert_true(f.layout[1].kind == PiffFile::Kind::kLiveServerManifest);
  g_assert_true(f.layout[2].kind == PiffFile::Kind::kMoov);
  g_assert_cmpuint(f.ftyp->major_brand, ==, MakeFourCC("isml"));
  g_assert_cmpuint(f.ftyp->minor_version, ==, 1);
  g_assert_false(f.moov->mvex->mehd.has_value());
  g_assert_cmpuint(f.moov->mvex->trex.size(), ==, 2);
  g_assert_cmpuint(f.moov->tracks[1].tkhd.track_id, ==, 2);
  ServerManifest lsm;
  g_assert_true(ServerManifest::Parse(f.live_manifest->xml, &lsm).ok());
  g_assert_cmpuint(*lsm.tracks[1].track_id(), ==, f.moov->tracks[1].tkhd.track_id);
  // A codec configuration that cannot be described is an error, not a guess.
  std::vector<LiveTrack> bad = Tracks();
  bad[0].config.avcc = {0x01};
  g_assert_false(BuildLiveHeader(bad, 10000000, {}, &h1).ok());
}

void TestEmptyMfra() {
  std::vector<uint8_t> m = EmptyMfra();
  std::vector<uint8_t> expect = {0, 0, 0, 8, 'm', 'f', 'r', 'a'};
  g_assert_true(m == expect);
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/live_ingest/manifest", TestManifest);
  g_test_add_func("/live_ingest/header", TestHeader);
  g_test_add_func("/live_ingest/empty-mfra", TestEmptyMfra);
  return g_test_run();
}
