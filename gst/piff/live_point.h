// LivePoint: a live publishing point. Ingest streams (the bodies of encoders'
// POSTs to NAME.isml/Streams(id), cut by IngestParser) deliver headers and
// fragments; the point keeps one timeline per track with duplicates removed
// (redundant encoders, resent fragments after a reconnect), a DVR window and
// a look-ahead, and answers what an origin serves: the running client
// manifest and fragment responses with tfrf entries. It writes the archive
// (one .ismv per stream, then .ism/.ismc when the point stops) and can be
// picked up again from that archive after a restart.
//
// The origin (tools/gst-smooth) only translates HTTP to these calls: it
// parses no bytes and decides no timeline. No GStreamer types; not
// thread-safe (the caller serialises calls, e.g. one mutex per point).
// Times are ticks of each track's timescale; clocks (now_ms) are passed in
// so tests are deterministic.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boxes.h"
#include "status.h"
#include "ingest_stream.h"

namespace piff {

// ------------------------------------------------------------ the point

struct LivePointSettings {
  // Fragments held back from the manifest and announced by the tfrf of the
  // fragments before them (LookAheadFragmentCount); 0: a fragment is listed
  // as soon as it is complete.
  uint32_t lookahead = 2;
  // DVRWindowLength in 10 MHz ticks (the manifest TimeScale); 0: unbounded.
  uint64_t dvr_window = 0;
  // Fragments per track kept in memory; older ones are read back from the
  // archive (so memory stays flat however long the event).
  size_t memory_fragments = 8;
  // All streams gone for this long stops the point, ms (0: never).
  uint64_t idle_stop_ms = 30000;
  // Folder of the archive (NAME.isml's folder / NAME/); empty: no archive.
  std::string archive_dir;
};

// What became of one fragment offered to the point.
enum class FragmentFate {
  kAdded,
  kDuplicate,   // that track already has a fragment at this time: dropped, counted
  kOutOfOrder,  // before the track's last fragment (or inside it, or at a negative time), not a duplicate: dropped, counted
  kRejected,    // unknown track, or the point is stopped: the stream gets an error
};

// Answer to a fragment request (QualityLevels(b)/Fragments(name=t)).
enum class FragmentLookup {
  kFound,
  kNotYet,       // after the last fragment received (IIS answers 412 ... the origin documents its code)
  kOutOfWindow,  // older than the DVR window
  kNoTrack,      // no track with that bitrate and name
  kNoFragment,   // inside the timeline but no fragment starts at t
};

struct LivePointCounters {
  uint64_t streams_opened = 0, reconnects = 0, refused_headers = 0;
  uint64_t fragments_added = 0, duplicates = 0, out_of_order = 0, bytes_in = 0;
  // Tracks of a stream identical to another stream's track (redundant
  // audio, digest 4.3): their fragments go to that track, the repeats
  // counted in duplicates.
  uint64_t redundant_tracks = 0;
  // Archive writes that failed (disk full, ...): the fragment is served
  // from memory while held; last_archive_error() says why.
  uint64_t archive_errors = 0;
};

class LivePoint {
 public:
  // `name` is the point's path without ".isml" (e.g. "events/channel1").
  LivePoint(std::string name, LivePointSettings settings);
  ~LivePoint();
  LivePoint(const LivePoint&) = delete;
  LivePoint& operator=(const LivePoint&) = delete;

  // Picks a point up from its archive after a restart (the .ismv files of
  // its streams, read to their last complete fragment); null with *error
  // when there is none or it is unreadable.
  static std::unique_ptr<LivePoint> Recover(std::string name, LivePointSettings settings, std::string* error);

  // A connection for stream `stream_id` sent its header. Ok for the first
  // connection and for any later one whose header bytes are identical
  // (reconnect, redundant encoder); an error (for a 4xx and a log line)
  // when they differ while the point runs, or when its tracks clash with
  // another stream's (same StreamIndex and declared bitrate, another
  // description). A track described exactly like another stream's (LSM
  // entry: kind, name, trackID, systemBitrate; the moov's codec data,
  // timescale, language) is a redundant copy of it. A track whose LSM says
  // systemBitrate 0 (FFmpeg without -b:v, ismvmux without a bitrate tag)
  // gets the bitrate of its first fragment: bytes * 8 / duration, rounded,
  // made unique in its StreamIndex by adding 1 bit/s; kept in the point
  // and in the archive's BASE.bitrates, so reconnects and a restart keep
  // the same URLs. A stopped point starts again with the new header.
  Status OpenStream(const std::string& stream_id, const IngestHeader& header, uint64_t now_ms);
  FragmentFate AddFragment(const std::string& stream_id, IngestFragment fragment, uint64_t now_ms);
  // The connection ended (`end_of_stream`: it sent an mfra). When no stream
  // is open and one sent an mfra, the point stops and the archive is closed
  // (.ism/.ismc written).
  void CloseStream(const std::string& stream_id, bool end_of_stream, uint64_t now_ms);
  // Time passes: idle_stop_ms without any open stream stops the point.
  void Tick(uint64_t now_ms);

  bool running() const;  // has tracks and is not stopped
  bool stopped() const;
  const std::string& name() const;

  // The running client manifest (IsLive="TRUE" while running,
  // LookAheadFragmentCount, DVRWindowLength, the window's timeline, the
  // ProtectionHeader of an encrypted stream); after the stop an on-demand
  // manifest of the archive. Cached: built again only when a fragment,
  // a stream or the stop changed the point, so a poll costs a pointer
  // copy. An error says why it cannot be built (for a 500).
  Status ClientManifestXml(std::shared_ptr<const std::string>* xml) const;
  // A fragment response: the fragment's moof with a tfrf box listing up to
  // `lookahead` following fragments, and its mdat.
  FragmentLookup Fragment(uint32_t bitrate, const std::string& track_name, uint64_t time,
                          std::vector<uint8_t>* response) const;

  LivePointCounters counters() const;
  // Bytes of fragments held in memory (at most memory_fragments per track).
  size_t resident_fragment_bytes() const;
  std::string last_archive_error() const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace piff
