// IngestParser: a StreamReader in relay mode over a std::vector, turning
// its units into the header and per-track fragments of an ingest body.
#include "ingest_stream.h"

#include <algorithm>
#include <string>

#include "fourcc.h"
#include "keyframes.h"

namespace piff {

namespace {

// Room for boxes before the first moof besides ftyp, LSM and moov (free,
// the StreamManifestBox): they are part of the header bytes a reconnect
// must repeat, so they are held, but not without limit.
constexpr uint64_t kHeaderExtra = 1u << 20;

std::string U64(uint64_t v) { return std::to_string(v); }

}  // namespace

struct IngestParser::Impl {
  explicit Impl(StreamLimits l) : limits(l), reader(l, StreamMode::kRelay) {}

  StreamLimits limits;
  StreamReader reader;
  std::vector<uint8_t> buf;   // bytes not yet dropped by the reader
  Status failed;              // final once set
  bool header_done = false;
  bool ended = false;         // the mfra came
  IngestHeader header;        // bytes collected until the first moof
  uint64_t next_box = 0;      // stream offset of the next top-level box
  uint64_t skipped = 0;
  // A moof waiting for its mdat.
  bool have_moof = false;
  std::vector<uint8_t> moof_bytes;
  MovieFragmentBox moof;
  std::vector<TrackFragmentSamples> fragments;
  uint64_t moof_offset = 0;

  Status Fail(const std::string& text) {
    failed = Status::Error(text);
    return failed;
  }

  uint64_t HeaderLimit() const { return limits.ftyp + limits.live_manifest + limits.moov + kHeaderExtra; }

  Status KeepHeaderBytes(const uint8_t* data, uint64_t size) {
    if (header.bytes.size() + size > HeaderLimit())
      return Fail("the header (the boxes before the first moof) exceeds " + U64(HeaderLimit()) + " bytes");
    header.bytes.insert(header.bytes.end(), data, data + size);
    return Status::Ok();
  }

  Status FinishHeader(std::vector<Event>* events) {
    if (!reader.ftyp()) return Fail("the stream has no ftyp before its first fragment");
    if (!reader.moov()) return Fail("the stream has no moov before its first fragment");
    header.ftyp = *reader.ftyp();
    header.live_manifest = reader.live_manifest();
    header.moov = *reader.moov();
    header_done = true;
    Event e;
    e.kind = Event::Kind::kHeader;
    e.header = std::move(header);
    header = IngestHeader();
    events->push_back(std::move(e));
    return Status::Ok();
  }

  // The moof waiting in moof_bytes is followed by `mdat` (whole box, at
  // stream offset mdat_offset): one event per track fragment.
  Status OnMdat(const uint8_t* mdat, uint64_t mdat_size, uint64_t mdat_offset, std::vector<Event>* events) {
    have_moof = false;
    const std::string where = "moof at offset " + U64(moof_offset);
    BoxHeader mh;
    Status s = ParseBoxHeader(mdat, static_cast<size_t>(mdat_size), &mh);
    if (!s) return Fail(where + ": its mdat header: " + s.message());
    const uint64_t payload = mdat_offset + mh.header_size, end = mdat_offset + mdat_size;
    bool verbatim = fragments.size() == 1 && moof.trafs.size() == 1 &&
                    !(moof.trafs[0].tfhd.flags & TrackFragmentHeaderBox::kBaseDataOffset);
    for (size_t i = 0; i < fragments.size(); i++) {
      const TrackFragmentSamples& tf = fragments[i];
      for (const ReadSample& r : tf.samples)
        if (r.size && (r.offset < payload || r.offset > end || r.size > end - r.offset))
          return Fail(where + ": track " + std::to_string(tf.track_id) + " has sample data at offset " +
                      U64(r.offset) + " (+" + std::to_string(r.size) + ") outside the mdat that follows it (" +
                      U64(payload) + ".." + U64(end) + ")");
      Event e;
      e.kind = Event::Kind::kFragment;
      IngestFragment& f = e.fragment;
      f.track_id = tf.track_id;
      f.offset = moof_offset;
      f.sequence = moof.mfhd.sequence_number;
      f.time = tf.decode_time;
      f.duration = tf.duration;
      f.samples = static_cast<uint32_t>(tf.samples.size());
      f.starts_with_sync = !tf.samples.empty() && tf.samples[0].sync;
      if (verbatim) {
        f.bytes = std::move(moof_bytes);
        f.bytes.insert(f.bytes.end(), mdat, mdat + mdat_size);
      } else {
        FragmentBody body;
        s = BuildTrackFragmentFromSamples(moof, i, tf, SampleSelection::kAll, where, &body);
        if (!s) return Fail("cannot split the fragment per track: " + s.message());
        f.bytes = std::move(body.header);
        for (const ByteRange& r : body.ranges) {
          const uint8_t* from = mdat + (r.offset - mdat_offset);
          f.bytes.insert(f.bytes.end(), from, from + r.size);
        }
      }
      events->push_back(std::move(e));
    }
    moof_bytes.clear();
    fragments.clear();
    return Status::Ok();
  }

