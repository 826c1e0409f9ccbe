// ismvmux encryption: property parsing, per-track encryptors, and the
// pass-through of already-encrypted input (see ismvmux_encryption.h).
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ismvmux_encryption.h"

#include <algorithm>
#include <cstring>

#include "codec_config.h"
#include "ismvmux_private.h"
#include "playready.h"

#define GST_CAT_DEFAULT gst_ismv_mux_debug

GType gst_ismv_encryption_get_type(void) {
  static GType type = 0;
  static const GEnumValue values[] = {
      {GST_ISMV_ENCRYPTION_NONE, "No encryption", "none"},
      {GST_ISMV_ENCRYPTION_PIFF_CTR, "PIFF AES-128 CTR (AlgorithmID 1, 8-byte IVs; what PlayReady Smooth clients play)",
       "piff-ctr"},
      {GST_ISMV_ENCRYPTION_PIFF_CBC, "PIFF AES-128 CBC (AlgorithmID 2, 16-byte IVs, whole blocks only)", "piff-cbc"},
      {0, nullptr, nullptr}};
  if (g_once_init_enter(&type)) {
    GType t = g_enum_register_static("GstIsmvEncryption", values);
    g_once_init_leave(&type, t);
  }
  return type;
}

namespace ismvmux {

namespace {

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && g_ascii_isspace(s[b])) b++;
  while (e > b && g_ascii_isspace(s[e - 1])) e--;
  return s.substr(b, e - b);
}

// Hex digits with optional dashes, braces and "0x" (for iv and content-key,
// which people paste in either form).
bool ParseHexLoose(const std::string& text, std::vector<uint8_t>* out) {
  std::string t = Trim(text);
  if (t.size() >= 2 && t.front() == '{' && t.back() == '}') t = t.substr(1, t.size() - 2);
  t.erase(std::remove(t.begin(), t.end(), '-'), t.end());
  return piff::ParseHex(t, out);
}

// The KID of key-id-guid: 16 bytes in GUID (little-endian) memory order,
// as base64 (the form of a WRMHEADER <KID>) or as hex digits.
bool ParseGuidBytes(const std::string& text, piff::Uuid* out) {
  std::string t = Trim(text);
  piff::Uuid raw;
  std::vector<uint8_t> b;
  if (piff::UuidFromString(t, &raw)) {
    *out = piff::SwapGuidByteOrder(raw);
    return true;
  }
  if (piff::Base64Decode(t, &b) && b.size() == 16) {
    std::copy(b.begin(), b.end(), raw.begin());
    *out = piff::SwapGuidByteOrder(raw);
    return true;
  }
  return false;
}

piff::EncryptionScheme SchemeOf(GstIsmvEncryption e) {
  switch (e) {
    case GST_ISMV_ENCRYPTION_PIFF_CTR: return piff::EncryptionScheme::kPiffCtr;
    case GST_ISMV_ENCRYPTION_PIFF_CBC: return piff::EncryptionScheme::kPiffCbc;
    default: return piff::EncryptionScheme::kNone;
  }
}

bool CopyBuffer(GstBuffer* b, std::vector<uint8_t>* out) {
  GstMapInfo map;
  if (!b || !gst_buffer_map(b, &map, GST_MAP_READ)) return false;
  out->assign(map.data, map.data + map.size);
  gst_buffer_unmap(b, &map);
  return true;
}

}  // namespace

