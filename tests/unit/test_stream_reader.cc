// StreamReader (stream_reader.h): a live-ingest-shaped stream fed in pieces of
// one byte, of random sizes and whole gives the same units and sample bytes
// with bounded buffering; hostile sizes, truncation, a moof before the moov,
// samples outside their mdat and a moof without its mdat fail or are reported.
#include <glib.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "fourcc.h"
#include "fragment.h"
#include "movie.h"
#include "stream_reader.h"

using namespace piff;

namespace {

struct Layout {
  std::vector<uint8_t> bytes;
  std::vector<std::vector<uint8_t>> samples;  // payloads, in stream order
  size_t moof_count = 0;
  size_t largest_box = 0;  // of those read whole
};

void Put32(std::vector<uint8_t>* b, size_t at, uint32_t v) {
  for (int i = 0; i < 4; i++) (*b)[at + i] = static_cast<uint8_t>(v >> (24 - 8 * i));
}

void Append(std::vector<uint8_t>* out, const std::vector<uint8_t>& b) { out->insert(out->end(), b.begin(), b.end()); }

std::vector<uint8_t> FreeBox(size_t payload) {
  std::vector<uint8_t> b = {0, 0, 0, static_cast<uint8_t>(8 + payload), 'f', 'r', 'e', 'e'};
  b.resize(8 + payload, 0xee);
  return b;
}

// ftyp, Live Server Manifest, moov, then per fragment a moof + mdat of one
// track (video 1, audio 2 alternating), a free box in between, and an mfra-
// like tail that is skipped. Each payload byte names its sample.
Layout MakeStream(size_t fragments, size_t per_fragment) {
  Layout l;
  std::vector<uint8_t> b;
  MakeIsmvFileType().Write(b);
  l.largest_box = b.size();
  LiveServerManifestBox lsm;
  lsm.xml = "<smil xmlns=\"http://www.w3.org/2001/SMIL20/Language\"><head/><body/></smil>";
  size_t before = b.size();
  lsm.Write(b);
  l.largest_box = std::max(l.largest_box, b.size() - before);
  TrackConfig video;
  video.kind = TrackConfig::Kind::kVideo;
  video.track_id = 1;
  video.width = 64;
  video.height = 64;
  video.avcc = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e, 0x01, 0x00, 0x02, 0x68, 0xce};
  TrackConfig audio;
  audio.kind = TrackConfig::Kind::kAudio;
  audio.track_id = 2;
  audio.sample_rate = 48000;
  audio.channels = 2;
  audio.audio_specific_config = {0x11, 0x90};
  before = b.size();
  MakeMovie({video, audio}, 10000000, 0).Write(b);
  l.largest_box = std::max(l.largest_box, b.size() - before);
  for (size_t f = 0; f < fragments; f++) {
    FragmentParams p;
    p.sequence_number = static_cast<uint32_t>(f + 1);
    p.track_id = static_cast<uint32_t>(1 + f % 2);
    p.decode_time = (f / 2) * 20000000;
    std::vector<FragmentSample> s(per_fragment);
    for (size_t i = 0; i < per_fragment; i++) {
      s[i].duration = 400000;
      s[i].size = static_cast<uint32_t>(10 + (f * 7 + i * 13) % 50);
      s[i].sync = i == 0;
    }
    FragmentHeader h = FragmentWriter::Build(p, s);
    Append(&b, h.bytes);
    l.largest_box = std::max(l.largest_box, h.moof_size);
    for (size_t i = 0; i < per_fragment; i++) {
      std::vector<uint8_t> payload(s[i].size, static_cast<uint8_t>(f * 16 + i));
      Append(&b, payload);
      l.samples.push_back(payload);
    }
    if (f % 3 == 1) Append(&b, FreeBox(5));
    l.moof_count++;
  }
  Append(&b, FreeBox(40));
  l.bytes = std::move(b);
  return l;
}

struct Result {
  piff::Status status;
  std::string error_text;
  std::vector<StreamUnit> units;
  std::vector<std::vector<uint8_t>> samples;
  size_t max_buffered = 0;
  StreamEnd end;
  bool lsm_ok = false;
};

