// Core encryption: AES-CTR/CBC known answers (NIST SP 800-38A), PlayReady
// CHECKSUM vectors published with other packagers' tests, NAL subsample
// mapping, IV rules, KID byte order, and PlayReady Object round trips.
#include <openssl/evp.h>

#include <cstring>
#include <string>
#include <vector>

#include "encryption.h"
#include "playready.h"
#include "test_util.h"

using namespace piff;

static std::vector<uint8_t> Hex(const char* s) {
  std::vector<uint8_t> v;
  if (!ParseHex(s, &v)) g_error("bad hex in test: %s", s);
  return v;
}

static Uuid MakeUuid(const char* s) {
  Uuid u;
  if (!UuidFromString(s, &u)) g_error("bad uuid in test: %s", s);
  return u;
}

// NIST SP 800-38A, F.5.1 CTR-AES128.Encrypt and F.2.1 CBC-AES128.Encrypt.
static const char* kNistKey = "2b7e151628aed2a6abf7158809cf4f3c";
static const char* kNistPlain =
    "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b"
    "417be66c3710";

static void TestCtrKnownAnswer() {
  std::unique_ptr<SampleCipher> c;
  g_assert_true(SampleCipher::Create(EncryptionScheme::kPiffCtr, Hex(kNistKey), true, &c).ok());
  std::vector<uint8_t> data = Hex(kNistPlain), iv = Hex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff");
  g_assert_true(c->Process(data.data(), data.data(), data.size(), iv.data(), 16, {}).ok());
  EXPECT_STR(ToHex(data),
             "874d6191b620e3261bef6864990db6ce9806f66b7970fdff8617187bb9fffdff5ae4df3edbd5d35e5b4f09020db03eab1e031dda2fb"
             "e03d1792170a0f3009cee");
  // Decrypting is the same operation.
  std::unique_ptr<SampleCipher> d;
  g_assert_true(SampleCipher::Create(EncryptionScheme::kPiffCtr, Hex(kNistKey), false, &d).ok());
  g_assert_true(d->Process(data.data(), data.data(), data.size(), iv.data(), 16, {}).ok());
  EXPECT_STR(ToHex(data), kNistPlain);
}

static void TestCbcKnownAnswer() {
  std::unique_ptr<SampleCipher> c;
  g_assert_true(SampleCipher::Create(EncryptionScheme::kPiffCbc, Hex(kNistKey), true, &c).ok());
  std::vector<uint8_t> data = Hex(kNistPlain), iv = Hex("000102030405060708090a0b0c0d0e0f");
  g_assert_true(c->Process(data.data(), data.data(), data.size(), iv.data(), 16, {}).ok());
  EXPECT_STR(ToHex(data),
             "7649abac8119b246cee98e9b12e9197d5086cb9b507219ee95db113a917678b273bed6b8e3c1743b7116e69e222295163ff1caa1681"
             "fac09120eca307586e1a7");
  std::unique_ptr<SampleCipher> d;
  g_assert_true(SampleCipher::Create(EncryptionScheme::kPiffCbc, Hex(kNistKey), false, &d).ok());
  g_assert_true(d->Process(data.data(), data.data(), data.size(), iv.data(), 16, {}).ok());
  EXPECT_STR(ToHex(data), kNistPlain);
}

// An 8-byte CTR IV is the high half of the counter block; the low half counts
// 16-byte blocks from zero within each sample. Checked against AES-ECB of the
// counter blocks computed here with EVP directly.
static void TestCtrEightByteIv() {
  std::vector<uint8_t> key = Hex(kNistKey), iv = Hex("0102030405060708");
  std::vector<uint8_t> plain(40);
  for (size_t i = 0; i < plain.size(); i++) plain[i] = static_cast<uint8_t>(i * 7);
  std::vector<uint8_t> out(plain.size());
  std::unique_ptr<SampleCipher> c;
  g_assert_true(SampleCipher::Create(EncryptionScheme::kPiffCtr, key, true, &c).ok());
  g_assert_true(c->Process(plain.data(), out.data(), plain.size(), iv.data(), 8, {}).ok());

  EVP_CIPHER_CTX* ecb = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ecb, EVP_aes_128_ecb(), nullptr, key.data(), nullptr);
  EVP_CIPHER_CTX_set_padding(ecb, 0);
  for (size_t block = 0; block * 16 < plain.size(); block++) {
    uint8_t counter[16] = {0}, stream[16];
    memcpy(counter, iv.data(), 8);
    counter[15] = static_cast<uint8_t>(block);
    int n = 0;
    EVP_EncryptUpdate(ecb, stream, &n, counter, 16);
    for (size_t i = block * 16; i < std::min(plain.size(), block * 16 + 16); i++)
      g_assert_cmpuint(out[i], ==, plain[i] ^ stream[i - block * 16]);
  }
  EVP_CIPHER_CTX_free(ecb);
}

