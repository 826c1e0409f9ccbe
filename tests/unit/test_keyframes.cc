// KeyFrames / per-track fragment rebuilding (keyframes.h): kept samples,
// merged durations, composition offsets, payload ranges, the all-sync
// shortcut, moofs shared by two tracks, and refusals.
#include <glib.h>

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "fragment.h"
#include "keyframes.h"
#include "media_index.h"
#include "movie.h"
#include "test_util.h"

using namespace piff;

namespace {

TrackConfig Video(uint32_t id) {
  TrackConfig c;
  c.track_id = id;
  c.width = 320;
  c.height = 180;
  c.avcc = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e, 0x01, 0x00, 0x02, 0x68, 0xce};
  return c;
}

// Payload byte i of sample s: distinct per sample so ranges can be checked.
uint8_t PayloadByte(size_t sample, size_t i) { return static_cast<uint8_t>(sample * 31 + i); }

void AppendFragment(std::vector<uint8_t>* out, uint32_t track_id, uint32_t seq, uint64_t t,
                    const std::vector<FragmentSample>& samples, size_t first_sample_number) {
  FragmentParams p;
  p.sequence_number = seq;
  p.track_id = track_id;
  p.decode_time = t;
  FragmentHeader h = FragmentWriter::Build(p, samples);
  out->insert(out->end(), h.bytes.begin(), h.bytes.end());
  for (size_t s = 0; s < samples.size(); s++)
    for (size_t i = 0; i < samples[s].size; i++) out->push_back(PayloadByte(first_sample_number + s, i));
}

MediaIndex MustIndex(MemorySource& src) {
  MediaIndex index;
  Status s = MediaIndex::Build(src, &index);
  if (!s) g_error("%s", s.message().c_str());
  return index;
}

// moof + mdat bytes of a FragmentBody, resolved against `src`.
std::vector<uint8_t> Materialise(const FragmentBody& body, const MemorySource& src) {
  std::vector<uint8_t> out = body.header;
  for (const ByteRange& r : body.ranges)
    out.insert(out.end(), src.data().begin() + r.offset, src.data().begin() + r.offset + r.size);
  return out;
}

// A GOP of 6: I P B B P B with composition offsets (trun version 1).
std::vector<FragmentSample> Gop(uint32_t size_base) {
  std::vector<FragmentSample> s(6);
  const int32_t cto[] = {0, 1200000, -400000, -400000, 800000, -400000};
  for (size_t i = 0; i < s.size(); i++) {
    s[i].duration = 400000;
    s[i].size = size_base + static_cast<uint32_t>(i);
    s[i].sync = i == 0;
    s[i].composition_offset = cto[i];
  }
  return s;
}

}  // namespace

