// IngestParser (ingest_stream.h): an ingest body pushed in pieces of one
// byte, of random sizes and whole gives the same header and fragments; a
// moof with several trafs is split into per-track fragments whose samples
// are the received bytes; hostile sizes, truncation, garbage, a moof before
// the moov, a second moov, data after the mfra fail with one line; an
// endless stream of free boxes does not grow memory.
#include <glib.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fragment.h"
#include "ingest_fixture.h"
#include "ingest_stream.h"

using namespace piff;
using namespace ingest_fixture;

namespace {

struct Parsed {
  Status status;
  Status finish;
  std::vector<IngestParser::Event> events;
  size_t max_buffered = 0;
};

Parsed Feed(const std::vector<uint8_t>& body, const std::vector<size_t>& pieces, StreamLimits limits = {}) {
  Parsed p;
  IngestParser parser(limits);
  size_t fed = 0, k = 0;
  while (fed < body.size() && p.status) {
    size_t n = std::min(pieces[k++ % pieces.size()], body.size() - fed);
    p.status = parser.Push(body.data() + fed, n, &p.events);
    fed += n;
    p.max_buffered = std::max(p.max_buffered, parser.buffered());
  }
  if (p.status) p.finish = parser.Finish();
  return p;
}

std::vector<uint8_t> Body(size_t fragments, bool with_end) {
  std::vector<uint8_t> b = MakeHeader(VideoAudio());
  for (size_t f = 0; f < fragments; f++) {
    Append(&b, MakeFragment(1 + f % 2, static_cast<uint32_t>(f + 1), (f / 2) * 2000000));
    if (f % 3 == 1) Append(&b, FreeBox(9));
  }
  if (with_end) Append(&b, kEmptyMfra);
  return b;
}

void CheckEvents(const Parsed& p, size_t fragments, const std::vector<uint8_t>& header) {
  g_assert_true(p.status.ok());
  g_assert_true(p.finish.ok());
  g_assert_cmpuint(p.events.size(), ==, 1 + fragments + 1);
  g_assert_true(p.events[0].kind == IngestParser::Event::Kind::kHeader);
  g_assert_true(p.events[0].header.bytes == header);
  g_assert_true(p.events[0].header.live_manifest.has_value());
  g_assert_cmpuint(p.events[0].header.moov.tracks.size(), ==, 2);
  for (size_t f = 0; f < fragments; f++) {
    const IngestParser::Event& e = p.events[1 + f];
    g_assert_true(e.kind == IngestParser::Event::Kind::kFragment);
    g_assert_cmpuint(e.fragment.track_id, ==, 1 + f % 2);
    g_assert_cmpuint(e.fragment.time, ==, (f / 2) * 2000000);
    g_assert_cmpuint(e.fragment.duration, ==, 2000000);
    g_assert_cmpuint(e.fragment.samples, ==, 4);
    g_assert_true(e.fragment.starts_with_sync);
    g_assert_true(e.fragment.bytes ==
                  MakeFragment(1 + f % 2, static_cast<uint32_t>(f + 1), (f / 2) * 2000000));
  }
  g_assert_true(p.events.back().kind == IngestParser::Event::Kind::kEnd);
}

void TestPieces() {
  const size_t n = 7;
  std::vector<uint8_t> body = Body(n, true);
  std::vector<uint8_t> header = MakeHeader(VideoAudio());
  CheckEvents(Feed(body, {1}), n, header);
  CheckEvents(Feed(body, {body.size()}), n, header);
  std::mt19937 rng(7);
  for (int round = 0; round < 20; round++) {
    std::vector<size_t> pieces(29);
    for (auto& s : pieces) s = 1 + rng() % 500;
    Parsed p = Feed(body, pieces);
    CheckEvents(p, n, header);
    // One moof and its mdat at most, plus a piece (the header is handed out).
    g_assert_cmpuint(p.max_buffered, <, header.size() + 2 * 600);
  }
}

// A moof with trafs of both tracks becomes two fragments, each a moof of
// its own whose data offset finds exactly its samples.
void TestSplit() {
  std::vector<uint8_t> body = MakeHeader(VideoAudio());
  Append(&body, MakeSharedFragment({1, 2}, 5, 4000000));
  Parsed p = Feed(body, {13});
  if (!p.status) g_error("%s", p.status.message().c_str());
  g_assert_true(p.finish.ok());
  g_assert_cmpuint(p.events.size(), ==, 3);
  for (uint32_t k = 0; k < 2; k++) {
    const IngestFragment& f = p.events[1 + k].fragment;
    g_assert_cmpuint(f.track_id, ==, 1 + k);
    g_assert_cmpuint(f.time, ==, 4000000);
    g_assert_cmpuint(f.sequence, ==, 5);
    g_assert_cmpuint(f.samples, ==, 3);
    MovieFragmentBox moof;
    BoxHeader h;
    g_assert_true(ParseBoxHeader(f.bytes.data(), f.bytes.size(), &h).ok());
    g_assert_true(moof.Parse(f.bytes.data(), static_cast<size_t>(h.size)).ok());
    g_assert_cmpuint(moof.trafs.size(), ==, 1);
    std::vector<TrackFragmentSamples> tfs;
    g_assert_true(ReadFragment(moof, 0, nullptr, nullptr, nullptr, &tfs).ok());
    g_assert_cmpuint(tfs.at(0).decode_time, ==, 4000000);
    std::vector<uint8_t> got;
    for (const ReadSample& r : tfs[0].samples) {
      g_assert_cmpuint(r.offset + r.size, <=, f.bytes.size());
      got.insert(got.end(), f.bytes.begin() + static_cast<std::ptrdiff_t>(r.offset),
                 f.bytes.begin() + static_cast<std::ptrdiff_t>(r.offset + r.size));
    }
    g_assert_true(got == Payload(1 + k, 4000000, Samples(3, 500000)));
    g_assert_cmpuint(f.bytes.size(), ==, h.size + 8 + got.size());
  }
}

void ExpectError(const std::vector<uint8_t>& body, const char* text, StreamLimits limits = {}) {
  for (size_t piece : {size_t{1}, size_t{97}, body.size()}) {
    Parsed p = Feed(body, {piece}, limits);
    Status s = p.status ? p.finish : p.status;
    if (s.ok()) g_error("no error, expected '%s' (piece %zu)", text, piece);
    if (!strstr(s.message().c_str(), text)) g_error("'%s' not in '%s'", text, s.message().c_str());
    g_assert_null(strchr(s.message().c_str(), '\n'));
  }
}

void TestErrors() {
  std::vector<uint8_t> header = MakeHeader(VideoAudio());
  // A moof claiming 17 MiB fails at its header.
  std::vector<uint8_t> huge = header;
  std::vector<uint8_t> frag = MakeFragment(1, 1, 0);
  frag[0] = 0x01;
  frag[1] = 0x10;
  Append(&huge, frag);
  ExpectError(huge, "too large");
  // Truncated inside a fragment.
  std::vector<uint8_t> cut = Body(3, false);
  cut.resize(cut.size() - 5);
  ExpectError(cut, "ended inside");
  // Garbage.
  std::vector<uint8_t> garbage(300);
  std::mt19937 rng(3);
  for (auto& c : garbage) c = static_cast<uint8_t>(rng());
  garbage[0] = 0;
  garbage[1] = 0;
  ExpectError(garbage, "box");
  // A moof before the moov.
  std::vector<uint8_t> early;
  MakeIsmvFileType().Write(early);
  Append(&early, MakeFragment(1, 1, 0));
  ExpectError(early, "before the movie header");
  // A second moov after the first fragment.
  std::vector<uint8_t> again = Body(2, false);
  std::vector<uint8_t> moov(header.end() - static_cast<std::ptrdiff_t>(MakeMovie({ConfigOf(VideoAudio()[0]),
                                                                                    ConfigOf(VideoAudio()[1])},
                                                                                   10000000, 0)
                                                                             .ComputeSize()),
                            header.end());
  Append(&again, moov);
  ExpectError(again, "a second moov");
  // Data after the mfra.
  std::vector<uint8_t> after = Body(2, true);
  Append(&after, MakeFragment(1, 9, 8000000));
  ExpectError(after, "after the mfra");
  // An mdat without a moof; a moof without its mdat.
  std::vector<uint8_t> lone = header;
  Append(&lone, {0, 0, 0, 9, 'm', 'd', 'a', 't', 1});
  ExpectError(lone, "without a moof");
  std::vector<uint8_t> twice = header;
  std::vector<uint8_t> f1 = MakeFragment(1, 1, 0);
  BoxHeader h;
  g_assert_true(ParseBoxHeader(f1.data(), f1.size(), &h).ok());
  Append(&twice, std::vector<uint8_t>(f1.begin(), f1.begin() + static_cast<std::ptrdiff_t>(h.size)));
  Append(&twice, f1);
  ExpectError(twice, "has no mdat");
  // Free boxes before the first moof without end: the header limit.
  StreamLimits small;
  small.moov = 4096;
  small.live_manifest = 4096;
  std::vector<uint8_t> padded = header;
  for (int i = 0; i < 200; i++) Append(&padded, FreeBox(8000));
  ExpectError(padded, "exceeds", small);
}

// After the header, free boxes are skipped as they arrive: 16 MiB of them
// never hold more than a piece.
void TestEndlessFree() {
  IngestParser parser;
  std::vector<IngestParser::Event> events;
  std::vector<uint8_t> header = MakeHeader(VideoAudio());
  g_assert_true(parser.Push(header.data(), header.size(), &events).ok());
  std::vector<uint8_t> f = MakeFragment(1, 1, 0);
  g_assert_true(parser.Push(f.data(), f.size(), &events).ok());
  g_assert_cmpuint(events.size(), ==, 2);
  std::vector<uint8_t> free_box = FreeBox(65536 - 8);
  size_t max_buffered = 0;
  for (int i = 0; i < 256; i++)
    for (size_t at = 0; at < free_box.size(); at += 4096) {
      g_assert_true(parser.Push(free_box.data() + at, 4096, &events).ok());
      max_buffered = std::max(max_buffered, parser.buffered());
    }
  g_assert_cmpuint(max_buffered, <=, 4096);
  g_assert_cmpuint(parser.skipped_bytes(), ==, 256u * 65536);
  f = MakeFragment(1, 2, 2000000);
  g_assert_true(parser.Push(f.data(), f.size(), &events).ok());
  g_assert_cmpuint(events.size(), ==, 3);
  g_assert_true(parser.Finish().ok());
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/ingest/pieces", TestPieces);
  g_test_add_func("/ingest/split", TestSplit);
  g_test_add_func("/ingest/errors", TestErrors);
  g_test_add_func("/ingest/endless-free", TestEndlessFree);
  return g_test_run();
}
