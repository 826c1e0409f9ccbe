// Core rules for telling a wrong decryption key: KID matching (exact, GUID
// byte order, none), the PlayReady CHECKSUM verdict over pssh headers, and
// the plausibility checks of decrypted H.264 and AAC samples (with real
// encoder output shapes and with noise, as a wrong key leaves).
#include <string>
#include <vector>

#include "encryption.h"
#include "key_check.h"
#include "playready.h"
#include "protection.h"
#include "test_util.h"

using namespace piff;

static void TestKidMatch() {
  Uuid a = MakeUuid("01020304-0506-0708-090a-0b0c0d0e0f10"), b = MakeUuid("a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90");
  std::vector<Uuid> tracks = {a, b};
  g_assert_true(MatchKid(a, tracks) == KidMatch::kTrack);
  g_assert_true(MatchKid(SwapGuidByteOrder(a), tracks) == KidMatch::kSwappedTrack);
  g_assert_true(MatchKid(MakeUuid("04030201-0605-0807-090a-0b0c0d0e0f10"), tracks) == KidMatch::kSwappedTrack);
  g_assert_true(MatchKid(MakeUuid("ffffffff-0506-0708-090a-0b0c0d0e0f10"), tracks) == KidMatch::kNone);
  g_assert_true(MatchKid(a, {}) == KidMatch::kNone);
  // KID and KEY typed the wrong way round: the "key" is a track's KID.
  g_assert_true(KeyLooksLikeKid(std::vector<uint8_t>(b.begin(), b.end()), tracks));
  Uuid sb = SwapGuidByteOrder(b);
  g_assert_true(KeyLooksLikeKid(std::vector<uint8_t>(sb.begin(), sb.end()), tracks));
  g_assert_false(KeyLooksLikeKid(Hex("00112233445566778899aabbccddeeff"), tracks));
}

static ProtectionSystemHeader PlayReadyHeader(const PlayReadyHeaderParams& p) {
  std::string xml;
  g_assert_true(BuildWrmHeader(p, &xml).ok());
  ProtectionSystemHeader h;
  h.system_id = kPlayReadySystemId;
  h.piff = true;
  h.data = BuildPlayReadyObject(xml);
  return h;
}

static void TestChecksumVerdict() {
  Uuid kid = MakeUuid("8ba94ade-6eb9-449d-b44f-a5beefaf43b0");
  std::vector<uint8_t> key = Hex("0123456789abcdef0123456789abcdef"), other = Hex("00112233445566778899aabbccddeeff");
  std::vector<uint8_t> cs;
  g_assert_true(PlayReadyChecksum(kid, key, &cs).ok());
  g_assert_true(VerifyPlayReadyChecksum(cs, kid, key) == ChecksumVerdict::kMatches);
  g_assert_true(VerifyPlayReadyChecksum(cs, kid, other) == ChecksumVerdict::kDiffers);
  g_assert_true(VerifyPlayReadyChecksum({}, kid, key) == ChecksumVerdict::kNoChecksum);
  EXPECT_STR(ChecksumVerdictName(ChecksumVerdict::kDiffers), "differs");

  PlayReadyHeaderParams p;
  p.kid = kid;
  p.key = key;
  std::vector<ProtectionSystemHeader> headers = {PlayReadyHeader(p)};
  g_assert_true(CheckKeyWithPlayReadyHeaders(headers, kid, key) == ChecksumVerdict::kMatches);
  g_assert_true(CheckKeyWithPlayReadyHeaders(headers, kid, other) == ChecksumVerdict::kDiffers);
  // Another KID, no header, a header without CHECKSUM, another system.
  g_assert_true(CheckKeyWithPlayReadyHeaders(headers, MakeUuid("00000000-0000-0000-0000-000000000001"), other) ==
                ChecksumVerdict::kNoChecksum);
  g_assert_true(CheckKeyWithPlayReadyHeaders({}, kid, other) == ChecksumVerdict::kNoChecksum);
  p.key.clear();
  g_assert_true(CheckKeyWithPlayReadyHeaders({PlayReadyHeader(p)}, kid, other) == ChecksumVerdict::kNoChecksum);
  ProtectionSystemHeader widevine = headers[0];
  widevine.system_id = MakeUuid("edef8ba9-79d6-4ace-a3c8-27dcd51d21ed");
  g_assert_true(CheckKeyWithPlayReadyHeaders({widevine}, kid, other) == ChecksumVerdict::kNoChecksum);
  // AES-CBC headers (4.3) carry no CHECKSUM to hold against the key.
  p.scheme = EncryptionScheme::kPiffCbc;
  p.key = key;
  g_assert_true(CheckKeyWithPlayReadyHeaders({PlayReadyHeader(p)}, kid, other) == ChecksumVerdict::kNoChecksum);
}

