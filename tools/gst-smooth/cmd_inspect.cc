// gst-smooth inspect: what a Smooth Streaming file holds and whether it is
// consistent. For media (.ismv/.isma/any fragmented MP4): the box tree, the
// tracks, every fragment per track and the problems the core's MediaIndex
// finds (tfra vs moof, timeline gaps, truncation) plus fragment boundaries
// that differ between the video tracks of the file. For manifests: a
// summary of the client manifest, and for an .ism the whole presentation
// (Asset) with every manifest fragment resolved to media bytes.
//
// Everything is read with bounded reads (box headers, moov, moofs, mfra):
// mdat payloads are never loaded, so a multi-gigabyte file costs little.
#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "asset.h"
#include "asset_fragments.h"
#include "box_tree.h"
#include "client_manifest.h"
#include "codec_config.h"
#include "commands.h"
#include "file_io.h"
#include "fragment.h"
#include "json_writer.h"
#include "media_index.h"
#include "presentation.h"
#include "server_manifest.h"

using namespace piff;

namespace {

constexpr uint64_t kMaxManifestBytes = 64ull << 20;
// In text mode, moof/mdat pairs after this many are summarised (the JSON
// output always lists every box).
constexpr size_t kTextMoofLimit = 2;

struct Options {
  std::string path;
  bool json = false;
  bool samples = false;
  bool strict = false;
  bool all_boxes = false;
};

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: gst-smooth inspect FILE [--json] [--samples] [--all-boxes] [--strict]\n"
               "  FILE         .ismv/.isma/fragmented MP4, client manifest (.ismc, Manifest) or\n"
               "               server manifest (.ism: loads the presentation and its media)\n"
               "  --json       machine-readable output on stdout\n"
               "  --samples    also list every sample of every fragment (media only)\n"
               "  --all-boxes  text mode: list every moof/mdat, not only the first %zu\n"
               "  --strict     exit 1 when problems are found (default: reported, exit 0)\n"
               "Exit status: 0 readable, 1 unreadable input (or problems with --strict), 2 usage.\n",
               kTextMoofLimit);
}

// ---------------------------------------------------------------- media

std::string KindOf(const IndexedTrack& t) {
  if (t.handler == MakeFourCC("vide")) return "video";
  if (t.handler == MakeFourCC("soun")) return "audio";
  if (t.handler == MakeFourCC("text") || t.handler == MakeFourCC("subt") || t.handler == MakeFourCC("sbtl"))
    return "text";
  return FourCCToString(t.handler);
}

// RFC 6381 codec string (what a browser or DASH manifest would call it).
std::string CodecString(const IndexedTrack& t) {
  const TrackConfig& c = t.config;
  if (!c.avcc.empty() && c.avcc.size() >= 4) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "avc1.%02x%02x%02x", c.avcc[1], c.avcc[2], c.avcc[3]);
    return buf;
  }
  if (!c.audio_specific_config.empty()) {
    AudioSpecificConfig asc;
    if (AudioSpecificConfig::Parse(c.audio_specific_config.data(), c.audio_specific_config.size(), &asc)) {
      uint32_t aot = asc.ps_present ? 29 : asc.sbr_present ? 5 : asc.object_type;
      return "mp4a.40." + std::to_string(aot);
    }
  }
  return FourCCToString(t.sample_entry);
}

uint64_t SampleCount(const IndexedTrack& t) {
  uint64_t n = 0;
  for (auto& f : t.fragments) n += f.sample_count;
  return n;
}

// Measured the way manifests measure it, so the figure matches a Bitrate
// that gst-smooth manifest or ismvmux would write for this track.
uint64_t Bitrate(const IndexedTrack& t) {
  TrackSummary s;
  s.config = t.config;
  s.payload_bytes = t.payload_bytes;
  for (auto& f : t.fragments) s.fragments.push_back({f.time, f.duration});
  return MeasuredBitrate(s);
}

uint64_t FragmentSize(const IndexedFragment& f) {
  return f.end_offset ? f.end_offset - f.moof_offset : f.moof_size;
}

