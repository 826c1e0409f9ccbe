// MediaIndex (bounded-read index of a media file) and Asset (.ism + media):
// fragment ranges, tfra cross-checks, truncated tails, origin lookups.
#include <glib.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "asset.h"
#include "fragment.h"
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

// A 2-track (video ids 1, 2) file with `n` 2 s fragments each, and an mfra;
// track 2's times move by `start2` ticks (negative: two's complement, as
// FFmpeg writes AAC priming).
std::vector<uint8_t> MakeFile(int n, bool with_mfra = true, int64_t start2 = 0) {
  InitSegment init = BuildInitSegment({Video(1), Video(2)}, 10000000, 0);
  std::vector<uint8_t> out = init.bytes;
  MovieFragmentRandomAccessBox mfra;
  mfra.tfras.resize(2);
  uint32_t seq = 0;
  for (int k = 0; k < n; k++)
    for (uint32_t id = 1; id <= 2; id++) {
      std::vector<FragmentSample> s(50);
      for (size_t i = 0; i < s.size(); i++) {
        s[i].duration = 400000;
        s[i].size = 100 * id;
        s[i].sync = i == 0;
      }
      FragmentParams p;
      p.sequence_number = ++seq;
      p.track_id = id;
      p.decode_time = k * 20000000ull + (id == 2 ? static_cast<uint64_t>(start2) : 0);
      mfra.tfras[id - 1].track_id = id;
      mfra.tfras[id - 1].entries.push_back({p.decode_time, out.size(), 1, 1, 1});
      FragmentHeader h = FragmentWriter::Build(p, s);
      out.insert(out.end(), h.bytes.begin(), h.bytes.end());
      out.insert(out.end(), h.payload_size, 0xab);
    }
  if (with_mfra) {
    std::vector<uint8_t> m = mfra.SerializeWithMfro();
    out.insert(out.end(), m.begin(), m.end());
  }
  return out;
}

MediaIndex Index(const std::string& path) {
  std::unique_ptr<FileByteSource> src;
  Status s = FileByteSource::Open(path, &src);
  g_assert_true(s.ok());
  MediaIndex index;
  s = MediaIndex::Build(*src, &index);
  if (!s) g_error("%s", s.message().c_str());
  return index;
}

}  // namespace

static void test_index_ranges() {
  TempDir dir("media-index-XXXXXX");
  std::string path = dir.Write("a.ismv", MakeFile(3));
  MediaIndex index = Index(path);
  for (auto& p : index.problems) g_printerr("problem: %s\n", p.c_str());
  g_assert_cmpuint(index.problems.size(), ==, 0);
  g_assert_cmpuint(index.tracks.size(), ==, 2);
  const IndexedTrack* t2 = index.FindTrack(2);
  g_assert_nonnull(t2);
  g_assert_true(t2->supported);
  EXPECT_STR(t2->manifest_fourcc, "H264");
  g_assert_cmpuint(t2->fragments.size(), ==, 3);
  const IndexedFragment& f = t2->fragments[1];
  g_assert_cmpuint(f.time, ==, 20000000);
  g_assert_cmpuint(f.duration, ==, 20000000);
  g_assert_cmpuint(f.sample_count, ==, 50);
  g_assert_cmpuint(f.payload_bytes, ==, 50 * 200);
  g_assert_cmpuint(f.end_offset - f.moof_offset, ==, f.moof_size + 8 + 50 * 200);
  g_assert_true(f.starts_with_sync);
  g_assert_cmpint(t2->FindFragment(40000000), ==, 2);
  g_assert_cmpint(t2->FindFragment(40000001), ==, -1);
  g_assert_cmpint(t2->FindFragmentAtOrBefore(39999999), ==, 1);
  g_assert_cmpint(t2->FindFragmentAtOrBefore(0), ==, 0);
}

// A source that counts its reads, for the read-ahead decorator.
class CountingSource : public MemorySource {
 public:
  using MemorySource::MemorySource;
  Status Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) override {
    reads++;
    return MemorySource::Read(offset, size, out);
  }
  int reads = 0;
};

