// Whether a decryption key given by a user is the right one for a file:
// how its KID relates to the tracks' KIDs (exact, in GUID byte order, or
// none), what the PlayReady header's CHECKSUM says of the key, and, when
// there is no CHECKSUM, whether the first decrypted samples look like their
// codec (a wrong key turns them into noise that decoders silently drop).
// The rules live here so that ismdemux and `gst-smooth inspect --key` agree.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "fourcc.h"
#include "protection.h"

namespace piff {

// How a KID given with a key relates to the KIDs of a file's tracks.
enum class KidMatch {
  kTrack,         // it is a track's KID
  kSwappedTrack,  // its GUID byte-order swap (SwapGuidByteOrder) is a track's KID
  kNone,
};
KidMatch MatchKid(const Uuid& kid, const std::vector<Uuid>& track_kids);

// True when `key` read as a UUID (either byte order) is one of `track_kids`:
// the sign of KID and KEY typed the wrong way round, when the "KID" must
// not be shown because it is in fact the key.
bool KeyLooksLikeKid(const std::vector<uint8_t>& key, const std::vector<Uuid>& track_kids);

enum class ChecksumVerdict {
  kNoChecksum,  // nothing to compare with (no CHECKSUM for this KID, or not an AESCTR KID)
  kMatches,
  kDiffers,
};
const char* ChecksumVerdictName(ChecksumVerdict v);  // "no checksum", "matches", "differs"

// A PlayReady CHECKSUM (the first 8 bytes of AES-ECB(key, GUID-order KID))
// checked against `key` for `kid` (UUID order). An empty checksum, or a key
// that is not 16 bytes, gives kNoChecksum.
ChecksumVerdict VerifyPlayReadyChecksum(const std::vector<uint8_t>& checksum, const Uuid& kid,
                                        const std::vector<uint8_t>& key);

// The same over every PlayReady header among `headers` (PIFF uuid-pssh or
// ISO pssh): kDiffers when any CHECKSUM for `kid` disagrees with `key`,
// kMatches when at least one agrees and none disagrees. Headers that do not
// parse and KIDs whose ALGID is not AESCTR (the only algorithm the CHECKSUM
// is defined for) are not counted.
ChecksumVerdict CheckKeyWithPlayReadyHeaders(const std::vector<ProtectionSystemHeader>& headers, const Uuid& kid,
                                             const std::vector<uint8_t>& key);

// What a decrypted sample looks like.
enum class SampleVerdict {
  kPlausible,    // its first syntax elements are what its codec allows
  kImplausible,  // they are not: decrypted with a wrong key (or not the codec it claims)
  kUndecided,    // nothing checkable in it (no slice, a leading data/fill element, too short)
};

// The cheap checks, made on the first bytes of a decrypted sample only.
// H.264 (length-prefixed NAL units, `nal_length_size` 1, 2 or 4): the NAL
// lengths must add up to the sample and every NAL have forbidden_zero_bit 0
// (length prefixes and NAL headers stay clear in PIFF subsample encryption,
// so these only catch a broken sample); the first slice (NAL type 1 or 5)
// must start a picture (first_mb_in_slice 0, unless `arbitrary_slice_order`),
// have slice_type <= 9 (IDR: I or SI) and a pic_parameter_set_id among
// `pps_ids` (those of the avcC). A slice of noise passes about one time in
// 5 (one in 25 for an IDR slice; measured in tests/unit/test_key_check).
struct AvcSampleRules {
  int nal_length_size = 4;
  std::vector<uint32_t> pps_ids;  // empty: any id <= 255
  bool arbitrary_slice_order = false;  // Baseline without constraint_set1 may start a picture anywhere
};
// The rules for a track with this avcC (payload of the box).
AvcSampleRules AvcSampleRulesFor(const std::vector<uint8_t>& avcc);
SampleVerdict CheckAvcSample(const uint8_t* data, size_t size, const AvcSampleRules& rules);

// AAC raw_data_block (AudioSpecificConfig channel configuration 1 or 2):
// the first element must be an SCE (mono) or a CPE (stereo) whose
// ics_info reserved bit is 0 and max_sfb within the long-window limit. A
// leading DSE, FIL or PCE, and other channel configurations, give
// kUndecided. A frame of noise is decided 6 times in 10 and then passes
// about one time in 10.
SampleVerdict CheckAacFrame(const uint8_t* data, size_t size, uint8_t channel_configuration);

// How many decrypted samples of a track are checked (each one that is
// decided counts), and the rule: a single implausible sample among them
// means the key is wrong, as a right key never yields one from a
// conforming stream; a wrong key escapes it with a probability of about
// 5e-4 (H.264 from a keyframe: 0.04 x 0.22^3) or 1e-4 (AAC: 0.1^4).
inline constexpr size_t kSamplesToCheck = 4;

}  // namespace piff
