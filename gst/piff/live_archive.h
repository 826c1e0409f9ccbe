// The archive of a live publishing point on disk: what LivePoint writes as
// the event runs, reads back fragments from when they are no longer held in
// memory, finishes when the point stops, and recovers from after a crash.
//
// Layout of LivePointSettings::archive_dir (the origin maps the point
// ROOT/NAME.isml to the folder ROOT/NAME/):
//
//   ARCHIVE_DIR/STREAM.ismv   one per ingest stream (Streams(STREAM)): the
//                             stream's header as received (ftyp, the Live
//                             Server Manifest box, moov), then every
//                             fragment the point added, one track per moof,
//                             as received (duplicates are not written;
//                             the mfhd numbered along the file); at
//                             the stop an mfra (tfra per track, mfro).
//   ARCHIVE_DIR/BASE.ism      at the stop: the SMIL server manifest of the
//   ARCHIVE_DIR/BASE.ismc     archive and its on-demand client manifest
//                             (BASE: the last path segment of the point's
//                             name), so piff::Asset / `gst-smooth inspect`
//                             / the VOD origin read it as a normal asset.
//   ARCHIVE_DIR/BASE.bitrates the bitrates the point measured for tracks
//                             whose Live Server Manifest says
//                             systemBitrate 0 (live_point.h), one line
//                             "STREAM.ismv TRACKID BITRATE" each, so a
//                             recovered point serves the same URLs.
//   ARCHIVE_DIR/previous/     the archive of the event before, moved there
//                             when a stopped point starts again.
//
// STREAM is the stream id with every byte outside [A-Za-z0-9.-] written as
// _XX (hex), so any id maps to one file name and back.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "ingest_stream.h"
#include "media_index.h"
#include "live_timeline.h"
#include "status.h"

namespace piff {

std::string ArchiveFileName(const std::string& stream_id);  // "720p" -> "720p.ismv"
// The stream id of an archive file name; false for names that are not one.
bool StreamIdOfArchiveFile(const std::string& file_name, std::string* stream_id);
// "events/channel1" -> "channel1".
std::string ArchiveBaseName(const std::string& point_name);
// Whether a point's name (from a URL: "events/channel1") can be its archive
// folder under a root: refused when it is empty or longer than 200 bytes,
// has a control character (bytes below 0x20, 0x7f), an empty segment
// ("a//b", a leading or trailing '/') or a "." or ".." segment.
Status CheckPointName(const std::string& name);

// One stream's .ismv, open for appending and reading back (pread). Closed
// by the destructor without anything written: a crash and a destroyed
// point leave the same file, which Recover() reads.
class ArchiveFile {
 public:
  ArchiveFile() = default;
  ~ArchiveFile();
  ArchiveFile(const ArchiveFile&) = delete;
  ArchiveFile& operator=(const ArchiveFile&) = delete;

  // A new file (replacing one of that name) starting with `header`.
  Status Create(const std::string& path, const std::vector<uint8_t>& header);
  // An existing file, cut to `size` bytes (a torn tail or an mfra goes).
  Status OpenAt(const std::string& path, uint64_t size);
  // Writes at the end; *offset: where the bytes start.
  Status Append(const std::vector<uint8_t>& bytes, uint64_t* offset);
  Status Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) const;
  void Close();
  bool is_open() const { return fd_ >= 0; }
  uint64_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  int fd_ = -1;
  uint64_t size_ = 0;
  std::string path_;
};

// What an archive file holds, read back after a restart without reading
// its sample data: box headers, the header boxes and each moof.
struct ArchivedFragment {
  uint32_t track_id = 0;
  uint32_t sequence = 0;  // mfhd
  LiveEntry entry;        // offset: of the moof in the file
};
struct ArchiveScan {
  IngestHeader header;
  std::vector<ArchivedFragment> fragments;  // in file order
  // End of the last whole fragment (of the header when there is none):
  // what follows is a torn tail, or the mfra.
  uint64_t good_end = 0;
  bool ended = false;        // an mfra follows good_end
  std::string tail_problem;  // why the scan stopped before the file's end
};
// Fails when the file has no whole header (ftyp, Live Server Manifest,
// moov before the first moof); a torn or unreadable tail only ends the
// scan (tail_problem). Each moof must have one traf, be followed by its
// mdat, and its samples lie inside that mdat.
Status ScanArchiveFile(ByteSource& file, const std::string& path, ArchiveScan* out);

// A bitrate the point measured (BASE.bitrates).
struct RecordedBitrate {
  std::string stream_id;
  uint32_t track_id = 0;
  uint32_t bitrate = 0;
};
Status WriteMeasuredBitrates(const std::string& path, const std::vector<RecordedBitrate>& bitrates);
// Absent file: none. Lines that do not parse are skipped (the point then
// measures that track again from its first archived fragment).
std::vector<RecordedBitrate> ReadMeasuredBitrates(const std::string& path);

// Moves the files of a finished event in `dir` (the .ismv, .ism, .ismc and
// .bitrates files) into dir/previous/, replacing what was there.
Status MoveArchiveAside(const std::string& dir);

}  // namespace piff
