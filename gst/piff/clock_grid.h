// The clock grid of timecode-ganged live encoders (IIS 1+1 redundancy):
// encoder processes that share one clock but start at different moments must
// cut identical fragments. Each track's sample times are snapped to its frame
// grid on the absolute timeline (frame n at round(n * ticks-per-frame)), and
// fragments start at the first frame at or after each multiple of the
// fragment duration. Both rules are exact integer arithmetic on ticks, so two
// processes whose sources differ only in phase compute the same times.
#pragma once

#include <cstdint>

namespace piff {

// A track's frame grid: `frames_num / frames_den` frames per second on a
// timeline of `timescale` ticks per second. Video: the framerate; AAC audio:
// sample_rate / 1024 (one frame = 1024 samples). Frame n starts at
// round(n * timescale * frames_den / frames_num) ticks (halves round up).
class FrameGrid {
 public:
  FrameGrid() = default;
  FrameGrid(uint32_t timescale, uint64_t frames_num, uint64_t frames_den)
      : timescale_(timescale), num_(frames_num), den_(frames_den) {}
  // False for a zero rate or timescale (e.g. variable framerate 0/1): no grid.
  bool valid() const { return timescale_ != 0 && num_ != 0 && den_ != 0; }

  // Start of frame n (may be negative for n < 0).
  int64_t FrameTime(int64_t n) const;
  // The frame whose start is nearest to `ticks` (a tie goes to the later frame).
  int64_t NearestFrame(int64_t ticks) const;
  int64_t Snap(int64_t ticks) const { return FrameTime(NearestFrame(ticks)); }
  // The first frame starting at or after `ticks`.
  int64_t FirstFrameAtOrAfter(int64_t ticks) const;

 private:
  uint32_t timescale_ = 0;
  uint64_t num_ = 0, den_ = 0;
};

// The fragment cell of a snapped time: floor(ticks / fragment_ticks).
// Fragment k of every encoder covers [k * fragment_ticks, (k+1) * fragment_ticks).
int64_t GridCell(int64_t ticks, uint64_t fragment_ticks);

// True when the frame starting at `frame_time` (a FrameTime of `grid`) is the
// first frame of its fragment cell: the frame before it lies in an earlier cell.
bool StartsGridCell(const FrameGrid& grid, int64_t frame_time, uint64_t fragment_ticks);

// Where an encoder must place the keyframe of the next fragment after a
// sample at `snapped` ticks: the first frame of the next cell. For a
// force-key-unit request, ask for half a frame earlier (`KeyRequestTime`):
// an unsnapped sample time lies within half a frame of its grid time, so the
// first frame at or after the request is the one that snaps to the boundary.
int64_t NextCellFirstFrame(const FrameGrid& grid, int64_t snapped, uint64_t fragment_ticks);
int64_t KeyRequestTime(const FrameGrid& grid, int64_t frame_time);

}  // namespace piff