// Video tracks of one file are QualityLevels of one StreamIndex when served:
// a client switching between them needs the same fragment boundaries.
void CheckVideoAlignment(const MediaIndex& index, std::vector<std::string>* problems) {
  const IndexedTrack* ref = nullptr;
  for (const IndexedTrack& t : index.tracks) {
    if (t.handler != MakeFourCC("vide") || t.fragments.empty()) continue;
    if (!ref) {
      ref = &t;
      continue;
    }
    const uint64_t ts_a = ref->config.timescale, ts_b = t.config.timescale;
    size_t n = std::min(ref->fragments.size(), t.fragments.size());
    for (size_t i = 0; i < n; i++) {
      uint64_t a = ref->fragments[i].time, b = t.fragments[i].time;
      if (static_cast<unsigned __int128>(a) * ts_b != static_cast<unsigned __int128>(b) * ts_a) {
        problems->push_back("video tracks " + std::to_string(ref->config.track_id) + " and " +
                            std::to_string(t.config.track_id) + ": fragment " + std::to_string(i) + " starts at " +
                            std::to_string(a) + " (" + FormatSeconds(a, ts_a) + " s) and " + std::to_string(b) +
                            " (" + FormatSeconds(b, ts_b) + " s): fragment boundaries are not aligned");
        break;
      }
    }
    if (ref->fragments.size() != t.fragments.size())
      problems->push_back("video tracks " + std::to_string(ref->config.track_id) + " and " +
                          std::to_string(t.config.track_id) + " have " + std::to_string(ref->fragments.size()) +
                          " and " + std::to_string(t.fragments.size()) +
                          " fragments: fragment boundaries are not aligned");
  }
}

// The samples of one indexed fragment, from its moof (read again; the index
// keeps only per-fragment totals).
Status ReadFragmentSamples(ByteSource& src, const MediaIndex& index, const IndexedTrack& track,
                           const IndexedFragment& f, std::vector<ReadSample>* out) {
  out->clear();
  TrackFragmentSamples tf;
  Status s = ReadIndexedFragment(src, index.moov ? &*index.moov : nullptr, f, track.config.track_id, &tf);
  if (s) *out = std::move(tf.samples);
  return s;
}

void BoxJson(JsonWriter& j, const BoxNode& b) {
  j.BeginObject(true);
  j.Field("type", FourCCToString(b.type));
  if (b.type == MakeFourCC("uuid")) {
    j.Field("uuid", UuidToString(b.usertype));
    j.Field("name", b.Name());
  }
  j.Field("offset", b.offset);
  j.Field("size", b.size);
  if (!b.children.empty()) {
    j.Key("children");
    j.BeginArray(true);
    for (auto& c : b.children) BoxJson(j, c);
    j.EndArray();
  }
  j.EndObject();
}

void BoxText(const BoxNode& b, int depth) {
  std::string name = b.Name();
  if (b.type == MakeFourCC("uuid"))
    name = "uuid[" + (UuidBoxName(b.usertype).empty() ? UuidToString(b.usertype) : name) + "]";
  std::printf("  %*s%-*s @%" PRIu64 " size %" PRIu64 "\n", depth * 2, "", std::max(4, 22 - depth * 2), name.c_str(),
              b.offset, b.size);
  for (auto& c : b.children) BoxText(c, depth + 1);
}

const TrackFragmentRandomAccessBox* TfraOf(const MediaIndex& index, uint32_t track_id) {
  if (!index.mfra) return nullptr;
  for (auto& t : index.mfra->tfras)
    if (t.track_id == track_id) return &t;
  return nullptr;
}

int Finish(const Options& o, size_t problem_count) {
  if (o.strict && problem_count) {
    std::fprintf(stderr, "gst-smooth inspect: %s: %zu problem(s) (--strict)\n", o.path.c_str(), problem_count);
    return 1;
  }
  return 0;
}

