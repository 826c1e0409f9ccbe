// BoxBuffer and the Box base classes: bounds-checked symmetric field I/O.
#include "box_buffer.h"

#include <algorithm>
#include <cstring>

namespace piff {

Status ParseBoxHeader(const uint8_t* data, size_t avail, BoxHeader* out) {
  return ParseBoxHeaderAt(data, avail, avail, out);
}

Status ParseBoxHeaderAt(const uint8_t* data, size_t header_bytes, uint64_t remaining, BoxHeader* out) {
  size_t avail = static_cast<size_t>(std::min<uint64_t>(header_bytes, remaining));
  if (avail < 8)
    return Status::Error("truncated box header: need 8 bytes, " + std::to_string(avail) + " left");
  uint64_t size = (uint64_t(data[0]) << 24) | (uint64_t(data[1]) << 16) | (uint64_t(data[2]) << 8) | data[3];
  FourCC type = (uint32_t(data[4]) << 24) | (uint32_t(data[5]) << 16) | (uint32_t(data[6]) << 8) | data[7];
  size_t header = 8;
  if (size == 1) {
    if (avail < 16)
      return Status::Error("'" + FourCCToString(type) + "': truncated 64-bit box size");
    size = 0;
    for (int i = 8; i < 16; i++) size = (size << 8) | data[i];
    header = 16;
  } else if (size == 0) {
    size = remaining;
  }
  if (type == MakeFourCC("uuid")) {
    if (avail < header + 16)
      return Status::Error("'uuid': truncated extended type");
    std::memcpy(out->usertype.data(), data + header, 16);
    header += 16;
  }
  if (size < header)
    return Status::Error("'" + FourCCToString(type) + "': box size " + std::to_string(size) +
                         " is smaller than its header (" + std::to_string(header) + ")");
  if (size > remaining)
    return Status::Error("'" + FourCCToString(type) + "': box size " + std::to_string(size) +
                         " exceeds the " + std::to_string(remaining) + " bytes available");
  out->type = type;
  out->size = size;
  out->header_size = header;
  return Status::Ok();
}

std::string Box::Name() const { return FourCCToString(BoxType()); }

Status Box::Parse(const uint8_t* data, size_t size, uint64_t* unbacked_budget) {
  BoxHeader h;
  Status s = ParseBoxHeader(data, size, &h);
  if (!s) return s;
  if (h.type != BoxType())
    return Status::Error("expected box '" + Name() + "', found '" + FourCCToString(h.type) + "'");
  if (ExtendedType() && h.usertype != *ExtendedType())
    return Status::Error("expected uuid box '" + Name() + "', found uuid " + UuidToString(h.usertype));
  BoxBuffer body(data + h.header_size, static_cast<size_t>(h.size) - h.header_size, Name());
  if (unbacked_budget) body.set_unbacked_budget(unbacked_budget);
  const_cast<Box*>(this)->ReadWriteBody(body);
  return body.status();
}

void Box::Write(std::vector<uint8_t>& out) const {
  size_t start = out.size();
  const uint8_t zero[4] = {0, 0, 0, 0};
  out.insert(out.end(), zero, zero + 4);
  FourCC t = BoxType();
  uint8_t tb[4] = {uint8_t(t >> 24), uint8_t(t >> 16), uint8_t(t >> 8), uint8_t(t)};
  out.insert(out.end(), tb, tb + 4);
  if (const Uuid* u = ExtendedType()) out.insert(out.end(), u->begin(), u->end());
  BoxBuffer w(&out);
  const_cast<Box*>(this)->ReadWriteBody(w);
  w.PatchU32(start, static_cast<uint32_t>(out.size() - start));
}

std::vector<uint8_t> Box::Serialize() const {
  std::vector<uint8_t> out;
  Write(out);
  return out;
}

size_t Box::ComputeSize() const { return Serialize().size(); }

bool FullBox::ReadWriteBody(BoxBuffer& b) {
  uint8_t v = version;
  uint32_t f = flags;
  if (!b.U8(v) || !b.U24(f)) return false;
  version = v;
  flags = f;
  return ReadWriteFullBody(b);
}

BoxBuffer::BoxBuffer(const uint8_t* data, size_t size, std::string path)
    : reader_data_(data), size_(size), path_(std::move(path)) {
  static const uint8_t kEmpty = 0;
  if (!reader_data_) reader_data_ = &kEmpty;
}

BoxBuffer::BoxBuffer(std::vector<uint8_t>* out) : writer_(out) {}

bool BoxBuffer::Fail(const std::string& reason) {
  if (status_.ok()) status_ = Status::Error(path_.empty() ? reason : path_ + ": " + reason);
  return false;
}

bool BoxBuffer::ChargeUnbackedEntries(uint64_t n, const std::string& what) {
  if (!ok()) return false;
  if (!reading()) return true;
  uint64_t& left = unbacked_budget_ ? *unbacked_budget_ : own_unbacked_budget_;
  if (n > left)
    return Fail(what + " " + std::to_string(n) + " is implausible (more than " +
                std::to_string(kMaxUnbackedEntries) + " entries without bytes in one parse)");
  left -= n;
  return true;
}

bool BoxBuffer::Need(size_t n) {
  if (!ok()) return false;
  if (size_ - pos_ < n)
    return Fail("truncated: need " + std::to_string(n) + " bytes, " + std::to_string(size_ - pos_) + " left");
  return true;
}

bool BoxBuffer::UintN(uint64_t& v, int bytes) {
  if (!ok()) return false;
  if (reading()) {
    if (!Need(bytes)) return false;
    uint64_t r = 0;
    for (int i = 0; i < bytes; i++) r = (r << 8) | reader_data_[pos_ + i];
    pos_ += bytes;
    v = r;
  } else {
    for (int i = bytes - 1; i >= 0; i--) writer_->push_back(static_cast<uint8_t>(v >> (8 * i)));
    pos_ += bytes;
  }
  return true;
}

bool BoxBuffer::U8(uint8_t& v) {
  uint64_t t = v;
  if (!UintN(t, 1)) return false;
  v = static_cast<uint8_t>(t);
  return true;
}
bool BoxBuffer::U16(uint16_t& v) {
  uint64_t t = v;
  if (!UintN(t, 2)) return false;
  v = static_cast<uint16_t>(t);
  return true;
}
bool BoxBuffer::U24(uint32_t& v) {
  uint64_t t = v & 0xffffff;
  if (!UintN(t, 3)) return false;
  v = static_cast<uint32_t>(t);
  return true;
}
bool BoxBuffer::U32(uint32_t& v) {
  uint64_t t = v;
  if (!UintN(t, 4)) return false;
  v = static_cast<uint32_t>(t);
  return true;
}
bool BoxBuffer::U64(uint64_t& v) { return UintN(v, 8); }
bool BoxBuffer::I16(int16_t& v) {
  uint16_t t = static_cast<uint16_t>(v);
  if (!U16(t)) return false;
  v = static_cast<int16_t>(t);
  return true;
}
bool BoxBuffer::I32(int32_t& v) {
  uint32_t t = static_cast<uint32_t>(v);
  if (!U32(t)) return false;
  v = static_cast<int32_t>(t);
  return true;
}

bool BoxBuffer::Bytes(uint8_t* p, size_t n) {
  if (!ok()) return false;
  if (reading()) {
    if (!Need(n)) return false;
    if (n) std::memcpy(p, reader_data_ + pos_, n);
  } else {
    writer_->insert(writer_->end(), p, p + n);
  }
  pos_ += n;
  return true;
}

bool BoxBuffer::Vector(std::vector<uint8_t>& v, size_t n) {
  if (!ok()) return false;
  if (reading()) {
    if (!Need(n)) return false;
    v.assign(reader_data_ + pos_, reader_data_ + pos_ + n);
    pos_ += n;
    return true;
  }
  if (n != v.size()) return Fail("internal: vector size mismatch on write");
  return Bytes(v.data(), v.size());
}

bool BoxBuffer::Rest(std::vector<uint8_t>& v) {
  if (!ok()) return false;
  if (reading()) return Vector(v, size_ - pos_);
  return Bytes(v.data(), v.size());
}

bool BoxBuffer::Reserved(size_t n) {
  if (!ok()) return false;
  if (reading()) {
    if (!Need(n)) return false;
  } else {
    writer_->insert(writer_->end(), n, 0);
  }
  pos_ += n;
  return true;
}

bool BoxBuffer::CString(std::string& s) {
  if (!ok()) return false;
  if (reading()) {
    size_t end = pos_;
    while (end < size_ && reader_data_[end] != 0) end++;
    s.assign(reinterpret_cast<const char*>(reader_data_ + pos_), end - pos_);
    pos_ = end < size_ ? end + 1 : end;  // tolerate a missing terminator
    return true;
  }
  writer_->insert(writer_->end(), s.begin(), s.end());
  writer_->push_back(0);
  pos_ += s.size() + 1;
  return true;
}

bool BoxBuffer::ScanChildren() {
  if (children_scanned_) return ok();
  children_scanned_ = true;
  size_t off = pos_;
  while (off < size_) {
    BoxHeader h;
    Status s = ParseBoxHeader(reader_data_ + off, size_ - off, &h);
    if (!s) {
      // Trailing garbage smaller than a header (some writers pad with zeros)
      // is tolerated; an inconsistent child size is an error.
      if (size_ - off < 8) break;
      return Fail("child box at offset " + std::to_string(off) + ": " + s.message());
    }
    children_.push_back(ChildRef{h, off, false});
    off += static_cast<size_t>(h.size);
  }
  pos_ = size_;
  return true;
}

const BoxBuffer::ChildRef* BoxBuffer::FindChild(FourCC type, const Uuid* usertype) {
  if (!ScanChildren()) return nullptr;
  for (auto& c : children_) {
    if (c.used || c.header.type != type) continue;
    if (usertype && c.header.usertype != *usertype) continue;
    c.used = true;
    return &c;
  }
  return nullptr;
}

bool BoxBuffer::ReadChild(Box& box, const ChildRef& ref) {
  std::string path = path_.empty() ? box.Name() : path_ + "/" + box.Name();
  BoxBuffer body(reader_data_ + ref.offset + ref.header.header_size,
                 static_cast<size_t>(ref.header.size) - ref.header.header_size, path);
  body.unbacked_budget_ = unbacked_budget_ ? unbacked_budget_ : &own_unbacked_budget_;
  box.ReadWriteBody(body);
  if (!body.ok()) {
    if (status_.ok()) status_ = body.status();
    return false;
  }
  return true;
}

bool BoxBuffer::WriteChild(const Box& box) {
  size_t before = writer_->size();
  box.Write(*writer_);
  pos_ += writer_->size() - before;
  return true;
}

bool BoxBuffer::UnknownChildren(std::vector<std::vector<uint8_t>>& raw) {
  if (!ok()) return false;
  if (!reading()) {
    for (auto& r : raw) Bytes(r.data(), r.size());
    return true;
  }
  if (!ScanChildren()) return false;
  for (auto& c : children_) {
    if (c.used) continue;
    c.used = true;
    raw.emplace_back(reader_data_ + c.offset, reader_data_ + c.offset + c.header.size);
  }
  return true;
}

void BoxBuffer::PatchU32(size_t offset, uint32_t v) {
  (*writer_)[offset] = static_cast<uint8_t>(v >> 24);
  (*writer_)[offset + 1] = static_cast<uint8_t>(v >> 16);
  (*writer_)[offset + 2] = static_cast<uint8_t>(v >> 8);
  (*writer_)[offset + 3] = static_cast<uint8_t>(v);
}

}  // namespace piff
