// gst-check tests of ismdemux on encrypted tracks: the decryption-key
// property, decryption (AES-CTR and AES-CBC, H.264 subsamples and AAC whole
// samples, push and pull, after seeks) against the clear samples, and the
// signalling without a key (x-cenc caps, protection meta checked by
// decrypting with OpenSSL directly, protection events); ismvmux's
// encryption read back through ismdemux. The synthetic files and the Run
// harness are in demux_harness.h.
// The C++ and core headers come first: gst-check defines a `fail` macro that
// would clash with std::ios::fail().
#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "encryption.h"
#include "fragment.h"
#include "movie.h"
#include "playready.h"
#include "protection.h"

#include "demux_harness.h"

#include <openssl/evp.h>

#include <glib/gstdio.h>
#include <gst/check/gstcheck.h>

// Encrypted files made with the core (TrackEncryptor, FragmentWriter,
// BuildInitSegment with sinf and the PIFF uuid-pssh), laid out like
// MakeAvFile: H.264 with NAL-unit subsamples (length-prefixed NALs of sizes
// that leave partial blocks) and AAC as whole samples. The same samples are
// also written clear, for byte-for-byte comparison.

namespace {

// The ASCII bytes of the base64 of `v` (a Smooth protection event's data).
std::vector<uint8_t> Base64Bytes(const std::vector<uint8_t>& v) {
  std::string b = piff::Base64Encode(v);
  return std::vector<uint8_t>(b.begin(), b.end());
}

const piff::Uuid kVideoKid = {0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80,
                              0x90, 0xa0, 0xb0, 0xc0, 0xd0, 0xe0, 0xf0, 0x01};
const piff::Uuid kAudioKid = {0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18,
                              0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90};
const char* kVideoKidText = "10203040-5060-7080-90a0-b0c0d0e0f001";
const char* kAudioKidText = "a1b2c3d4-e5f6-0718-293a-4b5c6d7e8f90";
const char* kVideoKeyHex = "2b7e151628aed2a6abf7158809cf4f3c";
const char* kAudioKeyHex = "000102030405060708090a0b0c0d0e0f";

std::vector<uint8_t> Hex(const char* hex) {
  std::vector<uint8_t> v;
  fail_unless(piff::ParseHex(hex, &v));
  return v;
}

std::string KeyPair(const char* kid, const char* key) { return std::string(kid) + ":" + key; }

// Deterministic filler bytes.
void Fill(std::vector<uint8_t>* out, size_t n, uint32_t seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1664525u + 1013904223u;
    out->push_back(static_cast<uint8_t>(seed >> 24));
  }
}

// An H.264 access unit in avcC form (4-byte lengths): keyframes carry an SEI
// and an IDR slice, others one slice. Sizes vary so that encrypted ranges
// end in partial blocks. Slices start with a valid header (first_mb_in_slice
// 0, an I or P slice_type, PPS 0), as ismdemux checks that of the first
// decrypted samples; the rest is filler.
std::vector<uint8_t> VideoPayload(uint32_t i, bool sync) {
  std::vector<uint8_t> s;
  auto nal = [&](uint8_t header, size_t body) {
    uint32_t n = static_cast<uint32_t>(body + 1);
    for (int k = 3; k >= 0; k--) s.push_back(static_cast<uint8_t>(n >> (8 * k)));
    s.push_back(header);
    size_t at = s.size();
    Fill(&s, body, i * 31 + header);
    if (header == 0x65) s[at] = 0xb8;  // ue 0, ue 2 (I), ue 0
    if (header == 0x41) s[at] = 0xe0;  // ue 0, ue 0 (P), ue 0
  };
  if (sync) {
    nal(0x06, 7 + i % 5);
    nal(0x65, 300 + (i * 37) % 200);
  } else {
    nal(0x41, 60 + (i * 53) % 150);
  }
  return s;
}

// An AAC frame that starts as a stereo one does: a CPE with a common
// window whose ics_info has its reserved bit clear.
std::vector<uint8_t> AudioPayload(uint32_t i) {
  std::vector<uint8_t> s;
  Fill(&s, 40 + (i * 29) % 120, 7000 + i);
  s[0] = 0x21;
  s[1] = 0x00;
  return s;
}

struct EncOptions {
  piff::EncryptionScheme scheme = piff::EncryptionScheme::kPiffCtr;
  bool drop_senc = false;            // no senc in the video traf of fragment 3
  bool standard_pssh = false;        // also an ISO 'pssh' box (another system)
  bool no_checksum = false;          // a PlayReady header without CHECKSUM
  // Instead of the PIFF sinf: CENC tenc under this schm type (e.g. "cbcs").
  std::string cenc_scheme;
};

struct EncAv {
  std::vector<uint8_t> clear_file, enc_file;
  std::vector<std::vector<uint8_t>> clear[3];  // [track id] -> samples
  std::vector<piff::SampleEncryption::Sample> entries[3];  // senc entries, track order
  std::vector<uint8_t> pro;
  std::vector<uint8_t> standard_pssh;
};

std::vector<uint8_t> CencSinf(piff::FourCC format, const std::string& scheme, const piff::TrackEncryptionFields& f) {
  piff::ProtectionSchemeInfoBox sinf;
  sinf.frma.data_format = format;
  sinf.schm.emplace();
  sinf.schm->scheme_type = (uint32_t(uint8_t(scheme[0])) << 24) | (uint32_t(uint8_t(scheme[1])) << 16) |
                           (uint32_t(uint8_t(scheme[2])) << 8) | uint32_t(uint8_t(scheme[3]));
  sinf.schm->scheme_version = 0x00010000;
  sinf.schi.emplace();
  sinf.schi->tenc.emplace();
  sinf.schi->tenc->fields = f;
  sinf.schi->tenc->fields.head = 1;  // default_isProtected
  return sinf.Serialize();
}