static void test_read_ahead() {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); i++) data[i] = static_cast<uint8_t>(i * 7);
  CountingSource base(data);
  ReadAheadByteSource ra(base, 256);
  std::vector<uint8_t> out;
  auto expect = [&](uint64_t off, size_t n) {
    Status s = ra.Read(off, n, &out);
    g_assert_true(s.ok());
    g_assert_cmpuint(out.size(), ==, n);
    g_assert_true(std::equal(out.begin(), out.end(), data.begin() + off));
  };
  expect(0, 8);     // fills [0, 256)
  expect(8, 100);   // inside
  expect(200, 56);  // ends exactly at the window's end
  g_assert_cmpint(base.reads, ==, 1);
  expect(250, 10);  // crosses the end: a new window at 250
  g_assert_cmpint(base.reads, ==, 2);
  expect(100, 8);   // before the window: re-read
  g_assert_cmpint(base.reads, ==, 3);
  expect(0, 600);   // as large as a window or larger: straight through
  g_assert_cmpint(base.reads, ==, 4);
  expect(990, 10);  // the window is clipped at the end of the data
  g_assert_cmpint(base.reads, ==, 5);
  // Past the end: the base's error, and nothing served from the window.
  g_assert_false(ra.Read(995, 10, &out).ok());
  g_assert_false(ra.Read(1001, 1, &out).ok());
  expect(0, 0);
}

// The index of a file with small fragments needs far fewer reads than boxes.
static void test_index_read_count() {
  std::vector<uint8_t> file = MakeFile(40);
  CountingSource base(file);
  MediaIndex index;
  g_assert_true(MediaIndex::Build(base, &index).ok());
  g_assert_cmpuint(index.problems.size(), ==, 0);
  g_assert_cmpuint(index.FindTrack(1)->fragments.size(), ==, 40);
  // 80 moofs, 80 mdats and the init/mfra boxes: 3 reads per fragment
  // without read-ahead; the whole file is 80 fragments of about 11 KB.
  g_assert_cmpint(base.reads, <, 40);
}

static void test_index_problems() {
  TempDir dir("media-index-XXXXXX");
  std::vector<uint8_t> data = MakeFile(2);
  // Point the last tfra entry of track 2 one byte off: tfra v1 entry is
  // time(8) offset(8) + 3 one-byte numbers; mfro (16 bytes) follows.
  size_t at = data.size() - 16 - 3 - 8 + 7;
  data[at] ^= 1;
  MediaIndex index = Index(dir.Write("b.ismv", data));
  bool found = false;
  for (auto& p : index.problems) found |= p.find("points at offset") != std::string::npos;
  g_assert_true(found);

  // A truncated tail: the index stops before it, with a problem.
  std::vector<uint8_t> cut = MakeFile(2, false);
  cut.resize(cut.size() - 100);
  MediaIndex partial = Index(dir.Write("c.ismv", cut));
  g_assert_cmpuint(partial.problems.size(), >=, 1);
  g_assert_true(partial.problems[0].find("index stops here") != std::string::npos);
  g_assert_cmpuint(partial.FindTrack(1)->fragments.size(), ==, 2);
  // The cut fragment keeps the samples wholly in the file (what is there
  // plays): 100 bytes of 200-byte samples cut means one sample is lost.
  const IndexedTrack* t2 = partial.FindTrack(2);
  g_assert_cmpuint(t2->fragments.size(), ==, 2);
  g_assert_true(t2->fragments[1].truncated);
  g_assert_true(t2->fragments[1].NeedsRewrite());
  g_assert_cmpuint(t2->fragments[1].sample_count, ==, 49);
  g_assert_cmpuint(t2->fragments[1].duration, ==, 49 * 400000ull);
  g_assert_true(partial.problems[0].find("1 sample(s) missing") != std::string::npos);
  {
    std::unique_ptr<FileByteSource> src;
    g_assert_true(FileByteSource::Open(dir.path + "/c.ismv", &src).ok());
    TrackFragmentSamples f;
    g_assert_true(ReadIndexedFragment(*src, &*partial.moov, t2->fragments[1], 2, &f).ok());
    g_assert_cmpuint(f.samples.size(), ==, 49);
    g_assert_cmpuint(f.duration, ==, 49 * 400000ull);
  }

  // No moov at all.
  std::string junk = dir.Write("d.ismv", {0, 0, 0, 16, 'f', 'r', 'e', 'e', 0, 0, 0, 0, 0, 0, 0, 0});
  std::unique_ptr<FileByteSource> src;
  g_assert_true(FileByteSource::Open(junk, &src).ok());
  MediaIndex none;
  Status s = MediaIndex::Build(*src, &none);
  g_assert_false(s.ok());
  g_assert_true(s.message().find("no moov") != std::string::npos);
}