int InspectMedia(const Options& o) {
  std::unique_ptr<FileByteSource> src;
  Status s = FileByteSource::Open(o.path, &src);
  MediaIndex index;
  if (s) s = MediaIndex::Build(*src, &index);
  if (!s) {
    std::fprintf(stderr, "gst-smooth inspect: %s: %s\n", o.path.c_str(), s.message().c_str());
    // What the scan saw before giving up often says why (e.g. a cut-off moov).
    for (auto& p : index.problems) std::fprintf(stderr, "  %s\n", p.c_str());
    return 1;
  }
  std::vector<BoxNode> boxes;
  std::vector<std::string> box_problems;
  if (!(s = ReadBoxTree(*src, BoxTreeOptions(), &boxes, &box_problems))) {
    std::fprintf(stderr, "gst-smooth inspect: %s: %s\n", o.path.c_str(), s.message().c_str());
    return 1;
  }
  std::vector<std::string> problems = index.problems;
  CheckVideoAlignment(index, &problems);

  // With --samples, moofs are read again; a failure there is reported per
  // fragment as a problem rather than aborting the listing.
  auto samples_of = [&](const IndexedTrack& t, const IndexedFragment& f, std::vector<ReadSample>* out) {
    Status st = ReadFragmentSamples(*src, index, t, f, out);
    if (!st) problems.push_back("track " + std::to_string(t.config.track_id) + ": samples of fragment at " +
                                std::to_string(f.time) + ": " + st.message());
  };

  if (o.json) {
    {
      JsonWriter j(stdout);
      j.BeginObject();
      j.Field("file", o.path);
      j.Field("type", "media");
      j.Field("size", src->Size());
      j.Key("ftyp");
      if (index.ftyp) {
        j.BeginObject(true);
        j.Field("major_brand", FourCCToString(index.ftyp->major_brand));
        j.Field("minor_version", index.ftyp->minor_version);
        j.Key("compatible_brands");
        j.BeginArray(true);
        for (FourCC b : index.ftyp->compatible_brands) j.String(FourCCToString(b));
        j.EndArray();
        j.EndObject();
      } else {
        j.Null();
      }
      j.Field("live_server_manifest", index.live_manifest.has_value());
      j.Key("boxes");
      j.BeginArray();
      for (auto& b : boxes) BoxJson(j, b);
      j.EndArray();
      j.Key("tracks");
      j.BeginArray();
      for (const IndexedTrack& t : index.tracks) {
        const TrackConfig& c = t.config;
        j.BeginObject();
        j.Field("id", c.track_id);
        j.Field("kind", KindOf(t));
        j.Field("handler", FourCCToString(t.handler));
        j.Field("sample_entry", FourCCToString(t.sample_entry));
        j.Field("codec", CodecString(t));
        j.Field("fourcc", t.manifest_fourcc);
        j.Field("supported", t.supported);
        j.Field("timescale", c.timescale);
        j.Field("language", c.language);
        if (t.handler == MakeFourCC("vide")) {
          j.Field("width", static_cast<uint32_t>(c.width));
          j.Field("height", static_cast<uint32_t>(c.height));
        } else if (t.handler == MakeFourCC("soun")) {
          j.Field("sample_rate", c.sample_rate);
          j.Field("channels", static_cast<uint32_t>(c.channels));
        }
        j.Field("fragment_count", static_cast<uint64_t>(t.fragments.size()));
        j.Field("sample_count", SampleCount(t));
        j.Field("duration", t.duration());
        j.Field("payload_bytes", t.payload_bytes);
        j.Field("bitrate", Bitrate(t));
        j.Key("tfra_entries");
        if (const auto* tfra = TfraOf(index, c.track_id))
          j.Uint(tfra->entries.size());
        else
          j.Null();
        j.Key("fragments");
        j.BeginArray();
        std::vector<ReadSample> samples;
        for (const IndexedFragment& f : t.fragments) {
          j.BeginObject(true);
          j.Field("time", f.time);
          j.Field("duration", f.duration);
          j.Field("offset", f.moof_offset);
          j.Field("size", FragmentSize(f));
          j.Field("moof_size", f.moof_size);
          j.Field("samples", f.sample_count);
          j.Field("keyframe", f.starts_with_sync);
          j.Field("sync_samples", f.sync_samples);
          j.Field("payload_bytes", f.payload_bytes);
          j.Field("shared_moof", f.shared_moof);
          if (o.samples) {
            samples_of(t, f, &samples);
            j.Key("sample_list");
            j.BeginArray();
            for (const ReadSample& smp : samples) {
              j.BeginObject();
              j.Field("offset", smp.offset);
              j.Field("size", smp.size);
              j.Field("duration", smp.duration);
              j.Field("dts", smp.decode_time);
              j.Field("cto", smp.composition_offset);
              j.Field("sync", smp.sync);
              j.EndObject();
            }
            j.EndArray();
          }
          j.EndObject();
        }
        j.EndArray();
        j.EndObject();
      }
      j.EndArray();
      j.Key("mfra");
      if (index.mfra) {
        j.BeginObject(true);
        j.Key("tfra");
        j.BeginArray();
        for (auto& t : index.mfra->tfras) {
          j.BeginObject();
          j.Field("track_id", t.track_id);
          j.Field("version", static_cast<uint32_t>(t.version));
          j.Field("entries", static_cast<uint64_t>(t.entries.size()));
          j.EndObject();
        }
        j.EndArray();
        j.EndObject();
      } else {
        j.Null();
      }
      j.Key("problems");
      j.BeginArray();
      for (auto& p : problems) j.String(p);
      j.EndArray();
      j.Key("box_problems");
      j.BeginArray();
      for (auto& p : box_problems) j.String(p);
      j.EndArray();
      j.EndObject();
    }
    return Finish(o, problems.size() + box_problems.size());
  }

  // Text.
  std::printf("%s: %" PRIu64 " bytes", o.path.c_str(), src->Size());
  if (index.ftyp) {
    std::printf(", ftyp %s minor %u compatible", FourCCToString(index.ftyp->major_brand).c_str(),
                index.ftyp->minor_version);
    for (FourCC b : index.ftyp->compatible_brands) std::printf(" %s", FourCCToString(b).c_str());
  }
  std::printf("%s\n\nboxes:\n", index.live_manifest ? ", with a Live Server Manifest box" : "");
  size_t moofs = 0, hidden = 0;
  for (auto& b : boxes) {
    bool pair_box = b.type == MakeFourCC("moof") || b.type == MakeFourCC("mdat");
    if (b.type == MakeFourCC("moof")) moofs++;
    if (pair_box && moofs > kTextMoofLimit && !o.all_boxes) {
      hidden++;
      continue;
    }
    if (hidden) {
      std::printf("  ... %zu more moof/mdat boxes (--all-boxes lists them)\n", hidden);
      hidden = 0;
    }
    BoxText(b, 0);
  }
  if (hidden) std::printf("  ... %zu more moof/mdat boxes (--all-boxes lists them)\n", hidden);

  std::printf("\ntracks:\n");
  for (const IndexedTrack& t : index.tracks) {
    const TrackConfig& c = t.config;
    std::string detail;
    if (t.handler == MakeFourCC("vide"))
      detail = std::to_string(c.width) + "x" + std::to_string(c.height);
    else if (t.handler == MakeFourCC("soun"))
      detail = std::to_string(c.sample_rate) + " Hz " + std::to_string(c.channels) + " ch";
    std::printf("  track %u %s %s (%s%s%s) %s, timescale %u, language %s: %zu fragments, %" PRIu64
                " samples, %s s, %" PRIu64 " bit/s\n",
                c.track_id, KindOf(t).c_str(), FourCCToString(t.sample_entry).c_str(), CodecString(t).c_str(),
                t.manifest_fourcc.empty() ? "" : ", FourCC ", t.manifest_fourcc.c_str(), detail.c_str(), c.timescale,
                c.language.c_str(), t.fragments.size(), SampleCount(t), FormatSeconds(t.duration(), c.timescale).c_str(),
                Bitrate(t));
  }
  for (const IndexedTrack& t : index.tracks) {
    const auto* tfra = TfraOf(index, t.config.track_id);
    std::string tfra_note = tfra ? ", tfra " + std::to_string(tfra->entries.size()) + " entries" : ", no tfra";
    std::printf("\nfragments of track %u (%s)%s:\n", t.config.track_id, KindOf(t).c_str(), tfra_note.c_str());
    std::printf("  %5s %16s %12s %10s %12s %10s %8s %4s\n", "#", "time", "duration", "seconds", "offset", "size",
                "samples", "key");
    std::vector<ReadSample> samples;
    for (size_t i = 0; i < t.fragments.size(); i++) {
      const IndexedFragment& f = t.fragments[i];
      std::printf("  %5zu %16" PRIu64 " %12" PRIu64 " %10s %12" PRIu64 " %10" PRIu64 " %8u %4s\n", i, f.time,
                  f.duration, FormatSeconds(f.time, t.config.timescale).c_str(), f.moof_offset, FragmentSize(f),
                  f.sample_count, f.starts_with_sync ? "yes" : "no");
      if (o.samples) {
        samples_of(t, f, &samples);
        for (size_t k = 0; k < samples.size(); k++) {
          const ReadSample& smp = samples[k];
          std::printf("        sample %4zu offset %12" PRIu64 " size %8u duration %8u dts %16" PRIu64
                      " cto %8" PRId64 "%s\n",
                      k, smp.offset, smp.size, smp.duration, smp.decode_time, smp.composition_offset,
                      smp.sync ? " sync" : "");
        }
      }
    }
  }
  std::printf("\nproblems:%s\n", problems.empty() && box_problems.empty() ? " none" : "");
  for (auto& p : problems) std::printf("  - %s\n", p.c_str());
  for (auto& p : box_problems) std::printf("  - box tree: %s\n", p.c_str());
  return Finish(o, problems.size() + box_problems.size());
}

