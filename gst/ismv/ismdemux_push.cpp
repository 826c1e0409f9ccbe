// ismdemux push mode (pipes, HTTP, live ingest): the chain function feeds
// an adapter, and the core's StreamReader (piff/stream_reader.h) decides what
// its bytes are: ftyp, moov, moof and the Live Server Manifest whole, then
// the samples of each moof cut out of the mdat that follows it as their bytes
// arrive (bounded memory, no seeks). This file maps the adapter for it, and
// turns its units into pads, buffers and messages.
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ismdemux_private.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace ismdemux {

// Push mode: moves a fragment read from the stream onto the track's media
// timeline. The first fragment fixes the track's start offset (its negative
// start, if any); a later sample still before zero cannot be timestamped and
// is dropped, counted and reported.
static bool ApplyTrackStartOffset(GstIsmDemux* self, Track* t, piff::TrackFragmentSamples* f) {
  if (!t->start_offset_known) {
    piff::StartOffset off;
    piff::Status s = piff::ComputeStartOffset({{t->id, f->decode_time, t->timescale}}, &off);
    if (!s) {
      POST_ERROR(self, DEMUX, ("%s starts too far before zero", TrackLabel(*t).c_str()), ("%s", s.message().c_str()));
      return false;
    }
    t->start_offset = off.In(t->timescale);
    t->start_offset_known = true;
    if (t->start_offset)
      GST_INFO_OBJECT(self, "%s starts at %s ticks, before zero (encoder priming): media times are file times + %"
                            G_GUINT64_FORMAT " ticks, its segment moves by as much", TrackLabel(*t).c_str(),
                      piff::FormatSignedTime(f->decode_time).c_str(), t->start_offset);
  }
  if (!t->start_offset && !piff::IsNegativeTime(f->decode_time)) return true;
  size_t before = f->samples.size();
  size_t kept = 0;
  for (auto& smp : f->samples)
    if (piff::ApplyStartOffset(smp.decode_time, t->start_offset, &smp.decode_time)) f->samples[kept++] = smp;
  f->samples.resize(kept);
  piff::ApplyStartOffset(f->decode_time, t->start_offset, &f->decode_time);
  if (kept < before) {
    t->dropped_before_start += before - kept;
    GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("Samples before the start of %s dropped", TrackLabel(*t).c_str()),
                        ("a fragment at %s ticks lies before the track's start offset of %" G_GUINT64_FORMAT
                         " ticks; %zu samples dropped (%" G_GUINT64_FORMAT " in all)",
                         piff::FormatSignedTime(f->decode_time).c_str(), t->start_offset, before - kept,
                         t->dropped_before_start));
  }
  return true;
}

static GstFlowReturn PushSample(GstIsmDemux* self, const PendingSample& p, GstBuffer* buf) {
  buf = PrepareSample(self, p, buf);
  if (!buf) return GST_FLOW_OK;
  return CombineFlow(State(self), p.track, gst_pad_push(p.track->pad, buf));
}

