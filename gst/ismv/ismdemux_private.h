// ismdemux's private parts, shared by the files the element is split into:
//   gstismdemux.cpp          the element: class, properties, tracks and pads
//                            (caps, tags, stream events), sample output,
//                            pad functions and state changes;
//   ismdemux_push.cpp        push mode: the chain function's adapter read
//                            by the core's StreamReader;
//   ismdemux_pull.cpp        pull mode: the fragment index, the task that
//                            interleaves tracks by time, and seeking;
//   ismdemux_protection.cpp  encrypted tracks: decryption with
//                            decryption-key, or signalling downstream
//                            (x-cenc caps, GstProtectionMeta, protection
//                            events).
// Nothing here is part of the plugin's interface.
#pragma once

#include "gstismdemux.h"

#include <gst/base/gstadapter.h>
#include <gst/base/gstflowcombiner.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boxes.h"
#include "encryption.h"
#include "fragment.h"
#include "key_check.h"
#include "media_index.h"
#include "protection.h"
#include "stream_reader.h"

GST_DEBUG_CATEGORY_EXTERN(gst_ism_demux_debug);
#define GST_CAT_DEFAULT gst_ism_demux_debug

namespace ismdemux {

// One track of the moov: its description, its pad (when it is exposed), its
// protection, and where its output and (pull mode) its reading stand.
struct Track {
  Track() = default;
  Track(const Track&) = delete;
  Track& operator=(const Track&) = delete;
  ~Track() {
    ReleaseChunk();
    if (caps) gst_caps_unref(caps);
    if (tags) gst_tag_list_unref(tags);
    if (stream) gst_object_unref(stream);
  }
  uint32_t id = 0;
  uint32_t timescale = 1;
  bool video = false;
  piff::IndexedTrack info;  // description; fragments in pull mode
  bool expose = false;
  bool encrypted = false;
  piff::TrackProtection protection;
  // From the PIFF tenc AlgorithmID, else the schm type: what the caps say
  // (cenc, cbc1, cbcs, cens) and the cipher to decrypt with (kNone: the
  // scheme cannot be decrypted here).
  std::string cipher_mode;
  piff::EncryptionScheme scheme = piff::EncryptionScheme::kNone;
  // decryption-key has this track's KID: samples are decrypted and the pad
  // gets the clear caps, no protection meta and no protection events.
  bool decrypt = false;
  bool Signalled() const { return encrypted && !decrypt; }
  // A decrypted track whose key no PlayReady CHECKSUM vouched for: its
  // first decrypted samples are checked against its codec (piff::
  // CheckAvcSample / CheckAacFrame) until this many were decided.
  size_t samples_to_check = 0;
  size_t samples_tried = 0;
  piff::AvcSampleRules avc_rules;
  uint8_t aac_channel_configuration = 0;

  GstPad* pad = nullptr;  // owned by the element once added
  GstCaps* caps = nullptr;
  GstTagList* tags = nullptr;
  GstStream* stream = nullptr;
  std::string stream_id;
  gint fps_n = 0, fps_d = 1;

  // Ticks added to presentation times so that no DTS exceeds its PTS (see
  // ComputeShift); fixed by the first fragment of the track.
  bool shift_known = false;
  int64_t shift = 0;
  // Ticks added to the track's file times to give its media times (buffer
  // timestamps), so that a negative start (FFmpeg's AAC priming) becomes
  // unsigned; the pad segment moves by as much, so stream time stays file
  // time and samples before the file's zero are clipped downstream
  // (piff/start_offset.h). Pull mode: the index's start offset (its samples
  // come shifted); push mode: the track's own negative start, fixed by its
  // first fragment and applied here.
  bool start_offset_known = false;
  uint64_t start_offset = 0;
  uint64_t dropped_before_start = 0;  // push: samples still negative after it
  uint64_t implausible_offsets = 0;   // samples with damaged composition offsets

  // Output state, reset by seeks.
  bool need_segment = true;
  bool need_tags = true;
  bool need_discont = true;
  bool eos = false;
  // Where output starts after a seek: samples of moofs before start_moof,
  // and of start_moof before start_sample, are not pushed.
  bool has_start = false;
  uint64_t start_moof = 0;
  size_t start_sample = 0;

