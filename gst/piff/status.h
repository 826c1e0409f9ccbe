// Status: the error type of the PIFF core. Every parse path returns one; a failed
// Status carries a message that names the box or attribute and the reason, e.g.
// "moov/trak/mdia/mdhd: truncated: need 8 bytes, 4 left".
#pragma once

#include <string>
#include <utility>

namespace piff {

class Status {
 public:
  Status() = default;
  static Status Ok() { return Status(); }
  static Status Error(std::string message) {
    Status s;
    s.ok_ = false;
    s.message_ = std::move(message);
    return s;
  }

  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const std::string& message() const { return message_; }

  // Prefixes the message with a location ("moov/trak: " + message).
  Status WithContext(const std::string& where) const {
    if (ok_ || where.empty()) return *this;
    return Error(where + ": " + message_);
  }

 private:
  bool ok_ = true;
  std::string message_;
};

}  // namespace piff
