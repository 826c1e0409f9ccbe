// ismvmux's fragment boundaries (fragment-boundaries=keyframe): the
// reference track - the first running video track - decides each boundary at
// the first keyframe at or after the target; every other track cuts there,
// video at its keyframe (warned or refused when it does not line up), audio at
// the nearest sample boundary on the file's ticks. The clock grid's rule is in
// ismvmux_live.cpp (and the core's clock_grid.h).
#include "ismvmux_private.h"

#include "fragment_start.h"

#define GST_CAT_DEFAULT gst_ismv_mux_debug

// Index of the sample that starts the next fragment of `t` for the cut time
// `b`, or -1 when the samples that decide it have not arrived yet.
static ssize_t FindCut(GstIsmvMux* self, Track* t, int64_t b) {
  size_t from = t->scan_time == b ? t->scan_from : 0;
  t->scan_time = b;
  t->scan_from = from;
  const uint32_t ts = t->config.timescale;
  const int64_t bt = ToTicks(b, ts);  // compared on the file's ticks (see below)
  if (t->is_video()) {
    for (size_t i = std::max<size_t>(from, 1); i < t->pending.size(); i++) {
      const PendingSample& s = t->pending[i];
      if (s.sync && ToTicks(s.pts, ts) >= bt) {
        if (ToTicks(s.pts, ts) != bt) {
          std::string msg = TrackLabel(*t) + ": no keyframe at fragment boundary " + FormatTime(b) +
                            "; the fragment closes at the next keyframe, " + FormatTime(s.pts) +
                            ". Encode every bitrate with the same GOP (closed, no scene-cut keyframes).";
          if (self->state->strict_alignment) {
            GST_ELEMENT_ERROR(self, STREAM, MUX, ("Keyframes of the bitrate ladder do not line up"), ("%s", msg.c_str()));
            return -2;
          }
          GST_ELEMENT_WARNING(self, STREAM, MUX, ("Keyframes of the bitrate ladder do not line up"), ("%s", msg.c_str()));
        }
        return static_cast<ssize_t>(i);
      }
    }
    t->scan_from = t->pending.size();
    return -1;
  }
  // Audio (and any all-sync track): the sample boundary nearest to b, on
  // the ticks the file gets (a re-mux of the file sees the same ticks, not
  // the same nanoseconds); a tie goes to the later sample.
  for (size_t i = from; i < t->pending.size(); i++) {
    int64_t at = ToTicks(t->pending[i].pts, ts);
    if (at >= bt) {
      if (i >= 2 && piff::CutAtEarlierSample(ToTicks(t->pending[i - 1].pts, ts), at, bt))
        return static_cast<ssize_t>(i - 1);
      return i == 0 ? -1 : static_cast<ssize_t>(i);
    }
  }
  t->scan_from = t->pending.size();
  return -1;
}

// A track has ended when its pad was released, or is EOS with nothing left
// queued (the aggregator marks a pad EOS only once its buffers are popped).
static bool TrackEnded(const Track& t) {
  if (t.released) return true;
  GstAggregatorPad* pad = &t.pad->parent;
  return ismvmux::PadIsEos(pad) && !ismvmux::HasBuffer(pad);
}