// A consumer over a std::vector: feeds `bytes` in the given piece sizes
// (cycled), drops and takes what each step says.
Result Drive(const std::vector<uint8_t>& bytes, const std::vector<size_t>& pieces, StreamLimits limits = {}) {
  Result r;
  StreamReader reader(limits);
  std::vector<uint8_t> buf;
  size_t fed = 0, piece = 0;
  int guard = 0;
  while (r.status) {
    for (;;) {
      g_assert_cmpint(++guard, <, 10000000);
      size_t want = reader.Want(buf.size());
      g_assert_cmpuint(want, <=, buf.size());
      StreamStep step;
      r.status = reader.Next(want ? buf.data() : nullptr, want, buf.size(), &step);
      if (!r.status) {
        r.error_text = step.error_text;
        break;
      }
      if (step.kind == StreamStep::Kind::kNeedData) {
        if (step.again) continue;
        break;
      }
      g_assert_cmpuint(step.size, <=, buf.size());
      if (step.kind == StreamStep::Kind::kUnit) {
        r.units.push_back(step.unit);
        if (step.unit == StreamUnit::kLiveManifest) r.lsm_ok = step.unit_status.ok();
        if (step.unit == StreamUnit::kMoof)
          for (size_t i = 0; i < reader.fragments().size(); i++) g_assert_true(reader.Queue(i).ok());
      } else if (step.kind == StreamStep::Kind::kSample) {
        g_assert_cmpuint(step.sample.size, ==, step.size);
        g_assert_cmpuint(step.sample.offset, ==, step.offset);
        r.samples.emplace_back(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(step.size));
      }
      buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(step.size));
    }
    if (!r.status || fed == bytes.size()) break;
    size_t n = std::min(pieces[piece++ % pieces.size()], bytes.size() - fed);
    buf.insert(buf.end(), bytes.begin() + static_cast<std::ptrdiff_t>(fed),
               bytes.begin() + static_cast<std::ptrdiff_t>(fed + n));
    fed += n;
    r.max_buffered = std::max(r.max_buffered, buf.size());
  }
  r.end = reader.Finish(buf.size());
  return r;
}

// Walks a stream held whole in `buf`, calling `on_step` for each step before
// its bytes are dropped, until it needs more data or `on_step` says stop.
void WalkAll(StreamReader* reader, std::vector<uint8_t>* buf, const std::function<bool(const StreamStep&)>& on_step) {
  for (int guard = 0; guard < 10000 && !buf->empty(); guard++) {
    size_t want = reader->Want(buf->size());
    StreamStep step;
    g_assert_true(reader->Next(buf->data(), want, buf->size(), &step).ok());
    if (step.kind == StreamStep::Kind::kNeedData) {
      if (step.again) continue;
      return;
    }
    if (!on_step(step)) return;
    buf->erase(buf->begin(), buf->begin() + static_cast<std::ptrdiff_t>(step.size));
  }
}

void CheckWhole(const Layout& l, const Result& r, size_t piece) {
  g_assert_true(r.status.ok());
  g_assert_cmpuint(r.units.size(), ==, 3 + l.moof_count);
  g_assert_true(r.units[0] == StreamUnit::kFtyp);
  g_assert_true(r.units[1] == StreamUnit::kLiveManifest);
  g_assert_true(r.units[2] == StreamUnit::kMoov);
  g_assert_true(r.lsm_ok);
  g_assert_true(r.samples == l.samples);
  g_assert_false(r.end.truncated);
  g_assert_cmpuint(r.end.end_offset, ==, l.bytes.size());
  // Bounded: never more than one whole box (or sample) plus one piece.
  g_assert_cmpuint(r.max_buffered, <=, l.largest_box + piece + 32);
}

void TestPieces() {
  Layout l = MakeStream(6, 5);
  CheckWhole(l, Drive(l.bytes, {1}), 1);
  CheckWhole(l, Drive(l.bytes, {l.bytes.size()}), l.bytes.size());
  std::mt19937 rng(1234);
  for (int round = 0; round < 20; round++) {
    std::vector<size_t> pieces(37);
    size_t biggest = 0;
    for (auto& p : pieces) biggest = std::max(biggest, p = 1 + rng() % 300);
    CheckWhole(l, Drive(l.bytes, pieces), biggest);
  }
}

