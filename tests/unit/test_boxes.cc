// Core box layer: each box round-trips, parse errors name the box and the
// reason, unknown boxes are skipped and kept, hostile sizes and counts fail
// cleanly without large allocations.
#include <glib.h>

#include <string>
#include <vector>

#include "boxes.h"
#include "file.h"
#include "movie.h"

using namespace piff;

namespace {

template <class T>
void RoundTrip(T& box) {
  std::vector<uint8_t> a = box.Serialize();
  T back;
  Status s = back.Parse(a.data(), a.size());
  if (!s) g_error("%s: %s", box.Name().c_str(), s.message().c_str());
  g_assert_true(back.Serialize() == a);
}

std::vector<uint8_t> Be32(uint32_t v) {
  return {uint8_t(v >> 24), uint8_t(v >> 16), uint8_t(v >> 8), uint8_t(v)};
}

std::vector<uint8_t> MakeBox(const char* type, const std::vector<uint8_t>& body) {
  std::vector<uint8_t> out;
  out.reserve(body.size() + 8);
  uint32_t size = static_cast<uint32_t>(body.size() + 8);
  for (int i = 3; i >= 0; i--) out.push_back(static_cast<uint8_t>(size >> (8 * i)));
  for (int i = 0; i < 4; i++) out.push_back(static_cast<uint8_t>(type[i]));
  for (uint8_t b : body) out.push_back(b);
  return out;
}

void ExpectError(const Status& s, const char* fragment) {
  g_assert_false(s.ok());
  if (s.message().find(fragment) == std::string::npos)
    g_error("error \"%s\" does not contain \"%s\"", s.message().c_str(), fragment);
}

TrackConfig VideoTrack() {
  TrackConfig c;
  c.kind = TrackConfig::Kind::kVideo;
  c.track_id = 1;
  c.width = 640;
  c.height = 360;
  c.avcc = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e, 0x01, 0x00, 0x02, 0x68, 0xce};
  return c;
}

TrackConfig AudioTrack() {
  TrackConfig c;
  c.kind = TrackConfig::Kind::kAudio;
  c.track_id = 2;
  c.sample_rate = 44100;
  c.channels = 2;
  c.audio_specific_config = {0x12, 0x10};
  c.language = "eng";
  return c;
}

}  // namespace

static void test_every_box_round_trips() {
  FileTypeBox ftyp = MakeIsmvFileType();
  RoundTrip(ftyp);
  MovieBox moov = MakeMovie({VideoTrack(), AudioTrack()}, 10000000, 123456789);
  RoundTrip(moov);
  MovieBox back;
  std::vector<uint8_t> bytes = moov.Serialize();
  g_assert_true(back.Parse(bytes.data(), bytes.size()).ok());
  g_assert_cmpuint(back.tracks.size(), ==, 2);
  g_assert_cmpuint(back.tracks[0].mdia.minf.stbl.stsd.video.size(), ==, 1);
  g_assert_cmpuint(back.tracks[0].mdia.minf.stbl.stsd.video[0].width, ==, 640);
  g_assert_true(back.tracks[0].mdia.minf.stbl.stsd.video[0].avcc->data == VideoTrack().avcc);
  const AudioSampleEntry& mp4a = back.tracks[1].mdia.minf.stbl.stsd.audio[0];
  g_assert_cmpuint(mp4a.sample_rate >> 16, ==, 44100);
  g_assert_true(mp4a.esds->decoder_specific_info == AudioTrack().audio_specific_config);
  g_assert_cmpstr(back.tracks[1].mdia.mdhd.language.c_str(), ==, "eng");
  g_assert_cmpuint(back.mvex->mehd->fragment_duration, ==, 123456789);

  TfxdBox tfxd;
  tfxd.fragment_absolute_time = 17472959488675333ull;  // > 2^53: exact
  tfxd.fragment_duration = 20000000;
  RoundTrip(tfxd);
  std::vector<uint8_t> tb = tfxd.Serialize();
  g_assert_cmpuint(tb.size(), ==, 44);  // [MS-SSTR] 2.2.4.4, version 1
  TfxdBox t0;
  t0.version = 0;
  t0.fragment_absolute_time = 5;
  g_assert_cmpuint(t0.Serialize().size(), ==, 36);
  RoundTrip(t0);

  TfrfBox tfrf;
  tfrf.entries = {{1, 2}, {3, 4}};
  g_assert_cmpuint(tfrf.Serialize().size(), ==, 29 + 16 * 2);
  RoundTrip(tfrf);

  MovieFragmentRandomAccessBox mfra;
  mfra.tfras.emplace_back();
  mfra.tfras[0].track_id = 1;
  mfra.tfras[0].entries.push_back({0, 1234, 1, 1, 1});
  mfra.tfras[0].entries.push_back({20000000, 99999999999ull, 1, 1, 1});
  std::vector<uint8_t> mb = mfra.SerializeWithMfro();
  // mfro is last and holds the whole mfra size.
  uint32_t tail = (uint32_t(mb[mb.size() - 4]) << 24) | (mb[mb.size() - 3] << 16) | (mb[mb.size() - 2] << 8) | mb.back();
  g_assert_cmpuint(tail, ==, mb.size());
  MovieFragmentRandomAccessBox mback;
  g_assert_true(mback.Parse(mb.data(), mb.size()).ok());
  g_assert_cmpuint(mback.tfras[0].entries[1].moof_offset, ==, 99999999999ull);

  LiveServerManifestBox lsm;
  lsm.xml = "<smil/>";
  RoundTrip(lsm);
}

