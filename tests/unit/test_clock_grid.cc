// Unit tests of the clock grid (clock_grid.h): frame snapping on the absolute
// timeline and fragment cells, the rule that lets two ganged encoders started
// at different moments cut identical fragments.
#include <glib.h>

#include <vector>

#include "clock_grid.h"

using namespace piff;

namespace {

constexpr uint32_t kTs = 10000000;
constexpr uint64_t kSecond = 10000000;

void TestFrameTimes() {
  FrameGrid v25(kTs, 25, 1);
  g_assert_cmpint(v25.FrameTime(7), ==, 2800000);
  g_assert_cmpint(v25.Snap(2800000 + 150000), ==, 2800000);
  g_assert_cmpint(v25.Snap(2800000 - 190000), ==, 2800000);
  g_assert_cmpint(v25.Snap(2800000 + 200000), ==, 3200000);  // a tie goes to the later frame
  // 29.97 fps: 333666.67 ticks per frame, rounded per frame, never drifting.
  FrameGrid ntsc(kTs, 30000, 1001);
  g_assert_cmpint(ntsc.FrameTime(1), ==, 333667);
  g_assert_cmpint(ntsc.FrameTime(2), ==, 667333);
  g_assert_cmpint(ntsc.FrameTime(3), ==, 1001000);
  g_assert_cmpint(ntsc.FrameTime(30000), ==, 10010000000);
  // AAC at 48 kHz: 1024 samples = 213333.33 ticks.
  FrameGrid aac(kTs, 48000, 1024);
  g_assert_cmpint(aac.FrameTime(3), ==, 640000);
  g_assert_cmpint(aac.FrameTime(1), ==, 213333);
  g_assert_cmpint(aac.Snap(213333 + 100000), ==, 213333);
  // Far from zero (a monotonic clock after weeks of uptime) stays exact.
  const int64_t n = 60ll * 60 * 24 * 30 * 30000 / 1001;
  g_assert_cmpint(ntsc.Snap(ntsc.FrameTime(n) + 100000), ==, ntsc.FrameTime(n));
  g_assert_false(FrameGrid(kTs, 0, 1).valid());
  g_assert_cmpint(FrameGrid(kTs, 0, 1).Snap(1234), ==, 1234);  // no grid: unchanged
}

// Two encoders: the same source rate, different phases and start frames.
// Snapped times, cells and the fragments they make are identical where they overlap.
void TestTwoPhasesAgree() {
  FrameGrid grid(kTs, 30000, 1001);
  const double tpf = 1e7 * 1001 / 30000;
  auto times = [&](double phase_frames, int first, int count) {
    std::vector<int64_t> out;
    for (int i = first; i < first + count; i++) out.push_back(static_cast<int64_t>((i + phase_frames) * tpf + 1e12));
    return out;
  };
  std::vector<int64_t> a = times(0.37, 0, 400), b = times(-0.41, 39, 361);
  for (size_t i = 0; i < b.size(); i++) g_assert_cmpint(grid.Snap(b[i]), ==, grid.Snap(a[i + 39]));
  // The fragment starts (cell starts) found in both agree.
  int starts_a = 0;
  for (size_t i = 39; i < a.size(); i++) {
    bool sa = StartsGridCell(grid, grid.Snap(a[i]), kSecond);
    bool sb = StartsGridCell(grid, grid.Snap(b[i - 39]), kSecond);
    g_assert_true(sa == sb);
    starts_a += sa;
  }
  g_assert_cmpint(starts_a, >=, 11);
}

void TestCells() {
  FrameGrid v25(kTs, 25, 1);
  g_assert_cmpint(GridCell(9999999, kSecond), ==, 0);
  g_assert_cmpint(GridCell(10000000, kSecond), ==, 1);
  g_assert_cmpint(GridCell(-1, kSecond), ==, -1);
  g_assert_true(StartsGridCell(v25, v25.FrameTime(25), kSecond));
  g_assert_false(StartsGridCell(v25, v25.FrameTime(26), kSecond));
  g_assert_false(StartsGridCell(v25, v25.FrameTime(24), kSecond));
  // 29.97 fps: cell 1 starts at frame 30 (10010000), not at frame 29 (9676333).
  FrameGrid ntsc(kTs, 30000, 1001);
  g_assert_true(StartsGridCell(ntsc, ntsc.FrameTime(30), kSecond));
  g_assert_false(StartsGridCell(ntsc, ntsc.FrameTime(29), kSecond));
  g_assert_cmpint(ntsc.FirstFrameAtOrAfter(10000000), ==, 10010000);
  g_assert_cmpint(v25.FirstFrameAtOrAfter(10000000), ==, 10000000);
  g_assert_cmpint(v25.FirstFrameAtOrAfter(10000001), ==, 10400000);
}

void TestKeyRequests() {
  FrameGrid v25(kTs, 25, 1);
  g_assert_cmpint(NextCellFirstFrame(v25, 2800000, kSecond), ==, 10000000);
  g_assert_cmpint(NextCellFirstFrame(v25, 10000000, kSecond), ==, 20000000);
  // Half a frame early: a source running 0.4 frame early still keys the right frame.
  g_assert_cmpint(KeyRequestTime(v25, 10000000), ==, 9800000);
  FrameGrid ntsc(kTs, 30000, 1001);
  g_assert_cmpint(NextCellFirstFrame(ntsc, 0, kSecond), ==, 10010000);
  g_assert_cmpint(KeyRequestTime(ntsc, 10010000), ==, 10010000 - 166833);
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/clock_grid/frame-times", TestFrameTimes);
  g_test_add_func("/clock_grid/two-phases-agree", TestTwoPhasesAgree);
  g_test_add_func("/clock_grid/cells", TestCells);
  g_test_add_func("/clock_grid/key-requests", TestKeyRequests);
  return g_test_run();
}