EncAv MakeEncryptedAv(const EncOptions& o) {
  EncAv r;
  const bool cbc = o.scheme == piff::EncryptionScheme::kPiffCbc;
  std::unique_ptr<piff::TrackEncryptor> enc[3];
  const piff::Uuid kids[3] = {{}, kVideoKid, kAudioKid};
  const char* keys[3] = {"", kVideoKeyHex, kAudioKeyHex};
  for (uint32_t id = 1; id <= 2; id++) {
    piff::EncryptionSettings es;
    es.scheme = o.scheme;
    es.kid = kids[id];
    es.key = Hex(keys[id]);
    es.iv.assign(cbc ? 16 : 8, static_cast<uint8_t>(0x30 + id));
    es.iv.back() = 0xf0;  // the counter carries into the next byte early on
    piff::TrackEncryptor::Format fmt;
    if (id == 1) fmt.nal_length_size = 4;
    piff::Status s = piff::TrackEncryptor::Create(es, fmt, &enc[id]);
    fail_unless(s, "%s", s.message().c_str());
  }
  piff::TrackConfig v = VideoTrack(1), a = AudioTrack(2);
  std::vector<piff::TrackConfig> clear_tracks = {v, a};
  if (o.cenc_scheme.empty()) {
    v.sinf = piff::MakePiffSinf(piff::MakeFourCC("avc1"), enc[1]->TencFields());
    a.sinf = piff::MakePiffSinf(piff::MakeFourCC("mp4a"), enc[2]->TencFields());
  } else {
    v.sinf = CencSinf(piff::MakeFourCC("avc1"), o.cenc_scheme, enc[1]->TencFields());
    a.sinf = CencSinf(piff::MakeFourCC("mp4a"), o.cenc_scheme, enc[2]->TencFields());
  }
  piff::PlayReadyHeaderParams hp;
  hp.scheme = o.scheme;
  hp.kid = kVideoKid;
  if (!o.no_checksum) hp.key = Hex(kVideoKeyHex);
  hp.la_url = "https://pr.example.com/rightsmanager.asmx";
  std::string xml;
  fail_unless(piff::BuildWrmHeader(hp, &xml));
  r.pro = piff::BuildPlayReadyObject(xml);
  piff::RawBoxes extra = {piff::MakePiffPssh(piff::kPlayReadySystemId, r.pro)};
  if (o.standard_pssh) {
    // ISO pssh v0 for another system: SystemID, DataSize, Data.
    const uint8_t widevine[16] = {0xed, 0xef, 0x8b, 0xa9, 0x79, 0xd6, 0x4a, 0xce,
                                  0xa3, 0xc8, 0x27, 0xdc, 0xd5, 0x1d, 0x21, 0xed};
    std::vector<uint8_t>& p = r.standard_pssh;
    p = {0, 0, 0, 0, 'p', 's', 's', 'h', 0, 0, 0, 0};
    p.insert(p.end(), widevine, widevine + 16);
    p.insert(p.end(), {0, 0, 0, 5, 'h', 'e', 'l', 'l', 'o'});
    p[3] = static_cast<uint8_t>(p.size());
    extra.push_back(p);
  }
  r.clear_file = piff::BuildInitSegment(clear_tracks, kTs, 0).bytes;
  r.enc_file = piff::BuildInitSegment({v, a}, kTs, 0, extra).bytes;

  uint32_t seq = 1, video_done = 0, audio_done = 0;
  auto fragment = [&](uint32_t id, uint64_t decode_time, const std::vector<piff::FragmentSample>& meta,
                      const std::vector<std::vector<uint8_t>>& payloads, bool drop_senc) {
    piff::SampleEncryption senc = enc[id]->NewFragment();
    std::vector<uint8_t> cipher;
    for (auto& p : payloads) {
      std::vector<uint8_t> out(p.size());
      piff::Status s = enc[id]->EncryptSample(p.data(), out.data(), p.size(), &senc);
      fail_unless(s, "%s", s.message().c_str());
      cipher.insert(cipher.end(), out.begin(), out.end());
      r.clear[id].push_back(p);
    }
    r.entries[id].insert(r.entries[id].end(), senc.samples.begin(), senc.samples.end());
    piff::FragmentParams params;
    params.sequence_number = seq++;
    params.track_id = id;
    params.decode_time = decode_time;
    piff::FragmentHeader h = piff::FragmentWriter::Build(params, meta);
    r.clear_file.insert(r.clear_file.end(), h.bytes.begin(), h.bytes.end());
    for (auto& p : payloads) r.clear_file.insert(r.clear_file.end(), p.begin(), p.end());
    if (!drop_senc) params.senc = piff::SerializeSampleEncryption(senc);
    h = piff::FragmentWriter::Build(params, meta);
    r.enc_file.insert(r.enc_file.end(), h.bytes.begin(), h.bytes.end());
    r.enc_file.insert(r.enc_file.end(), cipher.begin(), cipher.end());
  };
  for (int f = 0; f < 10; f++) {
    std::vector<piff::FragmentSample> meta;
    std::vector<std::vector<uint8_t>> payloads;
    for (int k = 0; k < 20; k++, video_done++) {
      piff::FragmentSample s;
      s.duration = kFrame;
      s.sync = video_done % 10 == 0;
      payloads.push_back(VideoPayload(video_done, s.sync));
      s.size = static_cast<uint32_t>(payloads.back().size());
      meta.push_back(s);
    }
    fragment(1, static_cast<uint64_t>(f) * 20 * kFrame, meta, payloads, o.drop_senc && f == 3);
    int audio_end = f == 9 ? 375 : static_cast<int>((f + 1) * 0.8 * 48000 / 1024 + 0.5);
    uint64_t start = audio_done;
    meta.clear();
    payloads.clear();
    for (; static_cast<int>(audio_done) < audio_end; audio_done++) {
      payloads.push_back(AudioPayload(audio_done));
      piff::FragmentSample s;
      s.duration = 1024;
      s.sync = true;
      s.size = static_cast<uint32_t>(payloads.back().size());
      meta.push_back(s);
    }
    fragment(2, start * 1024, meta, payloads, false);
  }
  return r;
}

