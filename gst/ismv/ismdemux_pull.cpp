// ismdemux pull mode (a seekable file): the core's MediaIndex indexes every
// fragment from the moof headers first; then a task on the sink pad reads
// each track's fragments on its own and pushes the track whose next sample
// is earliest, so output is interleaved by time whatever the file layout.
// Flushing TIME seeks (accurate and key-unit) reposition every track.
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

// Pull mode: the most read at once inside an mdat.
constexpr uint64_t kPullChunk = 4ull << 20;
// Pull mode pushes buffer lists of at most kMaxBatch samples of one track,
// running at most kBatchLead ahead of the other tracks. Each push wakes a
// downstream queue thread: 1 s lists instead of 200 ms ones cut ismdemux's
// CPU by about 10% in bench_demux.py (720p file). The lead stays within what
// playbin's multiqueue holds; test_pull_interleaves checks that even 100 ms
// queues do not stall.
constexpr guint kMaxBatch = 128;
constexpr GstClockTime kBatchLead = 1000 * GST_MSECOND;
// Keyframe searches look at most this many fragments away from the target.
constexpr ptrdiff_t kMaxSeekScan = 64;

// Random access to the upstream file through gst_pad_pull_range, for the
// core's MediaIndex and for reading single moofs while seeking.
class PadByteSource : public piff::ByteSource {
 public:
  PadByteSource(GstPad* pad, uint64_t size) : pad_(pad), size_(size) {}
  piff::Status Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) override {
    if (offset > size_ || size > size_ - offset)
      return piff::Status::Error("read of " + std::to_string(size) + " bytes at " + std::to_string(offset) +
                                 " is past the end (" + std::to_string(size_) + ")");
    out->resize(size);
    size_t done = 0;
    while (done < size) {
      GstBuffer* buf = nullptr;
      GstFlowReturn ret = gst_pad_pull_range(pad_, offset + done, static_cast<guint>(size - done), &buf);
      if (ret != GST_FLOW_OK) {
        last_flow_ = ret;
        return piff::Status::Error("pulling " + std::to_string(size - done) + " bytes at " +
                                   std::to_string(offset + done) + ": " + gst_flow_get_name(ret));
      }
      gsize n = gst_buffer_get_size(buf);
      if (n == 0) {
        gst_buffer_unref(buf);
        return piff::Status::Error("unexpected end of data at " + std::to_string(offset + done));
      }
      n = std::min<gsize>(n, size - done);
      gst_buffer_extract(buf, 0, out->data() + done, n);
      gst_buffer_unref(buf);
      done += n;
    }
    return piff::Status::Ok();
  }
  uint64_t Size() const override { return size_; }
  GstFlowReturn last_flow() const { return last_flow_; }

 private:
  GstPad* pad_;
  uint64_t size_;
  GstFlowReturn last_flow_ = GST_FLOW_OK;
};

}  // namespace

// ---------------------------------------------------------------- pull mode

// Reads the samples of fragment `i` of a track (one moof read).
static piff::Status ReadTrackFragment(GstIsmDemux* self, Track* t, size_t i, piff::TrackFragmentSamples* out,
                                     std::shared_ptr<const piff::SampleEncryption>* enc = nullptr) {
  IsmDemuxState* st = State(self);
  const piff::IndexedFragment& f = t->info.fragments[i];
  PadByteSource src(self->sinkpad, st->upstream_size);
  piff::MovieFragmentBox moof;
  size_t k = 0;
  piff::Status s = piff::ReadIndexedFragment(src, &*st->moov, f, t->id, out, &moof, &k);
  if (!s) return s;
  if (enc && t->encrypted)
    return FindIndexedFragmentEncryption(self, *t, moof.trafs[k], f.moof_offset, out->samples.size(), enc);
  return piff::Status::Ok();
}

