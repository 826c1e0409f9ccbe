// BoxBuffer: one object that either reads or writes ISO BMFF box fields, so that
// each box is described once, by a single ReadWriteBody() used for both
// directions (reader and writer cannot drift apart).
//
// Reading is bounds-checked: the first failure is kept, names the box path
// ("moov/trak/mdia/mdhd") and makes every later call a no-op returning false.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fourcc.h"
#include "status.h"

namespace piff {

class BoxBuffer;

// A parsed box header.
struct BoxHeader {
  FourCC type = 0;
  Uuid usertype{};       // only for type 'uuid'
  uint64_t size = 0;     // whole box, header included
  size_t header_size = 0;
};

// Reads one box header at data[0..avail). size==0 ("to end") becomes avail.
// Fails when the header is truncated or the size is impossible.
Status ParseBoxHeader(const uint8_t* data, size_t avail, BoxHeader* out);
// The same for a header read on its own: data[0..header_bytes) holds at least
// the header, and `remaining` bytes (from the box start) exist in the stream.
Status ParseBoxHeaderAt(const uint8_t* data, size_t header_bytes, uint64_t remaining, BoxHeader* out);

// Base of every box. Subclasses implement ReadWriteBody() (the part after the
// box header, and after version/flags for FullBox).
class Box {
 public:
  virtual ~Box() = default;
  virtual FourCC BoxType() const = 0;
  // Non-null for 'uuid' boxes: the 16-byte extended type.
  virtual const Uuid* ExtendedType() const { return nullptr; }
  // Short name for error messages ("tfxd" rather than "uuid").
  virtual std::string Name() const;
  virtual bool ReadWriteBody(BoxBuffer& b) = 0;

  // Parses one whole box (header included) from data[0..size).
  // unbacked_budget: see BoxBuffer::ChargeUnbackedEntries; null gives this
  // parse its own budget of kMaxUnbackedEntries. A caller that keeps many
  // parsed boxes (PiffFile) passes one budget to all of them.
  Status Parse(const uint8_t* data, size_t size, uint64_t* unbacked_budget = nullptr);
  // Appends the serialized box to out.
  void Write(std::vector<uint8_t>& out) const;
  std::vector<uint8_t> Serialize() const;
  // Size in bytes when serialized.
  size_t ComputeSize() const;
};

class FullBox : public Box {
 public:
  uint8_t version = 0;
  uint32_t flags = 0;
  bool ReadWriteBody(BoxBuffer& b) final;
  virtual bool ReadWriteFullBody(BoxBuffer& b) = 0;
};

// Entries a parse may create without file bytes behind each of them (the
// samples of a trun without per-sample fields): a 16-byte trun can claim
// millions, so they are counted across every box of a parse.
constexpr uint64_t kMaxUnbackedEntries = uint64_t{1} << 20;

class BoxBuffer {
 public:
  // Reader over data[0..size); path names the enclosing box for errors.
  BoxBuffer(const uint8_t* data, size_t size, std::string path);
  // Writer appending to *out.
  explicit BoxBuffer(std::vector<uint8_t>* out);

  bool reading() const { return reader_data_ != nullptr || writer_ == nullptr; }
  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  const std::string& path() const { return path_; }
  size_t position() const { return pos_; }
  // Bytes left to read (reading only).
  size_t remaining() const { return reading() ? size_ - pos_ : 0; }

  bool U8(uint8_t& v);
  bool U16(uint16_t& v);
  bool U24(uint32_t& v);
  bool U32(uint32_t& v);
  bool U64(uint64_t& v);
  bool I16(int16_t& v);
  bool I32(int32_t& v);
  // Unsigned integer of `bytes` bytes (1..8), e.g. 4 or 8 for versioned fields.
  bool UintN(uint64_t& v, int bytes);
  bool Code(FourCC& v) { return U32(v); }
  bool UuidField(Uuid& v) { return Bytes(v.data(), v.size()); }
  bool Bytes(uint8_t* p, size_t n);
  // Reading: exactly n bytes into v. Writing: all of v (n must equal v.size()).
  bool Vector(std::vector<uint8_t>& v, size_t n);
  // Reading: everything left in this box. Writing: all of v.
  bool Rest(std::vector<uint8_t>& v);
  // Reading: skips n bytes. Writing: n zero bytes.
  bool Reserved(size_t n);
  // Fixed-size string field padded with zeros (e.g. compressorname handling is
  // done by callers); null-terminated UTF-8 string up to the end of the box.
  bool CString(std::string& s);

  // Children of a container box. In reading mode the remaining bytes are
  // scanned once into a child list; each call takes the first unused child of
  // the wanted type. Unknown children are skipped and never break parsing.
  template <class T>
  bool Child(T& box) {
    if (!ok()) return false;
    if (!reading()) return WriteChild(box);
    const ChildRef* ref = FindChild(box.BoxType(), box.ExtendedType());
    if (!ref) return Fail("missing required child box '" + box.Name() + "'");
    return ReadChild(box, *ref);
  }
  template <class T>
  bool OptionalChild(std::optional<T>& box) {
    if (!ok()) return false;
    if (!reading()) return box ? WriteChild(*box) : true;
    T probe;
    const ChildRef* ref = FindChild(probe.BoxType(), probe.ExtendedType());
    if (!ref) return true;
    box.emplace();
    return ReadChild(*box, *ref);
  }
  template <class T>
  bool Children(std::vector<T>& boxes) {
    if (!ok()) return false;
    if (!reading()) {
      for (auto& b : boxes)
        if (!WriteChild(b)) return false;
      return true;
    }
    T probe;
    while (const ChildRef* ref = FindChild(probe.BoxType(), probe.ExtendedType())) {
      boxes.emplace_back();
      if (!ReadChild(boxes.back(), *ref)) return false;
    }
    return true;
  }
  // Reading: every child not taken yet, kept as raw bytes (header included).
  // Writing: emits the raw boxes verbatim.
  bool UnknownChildren(std::vector<std::vector<uint8_t>>& raw);

  // Reading: takes n entries that have no bytes behind them from the budget
  // shared by the whole parse (kMaxUnbackedEntries per buffer when none was
  // set); fails the buffer when the budget is exhausted.
  bool ChargeUnbackedEntries(uint64_t n, const std::string& what);
  void set_unbacked_budget(uint64_t* budget) { unbacked_budget_ = budget; }

  bool Fail(const std::string& reason);
  // Adopts the failure of a nested buffer (whose message has its own path).
  bool Propagate(const Status& s) {
    if (status_.ok() && !s.ok()) status_ = s;
    return s.ok();
  }

  // Writing: patch a big-endian u32 at an absolute offset in the output.
  void PatchU32(size_t offset, uint32_t v);
  std::vector<uint8_t>* output() { return writer_; }

 private:
  struct ChildRef {
    BoxHeader header;
    size_t offset;
    bool used;
  };
  bool Need(size_t n);
  bool ScanChildren();
  const ChildRef* FindChild(FourCC type, const Uuid* usertype);
  bool ReadChild(Box& box, const ChildRef& ref);
  bool WriteChild(const Box& box);

  const uint8_t* reader_data_ = nullptr;
  size_t size_ = 0;
  std::vector<uint8_t>* writer_ = nullptr;
  size_t pos_ = 0;
  std::string path_;
  Status status_;
  uint64_t* unbacked_budget_ = nullptr;  // shared with child buffers
  uint64_t own_unbacked_budget_ = kMaxUnbackedEntries;
  bool children_scanned_ = false;
  std::vector<ChildRef> children_;
};

}  // namespace piff
