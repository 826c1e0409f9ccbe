// LivePoint (live_point.h): streams and their tracks, the fate of each
// offered fragment, the running manifest, fragment responses with tfrf, the
// stop (archive finished as an on-demand asset) and the recovery from the
// archive. The per-track rules are LiveTimeline's; the files LiveArchive's.
#include "live_point.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "fourcc.h"
#include "language.h"
#include "live_archive.h"
#include "live_timeline.h"
#include "media_index.h"
#include "playready.h"
#include "presentation.h"
#include "protection.h"
#include "server_manifest.h"

namespace piff {

namespace {

constexpr uint32_t kManifestTimescale = 10000000;

struct Track {
  // The stream that owns it: its archive file holds the track's fragments.
  // A redundant copy in another stream (the same description) adds its
  // fragments to this track, and to this file.
  std::string stream_id;
  uint32_t track_id = 0;
  std::string kind;  // "video" / "audio": the LSM element
  std::string name;  // trackName: Fragments(name=...)
  uint32_t declared_bitrate = 0;  // the LSM's systemBitrate; 0: unknown
  uint32_t bitrate = 0;  // QualityLevel bitrate: declared, or measured (0 until then)
  TrackConfig config;  // from the moov (language from the LSM when it says)
  std::string fourcc;
  LiveTimeline timeline;
};

struct Stream {
  std::string id;
  IngestHeader header;
  std::vector<size_t> tracks;  // into Impl::tracks
  int connections = 0;
  ArchiveFile archive;
  uint32_t sequence = 0;  // mfhd of the last fragment added (Renumber)
};

std::string StreamLabel(const std::string& id) { return "Streams(" + id + ")"; }

// Two streams carry the same track (a redundant copy, digest 4.3) when its
// LSM entry and its coding are the same.
bool SameDescription(const Track& a, const Track& b) {
  const TrackConfig &x = a.config, &y = b.config;
  return a.kind == b.kind && a.name == b.name && a.track_id == b.track_id &&
         a.declared_bitrate == b.declared_bitrate && a.fourcc == b.fourcc && x.kind == y.kind &&
         x.timescale == y.timescale && x.language == y.language && x.sample_entry == y.sample_entry &&
         x.width == y.width && x.height == y.height && x.avcc == y.avcc && x.sample_rate == y.sample_rate &&
         x.channels == y.channels && x.audio_specific_config == y.audio_specific_config && x.sinf == y.sinf;
}

// bytes*8 over the duration, rounded, in bit/s (presentation.h's rule),
// at least 1; a zero duration counts as one second.
uint32_t MeasureBitrate(uint64_t bytes, uint64_t duration, uint32_t timescale) {
  TrackSummary one;
  one.config.timescale = timescale;
  one.payload_bytes = bytes;
  one.fragments.push_back({0, duration != 0 ? duration : timescale});
  return std::max<uint32_t>(MeasuredBitrate(one), 1);
}

std::string TrackLabel(const Track& t) {
  return t.kind + " track \"" + t.name + "\" at " + std::to_string(t.bitrate) + " bit/s";
}

// What differs between the header of a stream's first connection and a
// later one, for the error a refused encoder gets.
std::string WhatDiffers(const IngestHeader& a, const IngestHeader& b) {
  if (a.ftyp.Serialize() != b.ftyp.Serialize()) return "ftyp differs";
  if (a.live_manifest.has_value() != b.live_manifest.has_value() ||
      (a.live_manifest && a.live_manifest->xml != b.live_manifest->xml))
    return "the Live Server Manifest differs";
  if (a.moov.Serialize() != b.moov.Serialize()) return "moov differs";
  return "the other boxes before the first moof differ";
}

// Numbers the fragment's moof (mfhd, its first child: the 32 bits at
// byte 20) as the `sequence`-th of its archive file: ISO 14496-12 wants
// them increasing along a file, and the moofs of a multi-traf fragment
// split per track share the received number. False when the moof does
// not start with an mfhd (left as it is).
bool Renumber(std::vector<uint8_t>* fragment, uint32_t sequence) {
  std::vector<uint8_t>& b = *fragment;
  if (b.size() < 24 || std::memcmp(&b[4], "moof", 4) != 0 || std::memcmp(&b[12], "mfhd", 4) != 0) return false;
  for (int i = 0; i < 4; i++) b[20 + i] = static_cast<uint8_t>(sequence >> (24 - 8 * i));
  return true;
}

uint32_t MoofSize(const std::vector<uint8_t>& fragment) {
  BoxHeader h;
  if (!ParseBoxHeader(fragment.data(), fragment.size(), &h)) return 0;
  return static_cast<uint32_t>(h.size);
}

bool FileExists(const std::string& path) { return g_file_test(path.c_str(), G_FILE_TEST_EXISTS); }

Status WriteFile(const std::string& path, const std::string& text) {
  GError* err = nullptr;
  if (g_file_set_contents(path.c_str(), text.data(), static_cast<gssize>(text.size()), &err)) return Status::Ok();
  Status s = Status::Error("cannot write " + path + ": " + err->message);
  g_error_free(err);
  return s;
}

}  // namespace

struct LivePoint::Impl {
  std::string name;
  LivePointSettings settings;
  std::vector<std::unique_ptr<Stream>> streams;
  std::vector<Track> tracks;
  bool stopped = false;
  bool end_seen = false;  // a stream sent its mfra
  std::optional<uint64_t> idle_since;
  LivePointCounters counters;
  std::string last_archive_error;
  // The client manifest as last built; null: to be built (see ManifestXml).
  mutable std::shared_ptr<const std::string> manifest;