// Decrypts one sample with OpenSSL directly (not through the core), from
// what the protection meta says: the check that the meta is enough for a
// decryptor downstream.
std::vector<uint8_t> EvpDecrypt(bool cbc, const std::vector<uint8_t>& key, const BufInfo& b) {
  std::vector<uint8_t> out = b.bytes;
  std::vector<std::pair<size_t, size_t>> ranges;  // offset, size of encrypted ranges
  if (b.subsample_count == 0) {
    ranges.push_back({0, cbc ? out.size() / 16 * 16 : out.size()});
  } else {
    size_t pos = 0;
    for (guint i = 0; i < b.subsample_count; i++) {
      const uint8_t* e = b.subsamples.data() + 6 * i;
      size_t clear = (e[0] << 8) | e[1];
      size_t encrypted = (size_t(e[2]) << 24) | (e[3] << 16) | (e[4] << 8) | e[5];
      ranges.push_back({pos + clear, encrypted});
      pos += clear + encrypted;
    }
  }
  std::vector<uint8_t> joined;
  for (auto& r : ranges) joined.insert(joined.end(), out.begin() + r.first, out.begin() + r.first + r.second);
  uint8_t iv[16] = {0};
  std::copy(b.iv.begin(), b.iv.end(), iv);  // CTR with an 8-byte IV: IV || 64-bit block counter from 0
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  std::vector<uint8_t> plain(joined.size() + 16);
  int n = 0, m = 0;
  fail_unless(EVP_DecryptInit_ex(ctx, cbc ? EVP_aes_128_cbc() : EVP_aes_128_ctr(), nullptr, key.data(), iv) == 1);
  EVP_CIPHER_CTX_set_padding(ctx, 0);
  fail_unless(EVP_DecryptUpdate(ctx, plain.data(), &n, joined.data(), static_cast<int>(joined.size())) == 1);
  fail_unless(EVP_DecryptFinal_ex(ctx, plain.data() + n, &m) == 1);
  EVP_CIPHER_CTX_free(ctx);
  size_t pos = 0;
  for (auto& r : ranges) {
    std::copy(plain.begin() + pos, plain.begin() + pos + r.second, out.begin() + r.first);
    pos += r.second;
  }
  return out;
}

std::vector<uint8_t> PackSubsamples(const piff::SampleEncryption::Sample& e) {
  std::vector<uint8_t> v;
  for (auto& s : e.subsamples) {
    v.push_back(static_cast<uint8_t>(s.clear_bytes >> 8));
    v.push_back(static_cast<uint8_t>(s.clear_bytes));
    for (int k = 3; k >= 0; k--) v.push_back(static_cast<uint8_t>(s.encrypted_bytes >> (8 * k)));
  }
  return v;
}

Run* PlayEncrypted(const TempFile& f, bool push, const std::string& keys, bool expect_eos = true) {
  Run* r = new Run(f.path, push);
  r->record_bytes = true;
  if (!keys.empty()) g_object_set(r->demux, "decryption-key", keys.c_str(), nullptr);
  bool eos = r->Play();
  fail_unless(eos == expect_eos, "expected %s: %s", expect_eos ? "EOS" : "an error", r->error.c_str());
  return r;
}

// A decrypted pad: clear caps, no protection anywhere, the clear samples
// from sample `from` of the track on (not `first`: the check macros use it).
void CheckDecryptedPad(PadLog& p, const char* media_type, const std::vector<std::vector<uint8_t>>& clear,
                       size_t from = 0) {
  GstStructure* s = gst_caps_get_structure(p.caps, 0);
  fail_unless(gst_structure_has_name(s, media_type), "%" GST_PTR_FORMAT, p.caps);
  fail_if(gst_structure_has_field(s, "protection-system") || gst_structure_has_field(s, "original-media-type"));
  fail_unless(gst_structure_has_field(s, "codec_data"));
  fail_unless_equals_int(p.protection_events.size(), 0);
  fail_unless_equals_int(p.bufs.size(), clear.size() - from);
  for (size_t i = 0; i < p.bufs.size(); i++) {
    fail_if(p.bufs[i].protection, "protection meta on decrypted buffer %zu", i);
    fail_unless(p.bufs[i].bytes == clear[from + i], "%s sample %zu differs from the clear sample", media_type,
                from + i);
  }
}

