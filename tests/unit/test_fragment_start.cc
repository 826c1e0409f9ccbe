// Fragment start rules (fragment_start.h): the nearest-sample cut with its
// tie rule, and counting leading pictures (open GOPs).
#include <glib.h>

#include <cstdint>
#include <vector>

#include "fragment_start.h"

using namespace piff;

namespace {

void TestCutNearestTieLater() {
  // AAC at 48 kHz on 10 MHz ticks: frames 188 and 189 around a 4.0213333 s boundary.
  g_assert_true(CutAtEarlierSample(40106667, 40320000, 40213333));   // 106666 < 106667
  g_assert_false(CutAtEarlierSample(40106666, 40320000, 40213333));  // 106667 vs 106667: tie, later
  g_assert_false(CutAtEarlierSample(100, 300, 200));                 // exact tie: later
  g_assert_false(CutAtEarlierSample(100, 300, 201));
  g_assert_true(CutAtEarlierSample(100, 300, 199));
  g_assert_false(CutAtEarlierSample(100, 300, 300));  // the boundary is a sample start
  g_assert_true(CutAtEarlierSample(-300, -100, -201));  // negative times (before the origin)
}

struct S {
  int64_t decode;
  int64_t composition_offset;
  bool sync;
};

uint32_t Count(const std::vector<S>& samples) {
  LeadingPictureCounter c;
  for (const S& s : samples) c.Add(s.decode + s.composition_offset, s.sync);
  return c.count();
}

void TestLeadingPictures() {
  // Closed GOP with B-frames (decode I P B B, presented I B B P): none lead.
  g_assert_cmpuint(Count({{0, 10, true}, {10, 30, false}, {20, 0, false}, {30, 0, false}}), ==, 0);
  // Open GOP (x264 open-gop=1): the I-frame is presented after the two
  // B-frames that follow it in decode order (they refer to the previous GOP).
  g_assert_cmpuint(Count({{0, 30, true}, {10, 0, false}, {20, 0, false}, {30, 30, false}, {40, 0, false}}), ==, 2);
  // Only pictures before the first keyframe's time count, also with a later keyframe.
  g_assert_cmpuint(Count({{0, 20, true}, {10, 0, false}, {20, 10, false}, {30, 20, true}, {40, 0, false}}), ==, 1);
  // No reordering (audio, or video without B-frames).
  g_assert_cmpuint(Count({{0, 0, true}, {10, 0, true}, {20, 0, true}}), ==, 0);
  // Samples before the first sync sample are another problem (no keyframe first): not counted.
  g_assert_cmpuint(Count({{0, 0, false}, {10, 40, true}, {20, 0, false}}), ==, 1);
  g_assert_cmpuint(Count({}), ==, 0);
  g_assert_cmpuint(Count({{0, 0, false}, {10, -10, false}}), ==, 0);
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/fragment_start/cut_nearest_tie_later", TestCutNearestTieLater);
  g_test_add_func("/fragment_start/leading_pictures", TestLeadingPictures);
  return g_test_run();
}
