// FragmentWriter / ReadFragment and the presentation rules (bitrates,
// grouping, alignment warnings) of the core.
#include <glib.h>
#include <cstring>

#include <string>
#include <vector>

#include "file.h"
#include "fragment.h"
#include "presentation.h"

using namespace piff;

static std::vector<FragmentSample> Gop(size_t n, bool with_cto) {
  std::vector<FragmentSample> s(n);
  for (size_t i = 0; i < n; i++) {
    s[i].duration = 400000;
    s[i].size = static_cast<uint32_t>(100 + i);
    s[i].sync = i == 0;
    s[i].composition_offset = with_cto ? (i % 3 == 1 ? 800000 : (i == 0 ? 0 : -400000)) : 0;
  }
  return s;
}

static void test_writer_layout() {
  FragmentParams p;
  p.sequence_number = 7;
  p.track_id = 3;
  p.decode_time = 20000000;
  std::vector<FragmentSample> samples = Gop(10, false);
  FragmentHeader h = FragmentWriter::Build(p, samples);
  MovieFragmentBox moof;
  g_assert_true(moof.Parse(h.bytes.data(), h.moof_size).ok());
  g_assert_cmpuint(moof.mfhd.sequence_number, ==, 7);
  const TrackFragmentBox& traf = moof.trafs[0];
  g_assert_cmpuint(traf.tfhd.flags, ==, TrackFragmentHeaderBox::kDefaultSampleFlags);
  g_assert_cmpuint(traf.tfhd.default_sample_flags, ==, kNonSyncSampleFlags);
  const TrackRunBox& trun = traf.truns[0];
  // First-sample-flags carries the keyframe, no per-sample flags, no CTO.
  g_assert_cmpuint(trun.flags, ==, 0x305);
  g_assert_cmpuint(trun.version, ==, 0);
  g_assert_cmpuint(trun.first_sample_flags, ==, kSyncSampleFlags);
  g_assert_cmpint(trun.data_offset, ==, static_cast<int>(h.moof_size + 8));
  g_assert_true(traf.tfxd.has_value());
  g_assert_cmpuint(traf.tfxd->fragment_absolute_time, ==, 20000000);
  g_assert_cmpuint(traf.tfxd->fragment_duration, ==, 4000000);
  g_assert_false(traf.tfdt.has_value());
  // The mdat header follows the moof and covers the payload.
  g_assert_cmpuint(h.bytes.size(), ==, h.moof_size + 8);
  uint64_t payload = 0;
  for (auto& s : samples) payload += s.size;
  g_assert_cmpuint(h.payload_size, ==, payload);
  g_assert_cmpuint(h.bytes[h.moof_size + 3], ==, (payload + 8) & 0xff);
  g_assert_true(std::string(h.bytes.begin() + h.moof_size + 4, h.bytes.begin() + h.moof_size + 8) == "mdat");
}

static void test_writer_signed_cto_and_audio() {
  FragmentParams p;
  FragmentHeader h = FragmentWriter::Build(p, Gop(6, true));
  MovieFragmentBox moof;
  g_assert_true(moof.Parse(h.bytes.data(), h.moof_size).ok());
  g_assert_cmpuint(moof.trafs[0].truns[0].version, ==, 1);
  g_assert_true(moof.trafs[0].truns[0].flags & TrackRunBox::kSampleCompositionOffset);
  g_assert_cmpint(moof.trafs[0].truns[0].samples[2].composition_offset, ==, -400000);

  std::vector<FragmentSample> audio(4);
  for (auto& a : audio) {
    a.duration = 213333;
    a.size = 300;
    a.sync = true;
  }
  FragmentHeader ha = FragmentWriter::Build(p, audio);
  MovieFragmentBox ma;
  g_assert_true(ma.Parse(ha.bytes.data(), ha.moof_size).ok());
  g_assert_cmpuint(ma.trafs[0].tfhd.default_sample_flags, ==, kSyncSampleFlags);
  g_assert_cmpuint(ma.trafs[0].truns[0].flags, ==, 0x301);

  // Keyframes in the middle: per-sample flags.
  std::vector<FragmentSample> mixed = Gop(6, false);
  mixed[3].sync = true;
  FragmentHeader hm = FragmentWriter::Build(p, mixed);
  MovieFragmentBox mm;
  g_assert_true(mm.Parse(hm.bytes.data(), hm.moof_size).ok());
  g_assert_true(mm.trafs[0].truns[0].flags & TrackRunBox::kSampleFlags);
}