// Deterministic noise.
static std::vector<uint8_t> Noise(size_t n, uint32_t seed) {
  std::vector<uint8_t> v;
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    v.push_back(static_cast<uint8_t>(seed >> 24));
  }
  return v;
}

static void AppendNal(std::vector<uint8_t>* s, uint8_t header, const std::vector<uint8_t>& body) {
  uint32_t n = static_cast<uint32_t>(body.size() + 1);
  for (int k = 3; k >= 0; k--) s->push_back(static_cast<uint8_t>(n >> (8 * k)));
  s->push_back(header);
  s->insert(s->end(), body.begin(), body.end());
}

static void TestAvcSample() {
  // avcC of x264 (High, one SPS, PPS id 0) as in the interop media.
  std::vector<uint8_t> avcc = Hex("01640016ffe1001967640016acd940a02ff9610000030001000003003c8f162d9601000568ebecb22c");
  AvcSampleRules rules = AvcSampleRulesFor(avcc);
  g_assert_cmpint(rules.nal_length_size, ==, 4);
  g_assert_cmpuint(rules.pps_ids.size(), ==, 1);
  g_assert_cmpuint(rules.pps_ids[0], ==, 0);
  g_assert_false(rules.arbitrary_slice_order);
  // An access unit as x264 writes it: SEI, then an IDR slice header
  // first_mb 0, slice_type 7 (I), pps 0 -> bits 1 0001000 1 = 0x88 0x8x.
  std::vector<uint8_t> idr, p, sei_only;
  AppendNal(&idr, 0x06, Hex("05ffff80"));
  std::vector<uint8_t> body = Hex("8884");
  std::vector<uint8_t> tail = Noise(200, 1);
  body.insert(body.end(), tail.begin(), tail.end());
  AppendNal(&idr, 0x65, body);
  g_assert_true(CheckAvcSample(idr.data(), idr.size(), rules) == SampleVerdict::kPlausible);
  // P slice: first_mb 0, slice_type 5 (P, ue 00110), pps 0 -> 1 00110 1 x = 0x9a.
  body = Hex("9a00");
  body.insert(body.end(), tail.begin(), tail.end());
  AppendNal(&p, 0x41, body);
  g_assert_true(CheckAvcSample(p.data(), p.size(), rules) == SampleVerdict::kPlausible);
  // No slice: undecided. Lengths that do not add up: implausible.
  AppendNal(&sei_only, 0x06, Hex("05ffff80"));
  g_assert_true(CheckAvcSample(sei_only.data(), sei_only.size(), rules) == SampleVerdict::kUndecided);
  std::vector<uint8_t> cut(idr.begin(), idr.end() - 1);
  g_assert_true(CheckAvcSample(cut.data(), cut.size(), rules) == SampleVerdict::kImplausible);
  // An IDR slice claiming P is implausible; so is PPS id 3 when the avcC has only 0.
  std::vector<uint8_t> bad;
  AppendNal(&bad, 0x65, Hex("9a00ff"));  // P in an IDR
  g_assert_true(CheckAvcSample(bad.data(), bad.size(), rules) == SampleVerdict::kImplausible);
  bad.clear();
  AppendNal(&bad, 0x41, Hex("c800ff"));  // 1 1 00100: pps ue = 3
  g_assert_true(CheckAvcSample(bad.data(), bad.size(), rules) == SampleVerdict::kImplausible);
  // Slice bodies of noise (what a wrong key leaves behind the clear NAL
  // header): most are caught, IDR ones nearly all.
  int passed_idr = 0, passed_p = 0;
  for (uint32_t seed = 0; seed < 1000; seed++) {
    std::vector<uint8_t> s, q;
    AppendNal(&s, 0x65, Noise(100, seed * 2654435761u));
    AppendNal(&q, 0x41, Noise(100, (seed + 5000) * 2654435761u));
    passed_idr += CheckAvcSample(s.data(), s.size(), rules) == SampleVerdict::kPlausible;
    passed_p += CheckAvcSample(q.data(), q.size(), rules) == SampleVerdict::kPlausible;
  }
  g_test_message("noise slices passing: IDR %d/1000, P %d/1000", passed_idr, passed_p);
  g_assert_cmpint(passed_idr, <, 80);   // about 4 %
  g_assert_cmpint(passed_p, <, 300);    // about 22 %
  // Baseline without constraint_set1 may use arbitrary slice order.
  std::vector<uint8_t> baseline = avcc;
  baseline[1] = 66;
  baseline[2] = 0;
  g_assert_true(AvcSampleRulesFor(baseline).arbitrary_slice_order);
}

