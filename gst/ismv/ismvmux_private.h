// ismvmux's state as its parts share it (gstismvmux.cpp: properties, input,
// fragmenting, VOD output; ismvmux_live.cpp: live ingest output;
// ismvmux_manifests.cpp: the .ism/.ismc at EOS). Not an API: one element's
// internals, split by concern to keep each file to one job.
#pragma once

#include <gst/base/gstaggregator.h>
#include <gst/gst.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "clock_grid.h"
#include "gstismvmux.h"
#include "ismvmux_encryption.h"
#include "ismvmux_queue.h"
#include "movie.h"

GST_DEBUG_CATEGORY_EXTERN(gst_ismv_mux_debug);

#define DEFAULT_FRAGMENT_DURATION (2 * GST_SECOND)
#define DEFAULT_TIMESCALE 10000000
#define DEFAULT_H264_FOURCC "H264"
#define DEFAULT_STRICT_ALIGNMENT FALSE
#define DEFAULT_TIMESTAMP_MODE GST_ISMV_MUX_TIMESTAMPS_ZERO
#define DEFAULT_LIVE FALSE
#define DEFAULT_LIVE_END_MFRA FALSE
#define DEFAULT_FRAGMENT_BOUNDARIES GST_ISMV_MUX_BOUNDARIES_KEYFRAME

struct BufferUnref {
  void operator()(GstBuffer* b) const { gst_buffer_unref(b); }
};
using BufferPtr = std::unique_ptr<GstBuffer, BufferUnref>;

// A sample waiting for its fragment to close. Times are nanoseconds relative
// to the output origin (signed: a DTS may precede the origin).
struct PendingSample {
  BufferPtr buffer;
  int64_t pts = 0;
  int64_t dts = 0;
  bool sync = false;
  // Already-encrypted input: the sample's IV and subsamples (protection meta).
  std::optional<ismvmux::SampleProtection> protection;
};

struct WrittenFragment {
  uint64_t time = 0;
  uint64_t duration = 0;
  uint64_t moof_offset = 0;
};

struct Track {
  Track() = default;
  Track(const Track&) = delete;
  Track& operator=(const Track&) = delete;
  ~Track() {
    if (pad) gst_object_unref(pad);
  }
  GstIsmvMuxPad* pad = nullptr;  // a reference is held: the track outlives a released pad
  bool released = false;         // pad released while muxing: the track has ended
  piff::TrackConfig config;
  bool has_caps = false;
  std::string fourcc;
  std::string language = "und";
  std::string unmapped_tag;  // the last language-code tag warned about
  ismvmux::TrackCrypto crypto;

  std::deque<PendingSample> pending;
  bool started = false;        // first sample seen (and accepted)
  int64_t decode_shift = 0;    // ticks added to DTS ticks (first PTS - first DTS)
  int64_t last_dts = G_MININT64;
  uint64_t dropped_leading = 0;  // non-keyframes dropped before the first keyframe
  uint64_t open_gop_fragments = 0;  // fragments written with leading pictures (warned at the first)
  size_t next_boundary = 0;    // index into the boundary list of the next cut
  // Boundary searches resume where the last one stopped (pending only grows
  // between fragments): the cut time searched for and the first index not
  // yet looked at, for FindCut and for the reference track's next boundary.
  int64_t scan_time = G_MININT64;
  size_t scan_from = 0;
  int64_t ref_scan_time = G_MININT64;
  size_t ref_scan_from = 0;
  uint64_t last_duration = 0;  // ticks, for the final sample when unknown

  uint64_t payload_bytes = 0;
  std::vector<WrittenFragment> fragments;  // all of them for the index; in live mode only the last
  uint64_t fragments_written = 0;