// Open GOPs: fragments whose keyframe is followed (in decode order) by
// pictures presented before it. One problem for the track, the count of
// affected fragments in it, and each fragment's leading_pictures.
static void test_open_gop_problem() {
  TempDir dir("media-index-XXXXXX");
  InitSegment init = BuildInitSegment({Video(1)}, 10000000, 0);
  std::vector<uint8_t> out = init.bytes;
  for (int k = 0; k < 3; k++) {
    // Decode order I B B P B B ...; the I presented 3 frames late (cto 3),
    // the first two B-frames of fragments 1 and 2 before it (open GOP), of
    // fragment 0 after it (closed: cto 3 for the B-frames too).
    std::vector<FragmentSample> s(12);
    for (size_t i = 0; i < s.size(); i++) {
      s[i].duration = 400000;
      s[i].size = 10;
      s[i].sync = i == 0;
      s[i].composition_offset = (i % 3 == 0) ? 3 * 400000 : (k == 0 ? 3 * 400000 : 0);
    }
    FragmentParams p;
    p.sequence_number = static_cast<uint32_t>(k + 1);
    p.track_id = 1;
    p.decode_time = k * 4800000ull;
    FragmentHeader h = FragmentWriter::Build(p, s);
    out.insert(out.end(), h.bytes.begin(), h.bytes.end());
    out.insert(out.end(), h.payload_size, 0xab);
  }
  MediaIndex index = Index(dir.Write("open.ismv", out));
  const IndexedTrack* t = index.FindTrack(1);
  g_assert_cmpuint(t->fragments.size(), ==, 3);
  g_assert_cmpuint(t->fragments[0].leading_pictures, ==, 0);
  g_assert_cmpuint(t->fragments[1].leading_pictures, ==, 2);
  g_assert_cmpuint(t->fragments[2].leading_pictures, ==, 2);
  size_t open = 0;
  for (auto& p : index.problems)
    if (p.find("open GOPs") != std::string::npos) {
      open++;
      g_assert_true(p.find("track 1: open GOPs: 2 of 3 fragments start with leading pictures (the first, at 0.480 s, "
                           "with 2)") == 0);
      g_assert_true(p.find("open-gop=0") != std::string::npos);
    }
  g_assert_cmpuint(open, ==, 1);

  // Closed GOPs (and no reordering at all): no such problem.
  MediaIndex closed = Index(dir.Write("closed.ismv", MakeFile(2)));
  for (auto& p : closed.problems) g_assert_true(p.find("open GOPs") == std::string::npos);
  for (auto& tr : closed.tracks)
    for (auto& f : tr.fragments) g_assert_cmpuint(f.leading_pictures, ==, 0);
}

static void test_asset_lookup_and_generated_manifest() {
  TempDir dir("media-index-XXXXXX");
  dir.Write("a.ismv", MakeFile(3));
  Presentation p;
  std::vector<std::string> problems;
  Status s = BuildManifestsForFiles({dir.path + "/a.ismv"}, dir.path + "/a.ism", "", &p, &problems);
  g_assert_true(s.ok());
  g_assert_cmpuint(p.server.tracks.size(), ==, 2);
  EXPECT_STR(p.server.tracks[0].src, "a.ismv");
  std::string ism = p.server.Write();
  dir.Write("a.ism", std::vector<uint8_t>(ism.begin(), ism.end()));

  std::unique_ptr<Asset> asset;
  s = Asset::Load(dir.path + "/a.ism", &asset);
  if (!s) g_error("%s", s.message().c_str());
  g_assert_cmpuint(asset->tracks().size(), ==, 2);
  // No .ismc named: the client manifest is generated, with the .ism bitrates.
  g_assert_cmpuint(asset->client_manifest().streams.size(), ==, 1);
  g_assert_cmpuint(asset->client_manifest().streams[0].quality_levels[1].bitrate, ==,
                   p.server.tracks[1].system_bitrate);
  const AssetTrack* t = asset->FindTrack(p.server.tracks[1].system_bitrate, "video");
  g_assert_nonnull(t);
  g_assert_cmpuint(t->track_id, ==, 2);
  FragmentRange r;
  g_assert_true(asset->FindFragment(*t, 20000000, &r));
  g_assert_cmpuint(r.size, ==, r.moof_size + 8 + 50 * 200);
  g_assert_false(asset->FindFragment(*t, 20000001, &r));
  g_assert_null(asset->FindTrack(12345, "video"));
}