// ---------------------------------------------------------------- manifests

// Structural remarks about a client manifest that parsing accepts.
void CheckClientManifest(const ClientManifest& m, std::vector<std::string>* problems) {
  std::vector<std::string> names;
  for (const StreamIndex& si : m.streams) {
    const std::string& name = si.EffectiveName();
    if (std::find(names.begin(), names.end(), name) != names.end())
      problems->push_back("two StreamIndex elements are named \"" + name + "\"");
    names.push_back(name);
    if (si.declared_chunks && *si.declared_chunks != si.FragmentCount())
      problems->push_back("StreamIndex \"" + name + "\": Chunks=\"" + std::to_string(*si.declared_chunks) +
                          "\" but the timeline has " + std::to_string(si.FragmentCount()) + " fragments");
    if (si.declared_quality_levels && *si.declared_quality_levels != si.quality_levels.size())
      problems->push_back("StreamIndex \"" + name + "\": QualityLevels=\"" +
                          std::to_string(*si.declared_quality_levels) + "\" but it has " +
                          std::to_string(si.quality_levels.size()) + " QualityLevel elements");
    for (size_t a = 0; a < si.quality_levels.size(); a++)
      for (size_t b = 0; b < a; b++)
        if (si.quality_levels[a].bitrate == si.quality_levels[b].bitrate)
          problems->push_back("StreamIndex \"" + name + "\": two QualityLevels share Bitrate " +
                              std::to_string(si.quality_levels[a].bitrate) + " (URLs cannot tell them apart)");
    for (size_t c = 1; c < si.chunks.size(); c++)
      if (si.chunks[c].t != si.chunks[c - 1].end()) {
        problems->push_back("StreamIndex \"" + name + "\": gap in the timeline between " +
                            std::to_string(si.chunks[c - 1].end()) + " and " + std::to_string(si.chunks[c].t));
        break;
      }
    if (!m.is_live && si.FragmentCount() == 0 && !si.manifest_output.value_or(false))
      problems->push_back("StreamIndex \"" + name + "\": no fragments");
  }
}