// An encrypted pad: x-cenc caps and, on every buffer, meta that equals the
// senc entry and is enough to decrypt the sample (checked with OpenSSL).
void CheckSignalledPad(PadLog& p, const char* media_type, const char* cipher_mode, const piff::Uuid& kid,
                       const char* key_hex, const EncAv& av, uint32_t track_id, bool cbc) {
  GstStructure* s = gst_caps_get_structure(p.caps, 0);
  fail_unless(gst_structure_has_name(s, "application/x-cenc"), "%" GST_PTR_FORMAT, p.caps);
  fail_unless_equals_string(gst_structure_get_string(s, "original-media-type"), media_type);
  fail_unless_equals_string(gst_structure_get_string(s, "protection-system"), "9a04f079-9840-4286-ab92-e65be0885f95");
  fail_unless_equals_string(gst_structure_get_string(s, "cipher-mode"), cipher_mode);
  fail_unless(gst_structure_has_field(s, "codec_data"));
  // The PlayReady Object as base64 text, as mssdemux sends it.
  fail_unless(!p.protection_events.empty());
  const ProtectionEventInfo& ev = p.protection_events[0];
  fail_unless_equals_string(ev.system.c_str(), "9a04f079-9840-4286-ab92-e65be0885f95");
  fail_unless_equals_string(ev.origin.c_str(), "smooth-streaming");
  fail_unless(ev.data == Base64Bytes(av.pro), "protection event data is not the base64 PlayReady Object");
  std::vector<uint8_t> decoded;
  fail_unless(piff::Base64Decode(std::string(ev.data.begin(), ev.data.end()), &decoded));
  piff::PlayReadyObjectInfo pro;
  fail_unless(piff::ParsePlayReadyObject(decoded, &pro));
  fail_unless_equals_int(pro.kids.size(), 1);
  fail_unless(pro.kids[0] == kVideoKid);
  const auto& clear = av.clear[track_id];
  const auto& entries = av.entries[track_id];
  fail_unless_equals_int(p.bufs.size(), clear.size());
  std::vector<uint8_t> key = Hex(key_hex);
  for (size_t i = 0; i < p.bufs.size(); i++) {
    const BufInfo& b = p.bufs[i];
    fail_unless(b.protection && b.encrypted, "buffer %zu: no protection meta", i);
    fail_unless(b.kid == std::vector<uint8_t>(kid.begin(), kid.end()), "buffer %zu: kid", i);
    fail_unless(b.iv == std::string(entries[i].iv.begin(), entries[i].iv.end()), "buffer %zu: iv", i);
    fail_unless_equals_int(b.iv_size, entries[i].iv.size());
    fail_unless_equals_int(b.subsample_count, entries[i].subsamples.size());
    fail_unless(b.subsamples == PackSubsamples(entries[i]), "buffer %zu: subsamples", i);
    fail_unless(b.bytes != clear[i] || clear[i].size() < 16, "buffer %zu is not encrypted", i);
    fail_unless(EvpDecrypt(cbc, key, b) == clear[i], "buffer %zu: OpenSSL decryption from the meta differs", i);
  }
}

}  // namespace

GST_START_TEST(test_encrypted_track) {
  piff::MovieBox moov = piff::MakeMovie({VideoTrack(1)}, kTs, 0);
  auto& entry = moov.tracks[0].mdia.minf.stbl.stsd.video[0];
  entry.format = piff::MakeFourCC("encv");
  piff::ProtectionSchemeInfoBox sinf;
  sinf.frma.data_format = piff::MakeFourCC("avc1");
  sinf.schm.emplace();
  sinf.schm->scheme_type = piff::MakeFourCC("piff");
  sinf.schm->scheme_version = 0x00010001;
  sinf.schi.emplace();
  sinf.schi->piff_tenc.emplace();
  sinf.schi->piff_tenc->fields.head = 1;  // AlgorithmID 1: AES-CTR
  sinf.schi->piff_tenc->fields.iv_size = 8;
  sinf.schi->piff_tenc->fields.kid.fill(0x11);
  entry.other.push_back(sinf.Serialize());
  // PIFF uuid-pssh with the PlayReady system ID.
  std::vector<uint8_t> pssh = {0, 0, 0, 0, 'u', 'u', 'i', 'd'};
  pssh.insert(pssh.end(), piff::kPiffPsshUuid.begin(), piff::kPiffPsshUuid.end());
  pssh.insert(pssh.end(), {0, 0, 0, 0});
  pssh.insert(pssh.end(), piff::kPlayReadySystemId.begin(), piff::kPlayReadySystemId.end());
  pssh.insert(pssh.end(), {0, 0, 0, 4, 'd', 'a', 't', 'a'});
  pssh[3] = static_cast<uint8_t>(pssh.size());
  moov.other.push_back(pssh);
  FileBuilder b;
  b.Init(moov);
  Traf v;
  v.samples = VideoSamples(0, 10, false);
  piff::SampleEncryption senc;
  senc.piff = true;
  senc.iv_size = 8;
  for (int i = 0; i < 10; i++) senc.samples.push_back({std::vector<uint8_t>(8, static_cast<uint8_t>(i)), {}});
  v.extra_box = piff::SerializeSampleEncryption(senc);
  b.Fragment({v});
  for (bool push : {false, true}) {
    TempFile f(b.bytes);
    Run r(f.path, push);
    fail_unless(r.Play(), "%s", r.error.c_str());
    PadLog& p = r.Pad("video_0");
    GstStructure* s = gst_caps_get_structure(p.caps, 0);
    fail_unless(gst_structure_has_name(s, "application/x-cenc"), "%" GST_PTR_FORMAT, p.caps);
    fail_unless_equals_string(gst_structure_get_string(s, "original-media-type"), "video/x-h264");
    fail_unless_equals_string(gst_structure_get_string(s, "protection-system"), "9a04f079-9840-4286-ab92-e65be0885f95");
    fail_unless(gst_structure_has_field(s, "codec_data"));
    fail_unless_equals_int(p.protection_systems.size(), 1);
    fail_unless_equals_int(p.bufs.size(), 10);
    for (size_t i = 0; i < 10; i++) {
      fail_unless(p.bufs[i].protection, "no protection meta on buffer %zu", i);
      fail_unless(p.bufs[i].iv == std::string(8, static_cast<char>(i)));
      fail_unless_equals_int(p.bufs[i].index, i);  // samples as they are
    }
  }
}
GST_END_TEST;

