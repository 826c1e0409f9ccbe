// FourCC / UUID helpers and the PIFF extended-type constants.
#include "fourcc.h"

#include <cctype>

namespace piff {

std::string FourCCToString(FourCC f) {
  std::string s(4, '.');
  for (int i = 0; i < 4; i++) {
    char c = static_cast<char>((f >> (24 - 8 * i)) & 0xff);
    s[i] = std::isprint(static_cast<unsigned char>(c)) ? c : '.';
  }
  return s;
}

std::string UuidToString(const Uuid& u) {
  static const char* hex = "0123456789abcdef";
  std::string s;
  for (size_t i = 0; i < u.size(); i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) s += '-';
    s += hex[u[i] >> 4];
    s += hex[u[i] & 15];
  }
  return s;
}

static int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool UuidFromString(const std::string& in, Uuid* out) {
  std::string hex;
  size_t begin = 0, end = in.size();
  while (begin < end && std::isspace(static_cast<unsigned char>(in[begin]))) begin++;
  while (end > begin && std::isspace(static_cast<unsigned char>(in[end - 1]))) end--;
  if (begin < end && in[begin] == '{') begin++;
  if (end > begin && in[end - 1] == '}') end--;
  for (size_t i = begin; i < end; i++) {
    if (in[i] == '-') continue;
    if (HexValue(in[i]) < 0) return false;
    hex += in[i];
  }
  if (hex.size() != 32) return false;
  for (size_t i = 0; i < 16; i++)
    (*out)[i] = static_cast<uint8_t>(HexValue(hex[2 * i]) * 16 + HexValue(hex[2 * i + 1]));
  return true;
}

const Uuid kTfxdUuid = {0x6d, 0x1d, 0x9b, 0x05, 0x42, 0xd5, 0x44, 0xe6,
                        0x80, 0xe2, 0x14, 0x1d, 0xaf, 0xf7, 0x57, 0xb2};
const Uuid kTfrfUuid = {0xd4, 0x80, 0x7e, 0xf2, 0xca, 0x39, 0x46, 0x95,
                        0x8e, 0x54, 0x26, 0xcb, 0x9e, 0x46, 0xa7, 0x9f};
const Uuid kLiveServerManifestUuid = {0xa5, 0xd4, 0x0b, 0x30, 0xe8, 0x14, 0x11, 0xdd,
                                      0xba, 0x2f, 0x08, 0x00, 0x20, 0x0c, 0x9a, 0x66};
const Uuid kStreamManifestUuid = {0x3c, 0x2f, 0xe5, 0x1b, 0xef, 0xee, 0x40, 0xa3,
                                  0xae, 0x81, 0x53, 0x00, 0x19, 0x9d, 0xc3, 0x48};
const Uuid kPiffPsshUuid = {0xd0, 0x8a, 0x4f, 0x18, 0x10, 0xf3, 0x4a, 0x82,
                            0xb6, 0xc8, 0x32, 0xd8, 0xab, 0xa1, 0x83, 0xd3};
const Uuid kPiffTencUuid = {0x89, 0x74, 0xdb, 0xce, 0x7b, 0xe7, 0x4c, 0x51,
                            0x84, 0xf9, 0x71, 0x48, 0xf9, 0x88, 0x25, 0x54};
const Uuid kPiffSencUuid = {0xa2, 0x39, 0x4f, 0x52, 0x5a, 0x9b, 0x4f, 0x14,
                            0xa2, 0x44, 0x6c, 0x42, 0x7c, 0x64, 0x8d, 0xf4};
const Uuid kPlayReadySystemId = {0x9a, 0x04, 0xf0, 0x79, 0x98, 0x40, 0x42, 0x86,
                                 0xab, 0x92, 0xe6, 0x5b, 0xe0, 0x88, 0x5f, 0x95};

}  // namespace piff