  Status OnUnit(const StreamStep& step, std::vector<Event>* events) {
    switch (step.unit) {
      case StreamUnit::kFtyp:
      case StreamUnit::kLiveManifest:
      case StreamUnit::kMoov:
        if (header_done)
          return Fail(std::string("a second ") + StreamUnitName(step.unit) + " at offset " + U64(step.offset));
        if (step.unit == StreamUnit::kLiveManifest && !step.unit_status)
          return Fail("the Live Server Manifest box at offset " + U64(step.offset) +
                      " does not parse: " + step.unit_status.message());
        return KeepHeaderBytes(step.data, step.size);
      case StreamUnit::kMoof:
        if (have_moof) return Fail("the moof at offset " + U64(moof_offset) + " has no mdat after it");
        if (!header_done) {
          Status s = FinishHeader(events);
          if (!s) return s;
        }
        have_moof = true;
        moof_offset = step.offset;
        moof_bytes.assign(step.data, step.data + step.size);
        moof = reader.moof();
        fragments = reader.fragments();
        return Status::Ok();
      case StreamUnit::kMdat:
        if (!have_moof) return Fail("an mdat at offset " + U64(step.offset) + " without a moof before it");
        return OnMdat(step.data, step.size, step.offset, events);
      case StreamUnit::kMfra: {
        if (have_moof) return Fail("the moof at offset " + U64(moof_offset) + " has no mdat after it");
        if (!header_done) {
          Status s = FinishHeader(events);
          if (!s) return s;
        }
        ended = true;
        Event e;
        e.kind = Event::Kind::kEnd;
        events->push_back(std::move(e));
        return Status::Ok();
      }
    }
    return Status::Ok();
  }

  // A skip step at the start of a top-level box: its type decides whether
  // it is allowed (a second moov is not silently ignored).
  Status OnSkip(const StreamStep& step) {
    if (step.offset == next_box) {
      BoxHeader h;
      // A size 0 box ("to the end") claims all that remains.
      const uint64_t remaining = UINT64_MAX - step.offset;
      if (ParseBoxHeaderAt(buf.data(), buf.size(), remaining, &h)) {
        next_box = h.size >= remaining ? UINT64_MAX : step.offset + h.size;
        if (h.type == MakeFourCC("moov"))
          return Fail("a second moov at offset " + U64(step.offset));
      }
    }
    if (!header_done) return KeepHeaderBytes(buf.data(), step.size);
    if (have_moof) return Fail("the moof at offset " + U64(moof_offset) + " has no mdat after it");
    skipped += step.size;
    return Status::Ok();
  }

  Status Run(std::vector<Event>* events) {
    for (int guard = 0;; guard++) {
      if (ended && !buf.empty()) return Fail("data after the mfra at offset " + U64(reader.offset()));
      size_t want = reader.Want(buf.size());
      StreamStep step;
      Status s = reader.Next(want ? buf.data() : nullptr, want, buf.size(), &step);
      if (!s) return Fail(step.error_text + ": " + s.message());
      if (step.kind == StreamStep::Kind::kNeedData) {
        if (step.again && guard < 1000000) continue;
        return Status::Ok();
      }
      if (step.kind == StreamStep::Kind::kUnit) {
        next_box = step.offset + step.size;
        s = OnUnit(step, events);
      } else {
        s = OnSkip(step);
      }
      if (!s) return s;
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(step.size));
    }
  }
};

IngestParser::IngestParser(StreamLimits limits) : impl_(std::make_shared<Impl>(limits)) {}

Status IngestParser::Push(const uint8_t* data, size_t size, std::vector<Event>* events) {
  Impl& m = *impl_;
  if (!m.failed) return m.failed;
  if (m.ended && size) return m.Fail("data after the mfra at offset " + U64(m.reader.offset()));
  m.buf.insert(m.buf.end(), data, data + size);
  return m.Run(events);
}

Status IngestParser::Finish() {
  Impl& m = *impl_;
  if (!m.failed) return m.failed;
  StreamEnd end = m.reader.Finish(m.buf.size());
  if (end.truncated)
    return m.Fail("the body ended inside the '" + FourCCToString(end.box_type) + "' box at offset " +
                  U64(end.box_offset) + " (" + U64(end.box_size) + " bytes, the body ends at " + U64(end.end_offset) +
                  ")");
  if (!m.buf.empty())
    return m.Fail("the body ended inside a box header at offset " + U64(m.reader.offset()));
  // The reader does not call the end of a skipped box truncation.
  if (m.next_box != UINT64_MAX && m.reader.offset() < m.next_box)
    return m.Fail("the body ended inside a skipped box at offset " + U64(m.reader.offset()) + ", before its end at " +
                  U64(m.next_box));
  if (m.have_moof) return m.Fail("the moof at offset " + U64(m.moof_offset) + " has no mdat after it");
  return Status::Ok();
}

uint64_t IngestParser::offset() const { return impl_->reader.offset(); }
size_t IngestParser::buffered() const {
  return impl_->buf.size() + impl_->moof_bytes.size() + impl_->header.bytes.size();
}
uint64_t IngestParser::skipped_bytes() const { return impl_->skipped; }

}  // namespace piff