// FFmpeg's AAC priming: a first fragment time of -213333 (2^64 - 213333).
// One start offset moves every track; the tfra entries (raw) still match;
// re-read samples come on the shifted timeline; a start a minute before zero
// is refused.
void test_negative_start() {
  TempDir dir("media-index-XXXXXX");
  MediaIndex index = Index(dir.Write("neg.ismv", MakeFile(3, true, -213333)));
  for (auto& p : index.problems) g_printerr("problem: %s\n", p.c_str());
  g_assert_cmpuint(index.problems.size(), ==, 0);
  g_assert_cmpuint(index.start_offset.In(10000000), ==, 213333);
  const IndexedTrack* t1 = index.FindTrack(1);
  const IndexedTrack* t2 = index.FindTrack(2);
  g_assert_cmpuint(t1->fragments[0].time, ==, 213333);
  g_assert_cmpuint(t2->fragments[0].time, ==, 0);
  g_assert_cmpuint(t2->fragments[1].time, ==, 20000000);
  g_assert_true(t1->fragments[0].retimed && t2->fragments[2].retimed);
  g_assert_cmpint(t2->FindFragment(20000000), ==, 1);
  std::unique_ptr<FileByteSource> src;
  g_assert_true(FileByteSource::Open(dir.path + "/neg.ismv", &src).ok());
  TrackFragmentSamples f;
  g_assert_true(ReadIndexedFragment(*src, &*index.moov, t2->fragments[0], 2, &f).ok());
  g_assert_cmpuint(f.decode_time, ==, 0);
  g_assert_cmpuint(f.samples[0].decode_time, ==, 0);
  g_assert_cmpuint(f.samples[1].decode_time, ==, 400000);

  // Presentation-wide: a second file without a negative start moves too.
  MediaIndex plain = Index(dir.Write("plain.ismv", MakeFile(1)));
  plain.ShiftTimeline(index.start_offset);
  g_assert_cmpuint(plain.FindTrack(1)->fragments[0].time, ==, 213333);
  g_assert_true(plain.FindTrack(1)->fragments[0].retimed);

  // Offsets in other timescales round up, so shifted times are never < 0.
  StartOffset o{1024, 48000};
  g_assert_cmpuint(o.In(90000), ==, 1920);
  g_assert_cmpuint(o.In(10000000), ==, 213334);
  g_assert_cmpuint(o.Nanoseconds(), ==, 21333334);

  std::vector<uint8_t> deep = MakeFile(1, false, -61ll * 10000000);
  std::unique_ptr<FileByteSource> dsrc;
  g_assert_true(FileByteSource::Open(dir.Write("deep.ismv", deep), &dsrc).ok());
  MediaIndex bad;
  Status s = MediaIndex::Build(*dsrc, &bad);
  g_assert_false(s.ok());
  g_assert_true(s.message().find("before zero") != std::string::npos);
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/media-index/ranges", test_index_ranges);
  g_test_add_func("/media-index/problems", test_index_problems);
  g_test_add_func("/media-index/open-gop", test_open_gop_problem);
  g_test_add_func("/media-index/negative-start", test_negative_start);
  g_test_add_func("/media-index/read-ahead", test_read_ahead);
  g_test_add_func("/media-index/read-count", test_index_read_count);
  g_test_add_func("/asset/lookup", test_asset_lookup_and_generated_manifest);
  return g_test_run();
}