  // Live mode (ismvmux_live.cpp). `bitrate`: systemBitrate of the Live Server
  // Manifest (pad property, else the nominal-bitrate/bitrate tag seen before
  // the header); `live_name`: its trackName, for the fragment meta.
  guint tag_bitrate = 0;
  std::string live_name;
  // fragment-boundaries=clock-grid: the track's frame grid (from caps), the
  // fragment cell of the pending fragment, the last keyframe time asked of
  // upstream (ticks), and what was dropped or adjusted on the way, reported.
  piff::FrameGrid grid;
  int64_t grid_cell = G_MININT64;
  int64_t last_snapped = G_MININT64;
  int64_t key_requested = G_MININT64;
  uint64_t dropped_before_grid = 0;
  uint64_t missed_grid_keys = 0;
  uint64_t snap_collisions = 0;

  bool is_video() const { return config.kind == piff::TrackConfig::Kind::kVideo; }
};


struct _GstIsmvMuxPad {
  GstAggregatorPad parent;
  gchar* language;
  guint bitrate;             // systemBitrate in live mode; 0 = from tags
  ismvmux::PadQueue* queue;  // direct input (ismvmux_queue.h)
};

struct IsmvMuxState {
  // Properties (guarded by the object lock).
  GstClockTime fragment_duration = DEFAULT_FRAGMENT_DURATION;
  guint timescale = DEFAULT_TIMESCALE;
  std::string server_manifest;
  std::string client_manifest;
  std::string h264_fourcc = DEFAULT_H264_FOURCC;
  bool strict_alignment = DEFAULT_STRICT_ALIGNMENT;
  GstIsmvMuxTimestampMode timestamp_mode = DEFAULT_TIMESTAMP_MODE;
  std::string media_file_name;
  ismvmux::EncryptionProperties encryption_props;
  bool live = DEFAULT_LIVE;
  bool live_end_mfra = DEFAULT_LIVE_END_MFRA;
  GstIsmvMuxFragmentBoundaries fragment_boundaries = DEFAULT_FRAGMENT_BOUNDARIES;

  // Encryption settings checked at start; the protection system headers of
  // protection events (kept over a flush: the events are sticky and not
  // sent again); and the headers written: the generated PlayReady Object
  // when encrypting, else the events' when some input is encrypted.
  ismvmux::MuxEncryption encryption;
  ismvmux::ProtectionHeaderSet input_protection;
  ismvmux::ProtectionHeaderSet protection;
  ismvmux::DirectInput direct;  // guarded by tracks_lock

  // Guards `tracks` against pads requested or released from the application
  // thread while the streaming thread iterates it.
  std::mutex tracks_lock;
  // Streaming state (streaming thread only, reset on start/stop).
  std::vector<std::unique_ptr<Track>> tracks;  // in pad request order
  bool header_written = false;
  bool finished = false;
  int64_t origin = 0;                 // running time (ns) that maps to 0
  uint64_t offset = 0;                // bytes pushed so far
  size_t mehd_offset = 0;
  uint32_t sequence_number = 0;
  std::vector<int64_t> boundaries;    // fragment cut times (ns, origin-relative)
  int64_t next_target = 0;
  uint32_t next_track_id = 1;
  // Live mode: the src caps with the header as streamheader (set once the
  // header is built), and the running time the aggregator's live timeout
  // counts from (GstAggregatorClass::get_next_time).
  GstCaps* live_caps = nullptr;
  std::atomic<GstClockTime> next_time{GST_CLOCK_TIME_NONE};

  ~IsmvMuxState() { gst_clear_caps(&live_caps); }