// PlayReady CHECKSUM = first 8 bytes of AES-ECB(content key, GUID-order KID).
// Vectors: the cpix (python) test suite and the `pssh` (npm) test suite.
static void TestPlayReadyChecksum() {
  std::vector<uint8_t> c;
  g_assert_true(PlayReadyChecksum(MakeUuid("8ba94ade-6eb9-449d-b44f-a5beefaf43b0"),
                                  Hex("DBFD6922C321C4BB486F4A1C44097ED6"), &c)
                    .ok());
  EXPECT_STR(Base64Encode(c), "Me48z71nuqY=");
  g_assert_true(PlayReadyChecksum(MakeUuid("6f651ae1dbe44434bcb4690d1564c41c"),
                                  Hex("2a85da88fae41e2e36aeb2d5c94997b1"), &c)
                    .ok());
  EXPECT_STR(Base64Encode(c), "f8Acn4I4wU0=");
  g_assert_false(PlayReadyChecksum(Uuid{}, Hex("00"), &c).ok());
}

static void TestGuidByteOrder() {
  Uuid u = MakeUuid("01020304-0506-0708-090A-AABBCCDDEEFF");
  Uuid g = SwapGuidByteOrder(u);
  EXPECT_STR(ToHex(g.data(), 16), "0403020106050807090aaabbccddeeff");
  g_assert_true(SwapGuidByteOrder(g) == u);
  // The same KID as base64 in a 4.0 header (GUID order) and in the npm
  // vector above: 6f651ae1-... -> 4Rplb+TbNES8tGkNFWTEHA==.
  Uuid k = MakeUuid("6f651ae1dbe44434bcb4690d1564c41c");
  Uuid kg = SwapGuidByteOrder(k);
  EXPECT_STR(Base64Encode(std::vector<uint8_t>(kg.begin(), kg.end())), "4Rplb+TbNES8tGkNFWTEHA==");
}

// Builds a length-prefixed sample from NAL sizes.
static std::vector<uint8_t> NalSample(const std::vector<size_t>& sizes, int length_size = 4) {
  std::vector<uint8_t> s;
  for (size_t n : sizes) {
    for (int i = length_size - 1; i >= 0; i--) s.push_back(static_cast<uint8_t>(n >> (8 * i)));
    for (size_t i = 0; i < n; i++) s.push_back(static_cast<uint8_t>(i == 0 ? 0x65 : i));
  }
  return s;
}

static std::string Describe(const Subsamples& subs) {
  std::string s;
  for (auto& e : subs) s += std::to_string(e.clear_bytes) + "/" + std::to_string(e.encrypted_bytes) + " ";
  return s;
}

static void TestNalSubsamples() {
  Subsamples subs;
  // CTR: 4-byte prefix + 1 header clear, the rest encrypted.
  auto sample = NalSample({100, 3, 1});
  g_assert_true(MapNalSubsamples(sample.data(), sample.size(), 4, 1, false, &subs).ok());
  EXPECT_STR(Describe(subs), "5/99 5/2 5/0 ");
  // CBC: whole blocks only; the remainder joins the clear part, and a NAL with
  // nothing to encrypt merges into the previous entry.
  g_assert_true(MapNalSubsamples(sample.data(), sample.size(), 4, 1, true, &subs).ok());
  EXPECT_STR(Describe(subs), "8/96 12/0 ");
  // 2-byte lengths.
  auto s2 = NalSample({20}, 2);
  g_assert_true(MapNalSubsamples(s2.data(), s2.size(), 2, 1, false, &subs).ok());
  EXPECT_STR(Describe(subs), "3/19 ");
  // A long clear run is split into 16-bit pieces.
  auto big = NalSample({70000, 40});
  g_assert_true(MapNalSubsamples(big.data(), big.size(), 4, 1, true, &subs).ok());
  size_t total = 0;
  for (auto& e : subs) {
    total += e.clear_bytes + e.encrypted_bytes;
    g_assert_cmpuint(e.encrypted_bytes % 16, ==, 0);
  }
  g_assert_cmpuint(total, ==, big.size());
  // A length that runs past the sample is an error, as is a cut prefix.
  sample[3] = 200;
  Status s = MapNalSubsamples(sample.data(), sample.size(), 4, 1, false, &subs);
  g_assert_false(s.ok());
  g_assert_nonnull(strstr(s.message().c_str(), "runs past the end"));
  uint8_t cut[2] = {0, 0};
  g_assert_false(MapNalSubsamples(cut, 2, 4, 1, false, &subs).ok());
  g_assert_false(MapNalSubsamples(cut, 2, 3, 1, false, &subs).ok());
}

