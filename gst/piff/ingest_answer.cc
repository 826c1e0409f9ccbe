// IngestAnswer: the sender's reading of a publishing point's answer (see the header).
#include "ingest_answer.h"

#include <cstring>

namespace piff {

IngestAction IngestActionFor(unsigned status) {
  if (status >= 200 && status < 300) return IngestAction::kAccepted;
  if (status == 408 || status == 429 || status >= 500 || status < 200) return IngestAction::kReconnect;
  return IngestAction::kRefused;
}

namespace {

// Printable ASCII of [p, end) up to the line end, at most 200 bytes, trimmed.
std::string OneLine(const char* p, const char* end) {
  std::string s;
  for (; p < end && *p != '\r' && *p != '\n' && s.size() < 200; p++) s += (*p >= 0x20 && *p < 0x7f) ? *p : '?';
  while (!s.empty() && s.back() == ' ') s.pop_back();
  size_t lead = s.find_first_not_of(' ');
  return lead == std::string::npos ? std::string() : s.substr(lead);
}

bool StartsWithNoCase(const char* p, const char* end, const char* word) {
  size_t n = strlen(word);
  if (static_cast<size_t>(end - p) < n) return false;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != word[i]) return false;
  }
  return true;
}

}  // namespace

bool ParseEarlyAnswer(const uint8_t* data, size_t size, EarlyAnswer* out) {
  const char* p = reinterpret_cast<const char*>(data);
  const char* end = p + size;
  // "HTTP/1.x NNN phrase"
  if (size < 12 || memcmp(p, "HTTP/1.", 7) != 0 || p[8] != ' ') return false;
  unsigned status = 0;
  for (int i = 9; i < 12; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    status = status * 10 + static_cast<unsigned>(p[i] - '0');
  }
  if (status < 100) return false;
  const char* head_end = nullptr;
  for (const char* q = p; q + 3 < end; q++)
    if (memcmp(q, "\r\n\r\n", 4) == 0) {
      head_end = q + 4;
      break;
    }
  if (!head_end) return false;
  out->status = status;
  bool text = false;
  for (const char* line = static_cast<const char*>(memchr(p, '\n', head_end - p)); line && line + 1 < head_end;
       line = static_cast<const char*>(memchr(line + 1, '\n', head_end - line - 1))) {
    if (StartsWithNoCase(line + 1, head_end, "content-type:")) {
      std::string v = OneLine(line + 14, head_end);
      text = StartsWithNoCase(v.data(), v.data() + v.size(), "text/plain");
    }
  }
  out->reason = IngestAnswerReason(OneLine(p + 12, head_end), text, reinterpret_cast<const uint8_t*>(head_end),
                                   static_cast<size_t>(end - head_end));
  return true;
}

std::string IngestAnswerReason(const std::string& phrase, bool text_body, const uint8_t* body, size_t size) {
  const char* p = reinterpret_cast<const char*>(body);
  std::string first = text_body && size ? OneLine(p, p + size) : std::string();
  return first.empty() ? OneLine(phrase.data(), phrase.data() + phrase.size()) : first;
}

}  // namespace piff