GST_START_TEST(test_decryption_key_property) {
  GstElement* d = gst_element_factory_make("ismdemux", nullptr);
  GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(d), "decryption-key");
  fail_unless(spec != nullptr && G_IS_PARAM_SPEC_STRING(spec));
  fail_unless(strstr(g_param_spec_get_blurb(spec), "KID:KEY") != nullptr, "%s", g_param_spec_get_blurb(spec));
  gchar* v = nullptr;
  g_object_get(d, "decryption-key", &v, nullptr);
  fail_unless(v == nullptr || *v == 0);
  g_free(v);
  g_object_set(d, "decryption-key", "x", nullptr);
  g_object_get(d, "decryption-key", &v, nullptr);
  fail_unless_equals_string(v, "x");
  g_free(v);
  gst_object_unref(d);

  // Bad values: an error naming the property when the pipeline starts.
  EncAv av = MakeEncryptedAv(EncOptions());
  TempFile f(av.enc_file);
  const char* bad[] = {
      "nonsense",
      "10203040-5060-7080-90a0-b0c0d0e0f001",                                     // no key
      "10203040-5060-7080-90a0-b0c0d0e0f001:2b7e151628aed2a6abf7158809cf4f",     // 15 bytes
      "10203040-5060-7080-90a0-b0c0d0e0f001:2b7e151628aed2a6abf7158809cf4fzz",   // not hex
      "1020304050607080:2b7e151628aed2a6abf7158809cf4f3c",                       // KID too short
      "10203040-5060-7080-90a0-b0c0d0e0f001:2b7e151628aed2a6abf7158809cf4f3c,x:y",
  };
  for (const char* value : bad)
    for (bool push : {false, true}) {
      Run* r = PlayEncrypted(f, push, value, false);
      fail_unless(r->error.find("decryption-key") != std::string::npos, "%s: error \"%s\" does not name the property",
                  value, r->error.c_str());
      delete r;
    }
}
GST_END_TEST;

static void DecryptRoundTrip(piff::EncryptionScheme scheme) {
  bool cbc = scheme == piff::EncryptionScheme::kPiffCbc;
  EncOptions o;
  o.scheme = scheme;
  EncAv av = MakeEncryptedAv(o);
  TempFile enc(av.enc_file), clear(av.clear_file, "clear.ismv");
  std::string both = KeyPair(kVideoKidText, kVideoKeyHex) + "," + KeyPair(kAudioKidText, kAudioKeyHex);
  for (bool push : {false, true}) {
    // The clear file, as the reference.
    Run* ref = PlayEncrypted(clear, push, "");
    // Both keys: both tracks decrypted, equal to the clear file's output.
    Run* r = PlayEncrypted(enc, push, both);
    CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", av.clear[1]);
    CheckDecryptedPad(r->Pad("audio_0"), "audio/mpeg", av.clear[2]);
    for (const char* pad : {"video_0", "audio_0"}) {
      fail_unless(gst_caps_is_equal(r->Pad(pad).caps, ref->Pad(pad).caps), "%s caps differ from the clear file's",
                  pad);
      fail_unless_equals_int(r->Pad(pad).bufs.size(), ref->Pad(pad).bufs.size());
      for (size_t i = 0; i < r->Pad(pad).bufs.size(); i++) {
        fail_unless(r->Pad(pad).bufs[i].bytes == ref->Pad(pad).bufs[i].bytes);
        fail_unless_equals_uint64(r->Pad(pad).bufs[i].pts, ref->Pad(pad).bufs[i].pts);
      }
    }
    delete r;
    delete ref;
    // No key: signalled for a decryptor downstream.
    r = PlayEncrypted(enc, push, "");
    CheckSignalledPad(r->Pad("video_0"), "video/x-h264", cbc ? "cbc1" : "cenc", kVideoKid, kVideoKeyHex, av, 1, cbc);
    CheckSignalledPad(r->Pad("audio_0"), "audio/mpeg", cbc ? "cbc1" : "cenc", kAudioKid, kAudioKeyHex, av, 2, cbc);
    delete r;
    // A key for the video KID only: the audio track stays signalled.
    r = PlayEncrypted(enc, push, KeyPair(kVideoKidText, kVideoKeyHex));
    CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", av.clear[1]);
    CheckSignalledPad(r->Pad("audio_0"), "audio/mpeg", cbc ? "cbc1" : "cenc", kAudioKid, kAudioKeyHex, av, 2, cbc);
    delete r;
  }
}

GST_START_TEST(test_decrypt_ctr) { DecryptRoundTrip(piff::EncryptionScheme::kPiffCtr); }
GST_END_TEST;