void InstallEncryptionProperties(GObjectClass* klass, guint first_id, GParamFlags flags) {
  g_object_class_install_property(
      klass, first_id + 0,
      g_param_spec_enum("encryption", "Encryption",
                        "PIFF sample encryption of every clear input track: none, piff-ctr (AES-128 CTR, "
                        "AlgorithmID 1, 8-byte IVs, what PlayReady Smooth Streaming clients play) or piff-cbc "
                        "(AES-128 CBC, AlgorithmID 2, 16-byte IVs); needs key-id (or key-id-guid) and content-key. "
                        "Input that is already encrypted needs none (default: none)",
                        GST_TYPE_ISMV_ENCRYPTION, GST_ISMV_ENCRYPTION_NONE, flags));
  g_object_class_install_property(
      klass, first_id + 1,
      g_param_spec_string("key-id", "Key ID",
                          "KID as a UUID in big-endian order, the order of the tenc box, e.g. "
                          "01020304-0506-0708-090a-aabbccddeeff (braces and missing dashes accepted; a GUID "
                          "as Windows prints it is this form too) (default: unset)",
                          nullptr, flags));
  g_object_class_install_property(
      klass, first_id + 2,
      g_param_spec_string("key-id-guid", "Key ID (GUID byte order)",
                          "KID as 16 bytes in little-endian GUID memory order, the form of a WRMHEADER <KID> and "
                          "of many PlayReady key servers: base64 (24 characters) or 32 hex digits of those bytes. "
                          "Converted to UUID order for tenc; must agree with key-id when both are set (default: unset)",
                          nullptr, flags));
  g_object_class_install_property(
      klass, first_id + 3,
      g_param_spec_string("content-key", "Content key",
                          "AES-128 content key: 16 bytes as 32 hex digits. Also used for the WRMHEADER CHECKSUM "
                          "(default: unset)",
                          nullptr, flags));
  g_object_class_install_property(
      klass, first_id + 4,
      g_param_spec_string("iv", "Initialization vector",
                          "First IV as hex: 8 bytes (16 digits) for piff-ctr, 16 bytes (32 digits) for piff-cbc; "
                          "each further sample adds 1, track n (pad order) starts n * 2^40 higher. Only for "
                          "reproducible output: never reuse an IV with the same key. When unset, every track "
                          "and every run starts at a random IV from OpenSSL's CSPRNG (default: unset = random)",
                          nullptr, flags));
  g_object_class_install_property(
      klass, first_id + 5,
      g_param_spec_string("la-url", "License acquisition URL",
                          "PlayReady license server URL written as LA_URL into the generated WRMHEADER "
                          "(default: unset = no LA_URL; the player must know its license server)",
                          nullptr, flags));
  g_object_class_install_property(
      klass, first_id + 6,
      g_param_spec_string("playready-header", "PlayReady header",
                          "A ready PlayReady Object (PRO) as base64, as a key server hands it out; written as is "
                          "into the pssh box and the .ismc instead of a generated one (la-url is then ignored). "
                          "When key-id is unset and the header names one KID, that KID is used "
                          "(default: unset = generated from key-id, content-key and la-url)",
                          nullptr, flags));
}

namespace {
enum { kEncryption, kKeyId, kKeyIdGuid, kContentKey, kIv, kLaUrl, kPlayReadyHeader };

std::string* StringField(EncryptionProperties* p, guint id) {
  switch (id) {
    case kKeyId: return &p->key_id;
    case kKeyIdGuid: return &p->key_id_guid;
    case kContentKey: return &p->content_key;
    case kIv: return &p->iv;
    case kLaUrl: return &p->la_url;
    case kPlayReadyHeader: return &p->playready_header;
    default: return nullptr;
  }
}
}  // namespace

bool SetEncryptionProperty(EncryptionProperties* props, guint id, const GValue* value) {
  if (id == kEncryption) {
    props->encryption = static_cast<GstIsmvEncryption>(g_value_get_enum(value));
    return true;
  }
  std::string* field = StringField(props, id);
  if (!field) return false;
  const gchar* v = g_value_get_string(value);
  *field = v ? v : "";
  return true;
}

bool GetEncryptionProperty(const EncryptionProperties& props, guint id, GValue* value) {
  if (id == kEncryption) {
    g_value_set_enum(value, props.encryption);
    return true;
  }
  const std::string* field = StringField(const_cast<EncryptionProperties*>(&props), id);
  if (!field) return false;
  g_value_set_string(value, field->empty() ? nullptr : field->c_str());
  return true;
}

