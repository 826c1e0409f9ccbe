// File helpers of the gst-smooth tool (see file_io.h). POSIX calls with an
// owning descriptor wrapper so every early return closes what it opened.
#include "file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

using piff::Status;

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

Status Errno(const std::string& what) { return Status::Error(what + ": " + std::strerror(errno)); }

Status WriteAll(int fd, const uint8_t* data, size_t size, const std::string& path) {
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(path);
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

// Opens path + ".part" for writing; on success the caller writes, then
// Commit() renames it into place. An abandoned part file is removed.
class PartFile {
 public:
  explicit PartFile(std::string path) : path_(std::move(path)), part_(path_ + ".part") {}
  ~PartFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_ && opened_) ::unlink(part_.c_str());
  }
  PartFile(const PartFile&) = delete;
  PartFile& operator=(const PartFile&) = delete;
  Status Open() {
    fd_ = ::open(part_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd_ < 0) return Errno(part_);
    opened_ = true;
    return Status::Ok();
  }
  Status Write(const uint8_t* data, size_t size) { return WriteAll(fd_, data, size, part_); }
  Status Commit() {
    int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) return Errno(part_);
    if (::rename(part_.c_str(), path_.c_str()) != 0) return Errno("rename " + part_ + " to " + path_);
    committed_ = true;
    return Status::Ok();
  }

 private:
  std::string path_, part_;
  int fd_ = -1;
  bool opened_ = false, committed_ = false;
};

}  // namespace

Status SniffInput(const std::string& path, InputKind* out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Errno(path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Errno(path);
  if (!S_ISREG(st.st_mode)) return Status::Error(path + ": not a regular file");
  std::vector<char> head(4096);
  ssize_t n;
  do {
    n = ::pread(fd.get(), head.data(), head.size(), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Errno(path);
  // Drop BOMs, UTF-16 NULs and white space so "<" and the root name can be
  // found in UTF-8 and UTF-16 documents alike.
  std::string text;
  for (ssize_t i = 0; i < n; i++) {
    unsigned char c = static_cast<unsigned char>(head[i]);
    if (c == 0 || c == 0xef || c == 0xbb || c == 0xbf || c == 0xff || c == 0xfe) continue;
    text += static_cast<char>(c);
  }
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos || text[first] != '<') {
    *out = InputKind::kMedia;
    return Status::Ok();
  }
  // The root element is the first one that is not <?xml ...?>, a comment or
  // a doctype.
  size_t pos = first;
  while (pos < text.size()) {
    pos = text.find('<', pos);
    if (pos == std::string::npos || pos + 1 >= text.size()) break;
    char c = text[pos + 1];
    if (c != '?' && c != '!') break;
    pos++;
  }
  bool smil = pos != std::string::npos && text.compare(pos, 5, "<smil") == 0;
  *out = smil ? InputKind::kServerManifest : InputKind::kClientManifest;
  return Status::Ok();
}

Status ReadTextFile(const std::string& path, uint64_t max_bytes, std::string* out) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return Errno(path);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return Errno(path);
  if (!S_ISREG(st.st_mode)) return Status::Error(path + ": not a regular file");
  if (static_cast<uint64_t>(st.st_size) > max_bytes)
    return Status::Error(path + ": " + std::to_string(st.st_size) + " bytes is more than the " +
                         std::to_string(max_bytes) + " a manifest may have");
  out->assign(static_cast<size_t>(st.st_size), '\0');
  size_t done = 0;
  while (done < out->size()) {
    ssize_t n = ::read(fd.get(), &(*out)[done], out->size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno(path);
    if (n == 0) break;  // shrank while reading
    done += static_cast<size_t>(n);
  }
  out->resize(done);
  return Status::Ok();
}

Status WriteFileAtomically(const std::string& path, const std::string& data) {
  PartFile f(path);
  Status s = f.Open();
  if (!s) return s;
  if (!(s = f.Write(reinterpret_cast<const uint8_t*>(data.data()), data.size()))) return s;
  return f.Commit();
}

Status CopyRangeToFile(piff::ByteSource& source, uint64_t offset, uint64_t size, const std::string& path) {
  return CopyBodyToFile(source, {}, {{offset, size}}, path);
}

Status CopyBodyToFile(piff::ByteSource& source, const std::vector<uint8_t>& header,
                      const std::vector<piff::ByteRange>& ranges, const std::string& path) {
  constexpr uint64_t kChunk = 1 << 20;
  PartFile f(path);
  Status s = f.Open();
  if (!s) return s;
  if (!header.empty() && !(s = f.Write(header.data(), header.size()))) return s;
  std::vector<uint8_t> buf;
  for (const piff::ByteRange& r : ranges)
    for (uint64_t done = 0; done < r.size;) {
      size_t n = static_cast<size_t>(std::min(kChunk, r.size - done));
      if (!(s = source.Read(r.offset + done, n, &buf))) return s;
      if (!(s = f.Write(buf.data(), buf.size()))) return s;
      done += n;
    }
  return f.Commit();
}

bool IsRegularFile(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Status MakeDirectories(const std::string& path) {
  if (path.empty()) return Status::Ok();
  std::string partial;
  size_t pos = 0;
  while (pos <= path.size()) {
    size_t slash = path.find('/', pos);
    if (slash == std::string::npos) slash = path.size();
    partial = path.substr(0, slash);
    pos = slash + 1;
    if (partial.empty() || partial == "." || partial == "..") continue;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) return Errno("mkdir " + partial);
    struct stat st;
    if (::stat(partial.c_str(), &st) != 0) return Errno(partial);
    if (!S_ISDIR(st.st_mode)) return Status::Error(partial + ": exists and is not a directory");
  }
  return Status::Ok();
}

std::string DirectoryOf(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string FormatSeconds(uint64_t ticks, uint64_t timescale) {
  if (timescale == 0) return "?";
  uint64_t whole = ticks / timescale;
  // Milliseconds from the remainder in integers: no floating point on times.
  uint64_t ms = static_cast<uint64_t>((static_cast<unsigned __int128>(ticks % timescale) * 1000) / timescale);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%llu.%03llu", static_cast<unsigned long long>(whole),
                static_cast<unsigned long long>(ms));
  return buf;
}