GST_START_TEST(test_decrypt_cbc) { DecryptRoundTrip(piff::EncryptionScheme::kPiffCbc); }
GST_END_TEST;

// A seek into the middle of a fragment: the IV of the first sample pushed is
// its own, not the fragment's first.
GST_START_TEST(test_decrypt_after_seek) {
  for (auto scheme : {piff::EncryptionScheme::kPiffCtr, piff::EncryptionScheme::kPiffCbc}) {
    EncOptions o;
    o.scheme = scheme;
    EncAv av = MakeEncryptedAv(o);
    TempFile f(av.enc_file);
    Run r(f.path, false);
    r.record_bytes = true;
    g_object_set(r.demux, "decryption-key",
                 (KeyPair(kVideoKidText, kVideoKeyHex) + "," + KeyPair(kAudioKidText, kAudioKeyHex)).c_str(), nullptr);
    r.Pause();
    // 3.1 s: video from the keyframe at 2.8 s (sample 10 of the fragment
    // at 2.4 s), audio from the frame holding 3.1 s (mid-fragment too).
    fail_unless(r.Seek(3100 * GST_MSECOND, GST_SEEK_FLAG_ACCURATE));
    fail_unless(r.Play(), "%s", r.error.c_str());
    CheckDecryptedPad(r.Pad("video_0"), "video/x-h264", av.clear[1], 70);
    CheckDecryptedPad(r.Pad("audio_0"), "audio/mpeg", av.clear[2], 3100 * 48 / 1024);
    // And back to 1.0 s, across chunks already read.
    r.Pause();
    fail_unless(r.Seek(1000 * GST_MSECOND, GST_SEEK_FLAG_ACCURATE));
    fail_unless(r.Play(), "%s", r.error.c_str());
    CheckDecryptedPad(r.Pad("video_0"), "video/x-h264", av.clear[1], 20);
  }
}
GST_END_TEST;

GST_START_TEST(test_decrypt_missing_senc) {
  EncOptions o;
  o.drop_senc = true;
  EncAv av = MakeEncryptedAv(o);
  TempFile f(av.enc_file);
  for (bool push : {false, true}) {
    // With the key: an error, not clear-looking garbage.
    Run* r = PlayEncrypted(f, push, KeyPair(kVideoKidText, kVideoKeyHex), false);
    fail_unless(r->error.find("senc") != std::string::npos || r->error.find("sample encryption") != std::string::npos,
                "%s", r->error.c_str());
    delete r;
    // Without: the fragment's buffers go out without protection meta.
    r = PlayEncrypted(f, push, "");
    PadLog& v = r->Pad("video_0");
    fail_unless_equals_int(v.bufs.size(), 200);
    for (size_t i = 0; i < v.bufs.size(); i++) fail_unless(v.bufs[i].protection == (i / 20 != 3), "buffer %zu", i);
    delete r;
  }
}
GST_END_TEST;

// CENC tenc under schm 'cbcs': signalled with cipher-mode cbcs; decrypting
// it is not supported and says so.
GST_START_TEST(test_cbcs_signalled_not_decrypted) {
  EncOptions o;
  o.scheme = piff::EncryptionScheme::kPiffCbc;
  o.cenc_scheme = "cbcs";
  EncAv av = MakeEncryptedAv(o);
  TempFile f(av.enc_file);
  for (bool push : {false, true}) {
    Run* r = PlayEncrypted(f, push, "");
    GstStructure* s = gst_caps_get_structure(r->Pad("video_0").caps, 0);
    fail_unless(gst_structure_has_name(s, "application/x-cenc"));
    fail_unless_equals_string(gst_structure_get_string(s, "cipher-mode"), "cbcs");
    delete r;
    r = PlayEncrypted(f, push, KeyPair(kVideoKidText, kVideoKeyHex), false);
    fail_unless(r->error.find("cbcs") != std::string::npos, "%s", r->error.c_str());
    delete r;
  }
  // schm 'cenc' with a CENC tenc: cipher-mode cenc, and it decrypts (AES-CTR).
  o.scheme = piff::EncryptionScheme::kPiffCtr;
  o.cenc_scheme = "cenc";
  av = MakeEncryptedAv(o);
  TempFile g(av.enc_file);
  Run* r = PlayEncrypted(g, false, "");
  fail_unless_equals_string(gst_structure_get_string(gst_caps_get_structure(r->Pad("video_0").caps, 0), "cipher-mode"),
                            "cenc");
  delete r;
  r = PlayEncrypted(g, false, KeyPair(kVideoKidText, kVideoKeyHex));
  CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", av.clear[1]);
  delete r;
}
GST_END_TEST;

// A PIFF uuid-pssh gives the PlayReady Object with origin smooth-streaming;
// an ISO pssh the whole box with origin isobmff/moov (as qtdemux).
GST_START_TEST(test_protection_events) {
  EncOptions o;
  o.standard_pssh = true;
  EncAv av = MakeEncryptedAv(o);
  TempFile f(av.enc_file);
  for (bool push : {false, true}) {
    Run* r = PlayEncrypted(f, push, "");
    for (const char* pad : {"video_0", "audio_0"}) {
      PadLog& p = r->Pad(pad);
      fail_unless_equals_int(p.protection_events.size(), 2);
      fail_unless_equals_string(p.protection_events[0].origin.c_str(), "smooth-streaming");
      fail_unless(p.protection_events[0].data == Base64Bytes(av.pro));
      fail_unless_equals_string(p.protection_events[1].system.c_str(), "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed");
      fail_unless_equals_string(p.protection_events[1].origin.c_str(), "isobmff/moov");
      fail_unless(p.protection_events[1].data == av.standard_pssh);
      // PlayReady stays the caps' protection system.
      fail_unless_equals_string(gst_structure_get_string(gst_caps_get_structure(p.caps, 0), "protection-system"),
                                "9a04f079-9840-4286-ab92-e65be0885f95");
    }
    delete r;
  }
}
GST_END_TEST;

