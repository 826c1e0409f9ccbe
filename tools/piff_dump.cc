// piff-dump FILE [--roundtrip OUT]: parses FILE with the PIFF core and prints
// a JSON summary that interop tests compare with what real peers report:
// for media files the tracks, fragments and mfra; for XML files (a client
// manifest or a SMIL server manifest) the streams, levels and timeline.
// "roundtrip_identical" says whether writing the parsed model gives the same
// bytes. With --roundtrip, writes the re-serialised media file.
#include <cctype>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "client_manifest.h"
#include "file.h"
#include "server_manifest.h"

using namespace piff;

static std::string JsonString(const std::string& in) {
  std::string out = "\"";
  for (char c : in) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

static int DumpManifest(const std::string& text) {
  if (text.find("<smil") != std::string::npos) {
    ServerManifest m;
    Status s = ServerManifest::Parse(text, &m);
    if (!s) {
      std::printf("{\"error\": %s}\n", JsonString(s.message()).c_str());
      return 1;
    }
    std::printf("{\"kind\": \"server\", \"client_manifest\": %s, \"tracks\": [",
                JsonString(m.client_manifest_relative_path()).c_str());
    for (size_t i = 0; i < m.tracks.size(); i++) {
      const ServerTrack& t = m.tracks[i];
      std::printf("%s{\"kind\": %s, \"src\": %s, \"bitrate\": %u, \"track_id\": %u, \"track_name\": %s}",
                  i ? ", " : "", JsonString(t.kind).c_str(), JsonString(t.src).c_str(), t.system_bitrate,
                  t.track_id().value_or(0), JsonString(t.track_name()).c_str());
    }
    std::printf("], \"roundtrip_identical\": %s}\n", m.Write() == text ? "true" : "false");
    return 0;
  }
  ClientManifest m;
  Status s = ClientManifest::Parse(text, &m);
  if (!s) {
    std::printf("{\"error\": %s}\n", JsonString(s.message()).c_str());
    return 1;
  }
  std::printf("{\"kind\": \"client\", \"timescale\": %llu, \"duration\": %llu, \"live\": %s, \"streams\": [",
              (unsigned long long)m.timescale, (unsigned long long)m.duration, m.is_live ? "true" : "false");
  for (size_t i = 0; i < m.streams.size(); i++) {
    const StreamIndex& si = m.streams[i];
    std::printf("%s{\"type\": %s, \"name\": %s, \"url\": %s, \"bitrates\": [", i ? ", " : "",
                JsonString(si.type).c_str(), JsonString(si.EffectiveName()).c_str(), JsonString(si.url).c_str());
    for (size_t q = 0; q < si.quality_levels.size(); q++)
      std::printf("%s%u", q ? ", " : "", si.quality_levels[q].bitrate);
    std::printf("], \"fragments\": [");
    bool first_fragment = true;
    si.ForEachFragment([&](uint64_t t, uint64_t d) {
      std::printf("%s[%llu, %llu]", first_fragment ? "" : ", ", (unsigned long long)t, (unsigned long long)d);
      first_fragment = false;
      return true;
    });
    std::printf("]}");
  }
  std::printf("], \"roundtrip_identical\": %s}\n", m.Write() == text ? "true" : "false");
  return 0;
}

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: piff-dump FILE [--roundtrip OUT]\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  size_t lead = 0;
  while (lead < data.size() && (data[lead] == 0xef || data[lead] == 0xbb || data[lead] == 0xbf ||
                                data[lead] == 0xff || data[lead] == 0xfe || data[lead] == 0 ||
                                std::isspace(data[lead])))
    lead++;
  if (lead < data.size() && data[lead] == '<') return DumpManifest(std::string(data.begin(), data.end()));
  PiffFile f;
  Status s = PiffFile::Parse(data.data(), data.size(), &f);
  if (!s) {
    std::printf("{\"error\": \"%s\"}\n", s.message().c_str());
    return 1;
  }
  std::vector<TrackFragmentSamples> frags;
  s = f.Fragments(&frags);
  if (!s) {
    std::printf("{\"error\": \"%s\"}\n", s.message().c_str());
    return 1;
  }
  std::printf("{\"ftyp\": \"%s\", \"tracks\": [", f.ftyp ? FourCCToString(f.ftyp->major_brand).c_str() : "");
  bool first = true;
  for (auto& t : f.moov ? f.moov->tracks : std::vector<TrackBox>()) {
    uint64_t samples = 0, fragments = 0, duration = 0;
    std::string times;
    for (auto& fr : frags) {
      if (fr.track_id != t.tkhd.track_id) continue;
      samples += fr.samples.size();
      duration += fr.duration;
      times += (fragments ? "," : "") + std::to_string(fr.decode_time);
      fragments++;
    }
    std::printf("%s{\"id\": %u, \"handler\": \"%s\", \"timescale\": %u, \"samples\": %llu, \"fragments\": %llu, "
                "\"duration\": %llu, \"times\": [%s]}",
                first ? "" : ", ", t.tkhd.track_id, FourCCToString(t.mdia.hdlr.handler_type).c_str(),
                t.mdia.mdhd.timescale, (unsigned long long)samples, (unsigned long long)fragments,
                (unsigned long long)duration, times.c_str());
    first = false;
  }
  std::printf("], \"tfra\": [");
  first = true;
  if (f.mfra)
    for (auto& t : f.mfra->tfras) {
      std::printf("%s{\"id\": %u, \"entries\": %zu}", first ? "" : ", ", t.track_id, t.entries.size());
      first = false;
    }
  std::vector<uint8_t> again = f.Write();
  std::printf("], \"roundtrip_identical\": %s}\n", again == data ? "true" : "false");
  if (argc >= 4 && std::string(argv[2]) == "--roundtrip") {
    std::ofstream out(argv[3], std::ios::binary);
    out.write(reinterpret_cast<const char*>(again.data()), static_cast<std::streamsize>(again.size()));
  }
  return 0;
}
