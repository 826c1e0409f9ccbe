// manifest_xml: GMarkup to a small element tree (after converting UTF-16 to
// UTF-8), escaping for the writers, and strict unsigned number parsing.
#include "manifest_xml.h"

#include <glib.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace piff {

namespace manifest_xml {

namespace {

constexpr size_t kMaxDepth = 64;

struct TreeBuilder {
  Element* root = nullptr;
  bool have_root = false;
  std::vector<Element*> open;  // ancestors of the current position
};

void OnStartElement(GMarkupParseContext*, const gchar* name, const gchar** attr_names,
                    const gchar** attr_values, gpointer user_data, GError** error) {
  auto* b = static_cast<TreeBuilder*>(user_data);
  if (b->open.size() >= kMaxDepth) {
    g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                "elements nested deeper than %u", static_cast<unsigned>(kMaxDepth));
    return;
  }
  Element* el;
  if (b->open.empty()) {
    if (b->have_root) {
      g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                  "second root element <%s>", name);
      return;
    }
    b->have_root = true;
    el = b->root;
  } else {
    // Only ancestors are held by pointer, and an ancestor's own vector is not
    // touched while one of its children is open, so this push is safe.
    auto& siblings = b->open.back()->children;
    siblings.emplace_back();
    el = &siblings.back();
  }
  el->name = name;
  std::vector<std::string> names;
  for (size_t i = 0; attr_names[i]; i++) {
    el->attributes.emplace_back(attr_names[i], attr_values[i]);
    names.emplace_back(attr_names[i]);
  }
  // GMarkup accepts repeated attributes; XML does not, and which copy a
  // reader picks would be arbitrary.
  std::sort(names.begin(), names.end());
  auto dup = std::adjacent_find(names.begin(), names.end());
  if (dup != names.end()) {
    g_set_error(error, G_MARKUP_ERROR, G_MARKUP_ERROR_INVALID_CONTENT,
                "attribute \"%s\" repeated on <%s>", dup->c_str(), name);
    return;
  }
  b->open.push_back(el);
}

void OnEndElement(GMarkupParseContext*, const gchar*, gpointer user_data, GError**) {
  auto* b = static_cast<TreeBuilder*>(user_data);
  if (!b->open.empty()) b->open.pop_back();
}

void OnText(GMarkupParseContext*, const gchar* text, gsize len, gpointer user_data, GError**) {
  auto* b = static_cast<TreeBuilder*>(user_data);
  if (!b->open.empty()) b->open.back()->text.append(text, len);
}

bool IsXmlSpace(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && IsXmlSpace(s[b])) b++;
  while (e > b && IsXmlSpace(s[e - 1])) e--;
  return s.substr(b, e - b);
}

// Brings the document to UTF-8 without a BOM.
Status ToUtf8(const std::string& in, std::string* out) {
  const char* from = nullptr;
  size_t skip = 0;
  auto at = [&in](size_t i) { return i < in.size() ? static_cast<unsigned char>(in[i]) : 0x100u; };
  if (at(0) == 0xEF && at(1) == 0xBB && at(2) == 0xBF) {
    *out = in.substr(3);
    return Status::Ok();
  }
  if (at(0) == 0xFF && at(1) == 0xFE) {
    from = "UTF-16LE";
    skip = 2;
  } else if (at(0) == 0xFE && at(1) == 0xFF) {
    from = "UTF-16BE";
    skip = 2;
  } else if (at(0) == '<' && at(1) == 0) {
    from = "UTF-16LE";
  } else if (at(0) == 0 && at(1) == '<') {
    from = "UTF-16BE";
  }
  if (!from) {
    *out = in;
    return Status::Ok();
  }
  GError* err = nullptr;
  gsize written = 0;
  gchar* converted = g_convert(in.data() + skip, static_cast<gssize>(in.size() - skip), "UTF-8",
                               from, nullptr, &written, &err);
  if (!converted) {
    std::string msg = std::string("XML: cannot convert from ") + from + ": " +
                      (err ? err->message : "unknown error");
    g_clear_error(&err);
    return Status::Error(msg);
  }
  out->assign(converted, written);
  g_free(converted);
  // A BOM written twice (once as bytes, once as a character) still reads.
  if (out->compare(0, 3, "\xEF\xBB\xBF") == 0) out->erase(0, 3);
  return Status::Ok();
}

}  // namespace

Status ParseDocument(const std::string& bytes, Element* root) {
  std::string text;
  Status s = ToUtf8(bytes, &text);
  if (!s) return s;

  Element result;
  TreeBuilder builder;
  builder.root = &result;
  GMarkupParser parser = {};
  parser.start_element = OnStartElement;
  parser.end_element = OnEndElement;
  parser.text = OnText;
  GMarkupParseContext* ctx = g_markup_parse_context_new(
      &parser,
      static_cast<GMarkupParseFlags>(G_MARKUP_TREAT_CDATA_AS_TEXT | G_MARKUP_PREFIX_ERROR_POSITION),
      &builder, nullptr);
  GError* err = nullptr;
  bool ok = g_markup_parse_context_parse(ctx, text.data(), static_cast<gssize>(text.size()), &err) &&
            g_markup_parse_context_end_parse(ctx, &err);
  g_markup_parse_context_free(ctx);
  if (!ok) {
    std::string msg = std::string("XML: ") + (err ? err->message : "parse error");
    g_clear_error(&err);
    return Status::Error(msg);
  }
  if (!builder.have_root) return Status::Error("XML: no root element");
  *root = std::move(result);
  return Status::Ok();
}

std::string EscapeAttribute(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\t': out += "&#9;"; break;
      case '\n': out += "&#10;"; break;
      case '\r': out += "&#13;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string EscapeText(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '\r': out += "&#13;"; break;
      default: out += c;
    }
  }
  return out;
}

void AppendAttribute(std::string& out, const char* name, const std::string& value) {
  out += ' ';
  out += name;
  out += "=\"";
  out += EscapeAttribute(value);
  out += '"';
}

const std::string* FindAttribute(const Element& el, const char* name) {
  for (const auto& kv : el.attributes)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

bool ParseUint64(const std::string& text, uint64_t* out, std::string* reason) {
  std::string s = Trim(text);
  if (s.empty() || !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    *reason = "not an unsigned integer \"" + text + "\"";
    return false;
  }
  uint64_t v = 0;
  for (char c : s) {
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - digit) / 10) {
      *reason = "out of range \"" + text + "\"";
      return false;
    }
    v = v * 10 + digit;
  }
  *out = v;
  return true;
}

bool ParseUint32(const std::string& text, uint32_t* out, std::string* reason) {
  uint64_t v = 0;
  if (!ParseUint64(text, &v, reason)) return false;
  if (v > std::numeric_limits<uint32_t>::max()) {
    *reason = "out of range \"" + text + "\"";
    return false;
  }
  *out = static_cast<uint32_t>(v);
  return true;
}

bool ParseBool(const std::string& text, bool* out, std::string* reason) {
  std::string s = Trim(text);
  if (g_ascii_strcasecmp(s.c_str(), "true") == 0) {
    *out = true;
    return true;
  }
  if (g_ascii_strcasecmp(s.c_str(), "false") == 0) {
    *out = false;
    return true;
  }
  *reason = "not a boolean \"" + text + "\"";
  return false;
}

}  // namespace manifest_xml

}  // namespace piff