// Resolves a moof to samples and queues those that are to be pushed (the
// reader hands them out in the order of their bytes in the stream).
static GstFlowReturn HandleMoof(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  piff::StreamReader& r = st->reader;
  uint64_t moof_offset = r.moof_offset();
  const piff::MovieFragmentBox& moof = r.moof();
  std::vector<piff::TrackFragmentSamples>& frags = r.fragments();
  GST_DEBUG_OBJECT(self, "moof #%u at %" G_GUINT64_FORMAT ": %zu track fragment(s)", moof.mfhd.sequence_number,
                   moof_offset, frags.size());

  if (!st->exposed) {
    // Push mode: the first fragment fixes the timeline origin, and gives the
    // frame rate and composition shift of the tracks it carries.
    if (!st->t0_known) {
      uint64_t t0 = G_MAXUINT64;
      for (auto& f : frags)
        if (Track* t = FindTrack(st, f.track_id); t && t->expose)
          t0 = std::min<uint64_t>(t0, piff::IsNegativeTime(f.decode_time) ? 0 : t->ToNs(f.decode_time));
      st->t0 = t0 == G_MAXUINT64 ? 0 : t0;
      st->t0_known = true;
    }
    for (auto& f : frags) {
      Track* t = FindTrack(st, f.track_id);
      if (!t || !t->expose) continue;
      if (t->video && t->fps_n == 0) GuessFramerate(*t, f, &t->fps_n, &t->fps_d);
    }
    // As in pull mode: a movie duration in mehd ends the segment.
    if (GST_CLOCK_TIME_IS_VALID(st->mehd_duration)) st->segment.duration = st->segment.stop = st->mehd_duration;
    ExposePads(self);
  }

  st->moof_out.assign(frags.size(), FragmentOutput());
  for (size_t i = 0; i < frags.size(); i++) {
    piff::TrackFragmentSamples& f = frags[i];
    Track* t = FindTrack(st, f.track_id);
    if (!t || !t->pad || t->eos) continue;
    if (!ApplyTrackStartOffset(self, t, &f)) return GST_FLOW_ERROR;
    if (!t->shift_known) {
      t->shift = ComputeShift(*t, f);
      t->shift_known = true;
      if (t->shift)
        GST_INFO_OBJECT(self, "%s: composition offsets down to -%" G_GINT64_FORMAT
                              " ticks; PTS and segment move by that much",
                        TrackLabel(*t).c_str(), t->shift);
    }
    GST_DEBUG_OBJECT(self, "%s: fragment at %" G_GUINT64_FORMAT " (%s), %zu samples", TrackLabel(*t).c_str(),
                     f.decode_time,
                     f.time_source == piff::FragmentTimeSource::kTfxd   ? "tfxd"
                     : f.time_source == piff::FragmentTimeSource::kTfdt ? "tfdt"
                                                                         : "continued",
                     f.samples.size());
    size_t first = 0;
    if (t->has_start) {
      if (moof_offset < t->start_moof) continue;
      if (moof_offset == t->start_moof) first = t->start_sample;
      t->has_start = false;
    }
    FragmentOutput& out = st->moof_out[i];
    out.track = t;
    if (t->encrypted && !FindFragmentEncryption(self, t, moof.trafs[i], moof_offset, f.samples.size(), &out.encryption))
      return GST_FLOW_ERROR;
    if (piff::Status s = r.Queue(i, first); !s) {
      POST_ERROR(self, DEMUX, ("Sample too large in %s", TrackLabel(*t).c_str()), ("%s", s.message().c_str()));
      return GST_FLOW_ERROR;
    }
  }
  return GST_FLOW_OK;
}

static GstFlowReturn HandleUnit(GstIsmDemux* self, const piff::StreamStep& step) {
  IsmDemuxState* st = State(self);
  const piff::StreamReader& r = st->reader;
  switch (step.unit) {
    case piff::StreamUnit::kFtyp:
      if (r.ftyp()) st->ftyp = r.ftyp();
      return GST_FLOW_OK;
    case piff::StreamUnit::kLiveManifest:
      if (step.unit_status) {
        GST_INFO_OBJECT(self, "live ingest stream: Live Server Manifest of %zu bytes", r.live_manifest()->xml.size());
        st->live_manifest = r.live_manifest();
      } else {
        GST_WARNING_OBJECT(self, "unreadable Live Server Manifest box: %s", step.unit_status.message().c_str());
      }
      return GST_FLOW_OK;
    case piff::StreamUnit::kMoov:
      return AdoptMoov(self, *r.moov(), step.offset);
    case piff::StreamUnit::kMoof:
      return HandleMoof(self);
    case piff::StreamUnit::kMdat:  // relay mode only
    case piff::StreamUnit::kMfra:
      return GST_FLOW_OK;
  }
  return GST_FLOW_OK;
}

