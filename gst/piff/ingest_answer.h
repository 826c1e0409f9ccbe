// IngestAnswer: what a live ingest sender (smoothsink) does with a
// publishing point's HTTP answer, and the parser for an answer that came
// before the request body ended.
//
// A publishing point may refuse a POST while its chunked body is still being
// sent (a bad body, a header it refuses, an ingest timeout: digest §4.4), then
// close the connection. To the HTTP client that looks like a broken pipe, but
// the answer is in the socket's receive buffer; ParseEarlyAnswer reads it from
// those bytes so the sender can act on the status instead of retrying blindly.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace piff {

enum class IngestAction {
  kAccepted,   // 2xx
  kReconnect,  // 408, 429, 5xx: the server may take a new POST later
  kRefused,    // other 3xx/4xx: a configuration error, retrying cannot help
};

IngestAction IngestActionFor(unsigned status);

struct EarlyAnswer {
  unsigned status = 0;
  // The server's one-line reason: the first line of a text body when there is
  // one (what our origin and IIS put there), else the status line's phrase.
  // Printable ASCII only, at most 200 bytes.
  std::string reason;
};

// The one-line reason of an answer: the first line of `body` when it is
// text (`text_body`) and not empty, else `phrase`; cleaned as above.
std::string IngestAnswerReason(const std::string& phrase, bool text_body, const uint8_t* body, size_t size);

// Parses the start of an HTTP/1.x response in `data`. False while the status
// line and headers are not complete (or the bytes are not a response); a
// body shorter than its Content-Length still gives the status and phrase.
bool ParseEarlyAnswer(const uint8_t* data, size_t size, EarlyAnswer* out);

}  // namespace piff
