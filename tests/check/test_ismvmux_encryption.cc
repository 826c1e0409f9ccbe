// gst-check tests of ismvmux's PIFF encryption: settings validation, the
// boxes of encrypted output (sinf/tenc, uuid-pssh with the PlayReady Object,
// uuid-senc per traf), decryption back to the input bytes, IV rules, the
// .ismc ProtectionHeader, live output, and re-muxing input that is already
// encrypted (application/x-cenc + GstProtectionMeta + protection event).
// Every check reads the output with the core (gst/piff), independently of
// the element's own code paths.
// The C++ and core headers come first: gst-check defines a `fail` macro that
// would clash with std::ios::fail().
#include <algorithm>
#include <fstream>
#include <functional>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "client_manifest.h"
#include "encryption.h"
#include "file.h"
#include "playready.h"
#include "protection.h"

#include "mux_rig.h"

#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/check/gstcheck.h>

namespace {

const char* const kKid = "01020304-0506-0708-090a-aabbccddeeff";
const char* const kKey = "00112233445566778899aabbccddeeff";
const char* const kLaUrl = "https://license.example/rightsmanager.asmx?cfg=(kid:header)";
const char* const kPlayReady = "9a04f079-9840-4286-ab92-e65be0885f95";

piff::Uuid KidUuid() {
  piff::Uuid u;
  fail_unless(piff::UuidFromString(kKid, &u));
  return u;
}

std::vector<uint8_t> KeyBytes() {
  std::vector<uint8_t> k;
  fail_unless(piff::ParseHex(kKey, &k));
  return k;
}

GstCaps* VideoCaps(bool cenc = false, const char* cipher_mode = "cenc") {
  GstBuffer* cd = gst_buffer_new_memdup(kAvcC, sizeof(kAvcC));
  GstCaps* caps = gst_caps_new_simple("video/x-h264", "stream-format", G_TYPE_STRING, "avc", "alignment",
                                      G_TYPE_STRING, "au", "width", G_TYPE_INT, 320, "height", G_TYPE_INT, 180,
                                      "framerate", GST_TYPE_FRACTION, 25, 1, "codec_data", GST_TYPE_BUFFER, cd,
                                      nullptr);
  gst_buffer_unref(cd);
  if (cenc) {
    GstStructure* s = gst_caps_get_structure(caps, 0);
    gst_structure_set(s, "original-media-type", G_TYPE_STRING, "video/x-h264", "protection-system", G_TYPE_STRING,
                      kPlayReady, "cipher-mode", G_TYPE_STRING, cipher_mode, nullptr);
    gst_structure_set_name(s, "application/x-cenc");
  }
  return caps;
}

// Video sample i: two length-prefixed NAL units (a slice and an SEI) of
// sizes that leave partial 16-byte blocks, with position-dependent bytes.
std::vector<uint8_t> VideoPayload(int i) {
  std::vector<uint8_t> out;
  auto nal = [&](uint8_t header, size_t len, int seed) {
    for (int k = 3; k >= 0; k--) out.push_back(static_cast<uint8_t>(len >> (8 * k)));
    out.push_back(header);
    for (size_t j = 1; j < len; j++) out.push_back(static_cast<uint8_t>(seed * 31 + j * 7));
  };
  nal(i % 25 == 0 ? 0x65 : 0x41, 200 + 7 * i, i);
  nal(0x06, 20 + i % 13, i + 100);
  return out;
}

std::vector<uint8_t> AudioPayload(int i) {
  std::vector<uint8_t> out(250 + i % 17);
  for (size_t j = 0; j < out.size(); j++) out[j] = static_cast<uint8_t>(i * 13 + j * 3);
  return out;
}

GstBuffer* MakeBuffer(const std::vector<uint8_t>& bytes, GstClockTime pts, GstClockTime dur, bool key) {
  GstBuffer* b = gst_buffer_new_memdup(bytes.data(), bytes.size());
  GST_BUFFER_PTS(b) = GST_BUFFER_DTS(b) = pts;
  GST_BUFFER_DURATION(b) = dur;
  if (!key) GST_BUFFER_FLAG_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
  return b;
}

GstClockTime AudioPts(int i) { return gst_util_uint64_scale(i, 1024 * GST_SECOND, 48000); }

// The shared rig (mux_rig.h) with a client manifest next to the output and
// this file's key and payloads. Live: appsink output from live sources, with
// running-time timestamps.
struct EncryptionRig : Rig {
  std::string ismc_path;