// Relay mode: every mdat and the mfra come whole, right after their moof;
// the steps' bytes put together are the stream; per fragment the consumer
// holds at most one moof or mdat (plus a piece).
void TestRelay() {
  Layout l = MakeStream(6, 5);
  const std::vector<uint8_t> mfra = {0, 0, 0, 8, 'm', 'f', 'r', 'a'};
  Append(&l.bytes, mfra);
  std::mt19937 rng(99);
  for (int round = 0; round < 10; round++) {
    StreamReader reader(StreamLimits(), StreamMode::kRelay);
    std::vector<uint8_t> buf, rebuilt;
    std::vector<StreamUnit> units;
    std::vector<uint32_t> tracks;
    size_t fed = 0, mdat_bytes = 0, biggest = 0, max_buffered = 0;
    while (fed < l.bytes.size() || !buf.empty()) {
      for (;;) {
        size_t want = reader.Want(buf.size());
        StreamStep step;
        g_assert_true(reader.Next(want ? buf.data() : nullptr, want, buf.size(), &step).ok());
        if (step.kind == StreamStep::Kind::kNeedData) {
          if (step.again) continue;
          break;
        }
        g_assert_true(step.kind != StreamStep::Kind::kSample);
        if (step.kind == StreamStep::Kind::kUnit) {
          units.push_back(step.unit);
          g_assert_true(step.data == buf.data());
          if (step.unit == StreamUnit::kMoof) tracks.push_back(reader.fragments().at(0).track_id);
          if (step.unit == StreamUnit::kMdat) mdat_bytes += step.size - 8;
        }
        rebuilt.insert(rebuilt.end(), buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(step.size));
        buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(step.size));
      }
      if (fed == l.bytes.size()) break;
      size_t n = std::min<size_t>(1 + rng() % (round == 0 ? 1 : 700), l.bytes.size() - fed);
      biggest = std::max(biggest, n);
      buf.insert(buf.end(), l.bytes.begin() + static_cast<std::ptrdiff_t>(fed),
                 l.bytes.begin() + static_cast<std::ptrdiff_t>(fed + n));
      fed += n;
      max_buffered = std::max(max_buffered, buf.size());
    }
    g_assert_true(buf.empty());
    g_assert_true(rebuilt == l.bytes);
    g_assert_cmpuint(units.size(), ==, 3 + 2 * l.moof_count + 1);
    g_assert_true(units[2] == StreamUnit::kMoov);
    for (size_t f = 0; f < l.moof_count; f++) {
      g_assert_true(units[3 + 2 * f] == StreamUnit::kMoof);
      g_assert_true(units[4 + 2 * f] == StreamUnit::kMdat);
      g_assert_cmpuint(tracks[f], ==, 1 + f % 2);
    }
    g_assert_true(units.back() == StreamUnit::kMfra);
    size_t payload = 0;
    for (auto& s : l.samples) payload += s.size();
    g_assert_cmpuint(mdat_bytes, ==, payload);
    g_assert_false(reader.Finish(0).truncated);
    size_t largest_mdat = 8 + 5 * 60;
    g_assert_cmpuint(max_buffered, <=, std::max(l.largest_box, largest_mdat) + biggest + 32);
  }
}

// The units of `bytes` walked at once in `mode`.
std::vector<StreamUnit> UnitsOf(const std::vector<uint8_t>& bytes, StreamMode mode) {
  StreamReader reader(StreamLimits(), mode);
  std::vector<StreamUnit> units;
  size_t at = 0;
  for (int guard = 0; guard < 100000; guard++) {
    size_t left = bytes.size() - at;
    size_t want = reader.Want(left);
    StreamStep step;
    g_assert_true(reader.Next(want ? bytes.data() + at : nullptr, want, left, &step).ok());
    if (step.kind == StreamStep::Kind::kNeedData) {
      if (step.again) continue;
      break;
    }
    if (step.kind == StreamStep::Kind::kUnit) units.push_back(step.unit);
    at += static_cast<size_t>(step.size);
  }
  g_assert_cmpuint(at, ==, bytes.size());
  return units;
}

