// BuildPresentation: track summaries to StreamIndexes, QualityLevels and
// the .ism switch entries. See presentation.h for the rules.
#include "presentation.h"

#include <algorithm>
#include <map>

namespace piff {

namespace {

uint64_t TrackDuration(const TrackSummary& t) {
  uint64_t d = 0;
  for (auto& f : t.fragments) d += f.duration;
  return d;
}

uint64_t Rescale(uint64_t v, uint64_t to, uint64_t from) {
  if (from == to || from == 0) return v;
  unsigned __int128 x = static_cast<unsigned __int128>(v) * to + from / 2;
  return static_cast<uint64_t>(x / from);
}

}  // namespace

std::vector<std::string> DefaultTrackNames(const std::vector<TrackConfig>& tracks) {
  std::vector<std::string> audio_languages;
  for (auto& c : tracks)
    if (c.kind == TrackConfig::Kind::kAudio &&
        std::find(audio_languages.begin(), audio_languages.end(), c.language) == audio_languages.end())
      audio_languages.push_back(c.language);
  std::vector<std::string> names;
  for (auto& c : tracks)
    names.push_back(c.kind == TrackConfig::Kind::kVideo ? "video"
                    : audio_languages.size() > 1        ? "audio_" + c.language
                                                        : "audio");
  return names;
}

Status DescribeCodec(const TrackConfig& config, QualityLevel* ql) {
  if (config.kind == TrackConfig::Kind::kVideo) {
    AvcDecoderConfig avc;
    Status s = AvcDecoderConfig::Parse(config.avcc.data(), config.avcc.size(), &avc);
    if (!s) return s.WithContext("track " + std::to_string(config.track_id));
    ql->max_width = config.width;
    ql->max_height = config.height;
    ql->codec_private_data = AvcConfigToCodecPrivateData(avc);
    if (avc.length_size != 4) ql->nal_unit_length_field = avc.length_size;
  } else {
    ql->sampling_rate = config.sample_rate;
    ql->channels = config.channels;
    ql->bits_per_sample = 16;
    ql->packet_size = 4;
    ql->audio_tag = 255;  // WAVE_FORMAT_RAW_AAC1
    ql->codec_private_data = HexEncode(config.audio_specific_config);
  }
  return Status::Ok();
}

bool Presentation::InManifests(size_t track) const {
  for (auto& l : left_out)
    if (l.track == track) return false;
  return true;
}

uint32_t MeasuredBitrate(const TrackSummary& t) {
  uint64_t duration = TrackDuration(t);
  if (duration == 0 || t.config.timescale == 0) return 0;
  unsigned __int128 bits = static_cast<unsigned __int128>(t.payload_bytes) * 8 * t.config.timescale;
  unsigned __int128 rate = (bits + duration / 2) / duration;
  return rate > 0xffffffffu ? 0xffffffffu : static_cast<uint32_t>(rate);
}

Status BuildPresentation(const std::vector<TrackSummary>& tracks, uint32_t timescale,
                         const std::string& client_manifest_relative_path, Presentation* out) {
  *out = Presentation();
  if (tracks.empty()) return Status::Error("presentation: no tracks");
  if (timescale == 0) return Status::Error("presentation: timescale is 0");

  // Group tracks into StreamIndexes, keeping first-appearance order.
  std::vector<std::string> group_keys;
  std::vector<std::vector<size_t>> groups;
  std::vector<TrackConfig> configs;
  for (auto& t : tracks) configs.push_back(t.config);
  const std::vector<std::string> default_names = DefaultTrackNames(configs);
  out->names.resize(tracks.size());
  for (size_t i = 0; i < tracks.size(); i++) {
    const TrackSummary& t = tracks[i];
    std::string name = !t.name.empty() ? t.name : default_names[i];
    out->names[i] = name;
    auto it = std::find(group_keys.begin(), group_keys.end(), name);
    if (it == group_keys.end()) {
      group_keys.push_back(name);
      groups.push_back({i});
    } else {
      groups[it - group_keys.begin()].push_back(i);
    }
  }

  // Bitrates: measured, then made unique inside each StreamIndex (QualityLevels
  // are addressed by bitrate in URLs).
  out->bitrates.resize(tracks.size());
  for (size_t i = 0; i < tracks.size(); i++)
    out->bitrates[i] = tracks[i].bitrate ? tracks[i].bitrate : std::max<uint32_t>(MeasuredBitrate(tracks[i]), 1);
  for (auto& g : groups) {
    for (size_t a = 0; a < g.size(); a++) {
      bool clash = true;
      while (clash) {
        clash = false;
        for (size_t b = 0; b < a; b++)
          if (out->bitrates[g[b]] == out->bitrates[g[a]]) clash = true;
        if (clash) {
          out->warnings.push_back("tracks " + std::to_string(tracks[g[a]].config.track_id) +
                                  " and another of StreamIndex \"" + out->names[g[a]] + "\" measure " +
                                  std::to_string(out->bitrates[g[a]]) + " bit/s; the later one is raised by 1 bit/s");
          out->bitrates[g[a]]++;
        }
      }
    }
  }

  // Client manifest.
  ClientManifest& cm = out->client;
  cm.timescale = timescale;
  uint64_t start = UINT64_MAX, end = 0;

  for (size_t gi = 0; gi < groups.size(); gi++) {
    const std::vector<size_t>& g = groups[gi];
    const TrackSummary& first = tracks[g[0]];
    bool video = first.config.kind == TrackConfig::Kind::kVideo;
    StreamIndex si;
    si.type = video ? "video" : "audio";
    si.name = group_keys[gi];
    si.url = "QualityLevels({bitrate})/Fragments(" + si.name + "={start time})";
    if (first.config.timescale != timescale) si.timescale = first.config.timescale;
    if (!video && first.config.language != "und") si.language = first.config.language;
    std::vector<const std::vector<FragmentTime>*> timelines;
    for (size_t k : g) timelines.push_back(&tracks[k].fragments);
    LadderAlignment align = AlignLadder(timelines);
    for (auto& f : tracks[g[align.reference]].fragments) {
      Status s = si.AppendFragment(f.time, f.duration);
      if (!s) return s.WithContext("StreamIndex " + si.name);
    }
    uint32_t max_w = 0, max_h = 0;
    for (size_t k = 0; k < g.size(); k++) {
      const TrackSummary& t = tracks[g[k]];
      if (t.config.timescale != first.config.timescale)
        return Status::Error("StreamIndex " + si.name + ": tracks with different timescales");
      if (!align.aligned[k]) {
        // Track IDs repeat across one-file-per-bitrate inputs: name the file too.
        out->left_out.push_back({g[k], "track " + std::to_string(t.config.track_id) +
                                           (t.src.empty() ? "" : " (" + t.src + ")") + " left out of StreamIndex \"" +
                                           si.name + "\": " + align.reasons[k] +
                                           "; its fragments cannot answer the manifest's URLs"});
        continue;
      }
      QualityLevel ql;
      ql.index = static_cast<uint32_t>(si.quality_levels.size());
      ql.bitrate = out->bitrates[g[k]];
      ql.fourcc = t.fourcc;
      Status s = DescribeCodec(t.config, &ql);
      if (!s) return s;
      if (video) {
        max_w = std::max<uint32_t>(max_w, t.config.width);
        max_h = std::max<uint32_t>(max_h, t.config.height);
      }
      si.quality_levels.push_back(std::move(ql));
    }
    if (video) {
      si.max_width = max_w;
      si.max_height = max_h;
      si.display_width = max_w;
      si.display_height = max_h;
    }
    cm.streams.push_back(std::move(si));
  }

  std::sort(out->left_out.begin(), out->left_out.end(),
            [](const Presentation::LeftOut& a, const Presentation::LeftOut& b) { return a.track < b.track; });
  for (size_t i = 0; i < tracks.size(); i++) {
    const TrackSummary& t = tracks[i];
    if (t.fragments.empty() || !out->InManifests(i)) continue;
    start = std::min(start, Rescale(t.fragments.front().time, timescale, t.config.timescale));
    end = std::max(end, Rescale(t.fragments.back().time + t.fragments.back().duration, timescale, t.config.timescale));
  }
  cm.duration = start == UINT64_MAX ? 0 : end - start;

  // Server manifest: one switch entry per track in the client manifest.
  ServerManifest& sm = out->server;
  if (!client_manifest_relative_path.empty()) sm.set_client_manifest_relative_path(client_manifest_relative_path);
  for (size_t i = 0; i < tracks.size(); i++) {
    const TrackSummary& t = tracks[i];
    if (!out->InManifests(i)) continue;
    ServerTrack st;
    st.kind = t.config.kind == TrackConfig::Kind::kVideo ? "video" : "audio";
    st.src = t.src;
    st.system_bitrate = out->bitrates[i];
    if (t.config.kind == TrackConfig::Kind::kAudio && t.config.language != "und")
      st.system_language = t.config.language;
    st.set_track_id(t.config.track_id);
    st.set_track_name(out->names[i]);
    if (t.config.timescale != 10000000) st.SetParam("timeScale", std::to_string(t.config.timescale));
    sm.tracks.push_back(std::move(st));
  }
  return Status::Ok();
}

}  // namespace piff
