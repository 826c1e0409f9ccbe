// piff-dump FILE [--roundtrip OUT]: parses FILE with the PIFF core and prints
// a JSON summary (tracks, fragments, mfra) that interop tests compare with
// what real peers report. With --roundtrip, writes the re-serialised file.
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "file.h"

using namespace piff;

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: piff-dump FILE [--roundtrip OUT]\n");
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<uint8_t> data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
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