// A restarted muxer (a second ftyp/LSM/moov after fragments): relay mode
// gives the later moov as a unit (smoothsink starts a new POST with it),
// sample mode skips it as before.
void TestRelaySecondHeader() {
  Layout a = MakeStream(2, 5);
  std::vector<uint8_t> both = a.bytes;
  Append(&both, a.bytes);
  auto count = [](const std::vector<StreamUnit>& u, StreamUnit k) { return std::count(u.begin(), u.end(), k); };
  std::vector<StreamUnit> relay = UnitsOf(both, StreamMode::kRelay);
  g_assert_cmpint(count(relay, StreamUnit::kMoov), ==, 2);
  g_assert_cmpint(count(relay, StreamUnit::kFtyp), ==, 2);
  g_assert_cmpint(count(relay, StreamUnit::kMoof), ==, 2 * static_cast<int>(a.moof_count));
  std::vector<StreamUnit> samples = UnitsOf(both, StreamMode::kSamples);
  g_assert_cmpint(count(samples, StreamUnit::kMoov), ==, 1);
}

// Relay mode reads mdat and mfra whole, so their sizes are limited too.
void TestRelayLimits() {
  Layout l = MakeStream(2, 5);
  StreamLimits limits;
  limits.mdat = 20;
  StreamReader reader(limits, StreamMode::kRelay);
  std::vector<uint8_t> buf = l.bytes;
  Status status;
  std::string text;
  for (int guard = 0; guard < 100 && status; guard++) {
    size_t want = reader.Want(buf.size());
    StreamStep step;
    status = reader.Next(buf.data(), want, buf.size(), &step);
    if (!status) text = step.error_text;
    else buf.erase(buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(step.size));
  }
  g_assert_false(status.ok());
  g_assert_nonnull(strstr(text.c_str(), "'mdat'"));
  g_assert_nonnull(strstr(text.c_str(), "too large"));
}

void TestBoundedMdat() {
  // An mdat much larger than any sample: the consumer never holds it whole.
  Layout l = MakeStream(2, 200);
  size_t mdat = 0;
  for (auto& s : l.samples) mdat += s.size();
  Result r = Drive(l.bytes, {64});
  CheckWhole(l, r, 64);
  g_assert_cmpuint(r.max_buffered, <, mdat / 4);
}

void TestHostileSizes() {
  Layout l = MakeStream(2, 3);
  // A moof header claiming 17 MiB fails at its header, before any of it is held.
  const std::vector<uint8_t>& b = l.bytes;
  size_t at = 0;
  for (size_t i = 0; i + 8 <= b.size(); i++)
    if (b[i + 4] == 'm' && b[i + 5] == 'o' && b[i + 6] == 'o' && b[i + 7] == 'f') {
      at = i;
      break;
    }
  g_assert_cmpuint(at, >, 0);
  std::vector<uint8_t> huge(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(at + 8));
  uint32_t size = (17u << 20);
  Put32(&huge, at, size);
  Result r = Drive(huge, {3});
  g_assert_false(r.status.ok());
  g_assert_nonnull(strstr(r.error_text.c_str(), "too large"));
  g_assert_nonnull(strstr(r.status.message().c_str(), "the limit is 16777216"));
  // A huge ftyp, with custom limits.
  StreamLimits small;
  small.ftyp = 16;
  r = Drive(l.bytes, {5}, small);
  g_assert_false(r.status.ok());
  g_assert_nonnull(strstr(r.error_text.c_str(), "'ftyp'"));
  // A sample above the sample limit is refused when it is queued.
  StreamLimits tiny;
  tiny.sample = 20;
  StreamReader reader(tiny);
  std::vector<uint8_t> buf = l.bytes;
  bool refused = false;
  WalkAll(&reader, &buf, [&](const StreamStep& step) {
    if (step.kind != StreamStep::Kind::kUnit || step.unit != StreamUnit::kMoof) return true;
    Status s = reader.Queue(0);
    g_assert_false(s.ok());
    g_assert_nonnull(strstr(s.message().c_str(), "the limit is 20"));
    g_assert_cmpuint(reader.queued(), ==, 0);
    refused = true;
    return false;
  });
  g_assert_true(refused);
  // A box header with an impossible size.
  std::vector<uint8_t> bad = {0, 0, 0, 4, 'f', 'r', 'e', 'e', 0, 0, 0, 0};
  r = Drive(bad, {1});
  g_assert_false(r.status.ok());
  g_assert_nonnull(strstr(r.error_text.c_str(), "Corrupt box header"));
}