static void test_read_fragment_offsets_and_times() {
  // Two fragments of one track written back to back; read them as a file.
  std::vector<uint8_t> file;
  std::vector<uint64_t> moof_offsets;
  for (uint32_t k = 0; k < 2; k++) {
    FragmentParams p;
    p.sequence_number = k + 1;
    p.decode_time = k * 4000000ull;
    std::vector<FragmentSample> s = Gop(10, false);
    FragmentHeader h = FragmentWriter::Build(p, s);
    moof_offsets.push_back(file.size());
    file.insert(file.end(), h.bytes.begin(), h.bytes.end());
    for (auto& x : s) file.insert(file.end(), x.size, static_cast<uint8_t>(k));
  }
  PiffFile f;
  g_assert_true(PiffFile::Parse(file.data(), file.size(), &f).ok());
  std::vector<TrackFragmentSamples> frags;
  g_assert_true(f.Fragments(&frags).ok());
  g_assert_cmpuint(frags.size(), ==, 2);
  g_assert_cmpuint(frags[1].decode_time, ==, 4000000);
  g_assert_true(frags[1].time_source == FragmentTimeSource::kTfxd);
  const ReadSample& s = frags[1].samples[3];
  g_assert_cmpuint(s.size, ==, 103);
  g_assert_cmpuint(file[s.offset], ==, 1);
  g_assert_cmpuint(s.decode_time, ==, 4000000 + 3 * 400000);
  g_assert_true(frags[1].samples[0].sync);
  g_assert_false(frags[1].samples[1].sync);
  g_assert_true(f.Write() == file);
}

static uint64_t FixedContinuation(uint32_t, void* user) { return *static_cast<uint64_t*>(user); }

static void test_read_fragment_time_precedence() {
  FragmentParams p;
  p.decode_time = 111;
  p.write_tfdt = true;
  MovieFragmentBox moof = FragmentWriter::MakeMoof(p, Gop(2, false));
  moof.trafs[0].tfdt->base_media_decode_time = 222;
  uint64_t cont = 333;
  std::vector<TrackFragmentSamples> out;
  g_assert_true(ReadFragment(moof, 0, nullptr, FixedContinuation, &cont, &out).ok());
  g_assert_cmpuint(out[0].decode_time, ==, 111);  // tfxd wins
  moof.trafs[0].tfxd.reset();
  out.clear();
  g_assert_true(ReadFragment(moof, 0, nullptr, FixedContinuation, &cont, &out).ok());
  g_assert_cmpuint(out[0].decode_time, ==, 222);  // then tfdt
  moof.trafs[0].tfdt.reset();
  out.clear();
  g_assert_true(ReadFragment(moof, 0, nullptr, FixedContinuation, &cont, &out).ok());
  g_assert_cmpuint(out[0].decode_time, ==, 333);  // then continuation
  g_assert_true(out[0].time_source == FragmentTimeSource::kContinuation);
}

static void test_read_fragment_negative_offset() {
  FragmentParams p;
  MovieFragmentBox moof = FragmentWriter::MakeMoof(p, Gop(2, false));
  moof.trafs[0].truns[0].data_offset = -100;
  std::vector<TrackFragmentSamples> out;
  Status s = ReadFragment(moof, 10, nullptr, nullptr, nullptr, &out);
  g_assert_false(s.ok());
  g_assert_true(s.message().find("data offset before file start") != std::string::npos);
}

