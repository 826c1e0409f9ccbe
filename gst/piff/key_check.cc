// Rules for telling a wrong decryption key (see key_check.h).
#include "key_check.h"

#include <algorithm>
#include <cstring>

#include "codec_config.h"
#include "encryption.h"
#include "playready.h"

namespace piff {

KidMatch MatchKid(const Uuid& kid, const std::vector<Uuid>& track_kids) {
  if (std::find(track_kids.begin(), track_kids.end(), kid) != track_kids.end()) return KidMatch::kTrack;
  Uuid swapped = SwapGuidByteOrder(kid);
  if (std::find(track_kids.begin(), track_kids.end(), swapped) != track_kids.end()) return KidMatch::kSwappedTrack;
  return KidMatch::kNone;
}

bool KeyLooksLikeKid(const std::vector<uint8_t>& key, const std::vector<Uuid>& track_kids) {
  if (key.size() != 16) return false;
  Uuid u;
  std::copy(key.begin(), key.end(), u.begin());
  return MatchKid(u, track_kids) != KidMatch::kNone;
}

const char* ChecksumVerdictName(ChecksumVerdict v) {
  switch (v) {
    case ChecksumVerdict::kMatches:
      return "matches";
    case ChecksumVerdict::kDiffers:
      return "differs";
    default:
      return "no checksum";
  }
}

ChecksumVerdict VerifyPlayReadyChecksum(const std::vector<uint8_t>& checksum, const Uuid& kid,
                                        const std::vector<uint8_t>& key) {
  std::vector<uint8_t> want;
  if (checksum.empty() || !PlayReadyChecksum(kid, key, &want)) return ChecksumVerdict::kNoChecksum;
  return want == checksum ? ChecksumVerdict::kMatches : ChecksumVerdict::kDiffers;
}

ChecksumVerdict CheckKeyWithPlayReadyHeaders(const std::vector<ProtectionSystemHeader>& headers, const Uuid& kid,
                                             const std::vector<uint8_t>& key) {
  ChecksumVerdict verdict = ChecksumVerdict::kNoChecksum;
  for (const ProtectionSystemHeader& h : headers) {
    if (h.system_id != kPlayReadySystemId) continue;
    PlayReadyObjectInfo pro;
    if (!ParsePlayReadyObject(h.data, &pro)) continue;
    for (size_t i = 0; i < pro.kids.size() && i < pro.checksums.size(); i++) {
      if (pro.kids[i] != kid) continue;
      const std::string& alg = i < pro.algorithms.size() ? pro.algorithms[i] : std::string();
      if (!alg.empty() && alg != "AESCTR") continue;
      ChecksumVerdict v = VerifyPlayReadyChecksum(pro.checksums[i], kid, key);
      if (v == ChecksumVerdict::kDiffers) return v;
      if (v == ChecksumVerdict::kMatches) verdict = v;
    }
  }
  return verdict;
}

namespace {

// Reads the bits of an RBSP from NAL unit bytes, dropping emulation
// prevention bytes (00 00 03).
class RbspBits {
 public:
  RbspBits(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool Bit(uint32_t* b) {
    if (bit_ == 0) {
      if (pos_ >= size_) return false;
      if (zeros_ >= 2 && data_[pos_] == 3) {
        zeros_ = 0;
        if (++pos_ >= size_) return false;
      }
      zeros_ = data_[pos_] == 0 ? zeros_ + 1 : 0;
      cur_ = data_[pos_++];
      bit_ = 8;
    }
    *b = (cur_ >> --bit_) & 1;
    return true;
  }
  bool Bits(int n, uint32_t* v) {
    *v = 0;
    for (int i = 0; i < n; i++) {
      uint32_t b;
      if (!Bit(&b)) return false;
      *v = (*v << 1) | b;
    }
    return true;
  }
  // Exp-Golomb ue(v); false past the end or beyond 31 leading zeros.
  bool Ue(uint32_t* v) {
    int zeros = 0;
    uint32_t b;
    for (;;) {
      if (!Bit(&b)) return false;
      if (b) break;
      if (++zeros > 31) return false;
    }
    uint32_t rest;
    if (!Bits(zeros, &rest)) return false;
    *v = static_cast<uint32_t>((uint64_t(1) << zeros) - 1 + rest);
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
  int bit_ = 0;
  int zeros_ = 0;
  uint8_t cur_ = 0;
};

// first_mb_in_slice, slice_type and pic_parameter_set_id of a slice NAL.
SampleVerdict CheckSliceHeader(const uint8_t* nal, size_t size, const AvcSampleRules& rules) {
  uint32_t type = nal[0] & 0x1f;
  RbspBits r(nal + 1, size - 1);
  uint32_t first_mb, slice_type, pps_id;
  if (!r.Ue(&first_mb) || !r.Ue(&slice_type) || !r.Ue(&pps_id)) return SampleVerdict::kImplausible;
  if (first_mb != 0 && !rules.arbitrary_slice_order) return SampleVerdict::kImplausible;
  if (slice_type > 9 || pps_id > 255) return SampleVerdict::kImplausible;
  if (type == 5 && slice_type % 5 != 2 && slice_type % 5 != 4) return SampleVerdict::kImplausible;  // IDR: I or SI
  if (!rules.pps_ids.empty() && std::find(rules.pps_ids.begin(), rules.pps_ids.end(), pps_id) == rules.pps_ids.end())
    return SampleVerdict::kImplausible;
  return SampleVerdict::kPlausible;
}

}  // namespace

AvcSampleRules AvcSampleRulesFor(const std::vector<uint8_t>& avcc) {
  AvcSampleRules rules;
  AvcDecoderConfig c;
  if (!AvcDecoderConfig::Parse(avcc.data(), avcc.size(), &c)) return rules;
  rules.nal_length_size = c.length_size;
  for (const auto& pps : c.pps) {
    // pic_parameter_set_id is the PPS's first syntax element.
    if (pps.size() < 2) continue;
    RbspBits r(pps.data() + 1, pps.size() - 1);
    uint32_t id;
    if (r.Ue(&id)) rules.pps_ids.push_back(id);
  }
  // ASO is allowed in Baseline only, and not when constraint_set1 (the
  // Constrained Baseline / Main compatibility flag) is set.
  rules.arbitrary_slice_order = c.profile_indication == 66 && !(c.profile_compatibility & 0x40);
  return rules;
}

SampleVerdict CheckAvcSample(const uint8_t* data, size_t size, const AvcSampleRules& rules) {
  const size_t n = static_cast<size_t>(rules.nal_length_size);
  if (n != 1 && n != 2 && n != 4) return SampleVerdict::kUndecided;
  SampleVerdict verdict = SampleVerdict::kUndecided;
  bool slice_seen = false;
  size_t pos = 0;
  while (pos < size) {
    if (size - pos < n) return SampleVerdict::kImplausible;
    size_t len = 0;
    for (size_t k = 0; k < n; k++) len = (len << 8) | data[pos + k];
    pos += n;
    if (len == 0 || len > size - pos) return SampleVerdict::kImplausible;
    const uint8_t* nal = data + pos;
    if (nal[0] & 0x80) return SampleVerdict::kImplausible;  // forbidden_zero_bit
    uint32_t type = nal[0] & 0x1f;
    if ((type == 1 || type == 5) && !slice_seen) {
      slice_seen = true;
      verdict = CheckSliceHeader(nal, len, rules);
    }
    pos += len;
  }
  return verdict;
}

SampleVerdict CheckAacFrame(const uint8_t* data, size_t size, uint8_t channel_configuration) {
  if (channel_configuration != 1 && channel_configuration != 2) return SampleVerdict::kUndecided;
  RbspBits r(data, size);  // AAC has no emulation prevention, but the reader is only used for 4 bytes
  uint32_t id, tag, common_window = 0, global_gain, reserved, window_sequence, window_shape, max_sfb;
  if (size < 4 || !r.Bits(3, &id) || !r.Bits(4, &tag)) return SampleVerdict::kUndecided;
  enum { kSce = 0, kCpe = 1, kDse = 4, kPce = 5, kFil = 6 };
  if (id == kDse || id == kPce || id == kFil) return SampleVerdict::kUndecided;
  if (id != (channel_configuration == 1 ? uint32_t(kSce) : uint32_t(kCpe))) return SampleVerdict::kImplausible;
  if (id == kCpe && !r.Bit(&common_window)) return SampleVerdict::kUndecided;
  // With a common window ics_info comes first, else the channel's global_gain.
  if (!common_window && !r.Bits(8, &global_gain)) return SampleVerdict::kUndecided;
  if (!r.Bit(&reserved) || !r.Bits(2, &window_sequence) || !r.Bit(&window_shape)) return SampleVerdict::kUndecided;
  if (reserved) return SampleVerdict::kImplausible;
  if (window_sequence == 2) return SampleVerdict::kPlausible;  // eight short windows: max_sfb is 4 bits, <= 15
  if (!r.Bits(6, &max_sfb)) return SampleVerdict::kUndecided;
  // 51 is the largest number of long-window scale factor bands (any rate).
  return max_sfb <= 51 ? SampleVerdict::kPlausible : SampleVerdict::kImplausible;
}

}  // namespace piff