// ismvmux's encryption read back: a clear file through ismdemux into
// ismvmux encryption=piff-ctr|piff-cbc, then the result through ismdemux
// with the key (bit-identical to the clear samples) and without it (the
// meta decrypts every sample with OpenSSL directly).
GST_START_TEST(test_ismvmux_encryption_read_back) {
  GstElement* probe = gst_element_factory_make("ismvmux", nullptr);
  fail_unless(probe != nullptr);
  bool has = g_object_class_find_property(G_OBJECT_GET_CLASS(probe), "encryption") != nullptr;
  gst_object_unref(probe);
  if (!has) {
    g_print("ismvmux has no encryption property: test_ismvmux_encryption_read_back skipped\n");
    return;
  }
  EncAv av = MakeEncryptedAv(EncOptions());
  TempFile clear(av.clear_file, "clear.ismv");
  for (const char* scheme : {"piff-ctr", "piff-cbc"}) {
    bool cbc = std::string(scheme) == "piff-cbc";
    std::string out = clear.path + "." + scheme + ".ismv";
    std::string desc = "filesrc location=" + clear.path +
                       " ! ismdemux name=d d.video_0 ! queue ! mux.video_0 d.audio_0 ! queue ! mux.audio_0 "
                       "ismvmux name=mux encryption=" + scheme + " key-id=" + kVideoKidText + " content-key=" +
                       kVideoKeyHex + " ! filesink location=" + out;
    GError* err = nullptr;
    GstElement* pipe = gst_parse_launch(desc.c_str(), &err);
    fail_unless(pipe && !err, "%s", err ? err->message : "");
    gst_element_set_state(pipe, GST_STATE_PLAYING);
    GstBus* bus = gst_element_get_bus(pipe);
    GstMessage* m = gst_bus_timed_pop_filtered(bus, 30 * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
    fail_unless(m && GST_MESSAGE_TYPE(m) == GST_MESSAGE_EOS, "muxing with encryption=%s failed", scheme);
    gst_message_unref(m);
    gst_object_unref(bus);
    gst_element_set_state(pipe, GST_STATE_NULL);
    gst_object_unref(pipe);

    std::ifstream in(out, std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    g_unlink(out.c_str());
    TempFile enc(bytes);
    for (bool push : {false, true}) {
      Run* r = PlayEncrypted(enc, push, KeyPair(kVideoKidText, kVideoKeyHex));
      CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", av.clear[1]);
      CheckDecryptedPad(r->Pad("audio_0"), "audio/mpeg", av.clear[2]);
      delete r;
      r = PlayEncrypted(enc, push, "");
      for (const char* pad : {"video_0", "audio_0"}) {
        PadLog& p = r->Pad(pad);
        const auto& clear_samples = av.clear[pad[0] == 'v' ? 1 : 2];
        GstStructure* s = gst_caps_get_structure(p.caps, 0);
        fail_unless(gst_structure_has_name(s, "application/x-cenc"));
        fail_unless_equals_string(gst_structure_get_string(s, "cipher-mode"), cbc ? "cbc1" : "cenc");
        fail_unless(!p.protection_events.empty() && p.protection_events[0].origin == "smooth-streaming");
        const std::vector<uint8_t>& text = p.protection_events[0].data;
        std::vector<uint8_t> raw;
        fail_unless(piff::Base64Decode(std::string(text.begin(), text.end()), &raw));
        piff::PlayReadyObjectInfo pro;
        fail_unless(piff::ParsePlayReadyObject(raw, &pro));
        fail_unless(pro.kids.size() == 1 && pro.kids[0] == kVideoKid);
        fail_unless_equals_int(p.bufs.size(), clear_samples.size());
        for (size_t i = 0; i < p.bufs.size(); i++) {
          fail_unless(p.bufs[i].protection, "%s buffer %zu: no protection meta", pad, i);
          fail_unless(p.bufs[i].kid == std::vector<uint8_t>(kVideoKid.begin(), kVideoKid.end()));
          if (pad[0] == 'v') fail_unless(p.bufs[i].subsample_count > 0, "H.264 sample %zu without subsamples", i);
          fail_unless(EvpDecrypt(cbc, Hex(kVideoKeyHex), p.bufs[i]) == clear_samples[i],
                      "%s %s sample %zu: OpenSSL decryption from the meta differs from the clear sample", scheme, pad,
                      i);
        }
      }
      delete r;
    }
  }
}
GST_END_TEST;

// A right KID with a wrong key: an error naming the KID, at once, instead of
// noise pushed as clear media (which decoders drop silently: the pipeline
// then never prerolls). With the PlayReady header's CHECKSUM for the KID it
// is caught before any sample; without one, by the first decrypted samples
// (AAC here, whose KID the header does not list, and H.264 in a file whose
// header has no CHECKSUM).
GST_START_TEST(test_wrong_key) {
  EncAv av = MakeEncryptedAv(EncOptions());
  EncOptions no_cs;
  no_cs.no_checksum = true;
  EncAv bare = MakeEncryptedAv(no_cs);
  TempFile f(av.enc_file), g(bare.enc_file, "bare.ismv");
  const char* wrong = "0f0e0d0c0b0a09080706050403020100";
  struct Case {
    const TempFile* file;
    std::string keys;
    const char* kid;
    const char* says;
  } cases[] = {
      {&f, KeyPair(kVideoKidText, wrong), kVideoKidText, "CHECKSUM"},
      {&f, KeyPair(kVideoKidText, kVideoKeyHex) + "," + KeyPair(kAudioKidText, wrong), kAudioKidText, "AAC"},
      {&g, KeyPair(kVideoKidText, wrong), kVideoKidText, "H.264"},
  };
  for (const Case& c : cases)
    for (bool push : {false, true}) {
      gint64 t0 = g_get_monotonic_time();
      Run* r = PlayEncrypted(*c.file, push, c.keys, false);
      gint64 ms = (g_get_monotonic_time() - t0) / 1000;
      fail_unless(r->error.find("Wrong decryption key for KID") != std::string::npos &&
                      r->error.find(c.kid) != std::string::npos && r->error.find(c.says) != std::string::npos,
                  "%s (%s): error \"%s\"", c.keys.c_str(), push ? "push" : "pull", r->error.c_str());
      fail_unless(r->error.find(wrong) == std::string::npos, "the key is in the error");
      fail_unless(ms < 5000, "the error took %d ms", static_cast<int>(ms));
      delete r;
    }
  // Right keys with no CHECKSUM anywhere: the sample checks pass.
  for (bool push : {false, true}) {
    Run* r = PlayEncrypted(g, push, KeyPair(kVideoKidText, kVideoKeyHex) + "," + KeyPair(kAudioKidText, kAudioKeyHex));
    CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", bare.clear[1]);
    CheckDecryptedPad(r->Pad("audio_0"), "audio/mpeg", bare.clear[2]);
    delete r;
  }
}
GST_END_TEST;

static bool AnyWarning(const Run& r, const std::vector<std::string>& all_of) {
  for (const std::string& w : r.warnings) {
    bool ok = true;
    for (const std::string& part : all_of) ok &= w.find(part) != std::string::npos;
    if (ok) return true;
  }
  return false;
}

static std::string Joined(const Run& r) {
  std::string s;
  for (auto& w : r.warnings) s += w + "\n";
  return s;
}

// A KID that matches no track: a warning naming it. Given in GUID byte
// order, the warning says so and names the track's KID, and the key is used.
GST_START_TEST(test_kid_matches_no_track) {
  EncAv av = MakeEncryptedAv(EncOptions());
  TempFile f(av.enc_file);
  const char* guid_order = "40302010-6050-8070-90a0-b0c0d0e0f001";  // kVideoKid byte-swapped
  const char* stranger = "99999999-8888-7777-6666-555555555555";
  for (bool push : {false, true}) {
    Run* r = PlayEncrypted(f, push, KeyPair(guid_order, kVideoKeyHex));
    fail_unless(AnyWarning(*r, {"decryption-key KID", guid_order, "byte-swapped", kVideoKidText}), "%s",
                Joined(*r).c_str());
    CheckDecryptedPad(r->Pad("video_0"), "video/x-h264", av.clear[1]);
    delete r;
    r = PlayEncrypted(f, push, KeyPair(stranger, kVideoKeyHex));
    fail_unless(AnyWarning(*r, {"decryption-key KID", stranger, "matches no track", kVideoKidText, kAudioKidText}),
                "%s", Joined(*r).c_str());
    fail_unless(gst_structure_has_name(gst_caps_get_structure(r->Pad("video_0").caps, 0), "application/x-cenc"));
    delete r;
    // KID and KEY typed the wrong way round: said, without showing the key.
    std::string kid_hex = std::string(kVideoKidText);
    kid_hex.erase(std::remove(kid_hex.begin(), kid_hex.end(), '-'), kid_hex.end());
    r = PlayEncrypted(f, push, std::string(kVideoKeyHex) + ":" + kid_hex);
    fail_unless(AnyWarning(*r, {"swapped"}), "%s", Joined(*r).c_str());
    fail_if(Joined(*r).find("2b7e1516") != std::string::npos, "the key is shown: %s", Joined(*r).c_str());
    delete r;
    // The right KID: no warning about it.
    r = PlayEncrypted(f, push, KeyPair(kVideoKidText, kVideoKeyHex));
    fail_if(AnyWarning(*r, {"decryption-key"}), "%s", Joined(*r).c_str());
    delete r;
  }
}
GST_END_TEST;

static Suite* ismdemux_encryption_suite(void) {
  Suite* s = suite_create("ismdemux-encryption");
  TCase* tc = tcase_create("general");
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_encrypted_track);
  tcase_add_test(tc, test_decryption_key_property);
  tcase_add_test(tc, test_decrypt_ctr);
  tcase_add_test(tc, test_decrypt_cbc);
  tcase_add_test(tc, test_decrypt_after_seek);
  tcase_add_test(tc, test_decrypt_missing_senc);
  tcase_add_test(tc, test_cbcs_signalled_not_decrypted);
  tcase_add_test(tc, test_protection_events);
  tcase_add_test(tc, test_ismvmux_encryption_read_back);
  tcase_add_test(tc, test_wrong_key);
  tcase_add_test(tc, test_kid_matches_no_track);
  return s;
}

GST_CHECK_MAIN(ismdemux_encryption);