piff::Status ResolveEncryption(const EncryptionProperties& p, MuxEncryption* out, std::vector<std::string>* warnings) {
  *out = MuxEncryption();
  piff::EncryptionSettings& s = out->settings;
  s.scheme = SchemeOf(p.encryption);
  if (s.scheme == piff::EncryptionScheme::kNone) return piff::Status::Ok();
  const std::string scheme_name = piff::SchemeName(s.scheme);

  bool have_kid = false;
  if (!Trim(p.key_id).empty()) {
    if (!piff::UuidFromString(p.key_id, &s.kid))
      return piff::Status::Error("key-id: '" + p.key_id +
                                 "' is not a UUID (32 hex digits, e.g. 01020304-0506-0708-090a-aabbccddeeff)");
    have_kid = true;
  }
  if (!Trim(p.key_id_guid).empty()) {
    piff::Uuid kid;
    if (!ParseGuidBytes(p.key_id_guid, &kid))
      return piff::Status::Error("key-id-guid: '" + p.key_id_guid +
                                 "' is neither base64 of 16 bytes nor 32 hex digits (GUID byte order)");
    if (have_kid && kid != s.kid)
      return piff::Status::Error("key-id and key-id-guid name different KIDs: key-id is " + piff::UuidToString(s.kid) +
                                 ", key-id-guid is " + piff::UuidToString(kid) +
                                 " once converted to UUID order; set only one of them");
    s.kid = kid;
    have_kid = true;
  }
  // The key itself is a secret: messages give its length, never its value.
  if (!p.content_key.empty() && !ParseHexLoose(p.content_key, &s.key))
    return piff::Status::Error("content-key is not hex: " + std::to_string(Trim(p.content_key).size()) +
                               " characters given, 32 hex digits (0-9, a-f) expected");
  if (!p.iv.empty() && !ParseHexLoose(p.iv, &s.iv))
    return piff::Status::Error("iv: '" + p.iv + "' is not hex (" +
                               std::to_string(2 * piff::SchemeIvSize(s.scheme)) + " hex digits for " + scheme_name +
                               ")");

  if (!p.playready_header.empty()) {
    if (!piff::Base64Decode(p.playready_header, &out->pro) || out->pro.empty())
      return piff::Status::Error("playready-header is not base64 (expected a PlayReady Object as a key server "
                                 "returns it)");
    piff::PlayReadyObjectInfo info;
    piff::Status st = piff::ParsePlayReadyObject(out->pro, &info);
    if (!st) return piff::Status::Error("playready-header is not a PlayReady Object: " + st.message());
    if (info.wrmheader_xml.empty())
      return piff::Status::Error("playready-header holds no WRMHEADER record (type 1)");
    if (!have_kid && info.kids.size() == 1) {
      // Convenience: the header names the one KID in use.
      s.kid = info.kids[0];
      have_kid = true;
    } else if (have_kid && !info.kids.empty() &&
               std::find(info.kids.begin(), info.kids.end(), s.kid) == info.kids.end()) {
      std::string named;
      for (auto& k : info.kids) named += (named.empty() ? "" : ", ") + piff::UuidToString(k);
      warnings->push_back("playready-header names KID " + named + " but the content is encrypted with key-id " +
                          piff::UuidToString(s.kid) + "; clients will ask the license server for the header's KID");
    }
    for (auto& a : info.algorithms) {
      if ((a == "AESCTR" && s.scheme == piff::EncryptionScheme::kPiffCbc) ||
          (a == "AESCBC" && s.scheme == piff::EncryptionScheme::kPiffCtr))
        warnings->push_back("playready-header says ALGID " + a + " but encryption=" + scheme_name);
    }
    if (!p.la_url.empty()) warnings->push_back("la-url is ignored: playready-header is used as given");
  }

  piff::Status st = piff::ValidateEncryptionSettings(s);
  if (!st) return piff::Status::Error("encryption=" + scheme_name + ": " + st.message());

  if (out->pro.empty()) {
    piff::PlayReadyHeaderParams hp;
    hp.scheme = s.scheme;
    hp.kid = s.kid;
    hp.key = s.key;
    hp.la_url = p.la_url;
    std::string xml;
    st = piff::BuildWrmHeader(hp, &xml);
    if (!st) return piff::Status::Error("cannot build the PlayReady header: " + st.message());
    out->pro = piff::BuildPlayReadyObject(xml);
  }
  return piff::Status::Ok();
}

piff::Status CreateTrackEncryptor(const MuxEncryption& enc, const piff::TrackConfig& config, size_t index,
                                  std::unique_ptr<piff::TrackEncryptor>* out) {
  piff::TrackEncryptor::Format format;
  if (config.kind == piff::TrackConfig::Kind::kVideo) {
    piff::AvcDecoderConfig avc;
    piff::Status st = piff::AvcDecoderConfig::Parse(config.avcc.data(), config.avcc.size(), &avc);
    if (!st) return st;
    format.nal_length_size = avc.length_size;
    format.nal_header_size = 1;
  }
  piff::EncryptionSettings settings = enc.settings;
  if (!settings.iv.empty() && index > 0) {
    // Add index * 2^40 (big-endian, with carry): each track gets its own IV
    // range of 2^40 samples.
    uint64_t carry = index;
    for (size_t i = settings.iv.size() - 5; i-- > 0 && carry;) {
      uint64_t v = settings.iv[i] + (carry & 0xff);
      settings.iv[i] = static_cast<uint8_t>(v);
      carry = (carry >> 8) + (v >> 8);
    }
  }
  return piff::TrackEncryptor::Create(settings, format, out);
}

