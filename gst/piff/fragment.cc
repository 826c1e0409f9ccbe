// FragmentWriter and ReadFragment: the PIFF rules for laying out a track
// fragment (tfhd/trun flag choices, data offsets, tfxd) in one place.
#include "fragment.h"

#include <limits>

#include "start_offset.h"

namespace piff {

MovieFragmentBox FragmentWriter::MakeMoof(const FragmentParams& params, const std::vector<FragmentSample>& samples) {
  MovieFragmentBox moof;
  moof.mfhd.sequence_number = params.sequence_number;
  moof.trafs.emplace_back();
  TrackFragmentBox& traf = moof.trafs.back();

  bool all_sync = true, rest_non_sync = true, any_cto = false, negative_cto = false;
  for (size_t i = 0; i < samples.size(); i++) {
    all_sync &= samples[i].sync;
    if (i > 0) rest_non_sync &= !samples[i].sync;
    any_cto |= samples[i].composition_offset != 0;
    negative_cto |= samples[i].composition_offset < 0;
  }

  // tfhd carries only default-sample-flags: Silverlight rejects a default
  // size, some players misbehave with a default duration, and PIFF forbids
  // base-data-offset (digest 1.9).
  traf.tfhd.flags = TrackFragmentHeaderBox::kDefaultSampleFlags;
  traf.tfhd.track_id = params.track_id;

  TrackRunBox trun;
  trun.flags = TrackRunBox::kDataOffset | TrackRunBox::kSampleDuration | TrackRunBox::kSampleSize;
  if (all_sync) {
    traf.tfhd.default_sample_flags = kSyncSampleFlags;
  } else {
    traf.tfhd.default_sample_flags = kNonSyncSampleFlags;
    if (rest_non_sync && samples.front().sync) {
      trun.flags |= TrackRunBox::kFirstSampleFlags;
      trun.first_sample_flags = kSyncSampleFlags;
    } else {
      trun.flags |= TrackRunBox::kSampleFlags;
    }
  }
  if (any_cto) trun.flags |= TrackRunBox::kSampleCompositionOffset;
  trun.version = negative_cto ? 1 : 0;
  trun.samples.resize(samples.size());
  for (size_t i = 0; i < samples.size(); i++) {
    trun.samples[i].duration = samples[i].duration;
    trun.samples[i].size = samples[i].size;
    trun.samples[i].flags = samples[i].sync ? kSyncSampleFlags : kNonSyncSampleFlags;
    trun.samples[i].composition_offset = samples[i].composition_offset;
  }
  traf.truns.push_back(std::move(trun));

  uint64_t duration = 0;
  for (auto& s : samples) duration += s.duration;
  if (params.write_tfdt) {
    traf.tfdt.emplace();
    traf.tfdt->version = 1;
    traf.tfdt->base_media_decode_time = params.decode_time;
  }
  traf.tfxd.emplace();
  traf.tfxd->version = 1;
  traf.tfxd->fragment_absolute_time = params.decode_time;
  traf.tfxd->fragment_duration = duration;
  if (!params.senc.empty()) traf.other.push_back(params.senc);
  return moof;
}

// Where the data_offset field of the first traf's first trun lies in a
// serialised moof (boxes with 32-bit sizes, as MakeMoof writes them), or 0.
static size_t TrunDataOffsetPosition(const std::vector<uint8_t>& moof) {
  auto u32 = [&](size_t p) {
    return static_cast<uint32_t>(moof[p]) << 24 | static_cast<uint32_t>(moof[p + 1]) << 16 |
           static_cast<uint32_t>(moof[p + 2]) << 8 | moof[p + 3];
  };
  for (size_t p = 8; p + 8 <= moof.size();) {
    uint32_t size = u32(p);
    if (size < 8 || size > moof.size() - p) return 0;
    if (u32(p + 4) == MakeFourCC("traf")) {
      for (size_t q = p + 8; q + 8 <= p + size;) {
        uint32_t child = u32(q);
        if (child < 8 || child > p + size - q) return 0;
        // trun: header, version and flags, sample_count, then data_offset.
        if (u32(q + 4) == MakeFourCC("trun")) return child >= 20 && (u32(q + 8) & TrackRunBox::kDataOffset) ? q + 16 : 0;
        q += child;
      }
      return 0;
    }
    p += size;
  }
  return 0;
}

FragmentHeader FragmentWriter::Build(const FragmentParams& params, const std::vector<FragmentSample>& samples) {
  MovieFragmentBox moof = MakeMoof(params, samples);
  FragmentHeader out;
  for (auto& s : samples) out.payload_size += s.size;
  bool large = out.payload_size > std::numeric_limits<uint32_t>::max() - 8;
  size_t mdat_header = large ? 16 : 8;

  // The data offset is relative to the moof start (no base-data-offset, first
  // traf): moof size + mdat header. The moof size does not depend on the value,
  // so it is written into the serialised moof afterwards.
  out.bytes = moof.Serialize();
  out.moof_size = out.bytes.size();
  int32_t data_offset = static_cast<int32_t>(out.moof_size + mdat_header);
  if (size_t at = TrunDataOffsetPosition(out.bytes); at != 0) {
    for (int i = 0; i < 4; i++) out.bytes[at + i] = static_cast<uint8_t>(static_cast<uint32_t>(data_offset) >> (24 - 8 * i));
  } else {
    moof.trafs[0].truns[0].data_offset = data_offset;
    out.bytes = moof.Serialize();
  }

  uint64_t mdat_size = out.payload_size + mdat_header;
  auto put32 = [&](uint32_t v) {
    for (int i = 3; i >= 0; i--) out.bytes.push_back(static_cast<uint8_t>(v >> (8 * i)));
  };
  if (large) {
    put32(1);
    put32(MakeFourCC("mdat"));
    put32(static_cast<uint32_t>(mdat_size >> 32));
    put32(static_cast<uint32_t>(mdat_size));
  } else {
    put32(static_cast<uint32_t>(mdat_size));
    put32(MakeFourCC("mdat"));
  }
  return out;
}

Status ReadFragment(const MovieFragmentBox& moof, uint64_t moof_offset, const MovieBox* moov,
                    uint64_t (*continuation_time)(uint32_t, void*), void* user,
                    std::vector<TrackFragmentSamples>* out) {
  uint64_t next_data = moof_offset;  // implicit base of a traf without one
  for (size_t ti = 0; ti < moof.trafs.size(); ti++) {
    const TrackFragmentBox& traf = moof.trafs[ti];
    const TrackFragmentHeaderBox& tfhd = traf.tfhd;
    std::string where = "moof@" + std::to_string(moof_offset) + "/traf[" + std::to_string(ti) + "]";
    const TrackExtendsBox* trex = moov ? moov->FindTrex(tfhd.track_id) : nullptr;
    if (moov && !moov->FindTrack(tfhd.track_id))
      return Status::Error(where + ": track_ID " + std::to_string(tfhd.track_id) + " is not in moov");

    uint32_t def_duration = tfhd.flags & TrackFragmentHeaderBox::kDefaultSampleDuration
                                ? tfhd.default_sample_duration
                                : (trex ? trex->default_sample_duration : 0);
    uint32_t def_size = tfhd.flags & TrackFragmentHeaderBox::kDefaultSampleSize
                            ? tfhd.default_sample_size
                            : (trex ? trex->default_sample_size : 0);
    uint32_t def_flags = tfhd.flags & TrackFragmentHeaderBox::kDefaultSampleFlags
                             ? tfhd.default_sample_flags
                             : (trex ? trex->default_sample_flags : 0);

    uint64_t base;
    if (tfhd.flags & TrackFragmentHeaderBox::kBaseDataOffset)
      base = tfhd.base_data_offset;
    else if (tfhd.flags & TrackFragmentHeaderBox::kDefaultBaseIsMoof || ti == 0)
      base = moof_offset;
    else
      base = next_data;

    TrackFragmentSamples tf;
    tf.track_id = tfhd.track_id;
    tf.sequence_number = moof.mfhd.sequence_number;
    if (traf.tfxd) {
      tf.decode_time = traf.tfxd->fragment_absolute_time;
      tf.time_source = FragmentTimeSource::kTfxd;
    } else if (traf.tfdt) {
      tf.decode_time = traf.tfdt->base_media_decode_time;
      tf.time_source = FragmentTimeSource::kTfdt;
    } else {
      tf.decode_time = continuation_time ? continuation_time(tfhd.track_id, user) : 0;
    }

    uint64_t t = tf.decode_time;
    uint64_t data = base;
    for (size_t ri = 0; ri < traf.truns.size(); ri++) {
      const TrackRunBox& trun = traf.truns[ri];
      if (trun.flags & TrackRunBox::kDataOffset) {
        // base is a file-controlled 64-bit value (tfhd base-data-offset):
        // add in unsigned arithmetic with explicit range checks, never as int64.
        uint64_t magnitude = trun.data_offset < 0 ? uint64_t{0} - static_cast<uint64_t>(int64_t{trun.data_offset})
                                                  : static_cast<uint64_t>(trun.data_offset);
        if (trun.data_offset < 0 && magnitude > base)
          return Status::Error(where + "/trun[" + std::to_string(ri) + "]: data offset before file start");
        if (trun.data_offset >= 0 && magnitude > std::numeric_limits<uint64_t>::max() - base)
          return Status::Error(where + "/trun[" + std::to_string(ri) + "]: data offset overflows");
        data = trun.data_offset < 0 ? base - magnitude : base + magnitude;
      }
      for (size_t si = 0; si < trun.samples.size(); si++) {
        const auto& s = trun.samples[si];
        ReadSample r;
        r.offset = data;
        r.size = trun.flags & TrackRunBox::kSampleSize ? s.size : def_size;
        r.duration = trun.flags & TrackRunBox::kSampleDuration ? s.duration : def_duration;
        uint32_t flags = def_flags;
        if (trun.flags & TrackRunBox::kSampleFlags)
          flags = s.flags;
        else if (si == 0 && trun.flags & TrackRunBox::kFirstSampleFlags)
          flags = trun.first_sample_flags;
        r.sync = SampleFlagsAreSync(flags);
        r.composition_offset = trun.flags & TrackRunBox::kSampleCompositionOffset ? s.composition_offset : 0;
        r.decode_time = t;
        // Times are signed (a negative start is FFmpeg's AAC priming; see
        // start_offset.h): they may wrap through zero but not past 2^63.
        if (data > std::numeric_limits<uint64_t>::max() - r.size ||
            SignedTime(t) > std::numeric_limits<int64_t>::max() - int64_t{r.duration})
          return Status::Error(where + ": sample offsets or times overflow");
        data += r.size;
        t += r.duration;
        tf.samples.push_back(r);
      }
    }
    tf.duration = t - tf.decode_time;
    next_data = data;
    out->push_back(std::move(tf));
  }
  return Status::Ok();
}

Status AddFragmentReferences(const uint8_t* fragment, size_t size, TfrfBox::Entry self,
                             const std::vector<TfrfBox::Entry>& next, bool empty_tfrf, std::vector<uint8_t>* out) {
  BoxHeader h;
  Status s = ParseBoxHeader(fragment, size, &h);
  if (!s) return s.WithContext("fragment");
  MovieFragmentBox moof;
  if (h.type != MakeFourCC("moof") || !(s = moof.Parse(fragment, static_cast<size_t>(h.size))))
    return Status::Error("fragment: no moof at its start" + (s ? std::string() : ": " + s.message()));
  if (moof.trafs.size() != 1) return Status::Error("fragment: " + std::to_string(moof.trafs.size()) + " trafs");
  TrackFragmentBox& traf = moof.trafs[0];
  if (traf.tfhd.flags & TrackFragmentHeaderBox::kBaseDataOffset)
    return Status::Error("fragment: the tfhd has an absolute base data offset");
  if (next.size() > 255) return Status::Error("fragment: " + std::to_string(next.size()) + " tfrf entries (at most 255)");
  if (!traf.tfxd) {
    traf.tfxd.emplace();
    traf.tfxd->fragment_absolute_time = self.time;
    traf.tfxd->fragment_duration = self.duration;
  }
  traf.tfrf.reset();
  if (!next.empty() || empty_tfrf) {
    traf.tfrf.emplace();
    traf.tfrf->entries = next;
  }
  const int64_t delta = static_cast<int64_t>(moof.ComputeSize()) - static_cast<int64_t>(h.size);
  for (TrackRunBox& trun : traf.truns) {
    if (!(trun.flags & TrackRunBox::kDataOffset)) continue;
    int64_t moved = int64_t{trun.data_offset} + delta;
    if (moved < 0 || moved > INT32_MAX) return Status::Error("fragment: the trun data offset overflows");
    trun.data_offset = static_cast<int32_t>(moved);
  }
  out->clear();
  moof.Write(*out);
  out->insert(out->end(), fragment + h.size, fragment + size);
  return Status::Ok();
}

}  // namespace piff
