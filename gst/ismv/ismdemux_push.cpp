// ismdemux push mode (pipes, HTTP, live ingest): the chain function feeds
// an adapter, and one top-level box walker collects ftyp, moov, moof and
// the Live Server Manifest whole, then cuts the samples of each moof out of
// the mdat that follows it as its bytes arrive (bounded memory, no seeks).
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "ismdemux_private.h"

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace ismdemux {

namespace {

// Bounds on what is ever held in memory for one box (hostile sizes fail
// early instead of growing the adapter without limit).
constexpr uint64_t kMaxFtypSize = 4096;
constexpr uint64_t kMaxMoovSize = 64ull << 20;
constexpr uint64_t kMaxMoofSize = 16ull << 20;
constexpr uint64_t kMaxLiveManifestSize = 4ull << 20;
constexpr uint64_t kMaxSampleSize = 64ull << 20;

}  // namespace

// The core's callback for a track fragment with neither tfxd nor tfdt: it
// starts where the track's previous fragment ended.
static uint64_t ContinuationTime(uint32_t track_id, void* user) {
  auto* st = static_cast<IsmDemuxState*>(user);
  Track* t = FindTrack(st, track_id);
  if (!t) return 0;
  if (st->pull) {
    // The index resolved every fragment time already (same precedence).
    auto& frags = t->info.fragments;
    auto it = std::lower_bound(frags.begin(), frags.end(), st->cur_moof,
                               [](const piff::IndexedFragment& f, uint64_t off) { return f.moof_offset < off; });
    if (it != frags.end() && it->moof_offset == st->cur_moof) return it->time;
  }
  return t->have_end ? t->end : 0;
}

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

// Resolves a moof to samples and queues those that are to be pushed, in the
// order of their bytes in the stream.
static GstFlowReturn HandleMoof(GstIsmDemux* self, const uint8_t* data, size_t size) {
  IsmDemuxState* st = State(self);
  uint64_t moof_offset = st->box_start;
  if (!st->moov) {
    POST_ERROR(self, DEMUX, ("Movie fragment before the movie header"),
               ("moof at offset %" G_GUINT64_FORMAT " precedes any moov", moof_offset));
    return GST_FLOW_ERROR;
  }
  piff::MovieFragmentBox moof;
  piff::Status s = moof.Parse(data, size);
  std::vector<piff::TrackFragmentSamples> frags;
  st->cur_moof = moof_offset;
  if (s) s = piff::ReadFragment(moof, moof_offset, &*st->moov, ContinuationTime, st, &frags);
  if (!s) {
    POST_ERROR(self, DEMUX, ("Corrupt movie fragment at offset %" G_GUINT64_FORMAT, moof_offset),
               ("%s", s.message().c_str()));
    return GST_FLOW_ERROR;
  }
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

  for (size_t i = 0; i < frags.size(); i++) {
    piff::TrackFragmentSamples& f = frags[i];
    Track* t = FindTrack(st, f.track_id);
    if (!t) continue;
    t->have_end = true;
    t->end = f.decode_time + f.duration;
    if (!t->pad || t->eos) continue;
    if (!st->pull && !ApplyTrackStartOffset(self, t, &f)) return GST_FLOW_ERROR;
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
    std::shared_ptr<const piff::SampleEncryption> enc;
    if (t->encrypted && !FindFragmentEncryption(self, t, moof.trafs[i], moof_offset, f.samples.size(), &enc))
      return GST_FLOW_ERROR;
    for (size_t k = first; k < f.samples.size(); k++) {
      if (f.samples[k].size > kMaxSampleSize) {
        POST_ERROR(self, DEMUX, ("Sample too large in %s", TrackLabel(*t).c_str()),
                   ("sample %zu of the fragment at offset %" G_GUINT64_FORMAT " claims %u bytes", k, moof_offset,
                    f.samples[k].size));
        return GST_FLOW_ERROR;
      }
      PendingSample p;
      p.track = t;
      p.sample = f.samples[k];
      p.encryption = enc;
      p.index = k;
      st->pending.push_back(std::move(p));
    }
  }
  std::stable_sort(st->pending.begin(), st->pending.end(),
                   [](const PendingSample& a, const PendingSample& b) { return a.sample.offset < b.sample.offset; });
  return GST_FLOW_OK;
}

static GstFlowReturn HandleWholeBox(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  gsize size = static_cast<gsize>(st->box.size);
  const guint8* data = static_cast<const guint8*>(gst_adapter_map(st->adapter, size));
  GstFlowReturn ret = GST_FLOW_OK;
  piff::FourCC type = st->box.type;
  if (type == piff::MakeFourCC("ftyp")) {
    piff::FileTypeBox ftyp;
    if (ftyp.Parse(data, size)) st->ftyp = ftyp;
  } else if (type == piff::MakeFourCC("uuid")) {
    piff::LiveServerManifestBox lsm;
    piff::Status s = lsm.Parse(data, size);
    if (s) {
      GST_INFO_OBJECT(self, "live ingest stream: Live Server Manifest of %zu bytes", lsm.xml.size());
      st->live_manifest = std::move(lsm);
    } else {
      GST_WARNING_OBJECT(self, "unreadable Live Server Manifest box: %s", s.message().c_str());
    }
  } else if (type == piff::MakeFourCC("moov")) {
    ret = HandleMoov(self, data, size);
  } else if (type == piff::MakeFourCC("moof")) {
    ret = HandleMoof(self, data, size);
  }
  gst_adapter_unmap(st->adapter);
  gst_adapter_flush(st->adapter, size);
  st->offset += size;
  st->phase = Phase::kTop;
  return ret;
}

// Bytes a top-level box header needs (8, 16 with a 64-bit size, +16 for uuid).
static size_t HeaderBytes(const guint8* d) {
  size_t n = (d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1) ? 16 : 8;
  if (d[4] == 'u' && d[5] == 'u' && d[6] == 'i' && d[7] == 'd') n += 16;
  return n;
}

// Walks the bytes in the adapter as far as they go. Returns OK when it needs
// more data.
GstFlowReturn Process(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  for (;;) {
    gsize avail = gst_adapter_available(st->adapter);
    switch (st->phase) {
      case Phase::kTop: {
        if (st->pending.empty() && AllTracksDone(st)) return GST_FLOW_EOS;
        if (avail < 8) return GST_FLOW_OK;
        const guint8* d = static_cast<const guint8*>(gst_adapter_map(st->adapter, 8));
        size_t need = HeaderBytes(d);
        gst_adapter_unmap(st->adapter);
        if (avail < need) return GST_FLOW_OK;
        d = static_cast<const guint8*>(gst_adapter_map(st->adapter, need));
        piff::BoxHeader h;
        piff::Status s = piff::ParseBoxHeaderAt(d, need, G_MAXUINT64 - st->offset, &h);
        gst_adapter_unmap(st->adapter);
        if (!s) {
          POST_ERROR(self, DEMUX, ("Corrupt box header at offset %" G_GUINT64_FORMAT, st->offset),
                     ("%s", s.message().c_str()));
          return GST_FLOW_ERROR;
        }
        st->box = h;
        st->box_start = st->offset;
        st->box_end = st->offset + h.size;
        piff::FourCC type = h.type;
        uint64_t limit = 0;
        if (type == piff::MakeFourCC("ftyp")) limit = kMaxFtypSize;
        else if (type == piff::MakeFourCC("moov") && !st->moov) limit = kMaxMoovSize;
        else if (type == piff::MakeFourCC("moof")) limit = kMaxMoofSize;
        else if (type == piff::MakeFourCC("uuid") && h.usertype == piff::kLiveServerManifestUuid && !st->live_manifest)
          limit = kMaxLiveManifestSize;
        GST_LOG_OBJECT(self, "box '%s' at %" G_GUINT64_FORMAT ", %" G_GUINT64_FORMAT " bytes",
                       piff::FourCCToString(type).c_str(), st->offset, h.size);
        if (!st->pending.empty() && (type == piff::MakeFourCC("moof") || type == piff::MakeFourCC("moov"))) {
          // Samples are cut out of the mdat that follows their moof; a
          // layout that puts them elsewhere cannot be streamed.
          POST_ERROR(self, DEMUX, ("Sample data is missing"),
                     ("%zu samples of the moof at %" G_GUINT64_FORMAT " are not in an mdat that follows it",
                      st->pending.size(), st->cur_moof));
          return GST_FLOW_ERROR;
        }
        if (type == piff::MakeFourCC("moof") && !st->moov) {
          POST_ERROR(self, DEMUX, ("Movie fragment before the movie header"),
                     ("moof at offset %" G_GUINT64_FORMAT " precedes any moov", st->offset));
          return GST_FLOW_ERROR;
        }
        if (limit) {
          if (h.size > limit) {
            POST_ERROR(self, DEMUX, ("Box '%s' at offset %" G_GUINT64_FORMAT " is too large",
                                     piff::FourCCToString(type).c_str(), st->offset),
                       ("%" G_GUINT64_FORMAT " bytes, the limit is %" G_GUINT64_FORMAT, h.size, limit));
            return GST_FLOW_ERROR;
          }
          st->phase = Phase::kBox;
        } else if (type == piff::MakeFourCC("mdat") && !st->pending.empty()) {
          gst_adapter_flush(st->adapter, h.header_size);
          st->offset += h.header_size;
          st->phase = Phase::kMdat;
        } else {
          st->skip = h.size;
          st->phase = Phase::kSkip;
        }
        break;
      }
      case Phase::kBox: {
        if (avail < st->box.size) return GST_FLOW_OK;
        GstFlowReturn ret = HandleWholeBox(self);
        if (ret != GST_FLOW_OK) return ret;
        break;
      }
      case Phase::kMdat: {
        if (st->pending.empty()) {
          st->skip = st->box_end - st->offset;
          st->phase = Phase::kSkip;
          break;
        }
        const PendingSample& p = st->pending.front();
        uint64_t start = p.sample.offset, end = p.sample.offset + p.sample.size;
        if (start < st->offset || end > st->box_end) {
          POST_ERROR(self, DEMUX, ("Sample data outside its mdat"),
                     ("%s sample at offset %" G_GUINT64_FORMAT " (+%u) is not inside the mdat at %" G_GUINT64_FORMAT
                      "..%" G_GUINT64_FORMAT " (reading at %" G_GUINT64_FORMAT ")",
                      TrackLabel(*p.track).c_str(), start, p.sample.size, st->box_start, st->box_end, st->offset));
          return GST_FLOW_ERROR;
        }
        if (st->offset < start) {
          gsize n = static_cast<gsize>(std::min<uint64_t>(avail, start - st->offset));
          if (n == 0) return GST_FLOW_OK;
          gst_adapter_flush(st->adapter, n);
          st->offset += n;
          break;
        }
        if (avail < p.sample.size) return GST_FLOW_OK;
        PendingSample sample = std::move(st->pending.front());
        st->pending.pop_front();
        GstBuffer* buf = sample.sample.size ? gst_adapter_take_buffer_fast(st->adapter, sample.sample.size)
                                            : gst_buffer_new();
        st->offset += sample.sample.size;
        if (!(buf = DecryptBuffer(self, sample, buf))) return GST_FLOW_ERROR;
        GstFlowReturn ret = PushSample(self, sample, buf);
        if (ret != GST_FLOW_OK) return ret;
        break;
      }
      case Phase::kSkip: {
        if (st->skip == 0) {
          st->phase = Phase::kTop;
          break;
        }
        gsize n = static_cast<gsize>(std::min<uint64_t>(avail, st->skip));
        if (n == 0) return GST_FLOW_OK;
        gst_adapter_flush(st->adapter, n);
        st->offset += n;
        st->skip -= n;
        break;
      }
    }
  }
}

// End of the input: reports what could not be completed. Returns EOS, or
// ERROR (posted) when nothing could be shown at all.
GstFlowReturn Finish(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  if (st->error_posted) return GST_FLOW_ERROR;
  if (!st->moov && st->offset + gst_adapter_available(st->adapter) == 0) {
    POST_ERROR(self, DEMUX, ("The stream is empty"), ("it ended before its first byte"));
    return GST_FLOW_ERROR;
  }
  if (!st->moov) {
    POST_ERROR(self, DEMUX, ("This is not a usable Smooth Streaming file: no moov box"),
               ("the stream ended at offset %" G_GUINT64_FORMAT, st->offset + gst_adapter_available(st->adapter)));
    return GST_FLOW_ERROR;
  }
  if (!st->exposed) {
    POST_ERROR(self, DEMUX, ("No movie fragments in this file"),
               ("a PIFF/Smooth Streaming file carries its samples in moof/mdat fragments; "
                "a plain (non-fragmented) MP4 is read by qtdemux"));
    return GST_FLOW_ERROR;
  }
  gsize avail = gst_adapter_available(st->adapter);
  bool truncated = st->phase == Phase::kBox || st->phase == Phase::kMdat || !st->pending.empty() ||
                   (st->phase == Phase::kTop && avail > 0);
  if (truncated && !AllTracksDone(st)) {
    GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("The stream is truncated"),
                        ("box '%s' at offset %" G_GUINT64_FORMAT " needs %" G_GUINT64_FORMAT
                         " bytes, the stream ended at %" G_GUINT64_FORMAT "; %zu samples are lost",
                         piff::FourCCToString(st->box.type).c_str(), st->box_start, st->box.size,
                         st->offset + avail, st->pending.size()));
  }
  st->pending.clear();
  gst_adapter_clear(st->adapter);
  return GST_FLOW_EOS;
}

}  // namespace ismdemux