static GstFlowReturn HandleSample(GstIsmDemux* self, const piff::StreamStep& step) {
  IsmDemuxState* st = State(self);
  const FragmentOutput& out = st->moof_out[step.fragment];
  PendingSample p;
  p.track = out.track;
  p.sample = step.sample;
  p.encryption = out.encryption;
  p.index = step.index;
  GstBuffer* buf = step.size ? gst_adapter_take_buffer_fast(st->adapter, static_cast<gsize>(step.size))
                             : gst_buffer_new();
  if (!(buf = DecryptBuffer(self, p, buf))) return GST_FLOW_ERROR;
  return PushSample(self, p, buf);
}

// Walks the bytes in the adapter as far as they go. Returns OK when it needs
// more data.
GstFlowReturn Process(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  piff::StreamReader& r = st->reader;
  for (;;) {
    if (r.AtBoxBoundary() && AllTracksDone(st)) return GST_FLOW_EOS;
    gsize avail = gst_adapter_available(st->adapter);
    size_t want = r.Want(avail);
    const guint8* head = want ? static_cast<const guint8*>(gst_adapter_map(st->adapter, want)) : nullptr;
    piff::StreamStep step;
    piff::Status s = r.Next(head, want, avail, &step);
    if (!s) {
      if (head) gst_adapter_unmap(st->adapter);
      POST_ERROR(self, DEMUX, ("%s", step.error_text.c_str()), ("%s", s.message().c_str()));
      return GST_FLOW_ERROR;
    }
    GstFlowReturn ret = GST_FLOW_OK;
    switch (step.kind) {
      case piff::StreamStep::Kind::kNeedData:
        if (head) gst_adapter_unmap(st->adapter);
        if (step.again) break;  // a header is known now: map the whole box
        return GST_FLOW_OK;
      case piff::StreamStep::Kind::kSkip:
        if (head) gst_adapter_unmap(st->adapter);
        gst_adapter_flush(st->adapter, static_cast<gsize>(step.size));
        break;
      case piff::StreamStep::Kind::kUnit:
        GST_LOG_OBJECT(self, "%s at %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " bytes", piff::StreamUnitName(step.unit),
                       step.offset, step.size);
        ret = HandleUnit(self, step);
        gst_adapter_unmap(st->adapter);
        gst_adapter_flush(st->adapter, static_cast<gsize>(step.size));
        break;
      case piff::StreamStep::Kind::kSample:
        if (head) gst_adapter_unmap(st->adapter);
        ret = HandleSample(self, step);
        break;
    }
    if (ret != GST_FLOW_OK) return ret;
  }
}

// End of the input: reports what could not be completed. Returns EOS, or
// ERROR (posted) when nothing could be shown at all.
GstFlowReturn Finish(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  if (st->error_posted) return GST_FLOW_ERROR;
  gsize avail = gst_adapter_available(st->adapter);
  piff::StreamEnd end = st->reader.Finish(avail);
  if (!st->moov && end.end_offset == 0) {
    POST_ERROR(self, DEMUX, ("The stream is empty"), ("it ended before its first byte"));
    return GST_FLOW_ERROR;
  }
  if (!st->moov) {
    POST_ERROR(self, DEMUX, ("This is not a usable Smooth Streaming file: no moov box"),
               ("the stream ended at offset %" G_GUINT64_FORMAT, end.end_offset));
    return GST_FLOW_ERROR;
  }
  if (!st->exposed) {
    POST_ERROR(self, DEMUX, ("No movie fragments in this file"),
               ("a PIFF/Smooth Streaming file carries its samples in moof/mdat fragments; "
                "a plain (non-fragmented) MP4 is read by qtdemux"));
    return GST_FLOW_ERROR;
  }
  if (end.truncated && !AllTracksDone(st)) {
    GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("The stream is truncated"),
                        ("box '%s' at offset %" G_GUINT64_FORMAT " needs %" G_GUINT64_FORMAT
                         " bytes, the stream ended at %" G_GUINT64_FORMAT "; %zu samples are lost",
                         piff::FourCCToString(end.box_type).c_str(), end.box_offset, end.box_size, end.end_offset,
                         end.lost_samples));
  }
  st->ResetWalker(end.end_offset);
  return GST_FLOW_EOS;
}

}  // namespace ismdemux