  std::string Dir() const { return settings.archive_dir; }
  std::string Base() const { return ArchiveBaseName(name); }

  Stream* FindStream(const std::string& id) const {
    for (auto& s : streams)
      if (s->id == id) return s.get();
    return nullptr;
  }

  int OpenConnections() const {
    int n = 0;
    for (auto& s : streams) n += s->connections;
    return n;
  }

  void ArchiveError(const Status& s) {
    counters.archive_errors++;
    last_archive_error = s.message();
  }

  // The tracks a stream's header announces: the LSM says which, their
  // names and bitrates, the moov how they are coded.
  Status DescribeStream(const std::string& id, const IngestHeader& header, std::vector<Track>* out) const {
    const std::string where = StreamLabel(id);
    if (!header.live_manifest)
      return Status::Error(where + ": the header has no Live Server Manifest (track names and bitrates come from it)");
    ServerManifest lsm;
    Status s = ServerManifest::Parse(header.live_manifest->xml, &lsm);
    if (!s) return s.WithContext(where + ": Live Server Manifest");
    if (lsm.tracks.empty()) return Status::Error(where + ": the Live Server Manifest lists no track");
    for (const ServerTrack& st : lsm.tracks) {
      Track t;
      t.stream_id = id;
      t.kind = st.kind;
      t.name = st.track_name();
      t.declared_bitrate = st.system_bitrate;
      t.bitrate = st.system_bitrate;
      std::optional<uint32_t> track_id = st.track_id();
      std::string what = where + ": " + st.kind + " \"" + t.name + "\"";
      if (st.kind != "video" && st.kind != "audio")
        return Status::Error(what + ": " + st.kind + " tracks are not supported (video and audio only)");
      if (!track_id) return Status::Error(what + " has no trackID");
      const TrackBox* trak = header.moov.FindTrack(*track_id);
      if (!trak) return Status::Error(what + ": trackID " + std::to_string(*track_id) + " is not in the moov");
      IndexedTrack described;
      s = DescribeTrack(*trak, &described);
      if (!s) return s.WithContext(where);
      if (!described.supported)
        return Status::Error(what + ": sample entry '" + FourCCToString(described.sample_entry) +
                             "' is not H.264 or AAC");
      if ((described.config.kind == TrackConfig::Kind::kVideo) != (st.kind == "video"))
        return Status::Error(what + ": trackID " + std::to_string(*track_id) + " is a " +
                             (st.kind == "video" ? "sound" : "video") + " track in the moov");
      t.track_id = *track_id;
      t.config = described.config;
      // systemLanguage: an attribute (IIS), or a param (FFmpeg); an RFC
      // 1766 / BCP 47 tag, kept as the ISO 639-2/T code the manifests use.
      const ServerParam* lang_param = st.FindParam("systemLanguage");
      std::string lang = st.system_language ? *st.system_language : lang_param ? lang_param->value : "";
      std::string iso;
      if (!lang.empty() && LanguageToIso639_2T(lang, &iso)) t.config.language = iso;
      t.fourcc = described.manifest_fourcc;
      for (const Track& o : *out)
        if (o.track_id == t.track_id ||
            (o.kind == t.kind && o.name == t.name && t.bitrate != 0 && o.bitrate == t.bitrate))
          return Status::Error(where + ": the Live Server Manifest lists " + TrackLabel(t) + " twice");
      out->push_back(std::move(t));
    }
    return Status::Ok();
  }

