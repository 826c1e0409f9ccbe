// Helpers shared by the core unit tests (GLib gtest).
#pragma once

#include <glib.h>
#include <glib/gstdio.h>

#include <cstring>
#include <fstream>
#include <string>

#include <vector>

#include "encryption.h"
#include "media_index.h"
#include "status.h"

// g_assert_cmpstr keeps raw pointers past the full expression, so compare
// std::string temporaries through copies.
#define EXPECT_STR(a, b)                                         \
  do {                                                           \
    std::string expect_a_ = (a), expect_b_ = (b);                \
    g_assert_cmpstr(expect_a_.c_str(), ==, expect_b_.c_str());   \
  } while (0)

// Hex digits and UUID text written in a test; aborts on a typo.
inline std::vector<uint8_t> Hex(const char* s) {
  std::vector<uint8_t> v;
  if (!piff::ParseHex(s, &v)) g_error("bad hex in test: %s", s);
  return v;
}

inline piff::Uuid MakeUuid(const char* s) {
  piff::Uuid u;
  if (!piff::UuidFromString(s, &u)) g_error("bad uuid in test: %s", s);
  return u;
}

// Contents of tests/unit/data/<name>; aborts the test when missing.
inline std::string ReadFixture(const char* name) {
  gchar* path = g_build_filename(TEST_DATA_DIR, name, nullptr);
  gchar* contents = nullptr;
  gsize len = 0;
  GError* err = nullptr;
  if (!g_file_get_contents(path, &contents, &len, &err)) g_error("%s: %s", path, err->message);
  std::string s(contents, len);
  g_free(contents);
  g_free(path);
  return s;
}

// T::Parse(text, &model) must succeed.
template <class T>
T MustParse(const std::string& text) {
  T m;
  piff::Status s = T::Parse(text, &m);
  if (!s.ok()) g_error("parse failed: %s", s.message().c_str());
  return m;
}

// T::Parse(text, &model) must fail with a message containing `expected`.
template <class T>
void ExpectParseError(const std::string& text, const char* expected) {
  T m;
  piff::Status s = T::Parse(text, &m);
  if (s.ok()) g_error("expected failure containing \"%s\"", expected);
  if (!strstr(s.message().c_str(), expected)) g_error("expected \"%s\" in \"%s\"", expected, s.message().c_str());
}

// An in-memory file for code that reads through a piff::ByteSource.
class MemorySource : public piff::ByteSource {
 public:
  explicit MemorySource(std::vector<uint8_t> data) : data_(std::move(data)) {}
  piff::Status Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) override {
    if (offset > data_.size() || size > data_.size() - offset) return piff::Status::Error("past the end");
    out->assign(data_.begin() + offset, data_.begin() + offset + size);
    return piff::Status::Ok();
  }
  uint64_t Size() const override { return data_.size(); }
  const std::vector<uint8_t>& data() const { return data_; }

 private:
  std::vector<uint8_t> data_;
};

// A temporary folder (g_dir_make_tmp), removed with what is in it.
struct TempDir {
  std::string path;
  explicit TempDir(const char* pattern = "piff-test-XXXXXX") {
    gchar* d = g_dir_make_tmp(pattern, nullptr);
    if (!d) g_error("cannot make a temporary folder");
    path = d;
    g_free(d);
  }
  ~TempDir() { Remove(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string Write(const std::string& name, const std::vector<uint8_t>& data) const {
    std::string p = path + "/" + name;
    std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char*>(data.data()), data.size());
    return p;
  }
  static void Remove(const std::string& dir) {
    GDir* d = g_dir_open(dir.c_str(), 0, nullptr);
    if (!d) return;
    while (const gchar* n = g_dir_read_name(d)) {
      std::string child = dir + "/" + n;
      if (g_file_test(child.c_str(), G_FILE_TEST_IS_DIR))
        Remove(child);
      else
        g_unlink(child.c_str());
    }
    g_dir_close(d);
    g_rmdir(dir.c_str());
  }
};