static EncryptionSettings Settings(EncryptionScheme scheme, const char* iv = nullptr) {
  EncryptionSettings s;
  s.scheme = scheme;
  s.kid = MakeUuid("01020304-0506-0708-090a-aabbccddeeff");
  s.key = Hex("00112233445566778899aabbccddeeff");
  if (iv) s.iv = Hex(iv);
  return s;
}

static void RoundTrip(EncryptionScheme scheme, bool nal) {
  std::unique_ptr<TrackEncryptor> enc;
  TrackEncryptor::Format f;
  if (nal) f.nal_length_size = 4;
  g_assert_true(TrackEncryptor::Create(Settings(scheme), f, &enc).ok());
  SampleEncryption senc = enc->NewFragment();
  g_assert_cmpuint(senc.flags, ==, nal ? kSencUseSubsamples : 0u);
  g_assert_true(senc.piff);
  std::vector<std::vector<uint8_t>> clear = {NalSample({300, 17, 4}), NalSample({33}), NalSample({1000})};
  if (!nal) clear = {std::vector<uint8_t>(333, 7), std::vector<uint8_t>(15, 1), std::vector<uint8_t>(64, 9)};
  std::vector<std::vector<uint8_t>> cipher;
  for (auto& c : clear) {
    std::vector<uint8_t> out(c.size());
    g_assert_true(enc->EncryptSample(c.data(), out.data(), out.size(), &senc).ok());
    if (!(scheme == EncryptionScheme::kPiffCbc && c.size() < 16)) g_assert_false(out == c);
    cipher.push_back(out);
  }
  g_assert_cmpuint(senc.samples.size(), ==, clear.size());
  // Serialise and parse back the uuid-senc, then decrypt from what was parsed.
  std::vector<uint8_t> box = SerializeSampleEncryption(senc);
  SampleEncryption parsed;
  g_assert_true(ParseSampleEncryption(box, SchemeIvSize(scheme), &parsed).ok());
  g_assert_true(parsed.piff);
  g_assert_cmpuint(parsed.samples.size(), ==, clear.size());
  SampleDecryptor dec;
  dec.AddKey(Settings(scheme).kid, Settings(scheme).key);
  for (size_t i = 0; i < clear.size(); i++) {
    const auto& e = parsed.samples[i];
    g_assert_cmpuint(e.iv.size(), ==, SchemeIvSize(scheme));
    if (nal) g_assert_cmpuint(e.subsamples.size(), >, 0);
    if (nal) {
      // The length prefix and NAL header stay readable.
      g_assert_true(memcmp(cipher[i].data(), clear[i].data(), 5) == 0);
    }
    g_assert_true(dec.Decrypt(scheme, Settings(scheme).kid, cipher[i].data(), cipher[i].size(), e.iv.data(),
                              e.iv.size(), e.subsamples)
                      .ok());
    g_assert_true(cipher[i] == clear[i]);
  }
  // A KID without a key is an error naming it.
  Status s = dec.Decrypt(scheme, Uuid{}, cipher[0].data(), cipher[0].size(), parsed.samples[0].iv.data(),
                         parsed.samples[0].iv.size(), {});
  g_assert_false(s.ok());
}

static void TestRoundTrips() {
  RoundTrip(EncryptionScheme::kPiffCtr, true);
  RoundTrip(EncryptionScheme::kPiffCtr, false);
  RoundTrip(EncryptionScheme::kPiffCbc, true);
  RoundTrip(EncryptionScheme::kPiffCbc, false);
}