  // Adds a stream and its tracks; `create`: start its archive file (a new
  // stream), else the caller opens the recovered one.
  // A track described exactly like one of another stream is a redundant
  // copy of it; one that only shares its StreamIndex and declared bitrate
  // clashes (two different tracks would have the same URL).
  Status AddStream(const std::string& id, const IngestHeader& header, bool create, Stream** out) {
    std::vector<Track> added;
    Status s = DescribeStream(id, header, &added);
    if (!s) return s;
    std::vector<size_t> copy_of(added.size(), SIZE_MAX);
    for (size_t k = 0; k < added.size(); k++) {
      const Track& t = added[k];
      for (size_t i = 0; i < tracks.size() && copy_of[k] == SIZE_MAX; i++) {
        const Track& o = tracks[i];
        if (o.kind != t.kind || o.name != t.name) continue;
        if (SameDescription(o, t))
          copy_of[k] = i;
        else if (t.declared_bitrate != 0 && o.bitrate == t.declared_bitrate)
          return Status::Error(StreamLabel(id) + ": " + TrackLabel(t) + " is already sent by " +
                               StreamLabel(o.stream_id) + " with another description (a redundant copy must be " +
                               "identical: trackID, codec data, timescale, bitrate, name)");
      }
    }
    auto stream = std::make_unique<Stream>();
    stream->id = id;
    stream->header = header;
    if (create && !settings.archive_dir.empty()) {
      if (g_mkdir_with_parents(Dir().c_str(), 0755) != 0)
        return Status::Error("cannot create the archive folder " + Dir());
      s = stream->archive.Create(Dir() + "/" + ArchiveFileName(id), header.bytes);
      if (!s) return s;
    }
    for (size_t k = 0; k < added.size(); k++) {
      if (copy_of[k] != SIZE_MAX) {
        stream->tracks.push_back(copy_of[k]);
        counters.redundant_tracks++;
        continue;
      }
      stream->tracks.push_back(tracks.size());
      tracks.push_back(std::move(added[k]));
    }
    streams.push_back(std::move(stream));
    *out = streams.back().get();
    manifest.reset();
    return Status::Ok();
  }

  // A track of unknown bitrate gets one from its first fragment, unique in
  // its StreamIndex (one more bit/s until it is), kept in BASE.bitrates.
  void AssignBitrate(Track* t, uint64_t bytes, uint64_t duration) {
    uint32_t b = MeasureBitrate(bytes, duration, t->config.timescale);
    for (bool taken = true; taken;) {
      taken = false;
      for (const Track& o : tracks)
        if (&o != t && o.kind == t->kind && o.name == t->name && o.bitrate == b) taken = true;
      if (taken) b = b == UINT32_MAX ? 1 : b + 1;
    }
    t->bitrate = b;
    SaveBitrates();
  }

  void SaveBitrates() {
    if (settings.archive_dir.empty()) return;
    std::vector<RecordedBitrate> all;
    for (const Track& t : tracks)
      if (t.declared_bitrate == 0 && t.bitrate != 0) all.push_back({t.stream_id, t.track_id, t.bitrate});
    Status s = WriteMeasuredBitrates(BitratesPath(), all);
    if (!s) ArchiveError(s);
  }

  std::string BitratesPath() const { return Dir() + "/" + Base() + ".bitrates"; }

  Track* FindTrack(const Stream& s, uint32_t track_id) {
    for (size_t i : s.tracks)
      if (tracks[i].track_id == track_id) return &tracks[i];
    return nullptr;
  }

  const Track* FindTrack(uint32_t bitrate, const std::string& track_name) const {
    for (const Track& t : tracks)
      if (t.bitrate != 0 && t.bitrate == bitrate && t.name == track_name) return &t;
    return nullptr;
  }