static TrackSummary Summary(TrackConfig::Kind kind, uint32_t id, uint64_t bytes, std::vector<FragmentTime> frags) {
  TrackSummary t;
  t.config.kind = kind;
  t.config.track_id = id;
  if (kind == TrackConfig::Kind::kVideo) {
    t.config.width = 320;
    t.config.height = 180;
    t.config.avcc = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e, 0x01, 0x00, 0x02, 0x68, 0xce};
    t.fourcc = "H264";
  } else {
    t.config.sample_rate = 48000;
    t.config.channels = 2;
    t.config.audio_specific_config = {0x11, 0x90};
    t.fourcc = "AACL";
  }
  t.src = "x.ismv";
  t.payload_bytes = bytes;
  t.fragments = std::move(frags);
  return t;
}

static void test_presentation_bitrates_and_ties() {
  std::vector<FragmentTime> f = {{0, 20000000}, {20000000, 20000000}};
  // 4 s; 500000 bytes = 1 Mbit/s. Two video tracks tie.
  std::vector<TrackSummary> tracks = {Summary(TrackConfig::Kind::kVideo, 1, 500000, f),
                                      Summary(TrackConfig::Kind::kVideo, 2, 500000, f),
                                      Summary(TrackConfig::Kind::kAudio, 3, 64000, f)};
  g_assert_cmpuint(MeasuredBitrate(tracks[0]), ==, 1000000);
  Presentation p;
  g_assert_true(BuildPresentation(tracks, 10000000, "x.ismc", &p).ok());
  g_assert_cmpuint(p.bitrates[0], ==, 1000000);
  g_assert_cmpuint(p.bitrates[1], ==, 1000001);  // the later one is raised
  g_assert_cmpuint(p.bitrates[2], ==, 128000);
  g_assert_cmpuint(p.client.streams.size(), ==, 2);
  g_assert_cmpuint(p.client.streams[0].quality_levels.size(), ==, 2);
  g_assert_cmpuint(p.client.streams[0].quality_levels[1].bitrate, ==, 1000001);
  g_assert_cmpuint(p.server.tracks[1].system_bitrate, ==, 1000001);
  g_assert_cmpstr(p.client.streams[0].quality_levels[0].codec_private_data.c_str(), ==,
                  "000000016742C01E0000000168CE");
  g_assert_cmpuint(p.client.duration, ==, 40000000);
  bool warned = false;
  for (auto& w : p.warnings) warned |= w.find("raised by 1 bit/s") != std::string::npos;
  g_assert_true(warned);
}

// A rendition with another GOP (2.5 s beside 2 s) cannot answer the URLs of
// the shared timeline: it is in neither manifest, and left_out says why.
static void test_presentation_misaligned_left_out() {
  std::vector<FragmentTime> gop48 = {{0, 20000000}, {20000000, 20000000}, {40000000, 20000000}};
  std::vector<FragmentTime> gop60 = {{0, 25000000}, {25000000, 25000000}, {50000000, 10000000}};
  TrackSummary odd = Summary(TrackConfig::Kind::kVideo, 1, 2000, gop60);
  odd.src = "gop60.ismv";
  std::vector<TrackSummary> tracks = {odd, Summary(TrackConfig::Kind::kVideo, 1, 1000, gop48),
                                      Summary(TrackConfig::Kind::kVideo, 2, 3000, gop48),
                                      Summary(TrackConfig::Kind::kAudio, 3, 500, gop48)};
  Presentation p;
  g_assert_true(BuildPresentation(tracks, 10000000, "", &p).ok());
  g_assert_cmpuint(p.client.streams.size(), ==, 2);
  const StreamIndex& v = p.client.streams[0];
  // The timeline shared by most levels wins, even over the first track.
  g_assert_cmpuint(v.quality_levels.size(), ==, 2);
  g_assert_cmpuint(v.quality_levels[0].bitrate, ==, p.bitrates[1]);
  g_assert_cmpuint(v.quality_levels[1].index, ==, 1);
  g_assert_cmpuint(v.FragmentCount(), ==, 3);
  g_assert_cmpuint(p.server.tracks.size(), ==, 3);
  for (auto& st : p.server.tracks) g_assert_cmpuint(st.system_bitrate, !=, p.bitrates[0]);
  g_assert_cmpuint(p.left_out.size(), ==, 1);
  g_assert_cmpuint(p.left_out[0].track, ==, 0);
  g_assert_false(p.InManifests(0));
  g_assert_true(p.InManifests(1));
  g_assert_nonnull(strstr(p.left_out[0].message.c_str(), "gop60.ismv"));
  g_assert_nonnull(strstr(p.left_out[0].message.c_str(), "fragment 1 starts at 25000000"));
  g_assert_cmpuint(p.client.duration, ==, 60000000);
  g_assert_true(p.server.client_manifest_relative_path().empty());
}

