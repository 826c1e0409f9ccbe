// PIFF sample encryption (AES-128 CTR and CBC, on OpenSSL's EVP API): the
// rules for what part of a sample is encrypted (NAL-based subsamples for AVC,
// whole samples or whole blocks otherwise), IV handling, the sinf/tenc and
// senc boxes that describe it, and the matching decryption.
//
// CTR (PIFF AlgorithmID 1): counter block = IV (8 bytes) || 64-bit block
// counter starting at 0 for each sample, or the IV itself when it is 16
// bytes; the key stream runs on across the encrypted ranges of one sample.
// CBC (AlgorithmID 2): 16-byte IV per sample, the chain runs on across the
// encrypted ranges of one sample, and only whole 16-byte blocks are
// encrypted (a trailing partial block stays clear).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "fourcc.h"
#include "protection.h"
#include "status.h"

namespace piff {

enum class EncryptionScheme { kNone, kPiffCtr, kPiffCbc };

enum : uint32_t {
  kPiffAlgorithmClear = 0,
  kPiffAlgorithmCtr = 1,
  kPiffAlgorithmCbc = 2,
};

uint32_t PiffAlgorithmId(EncryptionScheme scheme);
// kNone for AlgorithmID 0 and for values we do not know.
EncryptionScheme SchemeFromPiffAlgorithm(uint32_t algorithm_id);
const char* SchemeName(EncryptionScheme scheme);  // "none", "piff-ctr", "piff-cbc"

// How a reader treats an encrypted track: the cipher-mode it signals
// ("cenc", "cbc1", "cbcs", ...) and the scheme it can decrypt with (kNone for
// pattern schemes and unknown AlgorithmIDs). A PIFF uuid-tenc's AlgorithmID
// decides (1 AES-CTR -> "cenc", 2 AES-CBC -> "cbc1": PIFF CBC has no
// pattern), else the schm type (`scheme_type` 0: no schm, taken as cenc).
struct CipherChoice {
  std::string cipher_mode;
  EncryptionScheme scheme = EncryptionScheme::kNone;
};
CipherChoice ChooseCipher(bool piff_tenc, uint32_t piff_algorithm_id, FourCC scheme_type);

// A PlayReady KID is the memory layout of a Windows GUID: the first three
// fields are little-endian. PIFF/CENC boxes hold the UUID (big-endian) order.
// The swap is its own inverse.
Uuid SwapGuidByteOrder(const Uuid& id);

// Hex without separators ("00112233..."); upper or lower case; optional
// "0x" prefix. False for odd lengths and non-hex characters.
bool ParseHex(const std::string& text, std::vector<uint8_t>* out);
std::string ToHex(const uint8_t* data, size_t size);
inline std::string ToHex(const std::vector<uint8_t>& v) { return ToHex(v.data(), v.size()); }

// How a sample is split into clear and encrypted byte ranges.
using Subsamples = std::vector<SampleEncryption::Subsample>;

// NAL-based subsamples of one AVC/HEVC sample in length-prefixed form: per
// NAL unit the length prefix and the `nal_header_size` header bytes stay
// clear and the rest is encrypted; with `whole_blocks` the encrypted part is
// cut down to whole 16-byte blocks and the remainder joins the clear part.
// Clear runs longer than 65535 bytes are split (BytesOfClearData is 16 bits).
// Fails when a NAL length runs past the end of the sample.
Status MapNalSubsamples(const uint8_t* sample, size_t size, int nal_length_size, int nal_header_size,
                        bool whole_blocks, Subsamples* out);

// The packed subsample form GStreamer's protection meta uses (qtdemux's):
// per entry a big-endian 16-bit clear size and 32-bit encrypted size.
std::vector<uint8_t> PackSubsamples(const Subsamples& subsamples);
// Reads `count` packed entries; false when `size` is too short for them.
bool UnpackSubsamples(const uint8_t* data, size_t size, size_t count, Subsamples* out);

// One AES-128 context for a whole track, reused for every sample.
class SampleCipher {
 public:
  // `key` must be 16 bytes.
  static Status Create(EncryptionScheme scheme, const std::vector<uint8_t>& key, bool encrypt,
                       std::unique_ptr<SampleCipher>* out);
  ~SampleCipher();
  SampleCipher(const SampleCipher&) = delete;
  SampleCipher& operator=(const SampleCipher&) = delete;

  // Transforms one sample from `in` to `out` (which may be the same buffer).
  // `iv` is 8 or 16 bytes (CTR) or 16 bytes (CBC). With no subsamples the
  // whole sample is encrypted (CBC: its whole blocks). Fails when the
  // subsamples do not add up to `size` or, for CBC, when an encrypted range
  // is not a multiple of 16 bytes.
  Status Process(const uint8_t* in, uint8_t* out, size_t size, const uint8_t* iv, size_t iv_size,
                 const Subsamples& subsamples);

