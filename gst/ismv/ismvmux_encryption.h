// ismvmux's encryption side, kept out of the element file: turning the
// encryption properties into validated settings and a PlayReady Object,
// encrypting samples into new memory, and carrying the signalling of input
// that is already encrypted (application/x-cenc caps, GstProtectionMeta,
// protection events) through to the output's sinf, senc, pssh and .ismc.
// The rules (what is encrypted, which boxes) live in the core (gst/piff).
#pragma once

#include <gst/gst.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "client_manifest.h"
#include "encryption.h"
#include "movie.h"
#include "protection.h"
#include "status.h"

G_BEGIN_DECLS

typedef enum {
  GST_ISMV_ENCRYPTION_NONE,
  GST_ISMV_ENCRYPTION_PIFF_CTR,
  GST_ISMV_ENCRYPTION_PIFF_CBC,
} GstIsmvEncryption;

#define GST_TYPE_ISMV_ENCRYPTION (gst_ismv_encryption_get_type())
GType gst_ismv_encryption_get_type(void);

G_END_DECLS

namespace ismvmux {

// The encryption properties as the application set them (text, unparsed).
struct EncryptionProperties {
  GstIsmvEncryption encryption = GST_ISMV_ENCRYPTION_NONE;
  std::string key_id, key_id_guid, content_key, iv, la_url, playready_header;
};

// The element's encryption properties, installed with consecutive ids from
// `first_id` (encryption, key-id, key-id-guid, content-key, iv, la-url,
// playready-header). Set/Get take the id relative to `first_id` and return
// false for an id that is not theirs.
constexpr guint kEncryptionPropertyCount = 7;
void InstallEncryptionProperties(GObjectClass* klass, guint first_id, GParamFlags flags);
bool SetEncryptionProperty(EncryptionProperties* props, guint relative_id, const GValue* value);
bool GetEncryptionProperty(const EncryptionProperties& props, guint relative_id, GValue* value);

// The properties once checked: what every track is encrypted with and the
// PlayReady Object that goes into the pssh box and the .ismc.
struct MuxEncryption {
  piff::EncryptionSettings settings;  // scheme kNone: encryption off
  std::vector<uint8_t> pro;
  bool enabled() const { return settings.scheme != piff::EncryptionScheme::kNone; }
};

// Parses and validates the properties. The error names the property
// ("key-id: 'xyz' is not a UUID ..."); `warnings` gets what is accepted but
// suspicious (a playready-header whose KID is not key-id, ...).
piff::Status ResolveEncryption(const EncryptionProperties& props, MuxEncryption* out,
                               std::vector<std::string>* warnings);

// One track's encryption state.
struct TrackCrypto {
  // Set when the muxer encrypts this track (the encryption property).
  std::unique_ptr<piff::TrackEncryptor> encryptor;
  // Input that is already encrypted (application/x-cenc caps): its samples
  // pass through and their IVs/subsamples are copied into senc.
  bool input_encrypted = false;
  piff::EncryptionScheme input_scheme = piff::EncryptionScheme::kNone;
  // tenc of already-encrypted input: from the first buffer's protection meta.
  bool have_input_tenc = false;
  piff::Uuid input_kid{};
  uint8_t input_iv_size = 0;

  bool encrypted_output() const { return encryptor || input_encrypted; }
  // Streaming state only; what the caps said stays.
  void ResetStreaming() {
    encryptor.reset();
    have_input_tenc = false;
    input_kid = {};
    input_iv_size = 0;
  }
};

// Creates the encryptor of the `index`-th track (pad order). An explicit IV
// is the first IV of track 0; track n starts n * 2^40 higher, so tracks that
// share the key never share an IV. Video NAL length size comes from the avcC.
piff::Status CreateTrackEncryptor(const MuxEncryption& enc, const piff::TrackConfig& config, size_t index,
                                  std::unique_ptr<piff::TrackEncryptor>* out);

// The sinf of an encrypted track (frma keeps avc1 / mp4a).
std::vector<uint8_t> TrackSinf(const piff::TrackConfig& config, const piff::TrackEncryptionFields& tenc);

// Reads application/x-cenc caps: original-media-type must be `want_media_type`
// (video/x-h264 or audio/mpeg); cipher-mode cenc (or absent) -> PIFF CTR,
// cbc1 -> PIFF CBC; cbcs/cens cannot be written as PIFF. Clear caps give
// input_encrypted = false.
piff::Status InputProtectionFromCaps(const GstStructure* s, const char* want_media_type, bool* encrypted,
                                     piff::EncryptionScheme* scheme);

// What a buffer's GstProtectionMeta says about its sample.
struct SampleProtection {
  piff::Uuid kid{};
  piff::SampleEncryption::Sample sample;
};

// Reads and checks the protection meta of one sample of `size` bytes.
piff::Status ReadProtectionMeta(GstBuffer* buf, SampleProtection* out);

// The PIFF uuid-senc of one fragment of already-encrypted samples: flags 2
// when any sample has subsamples (a whole-sample entry is then written as
// subsamples covering the same bytes), else 0.
std::vector<uint8_t> PassthroughSenc(const std::vector<const SampleProtection*>& samples,
                                     const std::vector<uint32_t>& sizes, piff::EncryptionScheme scheme,
                                     uint8_t iv_size);

// Encrypts one sample buffer into a new buffer (new memory; the input is
// only read) and appends its IV/subsamples to `senc`.
piff::Status EncryptBuffer(piff::TrackEncryptor* enc, GstBuffer* in, piff::SampleEncryption* senc, GstBuffer** out);

// Protection system headers for moov and the .ismc: the PlayReady Object the
// muxer generates or is given, and those of already-encrypted input
// (protection events). Duplicates (every pad sends the same event) are kept once.
class ProtectionHeaderSet {
 public:
  void Clear() {
    boxes_.clear();
    manifest_.clear();
  }
  // A PlayReady Object: a PIFF uuid-pssh in moov and a <ProtectionHeader>.
  void AddPlayReadyObject(const std::vector<uint8_t>& pro);
  // A protection event's data: a whole pssh/uuid-pssh box (qtdemux's
  // "isobmff/moov") is kept verbatim; a PlayReady Object, raw or as the
  // base64 text mssdemux and ismdemux send ("smooth-streaming"), is wrapped
  // in a PIFF uuid-pssh. Anything
  // else is ignored; `note` says why.
  void AddFromEvent(const std::string& system_id, GstBuffer* data, const std::string& origin, std::string* note);

  const piff::RawBoxes& moov_boxes() const { return boxes_; }
  const std::vector<piff::ProtectionHeader>& manifest_headers() const { return manifest_; }

 private:
  void AddBox(const std::vector<uint8_t>& box, const piff::Uuid& system_id, const std::vector<uint8_t>& data);
  piff::RawBoxes boxes_;
  std::vector<piff::ProtectionHeader> manifest_;  // PlayReady only: what Smooth clients read
};

}  // namespace ismvmux
