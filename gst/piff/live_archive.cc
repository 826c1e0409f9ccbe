// ArchiveFile and the archive's file names (live_archive.h).
#include "live_archive.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include <algorithm>
#include <map>

#include "fourcc.h"
#include "fragment.h"

namespace piff {

namespace {

const char kExtension[] = ".ismv";

bool Plain(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status Errno(const std::string& what, const std::string& path) {
  return Status::Error(what + " " + path + ": " + g_strerror(errno));
}

bool HasSuffix(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::string ArchiveFileName(const std::string& stream_id) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : stream_id) {
    if (Plain(c)) {
      out += c;
    } else {
      unsigned char u = static_cast<unsigned char>(c);
      out += '_';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  // "." and ".." alone would be folders; an empty id a hidden file.
  if (out.empty() || out == "." || out == "..") out = "_" + out;
  return out + kExtension;
}

bool StreamIdOfArchiveFile(const std::string& file_name, std::string* stream_id) {
  if (!HasSuffix(file_name, kExtension)) return false;
  std::string stem = file_name.substr(0, file_name.size() - (sizeof kExtension - 1));
  if (stem == "_" || stem == "_." || stem == "_..") {
    *stream_id = stem.substr(1);
    return true;
  }
  std::string id;
  for (size_t i = 0; i < stem.size(); i++) {
    if (Plain(stem[i])) {
      id += stem[i];
      continue;
    }
    if (stem[i] != '_' || i + 2 >= stem.size()) return false;
    int hi = HexValue(stem[i + 1]), lo = HexValue(stem[i + 2]);
    if (hi < 0 || lo < 0) return false;
    id += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  *stream_id = id;
  return ArchiveFileName(id) == file_name;
}

std::string ArchiveBaseName(const std::string& point_name) {
  size_t slash = point_name.find_last_of('/');
  std::string base = slash == std::string::npos ? point_name : point_name.substr(slash + 1);
  return base.empty() ? "archive" : base;
}

Status CheckPointName(const std::string& name) {
  constexpr size_t kMaxName = 200;
  if (name.empty()) return Status::Error("the point's name is empty");
  if (name.size() > kMaxName)
    return Status::Error("the point's name is longer than " + std::to_string(kMaxName) + " bytes");
  for (char c : name)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      return Status::Error("the point's name has a control character");
  for (size_t start = 0;;) {
    size_t slash = name.find('/', start);
    std::string segment = name.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (segment.empty()) return Status::Error("the point's name has an empty segment");
    if (segment == "." || segment == "..") return Status::Error("the point's name has a \"" + segment + "\" segment");
    if (slash == std::string::npos) return Status::Ok();
    start = slash + 1;
  }
}

ArchiveFile::~ArchiveFile() { Close(); }

void ArchiveFile::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
}

Status ArchiveFile::Create(const std::string& path, const std::vector<uint8_t>& header) {
  Close();
  path_ = path;
  size_ = 0;
  fd_ = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) return Errno("cannot create", path);
  uint64_t at = 0;
  return Append(header, &at);
}

Status ArchiveFile::OpenAt(const std::string& path, uint64_t size) {
  Close();
  path_ = path;
  fd_ = open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) return Errno("cannot open", path);
  if (ftruncate(fd_, static_cast<off_t>(size)) != 0) return Errno("cannot truncate", path);
  size_ = size;
  return Status::Ok();
}

Status ArchiveFile::Append(const std::vector<uint8_t>& bytes, uint64_t* offset) {
  if (fd_ < 0) return Status::Error("archive file " + path_ + " is not open");
  *offset = size_;
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = pwrite(fd_, bytes.data() + done, bytes.size() - done, static_cast<off_t>(size_ + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // Cut what part of it got written: the file ends at a whole fragment.
      Status s = Errno("cannot write to", path_);
      if (ftruncate(fd_, static_cast<off_t>(size_)) != 0) return s.WithContext("and cannot cut it back");
      return s;
    }
    done += static_cast<size_t>(n);
  }
  size_ += bytes.size();
  return Status::Ok();
}

Status ArchiveFile::Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) const {
  if (fd_ < 0) return Status::Error("archive file " + path_ + " is not open");
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd_, out->data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("cannot read", path_);
    if (n == 0)
      return Status::Error("archive file " + path_ + " ends at " + std::to_string(offset + done) + ", before " +
                           std::to_string(offset + size));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

namespace {

uint64_t ContinuationTime(uint32_t track_id, void* user) {
  auto* ends = static_cast<std::map<uint32_t, uint64_t>*>(user);
  auto it = ends->find(track_id);
  return it == ends->end() ? 0 : it->second;
}

// The box header at `at` (false at the end of the file or when torn).
bool ReadBoxHeader(ByteSource& file, uint64_t at, BoxHeader* h) {
  uint64_t size = file.Size();
  if (at >= size) return false;
  std::vector<uint8_t> head;
  size_t n = static_cast<size_t>(std::min<uint64_t>(32, size - at));
  if (!file.Read(at, n, &head)) return false;
  return ParseBoxHeaderAt(head.data(), head.size(), size - at, h).ok() && h->size <= size - at;
}

}  // namespace

Status ScanArchiveFile(ByteSource& file, const std::string& path, ArchiveScan* out) {
  *out = ArchiveScan();
  const StreamLimits limits;
  // The header: the boxes before the first moof, read by the ingest parser.
  uint64_t at = 0;
  BoxHeader h;
  const uint64_t header_limit = limits.ftyp + limits.live_manifest + limits.moov + (1u << 20);
  while (ReadBoxHeader(file, at, &h) && h.type != MakeFourCC("moof") && h.type != MakeFourCC("mfra")) {
    if (h.size > header_limit - at)
      return Status::Error(path + ": the boxes before the first moof exceed " + std::to_string(header_limit) +
                           " bytes");
    at += h.size;
  }
  std::vector<uint8_t> bytes;
  Status s = file.Read(0, static_cast<size_t>(at), &bytes);
  if (!s) return s.WithContext(path);
  static const std::vector<uint8_t> kEnd = {0, 0, 0, 8, 'm', 'f', 'r', 'a'};
  bytes.insert(bytes.end(), kEnd.begin(), kEnd.end());
  IngestParser parser(limits);
  std::vector<IngestParser::Event> events;
  s = parser.Push(bytes.data(), bytes.size(), &events);
  if (!s || events.empty() || events[0].kind != IngestParser::Event::Kind::kHeader)
    return Status::Error(path + ": no whole header (ftyp, Live Server Manifest, moov)" +
                         (s ? std::string() : ": " + s.message()));
  out->header = std::move(events[0].header);
  out->good_end = at;

  std::map<uint32_t, uint64_t> ends;
  std::vector<uint8_t> moof_bytes;
  while (at < file.Size()) {
    const std::string where = "box at offset " + std::to_string(at);
    if (!ReadBoxHeader(file, at, &h)) {
      out->tail_problem = where + ": torn";
      break;
    }
    if (h.type == MakeFourCC("mfra")) {
      out->ended = true;
      break;
    }
    if (h.type != MakeFourCC("moof")) {
      at += h.size;  // free and friends: not ours, skipped
      continue;
    }
    BoxHeader mh;
    if (h.size > limits.moof || !ReadBoxHeader(file, at + h.size, &mh) || mh.type != MakeFourCC("mdat")) {
      out->tail_problem = where + ": a moof without its mdat";
      break;
    }
    MovieFragmentBox moof;
    std::vector<TrackFragmentSamples> tfs;
    s = file.Read(at, static_cast<size_t>(h.size), &moof_bytes);
    if (s) s = moof.Parse(moof_bytes.data(), moof_bytes.size());
    if (s) s = ReadFragment(moof, at, &out->header.moov, ContinuationTime, &ends, &tfs);
    if (s && tfs.size() != 1) s = Status::Error(std::to_string(tfs.size()) + " trafs");
    const uint64_t payload = at + h.size + mh.header_size, end = at + h.size + mh.size;
    if (s)
      for (const ReadSample& r : tfs[0].samples)
        if (r.size && (r.offset < payload || r.offset > end || r.size > end - r.offset))
          s = Status::Error("sample data outside its mdat");
    if (!s || end - at > UINT32_MAX) {
      out->tail_problem = where + ": " + (s ? "too large" : s.message());
      break;
    }
    ArchivedFragment f;
    f.track_id = tfs[0].track_id;
    f.sequence = moof.mfhd.sequence_number;
    f.entry.time = tfs[0].decode_time;
    f.entry.duration = tfs[0].duration;
    f.entry.offset = at;
    f.entry.size = static_cast<uint32_t>(end - at);
    f.entry.moof_size = static_cast<uint32_t>(h.size);
    ends[f.track_id] = f.entry.end();
    out->fragments.push_back(f);
    at = end;
    out->good_end = at;
  }
  return Status::Ok();
}

Status WriteMeasuredBitrates(const std::string& path, const std::vector<RecordedBitrate>& bitrates) {
  std::string text;
  for (const RecordedBitrate& b : bitrates)
    text += ArchiveFileName(b.stream_id) + " " + std::to_string(b.track_id) + " " + std::to_string(b.bitrate) + "\n";
  GError* err = nullptr;
  if (g_file_set_contents(path.c_str(), text.data(), static_cast<gssize>(text.size()), &err)) return Status::Ok();
  Status s = Status::Error("cannot write " + path + ": " + err->message);
  g_error_free(err);
  return s;
}

std::vector<RecordedBitrate> ReadMeasuredBitrates(const std::string& path) {
  std::vector<RecordedBitrate> out;
  gchar* contents = nullptr;
  gsize len = 0;
  if (!g_file_get_contents(path.c_str(), &contents, &len, nullptr)) return out;
  gchar** lines = g_strsplit(contents, "\n", -1);
  g_free(contents);
  for (int i = 0; lines[i]; i++) {
    gchar** f = g_strsplit(lines[i], " ", -1);
    RecordedBitrate b;
    guint64 track = 0, bitrate = 0;
    if (g_strv_length(f) == 3 && StreamIdOfArchiveFile(f[0], &b.stream_id) &&
        g_ascii_string_to_unsigned(f[1], 10, 1, UINT32_MAX, &track, nullptr) &&
        g_ascii_string_to_unsigned(f[2], 10, 1, UINT32_MAX, &bitrate, nullptr)) {
      b.track_id = static_cast<uint32_t>(track);
      b.bitrate = static_cast<uint32_t>(bitrate);
      out.push_back(b);
    }
    g_strfreev(f);
  }
  g_strfreev(lines);
  return out;
}

Status MoveArchiveAside(const std::string& dir) {
  std::string previous = dir + "/previous";
  if (g_mkdir_with_parents(previous.c_str(), 0755) != 0) return Errno("cannot create", previous);
  GDir* d = g_dir_open(previous.c_str(), 0, nullptr);
  if (d) {
    while (const char* name = g_dir_read_name(d)) g_unlink((previous + "/" + name).c_str());
    g_dir_close(d);
  }
  d = g_dir_open(dir.c_str(), 0, nullptr);
  if (!d) return Status::Ok();
  Status s;
  while (const char* name = g_dir_read_name(d)) {
    std::string n = name;
    if (!HasSuffix(n, ".ismv") && !HasSuffix(n, ".ism") && !HasSuffix(n, ".ismc") && !HasSuffix(n, ".bitrates"))
      continue;
    if (g_rename((dir + "/" + n).c_str(), (previous + "/" + n).c_str()) != 0 && s)
      s = Errno("cannot move aside", dir + "/" + n);
  }
  g_dir_close(d);
  return s;
}

}  // namespace piff
