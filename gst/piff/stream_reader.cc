#include "stream_reader.h"

#include <algorithm>
#include <limits>
#include <utility>

#include "fourcc.h"

namespace piff {

namespace {

// The longest top-level box header: 8, +8 for a 64-bit size, +16 for uuid.
constexpr size_t kMaxHeaderBytes = 32;

size_t HeaderBytes(const uint8_t* d) {
  size_t n = (d[0] == 0 && d[1] == 0 && d[2] == 0 && d[3] == 1) ? 16 : 8;
  if (d[4] == 'u' && d[5] == 'u' && d[6] == 'i' && d[7] == 'd') n += 16;
  return n;
}

std::string U64(uint64_t v) { return std::to_string(v); }

}  // namespace

const char* StreamUnitName(StreamUnit u) {
  switch (u) {
    case StreamUnit::kFtyp: return "ftyp";
    case StreamUnit::kLiveManifest: return "Live Server Manifest";
    case StreamUnit::kMoov: return "moov";
    case StreamUnit::kMoof: return "moof";
    case StreamUnit::kMdat: return "mdat";
    case StreamUnit::kMfra: return "mfra";
  }
  return "?";
}

size_t StreamReader::Want(uint64_t available) const {
  switch (phase_) {
    case Phase::kTop: return static_cast<size_t>(std::min<uint64_t>(available, kMaxHeaderBytes));
    case Phase::kBox: return available >= box_.size ? static_cast<size_t>(box_.size) : 0;
    default: return 0;
  }
}

Status StreamReader::Fail(StreamStep* step, std::string text, std::string detail) {
  phase_ = Phase::kFailed;
  failure_text_ = std::move(text);
  failure_detail_ = std::move(detail);
  step->error_text = failure_text_;
  return Status::Error(failure_detail_);
}

Status StreamReader::Next(const uint8_t* head, size_t head_size, uint64_t available, StreamStep* step) {
  *step = StreamStep();
  step->offset = offset_;
  if (!sorted_) {
    // Samples come out in the order of their bytes; a fragment's own order
    // is kept for equal offsets.
    std::stable_sort(pending_.begin() + static_cast<std::ptrdiff_t>(next_pending_), pending_.end(),
                     [](const Pending& a, const Pending& b) { return a.sample.offset < b.sample.offset; });
    sorted_ = true;
  }
  Status s;
  switch (phase_) {
    case Phase::kFailed:
      step->error_text = failure_text_;
      return Status::Error(failure_detail_);
    case Phase::kTop: s = OnHeader(head, head_size, available, step); break;
    case Phase::kBox:
      if (available < box_.size || head_size < box_.size || !head) return Status::Ok();
      s = OnWholeBox(head, step);
      break;
    case Phase::kMdat: s = OnMdat(available, step); break;
    case Phase::kSkip:
      if (available == 0) return Status::Ok();
      step->kind = StreamStep::Kind::kSkip;
      step->size = std::min<uint64_t>(available, skip_);
      skip_ -= step->size;
      offset_ += step->size;
      break;
  }
  Settle();
  return s;
}

// Leaves the walk in a phase that has work to do: an mdat with no sample left
// to cut is skipped, and a finished skip is at the next header. So Want()
// always asks for the bytes the next step needs.
void StreamReader::Settle() {
  if (phase_ == Phase::kMdat && !queued()) {
    skip_ = box_end_ - offset_;
    phase_ = Phase::kSkip;
  }
  if (phase_ == Phase::kSkip && skip_ == 0) phase_ = Phase::kTop;
}

Status StreamReader::OnHeader(const uint8_t* head, size_t head_size, uint64_t available, StreamStep* step) {
  if (available < 8 || head_size < 8 || !head) return Status::Ok();
  size_t need = HeaderBytes(head);
  if (available < need || head_size < need) return Status::Ok();
  BoxHeader h;
  Status s = ParseBoxHeaderAt(head, need, std::numeric_limits<uint64_t>::max() - offset_, &h);
  if (!s) return Fail(step, "Corrupt box header at offset " + U64(offset_), s.message());
  box_ = h;
  box_start_ = offset_;
  box_end_ = offset_ + h.size;
  FourCC type = h.type;
  uint64_t limit = 0;
  if (type == MakeFourCC("ftyp")) limit = limits_.ftyp;
  // In relay mode a later moov (a restarted muxer) is read too: the consumer
  // decides what a new header means.
  else if (type == MakeFourCC("moov") && (!moov_ || mode_ == StreamMode::kRelay)) limit = limits_.moov;
  else if (type == MakeFourCC("moof")) limit = limits_.moof;
  else if (type == MakeFourCC("uuid") && h.usertype == kLiveServerManifestUuid &&
           (!live_manifest_ || mode_ == StreamMode::kRelay))
    limit = limits_.live_manifest;
  else if (mode_ == StreamMode::kRelay && type == MakeFourCC("mdat")) limit = limits_.mdat;
  else if (mode_ == StreamMode::kRelay && type == MakeFourCC("mfra")) limit = limits_.mfra;
  if (queued() && (type == MakeFourCC("moof") || type == MakeFourCC("moov"))) {
    // Samples are cut out of the mdat that follows their moof; a layout that
    // puts them elsewhere cannot be streamed.
    return Fail(step, "Sample data is missing",
                std::to_string(queued()) + " samples of the moof at " + U64(moof_offset_) +
                    " are not in an mdat that follows it");
  }
  if (type == MakeFourCC("moof") && !moov_)
    return Fail(step, "Movie fragment before the movie header",
                "moof at offset " + U64(offset_) + " precedes any moov");
  if (limit) {
    if (h.size > limit)
      return Fail(step, "Box '" + FourCCToString(type) + "' at offset " + U64(offset_) + " is too large",
                  U64(h.size) + " bytes, the limit is " + U64(limit));
    phase_ = Phase::kBox;
    if (head_size >= h.size) return OnWholeBox(head, step);
    step->again = available >= h.size;  // kNeedData: the caller maps the whole box
    return Status::Ok();
  }
  step->kind = StreamStep::Kind::kSkip;
  if (type == MakeFourCC("mdat") && queued()) {
    step->size = h.header_size;
    phase_ = Phase::kMdat;
  } else {
    step->size = std::min<uint64_t>(available, h.size);
    skip_ = h.size - step->size;
    phase_ = Phase::kSkip;
  }
  offset_ += step->size;
  return Status::Ok();
}

uint64_t StreamReader::ContinuationTime(uint32_t track_id, void* user) {
  auto* self = static_cast<StreamReader*>(user);
  auto it = self->track_ends_.find(track_id);
  return it == self->track_ends_.end() ? 0 : it->second;
}

Status StreamReader::OnWholeBox(const uint8_t* data, StreamStep* step) {
  size_t size = static_cast<size_t>(box_.size);
  FourCC type = box_.type;
  step->kind = StreamStep::Kind::kUnit;
  step->size = size;
  step->data = data;
  if (type == MakeFourCC("ftyp")) {
    step->unit = StreamUnit::kFtyp;
    FileTypeBox ftyp;
    if (ftyp.Parse(data, size)) ftyp_ = std::move(ftyp);
  } else if (type == MakeFourCC("uuid")) {
    step->unit = StreamUnit::kLiveManifest;
    LiveServerManifestBox lsm;
    step->unit_status = lsm.Parse(data, size);
    if (step->unit_status) live_manifest_ = std::move(lsm);
  } else if (type == MakeFourCC("moov")) {
    step->unit = StreamUnit::kMoov;
    MovieBox moov;
    Status s = moov.Parse(data, size);
    if (!s) return Fail(step, "Corrupt moov box at offset " + U64(box_start_), s.message());
    moov_ = std::move(moov);
  } else if (type == MakeFourCC("mdat")) {
    step->unit = StreamUnit::kMdat;
  } else if (type == MakeFourCC("mfra")) {
    step->unit = StreamUnit::kMfra;
  } else {
    step->unit = StreamUnit::kMoof;
    moof_ = MovieFragmentBox();
    fragments_.clear();
    pending_.clear();
    next_pending_ = 0;
    moof_offset_ = box_start_;
    Status s = moof_.Parse(data, size);
    if (s) s = ReadFragment(moof_, moof_offset_, &*moov_, ContinuationTime, this, &fragments_);
    if (!s) return Fail(step, "Corrupt movie fragment at offset " + U64(moof_offset_), s.message());
    for (const TrackFragmentSamples& f : fragments_) track_ends_[f.track_id] = f.decode_time + f.duration;
  }
  offset_ += size;
  phase_ = Phase::kTop;
  return Status::Ok();
}

Status StreamReader::Queue(size_t fragment, size_t first) {
  if (fragment >= fragments_.size()) return Status::Error("no track fragment " + std::to_string(fragment));
  const TrackFragmentSamples& f = fragments_[fragment];
  for (size_t k = first; k < f.samples.size(); k++)
    if (f.samples[k].size > limits_.sample)
      return Status::Error("sample " + std::to_string(k) + " of the fragment at offset " + U64(moof_offset_) +
                           " claims " + std::to_string(f.samples[k].size) + " bytes, the limit is " +
                           U64(limits_.sample));
  for (size_t k = first; k < f.samples.size(); k++) pending_.push_back({f.samples[k], fragment, k});
  sorted_ = false;
  return Status::Ok();
}

Status StreamReader::OnMdat(uint64_t available, StreamStep* step) {
  const Pending& p = pending_[next_pending_];
  uint64_t start = p.sample.offset, size = p.sample.size;
  if (start < offset_ || start > box_end_ || size > box_end_ - start)
    return Fail(step, "Sample data outside its mdat",
                "track " + std::to_string(fragments_[p.fragment].track_id) + " sample at offset " + U64(start) +
                    " (+" + U64(size) + ") is not inside the mdat at " + U64(box_start_) + ".." + U64(box_end_) +
                    " (reading at " + U64(offset_) + ")");
  if (offset_ < start) {
    if (available == 0) return Status::Ok();
    step->kind = StreamStep::Kind::kSkip;
    step->size = std::min<uint64_t>(available, start - offset_);
    offset_ += step->size;
    return Status::Ok();
  }
  if (available < size) return Status::Ok();
  step->kind = StreamStep::Kind::kSample;
  step->size = size;
  step->sample = p.sample;
  step->fragment = p.fragment;
  step->index = p.index;
  next_pending_++;
  if (!queued()) {
    pending_.clear();
    next_pending_ = 0;
  }
  offset_ += size;
  return Status::Ok();
}

void StreamReader::SetOffset(uint64_t at) {
  if (AtBoxBoundary()) offset_ = at;
}

void StreamReader::Reset(uint64_t at) {
  phase_ = Phase::kTop;
  offset_ = at;
  skip_ = 0;
  pending_.clear();
  next_pending_ = 0;
  sorted_ = true;
  failure_text_.clear();
  failure_detail_.clear();
}

StreamEnd StreamReader::Finish(uint64_t available) const {
  StreamEnd e;
  e.box_type = box_.type;
  e.box_offset = box_start_;
  e.box_size = box_.size;
  e.end_offset = offset_ + available;
  e.lost_samples = queued();
  e.truncated = phase_ == Phase::kBox || phase_ == Phase::kMdat || queued() > 0 ||
                (phase_ == Phase::kTop && available > 0);
  return e;
}

}  // namespace piff