// Closes every fragment whose boundary is known and whose cut sample arrived.
GstFlowReturn CloseReadyFragments(GstIsmvMux* self) {
  IsmvMuxState* st = self->state;
  if (st->tracks.empty()) return GST_FLOW_OK;
  // The reference is the first video track still running, else the first
  // running track: when it ends (EOS, pad released) before the others, the
  // next one takes over, so the others keep getting boundaries instead of
  // holding every sample until EOS.
  Track* ref = nullptr;
  Track* first_choice = nullptr;
  for (auto& t : st->tracks) {
    if (!TrackEnded(*t) && (!ref || (t->is_video() && !ref->is_video()))) ref = t.get();
    if (!first_choice || (t->is_video() && !first_choice->is_video())) first_choice = t.get();
  }
  // After a handover the stream may be about to end too (audio a few ms
  // longer than video): a boundary is decided only once half a fragment
  // lies beyond it, so a short tail joins the last fragment (at most 1.5
  // fragment durations) instead of making a fragment of its own.
  const bool handed_over = ref != first_choice;

  // An ended track will not reach its next boundary: its last samples make
  // its final fragment now (the other tracks' fragments keep coming).
  for (auto& tp : st->tracks) {
    Track* t = tp.get();
    if (t->pending.empty() || !TrackEnded(*t)) continue;
    while (t->next_boundary < st->boundaries.size()) {
      ssize_t cut = FindCut(self, t, st->boundaries[t->next_boundary]);
      if (cut == -2) return GST_FLOW_ERROR;
      if (cut < 0) break;
      t->next_boundary++;
      if (GstFlowReturn ret = WriteFragment(self, t, static_cast<size_t>(cut), false); ret != GST_FLOW_OK) return ret;
    }
    GST_DEBUG_OBJECT(self, "%s ended: its last %zu samples make its final fragment", TrackLabel(*t).c_str(),
                     t->pending.size());
    t->next_boundary = st->boundaries.size();
    if (GstFlowReturn ret = WriteFragment(self, t, t->pending.size(), true); ret != GST_FLOW_OK) return ret;
  }
  if (!ref) return GST_FLOW_OK;  // all ended: Finish writes what is left

  // The reference track decides new boundaries: video at the first keyframe
  // at or after the target, audio at the sample nearest to it.
  for (;;) {
    if (ref->next_boundary < st->boundaries.size()) break;  // it still has one to apply
    if (handed_over && (ref->pending.empty() || ref->pending.back().pts < st->next_target +
                                                                            static_cast<int64_t>(st->fragment_duration / 2)))
      break;
    ssize_t cut = -1;
    if (ref->is_video()) {
      size_t from = ref->ref_scan_time == st->next_target ? ref->ref_scan_from : 1;
      const int64_t target_ticks = ToTicks(st->next_target, ref->config.timescale);
      for (size_t i = std::max<size_t>(from, 1); i < ref->pending.size(); i++)
        if (ref->pending[i].sync && ToTicks(ref->pending[i].pts, ref->config.timescale) >= target_ticks) {
          cut = static_cast<ssize_t>(i);
          break;
        }
      ref->ref_scan_time = st->next_target;
      ref->ref_scan_from = cut < 0 ? ref->pending.size() : 1;
    } else {
      cut = FindCut(self, ref, st->next_target);
    }
    if (cut < 0) break;
    int64_t b = ref->pending[cut].pts;
    st->boundaries.push_back(b);
    // The next target on the tick grid (boundary ticks + duration ticks), so
    // that an audio reference's nearest-sample decision does not depend on
    // how the input rounded its nanoseconds.
    const uint32_t ts = ref->config.timescale;
    st->next_target = TicksToNs(ToTicks(b, ts) + ToTicks(static_cast<int64_t>(st->fragment_duration), ts), ts);
    GST_DEBUG_OBJECT(self, "fragment boundary %zu at %s", st->boundaries.size(), FormatTime(b).c_str());
  }

  for (auto& tp : st->tracks) {
    Track* t = tp.get();
    while (t->next_boundary < st->boundaries.size()) {
      ssize_t cut = FindCut(self, t, st->boundaries[t->next_boundary]);
      if (cut == -2) return GST_FLOW_ERROR;
      if (cut < 0) break;
      t->next_boundary++;
      GstFlowReturn ret = WriteFragment(self, t, static_cast<size_t>(cut), false);
      if (ret != GST_FLOW_OK) return ret;
    }
  }
  if (st->live) {
    // Live streams run for days: forget the boundaries every track has applied.
    size_t applied = st->boundaries.size();
    for (auto& t : st->tracks) applied = std::min(applied, t->next_boundary);
    if (applied) {
      st->boundaries.erase(st->boundaries.begin(), st->boundaries.begin() + static_cast<std::ptrdiff_t>(applied));
      for (auto& t : st->tracks) t->next_boundary -= applied;
    }
  }
  return GST_FLOW_OK;
}
