// MediaIndex::Build: a top-level scan that reads box headers, ftyp, moov,
// moofs and mfra only, then cross-checks tfra against the moofs found.
#include "media_index.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

#include "codec_config.h"
#include "fragment.h"
#include "fragment_start.h"

namespace piff {

Status FileByteSource::Open(const std::string& path, std::unique_ptr<FileByteSource>* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::Error(path + ": not a regular file");
  }
  out->reset(new FileByteSource());
  (*out)->fd_ = fd;
  (*out)->size_ = static_cast<uint64_t>(st.st_size);
  (*out)->path_ = path;
  return Status::Ok();
}

FileByteSource::~FileByteSource() {
  if (fd_ >= 0) ::close(fd_);
}

Status FileByteSource::Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) {
  if (offset > size_ || size > size_ - offset)
    return Status::Error(path_ + ": read of " + std::to_string(size) + " bytes at " + std::to_string(offset) +
                         " is past the end (" + std::to_string(size_) + ")");
  out->resize(size);
  size_t done = 0;
  while (done < size) {
    ssize_t n = ::pread(fd_, out->data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Error(path_ + ": read at " + std::to_string(offset + done) + ": " +
                                     (n < 0 ? std::strerror(errno) : "unexpected end of file"));
    done += static_cast<size_t>(n);
  }
  return Status::Ok();
}

uint64_t IndexedTrack::duration() const {
  uint64_t d = 0;
  for (auto& f : fragments) d += f.duration;
  return d;
}

ptrdiff_t IndexedTrack::FindFragment(uint64_t t) const {
  ptrdiff_t i = FindFragmentAtOrBefore(t);
  return i >= 0 && fragments[i].time == t ? i : -1;
}

ptrdiff_t IndexedTrack::FindFragmentAtOrBefore(uint64_t t) const {
  auto it = std::upper_bound(fragments.begin(), fragments.end(), t,
                             [](uint64_t v, const IndexedFragment& f) { return v < f.time; });
  return static_cast<ptrdiff_t>(it - fragments.begin()) - 1;
}

void MediaIndex::ShiftTimeline(const StartOffset& to) {
  if (!start_offset.LessThan(to)) return;
  for (auto& t : tracks) {
    uint64_t add = StartOffsetDelta(to, start_offset, t.config.timescale);
    for (auto& f : t.fragments) {
      f.time += add;
      f.sync_time += add;
      f.retimed = f.retimed || add != 0;
    }
  }
  start_offset = to;
}

const IndexedTrack* MediaIndex::FindTrack(uint32_t track_id) const {
  for (auto& t : tracks)
    if (t.config.track_id == track_id) return &t;
  return nullptr;
}

namespace {
constexpr uint64_t kMaxMoovSize = 64ull << 20;
constexpr uint64_t kMaxMoofSize = 16ull << 20;
constexpr uint64_t kMaxMfraSize = 64ull << 20;
}  // namespace

Status DescribeTrack(const TrackBox& trak, IndexedTrack* out) {
  TrackConfig& c = out->config;
  c.track_id = trak.tkhd.track_id;
  c.timescale = trak.mdia.mdhd.timescale;
  c.language = trak.mdia.mdhd.language;
  out->handler = trak.mdia.hdlr.handler_type;
  std::string where = "track " + std::to_string(c.track_id);
  if (c.timescale == 0) return Status::Error(where + ": mdhd timescale is 0");
  const SampleDescriptionBox& stsd = trak.mdia.minf.stbl.stsd;
  if (out->handler == MakeFourCC("vide")) {
    c.kind = TrackConfig::Kind::kVideo;
    if (stsd.video.empty()) return Status::Error(where + ": no visual sample entry");
    const VisualSampleEntry& e = stsd.video[0];
    out->sample_entry = e.format;
    c.sample_entry = e.format;
    c.width = e.width;
    c.height = e.height;
    // H.264 only under its own sample entry names (encv: encrypted, its
    // original format is the avcC's); an avcC inside another entry is not.
    bool avc_entry = e.format == MakeFourCC("avc1") || e.format == MakeFourCC("avc3") ||
                     e.format == MakeFourCC("encv");
    if (e.avcc && avc_entry) {
      AvcDecoderConfig avc;
      Status s = AvcDecoderConfig::Parse(e.avcc->data.data(), e.avcc->data.size(), &avc);
      if (!s) return s.WithContext(where);
      c.avcc = e.avcc->data;
      out->supported = true;
      out->manifest_fourcc = "H264";
    }
  } else if (out->handler == MakeFourCC("soun")) {
    c.kind = TrackConfig::Kind::kAudio;
    if (stsd.audio.empty()) return Status::Error(where + ": no audio sample entry");
    const AudioSampleEntry& e = stsd.audio[0];
    out->sample_entry = e.format;
    c.channels = e.channel_count;
    c.sample_rate = e.sample_rate >> 16;
    bool aac_entry = e.format == MakeFourCC("mp4a") || e.format == MakeFourCC("enca");
    if (aac_entry && e.esds && e.esds->object_type_indication == 0x40 && !e.esds->decoder_specific_info.empty()) {
      AudioSpecificConfig asc;
      Status s = AudioSpecificConfig::Parse(e.esds->decoder_specific_info.data(),
                                            e.esds->decoder_specific_info.size(), &asc);
      if (!s) return s.WithContext(where);
      c.audio_specific_config = e.esds->decoder_specific_info;
      c.sample_rate = asc.OutputSamplingRate();
      if (asc.channel_configuration) c.channels = asc.channel_configuration;
      c.avg_bitrate = e.esds->avg_bitrate;
      c.max_bitrate = e.esds->max_bitrate;
      out->supported = true;
      out->manifest_fourcc = asc.SmoothFourCC();
    }
  }
  return Status::Ok();
}

namespace {


struct ScanState {
  std::map<uint32_t, uint64_t> track_end;  // continuation times
};

uint64_t ContinuationTime(uint32_t track_id, void* user) {
  auto* st = static_cast<ScanState*>(user);
  auto it = st->track_end.find(track_id);
  return it == st->track_end.end() ? 0 : it->second;
}

// The fragment a tfra entry time names. PIFF writers give the fragment's
// decode time (the tfxd time); ISO 14496-12 defines the entry as the
// presentation time of the sync sample (FFmpeg's fMP4 writes that). Both are
// right.
ptrdiff_t FindTfraFragment(const IndexedTrack& t, uint64_t time) {
  ptrdiff_t i = t.FindFragment(time);
  if (i >= 0) return i;
  // The sync sample is in the fragment at or before its time, or (negative
  // composition offsets) the one after.
  ptrdiff_t k = t.FindFragmentAtOrBefore(time);
  ptrdiff_t n = static_cast<ptrdiff_t>(t.fragments.size());
  for (ptrdiff_t j = std::max<ptrdiff_t>(k, 0); j <= k + 1 && j < n; j++)
    if (t.fragments[j].sync_time == time) return j;
  return -1;
}

template <class T>
Status ReadAndParse(ByteSource& src, uint64_t offset, uint64_t size, uint64_t limit, T* box) {
  if (size > limit)
    return Status::Error(box->Name() + " at " + std::to_string(offset) + ": size " + std::to_string(size) +
                         " exceeds the limit of " + std::to_string(limit) + " bytes");
  std::vector<uint8_t> bytes;
  Status s = src.Read(offset, static_cast<size_t>(size), &bytes);
  if (!s) return s;
  s = box->Parse(bytes.data(), bytes.size());
  return s.WithContext(box->Name() + "@" + std::to_string(offset));
}

}  // namespace

Status ReadIndexedFragment(ByteSource& src, const MovieBox* moov, const IndexedFragment& frag, uint32_t track_id,
                           TrackFragmentSamples* out, MovieFragmentBox* moof_out, size_t* traf_index) {
  std::string where = "moof@" + std::to_string(frag.moof_offset);
  if (frag.moof_size < 8 || frag.moof_size > kMaxMoofSize)
    return Status::Error(where + ": size " + std::to_string(frag.moof_size) + " out of range");
  std::vector<uint8_t> bytes;
  Status s = src.Read(frag.moof_offset, frag.moof_size, &bytes);
  if (!s) return s;
  MovieFragmentBox moof;
  if (!(s = moof.Parse(bytes.data(), bytes.size()))) return s.WithContext(where);
  uint64_t continuation = frag.time;
  std::vector<TrackFragmentSamples> trafs;
  if (!(s = ReadFragment(moof, frag.moof_offset, moov,
                         [](uint32_t, void* u) { return *static_cast<const uint64_t*>(u); }, &continuation, &trafs)))
    return s;
  for (size_t i = 0; i < trafs.size(); i++) {
    if (trafs[i].track_id != track_id) continue;
    *out = std::move(trafs[i]);
    // Onto the index's timeline: its time has the start offset applied.
    uint64_t delta = frag.time - out->decode_time;  // modulo 2^64, like the times
    if (delta) {
      out->decode_time = frag.time;
      for (ReadSample& r : out->samples) r.decode_time += delta;
    }
    if (frag.truncated && out->samples.size() > frag.sample_count) {
      out->samples.resize(frag.sample_count);
      out->duration = 0;
      for (const ReadSample& r : out->samples) out->duration += r.duration;
    }
    if (traf_index) *traf_index = i;
    if (moof_out) *moof_out = std::move(moof);
    return Status::Ok();
  }
  return Status::Error(where + ": no traf for track " + std::to_string(track_id));
}

Status ReadAheadByteSource::Read(uint64_t offset, size_t size, std::vector<uint8_t>* out) {
  const uint64_t total = base_.Size();
  if (size >= window_ || offset > total || size > total - offset) {
    base_reads_++;
    return base_.Read(offset, size, out);  // the base names the error
  }
  if (buf_.empty() || offset < buf_offset_ || offset + size > buf_offset_ + buf_.size()) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(window_, total - offset));
    base_reads_++;
    Status s = base_.Read(offset, n, &buf_);
    if (!s) {
      buf_.clear();
      return s;
    }
    buf_offset_ = offset;
  }
  const uint8_t* p = buf_.data() + (offset - buf_offset_);
  out->assign(p, p + size);
  return Status::Ok();
}