static void test_tfra_version0_and_lengths() {
  TrackFragmentRandomAccessBox tfra;
  tfra.version = 0;
  tfra.length_size_of_traf_num = 1;
  tfra.length_size_of_sample_num = 3;
  tfra.entries.push_back({7, 8, 513, 1, 70000});
  RoundTrip(tfra);
  std::vector<uint8_t> b = tfra.Serialize();
  TrackFragmentRandomAccessBox back;
  g_assert_true(back.Parse(b.data(), b.size()).ok());
  g_assert_cmpuint(back.entries[0].traf_number, ==, 513);
  g_assert_cmpuint(back.entries[0].sample_number, ==, 70000);
}

static void test_errors_name_the_box() {
  MovieBox moov = MakeMovie({VideoTrack()}, 10000000, 0);
  std::vector<uint8_t> b = moov.Serialize();
  // Find mdhd and cut its body short by rewriting its size field: the
  // enclosing sizes then leave garbage; instead truncate the mdhd body.
  std::string s(b.begin(), b.end());
  size_t at = s.find("mdhd") - 4;
  uint32_t old = (uint32_t(b[at]) << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3];
  std::vector<uint8_t> short_size = Be32(old - 8);
  std::copy(short_size.begin(), short_size.end(), b.begin() + at);
  MovieBox back;
  Status st = back.Parse(b.data(), b.size());
  // Either mdhd itself is truncated or the sibling that follows is garbage;
  // the message must say where.
  g_assert_false(st.ok());
  g_assert_true(st.message().find("moov/trak/mdia") == 0);

  // A box whose declared size exceeds its parent.
  std::vector<uint8_t> bad = MakeBox("moov", MakeBox("mvhd", std::vector<uint8_t>(4, 0)));
  bad[11] = 200;  // mvhd size 200 inside a 20-byte moov
  ExpectError(back.Parse(bad.data(), bad.size()), "exceeds");

  // A size smaller than the header.
  std::vector<uint8_t> tiny = {0, 0, 0, 4, 'm', 'o', 'o', 'v'};
  ExpectError(back.Parse(tiny.data(), tiny.size()), "smaller than its header");

  // Missing required child.
  std::vector<uint8_t> empty = MakeBox("moov", {});
  ExpectError(back.Parse(empty.data(), empty.size()), "missing required child box 'mvhd'");

  // Truncated full box field.
  std::vector<uint8_t> mfhd = MakeBox("mfhd", {0, 0, 0, 0, 1, 2});
  MovieFragmentHeaderBox h;
  ExpectError(h.Parse(mfhd.data(), mfhd.size()), "mfhd: truncated: need 4 bytes, 2 left");
}

