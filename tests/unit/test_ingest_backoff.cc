// Unit tests of IngestBackoff: bounds, growth, cap, jitter, attempt limit.
#include <glib.h>

#include <set>

#include "ingest_backoff.h"

using piff::IngestBackoff;

namespace {

void TestGrowthAndBounds() {
  IngestBackoff b(100, 1000, -1, 7);
  uint64_t ceilings[] = {100, 200, 400, 800, 1000, 1000, 1000};
  for (uint64_t c : ceilings) {
    g_assert_cmpuint(b.Ceiling(), ==, c);
    uint64_t d = 0;
    g_assert_true(b.Next(&d));
    g_assert_cmpuint(d, >=, c / 2);
    g_assert_cmpuint(d, <=, c);
  }
  // Forever by default: many more attempts stay at the cap.
  for (int i = 0; i < 1000; i++) {
    uint64_t d = 0;
    g_assert_true(b.Next(&d));
    g_assert_cmpuint(d, <=, 1000);
    g_assert_cmpuint(d, >=, 500);
  }
  b.Reset();
  g_assert_cmpuint(b.Ceiling(), ==, 100);
}

void TestJitterVaries() {
  IngestBackoff b(1000, 1000, -1, 1);
  std::set<uint64_t> seen;
  for (int i = 0; i < 50; i++) {
    uint64_t d = 0;
    b.Next(&d);
    seen.insert(d);
  }
  g_assert_cmpuint(seen.size(), >, 10);
  // The same seed gives the same delays (tests can rely on that).
  IngestBackoff x(100, 5000, -1, 42), y(100, 5000, -1, 42);
  for (int i = 0; i < 20; i++) {
    uint64_t a = 0, c = 0;
    x.Next(&a);
    y.Next(&c);
    g_assert_cmpuint(a, ==, c);
  }
}

void TestAttemptLimit() {
  IngestBackoff b(10, 100, 3, 5);
  uint64_t d = 0;
  g_assert_true(b.Next(&d));
  g_assert_true(b.Next(&d));
  g_assert_true(b.Next(&d));
  g_assert_false(b.Next(&d));
  b.Reset();
  g_assert_true(b.Next(&d));
  IngestBackoff none(10, 100, 0, 5);
  g_assert_false(none.Next(&d));
  // A maximum below the first delay is raised to it.
  IngestBackoff odd(500, 10, -1, 5);
  g_assert_cmpuint(odd.Ceiling(), ==, 500);
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/ingest_backoff/growth_and_bounds", TestGrowthAndBounds);
  g_test_add_func("/ingest_backoff/jitter", TestJitterVaries);
  g_test_add_func("/ingest_backoff/attempt_limit", TestAttemptLimit);
  return g_test_run();
}