void TestTruncation() {
  Layout l = MakeStream(4, 5);
  // Cut inside the last mdat: the samples before the cut come out, the rest are lost.
  size_t tail = 40 + 8 + l.samples.back().size() + 3;
  std::vector<uint8_t> cut(l.bytes.begin(), l.bytes.end() - static_cast<std::ptrdiff_t>(tail));
  Result r = Drive(cut, {11});
  g_assert_true(r.status.ok());
  g_assert_true(r.end.truncated);
  g_assert_cmpuint(r.end.lost_samples, >=, 1);
  g_assert_cmpuint(r.samples.size() + r.end.lost_samples, ==, l.samples.size());
  g_assert_cmpuint(r.end.end_offset, ==, cut.size());
  // Cut inside the moov: truncated, no moov, no samples.
  r = Drive(std::vector<uint8_t>(l.bytes.begin(), l.bytes.begin() + 200), {13});
  g_assert_true(r.status.ok());
  g_assert_true(r.end.truncated);
  g_assert_true(r.samples.empty());
}

void TestMoofBeforeMoov() {
  std::vector<uint8_t> b;
  MakeIsmvFileType().Write(b);
  FragmentParams p;
  FragmentHeader h = FragmentWriter::Build(p, {{100, 4, true, 0}});
  Append(&b, h.bytes);
  Append(&b, {1, 2, 3, 4});
  Result r = Drive(b, {1});
  g_assert_false(r.status.ok());
  g_assert_cmpstr(r.error_text.c_str(), ==, "Movie fragment before the movie header");
  g_assert_true(r.samples.empty());
}

uint32_t Get32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3];
}

// Finds the first mdat header.
size_t FirstMdat(const std::vector<uint8_t>& b) {
  for (size_t i = 0; i + 8 <= b.size(); i++)
    if (b[i + 4] == 'm' && b[i + 5] == 'd' && b[i + 6] == 'a' && b[i + 7] == 't') return i;
  return 0;
}

void TestSamplesOutsideMdat() {
  Layout l = MakeStream(2, 5);
  // The first mdat claims one byte less than its samples need.
  std::vector<uint8_t> b = l.bytes;
  size_t at = FirstMdat(b);
  g_assert_cmpuint(at, >, 0);
  uint32_t mdat_size = Get32(b, at);
  Put32(&b, at, mdat_size - 1);
  Result r = Drive(b, {9});
  g_assert_false(r.status.ok());
  g_assert_cmpstr(r.error_text.c_str(), ==, "Sample data outside its mdat");
  g_assert_cmpuint(r.samples.size(), ==, 4);  // those inside came out
  // The moof's samples are not followed by an mdat but by the next moof.
  std::vector<uint8_t> no_mdat(l.bytes.begin(), l.bytes.begin() + static_cast<std::ptrdiff_t>(at));
  no_mdat.insert(no_mdat.end(), l.bytes.begin() + static_cast<std::ptrdiff_t>(at + mdat_size), l.bytes.end());
  r = Drive(no_mdat, {1});
  g_assert_false(r.status.ok());
  g_assert_cmpstr(r.error_text.c_str(), ==, "Sample data is missing");
  g_assert_true(r.samples.empty());
}

