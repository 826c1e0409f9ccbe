// libFuzzer target for the cross-origin decisions (cross_origin.h): the
// input is "SPEC\nORIGIN" (a --cors-origin value and a request's Origin
// header, both hostile). Parse either succeeds or leaves the object as it was
// with a reason; a parsed list written back (comma-joined) parses to the same
// list; an echoed Allow-Origin is always one of the listed origins (never the
// raw header), a listed origin finds itself, a list always varies on Origin;
// and the policy files are well-formed XML.
#include <cstddef>
#include <cstdint>
#include <string>

#include "cross_origin.h"
#include "fuzz_common.h"
#include "manifest_xml.h"

namespace {

const std::string* Header(const piff::HeaderList& h, const char* name) {
  for (const auto& kv : h)
    if (kv.first == name) return &kv.second;
  return nullptr;
}

void CheckAnswer(const piff::CrossOrigin& c, const piff::HeaderList& h) {
  const std::string* acao = Header(h, "Access-Control-Allow-Origin");
  switch (c.mode()) {
    case piff::CrossOrigin::Mode::kOff: FUZZ_CHECK(h.empty(), "headers with CORS off"); break;
    case piff::CrossOrigin::Mode::kAny: FUZZ_CHECK(acao && *acao == "*", "'*' mode without '*'"); break;
    case piff::CrossOrigin::Mode::kList: {
      const std::string* vary = Header(h, "Vary");
      FUZZ_CHECK(vary && *vary == "Origin", "a list without Vary: Origin");
      if (acao) {
        bool listed = false;
        for (const std::string& o : c.origins()) listed |= o == *acao;
        FUZZ_CHECK(listed, "Allow-Origin \"%s\" is not a listed origin", acao->c_str());
      }
      break;
    }
  }
}

void CheckXml(const std::string& doc) {
  if (doc.empty()) return;
  piff::manifest_xml::Element root;
  piff::Status st = piff::manifest_xml::ParseDocument(doc, &root);
  FUZZ_CHECK(st.ok(), "policy file does not parse: %s", doc.c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;
  std::string in(reinterpret_cast<const char*>(data), size);
  size_t nl = in.find('\n');
  std::string spec = in.substr(0, nl);
  std::string origin = nl == std::string::npos ? "" : in.substr(nl + 1);

  piff::CrossOrigin c;
  std::string why;
  if (!c.Parse(spec, &why)) {
    FUZZ_CHECK(!why.empty(), "refused without a reason");
    FUZZ_CHECK(c.mode() == piff::CrossOrigin::Mode::kAny && c.origins().empty(), "a refused spec changed it");
    // The same hostile text as a request's Origin against a real list.
    FUZZ_CHECK(c.Parse("http://a.example:8000,https://[::1]", &why), "fixed list refused");
  }
  if (c.mode() == piff::CrossOrigin::Mode::kList) {
    FUZZ_CHECK(!c.origins().empty(), "empty list");
    std::string joined;
    for (const std::string& o : c.origins()) joined += (joined.empty() ? "" : ",") + o;
    piff::CrossOrigin again;
    FUZZ_CHECK(again.Parse(joined, &why) && again.origins() == c.origins(), "\"%s\" does not parse back",
               joined.c_str());
    for (const std::string& o : c.origins()) {
      const std::string* acao = Header(c.ResponseHeaders(o.c_str()), "Access-Control-Allow-Origin");
      FUZZ_CHECK(acao && *acao == o, "listed origin \"%s\" not matched", o.c_str());
    }
  }
  CheckAnswer(c, c.ResponseHeaders(origin.c_str()));
  CheckAnswer(c, c.PreflightHeaders(origin.c_str()));
  CheckAnswer(c, c.ResponseHeaders(nullptr));
  CheckXml(c.ClientAccessPolicy());
  CheckXml(c.CrossDomainPolicy());
  return 0;
}