  uint64_t pushed = 0;

  // Pull mode: each track reads its own fragments, so that output can be
  // interleaved by time whatever the file layout. The samples of the current
  // fragment, and one read of their bytes (sub-buffers are cut from it).
  size_t next_fragment = 0;
  size_t start_fragment = 0;
  bool have_fragment = false;
  piff::TrackFragmentSamples frag;
  std::shared_ptr<const piff::SampleEncryption> frag_enc;
  uint64_t frag_data_end = 0;
  size_t next_sample = 0;
  GstBuffer* chunk = nullptr;
  uint64_t chunk_offset = 0;

  void ReleaseChunk() {
    if (chunk) gst_buffer_unref(chunk);
    chunk = nullptr;
  }
  void ResetReading() {
    ReleaseChunk();
    have_fragment = false;
    frag = piff::TrackFragmentSamples();
    frag_enc.reset();
    next_sample = 0;
  }

  GstClockTime ToNs(uint64_t ticks) const { return gst_util_uint64_scale(ticks, GST_SECOND, timescale); }
  uint64_t ToTicks(GstClockTime ns) const { return gst_util_uint64_scale(ns, timescale, GST_SECOND); }
  // Media minus file time of a presentation time: start offset + shift.
  GstClockTime OffsetNs() const { return ToNs(start_offset + static_cast<uint64_t>(shift)); }
};

// A sample being output (push mode: one the reader cut out of its mdat).
struct PendingSample {
  Track* track = nullptr;
  piff::ReadSample sample;
  std::shared_ptr<const piff::SampleEncryption> encryption;
  size_t index = 0;  // in the track fragment, for the encryption entry
};

// Push mode: where the samples of one track fragment of the current moof go
// (no track: none of them is queued).
struct FragmentOutput {
  Track* track = nullptr;
  std::shared_ptr<const piff::SampleEncryption> encryption;
};

// The element's private state (self->state), allocated in init and deleted
// in finalize.
struct IsmDemuxState {
  GstAdapter* adapter = nullptr;
  GstFlowCombiner* combiner = nullptr;

  // Scheduling.
  bool pull = false;
  uint64_t upstream_size = 0;  // pull mode: bytes in the file

  // Push mode: what the bytes in the adapter are (its offset() is the
  // stream offset of the adapter's first byte), and the track fragments of
  // the current moof whose samples it cuts out.
  piff::StreamReader reader;
  std::vector<FragmentOutput> moof_out;
  bool error_posted = false;

  std::optional<piff::FileTypeBox> ftyp;
  std::optional<piff::LiveServerManifestBox> live_manifest;
  std::optional<piff::MovieBox> moov;
  std::vector<std::unique_ptr<Track>> tracks;
  std::vector<piff::ProtectionSystemHeader> pssh;
  bool exposed = false;

  // Pull mode index.
  bool indexed = false;
  piff::MediaIndex index;

  // Timeline. `segment` is in stream time (0 = start of the presentation);
  // file time = stream time + t0 (the first fragment time, or the file's
  // zero when a track starts before it), media time = file time + the
  // track's OffsetNs().
  bool t0_known = false;
  GstClockTime t0 = 0;
  GstSegment segment;
  guint32 segment_seqnum = 0;
  GstClockTime duration = GST_CLOCK_TIME_NONE;  // guarded by the object lock
  GstClockTime mehd_duration = GST_CLOCK_TIME_NONE;
  guint32 last_seek_seqnum = GST_SEQNUM_INVALID;  // guarded by the object lock
  GstEvent* pending_seek = nullptr;

  guint group_id = 0;
  bool have_group_id = false;

  // decryption-key: the property's text (object lock) and the keys parsed
  // from it when the element starts (streaming thread only).
  std::string decryption_key;
  piff::SampleDecryptor decryptor;

  IsmDemuxState() {
    adapter = gst_adapter_new();
    combiner = gst_flow_combiner_new();
    gst_segment_init(&segment, GST_FORMAT_TIME);
  }
  ~IsmDemuxState() {
    g_object_unref(adapter);
    gst_flow_combiner_free(combiner);
    if (pending_seek) gst_event_unref(pending_seek);
  }