std::vector<uint8_t> TrackSinf(const piff::TrackConfig& config, const piff::TrackEncryptionFields& tenc) {
  piff::FourCC format =
      config.kind == piff::TrackConfig::Kind::kVideo ? config.sample_entry : piff::MakeFourCC("mp4a");
  return piff::MakePiffSinf(format, tenc);
}

piff::Status InputProtectionFromCaps(const GstStructure* s, const char* want_media_type, bool* encrypted,
                                     piff::EncryptionScheme* scheme) {
  *encrypted = false;
  *scheme = piff::EncryptionScheme::kNone;
  if (!gst_structure_has_name(s, "application/x-cenc")) return piff::Status::Ok();
  const gchar* omt = gst_structure_get_string(s, "original-media-type");
  if (!omt) return piff::Status::Error("application/x-cenc caps without original-media-type");
  if (g_strcmp0(omt, want_media_type) != 0)
    return piff::Status::Error(std::string("encrypted ") + omt + " on a pad for " + want_media_type);
  const gchar* mode = gst_structure_get_string(s, "cipher-mode");
  if (!mode || g_strcmp0(mode, "cenc") == 0) {
    // CENC 'cenc' (AES-CTR, whole bytes) is what PIFF AlgorithmID 1 is.
    *scheme = piff::EncryptionScheme::kPiffCtr;
  } else if (g_strcmp0(mode, "cbc1") == 0) {
    *scheme = piff::EncryptionScheme::kPiffCbc;
  } else {
    return piff::Status::Error(std::string("cipher-mode ") + mode +
                               " cannot be written as PIFF (only cenc = AES-CTR and cbc1 = AES-CBC full-sample)");
  }
  *encrypted = true;
  return piff::Status::Ok();
}

piff::Status ReadProtectionMeta(GstBuffer* buf, SampleProtection* out) {
  GstProtectionMeta* meta = gst_buffer_get_protection_meta(buf);
  if (!meta || !meta->info) return piff::Status::Error("buffer without GstProtectionMeta");
  const GstStructure* s = meta->info;
  gboolean encrypted = TRUE;
  if (gst_structure_get_boolean(s, "encrypted", &encrypted) && !encrypted)
    return piff::Status::Error("a clear sample (encrypted=false) in an encrypted track; PIFF cannot signal that");
  const GValue* v = gst_structure_get_value(s, "kid");
  std::vector<uint8_t> bytes;
  if (!v || !GST_VALUE_HOLDS_BUFFER(v) || !CopyBuffer(gst_value_get_buffer(v), &bytes) || bytes.size() != 16)
    return piff::Status::Error("protection meta without a 16-byte kid");
  std::copy(bytes.begin(), bytes.end(), out->kid.begin());
  guint iv_size = 0;
  if (!gst_structure_get_uint(s, "iv_size", &iv_size) || (iv_size != 8 && iv_size != 16))
    return piff::Status::Error("protection meta iv_size must be 8 or 16, got " + std::to_string(iv_size));
  v = gst_structure_get_value(s, "iv");
  if (!v || !GST_VALUE_HOLDS_BUFFER(v) || !CopyBuffer(gst_value_get_buffer(v), &out->sample.iv) ||
      out->sample.iv.size() < iv_size)
    return piff::Status::Error("protection meta without an iv of iv_size bytes");
  out->sample.iv.resize(iv_size);

  out->sample.subsamples.clear();
  guint count = 0;
  gst_structure_get_uint(s, "subsample_count", &count);
  if (count > 0) {
    v = gst_structure_get_value(s, "subsamples");
    if (!v || !GST_VALUE_HOLDS_BUFFER(v) || !CopyBuffer(gst_value_get_buffer(v), &bytes) ||
        bytes.size() < static_cast<size_t>(count) * 6)
      return piff::Status::Error("protection meta subsamples shorter than subsample_count (" + std::to_string(count) +
                                 ") entries");
    piff::UnpackSubsamples(bytes.data(), bytes.size(), count, &out->sample.subsamples);
    uint64_t total = 0;
    for (const auto& sub : out->sample.subsamples) total += sub.clear_bytes + static_cast<uint64_t>(sub.encrypted_bytes);
    gsize size = gst_buffer_get_size(buf);
    if (total != size)
      return piff::Status::Error("protection meta subsamples describe " + std::to_string(total) + " bytes of a " +
                                 std::to_string(size) + "-byte sample");
  }
  return piff::Status::Ok();
}

