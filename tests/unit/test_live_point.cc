// LivePoint (live_point.h) and its timeline rules (live_timeline.h): the
// running manifest parses back with the core parser (IsLive, look-ahead,
// DVR window, gaps as a new c t=), duplicates and fragments out of order
// are dropped and counted, fragment responses carry tfrf entries and the
// ingest's sample bytes, the window and the lookups' answers, memory stays
// flat over 10 000 fragments, headers of reconnects are compared, the
// archive reads back as an on-demand asset, and a point killed mid-event
// is recovered from it and continues.
#include <glib.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "asset.h"
#include "client_manifest.h"
#include "encryption.h"
#include "fourcc.h"
#include "fragment.h"
#include "ingest_fixture.h"
#include "ingest_stream.h"
#include "live_archive.h"
#include "live_point.h"
#include "test_util.h"

using namespace piff;
using namespace ingest_fixture;

namespace {

const uint64_t kD = 2000000;  // fragment duration: 4 samples of 500000 (10 MHz)

// The header an IngestParser makes of a body's first bytes.
IngestHeader HeaderOf(const std::vector<uint8_t>& header_bytes) {
  IngestParser parser;
  std::vector<IngestParser::Event> events;
  std::vector<uint8_t> body = header_bytes;
  Append(&body, kEmptyMfra);
  g_assert_true(parser.Push(body.data(), body.size(), &events).ok());
  g_assert_true(events.at(0).kind == IngestParser::Event::Kind::kHeader);
  return events[0].header;
}

// Every fragment has mfhd 1: the point numbers them along its archive file
// (CheckArchive: the index finds no sequence problem).
IngestFragment Frag(uint32_t track_id, uint64_t time) {
  const uint32_t sequence = 1;
  IngestFragment f;
  f.track_id = track_id;
  f.time = time;
  f.duration = kD;
  f.samples = 4;
  f.sequence = sequence;
  f.bytes = MakeFragment(track_id, sequence, time);
  return f;
}

// The point's client manifest text (it must build).
std::string Xml(const LivePoint& p) {
  std::shared_ptr<const std::string> xml;
  Status s = p.ClientManifestXml(&xml);
  if (!s) g_error("no manifest: %s", s.message().c_str());
  return *xml;
}

ClientManifest Manifest(const LivePoint& p) {
  std::string xml = Xml(p);
  ClientManifest m;
  Status s = ClientManifest::Parse(xml, &m);
  if (!s) g_error("manifest does not parse: %s\n%s", s.message().c_str(), xml.c_str());
  return m;
}

const StreamIndex* Find(const ClientManifest& m, const std::string& name) {
  for (const StreamIndex& s : m.streams)
    if (s.name == name) return &s;
  return nullptr;
}

std::vector<uint64_t> Times(const StreamIndex& s) {
  std::vector<uint64_t> t;
  s.ForEachFragment([&](uint64_t at, uint64_t) {
    t.push_back(at);
    return true;
  });
  return t;
}

// Checks a fragment response: one traf, its tfrf lists `next`, the data
// offset finds the ingest payload of (track, time).
// `with_tfrf` false: no tfrf box at all (a point without look-ahead); else
// one, with no entries for the newest fragment (mssdemux 1.22 aborts on a
// live fragment without it).
void CheckResponse(const std::vector<uint8_t>& r, uint32_t track_id, uint64_t time,
                   const std::vector<uint64_t>& next, bool with_tfrf = true) {
  BoxHeader h;
  g_assert_true(ParseBoxHeader(r.data(), r.size(), &h).ok());
  MovieFragmentBox moof;
  g_assert_true(moof.Parse(r.data(), static_cast<size_t>(h.size)).ok());
  g_assert_cmpuint(moof.trafs.size(), ==, 1);
  const TrackFragmentBox& traf = moof.trafs[0];
  g_assert_true(traf.tfxd.has_value());
  g_assert_cmpuint(traf.tfxd->fragment_absolute_time, ==, time);
  if (!with_tfrf) {
    g_assert_false(traf.tfrf.has_value());
  } else {
    g_assert_true(traf.tfrf.has_value());
    g_assert_cmpuint(traf.tfrf->version, ==, 1);
    g_assert_cmpuint(traf.tfrf->entries.size(), ==, next.size());
    for (size_t i = 0; i < next.size(); i++) {
      g_assert_cmpuint(traf.tfrf->entries[i].time, ==, next[i]);
      g_assert_cmpuint(traf.tfrf->entries[i].duration, ==, kD);
    }
  }
  std::vector<TrackFragmentSamples> tfs;
  g_assert_true(ReadFragment(moof, 0, nullptr, nullptr, nullptr, &tfs).ok());
  g_assert_cmpuint(tfs.at(0).samples.at(0).offset, ==, h.size + 8);  // the mdat payload
  std::vector<uint8_t> got;
  for (const ReadSample& s : tfs[0].samples) {
    g_assert_cmpuint(s.offset + s.size, <=, r.size());
    got.insert(got.end(), r.begin() + static_cast<std::ptrdiff_t>(s.offset),
               r.begin() + static_cast<std::ptrdiff_t>(s.offset + s.size));
  }
  g_assert_true(got == Payload(track_id, time, Samples(4, 500000)));
  g_assert_cmpuint(r.size(), ==, h.size + 8 + got.size());
}

void TestManifestAndFragments() {
  LivePointSettings settings;
  settings.lookahead = 2;
  settings.dvr_window = 0;
  LivePoint p("events/ch1", settings);
  g_assert_false(p.running());
  std::vector<FixtureTrack> tracks = VideoAudio();
  tracks[1].language = "fr";  // RFC 1766 in the LSM, ISO 639-2/T in the manifest
  g_assert_true(p.OpenStream("s1", HeaderOf(MakeHeader(tracks)), 0).ok());
  g_assert_true(p.running());
  for (uint64_t k = 0; k < 5; k++)
    for (uint32_t track : {1u, 2u}) g_assert_true(p.AddFragment("s1", Frag(track, k * kD), 0) == FragmentFate::kAdded);
  std::string xml = Xml(p);
  g_assert_nonnull(strstr(xml.c_str(), "LookAheadFragmentCount=\"2\""));
  g_assert_nonnull(strstr(xml.c_str(), "IsLive=\"TRUE\""));
  ClientManifest m = Manifest(p);
  g_assert_true(m.is_live);
  g_assert_cmpuint(m.duration, ==, 0);
  g_assert_cmpuint(m.lookahead_count.value_or(99), ==, 2);
  const StreamIndex* video = Find(m, "video");
  const StreamIndex* audio = Find(m, "audio");
  g_assert_nonnull(video);
  g_assert_nonnull(audio);
  EXPECT_STR(video->url, "QualityLevels({bitrate})/Fragments(video={start time})");
  g_assert_cmpuint(video->quality_levels.size(), ==, 1);
  g_assert_cmpuint(video->quality_levels[0].bitrate, ==, 1000000);
  EXPECT_STR(video->quality_levels[0].fourcc, "H264");
  g_assert_cmpuint(audio->quality_levels[0].bitrate, ==, 128000);
  EXPECT_STR(audio->language, "fra");
  // Five fragments, two held back.
  g_assert_true(Times(*video) == (std::vector<uint64_t>{0, kD, 2 * kD}));
  g_assert_true(Times(*audio) == (std::vector<uint64_t>{0, kD, 2 * kD}));

  std::vector<uint8_t> r;
  g_assert_true(p.Fragment(1000000, "video", kD, &r) == FragmentLookup::kFound);
  CheckResponse(r, 1, kD, {2 * kD, 3 * kD});
  g_assert_true(p.Fragment(1000000, "video", 3 * kD, &r) == FragmentLookup::kFound);
  CheckResponse(r, 1, 3 * kD, {4 * kD});  // one follows so far
  // The newest fragment of a track is held back while live (412) until the
  // next one arrives: every response then names a successor in its tfrf
  // (mssdemux 1.22 aborts or restarts on a live fragment without one).
  g_assert_true(p.Fragment(128000, "audio", 4 * kD, &r) == FragmentLookup::kNotYet);
  g_assert_true(p.Fragment(1000000, "video", 4 * kD, &r) == FragmentLookup::kNotYet);
  g_assert_true(p.Fragment(1000000, "video", 5 * kD, &r) == FragmentLookup::kNotYet);
  g_assert_true(p.Fragment(1000000, "video", kD + 1, &r) == FragmentLookup::kNoFragment);
  g_assert_true(p.Fragment(999, "video", 0, &r) == FragmentLookup::kNoTrack);
  g_assert_true(p.Fragment(1000000, "audio", 0, &r) == FragmentLookup::kNoTrack);
}

// End to end from the ingest body: a ladder of two video bitrates and audio
// in one stream, every moof carrying all three trafs (split by the parser).
void TestLadderInOneStream() {
  std::vector<FixtureTrack> tracks = VideoAudio();
  FixtureTrack low;
  low.track_id = 3;
  low.bitrate = 300000;
  tracks.push_back(low);
  std::vector<uint8_t> body = MakeHeader(tracks);
  for (uint32_t k = 0; k < 4; k++) Append(&body, MakeSharedFragment({1, 2, 3}, k + 1, k * 1500000));
  IngestParser parser;
  std::vector<IngestParser::Event> events;
  g_assert_true(parser.Push(body.data(), body.size(), &events).ok());
  LivePointSettings settings;
  settings.lookahead = 1;
  LivePoint p("p", settings);
  size_t added = 0;
  for (IngestParser::Event& e : events) {
    if (e.kind == IngestParser::Event::Kind::kHeader) g_assert_true(p.OpenStream("all", e.header, 0).ok());
    if (e.kind == IngestParser::Event::Kind::kFragment)
      added += p.AddFragment("all", std::move(e.fragment), 0) == FragmentFate::kAdded;
  }
  g_assert_cmpuint(added, ==, 12);
  ClientManifest m = Manifest(p);
  const StreamIndex* video = Find(m, "video");
  g_assert_cmpuint(video->quality_levels.size(), ==, 2);
  g_assert_true(Times(*video) == (std::vector<uint64_t>{0, 1500000, 3000000}));
  std::vector<uint8_t> r;
  g_assert_true(p.Fragment(300000, "video", 1500000, &r) == FragmentLookup::kFound);
  std::vector<TrackFragmentSamples> tfs;
  MovieFragmentBox moof;
  BoxHeader h;
  g_assert_true(ParseBoxHeader(r.data(), r.size(), &h).ok());
  g_assert_true(moof.Parse(r.data(), static_cast<size_t>(h.size)).ok());
  g_assert_cmpuint(moof.trafs.at(0).tfhd.track_id, ==, 3);
  g_assert_cmpuint(moof.trafs[0].tfrf->entries.at(0).time, ==, 3000000);
  g_assert_true(ReadFragment(moof, 0, nullptr, nullptr, nullptr, &tfs).ok());
  g_assert_cmpuint(tfs.at(0).samples.at(0).offset, ==, h.size + 8);
  g_assert_cmpuint(r[static_cast<size_t>(h.size) + 8], ==, PayloadByte(3, 1500000, 0));
}

void TestFates() {
  LivePointSettings settings;
  settings.lookahead = 0;
  LivePoint p("p", settings);
  g_assert_true(p.OpenStream("s1", HeaderOf(MakeHeader(VideoAudio())), 0).ok());
  g_assert_true(p.AddFragment("s1", Frag(1, 0), 0) == FragmentFate::kAdded);
  g_assert_true(p.AddFragment("s1", Frag(1, kD), 0) == FragmentFate::kAdded);
  // Redundant encoder / resend: same time again.
  g_assert_true(p.AddFragment("s1", Frag(1, kD), 0) == FragmentFate::kDuplicate);
  g_assert_true(p.AddFragment("s1", Frag(1, 0), 0) == FragmentFate::kDuplicate);
  // Before the last one's start; inside it (ends before it ends).
  g_assert_true(p.AddFragment("s1", Frag(1, kD / 2), 0) == FragmentFate::kOutOfOrder);
  IngestFragment inside = Frag(1, kD + 5);
  inside.duration = kD / 2;
  g_assert_true(p.AddFragment("s1", std::move(inside), 0) == FragmentFate::kOutOfOrder);
  // A negative time (FFmpeg's AAC priming) cannot be placed.
  g_assert_true(p.AddFragment("s1", Frag(2, UINT64_MAX - 1000), 0) == FragmentFate::kOutOfOrder);
  // Overlapping the last one's end by a tick, as FFmpeg's rounded tfxd
  // durations do: added.
  g_assert_true(p.AddFragment("s1", Frag(1, 2 * kD - 1), 0) == FragmentFate::kAdded);
  // A gap: allowed, a new c t= in the manifest.
  g_assert_true(p.AddFragment("s1", Frag(1, 10 * kD), 0) == FragmentFate::kAdded);
  g_assert_true(p.AddFragment("s1", Frag(9, 0), 0) == FragmentFate::kRejected);
  g_assert_true(p.AddFragment("nope", Frag(1, 0), 0) == FragmentFate::kRejected);
  LivePointCounters c = p.counters();
  g_assert_cmpuint(c.fragments_added, ==, 4);
  g_assert_cmpuint(c.duplicates, ==, 2);
  g_assert_cmpuint(c.out_of_order, ==, 3);
  std::string xml = Xml(p);
  g_assert_nonnull(strstr(xml.c_str(), ("t=\"" + std::to_string(10 * kD) + "\"").c_str()));
  // Look-ahead 0: fragment responses carry no tfrf.
  std::vector<uint8_t> r;
  g_assert_true(p.Fragment(1000000, "video", 10 * kD, &r) == FragmentLookup::kFound);
  CheckResponse(r, 1, 10 * kD, {}, false);
  ClientManifest m = Manifest(p);
  const StreamIndex* video = Find(m, "video");
  g_assert_true(Times(*video) == (std::vector<uint64_t>{0, kD, 2 * kD - 1, 10 * kD}));
  g_assert_cmpuint(video->chunks.size(), ==, 3);
  // Audio has no fragment yet: a StreamIndex with an empty timeline.
  g_assert_cmpuint(Find(m, "audio")->FragmentCount(), ==, 0);
}

// FFmpeg's live push body (-movflags isml+frag_keyframe -f ismv, a real
// peer): its header opens a stream, its first AAC fragment (at minus the
// priming) is dropped as out of order, its video fragments (tfxd durations
// rounded up a tick) are all added, and every listed fragment answers.
void TestFfmpegLivePush() {
  std::string body = ReadFixture("ffmpeg_live_push.ismv");
  IngestParser parser;
  std::vector<IngestParser::Event> events;
  g_assert_true(parser.Push(reinterpret_cast<const uint8_t*>(body.data()), body.size(), &events).ok());
  g_assert_true(parser.Finish().ok());
  LivePointSettings settings;
  settings.lookahead = 0;
  LivePoint p("ff", settings);
  for (IngestParser::Event& e : events) {
    if (e.kind == IngestParser::Event::Kind::kHeader) {
      Status s = p.OpenStream("Encoder1", e.header, 0);
      if (!s) g_error("%s", s.message().c_str());
    }
    if (e.kind == IngestParser::Event::Kind::kFragment) p.AddFragment("Encoder1", std::move(e.fragment), 0);
  }
  g_assert_cmpuint(p.counters().out_of_order, ==, 1);
  g_assert_cmpuint(p.counters().fragments_added, ==, 5);
  ClientManifest m = Manifest(p);
  g_assert_cmpuint(m.streams.size(), ==, 2);
  for (const StreamIndex& si : m.streams) {
    g_assert_cmpuint(si.FragmentCount(), >=, 2);
    si.ForEachFragment([&](uint64_t t, uint64_t) {
      std::vector<uint8_t> r;
      g_assert_true(p.Fragment(si.quality_levels.at(0).bitrate, si.name, t, &r) == FragmentLookup::kFound);
      return true;
    });
  }
}

// An encoder that sends tfdt and no tfxd: the response gets a tfxd (with
// the tfrf beside it), the data offset still finds the samples.
void TestTfdtOnly() {
  LivePoint p("p", LivePointSettings());
  g_assert_true(p.OpenStream("s1", HeaderOf(MakeHeader(VideoAudio())), 0).ok());
  for (uint64_t k = 0; k < 3; k++) {
    std::vector<FragmentSample> samples = Samples(4, 500000);
    MovieFragmentBox moof = FragmentWriter::MakeMoof(Params(1, 1, k * kD), samples);
    moof.trafs[0].tfxd.reset();
    moof.trafs[0].tfdt.emplace();
    moof.trafs[0].tfdt->version = 1;
    moof.trafs[0].tfdt->base_media_decode_time = k * kD;
    moof.trafs[0].truns[0].data_offset = static_cast<int32_t>(moof.ComputeSize() + 8);
    IngestFragment f = Frag(1, k * kD);
    f.bytes = moof.Serialize();
    std::vector<uint8_t> payload = Payload(1, k * kD, samples);
    std::vector<uint8_t> mdat = {0, 0, 0, static_cast<uint8_t>(8 + payload.size()), 'm', 'd', 'a', 't'};
    Append(&f.bytes, mdat);
    Append(&f.bytes, payload);
    g_assert_true(p.AddFragment("s1", std::move(f), 0) == FragmentFate::kAdded);
  }
  std::vector<uint8_t> r;
  g_assert_true(p.Fragment(1000000, "video", 0, &r) == FragmentLookup::kFound);
  CheckResponse(r, 1, 0, {kD, 2 * kD});
}

void TestWindow() {
  LivePointSettings settings;
  settings.lookahead = 1;
  settings.dvr_window = 3 * kD;
  LivePoint p("p", settings);
  g_assert_true(p.OpenStream("s1", HeaderOf(MakeHeader(VideoAudio())), 0).ok());
  for (uint64_t k = 0; k < 8; k++) g_assert_true(p.AddFragment("s1", Frag(1, k * kD), 0) == FragmentFate::kAdded);
  ClientManifest m = Manifest(p);
  g_assert_cmpuint(m.dvr_window_length.value_or(0), ==, 3 * kD);
  // Edge 8*kD: fragments ending after 5*kD are in the window; the last is held back.
  g_assert_true(Times(*Find(m, "video")) == (std::vector<uint64_t>{5 * kD, 6 * kD}));
  std::vector<uint8_t> r;
  g_assert_true(p.Fragment(1000000, "video", 4 * kD, &r) == FragmentLookup::kOutOfWindow);
  g_assert_true(p.Fragment(1000000, "video", 4 * kD + 1, &r) == FragmentLookup::kOutOfWindow);
  g_assert_true(p.Fragment(1000000, "video", 5 * kD, &r) == FragmentLookup::kFound);
  g_assert_true(p.Fragment(1000000, "video", 6 * kD, &r) == FragmentLookup::kFound);
  g_assert_true(p.Fragment(1000000, "video", 7 * kD, &r) == FragmentLookup::kNotYet);  // the newest, held back
}

// 10 000 fragments per track: at most memory_fragments held; old ones come
// back from the archive with the same bytes; without an archive they are
// out of the window.
void TestFlatMemory() {
  TempDir dir("livepoint-XXXXXX");
  for (bool archive : {true, false}) {
    LivePointSettings settings;
    settings.memory_fragments = 8;
    settings.lookahead = 2;
    if (archive) settings.archive_dir = dir.path + "/ch";
    LivePoint p("ch", settings);
    g_assert_true(p.OpenStream("s1", HeaderOf(MakeHeader(VideoAudio())), 0).ok());
    const size_t n = 10000, size = Frag(1, 0).bytes.size();
    size_t max_resident = 0;
    for (uint64_t k = 0; k < n; k++) {
      IngestFragment f = Frag(1 + k % 2, (k / 2) * kD);
      f.bytes = MakeFragment(f.track_id, 1, f.time, 4);
      g_assert_true(p.AddFragment("s1", std::move(f), 0) == FragmentFate::kAdded);
      max_resident = std::max(max_resident, p.resident_fragment_bytes());
    }
    g_assert_cmpuint(max_resident, <=, 2 * 8 * (size + 16));
    std::vector<uint8_t> r;
    FragmentLookup old = p.Fragment(1000000, "video", 10 * kD, &r);
    if (archive) {
      g_assert_true(old == FragmentLookup::kFound);
      CheckResponse(r, 1, 10 * kD, {11 * kD, 12 * kD});
      g_assert_cmpuint(Manifest(p).streams[0].FragmentCount(), ==, n / 2 - 2);
    } else {
      g_assert_true(old == FragmentLookup::kOutOfWindow);
      g_assert_cmpuint(Find(Manifest(p), "video")->FragmentCount(), ==, 8 - 2);
    }
  }
}

void TestHeaders() {
  LivePoint p("p", LivePointSettings());
  std::vector<uint8_t> header = MakeHeader(VideoAudio());
  g_assert_true(p.OpenStream("s1", HeaderOf(header), 0).ok());
  g_assert_true(p.OpenStream("s1", HeaderOf(header), 0).ok());  // redundant / reconnect
  g_assert_cmpuint(p.counters().reconnects, ==, 1);
  // Another moov (a 1-bit other bitrate in the LSM would be the LSM).
  std::vector<FixtureTrack> other = VideoAudio();
  other[0].track_id = 7;
  Status s = p.OpenStream("s1", HeaderOf(MakeHeader(other)), 0);
  g_assert_false(s.ok());
  EXPECT_STR(s.message(), "Streams(s1) header differs from the first connection: the Live Server Manifest differs");
  // A track at the same URL from another stream, described otherwise
  // (its language), clashes.
  std::vector<FixtureTrack> french = VideoAudio();
  french[0].language = "fr";
  s = p.OpenStream("s2", HeaderOf(MakeHeader(french)), 0);
  g_assert_false(s.ok());
  g_assert_nonnull(strstr(s.message().c_str(), "is already sent by Streams(s1) with another description"));
  // A second bitrate of the ladder in a stream of its own is fine.
  FixtureTrack v2;
  v2.bitrate = 500000;
  g_assert_true(p.OpenStream("s2", HeaderOf(MakeHeader({v2})), 0).ok());
  g_assert_cmpuint(p.counters().refused_headers, ==, 2);
  g_assert_true(p.AddFragment("s2", Frag(1, 0), 0) == FragmentFate::kAdded);
  g_assert_true(p.AddFragment("s1", Frag(1, 0), 0) == FragmentFate::kAdded);
  // The two video levels share a StreamIndex; a level lagging by a
  // fragment cuts the listed range rather than being left out.
  g_assert_true(p.AddFragment("s1", Frag(1, kD), 0) == FragmentFate::kAdded);
  ClientManifest m = Manifest(p);
  const StreamIndex* video = Find(m, "video");
  g_assert_cmpuint(video->quality_levels.size(), ==, 2);
  // A header without a Live Server Manifest.
  std::vector<uint8_t> bare;
  MakeIsmvFileType().Write(bare);
  MakeMovie({ConfigOf(VideoAudio()[0])}, 10000000, 0).Write(bare);
  s = p.OpenStream("s3", HeaderOf(bare), 0);
  g_assert_nonnull(strstr(s.message().c_str(), "no Live Server Manifest"));
}

void TestProtection() {
  LivePoint p("p", LivePointSettings());
  std::vector<uint8_t> pro = {1, 2, 3, 4, 5};
  RawBoxes extra = {MakePiffPssh(kPlayReadySystemId, pro)};
  g_assert_true(p.OpenStream("s1", HeaderOf(MakeHeader(VideoAudio(), extra)), 0).ok());
  ClientManifest m = Manifest(p);
  g_assert_cmpuint(m.protection.size(), ==, 1);
  g_assert_true(m.protection[0].system_id == kPlayReadySystemId);
  EXPECT_STR(m.protection[0].data_base64, "AQIDBAU=");
}

// Streams end: the archive is an on-demand asset with every fragment.
void CheckArchive(const std::string& dir, const std::string& base, uint64_t video_count) {
  std::unique_ptr<Asset> asset;
  Status s = Asset::Load(dir + "/" + base + ".ism", &asset);
  if (!s) g_error("%s", s.message().c_str());
  g_assert_cmpuint(asset->tracks().size(), ==, 2);
  const AssetTrack* video = asset->FindTrack(1000000, "video");
  g_assert_nonnull(video);
  g_assert_cmpuint(video->track->fragments.size(), ==, video_count);
  for (uint64_t k = 0; k < video_count; k++) {
    FragmentRange range;
    g_assert_true(asset->FindFragment(*video, k * kD, &range));
    g_assert_cmpuint(range.duration, ==, kD);
  }
  g_assert_false(asset->client_manifest().is_live);
  g_assert_cmpuint(Find(asset->client_manifest(), "video")->FragmentCount(), ==, video_count);
  for (const std::string& problem : asset->problems()) g_error("archive problem: %s", problem.c_str());
}

void TestArchiveAndStop() {
  TempDir dir("livepoint-XXXXXX");
  LivePointSettings settings;
  settings.archive_dir = dir.path + "/ch1";
  LivePoint p("events/ch1", settings);
  g_assert_true(p.OpenStream("a/b", HeaderOf(MakeHeader(VideoAudio())), 0).ok());
  for (uint64_t k = 0; k < 6; k++)
    for (uint32_t track : {1u, 2u}) p.AddFragment("a/b", Frag(track, k * kD), 0);
  p.AddFragment("a/b", Frag(1, 2 * kD), 0);  // a duplicate is not written
  p.CloseStream("a/b", true, 100);
  g_assert_true(p.stopped());
  g_assert_false(p.running());
  g_assert_true(g_file_test((settings.archive_dir + "/" + ArchiveFileName("a/b")).c_str(), G_FILE_TEST_EXISTS));
  CheckArchive(settings.archive_dir, "ch1", 6);
  // After the stop: an on-demand manifest; fragments still answer.
  ClientManifest m = Manifest(p);
  g_assert_false(m.is_live);
  g_assert_cmpuint(Find(m, "video")->FragmentCount(), ==, 6);
  std::vector<uint8_t> r;
  g_assert_true(p.Fragment(1000000, "video", 5 * kD, &r) == FragmentLookup::kFound);
  CheckResponse(r, 1, 5 * kD, {});
  g_assert_true(p.AddFragment("a/b", Frag(1, 6 * kD), 0) == FragmentFate::kRejected);
  // A refused header leaves the stopped point as it is.
  std::vector<uint8_t> bare;
  MakeIsmvFileType().Write(bare);
  MakeMovie({ConfigOf(VideoAudio()[0])}, 10000000, 0).Write(bare);
  g_assert_false(p.OpenStream("a/b", HeaderOf(bare), 150).ok());
  g_assert_true(p.stopped());
  CheckArchive(settings.archive_dir, "ch1", 6);
  // A new stream starts a new event; the old archive goes to previous/.
  g_assert_true(p.OpenStream("a/b", HeaderOf(MakeHeader(VideoAudio())), 200).ok());
  g_assert_true(p.running());
  g_assert_cmpuint(Find(Manifest(p), "video")->FragmentCount(), ==, 0);
  CheckArchive(settings.archive_dir + "/previous", "ch1", 6);
}

void TestIdleStop() {
  LivePointSettings settings;
  settings.idle_stop_ms = 1000;
  LivePoint p("p", settings);
  g_assert_true(p.OpenStream("s1", HeaderOf(MakeHeader(VideoAudio())), 0).ok());
  p.Tick(5000);
  g_assert_true(p.running());  // a stream is open
  p.CloseStream("s1", false, 6000);
  p.Tick(6500);
  g_assert_true(p.running());
  p.Tick(7000);
  g_assert_true(p.stopped());
}

// kill -9 mid-event: the object goes without a stop; a torn fragment at
// the end of the file. Recover, reconnect with the same header, resend the
// last two fragments (duplicates), continue, stop: every fragment once.
void TestRecover() {
  TempDir dir("livepoint-XXXXXX");
  LivePointSettings settings;
  settings.archive_dir = dir.path + "/ch";
  settings.memory_fragments = 2;
  const std::vector<uint8_t> header = MakeHeader(VideoAudio());
  const uint64_t n = 6;
  {
    LivePoint p("ch", settings);
    g_assert_true(p.OpenStream("s1", HeaderOf(header), 0).ok());
    for (uint64_t k = 0; k < n; k++)
      for (uint32_t track : {1u, 2u}) g_assert_true(p.AddFragment("s1", Frag(track, k * kD), 0) == FragmentFate::kAdded);
  }
  std::string path = settings.archive_dir + "/" + ArchiveFileName("s1");
  {
    // Cut inside its mdat: the moof is whole, its samples are not.
    std::vector<uint8_t> torn = MakeFragment(1, 1, n * kD);
    torn.resize(torn.size() - 10);
    FILE* f = fopen(path.c_str(), "ab");
    g_assert_nonnull(f);
    g_assert_cmpuint(fwrite(torn.data(), 1, torn.size(), f), ==, torn.size());
    fclose(f);
  }
  std::string error;
  g_assert_null(LivePoint::Recover("ch", LivePointSettings(), &error).get());
  g_assert_nonnull(strstr(error.c_str(), "no archive folder"));
  std::unique_ptr<LivePoint> p = LivePoint::Recover("ch", settings, &error);
  if (!p) g_error("%s", error.c_str());
  g_assert_true(p->running());
  g_assert_cmpuint(Find(Manifest(*p), "video")->FragmentCount(), ==, n - settings.lookahead);
  std::vector<uint8_t> r;
  g_assert_true(p->Fragment(1000000, "video", 0, &r) == FragmentLookup::kFound);
  CheckResponse(r, 1, 0, {kD, 2 * kD});
  g_assert_true(p->OpenStream("s1", HeaderOf(header), 0).ok());
  for (uint64_t k = n - 2; k < n + 3; k++)
    for (uint32_t track : {1u, 2u})
      g_assert_true(p->AddFragment("s1", Frag(track, k * kD), 0) ==
                    (k < n ? FragmentFate::kDuplicate : FragmentFate::kAdded));
  g_assert_cmpuint(p->counters().duplicates, ==, 4);
  p->CloseStream("s1", true, 10);
  g_assert_true(p->stopped());
  CheckArchive(settings.archive_dir, "ch", n + 3);
  // A stopped point recovers as stopped, its files whole.
  std::unique_ptr<LivePoint> again = LivePoint::Recover("ch", settings, &error);
  g_assert_nonnull(again.get());
  g_assert_true(again->stopped());
  CheckArchive(settings.archive_dir, "ch", n + 3);
}

// Archive files cut anywhere: inside a moof the file loses that fragment;
// inside the header the point cannot be recovered, and says why.
void TestRecoverTorn() {
  TempDir dir("livepoint-XXXXXX");
  LivePointSettings settings;
  settings.archive_dir = dir.path;
  std::vector<uint8_t> file = MakeHeader(VideoAudio());
  const size_t header = file.size();
  Append(&file, MakeFragment(1, 1, 0));
  Append(&file, MakeFragment(1, 2, kD));
  const size_t whole = file.size();
  std::vector<uint8_t> next = MakeFragment(1, 3, 2 * kD);
  file.insert(file.end(), next.begin(), next.begin() + 30);
  std::string path = dir.Write(ArchiveFileName("s"), file);
  std::string error;
  std::unique_ptr<LivePoint> p = LivePoint::Recover("x", settings, &error);
  if (!p) g_error("%s", error.c_str());
  std::vector<uint8_t> r;
  g_assert_true(p->Fragment(1000000, "video", 0, &r) == FragmentLookup::kFound);
  g_assert_true(p->Fragment(1000000, "video", kD, &r) == FragmentLookup::kNotYet);  // the newest, held back
  g_assert_true(p->Fragment(1000000, "video", 2 * kD, &r) == FragmentLookup::kNotYet);
  p.reset();
  GStatBuf st;
  g_assert_cmpint(g_stat(path.c_str(), &st), ==, 0);
  g_assert_cmpuint(static_cast<uint64_t>(st.st_size), ==, whole);
  file.resize(header - 7);
  dir.Write(ArchiveFileName("s"), file);
  g_assert_null(LivePoint::Recover("x", settings, &error).get());
  g_assert_nonnull(strstr(error.c_str(), "no whole header"));
}

void TestFileNames() {
  for (const char* id : {"720p", "a/b", "", ".", "..", "x_y", "Encoder 1", "é"}) {
    std::string back;
    g_assert_true(StreamIdOfArchiveFile(ArchiveFileName(id), &back));
    EXPECT_STR(back, id);
    g_assert_null(strchr(ArchiveFileName(id).c_str(), '/'));
  }
  std::string id;
  g_assert_false(StreamIdOfArchiveFile("a_zz.ismv", &id));
  g_assert_false(StreamIdOfArchiveFile("a_4.ismv", &id));
  g_assert_false(StreamIdOfArchiveFile("a.ism", &id));
  EXPECT_STR(ArchiveFileName("720p"), "720p.ismv");
  EXPECT_STR(ArchiveBaseName("events/ch1"), "ch1");
  g_assert_true(CheckPointName("events/ch1").ok());
  g_assert_true(CheckPointName("a..b/.c/d.").ok());
  g_assert_true(CheckPointName(std::string(200, 'n')).ok());
  for (const std::string& bad : {std::string(), std::string(201, 'n'), std::string("a\x01b"), std::string("a\x7f"),
                                 std::string("a//b"), std::string("/a"), std::string("a/"), std::string("./a"),
                                 std::string("a/.."), std::string("..")})
    g_assert_false(CheckPointName(bad).ok());
}

// systemBitrate 0 (FFmpeg without -b:v): each track gets the bitrate of
// its first fragment, unique in its StreamIndex, kept over a reconnect,
// later fragments, a restart (BASE.bitrates) and the stop (.ism).
void TestUnknownBitrate() {
  TempDir dir("livepoint-XXXXXX");
  LivePointSettings settings;
  settings.lookahead = 0;
  settings.archive_dir = dir.path + "/ch";
  FixtureTrack lo, hi;
  lo.bitrate = hi.bitrate = 0;
  hi.track_id = 3;
  const std::vector<uint8_t> lo_header = MakeHeader({lo}), hi_header = MakeHeader({hi});
  const uint64_t size = Frag(1, 0).bytes.size();
  const uint32_t expected = static_cast<uint32_t>((size * 8 * 10000000 + kD / 2) / kD);
  {
    LivePoint p("ch", settings);
    g_assert_true(p.OpenStream("lo", HeaderOf(lo_header), 0).ok());
    g_assert_true(p.OpenStream("hi", HeaderOf(hi_header), 0).ok());
    // Not measured yet: not in the manifest, no URL.
    g_assert_null(Find(Manifest(p), "video"));
    std::vector<uint8_t> r;
    g_assert_true(p.Fragment(0, "video", 0, &r) == FragmentLookup::kNoTrack);
    g_assert_true(p.AddFragment("lo", Frag(1, 0), 0) == FragmentFate::kAdded);
    g_assert_true(p.AddFragment("hi", Frag(3, 0), 0) == FragmentFate::kAdded);  // same size: one bit/s more
    IngestFragment bigger = Frag(1, kD);
    bigger.bytes.resize(bigger.bytes.size() * 3);
    g_assert_true(p.AddFragment("lo", std::move(bigger), 0) == FragmentFate::kAdded);
    g_assert_true(p.OpenStream("lo", HeaderOf(lo_header), 0).ok());  // reconnect
    g_assert_true(p.Fragment(expected, "video", 0, &r) == FragmentLookup::kFound);
    g_assert_true(p.Fragment(expected + 1, "video", 0, &r) == FragmentLookup::kFound);
    ClientManifest m = Manifest(p);
    const StreamIndex* video = Find(m, "video");
    g_assert_cmpuint(video->quality_levels.size(), ==, 2);
    g_assert_cmpuint(video->quality_levels[0].bitrate, ==, expected);
    g_assert_cmpuint(video->quality_levels[1].bitrate, ==, expected + 1);
  }  // killed mid-event
  std::string error;
  const std::string recorded_path = settings.archive_dir + "/ch.bitrates";
  gchar* recorded = nullptr;
  gsize recorded_size = 0;
  g_assert_true(g_file_get_contents(recorded_path.c_str(), &recorded, &recorded_size, nullptr));
  {
    // BASE.bitrates lost: measured again from the first archived fragments,
    // unique still (which of the two gets the extra bit/s may differ).
    g_assert_cmpint(g_unlink(recorded_path.c_str()), ==, 0);
    std::unique_ptr<LivePoint> lost = LivePoint::Recover("ch", settings, &error);
    if (!lost) g_error("%s", error.c_str());
    std::vector<uint8_t> r;
    g_assert_true(lost->Fragment(expected, "video", 0, &r) == FragmentLookup::kFound);
    g_assert_true(lost->Fragment(expected + 1, "video", 0, &r) == FragmentLookup::kFound);
  }
  g_assert_true(g_file_set_contents(recorded_path.c_str(), recorded, static_cast<gssize>(recorded_size), nullptr));
  g_free(recorded);
  std::unique_ptr<LivePoint> p = LivePoint::Recover("ch", settings, &error);
  if (!p) g_error("%s", error.c_str());
  // "hi.ismv" is read first: without BASE.bitrates it would get `expected`.
  std::vector<uint8_t> r;
  g_assert_true(p->Fragment(expected + 1, "video", 0, &r) == FragmentLookup::kFound);
  CheckResponse(r, 3, 0, {}, false);
  g_assert_true(p->OpenStream("hi", HeaderOf(hi_header), 0).ok());
  g_assert_true(p->AddFragment("hi", Frag(3, kD), 0) == FragmentFate::kAdded);
  p->CloseStream("hi", true, 10);
  g_assert_true(p->stopped());
  std::unique_ptr<Asset> asset;
  g_assert_true(Asset::Load(settings.archive_dir + "/ch.ism", &asset).ok());
  const StreamIndex* video = Find(asset->client_manifest(), "video");
  g_assert_cmpuint(video->quality_levels.size(), ==, 2);
  g_assert_cmpuint(std::min(video->quality_levels[0].bitrate, video->quality_levels[1].bitrate), ==, expected);
  g_assert_cmpuint(std::max(video->quality_levels[0].bitrate, video->quality_levels[1].bitrate), ==, expected + 1);
}

// Identical audio in two streams (digest 4.3): one track, the second
// stream's copy adds what the first has not sent yet, repeats are
// duplicates; it stays one track after a restart.
void TestRedundantAudio() {
  TempDir dir("livepoint-XXXXXX");
  LivePointSettings settings;
  settings.lookahead = 0;
  settings.archive_dir = dir.path + "/ch";
  std::vector<FixtureTrack> lo = VideoAudio(), hi = VideoAudio();
  lo[0].bitrate = 300000;
  hi[0].track_id = 3;
  std::swap(hi[0], hi[1]);  // another order in the LSM and moov
  {
    LivePoint p("ch", settings);
    g_assert_true(p.OpenStream("lo", HeaderOf(MakeHeader(lo)), 0).ok());
    g_assert_true(p.OpenStream("hi", HeaderOf(MakeHeader(hi)), 0).ok());
    g_assert_cmpuint(p.counters().redundant_tracks, ==, 1);
    g_assert_true(p.AddFragment("lo", Frag(2, 0), 0) == FragmentFate::kAdded);
    g_assert_true(p.AddFragment("hi", Frag(2, 0), 0) == FragmentFate::kDuplicate);
    g_assert_true(p.AddFragment("hi", Frag(2, kD), 0) == FragmentFate::kAdded);  // hi ahead
    g_assert_true(p.AddFragment("lo", Frag(2, kD), 0) == FragmentFate::kDuplicate);
    g_assert_cmpuint(p.counters().duplicates, ==, 2);
    ClientManifest m = Manifest(p);
    const StreamIndex* audio = Find(m, "audio");
    g_assert_cmpuint(audio->quality_levels.size(), ==, 1);
    g_assert_true(Times(*audio) == (std::vector<uint64_t>{0, kD}));
    // A different audio at that URL still clashes.
    std::vector<FixtureTrack> other = VideoAudio();
    other[0].bitrate = 700000;
    other[1].language = "fr";
    Status s = p.OpenStream("other", HeaderOf(MakeHeader(other)), 0);
    g_assert_false(s.ok());
    g_assert_nonnull(strstr(s.message().c_str(), "with another description"));
  }
  std::string error;
  std::unique_ptr<LivePoint> p = LivePoint::Recover("ch", settings, &error);
  if (!p) g_error("%s", error.c_str());
  ClientManifest m = Manifest(*p);
  const StreamIndex* audio = Find(m, "audio");
  g_assert_true(Times(*audio) == (std::vector<uint64_t>{0, kD}));
  std::vector<uint8_t> r;
  g_assert_true(p->Fragment(128000, "audio", kD, &r) == FragmentLookup::kFound);
  CheckResponse(r, 2, kD, {}, false);
  p->CloseStream("lo", true, 10);
  g_assert_true(p->stopped());
  std::unique_ptr<Asset> asset;
  g_assert_true(Asset::Load(settings.archive_dir + "/ch.ism", &asset).ok());
  for (const std::string& problem : asset->problems()) g_error("archive problem: %s", problem.c_str());
  g_assert_cmpuint(Find(asset->client_manifest(), "audio")->FragmentCount(), ==, 2);
}

// The manifest is built once per change: the same text object while
// nothing changes, the same text a fresh point builds, a new one when a
// fragment becomes listed.
void TestManifestCache() {
  LivePointSettings settings;
  settings.lookahead = 1;
  LivePoint p("p", settings), fresh("p", settings);
  for (LivePoint* q : {&p, &fresh}) {
    g_assert_true(q->OpenStream("s1", HeaderOf(MakeHeader(VideoAudio())), 0).ok());
    for (uint32_t track : {1u, 2u}) q->AddFragment("s1", Frag(track, 0), 0);
  }
  std::shared_ptr<const std::string> a, b, c, d;
  g_assert_true(p.ClientManifestXml(&a).ok());
  g_assert_true(p.ClientManifestXml(&b).ok());
  g_assert_true(a.get() == b.get());
  g_assert_cmpuint(Find(Manifest(p), "video")->FragmentCount(), ==, 0);
  for (LivePoint* q : {&p, &fresh})
    for (uint32_t track : {1u, 2u}) q->AddFragment("s1", Frag(track, kD), 0);
  g_assert_true(p.ClientManifestXml(&c).ok());
  g_assert_true(c.get() != a.get());
  g_assert_true(*c != *a);
  g_assert_cmpuint(Find(Manifest(p), "video")->FragmentCount(), ==, 1);
  g_assert_true(fresh.ClientManifestXml(&d).ok());
  EXPECT_STR(*c, *d);
  // A duplicate changes nothing: not built again.
  p.AddFragment("s1", Frag(1, kD), 0);
  g_assert_true(p.ClientManifestXml(&d).ok());
  g_assert_true(d.get() == c.get());
}

}  // namespace

