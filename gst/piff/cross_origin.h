// Who may read an origin's responses from a page of another origin: the
// CORS headers a browser checks (Fetch standard, "CORS protocol") and the
// policy files of the older plug-in players, /clientaccesspolicy.xml
// (Silverlight) and /crossdomain.xml (Flash), kept consistent with them.
// Pure decisions: the server hands in the request's header values and adds
// the returned headers to its response.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace piff {

using HeaderList = std::vector<std::pair<std::string, std::string>>;

class CrossOrigin {
 public:
  enum class Mode { kOff, kAny, kList };

  // The methods and request headers a preflight allows, and the response
  // headers a script may read besides the CORS-safelisted ones.
  static constexpr const char* kAllowMethods = "GET, HEAD, OPTIONS";
  static constexpr const char* kAllowHeaders =
      "Range, If-Range, If-None-Match, If-Modified-Since, Accept-Encoding, Cache-Control, Pragma";
  static constexpr const char* kExposeHeaders =
      "Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified, Date, Content-Encoding";
  // Access-Control-Max-Age of a preflight answer, s (browsers cap it lower:
  // Chromium at 7200).
  static constexpr unsigned kMaxAge = 86400;

  CrossOrigin();  // "*"

  // "*" (any origin), "none" (no CORS headers, no generated policy files),
  // or a comma-separated list of origins "http[s]://HOST[:PORT]" (no path;
  // a default port is dropped, names compare case-insensitively). False with
  // *why for anything else; the object is then unchanged.
  bool Parse(const std::string& spec, std::string* why);

  Mode mode() const { return mode_; }
  const std::vector<std::string>& origins() const { return origins_; }

  // Headers for the answer (any status) to a GET or HEAD whose Origin
  // header is `origin` (null: none). kAny: Access-Control-Allow-Origin "*"
  // and Access-Control-Expose-Headers, whatever the request. kList: the
  // request's origin echoed (with Expose-Headers) when it is listed, and
  // "Vary: Origin" always, so that a cache keeps the answers apart. kOff:
  // nothing. The reference stays valid as long as this object.
  const HeaderList& ResponseHeaders(const char* origin) const;
  // The same for the answer to an OPTIONS preflight (a request with Origin
  // and Access-Control-Request-Method): Allow-Origin, Allow-Methods,
  // Allow-Headers and Max-Age for an allowed origin; for another one (or
  // kOff) no Access-Control header, so the browser refuses the request.
  const HeaderList& PreflightHeaders(const char* origin) const;

  // The policy files' bodies granting what the CORS setting grants (every
  // path, the allowed request headers); empty for kOff.
  std::string ClientAccessPolicy() const;
  std::string CrossDomainPolicy() const;

 private:
  // Index into origins_ of a listed origin, else -1.
  int Find(const char* origin) const;
  // off_, `any` or the entry of `listed` for `origin`, by the mode.
  const HeaderList& Pick(const char* origin, const HeaderList& any, const std::vector<HeaderList>& listed) const;
  void Build();

  Mode mode_ = Mode::kAny;
  std::vector<std::string> origins_;  // normalised, kList only
  HeaderList off_;                    // empty
  HeaderList vary_only_;              // kList, an origin not listed
  HeaderList any_response_, any_preflight_;
  std::vector<HeaderList> listed_response_, listed_preflight_;  // parallel to origins_
};

}  // namespace piff
