// The small XML layer (GLib GMarkup based) shared by the client and server
// manifest parsers and writers: a document tree, escaping, strict numbers.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "status.h"

namespace piff {

using AttributeList = std::vector<std::pair<std::string, std::string>>;

namespace manifest_xml {

struct Element {
  std::string name;
  AttributeList attributes;  // in document order
  std::vector<Element> children;
  std::string text;  // concatenated character data directly inside
};

// Parses a whole document. Handles a UTF-8 BOM, and UTF-16 LE/BE (with BOM,
// or detected from the first '<') by converting to UTF-8 first; the encoding
// named in the XML declaration is not trusted (IIS files often declare
// utf-16 while being UTF-8). Nesting deeper than 64 elements is refused.
Status ParseDocument(const std::string& bytes, Element* root);

// Attribute value escaped for a double-quoted attribute. Tab, CR and LF are
// written as character references so they survive attribute normalization.
std::string EscapeAttribute(const std::string& value);
// Character data escaped for element content.
std::string EscapeText(const std::string& value);
// Appends ` name="escaped value"` to out.
void AppendAttribute(std::string& out, const char* name, const std::string& value);
// The value of attribute `name` of el, or nullptr.
const std::string* FindAttribute(const Element& el, const char* name);

// Strict unsigned decimal: optional surrounding ASCII whitespace, digits only,
// no sign, no overflow. On failure *reason says why (for error messages).
bool ParseUint64(const std::string& text, uint64_t* out, std::string* reason);
bool ParseUint32(const std::string& text, uint32_t* out, std::string* reason);
// "true"/"false" in any case.
bool ParseBool(const std::string& text, bool* out, std::string* reason);

}  // namespace manifest_xml

}  // namespace piff