void ClientJson(JsonWriter& j, const ClientManifest& m) {
  j.BeginObject();
  j.Field("major_version", m.major_version);
  j.Field("minor_version", m.minor_version);
  j.Field("timescale", m.timescale);
  j.Field("duration", m.duration);
  j.Field("live", m.is_live);
  if (m.lookahead_count) j.Field("lookahead_count", *m.lookahead_count);
  if (m.dvr_window_length) j.Field("dvr_window_length", *m.dvr_window_length);
  j.Key("protection");
  j.BeginArray(true);
  for (auto& p : m.protection) j.String(UuidToString(p.system_id));
  j.EndArray();
  j.Key("streams");
  j.BeginArray();
  for (const StreamIndex& si : m.streams) {
    j.BeginObject();
    j.Field("type", si.type);
    if (!si.subtype.empty()) j.Field("subtype", si.subtype);
    j.Field("name", si.EffectiveName());
    j.Field("url", si.url);
    if (!si.language.empty()) j.Field("language", si.language);
    j.Field("timescale", m.StreamTimescale(si));
    j.Field("fragment_count", si.FragmentCount());
    j.Field("start", si.chunks.empty() ? uint64_t{0} : si.chunks.front().t);
    j.Field("end", si.TimelineEnd());
    if (si.max_width) j.Field("max_width", *si.max_width);
    if (si.max_height) j.Field("max_height", *si.max_height);
    j.Key("quality_levels");
    j.BeginArray();
    for (const QualityLevel& q : si.quality_levels) {
      j.BeginObject(true);
      j.Field("index", q.index);
      j.Field("bitrate", q.bitrate);
      j.Field("fourcc", q.fourcc);
      if (q.max_width) j.Field("max_width", *q.max_width);
      if (q.max_height) j.Field("max_height", *q.max_height);
      if (q.sampling_rate) j.Field("sampling_rate", *q.sampling_rate);
      if (q.channels) j.Field("channels", *q.channels);
      j.Field("codec_private_data", q.codec_private_data);
      j.EndObject();
    }
    j.EndArray();
    // Runs, not single fragments: the size stays that of the XML.
    j.Key("timeline");
    j.BeginArray();
    for (const Chunk& c : si.chunks) {
      j.BeginObject(true);
      j.Field("t", c.t);
      j.Field("d", c.d);
      j.Field("r", c.repeat);
      j.EndObject();
    }
    j.EndArray();
    j.EndObject();
  }
  j.EndArray();
  j.EndObject();
}

