// JsonWriter: streams JSON to a FILE* for the machine-readable output of
// gst-smooth (inspect --json). Streaming, not a DOM, so a file with many
// fragments and --samples does not have to fit in memory twice. Containers
// opened "inline" (and everything inside them) stay on one line, which keeps
// per-fragment and per-box records readable with grep.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

class JsonWriter {
 public:
  explicit JsonWriter(FILE* out) : out_(out) {}
  ~JsonWriter();  // ends the document with a newline

  void BeginObject(bool inline_container = false) { Open('{', inline_container); }
  void EndObject() { Close(); }
  void BeginArray(bool inline_container = false) { Open('[', inline_container); }
  void EndArray() { Close(); }

  // Inside an object: the key of the next value.
  void Key(const std::string& key);

  void String(const std::string& v);
  void Uint(uint64_t v);
  void Int(int64_t v);
  void Bool(bool v);
  void Null();
  // Fixed-point decimal (seconds and the like): no exponent notation.
  void Fixed(double v, int decimals);

  // Key + value shortcuts.
  void Field(const std::string& k, const std::string& v) { Key(k); String(v); }
  void Field(const std::string& k, const char* v) { Key(k); String(v); }
  void Field(const std::string& k, uint64_t v) { Key(k); Uint(v); }
  void Field(const std::string& k, uint32_t v) { Key(k); Uint(v); }
  void Field(const std::string& k, int64_t v) { Key(k); Int(v); }
  void Field(const std::string& k, bool v) { Key(k); Bool(v); }

  static std::string Escape(const std::string& s);

 private:
  struct Level {
    char close;
    bool inline_container;
    bool empty = true;
  };
  void BeforeValue();
  void Open(char c, bool inline_container);
  void Close();
  void Newline(size_t depth);

  FILE* out_;
  std::vector<Level> stack_;
  bool after_key_ = false;
};