static void test_unknown_boxes_skipped_and_kept() {
  MovieBox moov = MakeMovie({AudioTrack()}, 10000000, 0);
  std::vector<uint8_t> b = moov.Serialize();
  // Append an unknown 'zzzz' child and a udta to moov.
  std::vector<uint8_t> extra = MakeBox("zzzz", {1, 2, 3});
  std::vector<uint8_t> udta = MakeBox("udta", MakeBox("meta", {0, 0, 0, 0}));
  b.insert(b.end(), extra.begin(), extra.end());
  b.insert(b.end(), udta.begin(), udta.end());
  std::vector<uint8_t> size = Be32(static_cast<uint32_t>(b.size()));
  std::copy(size.begin(), size.end(), b.begin());
  MovieBox back;
  Status st = back.Parse(b.data(), b.size());
  g_assert_true(st.ok());
  g_assert_cmpuint(back.other.size(), ==, 2);
  g_assert_true(back.Serialize() == b);
}

static void test_hostile_counts() {
  // trun claiming 2^32-1 samples with per-sample sizes in a 20-byte box.
  std::vector<uint8_t> body = {0, 0, 0x02, 0x01, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0};
  std::vector<uint8_t> trun = MakeBox("trun", body);
  TrackRunBox t;
  ExpectError(t.Parse(trun.data(), trun.size()), "exceeds the box size");
  // trun without per-sample fields and a huge count.
  std::vector<uint8_t> bare = MakeBox("trun", {0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff});
  ExpectError(t.Parse(bare.data(), bare.size()), "implausible");
  // stsd entry_count disagreeing with its children.
  std::vector<uint8_t> stsd = MakeBox("stsd", {0, 0, 0, 0, 0, 0, 0, 5});
  SampleDescriptionBox sd;
  ExpectError(sd.Parse(stsd.data(), stsd.size()), "entry_count 5 but 0");
  // tfra count.
  std::vector<uint8_t> tfra = MakeBox("tfra", {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff});
  TrackFragmentRandomAccessBox tf;
  ExpectError(tf.Parse(tfra.data(), tfra.size()), "tfra entry count");
}

static void test_file_truncated_last_box() {
  std::vector<uint8_t> ftyp = MakeIsmvFileType().Serialize();
  std::vector<uint8_t> file = ftyp;
  std::vector<uint8_t> mdat = MakeBox("mdat", std::vector<uint8_t>(100, 0));
  file.insert(file.end(), mdat.begin(), mdat.begin() + 50);
  PiffFile f;
  ExpectError(PiffFile::Parse(file.data(), file.size(), &f), "top-level box at offset 24: 'mdat'");
}

static void test_uuid_helpers() {
  Uuid u;
  g_assert_true(UuidFromString("{9A04F079-9840-4286-AB92-E65BE0885F95}", &u));
  g_assert_true(u == kPlayReadySystemId);
  std::string tfxd = UuidToString(kTfxdUuid);  // g_assert_cmpstr evaluates twice: no temporaries
  g_assert_cmpstr(tfxd.c_str(), ==, "6d1d9b05-42d5-44e6-80e2-141daff757b2");
  g_assert_false(UuidFromString("9A04F079-9840", &u));
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/boxes/round-trip", test_every_box_round_trips);
  g_test_add_func("/boxes/tfra-v0-lengths", test_tfra_version0_and_lengths);
  g_test_add_func("/boxes/errors-name-the-box", test_errors_name_the_box);
  g_test_add_func("/boxes/unknown-kept", test_unknown_boxes_skipped_and_kept);
  g_test_add_func("/boxes/hostile-counts", test_hostile_counts);
  g_test_add_func("/boxes/file-truncated", test_file_truncated_last_box);
  g_test_add_func("/boxes/uuid", test_uuid_helpers);
  return g_test_run();
}
