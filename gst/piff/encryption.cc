// PIFF sample encryption and decryption on OpenSSL EVP; see encryption.h
// for the rules.
#include "encryption.h"


#include <cctype>
#include <cstring>

#include "box_buffer.h"
#include "libcrypto.h"

namespace piff {

uint32_t PiffAlgorithmId(EncryptionScheme scheme) {
  switch (scheme) {
    case EncryptionScheme::kPiffCtr: return kPiffAlgorithmCtr;
    case EncryptionScheme::kPiffCbc: return kPiffAlgorithmCbc;
    default: return kPiffAlgorithmClear;
  }
}

EncryptionScheme SchemeFromPiffAlgorithm(uint32_t algorithm_id) {
  if (algorithm_id == kPiffAlgorithmCtr) return EncryptionScheme::kPiffCtr;
  if (algorithm_id == kPiffAlgorithmCbc) return EncryptionScheme::kPiffCbc;
  return EncryptionScheme::kNone;
}

const char* SchemeName(EncryptionScheme scheme) {
  switch (scheme) {
    case EncryptionScheme::kPiffCtr: return "piff-ctr";
    case EncryptionScheme::kPiffCbc: return "piff-cbc";
    default: return "none";
  }
}

CipherChoice ChooseCipher(bool piff_tenc, uint32_t piff_algorithm_id, FourCC scheme_type) {
  CipherChoice c;
  if (piff_tenc) {
    c.scheme = SchemeFromPiffAlgorithm(piff_algorithm_id);
    if (c.scheme == EncryptionScheme::kPiffCtr) c.cipher_mode = "cenc";
    else if (c.scheme == EncryptionScheme::kPiffCbc) c.cipher_mode = "cbc1";
    else c.cipher_mode = "piff-" + std::to_string(piff_algorithm_id);
    return c;
  }
  std::string type = scheme_type ? FourCCToString(scheme_type) : "cenc";
  if (type == "cenc" || type == "piff") {
    c.cipher_mode = "cenc";
    c.scheme = EncryptionScheme::kPiffCtr;
  } else if (type == "cbc1") {
    c.cipher_mode = "cbc1";
    c.scheme = EncryptionScheme::kPiffCbc;
  } else {
    c.cipher_mode = type;  // cbcs, cens: pattern encryption, not decrypted here
  }
  return c;
}

uint8_t SchemeIvSize(EncryptionScheme scheme) { return scheme == EncryptionScheme::kPiffCbc ? 16 : 8; }

Uuid SwapGuidByteOrder(const Uuid& id) {
  Uuid o = id;
  std::swap(o[0], o[3]);
  std::swap(o[1], o[2]);
  std::swap(o[4], o[5]);
  std::swap(o[6], o[7]);
  return o;
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool ParseHex(const std::string& text, std::vector<uint8_t>* out) {
  std::string t = text;
  if (t.size() >= 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) t = t.substr(2);
  if (t.size() % 2) return false;
  std::vector<uint8_t> v(t.size() / 2);
  for (size_t i = 0; i < v.size(); i++) {
    int hi = HexValue(t[2 * i]), lo = HexValue(t[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    v[i] = static_cast<uint8_t>(hi << 4 | lo);
  }
  *out = std::move(v);
  return true;
}

std::string ToHex(const uint8_t* data, size_t size) {
  static const char kDigits[] = "0123456789abcdef";
  std::string s(size * 2, '0');
  for (size_t i = 0; i < size; i++) {
    s[2 * i] = kDigits[data[i] >> 4];
    s[2 * i + 1] = kDigits[data[i] & 15];
  }
  return s;
}

static void AddSubsample(Subsamples* out, uint64_t clear, uint64_t encrypted) {
  // Merge clear bytes into the previous entry when it has no encrypted part.
  if (!out->empty() && out->back().encrypted_bytes == 0) {
    clear += out->back().clear_bytes;
    out->pop_back();
  }
  while (clear > 0xffff) {
    out->push_back({0xffff, 0});
    clear -= 0xffff;
  }
  while (encrypted > 0xffffffffull) {  // not reachable with 32-bit NAL lengths, kept for safety
    out->push_back({static_cast<uint16_t>(clear), 0xfffffff0u});
    clear = 0;
    encrypted -= 0xfffffff0u;
  }
  out->push_back({static_cast<uint16_t>(clear), static_cast<uint32_t>(encrypted)});
}

Status MapNalSubsamples(const uint8_t* sample, size_t size, int nal_length_size, int nal_header_size,
                        bool whole_blocks, Subsamples* out) {
  out->clear();
  if (nal_length_size != 1 && nal_length_size != 2 && nal_length_size != 4)
    return Status::Error("unsupported NAL length size " + std::to_string(nal_length_size));
  size_t pos = 0;
  while (pos < size) {
    if (size - pos < static_cast<size_t>(nal_length_size))
      return Status::Error("NAL length prefix truncated at byte " + std::to_string(pos));
    uint64_t nal = 0;
    for (int i = 0; i < nal_length_size; i++) nal = nal << 8 | sample[pos + i];
    if (nal > size - pos - nal_length_size)
      return Status::Error("NAL unit of " + std::to_string(nal) + " bytes at byte " + std::to_string(pos) +
                           " runs past the end of the " + std::to_string(size) + "-byte sample");
    uint64_t clear = nal_length_size + std::min<uint64_t>(nal, nal_header_size);
    uint64_t encrypted = nal - std::min<uint64_t>(nal, nal_header_size);
    if (whole_blocks) {
      clear += encrypted % 16;
      encrypted -= encrypted % 16;
    }
    AddSubsample(out, clear, encrypted);
    pos += nal_length_size + nal;
  }
  return Status::Ok();
}

std::vector<uint8_t> PackSubsamples(const Subsamples& subsamples) {
  std::vector<uint8_t> packed;
  packed.reserve(subsamples.size() * 6);
  for (const auto& s : subsamples) {
    packed.push_back(static_cast<uint8_t>(s.clear_bytes >> 8));
    packed.push_back(static_cast<uint8_t>(s.clear_bytes));
    for (int i = 3; i >= 0; i--) packed.push_back(static_cast<uint8_t>(s.encrypted_bytes >> (8 * i)));
  }
  return packed;
}

bool UnpackSubsamples(const uint8_t* data, size_t size, size_t count, Subsamples* out) {
  out->clear();
  if (count > size / 6) return false;
  for (size_t i = 0; i < count; i++) {
    const uint8_t* e = data + 6 * i;
    SampleEncryption::Subsample s;
    s.clear_bytes = static_cast<uint16_t>(e[0] << 8 | e[1]);
    s.encrypted_bytes = static_cast<uint32_t>(e[2]) << 24 | static_cast<uint32_t>(e[3]) << 16 |
                        static_cast<uint32_t>(e[4]) << 8 | e[5];
    out->push_back(s);
  }
  return true;
}

// Only where a cipher context exists, i.e. libcrypto is loaded.
static const LibCrypto& Loaded() { return *GetLibCrypto(nullptr); }

Status RandomBytes(uint8_t* out, size_t size) {
  Status error;
  const LibCrypto* c = GetLibCrypto(&error);
  if (!c) return error;
  if (c->RAND_bytes(out, static_cast<int>(size)) != 1) return Status::Error("OpenSSL RAND_bytes failed");
  return Status::Ok();
}

Status SampleCipher::Create(EncryptionScheme scheme, const std::vector<uint8_t>& key, bool encrypt,
                            std::unique_ptr<SampleCipher>* out) {
  if (scheme == EncryptionScheme::kNone) return Status::Error("no encryption scheme");
  if (key.size() != 16) return Status::Error("AES-128 key must be 16 bytes, got " + std::to_string(key.size()));
  Status error;
  const LibCrypto* api = GetLibCrypto(&error);
  if (!api) return error;
  std::unique_ptr<SampleCipher> c(new SampleCipher());
  c->scheme_ = scheme;
  c->encrypt_ = encrypt;
  c->key_ = key;
  c->cipher_ = scheme == EncryptionScheme::kPiffCtr ? api->aes_128_ctr() : api->aes_128_cbc();
  EVP_CIPHER_CTX* ctx = api->CIPHER_CTX_new();
  if (!ctx) return Status::Error("OpenSSL: cannot allocate a cipher context");
  c->ctx_ = ctx;
  if (api->CipherInit_ex(ctx, static_cast<const EVP_CIPHER*>(c->cipher_), nullptr, key.data(), nullptr,
                         encrypt ? 1 : 0) != 1)
    return Status::Error("OpenSSL: cipher initialisation failed");
  api->CIPHER_CTX_set_padding(ctx, 0);
  *out = std::move(c);
  return Status::Ok();
}

SampleCipher::~SampleCipher() {
  if (ctx_) Loaded().CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX*>(ctx_));
}

Status SampleCipher::Run(const uint8_t* in, uint8_t* out, size_t size) {
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_);
  // EVP takes int lengths; feed large ranges in pieces (block aligned, so
  // CBC chaining and the CTR position carry on).
  const size_t kChunk = size_t{1} << 30;
  while (size > 0) {
    size_t n = std::min(size, kChunk);
    int produced = 0;
    if (Loaded().CipherUpdate(ctx, out, &produced, in, static_cast<int>(n)) != 1 || static_cast<size_t>(produced) != n)
      return Status::Error("OpenSSL: AES update failed");
    in += n;
    out += n;
    size -= n;
  }
  return Status::Ok();
}

Status SampleCipher::Process(const uint8_t* in, uint8_t* out, size_t size, const uint8_t* iv, size_t iv_size,
                             const Subsamples& subsamples) {
  uint8_t block[16] = {0};
  if (scheme_ == EncryptionScheme::kPiffCtr) {
    if (iv_size != 8 && iv_size != 16) return Status::Error("CTR IV must be 8 or 16 bytes, got " + std::to_string(iv_size));
  } else if (iv_size != 16) {
    return Status::Error("CBC IV must be 16 bytes, got " + std::to_string(iv_size));
  }
  memcpy(block, iv, iv_size);  // CTR with an 8-byte IV: the low half is the block counter, from 0
  auto* ctx = static_cast<EVP_CIPHER_CTX*>(ctx_);
  if (Loaded().CipherInit_ex(ctx, nullptr, nullptr, nullptr, block, -1) != 1)
    return Status::Error("OpenSSL: cannot set the IV");

  if (subsamples.empty()) {
    size_t n = scheme_ == EncryptionScheme::kPiffCbc ? size - size % 16 : size;
    Status s = Run(in, out, n);
    if (!s) return s;
    if (n < size && in != out) memcpy(out + n, in + n, size - n);
    return Status::Ok();
  }
  size_t pos = 0;
  for (const auto& sub : subsamples) {
    if (sub.clear_bytes > size - pos || sub.encrypted_bytes > size - pos - sub.clear_bytes)
      return Status::Error("subsamples describe more than the " + std::to_string(size) + "-byte sample");
    if (in != out && sub.clear_bytes) memcpy(out + pos, in + pos, sub.clear_bytes);
    pos += sub.clear_bytes;
    if (scheme_ == EncryptionScheme::kPiffCbc && sub.encrypted_bytes % 16)
      return Status::Error("CBC subsample has " + std::to_string(sub.encrypted_bytes) +
                           " encrypted bytes, not a multiple of 16");
    Status s = Run(in + pos, out + pos, sub.encrypted_bytes);
    if (!s) return s;
    pos += sub.encrypted_bytes;
  }
  if (pos != size)
    return Status::Error("subsamples describe " + std::to_string(pos) + " bytes of a " + std::to_string(size) +
                         "-byte sample");
  return Status::Ok();
}

Status ValidateEncryptionSettings(const EncryptionSettings& s) {
  if (s.scheme == EncryptionScheme::kNone) return Status::Ok();
  if (s.key.empty()) return Status::Error("content-key is required when encryption is enabled");
  if (s.key.size() != 16)
    return Status::Error("content-key must be 16 bytes (32 hex digits), got " + std::to_string(s.key.size()));
  if (s.kid == Uuid{}) return Status::Error("key-id is required when encryption is enabled");
  size_t want = SchemeIvSize(s.scheme);
  if (!s.iv.empty() && s.iv.size() != want)
    return Status::Error(std::string("iv must be ") + std::to_string(want) + " bytes (" + std::to_string(2 * want) +
                         " hex digits) for " + SchemeName(s.scheme) + ", got " + std::to_string(s.iv.size()));
  return Status::Ok();
}

Status TrackEncryptor::Create(const EncryptionSettings& settings, const Format& format,
                              std::unique_ptr<TrackEncryptor>* out) {
  Status s = ValidateEncryptionSettings(settings);
  if (!s) return s;
  if (settings.scheme == EncryptionScheme::kNone) return Status::Error("no encryption scheme");
  std::unique_ptr<TrackEncryptor> e(new TrackEncryptor());
  e->settings_ = settings;
  e->format_ = format;
  if (!(s = SampleCipher::Create(settings.scheme, settings.key, true, &e->cipher_))) return s;
  e->next_iv_ = settings.iv;
  if (e->next_iv_.empty()) {
    e->next_iv_.resize(SchemeIvSize(settings.scheme));
    if (!(s = RandomBytes(e->next_iv_.data(), e->next_iv_.size()))) return s;
  }
  e->first_iv_ = e->next_iv_;
  *out = std::move(e);
  return Status::Ok();
}

SampleEncryption TrackEncryptor::NewFragment() const {
  SampleEncryption senc;
  senc.piff = true;
  senc.flags = format_.nal_length_size > 0 ? static_cast<uint32_t>(kSencUseSubsamples) : 0u;
  senc.iv_size = static_cast<uint8_t>(next_iv_.size());
  return senc;
}

Status TrackEncryptor::EncryptSample(const uint8_t* in, uint8_t* out, size_t size, SampleEncryption* senc) {
  bool cbc = settings_.scheme == EncryptionScheme::kPiffCbc;
  scratch_.clear();
  if (format_.nal_length_size > 0) {
    Status s = MapNalSubsamples(in, size, format_.nal_length_size, format_.nal_header_size, cbc, &scratch_);
    if (!s) return s;
  }
  Status s = cipher_->Process(in, out, size, next_iv_.data(), next_iv_.size(), scratch_);
  if (!s) return s;
  SampleEncryption::Sample rec;
  rec.iv = next_iv_;
  if (senc->flags & kSencUseSubsamples) {
    rec.subsamples = scratch_;
    // A sample without NAL units still needs one entry to describe its bytes.
    if (rec.subsamples.empty() && size == 0) rec.subsamples.push_back({0, 0});
  }
  senc->samples.push_back(std::move(rec));
  // Next IV: big-endian increment (64-bit for CTR's 8-byte IV, 128-bit for CBC).
  for (size_t i = next_iv_.size(); i-- > 0;)
    if (++next_iv_[i] != 0) break;
  return Status::Ok();
}

TrackEncryptionFields TrackEncryptor::TencFields() const {
  TrackEncryptionFields f;
  f.head = PiffAlgorithmId(settings_.scheme);
  f.iv_size = static_cast<uint8_t>(next_iv_.size());
  f.kid = settings_.kid;
  return f;
}

std::vector<uint8_t> MakePiffSinf(FourCC original_format, const TrackEncryptionFields& tenc) {
  ProtectionSchemeInfoBox sinf;
  sinf.frma.data_format = original_format;
  sinf.schm.emplace();
  sinf.schm->scheme_type = MakeFourCC("piff");
  sinf.schm->scheme_version = 0x00010001;
  sinf.schi.emplace();
  sinf.schi->piff_tenc.emplace();
  sinf.schi->piff_tenc->fields = tenc;
  return sinf.Serialize();
}

std::vector<uint8_t> MakePiffPssh(const Uuid& system_id, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b;
  auto put32 = [&](uint32_t v) {
    for (int i = 3; i >= 0; i--) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  uint32_t size = static_cast<uint32_t>(8 + 16 + 4 + 16 + 4 + data.size());
  put32(size);
  put32(MakeFourCC("uuid"));
  b.insert(b.end(), kPiffPsshUuid.begin(), kPiffPsshUuid.end());
  put32(0);  // version 0, flags 0
  b.insert(b.end(), system_id.begin(), system_id.end());
  put32(static_cast<uint32_t>(data.size()));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Status SampleDecryptor::Decrypt(EncryptionScheme scheme, const Uuid& kid, uint8_t* data, size_t size,
                                const uint8_t* iv, size_t iv_size, const Subsamples& subsamples) {
  auto k = keys_.find(kid);
  if (k == keys_.end()) return Status::Error("no key for KID " + UuidToString(kid));
  auto& cipher = ciphers_[{kid, static_cast<int>(scheme)}];
  if (!cipher) {
    Status s = SampleCipher::Create(scheme, k->second, false, &cipher);
    if (!s) return s;
  }
  return cipher->Process(data, data, size, iv, iv_size, subsamples);
}

Status ParseKeyPairs(const std::string& text, std::vector<std::pair<Uuid, std::vector<uint8_t>>>* out) {
  out->clear();
  std::string item;
  size_t number = 0;
  auto flush = [&]() -> Status {
    if (item.empty()) return Status::Ok();
    number++;
    size_t colon = item.find(':');
    // Never echoed: a pair typed without its KID is a bare key, and errors
    // end up in logs.
    if (colon == std::string::npos)
      return Status::Error("item " + std::to_string(number) + " (" + std::to_string(item.size()) +
                           " characters) is not KID:KEY");
    Uuid kid;
    std::vector<uint8_t> key;
    // Nor the KID: with KID and KEY swapped, it is the key.
    if (!UuidFromString(item.substr(0, colon), &kid))
      return Status::Error("item " + std::to_string(number) + ": the KID (before ':') is not a UUID");
    if (!ParseHex(item.substr(colon + 1), &key) || key.size() != 16)
      return Status::Error("item " + std::to_string(number) + ": the key (after ':') must be 32 hex digits");
    out->emplace_back(kid, std::move(key));
    item.clear();
    return Status::Ok();
  };
  for (char c : text) {
    if (c == ',' || c == ';' || isspace(static_cast<unsigned char>(c))) {
      Status s = flush();
      if (!s) return s;
    } else {
      item.push_back(c);
    }
  }
  Status s = flush();
  if (!s) return s;
  if (out->empty()) return Status::Error("no KID:KEY pairs");
  return Status::Ok();
}

}  // namespace piff