void ClientText(const ClientManifest& m) {
  std::printf("  MajorVersion %u MinorVersion %u, TimeScale %" PRIu64 ", Duration %" PRIu64 " (%s s), %s\n",
              m.major_version, m.minor_version, m.timescale, m.duration,
              FormatSeconds(m.duration, m.timescale).c_str(), m.is_live ? "live" : "on demand");
  for (auto& p : m.protection) std::printf("  Protection SystemID %s\n", UuidToString(p.system_id).c_str());
  for (const StreamIndex& si : m.streams) {
    uint64_t ts = m.StreamTimescale(si);
    uint64_t start = si.chunks.empty() ? 0 : si.chunks.front().t;
    std::printf("  StreamIndex \"%s\" (%s%s%s), Url %s\n", si.EffectiveName().c_str(), si.type.c_str(),
                si.language.empty() ? "" : ", language ", si.language.c_str(), si.url.c_str());
    std::printf("    %" PRIu64 " fragments from %s s to %s s (timescale %" PRIu64 ", %zu timeline runs)\n",
                si.FragmentCount(), FormatSeconds(start, ts).c_str(), FormatSeconds(si.TimelineEnd(), ts).c_str(), ts,
                si.chunks.size());
    for (const QualityLevel& q : si.quality_levels) {
      std::string detail;
      if (q.max_width || q.max_height)
        detail = " " + std::to_string(q.max_width.value_or(0)) + "x" + std::to_string(q.max_height.value_or(0));
      if (q.sampling_rate) detail += " " + std::to_string(*q.sampling_rate) + " Hz";
      if (q.channels) detail += " " + std::to_string(*q.channels) + " ch";
      std::printf("    QualityLevel %u: %u bit/s %s%s\n", q.index, q.bitrate, q.fourcc.c_str(), detail.c_str());
    }
  }
}

void ProblemsText(const std::vector<std::string>& problems) {
  std::printf("\nproblems:%s\n", problems.empty() ? " none" : "");
  for (auto& p : problems) std::printf("  - %s\n", p.c_str());
}

void ProblemsJson(JsonWriter& j, const std::vector<std::string>& problems) {
  j.Key("problems");
  j.BeginArray();
  for (auto& p : problems) j.String(p);
  j.EndArray();
}

int InspectClientManifest(const Options& o) {
  std::string text;
  Status s = ReadTextFile(o.path, kMaxManifestBytes, &text);
  ClientManifest m;
  if (s) s = ClientManifest::Parse(text, &m);
  if (!s) {
    std::fprintf(stderr, "gst-smooth inspect: %s: %s\n", o.path.c_str(), s.message().c_str());
    return 1;
  }
  std::vector<std::string> problems;
  CheckClientManifest(m, &problems);
  if (o.json) {
    JsonWriter j(stdout);
    j.BeginObject();
    j.Field("file", o.path);
    j.Field("type", "client_manifest");
    j.Key("manifest");
    ClientJson(j, m);
    ProblemsJson(j, problems);
    j.EndObject();
  } else {
    std::printf("%s: client manifest\n", o.path.c_str());
    ClientText(m);
    ProblemsText(problems);
  }
  return Finish(o, problems.size());
}