static void TestCbcPartialBlockClear() {
  std::unique_ptr<TrackEncryptor> enc;
  g_assert_true(TrackEncryptor::Create(Settings(EncryptionScheme::kPiffCbc), {}, &enc).ok());
  SampleEncryption senc = enc->NewFragment();
  std::vector<uint8_t> in(37, 0x42), out(37);
  g_assert_true(enc->EncryptSample(in.data(), out.data(), in.size(), &senc).ok());
  g_assert_true(memcmp(out.data() + 32, in.data() + 32, 5) == 0);
  g_assert_false(memcmp(out.data(), in.data(), 32) == 0);
}

static void TestIvRules() {
  // Given IV: first sample uses it, the next is +1 (with carry).
  std::unique_ptr<TrackEncryptor> enc;
  g_assert_true(TrackEncryptor::Create(Settings(EncryptionScheme::kPiffCtr, "00000000000000ff"), {}, &enc).ok());
  SampleEncryption senc = enc->NewFragment();
  std::vector<uint8_t> buf(10);
  for (int i = 0; i < 2; i++) g_assert_true(enc->EncryptSample(buf.data(), buf.data(), buf.size(), &senc).ok());
  EXPECT_STR(ToHex(senc.samples[0].iv), "00000000000000ff");
  EXPECT_STR(ToHex(senc.samples[1].iv), "0000000000000100");
  // Default IVs are random: two encryptors start differently.
  std::unique_ptr<TrackEncryptor> a, b;
  g_assert_true(TrackEncryptor::Create(Settings(EncryptionScheme::kPiffCtr), {}, &a).ok());
  g_assert_true(TrackEncryptor::Create(Settings(EncryptionScheme::kPiffCtr), {}, &b).ok());
  g_assert_cmpuint(a->first_iv().size(), ==, 8);
  g_assert_false(a->first_iv() == b->first_iv());
  TrackEncryptionFields t = a->TencFields();
  g_assert_cmpuint(t.head, ==, 1);
  g_assert_cmpuint(t.iv_size, ==, 8);
  g_assert_cmpuint(b->NewFragment().flags & kSencOverrideTrackEncryption, ==, 0);
  std::unique_ptr<TrackEncryptor> cbc;
  g_assert_true(TrackEncryptor::Create(Settings(EncryptionScheme::kPiffCbc), {}, &cbc).ok());
  g_assert_cmpuint(cbc->TencFields().head, ==, 2);
  g_assert_cmpuint(cbc->TencFields().iv_size, ==, 16);
}

static void ExpectInvalid(const EncryptionSettings& s, const char* names) {
  Status st = ValidateEncryptionSettings(s);
  g_assert_false(st.ok());
  if (!strstr(st.message().c_str(), names)) g_error("'%s' does not name %s", st.message().c_str(), names);
}

static void TestValidation() {
  g_assert_true(ValidateEncryptionSettings(Settings(EncryptionScheme::kPiffCtr)).ok());
  EncryptionSettings s = Settings(EncryptionScheme::kPiffCtr);
  s.key.pop_back();
  ExpectInvalid(s, "content-key");
  s.key.clear();
  ExpectInvalid(s, "content-key");
  s = Settings(EncryptionScheme::kPiffCtr);
  s.kid = Uuid{};
  ExpectInvalid(s, "key-id");
  ExpectInvalid(Settings(EncryptionScheme::kPiffCtr, "00112233445566778899aabbccddeeff"), "iv");
  ExpectInvalid(Settings(EncryptionScheme::kPiffCbc, "0011223344556677"), "iv");
  std::vector<uint8_t> v;
  g_assert_false(ParseHex("abc", &v));
  g_assert_false(ParseHex("zz", &v));
  g_assert_true(ParseHex("0xAbCd", &v) && v.size() == 2 && v[0] == 0xab);
}

