// JsonWriter: commas, indentation and string escaping for streamed JSON.
#include "json_writer.h"

#include <cinttypes>

JsonWriter::~JsonWriter() { std::fputc('\n', out_); }

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0.
size_t Utf8SequenceLength(const std::string& s, size_t i) {
  unsigned char c = static_cast<unsigned char>(s[i]);
  size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c < 0xe0 ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++)
    if ((static_cast<unsigned char>(s[i + k]) & 0xc0) != 0x80) return 0;
  return n;
}

}  // namespace

std::string JsonWriter::Escape(const std::string& s) {
  std::string r = "\"";
  for (size_t i = 0; i < s.size(); i++) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': r += "\\\""; break;
      case '\\': r += "\\\\"; break;
      case '\n': r += "\\n"; break;
      case '\r': r += "\\r"; break;
      case '\t': r += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          r += buf;
        } else if (c >= 0x80) {
          // Paths and messages may carry arbitrary bytes: valid UTF-8 passes
          // through, anything else becomes U+FFFD so the output stays JSON.
          size_t n = Utf8SequenceLength(s, i);
          if (n) {
            r.append(s, i, n);
            i += n - 1;
          } else {
            r += "\\ufffd";
          }
        } else {
          r += static_cast<char>(c);
        }
    }
  }
  return r + "\"";
}

void JsonWriter::Newline(size_t depth) {
  std::fputc('\n', out_);
  for (size_t i = 0; i < depth; i++) std::fputs("  ", out_);
}

void JsonWriter::BeforeValue() {
  if (after_key_) {
    after_key_ = false;
    return;
  }
  if (stack_.empty()) return;
  Level& l = stack_.back();
  if (!l.empty) std::fputc(',', out_);
  if (l.inline_container) {
    if (!l.empty) std::fputc(' ', out_);
  } else {
    Newline(stack_.size());
  }
  l.empty = false;
}

void JsonWriter::Key(const std::string& key) {
  BeforeValue();
  std::fputs(Escape(key).c_str(), out_);
  std::fputs(": ", out_);
  after_key_ = true;
}

void JsonWriter::Open(char c, bool inline_container) {
  BeforeValue();
  bool parent_inline = !stack_.empty() && stack_.back().inline_container;
  std::fputc(c, out_);
  stack_.push_back({c == '{' ? '}' : ']', inline_container || parent_inline});
}

void JsonWriter::Close() {
  if (stack_.empty()) return;
  Level l = stack_.back();
  stack_.pop_back();
  if (!l.empty && !l.inline_container) Newline(stack_.size());
  std::fputc(l.close, out_);
}

void JsonWriter::String(const std::string& v) {
  BeforeValue();
  std::fputs(Escape(v).c_str(), out_);
}

void JsonWriter::Uint(uint64_t v) {
  BeforeValue();
  std::fprintf(out_, "%" PRIu64, v);
}

void JsonWriter::Int(int64_t v) {
  BeforeValue();
  std::fprintf(out_, "%" PRId64, v);
}

void JsonWriter::Bool(bool v) {
  BeforeValue();
  std::fputs(v ? "true" : "false", out_);
}

void JsonWriter::Null() {
  BeforeValue();
  std::fputs("null", out_);
}

void JsonWriter::Fixed(double v, int decimals) {
  BeforeValue();
  std::fprintf(out_, "%.*f", decimals, v);
}