static void test_keyframes_video() {
  InitSegment init = BuildInitSegment({Video(1)}, 10000000, 0);
  std::vector<uint8_t> file = init.bytes;
  std::vector<FragmentSample> samples = Gop(10);
  std::vector<FragmentSample> two = Gop(20);
  two[3].sync = true;  // a second sync sample in the middle
  samples.insert(samples.end(), two.begin(), two.end());
  AppendFragment(&file, 1, 7, 50000000, samples, 0);
  MemorySource src(file);
  MediaIndex index = MustIndex(src);
  const IndexedFragment& f = index.FindTrack(1)->fragments[0];

  FragmentBody kf;
  Status s = BuildKeyFramesFragment(src, &*index.moov, f, 1, &kf);
  if (!s) g_error("%s", s.message().c_str());
  g_assert_cmpuint(kf.sample_count, ==, 3);
  g_assert_cmpuint(kf.decode_time, ==, 50000000);
  g_assert_cmpuint(kf.duration, ==, 12 * 400000);
  g_assert_cmpuint(kf.size(), ==, kf.header.size() + 10 + 20 + 23);

  // Read the rebuilt fragment back like any other.
  std::vector<uint8_t> bytes = Materialise(kf, src);
  MovieFragmentBox moof;
  s = moof.Parse(bytes.data(), kf.moof_size);
  if (!s) g_error("%s", s.message().c_str());
  g_assert_cmpuint(moof.mfhd.sequence_number, ==, 7);
  std::vector<TrackFragmentSamples> back;
  s = ReadFragment(moof, 0, &*index.moov, nullptr, nullptr, &back);
  g_assert_true(s.ok());
  g_assert_cmpuint(back.size(), ==, 1);
  const auto& rs = back[0].samples;
  g_assert_cmpuint(rs.size(), ==, 3);
  // Kept samples keep their decode times (durations of dropped ones merged
  // into the kept sample before them) and composition offsets.
  const uint64_t want_dts[] = {50000000, 50000000 + 6 * 400000, 50000000 + 9 * 400000};
  const int64_t want_cto[] = {0, 0, -400000};
  const uint32_t want_size[] = {10, 20, 23};
  const size_t want_sample_number[] = {0, 6, 9};
  for (size_t i = 0; i < 3; i++) {
    g_assert_true(rs[i].sync);
    g_assert_cmpuint(rs[i].decode_time, ==, want_dts[i]);
    g_assert_cmpint(rs[i].composition_offset, ==, want_cto[i]);
    g_assert_cmpuint(rs[i].size, ==, want_size[i]);
    for (size_t k = 0; k < rs[i].size; k++)
      g_assert_cmpuint(bytes[rs[i].offset + k], ==, PayloadByte(want_sample_number[i], k));
  }
  g_assert_cmpuint(back[0].duration, ==, 12 * 400000);
  g_assert_true(moof.trafs[0].tfxd.has_value());
  g_assert_cmpuint(moof.trafs[0].tfxd->fragment_absolute_time, ==, 50000000);
  g_assert_cmpuint(moof.trafs[0].tfxd->fragment_duration, ==, 12 * 400000);

  // kAll rebuilds the fragment byte for byte (one track, same writer).
  FragmentBody all;
  g_assert_true(BuildTrackFragment(src, &*index.moov, f, 1, SampleSelection::kAll, &all).ok());
  std::vector<uint8_t> whole = Materialise(all, src);
  g_assert_true(std::vector<uint8_t>(file.begin() + f.moof_offset, file.begin() + f.end_offset) == whole);
  g_assert_cmpuint(all.ranges.size(), ==, 1);  // adjacent payloads merged
}

static void test_keyframes_all_sync_and_errors() {
  InitSegment init = BuildInitSegment({Video(1)}, 10000000, 0);
  std::vector<uint8_t> file = init.bytes;
  std::vector<FragmentSample> intra(4);
  for (auto& x : intra) {
    x.duration = 1000;
    x.size = 5;
    x.sync = true;
  }
  std::vector<FragmentSample> none = intra;
  for (auto& x : none) x.sync = false;
  AppendFragment(&file, 1, 1, 0, intra, 0);
  AppendFragment(&file, 1, 2, 4000, none, 4);
  MemorySource src(file);
  MediaIndex index = MustIndex(src);
  const IndexedTrack* t = index.FindTrack(1);

  // All-sync: the fragment's own bytes, no rebuilt header.
  FragmentBody kf;
  g_assert_true(BuildKeyFramesFragment(src, &*index.moov, t->fragments[0], 1, &kf).ok());
  g_assert_cmpuint(kf.header.size(), ==, 0);
  g_assert_cmpuint(kf.ranges.size(), ==, 1);
  g_assert_cmpuint(kf.ranges[0].offset, ==, t->fragments[0].moof_offset);
  g_assert_cmpuint(kf.ranges[0].size, ==, t->fragments[0].end_offset - t->fragments[0].moof_offset);

  // No sync sample: refused, naming the reason.
  Status s = BuildKeyFramesFragment(src, &*index.moov, t->fragments[1], 1, &kf);
  g_assert_false(s.ok());
  g_assert_nonnull(strstr(s.message().c_str(), "no sync sample"));
  // A track that is not in the moof.
  s = BuildTrackFragment(src, &*index.moov, t->fragments[0], 9, SampleSelection::kAll, &kf);
  g_assert_false(s.ok());
  // A moof range that is not a moof.
  IndexedFragment bogus = t->fragments[0];
  bogus.moof_offset += 1;
  s = BuildTrackFragment(src, &*index.moov, bogus, 1, SampleSelection::kAll, &kf);
  g_assert_false(s.ok());
}