std::vector<uint8_t> PassthroughSenc(const std::vector<const SampleProtection*>& samples,
                                     const std::vector<uint32_t>& sizes, piff::EncryptionScheme scheme,
                                     uint8_t iv_size) {
  piff::SampleEncryption senc;
  senc.piff = true;
  senc.iv_size = iv_size;
  bool any_sub = false;
  for (auto* p : samples) any_sub |= !p->sample.subsamples.empty();
  senc.flags = any_sub ? static_cast<uint32_t>(piff::kSencUseSubsamples) : 0u;
  for (size_t i = 0; i < samples.size(); i++) {
    piff::SampleEncryption::Sample rec = samples[i]->sample;
    if (any_sub && rec.subsamples.empty()) {
      // With flag 2 every entry needs subsamples: describe the whole-sample
      // rule explicitly (CBC leaves a trailing partial block clear).
      uint32_t size = sizes[i];
      uint32_t enc = scheme == piff::EncryptionScheme::kPiffCbc ? size - size % 16 : size;
      rec.subsamples.push_back({0, enc});
      if (enc != size) rec.subsamples.push_back({static_cast<uint16_t>(size - enc), 0});
    }
    senc.samples.push_back(std::move(rec));
  }
  return piff::SerializeSampleEncryption(senc);
}

piff::Status EncryptBuffer(piff::TrackEncryptor* enc, GstBuffer* in, piff::SampleEncryption* senc, GstBuffer** out) {
  GstMapInfo imap, omap;
  if (!gst_buffer_map(in, &imap, GST_MAP_READ)) return piff::Status::Error("cannot map the sample");
  GstBuffer* ob = gst_buffer_new_allocate(nullptr, imap.size, nullptr);
  if (!ob || !gst_buffer_map(ob, &omap, GST_MAP_WRITE)) {
    gst_buffer_unmap(in, &imap);
    if (ob) gst_buffer_unref(ob);
    return piff::Status::Error("cannot allocate " + std::to_string(imap.size) + " bytes for an encrypted sample");
  }
  piff::Status st = enc->EncryptSample(imap.data, omap.data, imap.size, senc);
  gst_buffer_unmap(ob, &omap);
  gst_buffer_unmap(in, &imap);
  if (!st) {
    gst_buffer_unref(ob);
    return st;
  }
  *out = ob;
  return piff::Status::Ok();
}

void ProtectionHeaderSet::AddBox(const std::vector<uint8_t>& box, const piff::Uuid& system_id,
                                 const std::vector<uint8_t>& data) {
  if (std::find(boxes_.begin(), boxes_.end(), box) == boxes_.end()) boxes_.push_back(box);
  if (system_id != piff::kPlayReadySystemId) return;
  std::string b64 = piff::Base64Encode(data);
  for (auto& h : manifest_)
    if (h.system_id == system_id && h.data_base64 == b64) return;
  manifest_.push_back({system_id, b64});
}

void ProtectionHeaderSet::AddPlayReadyObject(const std::vector<uint8_t>& pro) {
  AddBox(piff::MakePiffPssh(piff::kPlayReadySystemId, pro), piff::kPlayReadySystemId, pro);
}

void ProtectionHeaderSet::AddFromEvent(const std::string& system_id, GstBuffer* data, const std::string& origin,
                                       std::string* note) {
  note->clear();
  std::vector<uint8_t> bytes;
  if (!CopyBuffer(data, &bytes)) {
    *note = "protection event without data";
    return;
  }
  if (piff::IsProtectionSystemHeaderBox(bytes)) {
    auto headers = piff::FindProtectionSystemHeaders({bytes});
    if (headers.empty()) {
      *note = "protection event with a pssh box too short to hold a SystemID";
      return;
    }
    AddBox(bytes, headers[0].system_id, headers[0].data);
    return;
  }
  piff::Uuid sys{};
  if (!piff::UuidFromString(system_id, &sys)) {
    *note = "protection event with system id '" + system_id + "' (origin " + origin + ") ignored";
    return;
  }
  if (sys == piff::kPlayReadySystemId) {
    piff::PlayReadyObjectInfo info;
    piff::Status st = piff::ParsePlayReadyObject(bytes, &info);
    if (st) {
      AddPlayReadyObject(bytes);
      return;
    }
    // mssdemux (and ismdemux, which copies it) send the manifest's
    // ProtectionHeader text: the base64 of the PlayReady Object.
    std::vector<uint8_t> decoded;
    if (piff::Base64Decode(std::string(bytes.begin(), bytes.end()), &decoded) &&
        piff::ParsePlayReadyObject(decoded, &info)) {
      AddPlayReadyObject(decoded);
      return;
    }
    *note = "PlayReady protection event (origin " + origin +
            ") holds neither a pssh box nor a PlayReady Object: " + st.message();
    return;
  }
  *note = "protection event for system " + system_id + " (origin " + origin + ") is not a pssh box; ignored";
}

}  // namespace ismvmux