static bool BuildIndex(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  gint64 size = 0;
  if (!gst_pad_peer_query_duration(self->sinkpad, GST_FORMAT_BYTES, &size) || size < 0) {
    POST_ERROR(self, DEMUX, ("Cannot read this stream"), ("upstream does not report a size in bytes"));
    return false;
  }
  if (size == 0) {
    POST_ERROR(self, DEMUX, ("The file is empty"), ("upstream reports a size of 0 bytes"));
    return false;
  }
  st->upstream_size = static_cast<uint64_t>(size);
  PadByteSource src(self->sinkpad, st->upstream_size);
  piff::Status s = piff::MediaIndex::Build(src, &st->index);
  if (!s) {
    if (src.last_flow() == GST_FLOW_FLUSHING) return false;
    POST_ERROR(self, DEMUX, ("Corrupt or unreadable Smooth Streaming file"), ("%s", s.message().c_str()));
    return false;
  }
  for (auto& p : st->index.problems) {
    GST_WARNING_OBJECT(self, "index: %s", p.c_str());
    if (p.find("index stops here") != std::string::npos)
      GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("The file is truncated or damaged at its end"), ("%s", p.c_str()));
  }
  st->ftyp = st->index.ftyp;
  st->live_manifest = st->index.live_manifest;
  std::vector<uint8_t> moov_bytes = st->index.moov->Serialize();
  if (HandleMoov(self, moov_bytes.data(), moov_bytes.size()) != GST_FLOW_OK) return false;

  uint64_t first_moof = G_MAXUINT64;
  GstClockTime t0 = GST_CLOCK_TIME_NONE, end = 0;
  for (auto& t : st->tracks) {
    if (!t->expose) continue;
    if (const piff::IndexedTrack* it = st->index.FindTrack(t->id)) {
      t->info.fragments = it->fragments;
      t->info.payload_bytes = it->payload_bytes;
    }
    if (t->info.fragments.empty()) continue;
    first_moof = std::min(first_moof, t->info.fragments[0].moof_offset);
    // File times: the index's minus its start offset; a track that starts
    // before the file's zero makes the zero the start.
    t->start_offset = st->index.start_offset.In(t->timescale);
    t->start_offset_known = true;
    uint64_t first = t->info.fragments[0].time;
    GstClockTime start = first > t->start_offset ? t->ToNs(first - t->start_offset) : 0;
    t0 = GST_CLOCK_TIME_IS_VALID(t0) ? std::min(t0, start) : start;
    const piff::IndexedFragment& last = t->info.fragments.back();
    uint64_t last_end = last.time + last.duration;
    end = std::max(end, last_end > t->start_offset ? t->ToNs(last_end - t->start_offset) : 0);
    // The first fragment fixes frame rate and composition shift, as in push mode.
    piff::TrackFragmentSamples f;
    s = ReadTrackFragment(self, t.get(), 0, &f);
    if (!s) {
      POST_ERROR(self, DEMUX, ("Cannot read the first fragment of %s", TrackLabel(*t).c_str()), ("%s", s.message().c_str()));
      return false;
    }
    if (t->video) GuessFramerate(*t, f, &t->fps_n, &t->fps_d);
    t->shift = ComputeShift(*t, f);
    t->shift_known = true;
  }
  if (first_moof == G_MAXUINT64) {
    POST_ERROR(self, DEMUX, ("No movie fragments in this file"),
               ("a PIFF/Smooth Streaming file carries its samples in moof/mdat fragments; "
                "a plain (non-fragmented) MP4 is read by qtdemux"));
    return false;
  }
  if (!st->index.start_offset.zero())
    GST_INFO_OBJECT(self, "a track starts %" GST_TIME_FORMAT " before the file's zero (negative fragment time): "
                          "media times are file times plus that, segments move by as much",
                    GST_TIME_ARGS(st->index.start_offset.Nanoseconds()));
  st->t0 = t0;
  st->t0_known = true;
  GST_OBJECT_LOCK(self);
  st->duration = end - t0;
  GST_OBJECT_UNLOCK(self);
  // A movie duration in mehd ends the segment: decoders then clip the last
  // frame to it (e.g. the AAC padding of the last frame), as with qtdemux.
  // Without one (FFmpeg; ismlmux writes 0) the tracks run to their end.
  st->segment.duration = end - t0;
  if (GST_CLOCK_TIME_IS_VALID(st->mehd_duration)) st->segment.stop = st->mehd_duration;
  GST_INFO_OBJECT(self, "indexed %" G_GUINT64_FORMAT " bytes: starts at %" GST_TIME_FORMAT ", duration %" GST_TIME_FORMAT,
                  st->upstream_size, GST_TIME_ARGS(t0), GST_TIME_ARGS(end - t0));
  st->ResetWalker(first_moof);
  st->indexed = true;
  ExposePads(self);
  return true;
}