void TestOrderAndSelection() {
  // Two track fragments in one moof: samples come out by offset; queuing
  // from a later sample drops the earlier ones (their bytes are skipped).
  Layout l = MakeStream(1, 6);
  StreamReader reader;
  std::vector<uint8_t> buf = l.bytes;
  std::vector<size_t> indexes;
  WalkAll(&reader, &buf, [&](const StreamStep& step) {
    if (step.kind == StreamStep::Kind::kUnit && step.unit == StreamUnit::kMoof) {
      g_assert_cmpuint(reader.fragments().size(), ==, 1);
      g_assert_true(reader.Queue(0, 4).ok());
    }
    if (step.kind == StreamStep::Kind::kSample) indexes.push_back(step.index);
    return true;
  });
  g_assert_cmpuint(indexes.size(), ==, 2);
  g_assert_cmpuint(indexes[0], ==, 4);
  g_assert_cmpuint(indexes[1], ==, 5);
  g_assert_true(reader.AtBoxBoundary());
  g_assert_false(reader.Finish(buf.size()).truncated);
}


void TestTrafsOutOfByteOrder() {
  // One moof with two track fragments whose samples lie in the mdat in the
  // other order (audio's traf first, its bytes last): samples come out in
  // the order of their bytes.
  Layout l = MakeStream(0, 0);
  std::vector<uint8_t> b(l.bytes.begin(), l.bytes.end() - 48);  // without the tail free box
  std::vector<FragmentSample> video(3, FragmentSample{400000, 20, false, 0});
  std::vector<FragmentSample> audio(2, FragmentSample{213333, 7, true, 0});
  FragmentParams vp;
  vp.track_id = 1;
  FragmentParams ap;
  ap.track_id = 2;
  MovieFragmentBox moof = FragmentWriter::MakeMoof(ap, audio);
  moof.trafs.push_back(FragmentWriter::MakeMoof(vp, video).trafs[0]);
  for (auto& traf : moof.trafs) traf.tfhd.flags |= TrackFragmentHeaderBox::kDefaultBaseIsMoof;
  uint32_t moof_size = static_cast<uint32_t>(moof.Serialize().size());
  moof.trafs[1].truns[0].data_offset = static_cast<int32_t>(moof_size + 8);
  moof.trafs[0].truns[0].data_offset = static_cast<int32_t>(moof_size + 8 + 3 * 20);
  moof.Write(b);
  std::vector<uint8_t> mdat = {0, 0, 0, static_cast<uint8_t>(8 + 3 * 20 + 2 * 7), 'm', 'd', 'a', 't'};
  for (int i = 0; i < 3; i++) mdat.insert(mdat.end(), 20, static_cast<uint8_t>(0x10 + i));
  for (int i = 0; i < 2; i++) mdat.insert(mdat.end(), 7, static_cast<uint8_t>(0x20 + i));
  Append(&b, mdat);
  Result r = Drive(b, {5});
  g_assert_true(r.status.ok());
  g_assert_cmpuint(r.samples.size(), ==, 5);
  const uint8_t expect[] = {0x10, 0x11, 0x12, 0x20, 0x21};
  for (size_t i = 0; i < 5; i++) g_assert_cmpuint(r.samples[i][0], ==, expect[i]);
  g_assert_false(r.end.truncated);
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/stream_reader/pieces", TestPieces);
  g_test_add_func("/stream_reader/relay", TestRelay);
  g_test_add_func("/stream_reader/relay_limits", TestRelayLimits);
  g_test_add_func("/stream_reader/relay_second_header", TestRelaySecondHeader);
  g_test_add_func("/stream_reader/bounded_mdat", TestBoundedMdat);
  g_test_add_func("/stream_reader/hostile_sizes", TestHostileSizes);
  g_test_add_func("/stream_reader/truncation", TestTruncation);
  g_test_add_func("/stream_reader/moof_before_moov", TestMoofBeforeMoov);
  g_test_add_func("/stream_reader/samples_outside_mdat", TestSamplesOutsideMdat);
  g_test_add_func("/stream_reader/order_and_selection", TestOrderAndSelection);
  g_test_add_func("/stream_reader/trafs_out_of_byte_order", TestTrafsOutOfByteOrder);
  return g_test_run();
}
