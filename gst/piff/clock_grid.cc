// Frame grid and fragment cells of timecode-ganged encoders (clock_grid.h).
// 128-bit intermediates: clock times in ticks times a frame rate overflow 64 bits.
#include "clock_grid.h"

namespace piff {

namespace {

using Wide = __int128;

// Floor division for a positive divisor.
Wide FloorDiv(Wide a, Wide b) {
  Wide q = a / b;
  if ((a % b) != 0 && a < 0) q--;
  return q;
}

}  // namespace

int64_t FrameGrid::FrameTime(int64_t n) const {
  if (!valid()) return n;
  // round(n * ts * den / num) = floor((2 * n * ts * den + num) / (2 * num))
  Wide scaled = static_cast<Wide>(n) * timescale_ * den_;
  return static_cast<int64_t>(FloorDiv(2 * scaled + num_, 2 * static_cast<Wide>(num_)));
}

int64_t FrameGrid::NearestFrame(int64_t ticks) const {
  if (!valid()) return ticks;
  // A first guess from the rate, then the neighbours decide on the rounded
  // frame times themselves (what the file will carry).
  Wide per = static_cast<Wide>(timescale_) * den_;
  int64_t n = static_cast<int64_t>(FloorDiv(2 * static_cast<Wide>(ticks) * num_ + per, 2 * per));
  int64_t best = n;
  int64_t best_dist = -1;
  for (int64_t c = n - 1; c <= n + 1; c++) {
    int64_t d = FrameTime(c) - ticks;
    if (d < 0) d = -d;
    if (best_dist < 0 || d < best_dist || (d == best_dist && c > best)) {
      best = c;
      best_dist = d;
    }
  }
  return best;
}

int64_t FrameGrid::FirstFrameAtOrAfter(int64_t ticks) const {
  if (!valid()) return ticks;
  int64_t n = NearestFrame(ticks);
  while (FrameTime(n) < ticks) n++;
  while (FrameTime(n - 1) >= ticks) n--;
  return FrameTime(n);
}

int64_t GridCell(int64_t ticks, uint64_t fragment_ticks) {
  if (fragment_ticks == 0) return 0;
  return static_cast<int64_t>(FloorDiv(ticks, static_cast<Wide>(fragment_ticks)));
}

bool StartsGridCell(const FrameGrid& grid, int64_t frame_time, uint64_t fragment_ticks) {
  int64_t n = grid.NearestFrame(frame_time);
  return GridCell(grid.FrameTime(n - 1), fragment_ticks) < GridCell(frame_time, fragment_ticks);
}

int64_t NextCellFirstFrame(const FrameGrid& grid, int64_t snapped, uint64_t fragment_ticks) {
  Wide next = (static_cast<Wide>(GridCell(snapped, fragment_ticks)) + 1) * fragment_ticks;
  return grid.FirstFrameAtOrAfter(static_cast<int64_t>(next));
}

int64_t KeyRequestTime(const FrameGrid& grid, int64_t frame_time) {
  int64_t n = grid.NearestFrame(frame_time);
  return frame_time - (grid.FrameTime(n + 1) - frame_time) / 2;
}

}  // namespace piff
