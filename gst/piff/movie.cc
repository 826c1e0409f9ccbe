// Builds ftyp + moov for PIFF output: empty sample tables, mvex with mehd
// and one trex per track with zero defaults (every fragment is explicit).
#include "movie.h"

namespace piff {

FileTypeBox MakeIsmvFileType() {
  FileTypeBox ftyp;
  ftyp.major_brand = MakeFourCC("isml");
  ftyp.minor_version = 1;
  ftyp.compatible_brands = {MakeFourCC("piff"), MakeFourCC("iso2")};
  return ftyp;
}

MovieBox MakeMovie(const std::vector<TrackConfig>& tracks, uint32_t movie_timescale, uint64_t duration,
                   const RawBoxes& moov_extra) {
  MovieBox moov;
  moov.mvhd.version = 1;
  moov.mvhd.timescale = movie_timescale;
  moov.mvhd.duration = 0;  // fragmented: the duration lives in mehd
  uint32_t max_id = 0;
  moov.mvex.emplace();
  moov.mvex->mehd.emplace();
  moov.mvex->mehd->version = 1;
  moov.mvex->mehd->fragment_duration = duration;
  for (const TrackConfig& c : tracks) {
    max_id = std::max(max_id, c.track_id);
    TrackBox trak;
    trak.tkhd.version = 1;
    trak.tkhd.track_id = c.track_id;
    MediaBox& mdia = trak.mdia;
    mdia.mdhd.version = 1;
    mdia.mdhd.timescale = c.timescale;
    mdia.mdhd.language = c.language.size() == 3 ? c.language : "und";
    SampleTableBox& stbl = mdia.minf.stbl;
    if (c.kind == TrackConfig::Kind::kVideo) {
      trak.tkhd.width = static_cast<uint32_t>(c.width) << 16;
      trak.tkhd.height = static_cast<uint32_t>(c.height) << 16;
      mdia.hdlr.handler_type = MakeFourCC("vide");
      mdia.hdlr.name = "VideoHandler";
      mdia.minf.vmhd.emplace();
      VisualSampleEntry e;
      e.format = c.sample_entry;
      e.width = c.width;
      e.height = c.height;
      e.avcc.emplace();
      e.avcc->data = c.avcc;
      if (!c.sinf.empty()) {
        e.format = MakeFourCC("encv");
        e.other.push_back(c.sinf);
      }
      stbl.stsd.handler_type = mdia.hdlr.handler_type;
      stbl.stsd.video.push_back(std::move(e));
    } else {
      trak.tkhd.volume = 0x0100;
      trak.tkhd.alternate_group = 1;
      mdia.hdlr.handler_type = MakeFourCC("soun");
      mdia.hdlr.name = "SoundHandler";
      mdia.minf.smhd.emplace();
      AudioSampleEntry e;
      e.channel_count = c.channels;
      e.sample_size = 16;
      // 16.16 fixed point; rates above 65535 Hz do not fit and are written as 0.
      e.sample_rate = c.sample_rate <= 0xffff ? c.sample_rate << 16 : 0;
      e.esds.emplace();
      e.esds->es_id = static_cast<uint16_t>(c.track_id);
      e.esds->avg_bitrate = c.avg_bitrate;
      e.esds->max_bitrate = c.max_bitrate;
      e.esds->decoder_specific_info = c.audio_specific_config;
      if (!c.sinf.empty()) {
        e.format = MakeFourCC("enca");
        e.other.push_back(c.sinf);
      }
      stbl.stsd.handler_type = mdia.hdlr.handler_type;
      stbl.stsd.audio.push_back(std::move(e));
    }
    stbl.stco.emplace();
    moov.tracks.push_back(std::move(trak));
    TrackExtendsBox trex;
    trex.track_id = c.track_id;
    moov.mvex->trex.push_back(trex);
  }
  moov.mvhd.next_track_id = max_id + 1;
  moov.other = moov_extra;
  return moov;
}

std::vector<uint8_t> MehdDurationBytes(uint64_t duration) {
  std::vector<uint8_t> b(8);
  for (int i = 0; i < 8; i++) b[i] = static_cast<uint8_t>(duration >> (56 - 8 * i));
  return b;
}

InitSegment BuildInitSegment(const std::vector<TrackConfig>& tracks, uint32_t movie_timescale, uint64_t duration,
                             const RawBoxes& moov_extra) {
  InitSegment out;
  MakeIsmvFileType().Write(out.bytes);
  MovieBox moov = MakeMovie(tracks, movie_timescale, duration, moov_extra);
  moov.Write(out.bytes);
  // moov ends with mvex followed by the extra boxes; mehd is mvex's first child:
  // mvex header (8) + mehd header (8) + version/flags (4).
  size_t extra_size = 0;
  for (auto& b : moov_extra) extra_size += b.size();
  size_t mvex_size = moov.mvex->ComputeSize();
  out.mehd_duration_offset = out.bytes.size() - extra_size - mvex_size + 8 + 8 + 4;
  return out;
}

}  // namespace piff