static void TestKeyPairs() {
  std::vector<std::pair<Uuid, std::vector<uint8_t>>> pairs;
  g_assert_true(ParseKeyPairs("01020304-0506-0708-090a-aabbccddeeff:00112233445566778899aabbccddeeff,"
                              " {0102030405060708090AAABBCCDDEE00}:ffeeddccbbaa99887766554433221100",
                              &pairs)
                    .ok());
  g_assert_cmpuint(pairs.size(), ==, 2);
  EXPECT_STR(UuidToString(pairs[1].first), "01020304-0506-0708-090a-aabbccddee00");
  g_assert_false(ParseKeyPairs("", &pairs).ok());
  g_assert_false(ParseKeyPairs("nothex:00", &pairs).ok());
  g_assert_false(ParseKeyPairs("01020304-0506-0708-090a-aabbccddeeff:0011", &pairs).ok());
  g_assert_false(ParseKeyPairs("01020304-0506-0708-090a-aabbccddeeff", &pairs).ok());
  // A key typed without its KID is not echoed into the error (it ends up in
  // logs); the message says which item is wrong.
  Status bare = ParseKeyPairs("01020304-0506-0708-090a-aabbccddeeff:00112233445566778899aabbccddeeff "
                              "00112233445566778899aabbccddeeff",
                              &pairs);
  g_assert_false(bare.ok());
  g_assert_true(bare.message().find("00112233") == std::string::npos);
  g_assert_true(bare.message().find("item 2") != std::string::npos);
  // KID and key swapped: the key (now "KID") is not echoed either.
  Status swapped = ParseKeyPairs("00112233445566778899aabbccddeeff:01020304-0506-0708-090a-aabbccddeeff", &pairs);
  g_assert_false(swapped.ok());
  g_assert_true(swapped.message().find("00112233") == std::string::npos);
  g_assert_true(swapped.message().find("0102") == std::string::npos);
}

static void TestPlayReadyObject() {
  PlayReadyHeaderParams p;
  p.kid = MakeUuid("6f651ae1dbe44434bcb4690d1564c41c");
  p.key = Hex("2a85da88fae41e2e36aeb2d5c94997b1");
  p.la_url = "https://test.playready.microsoft.com/service/rightsmanager.asmx?cfg=(a&b)";
  std::string xml;
  g_assert_true(BuildWrmHeader(p, &xml).ok());
  g_assert_nonnull(strstr(xml.c_str(), "version=\"4.0.0.0\""));
  g_assert_nonnull(strstr(xml.c_str(), "<KID>4Rplb+TbNES8tGkNFWTEHA==</KID>"));
  g_assert_nonnull(strstr(xml.c_str(), "<CHECKSUM>f8Acn4I4wU0=</CHECKSUM>"));
  g_assert_nonnull(strstr(xml.c_str(), "&amp;b"));
  std::vector<uint8_t> pro = BuildPlayReadyObject(xml);
  // Length, one record of type 1, UTF-16LE '<'.
  g_assert_cmpuint(pro[0] | pro[1] << 8, ==, pro.size());
  g_assert_cmpuint(pro[4], ==, 1);
  g_assert_cmpuint(pro[6], ==, 1);
  g_assert_cmpuint(pro[10], ==, '<');
  g_assert_cmpuint(pro[11], ==, 0);
  PlayReadyObjectInfo info;
  g_assert_true(ParsePlayReadyObject(pro, &info).ok());
  EXPECT_STR(info.version, "4.0.0.0");
  g_assert_cmpuint(info.kids.size(), ==, 1);
  g_assert_true(info.kids[0] == p.kid);
  EXPECT_STR(info.algorithms[0], "AESCTR");
  EXPECT_STR(Base64Encode(info.checksums[0]), "f8Acn4I4wU0=");
  EXPECT_STR(info.la_url, p.la_url);

  // CBC: version 4.3.0.0 with the KIDS list form.
  p.scheme = EncryptionScheme::kPiffCbc;
  g_assert_true(BuildWrmHeader(p, &xml).ok());
  g_assert_true(ParsePlayReadyObject(BuildPlayReadyObject(xml), &info).ok());
  EXPECT_STR(info.version, "4.3.0.0");
  g_assert_true(info.kids.size() == 1 && info.kids[0] == p.kid);
  EXPECT_STR(info.algorithms[0], "AESCBC");

  // Hostile objects: wrong length, a record past the end, odd UTF-16.
  std::vector<uint8_t> bad = pro;
  bad[0]++;
  g_assert_false(ParsePlayReadyObject(bad, &info).ok());
  bad = pro;
  bad[8] = 0xff;
  bad[9] = 0xff;
  g_assert_false(ParsePlayReadyObject(bad, &info).ok());
  g_assert_false(ParsePlayReadyObject(std::vector<uint8_t>{1, 2}, &info).ok());
  // An empty header record (found by fuzz_protection: a GLib critical from
  // g_utf16_to_utf8 on no data, fatal under G_DEBUG=fatal-criticals).
  Status s = ParsePlayReadyObject(std::vector<uint8_t>{10, 0, 0, 0, 1, 0, 1, 0, 0, 0}, &info);
  g_assert_false(s.ok());
  g_assert_nonnull(strstr(s.message().c_str(), "empty header record"));
}