// Makes t->frag/next_sample point at the track's next sample, loading the
// next fragment when needed. False at the end of the track (t->eos set) or
// on error (*ret set).
static bool EnsureSample(GstIsmDemux* self, Track* t, GstFlowReturn* ret) {
  while (!t->have_fragment || t->next_sample >= t->frag.samples.size()) {
    t->ResetReading();
    if (t->next_fragment >= t->info.fragments.size()) {
      t->eos = true;
      return false;
    }
    size_t index = t->next_fragment++;
    piff::Status s = ReadTrackFragment(self, t, index, &t->frag, &t->frag_enc);
    if (!s) {
      POST_ERROR(self, DEMUX, ("Cannot read a fragment of %s", TrackLabel(*t).c_str()), ("%s", s.message().c_str()));
      *ret = GST_FLOW_ERROR;
      return false;
    }
    t->have_fragment = true;
    t->next_sample = 0;
    if (t->has_start && index == t->start_fragment) t->next_sample = t->start_sample;
    t->has_start = false;
    t->frag_data_end = 0;
    for (auto& x : t->frag.samples) t->frag_data_end = std::max(t->frag_data_end, x.offset + x.size);
    GST_DEBUG_OBJECT(self, "%s: fragment %zu at %" G_GUINT64_FORMAT ", %zu samples", TrackLabel(*t).c_str(), index,
                     t->frag.decode_time, t->frag.samples.size());
  }
  return true;
}

// Makes the track's chunk cover its next sample: one read covers as much of
// the fragment's data as kPullChunk allows. False (t->eos set, warning
// posted) when the file ends first.
static GstFlowReturn LoadChunk(GstIsmDemux* self, Track* t, bool* have) {
  IsmDemuxState* st = State(self);
  *have = false;
  const piff::ReadSample& smp = t->frag.samples[t->next_sample];
  uint64_t chunk_end = t->chunk ? t->chunk_offset + gst_buffer_get_size(t->chunk) : 0;
  if (!t->chunk || smp.offset < t->chunk_offset || smp.offset + smp.size > chunk_end) {
    t->ReleaseChunk();
    uint64_t end = std::max<uint64_t>(std::min(t->frag_data_end, smp.offset + kPullChunk), smp.offset + smp.size);
    end = std::min(end, st->upstream_size);
    GstBuffer* buf = nullptr;
    GstFlowReturn ret = GST_FLOW_EOS;
    if (end > smp.offset)
      ret = gst_pad_pull_range(self->sinkpad, smp.offset, static_cast<guint>(end - smp.offset), &buf);
    if (ret == GST_FLOW_OK && gst_buffer_get_size(buf) < smp.size) {
      gst_buffer_unref(buf);
      ret = GST_FLOW_EOS;
    }
    if (ret == GST_FLOW_EOS) {
      GST_ELEMENT_WARNING(self, STREAM, DEMUX, ("The file is truncated"),
                          ("%s: sample data at %" G_GUINT64_FORMAT " (+%u) is past the end of the file",
                           TrackLabel(*t).c_str(), smp.offset, smp.size));
      t->eos = true;
      return GST_FLOW_OK;
    }
    if (ret != GST_FLOW_OK) return ret;
    t->chunk = buf;
    t->chunk_offset = smp.offset;
    if (t->decrypt && !DecryptChunk(self, t)) return GST_FLOW_ERROR;
  }
  *have = true;
  return GST_FLOW_OK;
}

static bool ChunkCovers(const Track* t, const piff::ReadSample& s) {
  return t->chunk && s.offset >= t->chunk_offset &&
         s.offset + s.size <= t->chunk_offset + gst_buffer_get_size(t->chunk);
}

// Pushes the track's next samples, up to `until` (DTS, ns) and within the
// current fragment and chunk, as one buffer list: pushing per list instead
// of per buffer is most of what a demuxer can save downstream. `until` keeps
// the interleaving with the other tracks within kBatchLead.
static GstFlowReturn PushPulledSamples(GstIsmDemux* self, Track* t, GstClockTime until) {
  IsmDemuxState* st = State(self);
  bool have = false;
  GstFlowReturn ret = LoadChunk(self, t, &have);
  if (ret != GST_FLOW_OK || !have) return ret;
  GstBufferList* list = gst_buffer_list_new_sized(16);
  while (t->next_sample < t->frag.samples.size() && gst_buffer_list_length(list) < kMaxBatch) {
    const piff::ReadSample& smp = t->frag.samples[t->next_sample];
    if (gst_buffer_list_length(list) > 0 && (!ChunkCovers(t, smp) || t->ToNs(smp.decode_time) > until)) break;
    PendingSample p;
    p.track = t;
    p.sample = smp;
    p.encryption = t->frag_enc;
    p.index = t->next_sample;
    t->next_sample++;
    GstBuffer* sub = gst_buffer_copy_region(t->chunk, GST_BUFFER_COPY_MEMORY,
                                            static_cast<gsize>(p.sample.offset - t->chunk_offset), p.sample.size);
    if (GstBuffer* b = PrepareSample(self, p, sub)) gst_buffer_list_add(list, b);
    if (t->eos) break;
  }
  if (gst_buffer_list_length(list) == 0) {
    gst_buffer_list_unref(list);
    return GST_FLOW_OK;
  }
  return CombineFlow(st, t, gst_pad_push_list(t->pad, list));
}

