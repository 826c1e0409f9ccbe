// Protection boxes as a reader needs them: the sinf of an encrypted sample
// entry (encv/enca: frma, schm, schi with CENC 'tenc' or PIFF uuid-tenc), the
// per-fragment sample encryption data (CENC 'senc' or PIFF uuid-senc) and the
// protection system headers ('pssh' or PIFF uuid-pssh). Decryption is not
// done here; the demuxer passes the data on (caps, GstProtectionMeta, events).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "boxes.h"
#include "status.h"

namespace piff {

struct OriginalFormatBox : Box {
  FourCC BoxType() const override { return MakeFourCC("frma"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  FourCC data_format = 0;
};

struct SchemeTypeBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("schm"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  FourCC scheme_type = 0;        // 'cenc', 'cbcs', 'piff', ...
  uint32_t scheme_version = 0;
  std::string scheme_uri;        // only when flags & 1
};

// The 20 bytes after version/flags are laid out alike in CENC 'tenc'
// (reserved, reserved/pattern, isProtected, IV size, KID) and PIFF uuid-tenc
// (24-bit AlgorithmID, IV size, KID): only the third byte's meaning differs.
struct TrackEncryptionFields {
  uint32_t head = 0;  // first three bytes (CENC: reserved + isProtected; PIFF: AlgorithmID)
  uint8_t iv_size = 8;
  Uuid kid{};
  bool ReadWrite(BoxBuffer& b);
};

struct TrackEncryptionBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("tenc"); }
  bool ReadWriteFullBody(BoxBuffer& b) override { return fields.ReadWrite(b); }
  TrackEncryptionFields fields;
};

struct PiffTrackEncryptionBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("uuid"); }
  const Uuid* ExtendedType() const override { return &kPiffTencUuid; }
  std::string Name() const override { return "tenc(piff)"; }
  bool ReadWriteFullBody(BoxBuffer& b) override { return fields.ReadWrite(b); }
  TrackEncryptionFields fields;
};

struct SchemeInformationBox : Box {
  FourCC BoxType() const override { return MakeFourCC("schi"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  std::optional<TrackEncryptionBox> tenc;
  std::optional<PiffTrackEncryptionBox> piff_tenc;
  RawBoxes other;
};

struct ProtectionSchemeInfoBox : Box {
  FourCC BoxType() const override { return MakeFourCC("sinf"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  OriginalFormatBox frma;
  std::optional<SchemeTypeBox> schm;
  std::optional<SchemeInformationBox> schi;
  RawBoxes other;
};

// What an encrypted track says about itself.
struct TrackProtection {
  FourCC original_format = 0;  // frma: avc1, mp4a, ...
  FourCC scheme_type = 0;      // 0 when there is no schm
  uint32_t scheme_version = 0;
  bool has_default_kid = false;
  uint8_t iv_size = 0;
  Uuid default_kid{};
};

// Looks for a sinf among the child boxes of a sample entry (its `other`).
// *found is false (and Ok returned) when there is none; a sinf that does not
// parse is an error naming it.
Status FindTrackProtection(const RawBoxes& entry_children, TrackProtection* out, bool* found);

// The sample encryption box of one traf ('senc' or PIFF uuid-senc), parsed
// with the IV size the track declares (unless the box overrides it, flag 1).
struct SampleEncryption {
  struct Subsample {
    uint16_t clear_bytes = 0;
    uint32_t encrypted_bytes = 0;
  };
  struct Sample {
    std::vector<uint8_t> iv;
    std::vector<Subsample> subsamples;  // empty: the whole sample is encrypted
  };
  bool piff = false;
  uint32_t flags = 0;
  uint8_t iv_size = 0;
  std::optional<Uuid> kid;  // PIFF override (flag 1)
  std::vector<Sample> samples;
};

enum : uint32_t {
  kSencOverrideTrackEncryption = 0x1,  // PIFF only: AlgorithmID, IV size and KID follow
  kSencUseSubsamples = 0x2,
};

Status ParseSampleEncryption(const std::vector<uint8_t>& raw_box, uint8_t default_iv_size, SampleEncryption* out);
// Finds and parses the sample encryption box of `traf` (in traf.other).
Status FindSampleEncryption(const TrackFragmentBox& traf, uint8_t default_iv_size, SampleEncryption* out,
                            bool* found);
// Serialises a sample encryption box (for tests and a future encrypting muxer).
std::vector<uint8_t> SerializeSampleEncryption(const SampleEncryption& senc);

// A protection system header: 'pssh' or the PIFF uuid-pssh, kept whole.
struct ProtectionSystemHeader {
  Uuid system_id{};
  bool piff = false;
  std::vector<uint8_t> box;  // the complete box, header included
  std::vector<uint8_t> data; // the system-specific payload (e.g. a PlayReady Object)
};

// True when `bytes` is exactly one whole 'pssh' or PIFF uuid-pssh box.
bool IsProtectionSystemHeaderBox(const std::vector<uint8_t>& bytes);

// Every pssh / uuid-pssh among `children` (moov.other, or moof.other).
// Boxes that are too short to hold a SystemID are skipped.
std::vector<ProtectionSystemHeader> FindProtectionSystemHeaders(const RawBoxes& children);

}  // namespace piff