  void Restart() {
    streams.clear();
    tracks.clear();
    stopped = false;
    end_seen = false;
    idle_since.reset();
    manifest.reset();
    if (!settings.archive_dir.empty()) {
      Status s = MoveArchiveAside(Dir());
      if (!s) ArchiveError(s);
    }
  }

  size_t WindowStart(const Track& t) const {
    if (stopped) return t.timeline.WindowStart(0);
    return t.timeline.WindowStart(WindowInTrackTicks(settings.dvr_window, t.config.timescale));
  }

  size_t ListedEnd(const Track& t) const { return t.timeline.ListedEnd(stopped ? 0 : settings.lookahead); }

  // The tracks as BuildPresentation wants them, each with the fragments a
  // manifest lists: the window minus the look-ahead, cut per StreamIndex
  // to the range every one of its tracks has, so a level that lags a
  // fragment behind its ladder is not left out for it.
  std::vector<TrackSummary> Summaries() const {
    std::map<std::string, std::pair<uint64_t, uint64_t>> range;  // name -> [lo, hi)
    // A track of unknown bitrate has no fragment yet: left out until its
    // first one measures it.
    for (const Track& t : tracks) {
      if (t.bitrate == 0) continue;
      size_t a = WindowStart(t), b = ListedEnd(t);
      std::pair<uint64_t, uint64_t> r = a < b ? std::make_pair(t.timeline.at(a).time, t.timeline.at(b - 1).end())
                                              : std::make_pair(UINT64_MAX, uint64_t{0});
      auto it = range.find(t.name);
      if (it == range.end())
        range[t.name] = r;
      else
        it->second = {std::max(it->second.first, r.first), std::min(it->second.second, r.second)};
    }
    std::vector<TrackSummary> out;
    for (const Track& t : tracks) {
      if (t.bitrate == 0) continue;
      TrackSummary s;
      s.config = t.config;
      s.fourcc = t.fourcc;
      s.src = ArchiveFileName(t.stream_id);
      s.bitrate = t.bitrate;
      s.name = t.name;
      const auto& r = range[t.name];
      for (size_t i = WindowStart(t), end = ListedEnd(t); i < end; i++) {
        const LiveEntry& e = t.timeline.at(i);
        if (e.time < r.first || e.end() > r.second) continue;
        s.fragments.push_back({e.time, e.duration});
        s.payload_bytes += e.size;
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  std::vector<ProtectionHeader> Protection() const {
    std::vector<ProtectionHeader> out;
    for (auto& s : streams)
      for (const ProtectionSystemHeader& h : FindProtectionSystemHeaders(s->header.moov.other)) {
        if (!h.piff || h.system_id != kPlayReadySystemId) continue;
        ProtectionHeader p;
        p.system_id = h.system_id;
        p.data_base64 = Base64Encode(h.data);
        bool seen = false;
        for (const ProtectionHeader& o : out) seen = seen || (o.system_id == p.system_id && o.data_base64 == p.data_base64);
        if (!seen) out.push_back(std::move(p));
      }
    return out;
  }

  Status BuildManifests(const std::string& ismc_name, Presentation* p) const {
    std::vector<TrackSummary> summaries = Summaries();
    // Every track still waits for the first fragment that measures its
    // bitrate: a live manifest without StreamIndex (clients poll again).
    if (summaries.empty() && !stopped) {
      *p = Presentation();
      p->client.timescale = kManifestTimescale;
    } else {
      Status s = BuildPresentation(summaries, kManifestTimescale, ismc_name, p);
      if (!s) return s;
    }
    ClientManifest& cm = p->client;
    cm.protection = Protection();
    if (!stopped) {
      cm.is_live = true;
      cm.duration = 0;
      cm.lookahead_count = settings.lookahead;
      cm.dvr_window_length = settings.dvr_window;
    }
    return Status::Ok();
  }

  // Built again only after something changed (manifest reset), so the
  // many clients polling a running manifest cost a copy of a pointer.
  Status ManifestXml(std::shared_ptr<const std::string>* xml) const {
    if (!manifest) {
      Presentation p;
      Status s = BuildManifests("", &p);
      if (!s) return s.WithContext("the manifest of " + name + ".isml");
      ClientManifestWriteOptions options;
      // GStreamer reads LookAheadFragmentCount, ExoPlayer only the spec's
      // LookaheadCount (digest 7.1).
      options.write_spec_lookahead_name = !stopped;
      manifest = std::make_shared<const std::string>(p.client.Write(options));
    }
    *xml = manifest;
    return Status::Ok();
  }

  // The stop: every archive file gets its mfra, then the .ism and .ismc.
  void Stop() {
    if (stopped) return;
    stopped = true;
    manifest.reset();
    if (settings.archive_dir.empty()) return;
    for (auto& s : streams) {
      if (!s->archive.is_open()) continue;
      MovieFragmentRandomAccessBox mfra;
      for (size_t i : s->tracks) {
        const Track& t = tracks[i];
        if (t.stream_id != s->id) continue;  // a redundant copy: in its owner's file
        TrackFragmentRandomAccessBox tfra;
        tfra.track_id = t.track_id;
        for (size_t k = 0; k < t.timeline.size(); k++) {
          const LiveEntry& e = t.timeline.at(k);
          if (e.offset == LiveEntry::kNotArchived) continue;
          TrackFragmentRandomAccessBox::Entry te;
          te.time = e.time;
          te.moof_offset = e.offset;
          tfra.entries.push_back(te);
        }
        mfra.tfras.push_back(std::move(tfra));
      }
      uint64_t at = 0;
      Status st = s->archive.Append(mfra.SerializeWithMfro(), &at);
      if (!st) ArchiveError(st);
    }
    Presentation p;
    const std::string ismc = Base() + ".ismc";
    Status st = BuildManifests(ismc, &p);
    if (st) st = WriteFile(Dir() + "/" + ismc, p.client.Write());
    if (st) st = WriteFile(Dir() + "/" + Base() + ".ism", p.server.Write());
    if (!st) ArchiveError(st);
  }

  // Reads one archive file back (Recover): its header makes the stream,
  // its fragments the tracks' timelines (read back from the file when
  // asked); a torn tail, or the mfra of a point that did not finish its
  // stop, is cut off.
  Status RecoverFile(const std::string& file_name) {
    std::string id;
    const std::string path = Dir() + "/" + file_name;
    if (!StreamIdOfArchiveFile(file_name, &id)) return Status::Error(path + ": not an archive file name");
    std::unique_ptr<FileByteSource> src;
    Status s = FileByteSource::Open(path, &src);
    if (!s) return s;
    ArchiveScan scan;
    s = ScanArchiveFile(*src, path, &scan);
    if (!s) return s;
    Stream* stream = nullptr;
    s = AddStream(id, scan.header, false, &stream);
    if (!s) return s.WithContext(path);
    for (const ArchivedFragment& f : scan.fragments) {
      Track* t = FindTrack(*stream, f.track_id);
      // A redundant copy recovered before its owner's file: the file that
      // holds the track's fragments owns it.
      if (t && t->stream_id != id && t->timeline.empty()) t->stream_id = id;
      // Not something the point wrote: the file is cut before it.
      if (!t || t->stream_id != id || t->timeline.Check(f.entry.time, f.entry.duration) != LiveOffer::kAdd) {
        scan.good_end = f.entry.offset;
        scan.ended = false;
        break;
      }
      t->timeline.Add(f.entry, {}, settings.memory_fragments);
      stream->sequence = std::max(stream->sequence, f.sequence);
    }
    // A stopped point keeps its finished files whole.
    return stream->archive.OpenAt(path, stopped && scan.ended ? src->Size() : scan.good_end);
  }
};

LivePoint::LivePoint(std::string name, LivePointSettings settings) : impl_(std::make_unique<Impl>()) {
  impl_->name = std::move(name);
  impl_->settings = std::move(settings);
  impl_->settings.memory_fragments = std::max<size_t>(impl_->settings.memory_fragments, 1);
}

LivePoint::~LivePoint() = default;

std::unique_ptr<LivePoint> LivePoint::Recover(std::string name, LivePointSettings settings, std::string* error) {
  auto point = std::make_unique<LivePoint>(std::move(name), std::move(settings));
  Impl& m = *point->impl_;
  if (m.settings.archive_dir.empty()) {
    *error = "the point has no archive folder";
    return nullptr;
  }
  GDir* dir = g_dir_open(m.Dir().c_str(), 0, nullptr);
  if (!dir) {
    *error = "no archive folder " + m.Dir();
    return nullptr;
  }
  std::vector<std::string> files;
  while (const char* n = g_dir_read_name(dir)) {
    std::string f = n;
    if (f.size() > 5 && f.compare(f.size() - 5, 5, ".ismv") == 0) files.push_back(f);
  }
  g_dir_close(dir);
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    *error = "no archive (.ismv files) in " + m.Dir();
    return nullptr;
  }
  m.stopped = FileExists(m.Dir() + "/" + m.Base() + ".ism");
  for (const std::string& f : files) {
    Status s = m.RecoverFile(f);
    if (!s) {
      *error = s.message();
      return nullptr;
    }
  }
  // Once every file is read (a redundant track's owner is the file with
  // its fragments): the measured bitrates as recorded, else (BASE.bitrates
  // lost) measured again from the first archived fragment.
  const std::vector<RecordedBitrate> recorded = ReadMeasuredBitrates(m.BitratesPath());
  for (Track& t : m.tracks)
    for (const RecordedBitrate& b : recorded)
      if (t.declared_bitrate == 0 && b.stream_id == t.stream_id && b.track_id == t.track_id) t.bitrate = b.bitrate;
  for (Track& t : m.tracks)
    if (t.bitrate == 0 && !t.timeline.empty()) m.AssignBitrate(&t, t.timeline.at(0).size, t.timeline.at(0).duration);
  return point;
}

Status LivePoint::OpenStream(const std::string& stream_id, const IngestHeader& header, uint64_t now_ms) {
  Impl& m = *impl_;
  (void)now_ms;
  if (m.stopped) {
    // A refused header does not end the stopped event's archive.
    std::vector<Track> tracks;
    Status st = m.DescribeStream(stream_id, header, &tracks);
    if (!st) {
      m.counters.refused_headers++;
      return st;
    }
    m.Restart();
  }
  if (Stream* s = m.FindStream(stream_id)) {
    if (s->header.bytes != header.bytes) {
      m.counters.refused_headers++;
      return Status::Error(StreamLabel(stream_id) + " header differs from the first connection: " +
                           WhatDiffers(s->header, header));
    }
    m.counters.reconnects++;
    s->connections++;
    m.idle_since.reset();
    return Status::Ok();
  }
  Stream* s = nullptr;
  Status st = m.AddStream(stream_id, header, true, &s);
  if (!st) {
    m.counters.refused_headers++;
    return st;
  }
  m.counters.streams_opened++;
  s->connections = 1;
  m.idle_since.reset();
  return Status::Ok();
}

FragmentFate LivePoint::AddFragment(const std::string& stream_id, IngestFragment fragment, uint64_t now_ms) {
  Impl& m = *impl_;
  (void)now_ms;
  if (m.stopped) return FragmentFate::kRejected;
  Stream* s = m.FindStream(stream_id);
  Track* t = s ? m.FindTrack(*s, fragment.track_id) : nullptr;
  if (!t || fragment.bytes.size() > UINT32_MAX) return FragmentFate::kRejected;
  // A redundant copy's fragments go to the track's owner (timeline, file).
  Stream* owner = t->stream_id == s->id ? s : m.FindStream(t->stream_id);
  if (!owner) return FragmentFate::kRejected;
  m.counters.bytes_in += fragment.bytes.size();
  switch (t->timeline.Check(fragment.time, fragment.duration)) {
    case LiveOffer::kDuplicate:
      m.counters.duplicates++;
      return FragmentFate::kDuplicate;
    case LiveOffer::kOutOfOrder:
      m.counters.out_of_order++;
      return FragmentFate::kOutOfOrder;
    case LiveOffer::kAdd:
      break;
  }
  LiveEntry e;
  e.time = fragment.time;
  e.duration = fragment.duration;
  e.size = static_cast<uint32_t>(fragment.bytes.size());
  e.moof_size = MoofSize(fragment.bytes);
  if (t->bitrate == 0) m.AssignBitrate(t, fragment.bytes.size(), fragment.duration);
  Renumber(&fragment.bytes, ++owner->sequence);
  if (owner->archive.is_open()) {
    uint64_t at = 0;
    Status st = owner->archive.Append(fragment.bytes, &at);
    if (st)
      e.offset = at;
    else
      m.ArchiveError(st);  // served from memory while held
  }
  t->timeline.Add(e, std::move(fragment.bytes), m.settings.memory_fragments);
  m.counters.fragments_added++;
  m.manifest.reset();
  return FragmentFate::kAdded;
}

void LivePoint::CloseStream(const std::string& stream_id, bool end_of_stream, uint64_t now_ms) {
  Impl& m = *impl_;
  Stream* s = m.FindStream(stream_id);
  if (s && s->connections > 0) s->connections--;
  if (end_of_stream) m.end_seen = true;
  if (m.OpenConnections() == 0) {
    m.idle_since = now_ms;
    if (m.end_seen && running()) m.Stop();
  }
}

void LivePoint::Tick(uint64_t now_ms) {
  Impl& m = *impl_;
  if (!running() || m.OpenConnections() > 0 || m.settings.idle_stop_ms == 0) return;
  if (!m.idle_since) {
    m.idle_since = now_ms;
    return;
  }
  if (now_ms >= *m.idle_since && now_ms - *m.idle_since >= m.settings.idle_stop_ms) m.Stop();
}

bool LivePoint::running() const { return !impl_->tracks.empty() && !impl_->stopped; }
bool LivePoint::stopped() const { return impl_->stopped; }
const std::string& LivePoint::name() const { return impl_->name; }

Status LivePoint::ClientManifestXml(std::shared_ptr<const std::string>* xml) const { return impl_->ManifestXml(xml); }

FragmentLookup LivePoint::Fragment(uint32_t bitrate, const std::string& track_name, uint64_t time,
                                   std::vector<uint8_t>* response) const {
  const Impl& m = *impl_;
  const Track* t = m.FindTrack(bitrate, track_name);
  if (!t) return FragmentLookup::kNoTrack;
  const LiveTimeline& tl = t->timeline;
  const size_t start = m.WindowStart(*t);
  ptrdiff_t found = tl.Find(time);
  if (found < 0) {
    if (tl.empty() || time >= tl.end()) return m.stopped ? FragmentLookup::kNoFragment : FragmentLookup::kNotYet;
    if (start >= tl.size() || time < tl.at(start).time) return FragmentLookup::kOutOfWindow;
    return FragmentLookup::kNoFragment;
  }
  size_t i = static_cast<size_t>(found);
  if (i < start) return FragmentLookup::kOutOfWindow;
  // While live with a look-ahead, a track's newest fragment is held back
  // (412, as for one not received yet) until the next one arrives, so every
  // fragment a client gets names at least one successor in its tfrf:
  // GStreamer 1.22's mssdemux, given a live fragment with no successor,
  // aborts (no tfrf) or restarts from the window's start (an empty one).
  if (!m.stopped && m.settings.lookahead > 0 && i + 1 == tl.size()) return FragmentLookup::kNotYet;
  std::vector<uint8_t> read;
  const std::vector<uint8_t>* bytes = tl.Resident(i);
  if (!bytes) {
    const Stream* s = m.FindStream(t->stream_id);
    const LiveEntry& e = tl.at(i);
    if (!s || !s->archive.Read(e.offset, e.size, &read)) return FragmentLookup::kNoFragment;
    bytes = &read;
  }
  std::vector<TfrfBox::Entry> next;
  if (!m.stopped)
    for (size_t k = i + 1; k < tl.size() && k <= i + m.settings.lookahead && next.size() < 255; k++)
      next.push_back({tl.at(k).time, tl.at(k).duration});
  // With a look-ahead, every response has a tfrf, also the newest fragment's
  // (no entries) and those served after the stop to a client still playing
  // the live manifest: mssdemux 1.22 aborts on a live fragment without one.
  if (!AddFragmentReferences(bytes->data(), bytes->size(), {tl.at(i).time, tl.at(i).duration}, next,
                             m.settings.lookahead > 0, response))
    *response = *bytes;
  return FragmentLookup::kFound;
}

LivePointCounters LivePoint::counters() const { return impl_->counters; }

size_t LivePoint::resident_fragment_bytes() const {
  size_t n = 0;
  for (const Track& t : impl_->tracks) n += t.timeline.resident_bytes();
  return n;
}

std::string LivePoint::last_archive_error() const { return impl_->last_archive_error; }

}  // namespace piff
