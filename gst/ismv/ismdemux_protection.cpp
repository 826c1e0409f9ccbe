// ismdemux's encrypted tracks (PIFF 1.1 / PlayReady, CENC 'cenc' and
// 'cbc1'): which cipher a track uses, decryption in place when
// decryption-key has the track's KID, and otherwise the signalling that
// qtdemux gives CENC streams (application/x-cenc caps, GstProtectionMeta per
// buffer, protection events), so a decryptor downstream can take over.
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ismdemux_private.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "codec_config.h"
#include "key_check.h"
#include "playready.h"

namespace ismdemux {

namespace {

const char* kPlayReadySystemId = "9a04f079-9840-4286-ab92-e65be0885f95";

// The sample encryption entries (senc) a traf has for a fragment of
// `samples` samples.
struct TrafEncryption {
  piff::Status read;  // reading the senc box
  bool found = false;
  std::shared_ptr<piff::SampleEncryption> entries = std::make_shared<piff::SampleEncryption>();
  size_t samples = 0;

  bool Usable() const { return read && found && entries->samples.size() == samples; }
  // Why a senc that was read cannot be used.
  std::string Mismatch() const {
    return found ? "senc has " + std::to_string(entries->samples.size()) + " entries for " +
                       std::to_string(samples) + " samples"
                 : "its traf has no senc box";
  }
};

TrafEncryption ReadTrafEncryption(const Track& t, const piff::TrackFragmentBox& traf, size_t samples) {
  TrafEncryption r;
  r.samples = samples;
  r.read = piff::FindSampleEncryption(traf, t.protection.iv_size, r.entries.get(), &r.found);
  return r;
}

}  // namespace

// ---------------------------------------------------------------- tracks, caps and events

// The cipher of an encrypted track (rules in piff::ChooseCipher).
static void ClassifyProtection(const piff::RawBoxes& entry_children, Track* t) {
  t->cipher_mode = "cenc";
  t->scheme = piff::EncryptionScheme::kNone;
  for (const auto& raw : entry_children) {
    piff::BoxHeader h;
    if (!piff::ParseBoxHeader(raw.data(), raw.size(), &h) || h.type != piff::MakeFourCC("sinf")) continue;
    piff::ProtectionSchemeInfoBox sinf;
    if (!sinf.Parse(raw.data(), raw.size())) return;
    bool piff_tenc = sinf.schi && sinf.schi->piff_tenc;
    piff::CipherChoice c = piff::ChooseCipher(piff_tenc, piff_tenc ? sinf.schi->piff_tenc->fields.head : 0,
                                              sinf.schm ? sinf.schm->scheme_type : 0);
    t->cipher_mode = c.cipher_mode;
    t->scheme = c.scheme;
    return;
  }
}

// The key given for a decrypted track held against the PlayReady headers'
// CHECKSUM: false (error posted) when it differs. Without a CHECKSUM the
// first decrypted samples will be checked instead (CheckDecryptedSample).
static bool CheckKey(GstIsmDemux* self, Track* t) {
  IsmDemuxState* st = State(self);
  const piff::Uuid& kid = t->protection.default_kid;
  piff::ChecksumVerdict v = piff::CheckKeyWithPlayReadyHeaders(st->pssh, kid, *st->decryptor.Key(kid));
  if (v == piff::ChecksumVerdict::kDiffers) {
    GST_ELEMENT_ERROR(self, STREAM, DECRYPT,
                      ("Wrong decryption key for KID %s (%s): the PlayReady header's CHECKSUM does not match it",
                       piff::UuidToString(kid).c_str(), TrackLabel(*t).c_str()),
                      ("the key given in decryption-key for this KID does not decrypt the track; the CHECKSUM is "
                       "AES-ECB(key, KID)[0..8], see `gst-smooth inspect --key`"));
    st->error_posted = true;
    return false;
  }
  t->samples_to_check = v == piff::ChecksumVerdict::kMatches ? 0 : piff::kSamplesToCheck;
  t->samples_tried = 0;
  if (t->video) {
    t->avc_rules = piff::AvcSampleRulesFor(t->info.config.avcc);
  } else {
    piff::AudioSpecificConfig asc;
    const auto& raw = t->info.config.audio_specific_config;
    t->aac_channel_configuration =
        piff::AudioSpecificConfig::Parse(raw.data(), raw.size(), &asc) ? asc.channel_configuration : 0;
  }
  GST_INFO_OBJECT(self, "%s: PlayReady CHECKSUM of the key given: %s", TrackLabel(*t).c_str(),
                  piff::ChecksumVerdictName(v));
  return true;
}

void MatchKeysToTracks(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  if (st->decryptor.empty()) return;
  std::vector<piff::Uuid> kids;
  std::vector<uint32_t> ids;
  for (const piff::TrackBox& trak : st->moov->tracks) {
    const auto& stsd = trak.mdia.minf.stbl.stsd;
    const piff::RawBoxes* children = !stsd.video.empty()   ? &stsd.video[0].other
                                     : !stsd.audio.empty() ? &stsd.audio[0].other
                                                           : nullptr;
    piff::TrackProtection p;
    bool found = false;
    if (children && piff::FindTrackProtection(*children, &p, &found) && found && p.has_default_kid) {
      kids.push_back(p.default_kid);
      ids.push_back(trak.tkhd.track_id);
    }
  }
  std::string known;
  for (size_t i = 0; i < kids.size(); i++)
    known += (i ? ", " : "") + piff::UuidToString(kids[i]) + " (track " + std::to_string(ids[i]) + ")";
  if (known.empty()) known = "none: no track is encrypted";
  for (const piff::Uuid& kid : st->decryptor.Kids()) {
    const std::vector<uint8_t> key = *st->decryptor.Key(kid);
    piff::KidMatch m = piff::MatchKid(kid, kids);
    if (m == piff::KidMatch::kTrack) continue;
    // (With the swapped KID given as well, this item is just one that matches nothing.)
    if (m == piff::KidMatch::kSwappedTrack && !st->decryptor.HasKey(piff::SwapGuidByteOrder(kid))) {
      // Taken in the other order too: a GUID-order KID is a common slip
      // (PlayReady headers and Windows tools show that form) and cannot
      // match another track by chance; a wrong key is still caught.
      piff::Uuid swapped = piff::SwapGuidByteOrder(kid);
      size_t i = std::find(kids.begin(), kids.end(), swapped) - kids.begin();
      GST_ELEMENT_WARNING(self, STREAM, DECRYPT,
                          ("decryption-key KID %s matches no track; byte-swapped (GUID order to UUID order) it is "
                           "%s, the KID of track %u: its key is used for that track",
                           piff::UuidToString(kid).c_str(), piff::UuidToString(swapped).c_str(), ids[i]),
                          ("give KIDs in UUID (big-endian) order, as in the tenc box, not in the little-endian "
                           "GUID order of a PlayReady header; this file's KIDs: %s",
                           known.c_str()));
      st->decryptor.AddKey(swapped, key);
    } else if (piff::KeyLooksLikeKid(key, kids)) {
      // The "KID" is then in fact the key: not shown.
      GST_ELEMENT_WARNING(self, STREAM, DECRYPT,
                          ("A decryption-key item seems to have KID and KEY swapped (its KEY is a track's KID); "
                           "it is not used"),
                          ("expected KID:KEY; this file's KIDs: %s", known.c_str()));
    } else {
      GST_ELEMENT_WARNING(self, STREAM, DECRYPT,
                          ("decryption-key KID %s matches no track; its key is not used",
                           piff::UuidToString(kid).c_str()),
                          ("this file's KIDs: %s", known.c_str()));
    }
  }
}

// The protection of an encrypted sample entry: its scheme, KID and cipher,
// and whether decryption-key can decrypt it.
ProtectionSetup SetUpTrackProtection(GstIsmDemux* self, const piff::RawBoxes* entry_children, Track* t) {
  IsmDemuxState* st = State(self);
  bool found = false;
  piff::Status s =
      entry_children ? piff::FindTrackProtection(*entry_children, &t->protection, &found) : piff::Status::Ok();
  if (!s || !found) {
    GST_ELEMENT_WARNING(self, STREAM, DEMUX,
                        ("Encrypted track %u has no usable protection scheme information; it is skipped", t->id),
                        ("%s", s ? "no sinf box in the sample entry" : s.message().c_str()));
    return ProtectionSetup::kSkip;
  }
  t->encrypted = true;
  ClassifyProtection(*entry_children, t);
  t->decrypt = t->protection.has_default_kid && st->decryptor.HasKey(t->protection.default_kid);
  if (t->decrypt && !CheckKey(self, t)) return ProtectionSetup::kFail;
  if (t->decrypt && t->scheme == piff::EncryptionScheme::kNone) {
    GST_ELEMENT_ERROR(self, STREAM, DECRYPT,
                      ("Cannot decrypt track %u: its protection scheme '%s' is not supported", t->id,
                       t->cipher_mode.c_str()),
                      ("decryption-key has a key for KID %s; ismdemux decrypts PIFF AES-CTR/AES-CBC "
                       "(AlgorithmID 1/2) and CENC 'cenc'/'cbc1', not 'cbcs'/'cens'",
                       piff::UuidToString(t->protection.default_kid).c_str()));
    st->error_posted = true;
    return ProtectionSetup::kFail;
  }
  GST_INFO_OBJECT(self, "track %u: encrypted (%s, KID %s)%s", t->id, t->cipher_mode.c_str(),
                  piff::UuidToString(t->protection.default_kid).c_str(),
                  t->decrypt ? ", decrypting with the key given" : ", no key: signalled downstream");
  return ProtectionSetup::kReady;
}

void SetProtectedCaps(IsmDemuxState* st, const Track& t, GstCaps* caps) {
  // As qtdemux signals protected streams: the clear caps become fields of
  // application/x-cenc so a decryptor can be plugged. PlayReady is the
  // system of Smooth Streaming: named when the file has its header (or
  // none at all), else the first system the file has a header for.
  GstStructure* s = gst_caps_get_structure(caps, 0);
  std::string system = kPlayReadySystemId;
  bool playready = st->pssh.empty();
  for (auto& p : st->pssh) playready |= p.system_id == piff::kPlayReadySystemId;
  if (!playready) system = piff::UuidToString(st->pssh[0].system_id);
  gst_structure_set(s, "original-media-type", G_TYPE_STRING, gst_structure_get_name(s), "protection-system",
                    G_TYPE_STRING, system.c_str(), "cipher-mode", G_TYPE_STRING, t.cipher_mode.c_str(), nullptr);
  gst_structure_set_name(s, "application/x-cenc");
}

void PushProtectionEvents(IsmDemuxState* st, Track* t) {
  for (auto& p : st->pssh) {
    // A PIFF uuid-pssh is sent as mssdemux sends the manifest's
    // ProtectionHeader: its base64 text (of the PlayReady Object, no NUL),
    // so decryptors written for mssdemux work unchanged; an ISO pssh
    // goes whole, as qtdemux sends it.
    std::vector<uint8_t> payload = p.box;
    if (p.piff) {
      std::string b64 = piff::Base64Encode(p.data);
      payload.assign(b64.begin(), b64.end());
    }
    GstBuffer* data = BufferFromBytes(payload);
    gst_pad_push_event(t->pad, gst_event_new_protection(piff::UuidToString(p.system_id).c_str(), data,
                                                        p.piff ? "smooth-streaming" : "isobmff/moov"));
    gst_buffer_unref(data);
  }
}

// ---------------------------------------------------------------- samples

// The GstProtectionMeta of a sample of a signalled track: KID, IV and
// subsamples of its senc entry (none when the fragment has no usable senc).
void AddProtectionMeta(const Track& t, const PendingSample& p, GstBuffer* buf) {
  if (!t.Signalled() || !p.encryption || p.index >= p.encryption->samples.size()) return;
  const piff::SampleEncryption& enc = *p.encryption;
  const piff::SampleEncryption::Sample& e = enc.samples[p.index];
  const piff::Uuid& kid = enc.kid ? *enc.kid : t.protection.default_kid;
  GstBuffer* kid_buf = gst_buffer_new_memdup(kid.data(), kid.size());
  GstBuffer* iv_buf = BufferFromBytes(e.iv);
  GstStructure* info = gst_structure_new("application/x-cenc", "encrypted", G_TYPE_BOOLEAN, TRUE, "kid",
                                         GST_TYPE_BUFFER, kid_buf, "iv_size", G_TYPE_UINT,
                                         static_cast<guint>(e.iv.size()), "iv", GST_TYPE_BUFFER, iv_buf,
                                         "subsample_count", G_TYPE_UINT, static_cast<guint>(e.subsamples.size()),
                                         nullptr);
  if (!e.subsamples.empty()) {
    GstBuffer* subs = BufferFromBytes(piff::PackSubsamples(e.subsamples));
    gst_structure_set(info, "subsamples", GST_TYPE_BUFFER, subs, nullptr);
    gst_buffer_unref(subs);
  }
  gst_buffer_unref(kid_buf);
  gst_buffer_unref(iv_buf);
  gst_buffer_add_protection_meta(buf, info);
}

// The first decrypted samples of a track whose key no CHECKSUM vouched for:
// false (error posted) when one is not what its codec allows, the sign of a
// wrong key (decoders would drop such samples without a word). Samples that
// say nothing (no slice, ...) are not counted, up to 8 times kSamplesToCheck.
static bool CheckDecryptedSample(GstIsmDemux* self, Track* t, const piff::Uuid& kid, const uint8_t* data,
                                 size_t size, uint64_t offset) {
  if (t->samples_to_check == 0) return true;
  piff::SampleVerdict v = t->video ? piff::CheckAvcSample(data, size, t->avc_rules)
                                   : piff::CheckAacFrame(data, size, t->aac_channel_configuration);
  if (v == piff::SampleVerdict::kImplausible) {
    POST_ERROR(self, DECRYPT,
               ("Wrong decryption key for KID %s (%s): the decrypted samples are not valid %s",
                piff::UuidToString(kid).c_str(), TrackLabel(*t).c_str(), t->video ? "H.264" : "AAC"),
               ("the sample at offset %" G_GUINT64_FORMAT " (%zu bytes), decrypted with the key given in "
                "decryption-key, does not start as its codec requires (%s); the file has no PlayReady CHECKSUM "
                "to check the key against",
                offset, size, t->video ? "slice header" : "first syntax element"));
    return false;
  }
  if (v == piff::SampleVerdict::kPlausible) t->samples_to_check--;
  if (++t->samples_tried >= 8 * piff::kSamplesToCheck) t->samples_to_check = 0;
  if (t->samples_to_check == 0) GST_INFO_OBJECT(self, "%s: decrypted samples look right", TrackLabel(*t).c_str());
  return true;
}

// Decrypts sample `index` of a fragment of a decrypted track in place, with
// that sample's IV and subsamples. False (error posted) when the fragment
// has no entry for it or the entry does not fit the sample.
static bool DecryptSample(GstIsmDemux* self, Track* t, const piff::SampleEncryption* enc, size_t index,
                          uint8_t* data, size_t size, uint64_t offset) {
  if (!enc || index >= enc->samples.size()) {
    POST_ERROR(self, DECRYPT, ("Cannot decrypt %s: no sample encryption data (senc) for it", TrackLabel(*t).c_str()),
               ("sample %zu at offset %" G_GUINT64_FORMAT, index, offset));
    return false;
  }
  const piff::SampleEncryption::Sample& e = enc->samples[index];
  const piff::Uuid& kid = enc->kid ? *enc->kid : t->protection.default_kid;
  piff::Status s = State(self)->decryptor.Decrypt(t->scheme, kid, data, size, e.iv.data(), e.iv.size(), e.subsamples);
  if (!s) {
    POST_ERROR(self, DECRYPT, ("Cannot decrypt a sample of %s", TrackLabel(*t).c_str()),
               ("sample %zu at offset %" G_GUINT64_FORMAT " (%zu bytes): %s", index, offset, size,
                s.message().c_str()));
    return false;
  }
  return CheckDecryptedSample(self, t, kid, data, size, offset);
}

// Push mode: decrypts a sample buffer cut from the adapter. Made writable
// and mapped for writing, it is decrypted where it is when its memory is
// ours alone, else in the one copy the map makes.
GstBuffer* DecryptBuffer(GstIsmDemux* self, const PendingSample& p, GstBuffer* buf) {
  Track* t = p.track;
  if (!t->decrypt || !t->pad || t->eos || p.sample.size == 0) return buf;
  buf = gst_buffer_make_writable(buf);
  GstMapInfo map;
  if (!gst_buffer_map(buf, &map, GST_MAP_READWRITE)) {
    POST_ERROR(self, DECRYPT, ("Cannot decrypt a sample of %s", TrackLabel(*t).c_str()), ("buffer not mappable"));
    gst_buffer_unref(buf);
    return nullptr;
  }
  bool ok = DecryptSample(self, t, p.encryption.get(), p.index, map.data, map.size, p.sample.offset);
  gst_buffer_unmap(buf, &map);
  if (!ok) {
    gst_buffer_unref(buf);
    return nullptr;
  }
  return buf;
}

// Decrypts, in a freshly read chunk, the samples of the current fragment
// it holds from the next one on (each exactly once: a chunk is only read
// for a sample it does not hold yet, and dropped when one is missing). The
// chunk from pull_range is ours, so this is done in place, before any
// sample is cut from it.
bool DecryptChunk(GstIsmDemux* self, Track* t) {
  t->chunk = gst_buffer_make_writable(t->chunk);
  GstMapInfo map;
  if (!gst_buffer_map(t->chunk, &map, GST_MAP_READWRITE)) {
    POST_ERROR(self, DECRYPT, ("Cannot decrypt %s", TrackLabel(*t).c_str()), ("buffer not mappable"));
    return false;
  }
  bool ok = true;
  for (size_t k = t->next_sample; ok && k < t->frag.samples.size(); k++) {
    const piff::ReadSample& x = t->frag.samples[k];
    if (x.offset < t->chunk_offset || x.offset + x.size > t->chunk_offset + map.size) break;
    ok = DecryptSample(self, t, t->frag_enc.get(), k, map.data + (x.offset - t->chunk_offset), x.size, x.offset);
  }
  gst_buffer_unmap(t->chunk, &map);
  return ok;
}

// Push mode: the senc entries of a track fragment of an encrypted track,
// into `enc` when they are usable. False (error posted) when the track is
// decrypted and they are not: decrypting without the IVs would push garbage
// as clear media.
bool FindFragmentEncryption(GstIsmDemux* self, Track* t, const piff::TrackFragmentBox& traf, uint64_t moof_offset,
                            size_t samples, std::shared_ptr<const piff::SampleEncryption>* enc) {
  TrafEncryption e = ReadTrafEncryption(*t, traf, samples);
  if (!e.read) {
    if (t->decrypt) {
      POST_ERROR(self, DECRYPT, ("Cannot decrypt %s: unreadable sample encryption data (senc)", TrackLabel(*t).c_str()),
                 ("moof at %" G_GUINT64_FORMAT ": %s", moof_offset, e.read.message().c_str()));
      return false;
    }
    GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("Unreadable sample encryption data for %s", TrackLabel(*t).c_str()),
                        ("%s", e.read.message().c_str()));
  } else if (e.Usable()) {
    *enc = e.entries;
  } else if (t->decrypt) {
    POST_ERROR(self, DECRYPT,
               ("Cannot decrypt %s: no sample encryption data (senc) for a fragment", TrackLabel(*t).c_str()),
               ("moof at %" G_GUINT64_FORMAT ": %s", moof_offset, e.Mismatch().c_str()));
    return false;
  } else if (e.found) {
    GST_WARNING_OBJECT(self, "%s: senc has %zu entries for %zu samples", TrackLabel(*t).c_str(),
                       e.entries->samples.size(), samples);
  }
  return true;
}

