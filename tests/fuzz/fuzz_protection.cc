// libFuzzer target for the protection readers: the input as a PlayReady
// Object, as a sample encryption box (PIFF uuid-senc or CENC senc, 8- and
// 16-byte default IVs), as the children of a sample entry (sinf/tenc), as
// moov children (pssh), as a length-prefixed H.264 sample (NAL subsample
// mapping, and the wrong-key checks of decrypted H.264 and AAC samples and
// of an avcC), as a language tag, as decryption-key text, and as base64. A
// sample encryption box
// that parses is decrypted over a buffer of the size its subsamples describe
// and re-serialised (PIFF) to the same bytes.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "encryption.h"
#include "fuzz_common.h"
#include "key_check.h"
#include "language.h"
#include "playready.h"
#include "protection.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> in(data, data + size);

  piff::PlayReadyObjectInfo pro;
  (void)piff::ParsePlayReadyObject(data, size, &pro);

  piff::SampleDecryptor dec;
  piff::Uuid kid{};
  dec.AddKey(kid, std::vector<uint8_t>(16, 0x11));
  // A bounded amount of decryption per input: a senc may hold 2^20 empty
  // entries (IV size 0) or many samples near the 1 MiB cap, and decrypting
  // all of them takes seconds under ASan (a harness timeout, not a slow
  // parser). Each sample costs its bytes plus a fixed 256.
  uint64_t budget = 4u << 20;
  for (uint8_t iv_size : {8, 16}) {
    piff::SampleEncryption senc;
    if (!piff::ParseSampleEncryption(in, iv_size, &senc).ok()) continue;
    for (const auto& s : senc.samples) {
      uint64_t total = 0;
      for (const auto& sub : s.subsamples) total += uint64_t{sub.clear_bytes} + sub.encrypted_bytes;
      const uint64_t cost = total + 256;
      if (total > (1u << 20) || cost > budget) continue;
      budget -= cost;
      std::vector<uint8_t> sample(s.subsamples.empty() ? 37 : total, 0x5a);
      for (auto scheme : {piff::EncryptionScheme::kPiffCtr, piff::EncryptionScheme::kPiffCbc})
        (void)dec.Decrypt(scheme, kid, sample.data(), sample.size(), s.iv.data(), s.iv.size(), s.subsamples);
    }
    if (senc.piff && !(senc.flags & piff::kSencOverrideTrackEncryption)) {
      std::vector<uint8_t> again = piff::SerializeSampleEncryption(senc);
      piff::SampleEncryption reparsed;
      fuzz::CheckOk(piff::ParseSampleEncryption(again, iv_size, &reparsed), "re-parse of a serialised senc");
      FUZZ_CHECK(reparsed.samples.size() == senc.samples.size(), "senc sample count changed");
    }
  }

  piff::TrackProtection tp;
  bool found = false;
  (void)piff::FindTrackProtection({in}, &tp, &found);
  (void)piff::FindProtectionSystemHeaders({in});

  piff::Subsamples subs;
  for (int len : {1, 2, 4})
    for (bool blocks : {false, true})
      if (piff::MapNalSubsamples(data, size, len, 1, blocks, &subs).ok()) {
        uint64_t total = 0;
        for (const auto& s : subs) {
          total += uint64_t{s.clear_bytes} + s.encrypted_bytes;
          FUZZ_CHECK(!blocks || s.encrypted_bytes % 16 == 0, "CBC subsample not whole blocks");
        }
        FUZZ_CHECK(total == size, "subsamples cover %llu of %zu bytes", static_cast<unsigned long long>(total), size);
      }

  piff::AvcSampleRules rules = piff::AvcSampleRulesFor(in);
  for (int len : {1, 2, 4}) {
    rules.nal_length_size = len;
    (void)piff::CheckAvcSample(data, size, rules);
  }
  for (uint8_t channels : {1, 2}) (void)piff::CheckAacFrame(data, size, channels);

  std::string text(reinterpret_cast<const char*>(data), size);
  std::string language;
  if (piff::LanguageToIso639_2T(text, &language)) FUZZ_CHECK(language.size() == 3, "language code not 3 letters");
  std::vector<std::pair<piff::Uuid, std::vector<uint8_t>>> pairs;
  (void)piff::ParseKeyPairs(text, &pairs);
  std::vector<uint8_t> decoded;
  (void)piff::Base64Decode(text, &decoded);
  return 0;
}