  // `clear_input`: also empty the pads' own queues (not on a flush: each pad
  // empties its queue at its own flush-start, and may have new data by now).
  void ResetStreaming(bool clear_input = true) {
    std::lock_guard<std::mutex> lock(tracks_lock);
    tracks.erase(std::remove_if(tracks.begin(), tracks.end(), [](const std::unique_ptr<Track>& t) { return t->released; }),
                 tracks.end());
    for (auto& t : tracks) {
      t->pending.clear();
      t->started = false;
      t->decode_shift = 0;
      t->last_dts = G_MININT64;
      t->dropped_leading = 0;
      t->open_gop_fragments = 0;
      t->next_boundary = 0;
      t->scan_time = t->ref_scan_time = G_MININT64;
      t->last_duration = 0;
      t->payload_bytes = 0;
      t->fragments.clear();
      t->fragments_written = 0;
      t->crypto.ResetStreaming();
      t->live_name.clear();
      t->grid_cell = t->last_snapped = t->key_requested = G_MININT64;
      t->dropped_before_grid = t->missed_grid_keys = t->snap_collisions = 0;
      if (clear_input) ismvmux::ResetPadQueue(GST_PAD(t->pad));
    }
    direct.Reset();
    // Live mode pushes its header (caps with streamheader) and fragments
    // from the aggregator's thread, which holds the src pad's stream lock.
    if (live) direct.mode = ismvmux::DirectInput::Mode::kAggregator;
    direct.cond.notify_all();
    protection.Clear();
    header_written = false;
    finished = false;
    origin = 0;
    offset = 0;
    mehd_offset = 0;
    sequence_number = 0;
    boundaries.clear();
    next_target = 0;
    gst_clear_caps(&live_caps);
    next_time = GST_CLOCK_TIME_NONE;
  }
};

struct _GstIsmvMux {
  GstAggregator parent;
  IsmvMuxState* state;
};

// ---------------------------------------------------------------- shared

// Pushes `bytes` as one buffer at the current output offset (gstismvmux.cpp).
GstFlowReturn PushBytes(GstIsmvMux* self, std::vector<uint8_t> bytes);
// A buffer owning `bytes`, read-only, without a copy.
GstBuffer* WrapBytes(std::vector<uint8_t> bytes);
// Writes the first `count` pending samples of a track as one fragment (gstismvmux.cpp).
GstFlowReturn WriteFragment(GstIsmvMux* self, Track* t, size_t count, bool at_eos);
// fragment-boundaries=keyframe: closes every fragment whose boundary is
// known and whose cut sample arrived (ismvmux_boundaries.cpp).
GstFlowReturn CloseReadyFragments(GstIsmvMux* self);
// Protection of every track for the header (ismvmux_encryption.cpp): an
// encryptor per track, or the tenc of already-encrypted input; each config's
// sinf, and the muxer's protection headers. False after posting an error.
bool SetUpTrackProtection(GstIsmvMux* self, std::vector<piff::TrackConfig>* configs);

// Writes the .ism/.ismc asked for at EOS and posts "ismvmux-manifests"
// (ismvmux_manifests.cpp). False after posting an error.
bool WriteManifests(GstIsmvMux* self);

inline int64_t ToTicks(int64_t ns, uint32_t timescale) {
  if (ns >= 0) return static_cast<int64_t>(gst_util_uint64_scale_round(static_cast<uint64_t>(ns), timescale, GST_SECOND));
  return -static_cast<int64_t>(gst_util_uint64_scale_round(static_cast<uint64_t>(-ns), timescale, GST_SECOND));
}

// The nanosecond time whose ToTicks() is `ticks` (exact for timescales up
// to 1 GHz: the rounding error is below half a tick).
inline int64_t TicksToNs(int64_t ticks, uint32_t timescale) {
  if (ticks >= 0) return static_cast<int64_t>(gst_util_uint64_scale_round(static_cast<uint64_t>(ticks), GST_SECOND, timescale));
  return -static_cast<int64_t>(gst_util_uint64_scale_round(static_cast<uint64_t>(-ticks), GST_SECOND, timescale));
}

inline std::string FormatTime(int64_t ns) {
  gchar* s = g_strdup_printf("%s%" GST_TIME_FORMAT, ns < 0 ? "-" : "", GST_TIME_ARGS(static_cast<GstClockTime>(ns < 0 ? -ns : ns)));
  std::string r(s);
  g_free(s);
  return r;
}

inline std::string TrackLabel(const Track& t) {
  return std::string(GST_PAD_NAME(t.pad)) + " (track " + std::to_string(t.config.track_id) + ")";
}

inline Track* FindTrack(IsmvMuxState* st, GstAggregatorPad* pad) {
  for (auto& t : st->tracks)
    if (GST_AGGREGATOR_PAD(t->pad) == pad) return t.get();
  return nullptr;
}
