// Cross-origin access decisions (cross_origin.h).
#include "cross_origin.h"

#include <cctype>
#include <string>

#include "manifest_xml.h"

namespace piff {

namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t"), b = s.find_last_not_of(" \t");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// "scheme://host[:port]" in the form a browser sends it in Origin: lower
// case, no default port. False for anything else (a path, user info, a
// query, another scheme, "null").
bool Normalise(const std::string& in, std::string* out) {
  std::string s = Lower(in);
  std::string scheme;
  if (s.compare(0, 7, "http://") == 0)
    scheme = "http";
  else if (s.compare(0, 8, "https://") == 0)
    scheme = "https";
  else
    return false;
  std::string rest = s.substr(scheme.size() + 3);
  if (!rest.empty() && rest.back() == '/') rest.pop_back();
  std::string host, port;
  if (!rest.empty() && rest[0] == '[') {
    size_t close = rest.find(']');
    if (close == std::string::npos || close < 3) return false;
    host = rest.substr(0, close + 1);
    for (size_t i = 1; i < close; i++)
      if (!std::isxdigit(static_cast<unsigned char>(host[i])) && host[i] != ':' && host[i] != '.') return false;
    rest = rest.substr(close + 1);
  } else {
    size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    rest = colon == std::string::npos ? "" : rest.substr(colon);
    if (host.empty()) return false;
    for (char c : host)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') return false;
  }
  if (!rest.empty()) {
    if (rest[0] != ':' || rest.size() < 2 || rest.size() > 6) return false;
    unsigned long v = 0;
    for (size_t i = 1; i < rest.size(); i++) {
      if (!std::isdigit(static_cast<unsigned char>(rest[i]))) return false;
      v = v * 10 + static_cast<unsigned long>(rest[i] - '0');
    }
    if (v == 0 || v > 65535) return false;
    if (!((scheme == "http" && v == 80) || (scheme == "https" && v == 443))) port = ":" + std::to_string(v);
  }
  *out = scheme + "://" + host + port;
  return true;
}

// The host of a normalised origin (what Flash's domain attribute names).
std::string HostOf(const std::string& origin) {
  std::string rest = origin.substr(origin.find("://") + 3);
  if (!rest.empty() && rest[0] == '[') return rest.substr(0, rest.find(']') + 1);
  return rest.substr(0, rest.find(':'));
}

}  // namespace

CrossOrigin::CrossOrigin() { Build(); }

bool CrossOrigin::Parse(const std::string& spec, std::string* why) {
  std::string s = Trim(spec);
  if (s == "*") {
    mode_ = Mode::kAny;
    origins_.clear();
  } else if (Lower(s) == "none") {
    mode_ = Mode::kOff;
    origins_.clear();
  } else {
    std::vector<std::string> list;
    size_t pos = 0;
    while (pos <= s.size()) {
      size_t comma = s.find(',', pos);
      std::string item = Trim(s.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos));
      std::string norm;
      if (!Normalise(item, &norm)) {
        *why = "\"" + item + "\" is not an origin (http://HOST[:PORT] or https://HOST[:PORT]), \"*\" or \"none\"";
        return false;
      }
      bool seen = false;
      for (const std::string& o : list) seen |= o == norm;
      if (!seen) list.push_back(norm);
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
    mode_ = Mode::kList;
    origins_ = std::move(list);
  }
  Build();
  return true;
}

void CrossOrigin::Build() {
  auto response = [](const std::string& allow) {
    return HeaderList{{"Access-Control-Allow-Origin", allow}, {"Access-Control-Expose-Headers", kExposeHeaders}};
  };
  auto preflight = [](const std::string& allow) {
    return HeaderList{{"Access-Control-Allow-Origin", allow},
                      {"Access-Control-Allow-Methods", kAllowMethods},
                      {"Access-Control-Allow-Headers", kAllowHeaders},
                      {"Access-Control-Max-Age", std::to_string(kMaxAge)}};
  };
  any_response_ = response("*");
  any_preflight_ = preflight("*");
  vary_only_ = {{"Vary", "Origin"}};
  listed_response_.clear();
  listed_preflight_.clear();
  for (const std::string& o : origins_) {
    listed_response_.push_back(response(o));
    listed_response_.back().emplace_back("Vary", "Origin");
    listed_preflight_.push_back(preflight(o));
    listed_preflight_.back().emplace_back("Vary", "Origin");
  }
}

int CrossOrigin::Find(const char* origin) const {
  std::string norm;
  if (!origin || !Normalise(origin, &norm)) return -1;
  for (size_t i = 0; i < origins_.size(); i++)
    if (origins_[i] == norm) return static_cast<int>(i);
  return -1;
}

const HeaderList& CrossOrigin::Pick(const char* origin, const HeaderList& any,
                                    const std::vector<HeaderList>& listed) const {
  switch (mode_) {
    case Mode::kOff: return off_;
    case Mode::kAny: return any;
    case Mode::kList: break;
  }
  int i = Find(origin);
  return i < 0 ? vary_only_ : listed[static_cast<size_t>(i)];
}

const HeaderList& CrossOrigin::ResponseHeaders(const char* origin) const {
  return Pick(origin, any_response_, listed_response_);
}

const HeaderList& CrossOrigin::PreflightHeaders(const char* origin) const {
  return Pick(origin, any_preflight_, listed_preflight_);
}

std::string CrossOrigin::ClientAccessPolicy() const {
  if (mode_ == Mode::kOff) return "";
  std::string domains;
  if (mode_ == Mode::kAny) {
    domains = "        <domain uri=\"*\"/>\n";
  } else {
    for (const std::string& o : origins_) domains += "        <domain uri=\"" + manifest_xml::EscapeAttribute(o) + "\"/>\n";
  }
  return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
         "<access-policy>\n"
         "  <cross-domain-access>\n"
         "    <policy>\n"
         "      <allow-from http-request-headers=\"" + std::string(kAllowHeaders) + "\">\n" + domains +
         "      </allow-from>\n"
         "      <grant-to>\n"
         "        <resource path=\"/\" include-subpaths=\"true\"/>\n"
         "      </grant-to>\n"
         "    </policy>\n"
         "  </cross-domain-access>\n"
         "</access-policy>\n";
}

std::string CrossOrigin::CrossDomainPolicy() const {
  if (mode_ == Mode::kOff) return "";
  std::vector<std::string> hosts;
  if (mode_ == Mode::kAny) {
    hosts.push_back("*");
  } else {
    for (const std::string& o : origins_) {
      std::string h = HostOf(o);
      bool seen = false;
      for (const std::string& x : hosts) seen |= x == h;
      if (!seen) hosts.push_back(h);
    }
  }
  std::string body =
      "<?xml version=\"1.0\"?>\n"
      "<!DOCTYPE cross-domain-policy SYSTEM \"http://www.adobe.com/xml/dtds/cross-domain-policy.dtd\">\n"
      "<cross-domain-policy>\n"
      "  <site-control permitted-cross-domain-policies=\"master-only\"/>\n";
  for (const std::string& h : hosts) body += "  <allow-access-from domain=\"" + manifest_xml::EscapeAttribute(h) + "\"/>\n";
  for (const std::string& h : hosts)
    body += "  <allow-http-request-headers-from domain=\"" + manifest_xml::EscapeAttribute(h) + "\" headers=\"" + kAllowHeaders + "\"/>\n";
  return body + "</cross-domain-policy>\n";
}

}  // namespace piff
