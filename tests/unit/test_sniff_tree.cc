// Core: the Smooth Streaming sniffer (typefinder rules) and the header-only
// box tree used by `gst-smooth inspect`, on files built by the core and on
// hostile inputs.
#include <cstring>
#include <string>
#include <vector>

#include "box_tree.h"
#include "encryption.h"
#include "fragment.h"
#include "movie.h"
#include "sniff.h"
#include "test_util.h"

using namespace piff;

static std::vector<uint8_t> Ftyp(const char* major, std::vector<const char*> compat) {
  FileTypeBox f;
  f.major_brand = (uint32_t(uint8_t(major[0])) << 24) | (uint32_t(uint8_t(major[1])) << 16) |
                  (uint32_t(uint8_t(major[2])) << 8) | uint8_t(major[3]);
  for (const char* c : compat)
    f.compatible_brands.push_back((uint32_t(uint8_t(c[0])) << 24) | (uint32_t(uint8_t(c[1])) << 16) |
                                  (uint32_t(uint8_t(c[2])) << 8) | uint8_t(c[3]));
  return f.Serialize();
}

static void TestSniff() {
  auto isml = Ftyp("isml", {"piff", "iso2"});
  g_assert_true(SniffSmoothStreaming(isml.data(), isml.size()) == SniffResult::kSmoothBrand);
  auto compat = Ftyp("iso6", {"isom", "piff"});
  g_assert_true(SniffSmoothStreaming(compat.data(), compat.size()) == SniffResult::kSmoothBrand);
  auto mp4 = Ftyp("isom", {"isom", "iso2", "avc1", "mp41"});
  g_assert_true(SniffSmoothStreaming(mp4.data(), mp4.size()) == SniffResult::kNotSmooth);
  // ftyp + Live Server Manifest uuid box: live ingest whatever the brand.
  std::vector<uint8_t> live = mp4;
  uint8_t lsm_header[24] = {0, 0, 0, 40, 'u', 'u', 'i', 'd'};
  memcpy(lsm_header + 8, kLiveServerManifestUuid.data(), 16);
  live.insert(live.end(), lsm_header, lsm_header + 24);
  g_assert_true(SniffSmoothStreaming(live.data(), live.size()) == SniffResult::kLiveIngest);
  // Too little data, no ftyp, garbage sizes.
  g_assert_true(SniffSmoothStreaming(isml.data(), 7) == SniffResult::kNotSmooth);
  uint8_t moov[16] = {0, 0, 0, 16, 'm', 'o', 'o', 'v'};
  g_assert_true(SniffSmoothStreaming(moov, sizeof(moov)) == SniffResult::kNotSmooth);
  std::vector<uint8_t> huge = isml;
  huge[0] = 0x7f;  // ftyp claims 2 GB
  SniffSmoothStreaming(huge.data(), huge.size());  // must not read past the buffer (ASan/valgrind)
}

static std::vector<uint8_t> EncryptedFile() {
  TrackConfig v;
  v.track_id = 1;
  v.width = 320;
  v.height = 180;
  v.avcc = {1, 0x4d, 0, 0x1e, 0xff, 0xe0, 0};
  TrackEncryptionFields f;
  f.head = 1;
  f.iv_size = 8;
  f.kid.fill(7);
  v.sinf = MakePiffSinf(MakeFourCC("avc1"), f);
  RawBoxes extra = {MakePiffPssh(kPlayReadySystemId, {1, 2, 3, 4})};
  InitSegment init = BuildInitSegment({v}, 10000000, 0, extra);
  std::vector<uint8_t> file = init.bytes;
  SampleEncryption senc;
  senc.piff = true;
  senc.flags = kSencUseSubsamples;
  senc.iv_size = 8;
  senc.samples.push_back({std::vector<uint8_t>(8, 1), {{5, 11}}});
  FragmentParams p;
  p.senc = SerializeSampleEncryption(senc);
  FragmentHeader h = FragmentWriter::Build(p, {{400000, 16, true, 0}});
  file.insert(file.end(), h.bytes.begin(), h.bytes.end());
  file.insert(file.end(), 16, 0xaa);
  return file;
}

static const BoxNode* Find(const std::vector<BoxNode>& nodes, const std::string& path) {
  size_t slash = path.find('/');
  std::string head = path.substr(0, slash);
  for (const BoxNode& n : nodes)
    if (n.Name() == head) return slash == std::string::npos ? &n : Find(n.children, path.substr(slash + 1));
  return nullptr;
}