static void TestAacFrame() {
  // avenc_aac stereo frame start: CPE (001), tag 0, common_window 1,
  // ics_info reserved 0, ONLY_LONG, shape 0, max_sfb 0.
  std::vector<uint8_t> cpe = Hex("21003180");  // 001 0000 1 | 0 00 0 110001 ...
  g_assert_true(CheckAacFrame(cpe.data(), cpe.size(), 2) == SampleVerdict::kPlausible);
  g_assert_true(CheckAacFrame(cpe.data(), cpe.size(), 1) == SampleVerdict::kImplausible);  // mono wants an SCE
  std::vector<uint8_t> sce = Hex("00800c40");  // 000 0000 | gain 8 bits | 0 00 0 ...
  g_assert_true(CheckAacFrame(sce.data(), sce.size(), 1) == SampleVerdict::kPlausible);
  std::vector<uint8_t> fil = Hex("c0000000");  // FIL first: undecided
  g_assert_true(CheckAacFrame(fil.data(), fil.size(), 2) == SampleVerdict::kUndecided);
  g_assert_true(CheckAacFrame(cpe.data(), cpe.size(), 6) == SampleVerdict::kUndecided);
  std::vector<uint8_t> reserved = Hex("21800000");  // ics_reserved_bit set
  g_assert_true(CheckAacFrame(reserved.data(), reserved.size(), 2) == SampleVerdict::kImplausible);
  int passed = 0, decided = 0;
  for (uint32_t seed = 0; seed < 1000; seed++) {
    std::vector<uint8_t> n = Noise(64, seed * 2654435761u);
    SampleVerdict v = CheckAacFrame(n.data(), n.size(), 2);
    passed += v == SampleVerdict::kPlausible;
    decided += v != SampleVerdict::kUndecided;
  }
  g_test_message("noise AAC frames: %d/1000 decided, %d/1000 passing", decided, passed);
  g_assert_cmpint(decided, >, 500);
  g_assert_cmpint(passed, <, 120);
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/key-check/kid-match", TestKidMatch);
  g_test_add_func("/key-check/checksum", TestChecksumVerdict);
  g_test_add_func("/key-check/avc-sample", TestAvcSample);
  g_test_add_func("/key-check/aac-frame", TestAacFrame);
  return g_test_run();
}