// One step of the pull-mode task: the track whose next sample has the
// lowest DTS pushes it, so the output is interleaved by time.
static GstFlowReturn PullStep(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  Track* best = nullptr;
  GstClockTime best_dts = GST_CLOCK_TIME_NONE, second_dts = GST_CLOCK_TIME_NONE;
  for (auto& tp : st->tracks) {
    Track* t = tp.get();
    if (!t->pad || t->eos) continue;
    GstFlowReturn ret = GST_FLOW_OK;
    if (!EnsureSample(self, t, &ret)) {
      if (ret != GST_FLOW_OK) return ret;
      continue;
    }
    GstClockTime dts = t->ToNs(t->frag.samples[t->next_sample].decode_time);
    if (!best || dts < best_dts) {
      second_dts = best_dts;
      best = t;
      best_dts = dts;
    } else if (!GST_CLOCK_TIME_IS_VALID(second_dts) || dts < second_dts) {
      second_dts = dts;
    }
  }
  if (!best) return GST_FLOW_EOS;
  GstClockTime until = GST_CLOCK_TIME_IS_VALID(second_dts) ? second_dts + kBatchLead : GST_CLOCK_TIME_NONE;
  GstFlowReturn ret = PushPulledSamples(self, best, until);
  if (ret == GST_FLOW_OK && AllTracksDone(st)) ret = GST_FLOW_EOS;
  return ret;
}

static void PushEndOfSegment(GstIsmDemux* self) {
  IsmDemuxState* st = State(self);
  if (st->segment.flags & GST_SEGMENT_FLAG_SEGMENT) {
    GstClockTime stop = GST_CLOCK_TIME_IS_VALID(st->segment.stop) ? st->segment.stop : st->segment.duration;
    GstMessage* m = gst_message_new_segment_done(GST_OBJECT(self), GST_FORMAT_TIME, static_cast<gint64>(stop));
    gst_message_set_seqnum(m, st->segment_seqnum);
    gst_element_post_message(GST_ELEMENT(self), m);
    GstEvent* ev = gst_event_new_segment_done(GST_FORMAT_TIME, static_cast<gint64>(stop));
    gst_event_set_seqnum(ev, st->segment_seqnum);
    PushToAll(self, ev);
  } else {
    GstEvent* ev = gst_event_new_eos();
    if (st->segment_seqnum) gst_event_set_seqnum(ev, st->segment_seqnum);
    PushToAll(self, ev);
  }
}

static gboolean DoSeek(GstIsmDemux* self, GstEvent* event);

void PullLoop(GstPad* pad) {
  GstIsmDemux* self = GST_ISM_DEMUX(gst_pad_get_parent(pad));
  IsmDemuxState* st = State(self);
  GstFlowReturn ret = GST_FLOW_OK;
  if (!st->indexed) {
    if (!BuildIndex(self)) {
      ret = st->error_posted ? GST_FLOW_ERROR : GST_FLOW_FLUSHING;
      goto pause;
    }
    if (st->pending_seek) {
      GstEvent* ev = st->pending_seek;
      st->pending_seek = nullptr;
      // Applied in place: the task is running, so seek without flushing it.
      DoSeek(self, ev);
      gst_event_unref(ev);
    }
  }
  ret = PullStep(self);
  if (ret != GST_FLOW_OK) goto pause;
  gst_object_unref(self);
  return;

pause:
  GST_DEBUG_OBJECT(self, "pausing task: %s", gst_flow_get_name(ret));
  gst_pad_pause_task(pad);
  if (ret == GST_FLOW_EOS) {
    PushEndOfSegment(self);
  } else if (ret == GST_FLOW_NOT_LINKED || ret < GST_FLOW_EOS) {
    if (!st->error_posted) GST_ELEMENT_FLOW_ERROR(self, ret);
    st->error_posted = true;
    PushToAll(self, gst_event_new_eos());
  }
  gst_object_unref(self);
}

