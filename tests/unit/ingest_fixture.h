// Live ingest bodies for the ingest parser and publishing point tests: the
// header an encoder sends (ftyp, Live Server Manifest, moov) and its
// fragments (one track per moof, or several trafs in one moof), with sample
// payloads that name their fragment, so a test can check bytes end to end.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "boxes.h"
#include "fragment.h"
#include "movie.h"
#include "server_manifest.h"

namespace ingest_fixture {

inline void Append(std::vector<uint8_t>* out, const std::vector<uint8_t>& b) {
  out->insert(out->end(), b.begin(), b.end());
}

struct FixtureTrack {
  uint32_t track_id = 1;
  bool video = true;
  std::string name = "video";
  uint32_t bitrate = 1000000;
  std::string language;  // LSM systemLanguage param (as FFmpeg writes it), when set
};

inline piff::TrackConfig ConfigOf(const FixtureTrack& t) {
  piff::TrackConfig c;
  c.track_id = t.track_id;
  if (t.video) {
    c.kind = piff::TrackConfig::Kind::kVideo;
    c.width = 64;
    c.height = 48;
    c.avcc = {0x01, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0x00, 0x04, 0x67, 0x42, 0xc0, 0x1e, 0x01, 0x00, 0x02, 0x68, 0xce};
  } else {
    c.kind = piff::TrackConfig::Kind::kAudio;
    c.sample_rate = 48000;
    c.channels = 2;
    c.audio_specific_config = {0x11, 0x90};
  }
  return c;
}

// ftyp + LSM + moov for the tracks; `moov_extra` goes into the moov (pssh).
inline std::vector<uint8_t> MakeHeader(const std::vector<FixtureTrack>& tracks, const piff::RawBoxes& moov_extra = {}) {
  std::vector<uint8_t> b;
  piff::MakeIsmvFileType().Write(b);
  piff::ServerManifest lsm;
  std::vector<piff::TrackConfig> configs;
  for (const FixtureTrack& t : tracks) {
    piff::ServerTrack st;
    st.kind = t.video ? "video" : "audio";
    st.src = "Streams";
    st.system_bitrate = t.bitrate;
    st.set_track_id(t.track_id);
    st.set_track_name(t.name);
    st.SetParam("FourCC", t.video ? "H264" : "AACL");
    if (!t.language.empty()) st.SetParam("systemLanguage", t.language);
    lsm.tracks.push_back(st);
    configs.push_back(ConfigOf(t));
  }
  piff::LiveServerManifestBox box;
  box.xml = lsm.Write();
  box.Write(b);
  piff::MakeMovie(configs, 10000000, 0, moov_extra).Write(b);
  return b;
}

inline uint8_t PayloadByte(uint32_t track_id, uint64_t time, size_t sample) {
  return static_cast<uint8_t>(track_id * 31 + time / 1000 + sample * 7);
}

inline std::vector<piff::FragmentSample> Samples(size_t count, uint32_t duration) {
  std::vector<piff::FragmentSample> s(count);
  for (size_t i = 0; i < count; i++) {
    s[i].duration = duration;
    s[i].size = static_cast<uint32_t>(20 + i * 3);
    s[i].sync = i == 0;
  }
  return s;
}

inline std::vector<uint8_t> Payload(uint32_t track_id, uint64_t time, const std::vector<piff::FragmentSample>& s) {
  std::vector<uint8_t> p;
  for (size_t i = 0; i < s.size(); i++) p.insert(p.end(), s[i].size, PayloadByte(track_id, time, i));
  return p;
}

inline piff::FragmentParams Params(uint32_t track_id, uint32_t sequence, uint64_t time) {
  piff::FragmentParams p;
  p.sequence_number = sequence;
  p.track_id = track_id;
  p.decode_time = time;
  return p;
}

// moof + mdat of one track: `count` samples of `duration` from `time`.
inline std::vector<uint8_t> MakeFragment(uint32_t track_id, uint32_t sequence, uint64_t time, size_t count = 4,
                                         uint32_t duration = 500000) {
  std::vector<piff::FragmentSample> s = Samples(count, duration);
  piff::FragmentHeader h = piff::FragmentWriter::Build(Params(track_id, sequence, time), s);
  std::vector<uint8_t> out = h.bytes;
  Append(&out, Payload(track_id, time, s));
  return out;
}

// One moof with a traf per track (same time), one mdat with their samples
// one track after the other.
inline std::vector<uint8_t> MakeSharedFragment(const std::vector<uint32_t>& track_ids, uint32_t sequence,
                                               uint64_t time, size_t count = 3, uint32_t duration = 500000) {
  piff::MovieFragmentBox moof;
  moof.mfhd.sequence_number = sequence;
  std::vector<uint8_t> payload;
  std::vector<size_t> starts;
  for (uint32_t id : track_ids) {
    std::vector<piff::FragmentSample> s = Samples(count, duration);
    piff::MovieFragmentBox one = piff::FragmentWriter::MakeMoof(Params(id, sequence, time), s);
    moof.trafs.push_back(one.trafs.at(0));
    // Offsets from the moof for every traf (without the flag, a traf's base
    // is the end of the previous traf's data).
    moof.trafs.back().tfhd.flags |= piff::TrackFragmentHeaderBox::kDefaultBaseIsMoof;
    starts.push_back(payload.size());
    Append(&payload, Payload(id, time, s));
  }
  size_t moof_size = moof.ComputeSize();
  for (size_t i = 0; i < moof.trafs.size(); i++)
    moof.trafs[i].truns.at(0).data_offset = static_cast<int32_t>(moof_size + 8 + starts[i]);
  std::vector<uint8_t> out = moof.Serialize();
  std::vector<uint8_t> mdat = {0, 0, 0, 0, 'm', 'd', 'a', 't'};
  uint32_t mdat_size = static_cast<uint32_t>(8 + payload.size());
  for (int i = 0; i < 4; i++) mdat[i] = static_cast<uint8_t>(mdat_size >> (24 - 8 * i));
  Append(&out, mdat);
  Append(&out, payload);
  return out;
}

inline std::vector<uint8_t> FreeBox(size_t payload) {
  std::vector<uint8_t> b(8 + payload, 0xee);
  uint32_t size = static_cast<uint32_t>(b.size());
  for (int i = 0; i < 4; i++) b[i] = static_cast<uint8_t>(size >> (24 - 8 * i));
  b[4] = 'f';
  b[5] = 'r';
  b[6] = 'e';
  b[7] = 'e';
  return b;
}

inline const std::vector<uint8_t> kEmptyMfra = {0, 0, 0, 8, 'm', 'f', 'r', 'a'};

// The usual test point: video 1 and audio 2 in one stream.
inline std::vector<FixtureTrack> VideoAudio() {
  FixtureTrack v;
  FixtureTrack a;
  a.track_id = 2;
  a.video = false;
  a.name = "audio";
  a.bitrate = 128000;
  return {v, a};
}

}  // namespace ingest_fixture
