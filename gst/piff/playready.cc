// PlayReady Object and WRMHEADER building and parsing (see playready.h).
#include "playready.h"

#include <glib.h>

#include <cstring>

#include "libcrypto.h"
#include "manifest_xml.h"

namespace piff {

std::string Base64Encode(const std::vector<uint8_t>& data) {
  gchar* s = g_base64_encode(data.data(), data.size());
  std::string out(s);
  g_free(s);
  return out;
}

bool Base64Decode(const std::string& text, std::vector<uint8_t>* out) {
  std::string clean;
  for (char c : text) {
    if (g_ascii_isspace(c)) continue;
    if (!(g_ascii_isalnum(c) || c == '+' || c == '/' || c == '=')) return false;
    clean.push_back(c);
  }
  if (clean.size() % 4) return false;
  gsize len = 0;
  guchar* d = g_base64_decode(clean.c_str(), &len);
  out->assign(d, d + len);
  g_free(d);
  return true;
}

Status PlayReadyChecksum(const Uuid& kid, const std::vector<uint8_t>& key, std::vector<uint8_t>* out) {
  if (key.size() != 16) return Status::Error("PlayReady CHECKSUM needs a 16-byte content key");
  Uuid guid = SwapGuidByteOrder(kid);
  Status error;
  const LibCrypto* api = GetLibCrypto(&error);
  if (!api) return error;
  EVP_CIPHER_CTX* ctx = api->CIPHER_CTX_new();
  if (!ctx) return Status::Error("OpenSSL: cannot allocate a cipher context");
  uint8_t block[16];
  int n = 0;
  bool ok = api->EncryptInit_ex(ctx, api->aes_128_ecb(), nullptr, key.data(), nullptr) == 1 &&
            api->CIPHER_CTX_set_padding(ctx, 0) == 1 && api->EncryptUpdate(ctx, block, &n, guid.data(), 16) == 1 &&
            n == 16;
  api->CIPHER_CTX_free(ctx);
  if (!ok) return Status::Error("OpenSSL: AES-ECB failed");
  out->assign(block, block + 8);
  return Status::Ok();
}

static std::string KidBase64(const Uuid& kid) {
  Uuid guid = SwapGuidByteOrder(kid);
  return Base64Encode(std::vector<uint8_t>(guid.begin(), guid.end()));
}

Status BuildWrmHeader(const PlayReadyHeaderParams& p, std::string* xml) {
  if (p.scheme == EncryptionScheme::kNone) return Status::Error("PlayReady header needs an encryption scheme");
  std::string checksum;
  if (!p.key.empty()) {
    std::vector<uint8_t> c;
    Status s = PlayReadyChecksum(p.kid, p.key, &c);
    if (!s) return s;
    checksum = Base64Encode(c);
  }
  std::string x = "<WRMHEADER xmlns=\"http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader\" version=\"";
  if (p.scheme == EncryptionScheme::kPiffCtr) {
    x += "4.0.0.0\"><DATA><PROTECTINFO><KEYLEN>16</KEYLEN><ALGID>AESCTR</ALGID></PROTECTINFO>";
    x += "<KID>" + KidBase64(p.kid) + "</KID>";
    if (!checksum.empty()) x += "<CHECKSUM>" + checksum + "</CHECKSUM>";
  } else {
    // 4.3.0.0: attributes in alphabetical order, every node closed explicitly.
    // The CHECKSUM is defined for AESCTR keys only.
    x += "4.3.0.0\"><DATA><PROTECTINFO><KIDS><KID ALGID=\"AESCBC\" VALUE=\"" + KidBase64(p.kid) +
         "\"></KID></KIDS></PROTECTINFO>";
  }
  if (!p.la_url.empty()) x += "<LA_URL>" + manifest_xml::EscapeText(p.la_url) + "</LA_URL>";
  if (!p.lui_url.empty()) x += "<LUI_URL>" + manifest_xml::EscapeText(p.lui_url) + "</LUI_URL>";
  if (!p.ds_id.empty()) x += "<DS_ID>" + manifest_xml::EscapeText(p.ds_id) + "</DS_ID>";
  x += "</DATA></WRMHEADER>";
  *xml = std::move(x);
  return Status::Ok();
}

static void Put16(std::vector<uint8_t>& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}

std::vector<uint8_t> BuildPlayReadyObject(const std::string& xml) {
  std::vector<uint8_t> utf16;
  glong items = 0;
  gunichar2* w = g_utf8_to_utf16(xml.c_str(), static_cast<glong>(xml.size()), nullptr, &items, nullptr);
  if (w) {
    for (glong i = 0; i < items; i++) Put16(utf16, w[i]);  // little-endian whatever the host
    g_free(w);
  }
  std::vector<uint8_t> pro;
  uint32_t length = static_cast<uint32_t>(4 + 2 + 2 + 2 + utf16.size());
  for (int i = 0; i < 4; i++) pro.push_back(static_cast<uint8_t>(length >> (8 * i)));
  Put16(pro, 1);  // record count
  Put16(pro, 1);  // record type: PlayReady header
  Put16(pro, static_cast<uint16_t>(utf16.size()));
  pro.insert(pro.end(), utf16.begin(), utf16.end());
  return pro;
}

namespace {

struct HeaderParse {
  PlayReadyObjectInfo* out;
  std::vector<std::string> stack;
  std::string text;
  std::string protectinfo_algid;  // 4.0: one ALGID for the single KID
};

bool InPath(const HeaderParse& p, const char* parent) {
  return p.stack.size() >= 2 && p.stack[p.stack.size() - 2] == parent;
}

void OnStart(GMarkupParseContext*, const gchar* name, const gchar** attr_names, const gchar** attr_values,
             gpointer user, GError**) {
  auto* p = static_cast<HeaderParse*>(user);
  p->stack.push_back(name);
  p->text.clear();
  if (!strcmp(name, "WRMHEADER")) {
    for (int i = 0; attr_names[i]; i++)
      if (!strcmp(attr_names[i], "version")) p->out->version = attr_values[i];
  } else if (!strcmp(name, "KID")) {
    // 4.1+: <KID ALGID= CHECKSUM= VALUE=>; 4.0's <KID> has text instead.
    const char *value = nullptr, *algid = nullptr, *checksum = nullptr;
    for (int i = 0; attr_names[i]; i++) {
      if (!strcmp(attr_names[i], "VALUE")) value = attr_values[i];
      if (!strcmp(attr_names[i], "ALGID")) algid = attr_values[i];
      if (!strcmp(attr_names[i], "CHECKSUM")) checksum = attr_values[i];
    }
    if (value) {
      std::vector<uint8_t> g;
      if (Base64Decode(value, &g) && g.size() == 16) {
        Uuid u;
        std::copy(g.begin(), g.end(), u.begin());
        p->out->kids.push_back(SwapGuidByteOrder(u));
        p->out->algorithms.push_back(algid ? algid : "");
        std::vector<uint8_t> c;
        if (checksum) Base64Decode(checksum, &c);
        p->out->checksums.push_back(c);
      }
    }
  }
}

void OnEnd(GMarkupParseContext*, const gchar* name, gpointer user, GError**) {
  auto* p = static_cast<HeaderParse*>(user);
  std::string text = p->text;
  if (!strcmp(name, "KID") && InPath(*p, "DATA") && !text.empty()) {
    std::vector<uint8_t> g;
    if (Base64Decode(text, &g) && g.size() == 16) {
      Uuid u;
      std::copy(g.begin(), g.end(), u.begin());
      p->out->kids.push_back(SwapGuidByteOrder(u));
      p->out->algorithms.push_back(p->protectinfo_algid);
      p->out->checksums.emplace_back();
    }
  } else if (!strcmp(name, "ALGID") && InPath(*p, "PROTECTINFO")) {
    p->protectinfo_algid = text;
    for (auto& a : p->out->algorithms)
      if (a.empty()) a = text;
  } else if (!strcmp(name, "CHECKSUM") && InPath(*p, "DATA")) {
    std::vector<uint8_t> c;
    if (Base64Decode(text, &c) && !p->out->checksums.empty()) p->out->checksums.back() = c;
  } else if (!strcmp(name, "LA_URL")) {
    p->out->la_url = text;
  }
  p->stack.pop_back();
  p->text.clear();
}

void OnText(GMarkupParseContext*, const gchar* text, gsize len, gpointer user, GError**) {
  static_cast<HeaderParse*>(user)->text.append(text, len);
}

}  // namespace

Status ParsePlayReadyObject(const uint8_t* d, size_t size, PlayReadyObjectInfo* out) {
  *out = PlayReadyObjectInfo();
  if (size < 6) return Status::Error("PlayReady Object: " + std::to_string(size) + " bytes is too short");
  uint32_t length = d[0] | d[1] << 8 | d[2] << 16 | static_cast<uint32_t>(d[3]) << 24;
  if (length != size)
    return Status::Error("PlayReady Object: Length says " + std::to_string(length) + " bytes, have " +
                         std::to_string(size));
  out->record_count = static_cast<uint16_t>(d[4] | d[5] << 8);
  size_t pos = 6;
  for (uint16_t r = 0; r < out->record_count; r++) {
    if (size - pos < 4) return Status::Error("PlayReady Object: record " + std::to_string(r) + " truncated");
    uint16_t type = static_cast<uint16_t>(d[pos] | d[pos + 1] << 8);
    uint16_t len = static_cast<uint16_t>(d[pos + 2] | d[pos + 3] << 8);
    pos += 4;
    if (len > size - pos)
      return Status::Error("PlayReady Object: record " + std::to_string(r) + " of " + std::to_string(len) +
                           " bytes runs past the end");
    // An empty type-1 record holds no header (and zero UTF-16 units are no
    // string for GLib).
    if (type == 1 && len > 0 && out->wrmheader_xml.empty()) {
      if (len % 2) return Status::Error("PlayReady Object: odd-sized UTF-16 header record");
      std::vector<gunichar2> w(len / 2);
      for (size_t i = 0; i < w.size(); i++) w[i] = static_cast<gunichar2>(d[pos + 2 * i] | d[pos + 2 * i + 1] << 8);
      gchar* u8 = g_utf16_to_utf8(w.data(), static_cast<glong>(w.size()), nullptr, nullptr, nullptr);
      if (!u8) return Status::Error("PlayReady Object: header record is not valid UTF-16");
      out->wrmheader_xml = u8;
      g_free(u8);
      // Some packagers start the UTF-16 text with a byte order mark.
      if (out->wrmheader_xml.compare(0, 3, "\xEF\xBB\xBF") == 0) out->wrmheader_xml.erase(0, 3);
    }
    pos += len;
  }
  if (pos != size) return Status::Error("PlayReady Object: " + std::to_string(size - pos) + " bytes after the records");
  if (out->wrmheader_xml.empty()) return Status::Ok();

  HeaderParse p{out, {}, {}, {}};
  GMarkupParser parser = {OnStart, OnEnd, OnText, nullptr, nullptr};
  GMarkupParseContext* ctx = g_markup_parse_context_new(&parser, G_MARKUP_PREFIX_ERROR_POSITION, &p, nullptr);
  GError* err = nullptr;
  bool ok = g_markup_parse_context_parse(ctx, out->wrmheader_xml.c_str(), static_cast<gssize>(out->wrmheader_xml.size()),
                                         &err) &&
            g_markup_parse_context_end_parse(ctx, &err);
  g_markup_parse_context_free(ctx);
  if (!ok) {
    std::string msg = std::string("PlayReady header XML: ") + (err ? err->message : "parse error");
    g_clear_error(&err);
    return Status::Error(msg);
  }
  return Status::Ok();
}

}  // namespace piff