// One moof with trafs of two tracks (as some packagers write): each track's
// response holds its own samples only.
static void test_shared_moof() {
  InitSegment init = BuildInitSegment({Video(1), Video(2)}, 10000000, 0);
  std::vector<uint8_t> file = init.bytes;
  std::vector<FragmentSample> a = Gop(10), b = Gop(40);
  FragmentParams pa, pb;
  pa.sequence_number = pb.sequence_number = 3;
  pa.track_id = 1;
  pb.track_id = 2;
  MovieFragmentBox moof = FragmentWriter::MakeMoof(pa, a);
  moof.trafs.push_back(FragmentWriter::MakeMoof(pb, b).trafs[0]);
  // traf 0's data follows the moof and the mdat header; traf 1 continues
  // where traf 0's data ends (no base offset: data_offset 0).
  size_t moof_size = moof.ComputeSize();
  moof.trafs[0].truns[0].data_offset = static_cast<int32_t>(moof_size + 8);
  moof.trafs[1].truns[0].data_offset = 0;
  std::vector<uint8_t> mb = moof.Serialize();
  file.insert(file.end(), mb.begin(), mb.end());
  uint32_t payload = 0;
  for (auto& x : a) payload += x.size;
  for (auto& x : b) payload += x.size;
  uint32_t mdat_size = payload + 8;
  const uint8_t hdr[] = {static_cast<uint8_t>(mdat_size >> 24), static_cast<uint8_t>(mdat_size >> 16),
                         static_cast<uint8_t>(mdat_size >> 8), static_cast<uint8_t>(mdat_size), 'm', 'd', 'a', 't'};
  file.insert(file.end(), hdr, hdr + 8);
  for (size_t s = 0; s < a.size(); s++)
    for (size_t i = 0; i < a[s].size; i++) file.push_back(PayloadByte(s, i));
  for (size_t s = 0; s < b.size(); s++)
    for (size_t i = 0; i < b[s].size; i++) file.push_back(PayloadByte(100 + s, i));
  MemorySource src(file);
  MediaIndex index = MustIndex(src);
  const IndexedFragment& f2 = index.FindTrack(2)->fragments[0];
  g_assert_true(f2.shared_moof);

  FragmentBody body;
  Status s = BuildTrackFragment(src, &*index.moov, f2, 2, SampleSelection::kAll, &body);
  if (!s) g_error("%s", s.message().c_str());
  std::vector<uint8_t> bytes = Materialise(body, src);
  MovieFragmentBox back_moof;
  g_assert_true(back_moof.Parse(bytes.data(), body.moof_size).ok());
  g_assert_cmpuint(back_moof.trafs.size(), ==, 1);
  std::vector<TrackFragmentSamples> back;
  g_assert_true(ReadFragment(back_moof, 0, &*index.moov, nullptr, nullptr, &back).ok());
  g_assert_cmpuint(back[0].track_id, ==, 2);
  g_assert_cmpuint(back[0].samples.size(), ==, 6);
  for (size_t i = 0; i < 6; i++)
    for (size_t k = 0; k < back[0].samples[i].size; k++)
      g_assert_cmpuint(bytes[back[0].samples[i].offset + k], ==, PayloadByte(100 + i, k));

  // KeyFrames of track 2 in the shared moof: its one I frame.
  g_assert_true(BuildKeyFramesFragment(src, &*index.moov, f2, 2, &body).ok());
  g_assert_cmpuint(body.sample_count, ==, 1);
  g_assert_cmpuint(body.ranges.size(), ==, 1);
  g_assert_cmpuint(body.ranges[0].size, ==, 40);
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/keyframes/video", test_keyframes_video);
  g_test_add_func("/keyframes/all-sync-and-errors", test_keyframes_all_sync_and_errors);
  g_test_add_func("/keyframes/shared-moof", test_shared_moof);
  return g_test_run();
}
