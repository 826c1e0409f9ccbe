// BuildTrackFragment / BuildKeyFramesFragment: rewriting one track fragment
// with a subset of its samples, as header bytes plus source byte ranges.
#include "keyframes.h"

#include <limits>
#include <string>

#include "fragment.h"

namespace piff {

namespace {


// Boxes in a traf that describe individual samples (encryption IVs and
// subsample maps). Dropping samples would leave them describing the wrong
// samples, and rewriting them is the encryption code's job, not ours.
bool DescribesSamples(const std::vector<uint8_t>& raw) {
  if (raw.size() < 8) return false;
  FourCC type = (static_cast<uint32_t>(raw[4]) << 24) | (static_cast<uint32_t>(raw[5]) << 16) |
                (static_cast<uint32_t>(raw[6]) << 8) | raw[7];
  if (type == MakeFourCC("senc") || type == MakeFourCC("saiz") || type == MakeFourCC("saio")) return true;
  if (type == MakeFourCC("uuid")) {
    size_t header = 8;
    if (raw[0] == 0 && raw[1] == 0 && raw[2] == 0 && raw[3] == 1) header = 16;
    if (raw.size() >= header + 16) {
      Uuid u;
      for (size_t i = 0; i < 16; i++) u[i] = raw[header + i];
      return u == kPiffSencUuid;
    }
  }
  return false;
}

}  // namespace

uint64_t FragmentBody::size() const {
  uint64_t n = header.size();
  for (const ByteRange& r : ranges) n += r.size;
  return n;
}

Status BuildTrackFragment(ByteSource& src, const MovieBox* moov, const IndexedFragment& frag, uint32_t track_id,
                          SampleSelection selection, FragmentBody* out) {
  *out = FragmentBody();
  MovieFragmentBox moof;
  TrackFragmentSamples samples;
  size_t traf_index = 0;
  Status s = ReadIndexedFragment(src, moov, frag, track_id, &samples, &moof, &traf_index);
  if (!s) return s;
  s = BuildTrackFragmentFromSamples(moof, traf_index, samples, selection, "moof@" + std::to_string(frag.moof_offset),
                                    out);
  if (!s) return s;
  for (const ByteRange& r : out->ranges)
    if (r.offset > src.Size() || r.size > src.Size() - r.offset)
      return Status::Error("moof@" + std::to_string(frag.moof_offset) + ": sample data [" + std::to_string(r.offset) +
                           ", +" + std::to_string(r.size) + ") lies past the end of the file");
  return Status::Ok();
}

Status BuildTrackFragmentFromSamples(const MovieFragmentBox& moof, size_t traf_index, const TrackFragmentSamples& tf,
                                     SampleSelection selection, const std::string& where, FragmentBody* out) {
  *out = FragmentBody();
  const uint32_t track_id = tf.track_id;
  if (traf_index >= moof.trafs.size()) return Status::Error(where + ": no traf " + std::to_string(traf_index));
  const TrackFragmentBox* traf = &moof.trafs[traf_index];
  for (const auto& raw : traf->other)
    if (DescribesSamples(raw))
      return Status::Error(where + ": track " + std::to_string(track_id) +
                           " carries per-sample encryption data; cannot rewrite its samples");

  // Pick the samples. A dropped sample's duration goes to the kept sample
  // before it, so kept samples keep their times (see the header).
  std::vector<FragmentSample> kept;
  std::vector<ByteRange> ranges;
  bool have_first = false;
  for (const ReadSample& r : tf.samples) {
    bool keep = selection == SampleSelection::kAll || r.sync;
    if (!keep) {
      if (!kept.empty()) {
        uint64_t d = static_cast<uint64_t>(kept.back().duration) + r.duration;
        if (d > std::numeric_limits<uint32_t>::max())
          return Status::Error(where + ": merged sample duration exceeds 32 bits");
        kept.back().duration = static_cast<uint32_t>(d);
      }
      continue;
    }
    if (r.composition_offset < std::numeric_limits<int32_t>::min() ||
        r.composition_offset > std::numeric_limits<int32_t>::max())
      return Status::Error(where + ": composition offset " + std::to_string(r.composition_offset) +
                           " does not fit a trun");
    if (!have_first) {
      out->decode_time = r.decode_time;
      have_first = true;
    }
    FragmentSample fs;
    fs.duration = r.duration;
    fs.size = r.size;
    fs.sync = r.sync;
    fs.composition_offset = static_cast<int32_t>(r.composition_offset);
    kept.push_back(fs);
    if (r.size == 0) continue;
    if (!ranges.empty() && ranges.back().offset + ranges.back().size == r.offset)
      ranges.back().size += r.size;
    else
      ranges.push_back({r.offset, r.size});
  }
  if (kept.empty())
    return Status::Error(where + ": track " + std::to_string(track_id) +
                         (selection == SampleSelection::kSyncOnly ? " has no sync sample in this fragment"
                                                                  : " has no samples in this fragment"));
  FragmentParams params;
  params.sequence_number = moof.mfhd.sequence_number;
  params.track_id = track_id;
  params.decode_time = out->decode_time;
  FragmentHeader h = FragmentWriter::Build(params, kept);
  out->header = std::move(h.bytes);
  out->moof_size = h.moof_size;
  out->ranges = std::move(ranges);
  out->sample_count = static_cast<uint32_t>(kept.size());
  for (const FragmentSample& k : kept) out->duration += k.duration;
  return Status::Ok();
}

Status BuildKeyFramesFragment(ByteSource& src, const MovieBox* moov, const IndexedFragment& frag,
                              uint32_t track_id, FragmentBody* out) {
  if (!frag.NeedsRewrite() && frag.end_offset > frag.moof_offset && frag.sample_count > 0 &&
      frag.sync_samples == frag.sample_count) {
    *out = FragmentBody();
    out->ranges.push_back({frag.moof_offset, frag.end_offset - frag.moof_offset});
    out->sample_count = frag.sample_count;
    out->decode_time = frag.time;
    out->duration = frag.duration;
    return Status::Ok();
  }
  return BuildTrackFragment(src, moov, frag, track_id, SampleSelection::kSyncOnly, out);
}

}  // namespace piff
