// Unit tests of IngestAnswer: status classes, early answers parsed from raw
// response bytes (complete, partial, text body reasons, garbage).
#include <glib.h>

#include <cstring>
#include <string>

#include "ingest_answer.h"

using piff::EarlyAnswer;
using piff::IngestAction;

namespace {

bool Parse(const std::string& s, EarlyAnswer* a) {
  return piff::ParseEarlyAnswer(reinterpret_cast<const uint8_t*>(s.data()), s.size(), a);
}

void TestActions() {
  g_assert_true(piff::IngestActionFor(200) == IngestAction::kAccepted);
  g_assert_true(piff::IngestActionFor(204) == IngestAction::kAccepted);
  for (unsigned s : {301u, 400u, 401u, 403u, 404u, 405u, 409u, 410u, 412u})
    g_assert_true(piff::IngestActionFor(s) == IngestAction::kRefused);
  for (unsigned s : {408u, 429u, 500u, 502u, 503u, 0u})
    g_assert_true(piff::IngestActionFor(s) == IngestAction::kReconnect);
}

void TestTextBody() {
  EarlyAnswer a;
  std::string r =
      "HTTP/1.1 409 Conflict\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 40\r\n"
      "Connection: close\r\n\r\n409 Conflict: header differs\nsecond line";
  g_assert_true(Parse(r, &a));
  g_assert_cmpuint(a.status, ==, 409);
  g_assert_cmpstr(a.reason.c_str(), ==, "409 Conflict: header differs");
}

void TestPhraseOnly() {
  EarlyAnswer a;
  g_assert_true(Parse("HTTP/1.0 403 Forbidden\r\nContent-Length: 0\r\n\r\n", &a));
  g_assert_cmpuint(a.status, ==, 403);
  g_assert_cmpstr(a.reason.c_str(), ==, "Forbidden");
  // A non-text body does not replace the phrase.
  EarlyAnswer b;
  g_assert_true(Parse("HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n\r\n<html>", &b));
  g_assert_cmpstr(b.reason.c_str(), ==, "Bad Request");
}

void TestIncompleteAndGarbage() {
  EarlyAnswer a;
  g_assert_false(Parse("", &a));
  g_assert_false(Parse("HTTP/1.1 409 Conf", &a));
  g_assert_false(Parse("HTTP/1.1 409 Conflict\r\nContent-Type: text/plain\r\n", &a));
  g_assert_false(Parse("HTTP/1.1 4x9 Conflict\r\n\r\n", &a));
  g_assert_false(Parse("\x16\x03\x03\x00\x40garbage-not-http\r\n\r\n", &a));
  g_assert_false(Parse("HTTP/1.1 009 Low\r\n\r\n", &a));
  // Control bytes and overlong lines are cleaned and cut.
  EarlyAnswer b;
  std::string r = "HTTP/1.1 400 Bad\x01Request\r\nContent-Type: text/plain\r\n\r\n" + std::string(1000, 'x');
  g_assert_true(Parse(r, &b));
  g_assert_cmpuint(b.reason.size(), ==, 200);
  EarlyAnswer c;
  g_assert_true(Parse("HTTP/1.1 400 Bad\x01Request\r\n\r\n", &c));
  g_assert_cmpstr(c.reason.c_str(), ==, "Bad?Request");
}

void TestReason() {
  const std::string body = "401 Unauthorized: a token is required\r\n";
  const auto* b = reinterpret_cast<const uint8_t*>(body.data());
  // (g_assert_cmpstr keeps the pointer past the statement: no temporaries.)
  std::string text = piff::IngestAnswerReason("Unauthorized", true, b, body.size());
  std::string phrase = piff::IngestAnswerReason("Unauthorized", false, b, body.size());
  std::string none = piff::IngestAnswerReason("Conflict", true, nullptr, 0);
  std::string empty = piff::IngestAnswerReason("Conflict", true, b, 0);
  g_assert_cmpstr(text.c_str(), ==, "401 Unauthorized: a token is required");
  g_assert_cmpstr(phrase.c_str(), ==, "Unauthorized");
  g_assert_cmpstr(none.c_str(), ==, "Conflict");
  g_assert_cmpstr(empty.c_str(), ==, "Conflict");
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/ingest_answer/actions", TestActions);
  g_test_add_func("/ingest_answer/text_body", TestTextBody);
  g_test_add_func("/ingest_answer/phrase_only", TestPhraseOnly);
  g_test_add_func("/ingest_answer/incomplete_and_garbage", TestIncompleteAndGarbage);
  g_test_add_func("/ingest_answer/reason", TestReason);
  return g_test_run();
}