// ---------------------------------------------------------------- seeking

// A sync sample position of a track: fragment index, sample index and its
// presentation time (ticks, without the track's shift).
struct SyncPoint {
  ptrdiff_t fragment = -1;
  size_t sample = 0;
  int64_t pts = 0;
};

// The last sync sample with PTS <= target (before) or the first with PTS >=
// target (after), looking at most kMaxSeekScan fragments away.
static bool FindSync(GstIsmDemux* self, Track* t, uint64_t target, bool after, SyncPoint* out) {
  const auto& frags = t->info.fragments;
  if (frags.empty()) return false;
  ptrdiff_t i = t->info.FindFragmentAtOrBefore(target);
  if (i < 0) i = 0;
  ptrdiff_t n = static_cast<ptrdiff_t>(frags.size());
  for (ptrdiff_t k = i, steps = 0; k >= 0 && k < n && steps < kMaxSeekScan; k += after ? 1 : -1, steps++) {
    piff::TrackFragmentSamples f;
    piff::Status s = ReadTrackFragment(self, t, static_cast<size_t>(k), &f);
    if (!s) {
      GST_WARNING_OBJECT(self, "seek: %s", s.message().c_str());
      return false;
    }
    bool found = false;
    for (size_t j = 0; j < f.samples.size(); j++) {
      const piff::ReadSample& x = f.samples[j];
      if (!x.sync) continue;
      int64_t pts = static_cast<int64_t>(x.decode_time) + x.composition_offset;
      bool ok = after ? pts >= static_cast<int64_t>(target) : pts <= static_cast<int64_t>(target);
      if (!ok) continue;
      if (after && found) break;  // the first one after
      *out = SyncPoint{k, j, pts};
      found = true;
      if (after) break;
    }
    if (found) return true;
  }
  return false;
}

// Positions every track for presentation time `target` (file ns): each
// starts at its last sync sample at or before it (or its first sample).
static uint64_t PositionTracks(GstIsmDemux* self, GstClockTime target) {
  IsmDemuxState* st = State(self);
  uint64_t start = G_MAXUINT64;
  for (auto& tp : st->tracks) {
    Track* t = tp.get();
    if (!t->pad) continue;
    t->need_segment = true;
    t->need_discont = true;
    t->eos = false;
    t->has_start = false;
    t->ResetReading();
    if (t->info.fragments.empty()) {
      t->eos = true;
      continue;
    }
    SyncPoint p;
    if (!FindSync(self, t, t->ToTicks(target) + t->start_offset, false, &p)) p = SyncPoint{0, 0, 0};
    const piff::IndexedFragment& f = t->info.fragments[static_cast<size_t>(p.fragment)];
    t->has_start = true;
    t->start_moof = f.moof_offset;
    t->start_fragment = static_cast<size_t>(p.fragment);
    t->next_fragment = t->start_fragment;
    t->start_sample = p.sample;
    start = std::min(start, f.moof_offset);
    GST_DEBUG_OBJECT(self, "%s starts at fragment %zd sample %zu (pts %" G_GINT64_FORMAT " ticks)",
                     TrackLabel(*t).c_str(), p.fragment, p.sample, p.pts);
  }
  return start;
}