static void TestTreeOfEncryptedFile() {
  MemorySource src(EncryptedFile());
  std::vector<BoxNode> tree;
  std::vector<std::string> problems;
  g_assert_true(ReadBoxTree(src, {}, &tree, &problems).ok());
  g_assert_cmpuint(problems.size(), ==, 0);
  g_assert_nonnull(Find(tree, "moov/piff-pssh"));
  const BoxNode* tenc = Find(tree, "moov/trak/mdia/minf/stbl/stsd/encv/sinf/schi/piff-tenc");
  g_assert_nonnull(tenc);
  g_assert_cmpuint(tenc->size, ==, 48);
  g_assert_nonnull(Find(tree, "moov/trak/mdia/minf/stbl/stsd/encv/sinf/frma"));
  g_assert_nonnull(Find(tree, "moof/traf/piff-senc"));
  g_assert_nonnull(Find(tree, "moof/traf/tfxd"));
  const BoxNode* mdat = Find(tree, "mdat");
  g_assert_nonnull(mdat);
  g_assert_cmpuint(mdat->offset + mdat->size, ==, src.Size());
  // mehd duration patch offset still points at mehd with a pssh after mvex.
  InitSegment init = BuildInitSegment({}, 10000000, 0, {MakePiffPssh(kPlayReadySystemId, {9})});
  const uint8_t* at = init.bytes.data() + init.mehd_duration_offset - 12;
  g_assert_true(memcmp(at + 4, "mehd", 4) == 0);
}

static void TestHostileTrees() {
  std::vector<uint8_t> file = EncryptedFile();
  // A child whose size runs past its parent: the walk stops at that level
  // with a problem, the rest of the file is still listed.
  std::vector<uint8_t> bad = file;
  size_t moov = 0;
  for (size_t i = 0; i + 8 < bad.size(); i++)
    if (memcmp(&bad[i + 4], "mvhd", 4) == 0) {
      moov = i;
      break;
    }
  g_assert_cmpuint(moov, >, 0);
  bad[moov] = 0x7f;  // mvhd claims ~2 GB
  MemorySource src(bad);
  std::vector<BoxNode> tree;
  std::vector<std::string> problems;
  g_assert_true(ReadBoxTree(src, {}, &tree, &problems).ok());
  g_assert_cmpuint(problems.size(), >, 0);
  g_assert_nonnull(Find(tree, "mdat"));
  // Node budget.
  MemorySource src2(file);
  BoxTreeOptions o;
  o.max_nodes = 5;
  tree.clear();
  problems.clear();
  g_assert_true(ReadBoxTree(src2, o, &tree, &problems).ok());
  g_assert_cmpuint(problems.size(), >, 0);
  // Truncated file: the last box runs past the end.
  std::vector<uint8_t> cut(file.begin(), file.end() - 5);
  MemorySource src3(cut);
  tree.clear();
  problems.clear();
  g_assert_true(ReadBoxTree(src3, {}, &tree, &problems).ok());
  g_assert_cmpuint(problems.size(), >, 0);
  g_assert_nonnull(Find(tree, "moov"));
}

// SniffTracks: a moov of H.264 is claimed; a track with another sample
// entry, a corrupt moov, or a moov cut by the peek size is not / unknown.
static void TestSniffTracks() {
  TrackConfig v;
  v.track_id = 1;
  v.width = 320;
  v.height = 180;
  v.avcc = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e, 0x01, 0x00, 0x02, 0x68, 0xce};
  std::vector<uint8_t> file = BuildInitSegment({v}, 10000000, 0).bytes;
  std::string why;
  g_assert_true(SniffTracks(file.data(), file.size(), &why) == TrackSniff::kAllSupported);
  g_assert_true(SniffTracks(file.data(), file.size() - 10, &why) == TrackSniff::kUnknown);
  // Rename the sample entry: 'avc1' -> 'hvc1' (a codec ismdemux does not play).
  std::vector<uint8_t> other = file;
  for (size_t i = 0; i + 4 <= other.size(); i++)
    if (std::memcmp(&other[i], "avc1", 4) == 0) std::memcpy(&other[i], "hvc1", 4);
  g_assert_true(SniffTracks(other.data(), other.size(), &why) == TrackSniff::kNotAllSupported);
  g_assert_true(why.find("track 1") != std::string::npos);
  // A moov whose mvhd is garbage.
  std::vector<uint8_t> bad = file;
  for (size_t i = 0; i + 4 <= bad.size(); i++)
    if (std::memcmp(&bad[i], "mvhd", 4) == 0) bad[i - 1] = 0x05;  // mvhd size 5: smaller than its header
  g_assert_true(SniffTracks(bad.data(), bad.size(), &why) == TrackSniff::kNotAllSupported);
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/sniff/brands-and-live", TestSniff);
  g_test_add_func("/sniff/tracks", TestSniffTracks);
  g_test_add_func("/box-tree/encrypted-file", TestTreeOfEncryptedFile);
  g_test_add_func("/box-tree/hostile", TestHostileTrees);
  return g_test_run();
}