// ---------------------------------------------------------------- the muxer's header

// Protection of every track for the header: an encryptor per track when
// encrypting, or the tenc of already-encrypted input (from its first
// buffer's protection meta), and the sinf either way.
bool SetUpTrackProtection(GstIsmvMux* self, std::vector<piff::TrackConfig>* configs) {
  IsmvMuxState* st = self->state;
  bool any_input_encrypted = false;
  for (size_t i = 0; i < st->tracks.size(); i++) {
    Track* t = st->tracks[i].get();
    piff::TrackConfig& c = (*configs)[i];
    if (st->encryption.enabled()) {
      piff::Status s = ismvmux::CreateTrackEncryptor(st->encryption, c, i, &t->crypto.encryptor);
      if (!s) {
        GST_ELEMENT_ERROR(self, STREAM, MUX, ("Cannot encrypt %s", TrackLabel(*t).c_str()), ("%s", s.message().c_str()));
        return false;
      }
      c.sinf = ismvmux::TrackSinf(c, t->crypto.encryptor->TencFields());
      GST_INFO_OBJECT(self, "%s: %s, KID %s, first IV %s", TrackLabel(*t).c_str(),
                      piff::SchemeName(st->encryption.settings.scheme), piff::UuidToString(st->encryption.settings.kid).c_str(),
                      piff::ToHex(t->crypto.encryptor->first_iv()).c_str());
    } else if (t->crypto.input_encrypted) {
      any_input_encrypted = true;
      ismvmux::SampleProtection first;
      GstBuffer* head = ismvmux::PeekBuffer(GST_AGGREGATOR_PAD(t->pad));
      piff::Status s = head ? ismvmux::ReadProtectionMeta(head, &first) : piff::Status::Ok();
      if (head) gst_buffer_unref(head);
      if (!s) {
        GST_ELEMENT_ERROR(self, STREAM, MUX, ("Unusable encrypted sample on %s", GST_PAD_NAME(t->pad)),
                          ("%s", s.message().c_str()));
        return false;
      }
      if (head) {
        t->crypto.input_kid = first.kid;
        t->crypto.input_iv_size = static_cast<uint8_t>(first.sample.iv.size());
      } else {
        // A track that ends before its first sample: nothing names its KID.
        GST_WARNING_OBJECT(self, "%s: encrypted input without samples, tenc KID unknown", TrackLabel(*t).c_str());
        t->crypto.input_iv_size = piff::SchemeIvSize(t->crypto.input_scheme);
      }
      t->crypto.have_input_tenc = true;
      piff::TrackEncryptionFields tenc;
      tenc.head = piff::PiffAlgorithmId(t->crypto.input_scheme);
      tenc.iv_size = t->crypto.input_iv_size;
      tenc.kid = t->crypto.input_kid;
      c.sinf = ismvmux::TrackSinf(c, tenc);
      GST_INFO_OBJECT(self, "%s: already encrypted (%s, KID %s), samples pass through", TrackLabel(*t).c_str(),
                      piff::SchemeName(t->crypto.input_scheme), piff::UuidToString(tenc.kid).c_str());
    }
  }
  st->protection.Clear();
  if (st->encryption.enabled())
    st->protection.AddPlayReadyObject(st->encryption.pro);
  else if (any_input_encrypted)
    st->protection = st->input_protection;
  if (any_input_encrypted && st->protection.manifest_headers().empty())
    GST_ELEMENT_WARNING(self, STREAM, MUX, ("Encrypted input without a PlayReady header"),
                        ("no protection event carried a PlayReady Object or pssh; the file and the .ismc have no "
                         "PlayReady header, so Smooth Streaming clients cannot request a license"));
  return true;
}