// Pull mode: the same for a fragment read through the index; the error
// (a decrypted track without usable entries) fails the read.
piff::Status FindIndexedFragmentEncryption(GstIsmDemux* self, const Track& t, const piff::TrackFragmentBox& traf,
                                           uint64_t moof_offset, size_t samples,
                                           std::shared_ptr<const piff::SampleEncryption>* enc) {
  TrafEncryption e = ReadTrafEncryption(t, traf, samples);
  if (!e.read) GST_WARNING_OBJECT(self, "%s: %s", TrackLabel(t).c_str(), e.read.message().c_str());
  if (e.Usable()) {
    *enc = e.entries;
  } else if (t.decrypt) {
    std::string why = !e.read ? e.read.message() : e.Mismatch();
    return piff::Status::Error("no usable sample encryption data (senc) for the fragment at offset " +
                               std::to_string(moof_offset) + " (" + why + "): it cannot be decrypted");
  }
  return piff::Status::Ok();
}

// ---------------------------------------------------------------- keys

// Parses decryption-key into the decryptor when the element starts; a
// malformed value fails the start with an error naming the property.
bool LoadKeys(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  GST_OBJECT_LOCK(self);
  std::string text = st->decryption_key;
  GST_OBJECT_UNLOCK(self);
  st->decryptor = piff::SampleDecryptor();
  if (text.find_first_not_of(" \t\r\n,;") == std::string::npos) return true;
  std::vector<std::pair<piff::Uuid, std::vector<uint8_t>>> keys;
  piff::Status s = piff::ParseKeyPairs(text, &keys);
  if (!s) {
    // The value holds secrets: the core's message names what is malformed
    // (never a key, even a malformed item), so it can be shown as it is.
    GST_ELEMENT_ERROR(self, RESOURCE, SETTINGS, ("Invalid decryption-key property: %s", s.message().c_str()),
                      ("expected KID:KEY[,KID:KEY...], KID as a UUID (big-endian, as in tenc), KEY as 32 hex digits"));
    return false;
  }
  for (auto& k : keys) st->decryptor.AddKey(k.first, k.second);
  GST_INFO_OBJECT(self, "%zu decryption key(s)", keys.size());
  return true;
}

}  // namespace ismdemux
