// MediaIndex: what a reader needs to know about a PIFF / fragmented MP4 file
// (tracks, and every fragment's time, duration and byte range), built from
// bounded reads: top-level box headers, ftyp, moov, each moof and the mfra.
// Sample payloads (mdat bodies) are never read. Used by the origin, the
// command-line tool and the demuxer's seek index.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "boxes.h"
#include "fragment.h"
#include "movie.h"
#include "start_offset.h"
#include "status.h"

namespace piff {

// Random access to the bytes of a media file or stream.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads exactly `size` bytes at `offset` into *out (resized); an error
  // names the offset and the reason (short read, I/O error).
  virtual Status Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) = 0;
  virtual uint64_t Size() const = 0;
};

// A local file, read with pread() (thread-safe: no shared file position).
class FileByteSource : public ByteSource {
 public:
  static Status Open(const std::string& path, std::unique_ptr<FileByteSource>* out);
  ~FileByteSource() override;
  Status Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) override;
  uint64_t Size() const override { return size_; }
  const std::string& path() const { return path_; }

 private:
  FileByteSource() = default;
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

// Serves small reads from one window of `window` bytes read ahead from
// `base`: a scan that reads a box header, then the box, then the header of
// the next box costs one read of the base instead of three. Reads of a
// window or more go straight through.
class ReadAheadByteSource : public ByteSource {
 public:
  explicit ReadAheadByteSource(ByteSource& base, size_t window = 65536) : base_(base), window_(window) {}
  Status Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) override;
  uint64_t Size() const override { return base_.Size(); }
  uint64_t base_reads() const { return base_reads_; }

 private:
  ByteSource& base_;
  size_t window_;
  uint64_t buf_offset_ = 0;
  std::vector<uint8_t> buf_;
  uint64_t base_reads_ = 0;
};

struct IndexedFragment {
  // Fragment time (tfxd, else tfdt, else continuation) plus the index's
  // start offset: never negative (start_offset.h).
  uint64_t time = 0;
  uint64_t duration = 0;      // sum of sample durations
  uint64_t moof_offset = 0;
  uint32_t moof_size = 0;
  uint64_t end_offset = 0;    // end of the mdat that follows the moof (0: none)
  uint32_t sample_count = 0;
  uint64_t payload_bytes = 0;
  bool starts_with_sync = false;
  uint32_t sync_samples = 0;
  bool shared_moof = false;   // the moof carries trafs of other tracks too
  uint32_t traf_index = 0;    // position of this track's traf in the moof
  // The time differs from the one in the moof (a start offset applies):
  // served and exported copies need their tfxd rewritten.
  bool retimed = false;
  // The end of the file cuts this fragment's mdat: only the first
  // sample_count samples (those wholly present) are indexed.
  bool truncated = false;
  // Presentation time of the first sync sample (ISO tfra entries give this
  // rather than the fragment's decode time); == time when there is none.
  uint64_t sync_time = 0;
  // Leading pictures: samples after the first sync sample in decode order
  // that are presented before it (an open GOP, fragment_start.h).
  uint32_t leading_pictures = 0;
  // Served as a byte range of the file only when nothing needs rewriting.
  bool NeedsRewrite() const { return shared_moof || retimed || truncated; }
  // Has sample data to serve: a whole mdat after its moof, or the samples
  // of a cut one.
  bool HasData() const { return end_offset != 0 || truncated; }
};

struct IndexedTrack {
  TrackConfig config;         // kind, id, timescale, sizes, codec configuration
  FourCC handler = 0;
  FourCC sample_entry = 0;    // avc1, mp4a, encv, ...
  bool supported = false;     // H.264 or AAC, which gst-smooth can describe
  std::string manifest_fourcc;  // H264 / AACL / AACH / AACP ("" if unsupported)
  std::vector<IndexedFragment> fragments;
  uint64_t payload_bytes = 0;
  uint64_t duration() const;
  // Index of the fragment starting exactly at t, or -1.
  ptrdiff_t FindFragment(uint64_t t) const;
  // Index of the last fragment whose time <= t (binary search), or -1.
  ptrdiff_t FindFragmentAtOrBefore(uint64_t t) const;
};

struct MediaIndex {
  std::optional<FileTypeBox> ftyp;
  std::optional<LiveServerManifestBox> live_manifest;
  std::optional<MovieBox> moov;
  std::optional<MovieFragmentRandomAccessBox> mfra;
  uint64_t init_end = 0;       // offset just after moov (the initialisation bytes)
  std::vector<IndexedTrack> tracks;
  // Consistency problems found while indexing (tfra vs moofs, gaps in the
  // tfxd timeline, a truncated tail, sequence numbers, open GOPs: once per
  // track); not fatal.
  std::vector<std::string> problems;
  // Added to every fragment time so that none is negative (start_offset.h);
  // zero for files without a negative start.
  StartOffset start_offset;

  // Moves the whole timeline to a larger start offset (a presentation whose
  // files must share one: the largest of theirs).
  void ShiftTimeline(const StartOffset& to);

  // Scans the whole source. Fails only when there is no usable moov or a box
  // that must be parsed is corrupt; a truncated last box is a problem, and the
  // index covers what precedes it.
  static Status Build(ByteSource& source, MediaIndex* out);

  const IndexedTrack* FindTrack(uint32_t track_id) const;
};

// Re-reads the moof of an indexed fragment (the index keeps only totals per
// fragment) and resolves the samples of `track_id`, on the index's timeline:
// sample times start at frag.time (the start offset applied), and a
// truncated fragment gives only its indexed samples. Optionally returns the parsed moof and the position of the track's
// traf in it (for boxes beside the trun, e.g. PIFF senc).
Status ReadIndexedFragment(ByteSource& src, const MovieBox* moov, const IndexedFragment& frag, uint32_t track_id,
                           TrackFragmentSamples* out, MovieFragmentBox* moof_out = nullptr,
                           size_t* traf_index = nullptr);

// The TrackConfig and manifest FourCC of a moov track (errors for missing or
// corrupt codec configuration; `supported` false for other codecs).
Status DescribeTrack(const TrackBox& trak, IndexedTrack* out);

}  // namespace piff