Status MediaIndex::Build(ByteSource& base, MediaIndex* out) {
  *out = MediaIndex();
  // Box headers, moofs and the mdat header after each moof usually sit in
  // one window.
  ReadAheadByteSource src(base);
  ScanState scan;
  std::vector<std::pair<size_t, size_t>> awaiting_mdat;  // (track, fragment) indexes
  uint32_t last_sequence = 0;
  const uint64_t size = src.Size();
  uint64_t off = 0;
  std::vector<uint8_t> head;
  while (off < size) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(32, size - off));
    Status s = src.Read(off, want, &head);
    if (!s) return s;
    BoxHeader h;
    s = ParseBoxHeaderAt(head.data(), head.size(), size - off, &h);
    if (!s) {
      out->problems.push_back("truncated or corrupt top-level box at offset " + std::to_string(off) + ": " +
                              s.message() + " (index stops here)");
      break;
    }
    if (h.type == MakeFourCC("ftyp") && !out->ftyp) {
      out->ftyp.emplace();
      if (!(s = ReadAndParse(src, off, h.size, 4096, &*out->ftyp))) return s;
    } else if (h.type == MakeFourCC("uuid") && h.usertype == kLiveServerManifestUuid && !out->live_manifest) {
      out->live_manifest.emplace();
      if (!(s = ReadAndParse(src, off, h.size, kMaxMoovSize, &*out->live_manifest))) return s;
    } else if (h.type == MakeFourCC("moov") && !out->moov) {
      out->moov.emplace();
      if (!(s = ReadAndParse(src, off, h.size, kMaxMoovSize, &*out->moov))) return s;
      out->init_end = off + h.size;
      for (const TrackBox& trak : out->moov->tracks) {
        IndexedTrack t;
        if (!(s = DescribeTrack(trak, &t))) return s;
        out->tracks.push_back(std::move(t));
      }
    } else if (h.type == MakeFourCC("moof")) {
      if (!out->moov) return Status::Error("moof at " + std::to_string(off) + " before any moov");
      MovieFragmentBox moof;
      if (!(s = ReadAndParse(src, off, h.size, kMaxMoofSize, &moof))) return s;
      if (moof.mfhd.sequence_number <= last_sequence && last_sequence)
        out->problems.push_back("moof at " + std::to_string(off) + ": mfhd sequence number " +
                                std::to_string(moof.mfhd.sequence_number) + " does not increase");
      last_sequence = moof.mfhd.sequence_number;
      std::vector<TrackFragmentSamples> frags;
      if (!(s = ReadFragment(moof, off, &*out->moov, ContinuationTime, &scan, &frags))) return s;
      awaiting_mdat.clear();
      // A moof whose mdat the end of the file cuts: its samples that are
      // wholly present are indexed (what is in the file plays), the rest is
      // reported, and the scan ends there.
      bool data_truncated = false;
      size_t lost = 0;
      for (auto& f : frags) {
        size_t keep = 0;
        while (keep < f.samples.size() && f.samples[keep].offset <= size &&
               f.samples[keep].size <= size - f.samples[keep].offset)
          keep++;
        if (keep < f.samples.size()) {
          data_truncated = true;
          lost += f.samples.size() - keep;
          f.samples.resize(keep);
          f.duration = 0;
          for (const auto& smp : f.samples) f.duration += smp.duration;
        }
      }
      if (data_truncated)
        out->problems.push_back("moof at " + std::to_string(off) + ": its sample data is cut off by the end of the file; " +
                                std::to_string(lost) + " sample(s) missing (index stops here)");
      for (size_t i = 0; i < frags.size(); i++) {
        const TrackFragmentSamples& f = frags[i];
        if (f.samples.empty() && data_truncated) continue;
        IndexedTrack* track = nullptr;
        size_t track_index = 0;
        for (size_t k = 0; k < out->tracks.size(); k++)
          if (out->tracks[k].config.track_id == f.track_id) {
            track = &out->tracks[k];
            track_index = k;
          }
        if (!track) continue;  // ReadFragment already refuses unknown track IDs
        IndexedFragment x;
        x.time = f.decode_time;
        x.duration = f.duration;
        x.moof_offset = off;
        x.moof_size = static_cast<uint32_t>(h.size);
        x.sample_count = static_cast<uint32_t>(f.samples.size());
        for (auto& smp : f.samples) {
          x.payload_bytes += smp.size;
          x.sync_samples += smp.sync;
        }
        x.starts_with_sync = !f.samples.empty() && f.samples[0].sync;
        x.shared_moof = frags.size() > 1;
        x.traf_index = static_cast<uint32_t>(i);
        x.truncated = data_truncated;
        x.sync_time = x.time;
        bool have_sync = false;
        size_t implausible = 0;
        int64_t worst = 0;
        LeadingPictureCounter leading;
        for (const auto& smp : f.samples) {
          if (!IsPlausibleCompositionOffset(smp.composition_offset, track->config.timescale)) {
            if (!implausible++) worst = smp.composition_offset;
            leading.Add(static_cast<int64_t>(smp.decode_time), smp.sync);  // readers use 0 for it
            continue;
          }
          leading.Add(static_cast<int64_t>(smp.decode_time) + smp.composition_offset, smp.sync);
          if (smp.sync && !have_sync) {
            x.sync_time = smp.decode_time + static_cast<uint64_t>(smp.composition_offset);
            have_sync = true;
          }
        }
        x.leading_pictures = leading.count();
        if (implausible)
          out->problems.push_back("track " + std::to_string(f.track_id) + ": fragment at " + FormatSignedTime(x.time) +
                                  ": " + std::to_string(implausible) + " sample(s) with a composition offset beyond " +
                                  std::to_string(kMaxCompositionOffsetSeconds) + " s (first: " +
                                  std::to_string(worst) + " ticks = " +
                                  std::to_string(worst / static_cast<int64_t>(track->config.timescale)) +
                                  " s): damaged; ismdemux presents them at their decode time");
        if (!track->fragments.empty()) {
          const IndexedFragment& prev = track->fragments.back();
          // FindFragment* binary-search the times, so they must not go back
          // (on the signed timeline: a negative start wraps through zero): a
          // fragment that does (hostile or corrupt tfxd/tfdt) stays out.
          if (TimeBefore(x.time, prev.time)) {
            out->problems.push_back("track " + std::to_string(f.track_id) + ": fragment at " +
                                    FormatSignedTime(x.time) + " goes back before the previous one at " +
                                    FormatSignedTime(prev.time) + " (left out of the index)");
            continue;
          }
          if (prev.time + prev.duration != x.time)
            out->problems.push_back("track " + std::to_string(f.track_id) + ": fragment at " +
                                    FormatSignedTime(x.time) + " does not follow the previous one (ends at " +
                                    FormatSignedTime(prev.time + prev.duration) + ")");
        }
        scan.track_end[f.track_id] = f.decode_time + f.duration;
        track->payload_bytes += x.payload_bytes;
        track->fragments.push_back(x);
        awaiting_mdat.emplace_back(track_index, track->fragments.size() - 1);
      }
    } else if (h.type == MakeFourCC("mdat")) {
      for (auto& a : awaiting_mdat) out->tracks[a.first].fragments[a.second].end_offset = off + h.size;
      awaiting_mdat.clear();
    } else if (h.type == MakeFourCC("mfra") && !out->mfra) {
      out->mfra.emplace();
      if (!(s = ReadAndParse(src, off, h.size, kMaxMfraSize, &*out->mfra))) return s;
    }
    if (h.type != MakeFourCC("moof")) awaiting_mdat.clear();
    off += h.size;
    if (h.type == MakeFourCC("moof") && !out->problems.empty() &&
        out->problems.back().find("(index stops here)") != std::string::npos)
      break;
  }
  if (!out->moov) return Status::Error("no moov box: not an ISO BMFF movie");

  // A negative start (FFmpeg's AAC priming): every track moves by one start
  // offset so that the timeline is unsigned again (start_offset.h).
  std::vector<TrackStart> starts;
  for (const auto& t : out->tracks)
    if (!t.fragments.empty()) starts.push_back({t.config.track_id, t.fragments[0].time, t.config.timescale});
  Status st = ComputeStartOffset(starts, &out->start_offset);
  if (!st) return st;
  if (!out->start_offset.zero()) {
    for (auto& t : out->tracks) {
      uint64_t add = out->start_offset.In(t.config.timescale);
      for (auto& f : t.fragments) {
        f.time += add;  // cannot stay negative: times do not go back
        f.sync_time += add;
        f.retimed = add != 0;
      }
    }
  }

  // Cross-check the random-access index against what the scan found.
  if (out->mfra) {
    for (const auto& tfra : out->mfra->tfras) {
      const IndexedTrack* t = out->FindTrack(tfra.track_id);
      std::string where = "tfra of track " + std::to_string(tfra.track_id);
      if (!t) {
        out->problems.push_back(where + ": no such track");
        continue;
      }
      if (tfra.entries.size() != t->fragments.size())
        out->problems.push_back(where + ": " + std::to_string(tfra.entries.size()) + " entries for " +
                                std::to_string(t->fragments.size()) + " fragments");
      uint64_t add = out->start_offset.In(t->config.timescale);
      // FFmpeg gives the entries of a track that starts negative on that
      // track's own shifted timeline (its first entry 0, not the tfxd time).
      uint64_t own = 0;
      if (!t->fragments.empty() && IsNegativeTime(t->fragments[0].time - add))
        own = uint64_t{0} - (t->fragments[0].time - add);
      for (const auto& e : tfra.entries) {
        uint64_t time = e.time;
        ptrdiff_t i = ApplyStartOffset(e.time, add, &time) ? FindTfraFragment(*t, time) : -1;
        if (i < 0 && own && own <= add && ApplyStartOffset(e.time, add - own, &time)) i = FindTfraFragment(*t, time);
        if (i < 0) {
          out->problems.push_back(where + ": entry time " + std::to_string(e.time) + " matches no fragment");
        } else if (t->fragments[i].moof_offset != e.moof_offset) {
          out->problems.push_back(where + ": entry time " + std::to_string(e.time) + " points at offset " +
                                  std::to_string(e.moof_offset) + ", the moof is at " +
                                  std::to_string(t->fragments[i].moof_offset));
        }
      }
    }
  }
  for (const auto& t : out->tracks)
    for (const auto& f : t.fragments)
      if (t.config.kind == TrackConfig::Kind::kVideo && !f.starts_with_sync) {
        out->problems.push_back("track " + std::to_string(t.config.track_id) + ": fragment at " +
                                std::to_string(f.time) + " does not start with a keyframe");
        break;
      }
  for (const auto& t : out->tracks) {
    uint64_t affected = 0;
    const IndexedFragment* first = nullptr;
    for (const auto& f : t.fragments)
      if (f.leading_pictures) {
        affected++;
        if (!first) first = &f;
      }
    if (first)
      out->problems.push_back("track " + std::to_string(t.config.track_id) + ": " +
                              DescribeOpenGops(affected, t.fragments.size(),
                                               static_cast<double>(first->time) / (t.config.timescale ? t.config.timescale : 1),
                                               first->leading_pictures));
  }
  return Status::Ok();
}

}  // namespace piff
