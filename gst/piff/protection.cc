// Protection boxes (sinf tree, senc / PIFF uuid-senc, pssh / PIFF uuid-pssh):
// CENC and PIFF 1.1 lay these out nearly alike, so both are read here, once.
#include "protection.h"

#include <algorithm>

namespace piff {

bool OriginalFormatBox::ReadWriteBody(BoxBuffer& b) { return b.Code(data_format); }

bool SchemeTypeBox::ReadWriteFullBody(BoxBuffer& b) {
  if (!b.Code(scheme_type) || !b.U32(scheme_version)) return false;
  return (flags & 1) ? b.CString(scheme_uri) : true;
}

bool TrackEncryptionFields::ReadWrite(BoxBuffer& b) {
  return b.U24(head) && b.U8(iv_size) && b.UuidField(kid);
}

bool SchemeInformationBox::ReadWriteBody(BoxBuffer& b) {
  return b.OptionalChild(tenc) && b.OptionalChild(piff_tenc) && b.UnknownChildren(other);
}

bool ProtectionSchemeInfoBox::ReadWriteBody(BoxBuffer& b) {
  return b.Child(frma) && b.OptionalChild(schm) && b.OptionalChild(schi) && b.UnknownChildren(other);
}

Status FindTrackProtection(const RawBoxes& entry_children, TrackProtection* out, bool* found) {
  *found = false;
  for (const auto& raw : entry_children) {
    BoxHeader h;
    if (!ParseBoxHeader(raw.data(), raw.size(), &h) || h.type != MakeFourCC("sinf")) continue;
    ProtectionSchemeInfoBox sinf;
    Status s = sinf.Parse(raw.data(), raw.size());
    if (!s) return s;
    *out = TrackProtection();
    out->original_format = sinf.frma.data_format;
    if (sinf.schm) {
      out->scheme_type = sinf.schm->scheme_type;
      out->scheme_version = sinf.schm->scheme_version;
    }
    if (sinf.schi) {
      const TrackEncryptionFields* f = nullptr;
      if (sinf.schi->tenc) f = &sinf.schi->tenc->fields;
      else if (sinf.schi->piff_tenc) f = &sinf.schi->piff_tenc->fields;
      if (f) {
        out->has_default_kid = true;
        out->iv_size = f->iv_size;
        out->default_kid = f->kid;
      }
    }
    *found = true;
    return Status::Ok();
  }
  return Status::Ok();
}

namespace {

// senc body after version/flags; shared by both box types.
bool ReadWriteSencBody(BoxBuffer& b, SampleEncryption& s, uint32_t flags) {
  if (s.piff && (flags & kSencOverrideTrackEncryption)) {
    TrackEncryptionFields f;
    if (!b.reading()) {
      f.iv_size = s.iv_size;
      if (s.kid) f.kid = *s.kid;
    }
    if (!f.ReadWrite(b)) return false;
    if (b.reading()) {
      s.iv_size = f.iv_size;
      s.kid = f.kid;
    }
  }
  if (s.iv_size != 0 && s.iv_size != 8 && s.iv_size != 16)
    return b.Fail("IV size " + std::to_string(s.iv_size) + " (must be 0, 8 or 16)");
  uint32_t count = static_cast<uint32_t>(s.samples.size());
  if (!b.U32(count)) return false;
  if (b.reading()) {
    // Each entry takes at least its IV and, with subsamples, a 16-bit count.
    // Entries of zero bytes (IV size 0: constant IVs, whole samples) are not
    // bounded by the box size, so they get a fixed cap far above any real
    // fragment's sample count.
    size_t min_entry = s.iv_size + ((flags & kSencUseSubsamples) ? 2 : 0);
    const uint32_t kMaxEmptyEntries = 1u << 20;
    if (min_entry ? count > b.remaining() / min_entry : count > kMaxEmptyEntries)
      return b.Fail("sample_count " + std::to_string(count) + " does not fit the box");
    s.samples.resize(count);
  }
  for (auto& smp : s.samples) {
    if (!b.Vector(smp.iv, b.reading() ? s.iv_size : smp.iv.size())) return false;
    if (!(flags & kSencUseSubsamples)) continue;
    uint16_t n = static_cast<uint16_t>(smp.subsamples.size());
    if (!b.U16(n)) return false;
    if (b.reading()) {
      if (n > b.remaining() / 6) return b.Fail("subsample_count " + std::to_string(n) + " does not fit the box");
      smp.subsamples.resize(n);
    }
    for (auto& sub : smp.subsamples)
      if (!b.U16(sub.clear_bytes) || !b.U32(sub.encrypted_bytes)) return false;
  }
  return true;
}

struct SencBox : FullBox {
  FourCC BoxType() const override { return piff_ ? MakeFourCC("uuid") : MakeFourCC("senc"); }
  const Uuid* ExtendedType() const override { return piff_ ? &kPiffSencUuid : nullptr; }
  std::string Name() const override { return piff_ ? "senc(piff)" : "senc"; }
  bool ReadWriteFullBody(BoxBuffer& b) override {
    value->flags = flags;
    return ReadWriteSencBody(b, *value, flags);
  }
  explicit SencBox(SampleEncryption* v) : value(v), piff_(v->piff) {}
  SampleEncryption* value;
  bool piff_;
};

}  // namespace

Status ParseSampleEncryption(const std::vector<uint8_t>& raw, uint8_t default_iv_size, SampleEncryption* out) {
  BoxHeader h;
  Status s = ParseBoxHeader(raw.data(), raw.size(), &h);
  if (!s) return s;
  *out = SampleEncryption();
  out->piff = h.type == MakeFourCC("uuid");
  out->iv_size = default_iv_size;
  SencBox box(out);
  return box.Parse(raw.data(), raw.size());
}

Status FindSampleEncryption(const TrackFragmentBox& traf, uint8_t default_iv_size, SampleEncryption* out,
                            bool* found) {
  *found = false;
  for (const auto& raw : traf.other) {
    BoxHeader h;
    if (!ParseBoxHeader(raw.data(), raw.size(), &h)) continue;
    bool is_senc = h.type == MakeFourCC("senc") || (h.type == MakeFourCC("uuid") && h.usertype == kPiffSencUuid);
    if (!is_senc) continue;
    *found = true;
    return ParseSampleEncryption(raw, default_iv_size, out).WithContext("traf");
  }
  return Status::Ok();
}

std::vector<uint8_t> SerializeSampleEncryption(const SampleEncryption& senc) {
  SampleEncryption copy = senc;
  SencBox box(&copy);
  box.flags = senc.flags;
  return box.Serialize();
}

bool IsProtectionSystemHeaderBox(const std::vector<uint8_t>& bytes) {
  BoxHeader h;
  if (!ParseBoxHeader(bytes.data(), bytes.size(), &h) || h.size != bytes.size()) return false;
  return h.type == MakeFourCC("pssh") || (h.type == MakeFourCC("uuid") && h.usertype == kPiffPsshUuid);
}

std::vector<ProtectionSystemHeader> FindProtectionSystemHeaders(const RawBoxes& children) {
  std::vector<ProtectionSystemHeader> out;
  for (const auto& raw : children) {
    BoxHeader h;
    if (!ParseBoxHeader(raw.data(), raw.size(), &h)) continue;
    bool piff = h.type == MakeFourCC("uuid") && h.usertype == kPiffPsshUuid;
    if (h.type != MakeFourCC("pssh") && !piff) continue;
    size_t pos = h.header_size + 4;  // version and flags
    if (raw.size() < pos + 16) continue;
    ProtectionSystemHeader p;
    p.piff = piff;
    std::copy(raw.begin() + pos, raw.begin() + pos + 16, p.system_id.begin());
    pos += 16;
    if (!piff && raw[h.header_size] > 0 && raw.size() >= pos + 4) {  // pssh v1: KID list
      uint64_t kids = (uint64_t(raw[pos]) << 24) | (raw[pos + 1] << 16) | (raw[pos + 2] << 8) | raw[pos + 3];
      pos += 4 + std::min<uint64_t>(kids * 16, raw.size() - pos - 4);
    }
    if (raw.size() >= pos + 4) {
      uint64_t n = (uint64_t(raw[pos]) << 24) | (raw[pos + 1] << 16) | (raw[pos + 2] << 8) | raw[pos + 3];
      pos += 4;
      n = std::min<uint64_t>(n, raw.size() - pos);
      p.data.assign(raw.begin() + pos, raw.begin() + pos + n);
    }
    p.box = raw;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace piff
