// Live ingest header and end marker (live_ingest.h).
#include "live_ingest.h"

#include "presentation.h"

namespace piff {

std::vector<std::string> LiveTrackNames(const std::vector<LiveTrack>& tracks) {
  std::vector<TrackConfig> configs;
  for (auto& t : tracks) configs.push_back(t.config);
  std::vector<std::string> names = DefaultTrackNames(configs);
  for (size_t i = 0; i < tracks.size(); i++)
    if (!tracks[i].name.empty()) names[i] = tracks[i].name;
  return names;
}

Status MakeLiveServerManifest(const std::vector<LiveTrack>& tracks, ServerManifest* out) {
  if (tracks.empty()) return Status::Error("live server manifest: no tracks");
  ServerManifest m;
  const std::vector<std::string> names = LiveTrackNames(tracks);
  for (size_t i = 0; i < tracks.size(); i++) {
    const LiveTrack& t = tracks[i];
    const bool video = t.config.kind == TrackConfig::Kind::kVideo;
    QualityLevel ql;
    Status s = DescribeCodec(t.config, &ql);
    if (!s) return s;
    ServerTrack st;
    st.kind = video ? "video" : "audio";
    st.src = "Streams";
    st.system_bitrate = t.bitrate;
    st.system_language = t.config.language;
    auto param = [&st](const char* name, const std::string& value) { st.params.push_back({name, value, "data"}); };
    auto number = [&param](const char* name, uint64_t value) { param(name, std::to_string(value)); };
    number("systemBitrate", t.bitrate);
    number("trackID", t.config.track_id);
    param("trackName", names[i]);
    param("systemLanguage", t.config.language);  // also the attribute; FFmpeg and IIS examples give both
    number("timescale", t.config.timescale);
    param("FourCC", t.fourcc);
    param("CodecPrivateData", ql.codec_private_data);
    if (video) {
      number("MaxWidth", *ql.max_width);
      number("MaxHeight", *ql.max_height);
      number("DisplayWidth", *ql.max_width);
      number("DisplayHeight", *ql.max_height);
    } else {
      number("AudioTag", *ql.audio_tag);
      number("Channels", *ql.channels);
      number("SamplingRate", *ql.sampling_rate);
      number("BitsPerSample", *ql.bits_per_sample);
      number("PacketSize", *ql.packet_size);
    }
    m.tracks.push_back(std::move(st));
  }
  *out = std::move(m);
  return Status::Ok();
}

Status BuildLiveHeader(const std::vector<LiveTrack>& tracks, uint32_t movie_timescale, const RawBoxes& moov_extra,
                       std::vector<uint8_t>* out) {
  ServerManifest lsm;
  Status s = MakeLiveServerManifest(tracks, &lsm);
  if (!s) return s;
  std::vector<TrackConfig> configs;
  for (auto& t : tracks) configs.push_back(t.config);
  std::vector<uint8_t> bytes;
  MakeIsmvFileType().Write(bytes);
  LiveServerManifestBox box;
  box.xml = lsm.Write();
  box.Write(bytes);
  MovieBox moov = MakeMovie(configs, movie_timescale, 0, moov_extra);
  moov.mvex->mehd.reset();
  moov.Write(bytes);
  *out = std::move(bytes);
  return Status::Ok();
}

std::vector<uint8_t> EmptyMfra() {
  MovieFragmentRandomAccessBox mfra;
  return mfra.Serialize();
}

}  // namespace piff