int main(int argc, char** argv) {
  g_test_init(&argc, &argv, nullptr);
  g_test_add_func("/live-point/manifest-and-fragments", TestManifestAndFragments);
  g_test_add_func("/live-point/ladder-in-one-stream", TestLadderInOneStream);
  g_test_add_func("/live-point/fates", TestFates);
  g_test_add_func("/live-point/ffmpeg-live-push", TestFfmpegLivePush);
  g_test_add_func("/live-point/tfdt-only", TestTfdtOnly);
  g_test_add_func("/live-point/window", TestWindow);
  g_test_add_func("/live-point/flat-memory", TestFlatMemory);
  g_test_add_func("/live-point/headers", TestHeaders);
  g_test_add_func("/live-point/protection", TestProtection);
  g_test_add_func("/live-point/archive-and-stop", TestArchiveAndStop);
  g_test_add_func("/live-point/idle-stop", TestIdleStop);
  g_test_add_func("/live-point/recover", TestRecover);
  g_test_add_func("/live-point/recover-torn", TestRecoverTorn);
  g_test_add_func("/live-point/file-names", TestFileNames);
  g_test_add_func("/live-point/unknown-bitrate", TestUnknownBitrate);
  g_test_add_func("/live-point/redundant-audio", TestRedundantAudio);
  g_test_add_func("/live-point/manifest-cache", TestManifestCache);
  return g_test_run();
}