int InspectServerManifest(const Options& o) {
  // Parse on its own first, so a broken .ism is reported as such and not as
  // a media problem.
  std::string text;
  Status s = ReadTextFile(o.path, kMaxManifestBytes, &text);
  ServerManifest sm;
  if (s) s = ServerManifest::Parse(text, &sm);
  std::unique_ptr<Asset> asset;
  if (s) s = Asset::Load(o.path, &asset);
  if (!s) {
    std::fprintf(stderr, "gst-smooth inspect: %s: %s\n", o.path.c_str(), s.message().c_str());
    return 1;
  }
  std::vector<std::string> problems = asset->problems();
  CheckClientManifest(asset->client_manifest(), &problems);
  std::vector<PresentationFragment> fragments;
  std::vector<std::string> errors, warnings;
  ResolvePresentationFragments(*asset, &fragments, &errors, &warnings);
  problems.insert(problems.end(), errors.begin(), errors.end());
  problems.insert(problems.end(), warnings.begin(), warnings.end());
  size_t shared = 0;
  for (auto& f : fragments) shared += f.shared_moof;
  if (shared)
    problems.push_back(std::to_string(shared) +
                       " fragment(s) share their moof with other tracks: an origin serves other tracks' data with them");

  const std::string rel = sm.client_manifest_relative_path();
  std::string ismc_path = rel.empty() ? "" : (rel[0] == '/' ? rel : DirectoryOf(o.path) + "/" + rel);
  // Asset::Load takes the .ismc when it exists and generates one otherwise;
  // say which, as the two can differ.
  bool ismc_exists = !ismc_path.empty() && IsRegularFile(ismc_path);
  const char* source = ismc_exists ? "file" : "generated";

  if (o.json) {
    JsonWriter j(stdout);
    j.BeginObject();
    j.Field("file", o.path);
    j.Field("type", "server_manifest");
    j.Field("client_manifest_path", rel);
    j.Field("client_manifest_source", source);
    j.Key("tracks");
    j.BeginArray();
    for (const AssetTrack& t : asset->tracks()) {
      j.BeginObject(true);
      j.Field("kind", t.kind);
      j.Field("name", t.name);
      j.Field("bitrate", t.bitrate);
      j.Field("track_id", t.track_id);
      j.Field("media", asset->media()[t.media].path);
      j.Field("fragment_count", static_cast<uint64_t>(t.track->fragments.size()));
      j.Field("duration", t.track->duration());
      j.Field("timescale", t.track->config.timescale);
      j.EndObject();
    }
    j.EndArray();
    j.Field("fragment_urls", static_cast<uint64_t>(fragments.size()));
    j.Key("client_manifest");
    ClientJson(j, asset->client_manifest());
    ProblemsJson(j, problems);
    j.EndObject();
  } else {
    std::printf("%s: server manifest, %zu tracks in %zu media file(s)\n", o.path.c_str(), asset->tracks().size(),
                asset->media().size());
    for (const AssetTrack& t : asset->tracks())
      std::printf("  %s \"%s\" systemBitrate %u: track %u of %s, %zu fragments, %s s\n", t.kind.c_str(),
                  t.name.c_str(), t.bitrate, t.track_id, asset->media()[t.media].path.c_str(),
                  t.track->fragments.size(),
                  FormatSeconds(t.track->duration(), t.track->config.timescale).c_str());
    std::printf("\nclient manifest (%s):\n", ismc_exists ? ("from " + ismc_path).c_str() : "generated from the media");
    ClientText(asset->client_manifest());
    std::printf("\n%zu fragment URLs resolve to media bytes\n", fragments.size());
    ProblemsText(problems);
  }
  return Finish(o, problems.size());
}

}  // namespace

int CmdInspect(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--json") {
      o.json = true;
    } else if (a == "--samples") {
      o.samples = true;
    } else if (a == "--strict") {
      o.strict = true;
    } else if (a == "--all-boxes") {
      o.all_boxes = true;
    } else if (a == "-h" || a == "--help") {
      Usage(stdout);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "gst-smooth inspect: unknown option '%s'\n", a.c_str());
      Usage(stderr);
      return 2;
    } else if (o.path.empty()) {
      o.path = a;
    } else {
      std::fprintf(stderr, "gst-smooth inspect: one FILE only ('%s' and '%s')\n", o.path.c_str(), a.c_str());
      return 2;
    }
  }
  if (o.path.empty()) {
    Usage(stderr);
    return 2;
  }
  InputKind kind;
  Status s = SniffInput(o.path, &kind);
  if (!s) {
    std::fprintf(stderr, "gst-smooth inspect: %s\n", s.message().c_str());
    return 1;
  }
  switch (kind) {
    case InputKind::kMedia: return InspectMedia(o);
    case InputKind::kClientManifest: return InspectClientManifest(o);
    case InputKind::kServerManifest: return InspectServerManifest(o);
  }
  return 1;
}