  void ResetWalker(uint64_t at) {
    gst_adapter_clear(adapter);
    reader.Reset(at);
    moof_out.clear();
  }
};

}  // namespace ismdemux

struct _GstIsmDemux {
  GstElement parent;
  GstPad* sinkpad;
  ismdemux::IsmDemuxState* state;
};

namespace ismdemux {

inline IsmDemuxState* State(GstIsmDemux* self) { return self->state; }

inline Track* FindTrack(IsmDemuxState* st, uint32_t id) {
  for (auto& t : st->tracks)
    if (t->id == id) return t.get();
  return nullptr;
}

inline std::string TrackLabel(const Track& t) {
  return std::string(t.video ? "video" : "audio") + " track " + std::to_string(t.id);
}

inline GstBuffer* BufferFromBytes(const std::vector<uint8_t>& v) { return gst_buffer_new_memdup(v.data(), v.size()); }

// An element error that the streaming thread must not follow with a
// generic flow error of its own.
#define POST_ERROR(self, code, text, debug)                                                     \
  do {                                                                                          \
    GST_ELEMENT_ERROR(self, STREAM, code, text, debug);                                         \
    State(self)->error_posted = true;                                                           \
  } while (0)

// ---- gstismdemux.cpp

// Parses the moov and decides the tracks (error posted when it fails).
GstFlowReturn HandleMoov(GstIsmDemux* self, const uint8_t* data, size_t size);
// The same for a parsed moov (read at `offset`).
GstFlowReturn AdoptMoov(GstIsmDemux* self, const piff::MovieBox& moov, uint64_t offset);
void ExposePads(GstIsmDemux* self);
// Sends `event` (taken) to every source pad.
void PushToAll(GstIsmDemux* self, GstEvent* event);
int64_t ComputeShift(const Track& t, const piff::TrackFragmentSamples& f);
void GuessFramerate(const Track& t, const piff::TrackFragmentSamples& f, gint* n, gint* d);
GstBuffer* PrepareSample(GstIsmDemux* self, const PendingSample& p, GstBuffer* buf);
GstFlowReturn CombineFlow(IsmDemuxState* st, Track* t, GstFlowReturn ret);
bool AllTracksDone(IsmDemuxState* st);

// ---- ismdemux_push.cpp

GstFlowReturn Process(GstIsmDemux* self);
GstFlowReturn Finish(GstIsmDemux* self);

// ---- ismdemux_pull.cpp

// The task of the sink pad in pull mode.
void PullLoop(GstPad* pad);
gboolean HandleSeek(GstIsmDemux* self, GstEvent* event);

// ---- ismdemux_protection.cpp

enum class ProtectionSetup {
  kReady,  // t->protection, cipher and decrypt are set
  kSkip,   // no usable scheme information: the track is skipped (warning posted)
  kFail,   // a key was given for a scheme that cannot be decrypted (error posted)
};
ProtectionSetup SetUpTrackProtection(GstIsmDemux* self, const piff::RawBoxes* entry_children, Track* t);
// Holds the KIDs of decryption-key against the tracks' KIDs before the
// tracks are set up: a warning for each that matches none (and the key is
// also taken for the byte-swapped KID when that one matches).
void MatchKeysToTracks(GstIsmDemux* self);
void SetProtectedCaps(IsmDemuxState* st, const Track& t, GstCaps* caps);
void PushProtectionEvents(IsmDemuxState* st, Track* t);
void AddProtectionMeta(const Track& t, const PendingSample& p, GstBuffer* buf);
bool FindFragmentEncryption(GstIsmDemux* self, Track* t, const piff::TrackFragmentBox& traf, uint64_t moof_offset,
                            size_t samples, std::shared_ptr<const piff::SampleEncryption>* enc);
piff::Status FindIndexedFragmentEncryption(GstIsmDemux* self, const Track& t, const piff::TrackFragmentBox& traf,
                                           uint64_t moof_offset, size_t samples,
                                           std::shared_ptr<const piff::SampleEncryption>* enc);
GstBuffer* DecryptBuffer(GstIsmDemux* self, const PendingSample& p, GstBuffer* buf);
bool DecryptChunk(GstIsmDemux* self, Track* t);
bool LoadKeys(GstIsmDemux* self);

}  // namespace ismdemux