static void TestBoxes() {
  TrackEncryptionFields f;
  f.head = 1;
  f.iv_size = 8;
  f.kid = MakeUuid("01020304-0506-0708-090a-aabbccddeeff");
  std::vector<uint8_t> sinf = MakePiffSinf(MakeFourCC("avc1"), f);
  // sinf(8) + frma(12) + schm(20) + schi(8) + uuid-tenc(48).
  g_assert_cmpuint(sinf.size(), ==, 8 + 12 + 20 + 8 + 48);
  RawBoxes children = {sinf};
  TrackProtection tp;
  bool found = false;
  g_assert_true(FindTrackProtection(children, &tp, &found).ok());
  g_assert_true(found);
  g_assert_cmpuint(tp.original_format, ==, MakeFourCC("avc1"));
  g_assert_cmpuint(tp.scheme_type, ==, MakeFourCC("piff"));
  g_assert_cmpuint(tp.scheme_version, ==, 0x00010001);
  g_assert_cmpuint(tp.iv_size, ==, 8);
  g_assert_true(tp.default_kid == f.kid);

  std::vector<uint8_t> data = {1, 2, 3};
  std::vector<uint8_t> pssh = MakePiffPssh(kPlayReadySystemId, data);
  g_assert_true(IsProtectionSystemHeaderBox(pssh));
  g_assert_false(IsProtectionSystemHeaderBox(sinf));
  std::vector<uint8_t> cut(pssh.begin(), pssh.end() - 1);
  g_assert_false(IsProtectionSystemHeaderBox(cut));
  // GStreamer's packed subsamples: 16-bit clear + 32-bit encrypted, big-endian.
  Subsamples subs = {{5, 0x01020304}, {0xffff, 0}};
  std::vector<uint8_t> packed = PackSubsamples(subs);
  EXPECT_STR(ToHex(packed), "000501020304ffff00000000");
  Subsamples back;
  g_assert_true(UnpackSubsamples(packed.data(), packed.size(), 2, &back));
  g_assert_true(back.size() == 2 && back[0].clear_bytes == 5 && back[0].encrypted_bytes == 0x01020304 &&
                back[1].clear_bytes == 0xffff);
  g_assert_false(UnpackSubsamples(packed.data(), packed.size() - 1, 2, &back));
  g_assert_cmpuint(pssh.size(), ==, 8 + 16 + 4 + 16 + 4 + 3);
  auto found_pssh = FindProtectionSystemHeaders({pssh});
  g_assert_cmpuint(found_pssh.size(), ==, 1);
  g_assert_true(found_pssh[0].piff);
  g_assert_true(found_pssh[0].system_id == kPlayReadySystemId);
  g_assert_true(found_pssh[0].data == data);
}

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/encryption/ctr-known-answer", TestCtrKnownAnswer);
  g_test_add_func("/encryption/cbc-known-answer", TestCbcKnownAnswer);
  g_test_add_func("/encryption/ctr-8-byte-iv", TestCtrEightByteIv);
  g_test_add_func("/encryption/playready-checksum", TestPlayReadyChecksum);
  g_test_add_func("/encryption/guid-byte-order", TestGuidByteOrder);
  g_test_add_func("/encryption/nal-subsamples", TestNalSubsamples);
  g_test_add_func("/encryption/round-trips", TestRoundTrips);
  g_test_add_func("/encryption/cbc-partial-block", TestCbcPartialBlockClear);
  g_test_add_func("/encryption/iv-rules", TestIvRules);
  g_test_add_func("/encryption/validation", TestValidation);
  g_test_add_func("/encryption/key-pairs", TestKeyPairs);
  g_test_add_func("/encryption/playready-object", TestPlayReadyObject);
  g_test_add_func("/encryption/boxes", TestBoxes);
  return g_test_run();
}