  EncryptionScheme scheme() const { return scheme_; }

 private:
  SampleCipher() = default;
  Status Run(const uint8_t* in, uint8_t* out, size_t size);
  EncryptionScheme scheme_ = EncryptionScheme::kNone;
  bool encrypt_ = true;
  void* ctx_ = nullptr;  // EVP_CIPHER_CTX
  const void* cipher_ = nullptr;  // EVP_CIPHER
  std::vector<uint8_t> key_;
};

// Fills `out` from OpenSSL's CSPRNG.
Status RandomBytes(uint8_t* out, size_t size);

// What a packager is told about one track's encryption.
struct EncryptionSettings {
  EncryptionScheme scheme = EncryptionScheme::kNone;
  Uuid kid{};                   // UUID (big-endian) order, as in tenc
  std::vector<uint8_t> key;     // 16 bytes
  std::vector<uint8_t> iv;      // first sample's IV: 8 (CTR) or 16 bytes; empty = random
};

// Checks lengths and combinations; the message names the setting
// ("content-key must be 16 bytes (32 hex digits), got 15").
Status ValidateEncryptionSettings(const EncryptionSettings& settings);

// The IV size a scheme uses: 8 for CTR (what Smooth clients assume), 16 for CBC.
uint8_t SchemeIvSize(EncryptionScheme scheme);

// Encrypts the samples of one track and records what it did.
class TrackEncryptor {
 public:
  struct Format {
    // > 0: length-prefixed NAL units (AVC: 1, 2 or 4), encrypted by subsample.
    int nal_length_size = 0;
    int nal_header_size = 1;  // 1 for AVC, 2 for HEVC
  };
  static Status Create(const EncryptionSettings& settings, const Format& format,
                       std::unique_ptr<TrackEncryptor>* out);

  // Encrypts one sample from `in` into `out` (same size; may be the same
  // buffer) and appends its IV and subsamples to `senc`. IVs: the first one
  // is the settings' IV (or random); each following sample's IV is the
  // previous one plus 1 (a 64-bit counter for CTR, 128-bit for CBC), so no
  // two samples share key stream or IV.
  Status EncryptSample(const uint8_t* in, uint8_t* out, size_t size, SampleEncryption* senc);

  // An empty sample encryption box for the next fragment (flags 0 for whole
  // samples, 2 for subsamples; never the override flag 1).
  SampleEncryption NewFragment() const;

  // tenc fields (AlgorithmID, IV size, KID) for the track's sinf.
  TrackEncryptionFields TencFields() const;
  const std::vector<uint8_t>& first_iv() const { return first_iv_; }

 private:
  TrackEncryptor() = default;
  EncryptionSettings settings_;
  Format format_;
  std::unique_ptr<SampleCipher> cipher_;
  std::vector<uint8_t> next_iv_, first_iv_;
  Subsamples scratch_;
};

// Builds the sinf of an encrypted sample entry: frma(original_format),
// schm('piff', 0x00010001), schi(uuid-tenc).
std::vector<uint8_t> MakePiffSinf(FourCC original_format, const TrackEncryptionFields& tenc);

// The PIFF uuid-pssh box: SystemID, DataSize, Data.
std::vector<uint8_t> MakePiffPssh(const Uuid& system_id, const std::vector<uint8_t>& data);

// Decrypts samples of any number of tracks given KID -> key pairs.
class SampleDecryptor {
 public:
  void AddKey(const Uuid& kid, const std::vector<uint8_t>& key) { keys_[kid] = key; }
  bool HasKey(const Uuid& kid) const { return keys_.count(kid) != 0; }
  // The key for `kid`, or null.
  const std::vector<uint8_t>* Key(const Uuid& kid) const {
    auto it = keys_.find(kid);
    return it == keys_.end() ? nullptr : &it->second;
  }
  bool empty() const { return keys_.empty(); }
  std::vector<Uuid> Kids() const {
    std::vector<Uuid> v;
    for (auto& k : keys_) v.push_back(k.first);
    return v;
  }
  // Decrypts one sample in place.
  Status Decrypt(EncryptionScheme scheme, const Uuid& kid, uint8_t* data, size_t size, const uint8_t* iv,
                 size_t iv_size, const Subsamples& subsamples);

 private:
  std::map<Uuid, std::vector<uint8_t>> keys_;
  std::map<std::pair<Uuid, int>, std::unique_ptr<SampleCipher>> ciphers_;
};

// Parses "KID:KEY[,KID:KEY...]" (also ';' or whitespace separated), KID as
// a UUID (with or without dashes/braces) and KEY as 32 hex digits.
Status ParseKeyPairs(const std::string& text, std::vector<std::pair<Uuid, std::vector<uint8_t>>>* out);

}  // namespace piff