// Same start times but one fragment fewer: the last URL would miss.
static void test_ladder_counts_and_ties() {
  std::vector<FragmentTime> a = {{0, 20000000}, {20000000, 20000000}};
  std::vector<FragmentTime> b = {{0, 20000000}, {20000000, 20000001}};  // durations do not matter
  std::vector<FragmentTime> c = {{0, 20000000}};
  LadderAlignment r = AlignLadder({&a, &b, &c});
  g_assert_cmpuint(r.reference, ==, 0);
  g_assert_true(r.aligned[0] && r.aligned[1]);
  g_assert_false(r.aligned[2]);
  g_assert_nonnull(strstr(r.reasons[2].c_str(), "1 fragments, the timeline has 2"));
  // A tie: the earliest track's timeline.
  r = AlignLadder({&c, &a});
  g_assert_cmpuint(r.reference, ==, 0);
  g_assert_false(r.aligned[1]);
  g_assert_cmpuint(AlignLadder({}).aligned.size(), ==, 0);
}

static void test_identical_streams() {
  StreamFingerprint x{{0x11, 0x90}, 100, "abc"}, y = x, z = x;
  z.digest = "abd";
  std::vector<size_t> first = FirstIdenticalStreams({x, z, y, z});
  g_assert_cmpuint(first[0], ==, 0);
  g_assert_cmpuint(first[1], ==, 1);
  g_assert_cmpuint(first[2], ==, 0);
  g_assert_cmpuint(first[3], ==, 1);
}

static void test_presentation_languages() {
  std::vector<FragmentTime> f = {{0, 20000000}};
  TrackSummary en = Summary(TrackConfig::Kind::kAudio, 1, 1000, f);
  en.config.language = "eng";
  TrackSummary fr = Summary(TrackConfig::Kind::kAudio, 2, 1000, f);
  fr.config.language = "fra";
  Presentation p;
  g_assert_true(BuildPresentation({en, fr}, 10000000, "", &p).ok());
  g_assert_cmpuint(p.client.streams.size(), ==, 2);
  g_assert_cmpstr(p.names[0].c_str(), ==, "audio_eng");
  g_assert_cmpstr(p.client.streams[1].language.c_str(), ==, "fra");
  // Different StreamIndexes may share a bitrate.
  g_assert_cmpuint(p.bitrates[0], ==, p.bitrates[1]);
  g_assert_cmpstr(p.server.tracks[1].system_language->c_str(), ==, "fra");
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/fragment/writer-layout", test_writer_layout);
  g_test_add_func("/fragment/writer-cto-audio", test_writer_signed_cto_and_audio);
  g_test_add_func("/fragment/read-offsets-times", test_read_fragment_offsets_and_times);
  g_test_add_func("/fragment/read-time-precedence", test_read_fragment_time_precedence);
  g_test_add_func("/fragment/read-negative-offset", test_read_fragment_negative_offset);
  g_test_add_func("/presentation/bitrates-ties", test_presentation_bitrates_and_ties);
  g_test_add_func("/presentation/misaligned-left-out", test_presentation_misaligned_left_out);
  g_test_add_func("/ladder/counts-and-ties", test_ladder_counts_and_ties);
  g_test_add_func("/ladder/identical-streams", test_identical_streams);
  g_test_add_func("/presentation/languages", test_presentation_languages);
  return g_test_run();
}