// Computes the new segment and positions the walker; the caller holds the
// stream lock (or is the streaming thread).
static gboolean DoSeek(GstIsmDemux* self, GstEvent* event) {
  IsmDemuxState* st = State(self);
  gdouble rate;
  GstFormat format;
  GstSeekFlags flags;
  GstSeekType start_type, stop_type;
  gint64 start, stop;
  gst_event_parse_seek(event, &rate, &format, &flags, &start_type, &start, &stop_type, &stop);

  GstSegment seg = st->segment;
  gboolean update = FALSE;
  if (!gst_segment_do_seek(&seg, rate, format, flags, start_type, start, stop_type, stop, &update)) return FALSE;
  GstClockTime target = seg.position;

  Track* ref = nullptr;
  for (auto& t : st->tracks)
    if (t->pad && (!ref || (t->video && !ref->video))) ref = t.get();
  if (ref && (flags & GST_SEEK_FLAG_KEY_UNIT) && !ref->info.fragments.empty()) {
    uint64_t want = ref->ToTicks(target + st->t0) + ref->start_offset;
    SyncPoint before, after;
    bool have_before = FindSync(self, ref, want, false, &before);
    bool have_after = FindSync(self, ref, want, true, &after);
    const SyncPoint* pick = nullptr;
    if ((flags & GST_SEEK_FLAG_SNAP_AFTER) && !(flags & GST_SEEK_FLAG_SNAP_BEFORE))
      pick = have_after ? &after : (have_before ? &before : nullptr);
    else if ((flags & GST_SEEK_FLAG_SNAP_AFTER) && (flags & GST_SEEK_FLAG_SNAP_BEFORE) && have_before && have_after)
      pick = (static_cast<int64_t>(want) - before.pts <= after.pts - static_cast<int64_t>(want)) ? &before : &after;
    else
      pick = have_before ? &before : (have_after ? &after : nullptr);
    if (pick) {
      int64_t key_file = pick->pts - static_cast<int64_t>(ref->start_offset);
      GstClockTime key = ref->ToNs(static_cast<uint64_t>(std::max<int64_t>(key_file, 0)));
      GstClockTime key_stream = key > st->t0 ? key - st->t0 : 0;
      GST_DEBUG_OBJECT(self, "key-unit seek to %" GST_TIME_FORMAT " snaps to %" GST_TIME_FORMAT, GST_TIME_ARGS(target),
                       GST_TIME_ARGS(key_stream));
      target = key_stream;
      seg.start = seg.position = seg.time = target;
    }
  }
  GST_INFO_OBJECT(self, "seek to %" GST_TIME_FORMAT " (flags 0x%x)", GST_TIME_ARGS(target), flags);
  PositionTracks(self, target + st->t0);
  st->segment = seg;
  st->segment_seqnum = gst_event_get_seqnum(event);
  if (seg.flags & GST_SEGMENT_FLAG_SEGMENT) {
    GstMessage* m = gst_message_new_segment_start(GST_OBJECT(self), GST_FORMAT_TIME, static_cast<gint64>(seg.start));
    gst_message_set_seqnum(m, st->segment_seqnum);
    gst_element_post_message(GST_ELEMENT(self), m);
  }
  return TRUE;
}

gboolean HandleSeek(GstIsmDemux* self, GstEvent* event) {
  IsmDemuxState* st = State(self);
  gdouble rate;
  GstFormat format;
  GstSeekFlags flags;
  // The positions are DoSeek's business.
  gst_event_parse_seek(event, &rate, &format, &flags, nullptr, nullptr, nullptr, nullptr);
  if (format != GST_FORMAT_TIME) {
    GST_DEBUG_OBJECT(self, "only TIME seeks are supported");
    return FALSE;
  }
  if (rate <= 0.0) {
    GST_DEBUG_OBJECT(self, "reverse playback is not supported");
    return FALSE;
  }
  bool flush = flags & GST_SEEK_FLAG_FLUSH;
  guint32 seqnum = gst_event_get_seqnum(event);
  // A pipeline seek reaches us once per sink: handle it once.
  GST_OBJECT_LOCK(self);
  bool seen = st->last_seek_seqnum == seqnum;
  st->last_seek_seqnum = seqnum;
  GST_OBJECT_UNLOCK(self);
  if (seen) {
    GST_DEBUG_OBJECT(self, "seek %u already handled", seqnum);
    return TRUE;
  }
  if (flush) {
    GstEvent* ev = gst_event_new_flush_start();
    gst_event_set_seqnum(ev, seqnum);
    PushToAll(self, ev);
  }
  gst_pad_pause_task(self->sinkpad);
  GST_PAD_STREAM_LOCK(self->sinkpad);
  if (!st->indexed) {
    // The index is built on the streaming thread; the seek is applied there.
    if (st->pending_seek) gst_event_unref(st->pending_seek);
    st->pending_seek = gst_event_ref(event);
  }
  if (flush) {
    GstEvent* ev = gst_event_new_flush_stop(TRUE);
    gst_event_set_seqnum(ev, seqnum);
    PushToAll(self, ev);
    gst_flow_combiner_reset(st->combiner);
  }
  gboolean res = TRUE;
  if (st->indexed) res = DoSeek(self, event);
  gst_pad_start_task(self->sinkpad, reinterpret_cast<GstTaskFunction>(PullLoop), self->sinkpad, nullptr);
  GST_PAD_STREAM_UNLOCK(self->sinkpad);
  return res;
}

}  // namespace ismdemux