  explicit EncryptionRig(const std::vector<std::string>& pads, bool live = false)
      : Rig(pads, live ? Sink::kApp : Sink::kFile, live) {
    ismc_path = dir + "/out.ismc";
    g_object_set(mux, "client-manifest", ismc_path.c_str(), nullptr);
    if (live)
      g_object_set(mux, "latency", static_cast<guint64>(5 * GST_SECOND), "timestamp-mode", 1 /* running-time */,
                   nullptr);
  }
  void Encrypt(const char* scheme, const char* iv = nullptr) {
    gst_util_set_object_arg(G_OBJECT(mux), "encryption", scheme);
    g_object_set(mux, "key-id", kKid, "content-key", kKey, "la-url", kLaUrl, nullptr);
    if (iv) g_object_set(mux, "iv", iv, nullptr);
  }
  void PushVideo(size_t src, int frames) {
    for (int i = 0; i < frames; i++) Push(src, MakeBuffer(VideoPayload(i), i * GST_SECOND / 25, GST_SECOND / 25, i % 25 == 0));
  }
  void PushAudio(size_t src, int frames) {
    for (int i = 0; i < frames; i++) Push(src, MakeBuffer(AudioPayload(i), AudioPts(i), AudioPts(i + 1) - AudioPts(i), true));
  }
  piff::ClientManifest ReadClientManifest() {
    gchar* c = nullptr;
    gsize n = 0;
    fail_unless(g_file_get_contents(ismc_path.c_str(), &c, &n, nullptr), "no .ismc");
    piff::ClientManifest cm;
    piff::Status s = piff::ClientManifest::Parse(std::string(c, n), &cm);
    g_free(c);
    fail_unless(s.ok(), "%s", s.message().c_str());
    return cm;
  }
};

// The sinf of track `index`: sample entry type, and the parsed box.
piff::ProtectionSchemeInfoBox TrackSinf(const piff::PiffFile& f, size_t index, piff::FourCC* entry_type) {
  const auto& stsd = f.moov->tracks[index].mdia.minf.stbl.stsd;
  const piff::RawBoxes* other = nullptr;
  if (!stsd.video.empty()) {
    *entry_type = stsd.video[0].format;
    other = &stsd.video[0].other;
  } else {
    fail_unless(!stsd.audio.empty());
    *entry_type = stsd.audio[0].format;
    other = &stsd.audio[0].other;
  }
  for (auto& raw : *other) {
    piff::BoxHeader h;
    if (!piff::ParseBoxHeader(raw.data(), raw.size(), &h) || h.type != piff::MakeFourCC("sinf")) continue;
    piff::ProtectionSchemeInfoBox sinf;
    piff::Status s = sinf.Parse(raw.data(), raw.size());
    fail_unless(s.ok(), "%s", s.message().c_str());
    // The core's reader agrees.
    piff::TrackProtection tp;
    bool found = false;
    fail_unless(piff::FindTrackProtection(*other, &tp, &found).ok() && found);
    return sinf;
  }
  fail("track %zu has no sinf", index);
  return {};
}

// One encrypted sample as read back: where it is and what senc says.
struct ReadBack {
  uint32_t track_id = 0;
  piff::ReadSample sample;
  piff::SampleEncryption::Sample enc;
  uint32_t senc_flags = 0;
};

// Walks every traf: checks that each has a PIFF senc covering its trun, and
// returns the samples in file order.
std::vector<ReadBack> EncryptedSamples(const piff::PiffFile& f, uint8_t iv_size) {
  std::vector<ReadBack> out;
  size_t moof_index = 0;
  for (auto& top : f.layout) {
    if (top.kind != piff::PiffFile::Kind::kMoof) continue;
    const piff::MovieFragmentBox& moof = f.moofs[top.index];
    std::vector<piff::TrackFragmentSamples> frags;
    piff::Status s = piff::ReadFragment(moof, top.offset, &*f.moov, nullptr, nullptr, &frags);
    fail_unless(s.ok(), "%s", s.message().c_str());
    fail_unless_equals_int(frags.size(), moof.trafs.size());
    for (size_t t = 0; t < moof.trafs.size(); t++) {
      piff::SampleEncryption senc;
      bool found = false;
      s = piff::FindSampleEncryption(moof.trafs[t], iv_size, &senc, &found);
      fail_unless(s.ok(), "%s", s.message().c_str());
      fail_unless(found, "moof %zu traf %zu has no senc", moof_index, t);
      fail_unless(senc.piff, "senc is not the PIFF uuid box");
      fail_unless(!(senc.flags & piff::kSencOverrideTrackEncryption));
      fail_unless_equals_int(senc.samples.size(), frags[t].samples.size());
      for (size_t i = 0; i < senc.samples.size(); i++) {
        ReadBack rb;
        rb.track_id = frags[t].track_id;
        rb.sample = frags[t].samples[i];
        rb.enc = senc.samples[i];
        rb.senc_flags = senc.flags;
        out.push_back(rb);
      }
    }
    moof_index++;
  }
  return out;
}

std::vector<uint8_t> IncrementIv(std::vector<uint8_t> iv) {
  for (size_t i = iv.size(); i-- > 0;)
    if (++iv[i] != 0) break;
  return iv;
}

// Decrypts every sample and compares it with the clear input; checks senc
// flags (2 for video, 0 for audio) and consecutive IVs per track.
void CheckDecryptsToInput(const std::vector<uint8_t>& data, const std::vector<ReadBack>& samples,
                          piff::EncryptionScheme scheme, int video_frames, int audio_frames) {
  piff::SampleDecryptor dec;
  dec.AddKey(KidUuid(), KeyBytes());
  int vi = 0, ai = 0;
  std::vector<uint8_t> last_iv[3];
  for (auto& rb : samples) {
    bool video = rb.track_id == 1;
    std::vector<uint8_t> clear = video ? VideoPayload(vi++) : AudioPayload(ai++);
    fail_unless_equals_int(rb.sample.size, clear.size());
    fail_unless_equals_int(rb.senc_flags, video ? 2 : 0);
    if (video) fail_unless(!rb.enc.subsamples.empty());
    std::vector<uint8_t> bytes(data.begin() + rb.sample.offset, data.begin() + rb.sample.offset + rb.sample.size);
    fail_unless(bytes != clear, "sample is not encrypted");
    if (!last_iv[rb.track_id].empty()) fail_unless(rb.enc.iv == IncrementIv(last_iv[rb.track_id]), "IV is not previous + 1");
    last_iv[rb.track_id] = rb.enc.iv;
    piff::Status s = dec.Decrypt(scheme, KidUuid(), bytes.data(), bytes.size(), rb.enc.iv.data(), rb.enc.iv.size(),
                                 rb.enc.subsamples);
    fail_unless(s.ok(), "%s", s.message().c_str());
    fail_unless(bytes == clear, "%s sample %d does not decrypt to the input", video ? "video" : "audio",
                video ? vi - 1 : ai - 1);
    if (video) {
      // NAL length prefixes and headers stay clear.
      fail_unless(std::equal(clear.begin(), clear.begin() + 5, data.begin() + rb.sample.offset));
    }
  }
  fail_unless_equals_int(vi, video_frames);
  fail_unless_equals_int(ai, audio_frames);
}

std::vector<uint8_t> ThePro(const piff::PiffFile& f) {
  auto headers = piff::FindProtectionSystemHeaders(f.moov->other);
  fail_unless_equals_int(headers.size(), 1);
  fail_unless(headers[0].piff, "pssh is not the PIFF uuid box");
  fail_unless(headers[0].system_id == piff::kPlayReadySystemId);
  return headers[0].data;
}

void CheckManifestPro(EncryptionRig& r, const std::vector<uint8_t>& pro) {
  piff::ClientManifest cm = r.ReadClientManifest();
  fail_unless_equals_int(cm.protection.size(), 1);
  fail_unless(cm.protection[0].system_id == piff::kPlayReadySystemId);
  std::vector<uint8_t> decoded;
  fail_unless(piff::Base64Decode(cm.protection[0].data_base64, &decoded));
  fail_unless(decoded == pro, ".ismc ProtectionHeader is not the pssh's PlayReady Object");
}

// Encrypts 3 s of video + audio and checks everything a client needs.
void RunEncrypted(const char* scheme_name, piff::EncryptionScheme scheme) {
  EncryptionRig r({"video_%u", "audio_%u"});
  r.Encrypt(scheme_name);
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  // Keep one input buffer to show that inputs are never written to.
  std::vector<uint8_t> kept_bytes = VideoPayload(0);
  GstBuffer* kept = MakeBuffer(kept_bytes, 0, GST_SECOND / 25, true);
  gst_buffer_ref(kept);
  r.Push(0, kept);
  for (int i = 1; i < 75; i++) r.Push(0, MakeBuffer(VideoPayload(i), i * GST_SECOND / 25, GST_SECOND / 25, i % 25 == 0));
  r.PushAudio(1, 140);
  r.EndAll();
  r.ExpectEos();
  GstMapInfo map;
  fail_unless(gst_buffer_map(kept, &map, GST_MAP_READ));
  fail_unless(std::equal(kept_bytes.begin(), kept_bytes.end(), map.data), "an input buffer was modified");
  gst_buffer_unmap(kept, &map);
  gst_buffer_unref(kept);

  std::vector<uint8_t> data = r.ReadOutput();
  piff::PiffFile f = ParseFile(data);
  fail_unless(f.ftyp && std::count(f.ftyp->compatible_brands.begin(), f.ftyp->compatible_brands.end(),
                                   piff::MakeFourCC("piff")) == 1);
  uint8_t iv_size = scheme == piff::EncryptionScheme::kPiffCbc ? 16 : 8;
  uint32_t algorithm = scheme == piff::EncryptionScheme::kPiffCbc ? 2 : 1;
  const char* entries[] = {"encv", "enca"};
  const char* formats[] = {"avc1", "mp4a"};
  for (size_t t = 0; t < 2; t++) {
    piff::FourCC entry = 0;
    piff::ProtectionSchemeInfoBox sinf = TrackSinf(f, t, &entry);
    std::string entry_name = piff::FourCCToString(entry), format_name = piff::FourCCToString(sinf.frma.data_format);
    fail_unless_equals_string(entry_name.c_str(), entries[t]);
    fail_unless_equals_string(format_name.c_str(), formats[t]);
    fail_unless(sinf.schm && sinf.schm->scheme_type == piff::MakeFourCC("piff"));
    fail_unless_equals_int(sinf.schm->scheme_version, 0x00010001);
    fail_unless(sinf.schi && sinf.schi->piff_tenc && !sinf.schi->tenc);
    fail_unless_equals_int(sinf.schi->piff_tenc->fields.head, algorithm);
    fail_unless_equals_int(sinf.schi->piff_tenc->fields.iv_size, iv_size);
    fail_unless(sinf.schi->piff_tenc->fields.kid == KidUuid());
  }

  std::vector<uint8_t> pro = ThePro(f);
  piff::PlayReadyObjectInfo info;
  fail_unless(piff::ParsePlayReadyObject(pro, &info).ok());
  fail_unless_equals_int(info.kids.size(), 1);
  fail_unless(info.kids[0] == KidUuid());
  fail_unless_equals_string(info.la_url.c_str(), kLaUrl);
  fail_unless_equals_string(info.version.c_str(), scheme == piff::EncryptionScheme::kPiffCbc ? "4.3.0.0" : "4.0.0.0");
  if (scheme == piff::EncryptionScheme::kPiffCtr) {
    std::vector<uint8_t> checksum;
    fail_unless(piff::PlayReadyChecksum(KidUuid(), KeyBytes(), &checksum).ok());
    fail_unless(info.checksums.size() == 1 && info.checksums[0] == checksum, "CHECKSUM differs");
  }
  CheckManifestPro(r, pro);

  auto samples = EncryptedSamples(f, iv_size);
  CheckDecryptsToInput(data, samples, scheme, 75, 140);
}

// Bad settings: the state change fails and the error names the property.
std::string StartError(const std::function<void(GstElement*)>& configure) {
  GstElement* pipeline = gst_pipeline_new(nullptr);
  GstElement* mux = gst_element_factory_make("ismvmux", nullptr);
  GstElement* sink = gst_element_factory_make("fakesink", nullptr);
  gst_bin_add_many(GST_BIN(pipeline), mux, sink, nullptr);
  gst_element_link(mux, sink);
  configure(mux);
  fail_unless_equals_int(gst_element_set_state(pipeline, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* m = gst_bus_timed_pop_filtered(bus, 0, GST_MESSAGE_ERROR);
  fail_unless(m != nullptr, "no error message");
  GError* e = nullptr;
  gst_message_parse_error(m, &e, nullptr);
  fail_unless(g_error_matches(e, GST_RESOURCE_ERROR, GST_RESOURCE_ERROR_SETTINGS));
  std::string text = e->message;
  g_error_free(e);
  gst_message_unref(m);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return text;
}

void ExpectSettingsError(const std::function<void(GstElement*)>& configure, const std::string& want) {
  std::string got = StartError(configure);
  fail_unless(got.find(want) != std::string::npos, "error \"%s\" does not say \"%s\"", got.c_str(), want.c_str());
}

GstBuffer* PullAll(GstElement* appsink, std::vector<uint8_t>* data, std::vector<std::vector<uint8_t>>* pieces) {
  for (;;) {
    GstSample* s = gst_app_sink_try_pull_sample(GST_APP_SINK(appsink), 10 * GST_SECOND);
    if (!s) break;
    GstMapInfo map;
    GstBuffer* b = gst_sample_get_buffer(s);
    gst_buffer_map(b, &map, GST_MAP_READ);
    data->insert(data->end(), map.data, map.data + map.size);
    // A live fragment's continuation buffer (docs/ismvmux.md, Live mode)
    // belongs to the piece before it.
    bool continuation = !GST_BUFFER_PTS_IS_VALID(b) && GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT);
    if (continuation && !pieces->empty())
      pieces->back().insert(pieces->back().end(), map.data, map.data + map.size);
    else
      pieces->emplace_back(map.data, map.data + map.size);
    gst_buffer_unmap(b, &map);
    gst_sample_unref(s);
  }
  return nullptr;
}

// First IVs (per track id) of an encrypted run with the given settings.
std::vector<std::vector<uint8_t>> FirstIvs(const char* scheme, const char* iv) {
  EncryptionRig r({"video_%u", "audio_%u"});
  r.Encrypt(scheme, iv);
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  r.PushVideo(0, 30);
  r.PushAudio(1, 50);
  r.EndAll();
  r.ExpectEos();
  std::vector<uint8_t> data = r.ReadOutput();
  piff::PiffFile f = ParseFile(data);
  auto samples = EncryptedSamples(f, std::string(scheme) == "piff-cbc" ? 16 : 8);
  std::vector<std::vector<uint8_t>> first(3), second(3);
  for (auto& s : samples) {
    if (first[s.track_id].empty())
      first[s.track_id] = s.enc.iv;
    else if (second[s.track_id].empty())
      second[s.track_id] = s.enc.iv;
  }
  fail_unless(second[1] == IncrementIv(first[1]) && second[2] == IncrementIv(first[2]));
  CheckDecryptsToInput(data, samples, std::string(scheme) == "piff-cbc" ? piff::EncryptionScheme::kPiffCbc
                                                                        : piff::EncryptionScheme::kPiffCtr,
                       30, 50);
  return {first[1], first[2]};
}

// Already-encrypted input: samples encrypted here with the core, signalled
// as ismdemux/qtdemux do.
struct EncryptedInput {
  std::vector<std::vector<uint8_t>> bytes;
  std::vector<piff::SampleEncryption::Sample> enc;
};

EncryptedInput MakeEncryptedVideo(int frames, piff::EncryptionScheme scheme) {
  piff::EncryptionSettings settings;
  settings.scheme = scheme;
  settings.kid = KidUuid();
  settings.key = KeyBytes();
  piff::TrackEncryptor::Format format;
  format.nal_length_size = 4;
  std::unique_ptr<piff::TrackEncryptor> enc;
  fail_unless(piff::TrackEncryptor::Create(settings, format, &enc).ok());
  EncryptedInput in;
  piff::SampleEncryption senc = enc->NewFragment();
  for (int i = 0; i < frames; i++) {
    std::vector<uint8_t> clear = VideoPayload(i), out(clear.size());
    fail_unless(enc->EncryptSample(clear.data(), out.data(), clear.size(), &senc).ok());
    in.bytes.push_back(out);
  }
  in.enc = senc.samples;
  return in;
}

GstBuffer* WithProtectionMeta(GstBuffer* b, const piff::SampleEncryption::Sample& e) {
  piff::Uuid kid = KidUuid();
  GstBuffer* kid_buf = gst_buffer_new_memdup(kid.data(), kid.size());
  GstBuffer* iv_buf = gst_buffer_new_memdup(e.iv.data(), e.iv.size());
  GstStructure* info = gst_structure_new("application/x-cenc", "encrypted", G_TYPE_BOOLEAN, TRUE, "kid",
                                         GST_TYPE_BUFFER, kid_buf, "iv_size", G_TYPE_UINT,
                                         static_cast<guint>(e.iv.size()), "iv", GST_TYPE_BUFFER, iv_buf,
                                         "subsample_count", G_TYPE_UINT, static_cast<guint>(e.subsamples.size()),
                                         nullptr);
  if (!e.subsamples.empty()) {
    std::vector<uint8_t> packed = piff::PackSubsamples(e.subsamples);
    GstBuffer* sub = gst_buffer_new_memdup(packed.data(), packed.size());
    gst_structure_set(info, "subsamples", GST_TYPE_BUFFER, sub, nullptr);
    gst_buffer_unref(sub);
  }
  gst_buffer_unref(kid_buf);
  gst_buffer_unref(iv_buf);
  gst_buffer_add_protection_meta(b, info);
  return b;
}

std::vector<uint8_t> TestPro() {
  piff::PlayReadyHeaderParams hp;
  hp.kid = KidUuid();
  hp.key = KeyBytes();
  hp.la_url = "https://upstream.example/pr";
  std::string xml;
  fail_unless(piff::BuildWrmHeader(hp, &xml).ok());
  return piff::BuildPlayReadyObject(xml);
}

void SendProtection(GstElement* src, const std::vector<uint8_t>& data, const char* origin) {
  GstBuffer* b = gst_buffer_new_memdup(data.data(), data.size());
  fail_unless(gst_element_send_event(src, gst_event_new_protection(kPlayReady, b, origin)));
  gst_buffer_unref(b);
}

// An ISO 'pssh' (version 0) around `data`.
std::vector<uint8_t> IsoPssh(const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b;
  auto put32 = [&](uint32_t v) {
    for (int i = 3; i >= 0; i--) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  put32(static_cast<uint32_t>(32 + data.size()));
  put32(piff::MakeFourCC("pssh"));
  put32(0);
  b.insert(b.end(), piff::kPlayReadySystemId.begin(), piff::kPlayReadySystemId.end());
  put32(static_cast<uint32_t>(data.size()));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

}  // namespace

GST_START_TEST(test_encryption_properties) {
  GstElement* mux = gst_element_factory_make("ismvmux", nullptr);
  fail_unless(mux != nullptr);
  gint enc = -1;
  gchar *kid = nullptr, *iv = nullptr;
  g_object_get(mux, "encryption", &enc, "key-id", &kid, "iv", &iv, nullptr);
  fail_unless_equals_int(enc, 0);
  fail_unless(kid == nullptr && iv == nullptr);
  gst_util_set_object_arg(G_OBJECT(mux), "encryption", "piff-cbc");
  g_object_set(mux, "key-id", kKid, nullptr);
  g_object_get(mux, "encryption", &enc, "key-id", &kid, nullptr);
  fail_unless_equals_int(enc, 2);
  fail_unless_equals_string(kid, kKid);
  g_free(kid);
  GParamSpec* ps = g_object_class_find_property(G_OBJECT_GET_CLASS(mux), "playready-header");
  fail_unless(ps && (ps->flags & GST_PARAM_MUTABLE_READY));
  gst_object_unref(mux);
}
GST_END_TEST;

GST_START_TEST(test_bad_settings) {
  auto ctr = [](GstElement* m) { gst_util_set_object_arg(G_OBJECT(m), "encryption", "piff-ctr"); };
  // Wrong key length (15 bytes); the key's value is not echoed.
  ExpectSettingsError([&](GstElement* m) { ctr(m); g_object_set(m, "key-id", kKid, "content-key", "00112233445566778899aabbccddee", nullptr); },
                      "content-key must be 16 bytes (32 hex digits), got 15");
  std::string e = StartError([&](GstElement* m) {
    ctr(m);
    g_object_set(m, "key-id", kKid, "content-key", "zz112233445566778899aabbccddeeff", nullptr);
  });
  fail_unless(e.find("content-key is not hex") != std::string::npos, "%s", e.c_str());
  fail_unless(e.find("zz1122") == std::string::npos, "the key is echoed: %s", e.c_str());
  ExpectSettingsError([&](GstElement* m) { ctr(m); g_object_set(m, "key-id", "xyz", "content-key", kKey, nullptr); },
                      "key-id: 'xyz' is not a UUID");
  ExpectSettingsError([&](GstElement* m) { ctr(m); g_object_set(m, "key-id", kKid, nullptr); },
                      "content-key is required");
  ExpectSettingsError([&](GstElement* m) { ctr(m); g_object_set(m, "content-key", kKey, nullptr); },
                      "key-id is required");
  ExpectSettingsError([&](GstElement* m) { ctr(m); g_object_set(m, "key-id", kKid, "content-key", kKey, "iv", "01020304", nullptr); },
                      "iv must be 8 bytes (16 hex digits) for piff-ctr, got 4");
  ExpectSettingsError(
      [&](GstElement* m) {
        gst_util_set_object_arg(G_OBJECT(m), "encryption", "piff-cbc");
        g_object_set(m, "key-id", kKid, "content-key", kKey, "iv", "0102030405060708", nullptr);
      },
      "iv must be 16 bytes (32 hex digits) for piff-cbc, got 8");
  ExpectSettingsError([&](GstElement* m) { ctr(m); g_object_set(m, "key-id", kKid, "content-key", kKey, "iv", "01020304050607xx", nullptr); },
                      "iv: '01020304050607xx' is not hex");
  ExpectSettingsError(
      [&](GstElement* m) {
        ctr(m);
        g_object_set(m, "key-id", kKid, "key-id-guid", kKid, "content-key", kKey, nullptr);
      },
      "key-id and key-id-guid name different KIDs");
  ExpectSettingsError([&](GstElement* m) { ctr(m); g_object_set(m, "key-id-guid", "not-a-kid", "content-key", kKey, nullptr); },
                      "key-id-guid: 'not-a-kid'");
  ExpectSettingsError(
      [&](GstElement* m) {
        ctr(m);
        g_object_set(m, "key-id", kKid, "content-key", kKey, "playready-header", "AAAA", nullptr);
      },
      "playready-header is not a PlayReady Object");
  // encryption=none ignores the other settings.
  GstElement* mux = gst_element_factory_make("ismvmux", nullptr);
  g_object_set(mux, "key-id", "xyz", nullptr);
  fail_unless(gst_element_set_state(mux, GST_STATE_PAUSED) != GST_STATE_CHANGE_FAILURE);
  gst_element_set_state(mux, GST_STATE_NULL);
  gst_object_unref(mux);
}
GST_END_TEST;

GST_START_TEST(test_encrypt_ctr) { RunEncrypted("piff-ctr", piff::EncryptionScheme::kPiffCtr); }
GST_END_TEST;

GST_START_TEST(test_encrypt_cbc) { RunEncrypted("piff-cbc", piff::EncryptionScheme::kPiffCbc); }
GST_END_TEST;

// An explicit IV is the first IV of the first track, +1 per sample; the
// second track starts 2^40 higher. CBC takes 16 bytes.
GST_START_TEST(test_explicit_iv) {
  auto ivs = FirstIvs("piff-ctr", "0102030405060708");
  std::string v = piff::ToHex(ivs[0]), a = piff::ToHex(ivs[1]);
  fail_unless_equals_string(v.c_str(), "0102030405060708");
  fail_unless_equals_string(a.c_str(), "0102040405060708");
  ivs = FirstIvs("piff-cbc", "000102030405060708090a0b0c0d0eff");
  v = piff::ToHex(ivs[0]);
  a = piff::ToHex(ivs[1]);
  fail_unless_equals_string(v.c_str(), "000102030405060708090a0b0c0d0eff");
  fail_unless_equals_string(a.c_str(), "000102030405060708090b0b0c0d0eff");
}
GST_END_TEST;

// Default IVs are random: two runs, and two tracks, differ.
GST_START_TEST(test_random_iv) {
  auto a = FirstIvs("piff-ctr", nullptr);
  auto b = FirstIvs("piff-ctr", nullptr);
  fail_unless_equals_int(a[0].size(), 8);
  fail_unless(a[0] != b[0] && a[1] != b[1], "two runs share an IV");
  fail_unless(a[0] != a[1], "two tracks share an IV");
}
GST_END_TEST;

// key-id-guid (base64 or hex of the GUID-order bytes) gives the swapped KID;
// the same KID in both properties is accepted.
GST_START_TEST(test_key_id_guid) {
  const char* forms[] = {"BAMCAQYFCAcJCqq7zN3u/w==", "0403020106050807090aaabbccddeeff",
                         "{04030201-0605-0807-090a-aabbccddeeff}"};
  for (const char* form : forms) {
    EncryptionRig r({"audio_%u"});
    gst_util_set_object_arg(G_OBJECT(r.mux), "encryption", "piff-ctr");
    g_object_set(r.mux, "key-id-guid", form, "content-key", kKey, nullptr);
    if (form == forms[0]) g_object_set(r.mux, "key-id", kKid, nullptr);
    r.SetCaps(0, AudioCaps());
    r.Start();
    r.PushAudio(0, 20);
    r.EndAll();
    r.ExpectEos();
    piff::PiffFile f = ParseFile(r.ReadOutput());
    piff::FourCC entry;
    auto sinf = TrackSinf(f, 0, &entry);
    fail_unless(sinf.schi->piff_tenc->fields.kid == KidUuid(), "%s: tenc KID is %s", form,
                piff::UuidToString(sinf.schi->piff_tenc->fields.kid).c_str());
    piff::PlayReadyObjectInfo info;
    fail_unless(piff::ParsePlayReadyObject(ThePro(f), &info).ok());
    fail_unless(info.kids.size() == 1 && info.kids[0] == KidUuid());
    // The WRMHEADER holds the GUID-order bytes: the base64 form itself.
    fail_unless(info.wrmheader_xml.find("BAMCAQYFCAcJCqq7zN3u/w==") != std::string::npos);
  }
}
GST_END_TEST;

// playready-header is used verbatim; with key-id unset its KID is used.
GST_START_TEST(test_playready_header_property) {
  std::vector<uint8_t> pro = TestPro();
  EncryptionRig r({"audio_%u"});
  gst_util_set_object_arg(G_OBJECT(r.mux), "encryption", "piff-ctr");
  g_object_set(r.mux, "content-key", kKey, "playready-header", piff::Base64Encode(pro).c_str(), nullptr);
  r.SetCaps(0, AudioCaps());
  r.Start();
  r.PushAudio(0, 20);
  r.EndAll();
  r.ExpectEos();
  piff::PiffFile f = ParseFile(r.ReadOutput());
  fail_unless(ThePro(f) == pro);
  CheckManifestPro(r, pro);
  piff::FourCC entry;
  fail_unless(TrackSinf(f, 0, &entry).schi->piff_tenc->fields.kid == KidUuid());
}
GST_END_TEST;

// Live: not seekable, live sources; the first buffer is ftyp+moov with
// pssh and sinf, and every fragment carries its senc.
GST_START_TEST(test_live_encrypted) {
  EncryptionRig r({"video_%u", "audio_%u"}, true);
  r.Encrypt("piff-ctr");
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  r.PushVideo(0, 75);
  r.PushAudio(1, 140);
  r.EndAll();
  std::vector<uint8_t> data;
  std::vector<std::vector<uint8_t>> pieces;
  PullAll(r.sink, &data, &pieces);
  fail_unless(!pieces.empty());
  // The header arrives as one buffer, before any fragment.
  piff::PiffFile head = ParseFile(pieces[0]);
  fail_unless(head.ftyp && head.moov && head.moofs.empty());
  ThePro(head);
  piff::FourCC entry;
  TrackSinf(head, 0, &entry);
  piff::PiffFile f = ParseFile(data);
  fail_unless(f.moofs.size() >= 4);
  auto samples = EncryptedSamples(f, 8);
  CheckDecryptsToInput(data, samples, piff::EncryptionScheme::kPiffCtr, 75, 140);
}
GST_END_TEST;

// live=true (ingest stream): the header - LSM, pssh, sinf/tenc - is the same
// bytes in two runs with the same key settings although the IVs are random
// per run; every fragment buffer is one moof with its senc, and decrypts.
static std::vector<std::vector<uint8_t>> RunLiveMode(std::vector<uint8_t>* data) {
  EncryptionRig r({"video_%u", "audio_%u"}, true);
  g_object_set(r.mux, "live", TRUE, nullptr);
  r.Encrypt("piff-ctr");
  r.SetCaps(0, VideoCaps());
  r.SetCaps(1, AudioCaps());
  r.Start();
  r.PushVideo(0, 75);
  r.PushAudio(1, 140);
  r.EndAll();
  std::vector<std::vector<uint8_t>> pieces;
  PullAll(r.sink, data, &pieces);
  return pieces;
}

GST_START_TEST(test_live_mode_encrypted) {
  std::vector<uint8_t> d1, d2;
  std::vector<std::vector<uint8_t>> p1 = RunLiveMode(&d1), p2 = RunLiveMode(&d2);
  fail_unless(p1.size() > 4 && p2.size() == p1.size());
  fail_unless(p1[0] == p2[0], "live headers differ between two runs with the same key settings");
  fail_unless(d1 != d2, "random IVs: the fragments should differ");
  piff::PiffFile head = ParseFile(p1[0]);
  fail_unless(head.live_manifest && head.moov && head.moofs.empty());
  ThePro(head);
  piff::FourCC entry;
  TrackSinf(head, 0, &entry);
  TrackSinf(head, 1, &entry);
  for (size_t i = 1; i < p1.size(); i++) {
    piff::PiffFile f = ParseFile(p1[i]);
    fail_unless_equals_int(f.moofs.size(), 1);
    piff::SampleEncryption senc;
    bool found = false;
    fail_unless(piff::FindSampleEncryption(f.moofs[0].trafs[0], 8, &senc, &found).ok());
    fail_unless(found && senc.piff && !senc.samples.empty(), "fragment buffer %zu has no PIFF senc", i);
  }
  piff::PiffFile f = ParseFile(d1);
  auto samples = EncryptedSamples(f, 8);
  CheckDecryptsToInput(d1, samples, piff::EncryptionScheme::kPiffCtr, 75, 140);
}
GST_END_TEST;

// Re-mux of already-encrypted video (x-cenc caps, protection meta, a
// protection event carrying the PRO as ismdemux/mssdemux send it) next to
// clear audio: bytes, IVs, subsamples and PRO are kept; audio stays clear.
GST_START_TEST(test_remux_encrypted_input) {
  const int frames = 60;
  EncryptedInput in = MakeEncryptedVideo(frames, piff::EncryptionScheme::kPiffCtr);
  std::vector<uint8_t> pro = TestPro();
  EncryptionRig r({"video_%u", "audio_%u"});
  r.SetCaps(0, VideoCaps(true));
  r.SetCaps(1, AudioCaps());
  r.Start();
  SendProtection(r.srcs[0], pro, "smooth-streaming");
  for (int i = 0; i < frames; i++)
    r.Push(0, WithProtectionMeta(MakeBuffer(in.bytes[i], i * GST_SECOND / 25, GST_SECOND / 25, i % 25 == 0), in.enc[i]));
  r.PushAudio(1, 110);
  r.EndAll();
  r.ExpectEos();
  std::vector<uint8_t> data = r.ReadOutput();
  piff::PiffFile f = ParseFile(data);
  piff::FourCC entry;
  auto sinf = TrackSinf(f, 0, &entry);
  fail_unless(entry == piff::MakeFourCC("encv"));
  fail_unless_equals_int(sinf.schi->piff_tenc->fields.head, 1);
  fail_unless_equals_int(sinf.schi->piff_tenc->fields.iv_size, 8);
  fail_unless(sinf.schi->piff_tenc->fields.kid == KidUuid());
  fail_unless(f.moov->tracks[1].mdia.minf.stbl.stsd.audio[0].format == piff::MakeFourCC("mp4a"));
  fail_unless(ThePro(f) == pro);
  CheckManifestPro(r, pro);

  // Video trafs: senc flags 2 with the input's IVs and subsamples; payload unchanged.
  int vi = 0;
  size_t audio_trafs = 0;
  for (auto& top : f.layout) {
    if (top.kind != piff::PiffFile::Kind::kMoof) continue;
    const auto& moof = f.moofs[top.index];
    std::vector<piff::TrackFragmentSamples> frags;
    fail_unless(piff::ReadFragment(moof, top.offset, &*f.moov, nullptr, nullptr, &frags).ok());
    piff::SampleEncryption senc;
    bool found = false;
    fail_unless(piff::FindSampleEncryption(moof.trafs[0], 8, &senc, &found).ok());
    if (frags[0].track_id == 2) {
      fail_unless(!found, "clear audio has a senc");
      audio_trafs++;
      continue;
    }
    fail_unless(found && senc.piff);
    fail_unless_equals_int(senc.flags, piff::kSencUseSubsamples);
    fail_unless_equals_int(senc.samples.size(), frags[0].samples.size());
    for (size_t i = 0; i < senc.samples.size(); i++, vi++) {
      fail_unless(senc.samples[i].iv == in.enc[vi].iv);
      fail_unless_equals_int(senc.samples[i].subsamples.size(), in.enc[vi].subsamples.size());
      for (size_t k = 0; k < senc.samples[i].subsamples.size(); k++) {
        fail_unless_equals_int(senc.samples[i].subsamples[k].clear_bytes, in.enc[vi].subsamples[k].clear_bytes);
        fail_unless_equals_int(senc.samples[i].subsamples[k].encrypted_bytes, in.enc[vi].subsamples[k].encrypted_bytes);
      }
      const auto& s = frags[0].samples[i];
      fail_unless(std::equal(in.bytes[vi].begin(), in.bytes[vi].end(), data.begin() + s.offset), "payload changed");
    }
  }
  fail_unless_equals_int(vi, frames);
  fail_unless(audio_trafs >= 2);
}
GST_END_TEST;

// A whole pssh box (qtdemux's "isobmff/moov" origin) stays verbatim in moov,
// and its PlayReady Object goes to the .ismc. PIFF CBC input (cbc1) keeps
// AlgorithmID 2.
GST_START_TEST(test_remux_pssh_box_cbc) {
  const int frames = 30;
  EncryptedInput in = MakeEncryptedVideo(frames, piff::EncryptionScheme::kPiffCbc);
  std::vector<uint8_t> pro = TestPro(), box = IsoPssh(pro);
  EncryptionRig r({"video_%u"});
  r.SetCaps(0, VideoCaps(true, "cbc1"));
  r.Start();
  SendProtection(r.srcs[0], box, "isobmff/moov");
  for (int i = 0; i < frames; i++)
    r.Push(0, WithProtectionMeta(MakeBuffer(in.bytes[i], i * GST_SECOND / 25, GST_SECOND / 25, i % 25 == 0), in.enc[i]));
  r.EndAll();
  r.ExpectEos();
  std::vector<uint8_t> data = r.ReadOutput();
  piff::PiffFile f = ParseFile(data);
  fail_unless_equals_int(f.moov->other.size(), 1);
  fail_unless(f.moov->other[0] == box, "pssh box not kept verbatim");
  CheckManifestPro(r, pro);
  piff::FourCC entry;
  auto sinf = TrackSinf(f, 0, &entry);
  fail_unless_equals_int(sinf.schi->piff_tenc->fields.head, 2);
  fail_unless_equals_int(sinf.schi->piff_tenc->fields.iv_size, 16);
  // Decrypts with the declared scheme.
  auto samples = EncryptedSamples(f, 16);
  fail_unless_equals_int(samples.size(), frames);
  piff::SampleDecryptor dec;
  dec.AddKey(KidUuid(), KeyBytes());
  for (size_t i = 0; i < samples.size(); i++) {
    std::vector<uint8_t> b(data.begin() + samples[i].sample.offset,
                           data.begin() + samples[i].sample.offset + samples[i].sample.size);
    fail_unless(dec.Decrypt(piff::EncryptionScheme::kPiffCbc, KidUuid(), b.data(), b.size(), samples[i].enc.iv.data(),
                            samples[i].enc.iv.size(), samples[i].enc.subsamples)
                    .ok());
    fail_unless(b == VideoPayload(static_cast<int>(i)));
  }
}
GST_END_TEST;

// Encrypted input with encryption set: a clear error, no double encryption.
GST_START_TEST(test_remux_refuses_double_encryption) {
  EncryptedInput in = MakeEncryptedVideo(1, piff::EncryptionScheme::kPiffCtr);
  EncryptionRig r({"video_%u"});
  r.Encrypt("piff-ctr");
  r.SetCaps(0, VideoCaps(true));
  r.Start();
  gst_app_src_push_buffer(GST_APP_SRC(r.srcs[0]), WithProtectionMeta(MakeBuffer(in.bytes[0], 0, GST_SECOND / 25, true), in.enc[0]));
  r.EndAll();
  std::string e = r.ExpectError();
  fail_unless(e.find("already encrypted; set encryption=none to re-mux it") != std::string::npos, "%s", e.c_str());
}
GST_END_TEST;

// An x-cenc buffer without protection meta, and cbcs input, are errors.
GST_START_TEST(test_remux_bad_input) {
  EncryptedInput in = MakeEncryptedVideo(3, piff::EncryptionScheme::kPiffCtr);
  {
    EncryptionRig r({"video_%u"});
    r.SetCaps(0, VideoCaps(true));
    r.Start();
    SendProtection(r.srcs[0], TestPro(), "smooth-streaming");
    gst_app_src_push_buffer(GST_APP_SRC(r.srcs[0]), WithProtectionMeta(MakeBuffer(in.bytes[0], 0, GST_SECOND / 25, true), in.enc[0]));
    gst_app_src_push_buffer(GST_APP_SRC(r.srcs[0]), MakeBuffer(in.bytes[1], GST_SECOND / 25, GST_SECOND / 25, false));
    r.EndAll();
    std::string e = r.ExpectError();
    fail_unless(e.find("without GstProtectionMeta") != std::string::npos, "%s", e.c_str());
  }
  {
    EncryptionRig r({"video_%u"});
    r.SetCaps(0, VideoCaps(true, "cbcs"));
    r.Start();
    gst_app_src_push_buffer(GST_APP_SRC(r.srcs[0]), WithProtectionMeta(MakeBuffer(in.bytes[0], 0, GST_SECOND / 25, true), in.enc[0]));
    r.EndAll();
    std::string e = r.ExpectError();
    fail_unless(e.find("cipher-mode cbcs cannot be written as PIFF") != std::string::npos, "%s", e.c_str());
  }
}
GST_END_TEST;

static Suite* ismvmux_encryption_suite(void) {
  Suite* s = suite_create("ismvmux-encryption");
  TCase* tc = tcase_create("general");
  tcase_set_timeout(tc, 60);
  suite_add_tcase(s, tc);
  tcase_add_test(tc, test_encryption_properties);
  tcase_add_test(tc, test_bad_settings);
  tcase_add_test(tc, test_encrypt_ctr);
  tcase_add_test(tc, test_encrypt_cbc);
  tcase_add_test(tc, test_explicit_iv);
  tcase_add_test(tc, test_random_iv);
  tcase_add_test(tc, test_key_id_guid);
  tcase_add_test(tc, test_playready_header_property);
  tcase_add_test(tc, test_live_encrypted);
  tcase_add_test(tc, test_live_mode_encrypted);
  tcase_add_test(tc, test_remux_encrypted_input);
  tcase_add_test(tc, test_remux_pssh_box_cbc);
  tcase_add_test(tc, test_remux_refuses_double_encryption);
  tcase_add_test(tc, test_remux_bad_input);
  return s;
}

GST_CHECK_MAIN(ismvmux_encryption);
