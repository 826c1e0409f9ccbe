// avcC <-> Annex-B CodecPrivateData, AAC AudioSpecificConfig, hex helpers.
#include "codec_config.h"

#include <cctype>

namespace piff {

namespace {

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes hex and reports where it failed, so callers can say why.
// Returns an empty string on success, else the reason.
std::string HexDecodeWithReason(const std::string& hex, std::vector<uint8_t>* out) {
  if (hex.size() % 2 != 0)
    return "odd number of hex digits (" + std::to_string(hex.size()) + ")";
  out->clear();
  out->reserve(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = HexDigitValue(hex[i]);
    int lo = HexDigitValue(hex[i + 1]);
    if (hi < 0 || lo < 0) {
      size_t bad = hi < 0 ? i : i + 1;
      return "not a hex digit at offset " + std::to_string(bad);
    }
    out->push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return std::string();
}

// MSB-first bit reader over a byte range; every read is bounds-checked and a
// failed read leaves the position unchanged.
class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint64_t BitsLeft() const { return static_cast<uint64_t>(size_) * 8 - pos_; }

  bool Read(unsigned bits, uint32_t* out) {
    if (bits > 32 || bits > BitsLeft()) return false;
    uint32_t v = 0;
    for (unsigned i = 0; i < bits; i++) {
      uint8_t byte = data_[pos_ >> 3];
      v = (v << 1) | ((byte >> (7 - (pos_ & 7))) & 1u);
      pos_++;
    }
    *out = v;
    return true;
  }

  bool Skip(unsigned bits) {
    if (bits > BitsLeft()) return false;
    pos_ += bits;
    return true;
  }

  // Exp-Golomb ue(v). Values beyond 32 bits never occur in the SPS fields we
  // read, so longer prefixes are treated as corrupt.
  bool ReadUe(uint32_t* out) {
    unsigned zeros = 0;
    uint32_t bit = 0;
    while (true) {
      if (!Read(1, &bit)) return false;
      if (bit) break;
      if (++zeros > 31) return false;
    }
    uint32_t suffix = 0;
    if (!Read(zeros, &suffix)) return false;
    *out = static_cast<uint32_t>((uint64_t{1} << zeros) - 1 + suffix);
    return true;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  uint64_t pos_ = 0;
};

class BitWriter {
 public:
  void Write(unsigned bits, uint32_t value) {
    for (unsigned i = bits; i-- > 0;) {
      if (used_ == 0) bytes_.push_back(0);
      if ((value >> i) & 1u) bytes_.back() |= static_cast<uint8_t>(0x80u >> used_);
      used_ = (used_ + 1) & 7;
    }
  }
  // Zero padding to the byte boundary is implicit: bytes_ starts at zero.
  std::vector<uint8_t> Take() { return std::move(bytes_); }

 private:
  std::vector<uint8_t> bytes_;
  unsigned used_ = 0;  // bits used in the last byte, 0 = start a new byte
};

const uint32_t kAacRates[13] = {96000, 88200, 64000, 48000, 44100, 32000, 24000,
                                22050, 16000, 12000, 11025, 8000,  7350};

// Removes emulation-prevention bytes (00 00 03 -> 00 00) so the SPS can be
// read as a bit string.
std::vector<uint8_t> NalToRbsp(const std::vector<uint8_t>& nal) {
  std::vector<uint8_t> rbsp;
  rbsp.reserve(nal.size());
  int zeros = 0;
  for (uint8_t b : nal) {
    if (zeros >= 2 && b == 3) {
      zeros = 0;
      continue;
    }
    zeros = b == 0 ? zeros + 1 : 0;
    rbsp.push_back(b);
  }
  return rbsp;
}

// Profiles whose SPS carries chroma_format_idc and bit depths (H.264 7.3.2.1.1).
bool SpsHasChromaInfo(uint8_t profile) {
  switch (profile) {
    case 100: case 110: case 122: case 244: case 44: case 83:
    case 86: case 118: case 128: case 138: case 139: case 134: case 135:
      return true;
    default:
      return false;
  }
}

// Builds the avcC High-profile extension block from an SPS. Returns false if
// the SPS is too damaged to read; the caller then leaves the block out.
bool BuildAvcHighProfileBlock(const std::vector<uint8_t>& sps_nal, std::vector<uint8_t>* block) {
  std::vector<uint8_t> rbsp = NalToRbsp(sps_nal);
  BitReader br(rbsp.data(), rbsp.size());
  uint32_t header = 0, profile = 0, sps_id = 0;
  if (!br.Read(8, &header) || !br.Read(8, &profile) || !br.Skip(16) || !br.ReadUe(&sps_id))
    return false;
  uint32_t chroma = 1, depth_luma = 0, depth_chroma = 0;
  if (SpsHasChromaInfo(static_cast<uint8_t>(profile))) {
    if (!br.ReadUe(&chroma) || chroma > 3) return false;
    if (chroma == 3 && !br.Skip(1)) return false;  // separate_colour_plane_flag
    if (!br.ReadUe(&depth_luma) || !br.ReadUe(&depth_chroma)) return false;
    if (depth_luma > 7 || depth_chroma > 7) return false;
  }
  *block = {static_cast<uint8_t>(0xFC | chroma), static_cast<uint8_t>(0xF8 | depth_luma),
            static_cast<uint8_t>(0xF8 | depth_chroma), 0 /* numOfSequenceParameterSetExt */};
  return true;
}

bool ReadAudioObjectType(BitReader& br, uint32_t* out) {
  uint32_t ot = 0;
  if (!br.Read(5, &ot)) return false;
  if (ot == 31) {
    uint32_t ext = 0;
    if (!br.Read(6, &ext)) return false;
    ot = 32 + ext;
  }
  *out = ot;
  return true;
}

void WriteAudioObjectType(BitWriter& bw, uint32_t ot) {
  if (ot < 31) {
    bw.Write(5, ot);
  } else {
    bw.Write(5, 31);
    bw.Write(6, ot - 32);
  }
}

// Reads a sampling frequency index and, for index 15, the explicit rate.
Status ReadSamplingFrequency(BitReader& br, uint8_t* index, uint32_t* rate, const char* what) {
  uint32_t idx = 0;
  if (!br.Read(4, &idx)) return Status::Error(std::string("ASC: truncated in ") + what);
  uint32_t r = 0;
  if (idx == 15) {
    if (!br.Read(24, &r)) return Status::Error(std::string("ASC: truncated in explicit ") + what);
    if (r == 0) return Status::Error(std::string("ASC: explicit ") + what + " is 0");
  } else {
    r = AacSamplingRateForIndex(static_cast<uint8_t>(idx));
    if (r == 0)
      return Status::Error(std::string("ASC: reserved ") + what + " index " + std::to_string(idx));
  }
  *index = static_cast<uint8_t>(idx);
  *rate = r;
  return Status::Ok();
}

void WriteSamplingFrequency(BitWriter& bw, uint8_t index, uint32_t rate) {
  // A table rate behind the "explicit" index is written in its short form.
  uint8_t idx = index == 15 ? AacSamplingIndexForRate(rate) : index;
  bw.Write(4, idx);
  if (idx == 15) bw.Write(24, rate & 0xFFFFFFu);
}

// Object types whose config is a GASpecificConfig (14496-3 table 1.15).
bool IsGaObjectType(uint32_t ot) {
  switch (ot) {
    case 1: case 2: case 3: case 4: case 6: case 7:
    case 17: case 19: case 20: case 21: case 22: case 23:
      return true;
    default:
      return false;
  }
}

// Skips GASpecificConfig (and epConfig) so the backward-compatible SBR/PS
// sync extension that may follow can be found. False when it cannot be
// skipped reliably (a program_config_element, or a truncated config).
bool SkipGaSpecificConfig(BitReader& br, uint32_t ot, uint8_t channel_configuration) {
  uint32_t frame_length = 0, depends_on_core = 0, extension = 0;
  if (!br.Read(1, &frame_length) || !br.Read(1, &depends_on_core)) return false;
  if (depends_on_core && !br.Skip(14)) return false;  // coreCoderDelay
  if (!br.Read(1, &extension)) return false;
  // channelConfiguration 0 means a PCE follows; its length depends on its
  // content and the stream is too rare in Smooth Streaming to be worth it.
  if (channel_configuration == 0) return false;
  if ((ot == 6 || ot == 20) && !br.Skip(3)) return false;  // layerNr
  if (extension) {
    if (ot == 22 && !br.Skip(5 + 11)) return false;  // numOfSubFrame, layer_length
    if ((ot == 17 || ot == 19 || ot == 20 || ot == 23) && !br.Skip(3)) return false;
    if (!br.Skip(1)) return false;  // extensionFlag3
  }
  if (ot >= 17 && ot <= 27 && !br.Skip(2)) return false;  // epConfig
  return true;
}

}  // namespace

std::string HexEncode(const uint8_t* data, size_t size, bool upper) {
  const char* digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
  std::string s;
  s.reserve(size * 2);
  for (size_t i = 0; i < size; i++) {
    s += digits[data[i] >> 4];
    s += digits[data[i] & 15];
  }
  return s;
}

bool HexDecode(const std::string& hex, std::vector<uint8_t>* out) {
  return HexDecodeWithReason(hex, out).empty();
}

// ---------------------------------------------------------------------------
// avcC

Status AvcDecoderConfig::Parse(const uint8_t* data, size_t size, AvcDecoderConfig* out) {
  auto truncated = [](const char* field, size_t need, size_t left) {
    return Status::Error(std::string("avcC: truncated in ") + field + ": need " +
                         std::to_string(need) + " bytes, " + std::to_string(left) + " left");
  };
  if (size < 6) return truncated("header", 6, size);
  AvcDecoderConfig c;
  c.configuration_version = data[0];
  if (c.configuration_version != 1)
    return Status::Error("avcC: unsupported configurationVersion " +
                         std::to_string(c.configuration_version));
  c.profile_indication = data[1];
  c.profile_compatibility = data[2];
  c.level_indication = data[3];
  unsigned length_minus_one = data[4] & 3u;
  if (length_minus_one == 2)
    return Status::Error("avcC: lengthSizeMinusOne 2 (3-byte NAL lengths) is not allowed");
  c.length_size = static_cast<uint8_t>(length_minus_one + 1);
  c.reserved_length_bits = data[4] & 0xFC;
  c.reserved_sps_count_bits = data[5] & 0xE0;
  unsigned num_sps = data[5] & 0x1Fu;
  size_t pos = 6;
  for (unsigned i = 0; i < num_sps; i++) {
    if (size - pos < 2) return truncated("SPS length", 2, size - pos);
    size_t len = (static_cast<size_t>(data[pos]) << 8) | data[pos + 1];
    pos += 2;
    if (size - pos < len) return truncated("SPS", len, size - pos);
    c.sps.emplace_back(data + pos, data + pos + len);
    pos += len;
  }
  if (size - pos < 1) return truncated("PPS count", 1, size - pos);
  unsigned num_pps = data[pos++];
  for (unsigned i = 0; i < num_pps; i++) {
    if (size - pos < 2) return truncated("PPS length", 2, size - pos);
    size_t len = (static_cast<size_t>(data[pos]) << 8) | data[pos + 1];
    pos += 2;
    if (size - pos < len) return truncated("PPS", len, size - pos);
    c.pps.emplace_back(data + pos, data + pos + len);
    pos += len;
  }
  c.trailing.assign(data + pos, data + size);
  *out = std::move(c);
  return Status::Ok();
}

std::vector<uint8_t> AvcDecoderConfig::Serialize() const {
  std::vector<uint8_t> out;
  out.push_back(configuration_version);
  out.push_back(profile_indication);
  out.push_back(profile_compatibility);
  out.push_back(level_indication);
  uint8_t length_minus_one = length_size == 1 ? 0 : length_size == 2 ? 1 : 3;
  out.push_back(static_cast<uint8_t>((reserved_length_bits & 0xFC) | length_minus_one));
  auto put_sets = [&out](const std::vector<std::vector<uint8_t>>& sets, size_t count) {
    for (size_t i = 0; i < count; i++) {
      size_t len = sets[i].size() > 0xFFFF ? 0xFFFF : sets[i].size();
      out.push_back(static_cast<uint8_t>(len >> 8));
      out.push_back(static_cast<uint8_t>(len));
      out.insert(out.end(), sets[i].begin(), sets[i].begin() + static_cast<ptrdiff_t>(len));
    }
  };
  size_t num_sps = sps.size() > 31 ? 31 : sps.size();
  out.push_back(static_cast<uint8_t>((reserved_sps_count_bits & 0xE0) | num_sps));
  put_sets(sps, num_sps);
  size_t num_pps = pps.size() > 255 ? 255 : pps.size();
  out.push_back(static_cast<uint8_t>(num_pps));
  put_sets(pps, num_pps);
  out.insert(out.end(), trailing.begin(), trailing.end());
  return out;
}

std::string AvcConfigToCodecPrivateData(const AvcDecoderConfig& config) {
  static const uint8_t kStartCode[4] = {0, 0, 0, 1};
  std::string hex;
  if (!config.sps.empty()) {
    hex += HexEncode(kStartCode, 4);
    hex += HexEncode(config.sps[0]);
  }
  if (!config.pps.empty()) {
    hex += HexEncode(kStartCode, 4);
    hex += HexEncode(config.pps[0]);
  }
  return hex;
}

Status CodecPrivateDataToAvcConfig(const std::string& hex_in, AvcDecoderConfig* out) {
  const std::string where = "CodecPrivateData (H.264)";
  size_t b = 0, e = hex_in.size();
  while (b < e && std::isspace(static_cast<unsigned char>(hex_in[b]))) b++;
  while (e > b && std::isspace(static_cast<unsigned char>(hex_in[e - 1]))) e--;
  std::vector<uint8_t> bytes;
  std::string reason = HexDecodeWithReason(hex_in.substr(b, e - b), &bytes);
  if (!reason.empty()) return Status::Error(where + ": " + reason);

  // Find every 00 00 01; a 4-byte start code is the same pattern with one
  // more zero, which trailing-zero stripping below removes from the NAL before.
  std::vector<size_t> starts;  // index of the first NAL byte after each start code
  for (size_t i = 0; i + 2 < bytes.size(); i++) {
    if (bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] == 1) {
      starts.push_back(i + 3);
      i += 2;
    }
  }
  if (starts.empty())
    return Status::Error(where + ": no Annex-B start code (00000001)");
  for (size_t i = 0; i + 3 < starts[0]; i++) {
    if (bytes[i] != 0)
      return Status::Error(where + ": data before the first start code");
  }

  AvcDecoderConfig c;
  for (size_t k = 0; k < starts.size(); k++) {
    size_t begin = starts[k];
    size_t end = k + 1 < starts.size() ? starts[k + 1] - 3 : bytes.size();
    // An SPS/PPS never ends in a zero byte (rbsp_trailing_bits), so zeros
    // here are trailing_zero_8bits or the first byte of a 4-byte start code.
    while (end > begin && bytes[end - 1] == 0) end--;
    if (end == begin) continue;
    std::vector<uint8_t> nal(bytes.begin() + static_cast<ptrdiff_t>(begin),
                             bytes.begin() + static_cast<ptrdiff_t>(end));
    unsigned type = nal[0] & 0x1Fu;
    if (type == 7)
      c.sps.push_back(std::move(nal));
    else if (type == 8)
      c.pps.push_back(std::move(nal));
  }
  if (c.sps.empty()) return Status::Error(where + ": no SPS (NAL type 7)");
  if (c.pps.empty()) return Status::Error(where + ": no PPS (NAL type 8)");
  if (c.sps.size() > 31)
    return Status::Error(where + ": " + std::to_string(c.sps.size()) + " SPS, avcC holds at most 31");
  if (c.pps.size() > 255)
    return Status::Error(where + ": " + std::to_string(c.pps.size()) + " PPS, avcC holds at most 255");
  for (const auto& set : c.sps)
    if (set.size() > 0xFFFF) return Status::Error(where + ": SPS larger than 65535 bytes");
  for (const auto& set : c.pps)
    if (set.size() > 0xFFFF) return Status::Error(where + ": PPS larger than 65535 bytes");
  const std::vector<uint8_t>& sps = c.sps[0];
  if (sps.size() < 4)
    return Status::Error(where + ": SPS too short (" + std::to_string(sps.size()) + " bytes)");
  c.profile_indication = sps[1];
  c.profile_compatibility = sps[2];
  c.level_indication = sps[3];
  c.length_size = 4;
  // 14496-15 adds the chroma/bit-depth block for every profile other than
  // Baseline, Main and Extended; without it some decoders assume 4:2:0 8-bit.
  if (c.profile_indication != 66 && c.profile_indication != 77 && c.profile_indication != 88) {
    std::vector<uint8_t> block;
    if (BuildAvcHighProfileBlock(sps, &block)) c.trailing = std::move(block);
  }
  *out = std::move(c);
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// AudioSpecificConfig

uint32_t AacSamplingRateForIndex(uint8_t index) {
  return index < 13 ? kAacRates[index] : 0;
}

uint8_t AacSamplingIndexForRate(uint32_t rate) {
  for (uint8_t i = 0; i < 13; i++)
    if (kAacRates[i] == rate) return i;
  return 15;
}

Status AudioSpecificConfig::Parse(const uint8_t* data, size_t size, AudioSpecificConfig* out) {
  BitReader br(data, size);
  AudioSpecificConfig c;
  uint32_t ot = 0;
  if (!ReadAudioObjectType(br, &ot)) return Status::Error("ASC: truncated in audioObjectType");
  if (ot == 0) return Status::Error("ASC: audioObjectType 0 is not allowed");
  Status s = ReadSamplingFrequency(br, &c.sampling_frequency_index, &c.sampling_rate,
                                   "samplingFrequency");
  if (!s) return s;
  uint32_t channels = 0;
  if (!br.Read(4, &channels)) return Status::Error("ASC: truncated in channelConfiguration");
  c.channel_configuration = static_cast<uint8_t>(channels);

  if (ot == 5 || ot == 29) {
    // Explicit hierarchical signalling: the SBR rate, then the core type.
    c.sbr_present = true;
    c.ps_present = ot == 29;
    c.explicit_hierarchical = true;
    s = ReadSamplingFrequency(br, &c.extension_sampling_frequency_index,
                              &c.extension_sampling_rate, "extensionSamplingFrequency");
    if (!s) return s;
    if (!ReadAudioObjectType(br, &ot)) return Status::Error("ASC: truncated in core audioObjectType");
    if (ot == 0 || ot == 5 || ot == 29)
      return Status::Error("ASC: invalid core audioObjectType " + std::to_string(ot));
  }
  c.object_type = ot;

  // Backward-compatible SBR/PS signalling trails the core config. Only worth
  // looking for when the core config could be skipped and nothing was
  // signalled explicitly.
  if (!c.explicit_hierarchical && IsGaObjectType(ot) &&
      SkipGaSpecificConfig(br, ot, c.channel_configuration) && br.BitsLeft() >= 16) {
    uint32_t sync = 0, ext_ot = 0, flag = 0;
    if (br.Read(11, &sync) && sync == 0x2B7 && ReadAudioObjectType(br, &ext_ot) && ext_ot == 5 &&
        br.Read(1, &flag)) {
      c.sbr_present = flag != 0;
      if (c.sbr_present) {
        s = ReadSamplingFrequency(br, &c.extension_sampling_frequency_index,
                                  &c.extension_sampling_rate, "extensionSamplingFrequency");
        if (!s) return s;
        if (br.BitsLeft() >= 12 && br.Read(11, &sync) && sync == 0x548 && br.Read(1, &flag))
          c.ps_present = flag != 0;
      }
    }
  }
  c.original_bytes.assign(data, data + size);
  *out = std::move(c);
  return Status::Ok();
}

std::vector<uint8_t> AudioSpecificConfig::Serialize() const {
  if (!original_bytes.empty()) return original_bytes;
  BitWriter bw;
  bool hierarchical = sbr_present || ps_present;
  WriteAudioObjectType(bw, hierarchical ? (ps_present ? 29u : 5u) : object_type);
  WriteSamplingFrequency(bw, sampling_frequency_index, sampling_rate);
  bw.Write(4, channel_configuration & 0xFu);
  if (hierarchical) {
    uint32_t ext_rate = extension_sampling_rate ? extension_sampling_rate : sampling_rate * 2;
    WriteSamplingFrequency(bw, extension_sampling_rate ? extension_sampling_frequency_index : 15,
                           ext_rate);
    WriteAudioObjectType(bw, object_type);
  }
  // frameLengthFlag, dependsOnCoreCoder, extensionFlag: all zero.
  if (IsGaObjectType(object_type)) bw.Write(3, 0);
  return bw.Take();
}

AudioSpecificConfig AudioSpecificConfig::MakeLc(uint32_t rate, uint32_t channels) {
  AudioSpecificConfig c;
  c.object_type = 2;
  c.sampling_rate = rate;
  c.sampling_frequency_index = AacSamplingIndexForRate(rate);
  if (channels <= 6)
    c.channel_configuration = static_cast<uint8_t>(channels);
  else if (channels == 8)
    c.channel_configuration = 7;
  else
    c.channel_configuration = 0;
  return c;
}

std::string AudioSpecificConfig::SmoothFourCC() const {
  if (ps_present) return "AACP";
  if (sbr_present) return "AACH";
  return "AACL";
}

}  // namespace piff
