// The ISO BMFF and PIFF boxes of a Smooth Streaming (.ismv/.isma) file, each
// described once by ReadWriteBody() for both parsing and serialising.
//
// Boxes we do not model are kept as raw bytes (`other`) where they appear, so
// reading never fails on them and writing them back reproduces the input.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "box_buffer.h"

namespace piff {

using RawBoxes = std::vector<std::vector<uint8_t>>;

// 3x3 transformation matrix of mvhd/tkhd (identity by default).
using Matrix = std::array<int32_t, 9>;
constexpr Matrix kIdentityMatrix = {0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000};

struct FileTypeBox : Box {
  FourCC BoxType() const override { return MakeFourCC("ftyp"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  FourCC major_brand = 0;
  uint32_t minor_version = 0;
  std::vector<FourCC> compatible_brands;
};

struct MovieHeaderBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("mvhd"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint64_t creation_time = 0, modification_time = 0;
  uint32_t timescale = 0;
  uint64_t duration = 0;
  int32_t rate = 0x00010000;
  int16_t volume = 0x0100;
  Matrix matrix = kIdentityMatrix;
  uint32_t next_track_id = 1;
};

struct TrackHeaderBox : FullBox {
  TrackHeaderBox() { flags = 0x7; }  // enabled | in movie | in preview
  FourCC BoxType() const override { return MakeFourCC("tkhd"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint64_t creation_time = 0, modification_time = 0;
  uint32_t track_id = 0;
  uint64_t duration = 0;
  int16_t layer = 0, alternate_group = 0, volume = 0;
  Matrix matrix = kIdentityMatrix;
  uint32_t width = 0, height = 0;  // 16.16 fixed point
};

struct MediaHeaderBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("mdhd"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint64_t creation_time = 0, modification_time = 0;
  uint32_t timescale = 0;
  uint64_t duration = 0;
  std::string language = "und";  // ISO 639-2/T, packed into 15 bits
};

struct HandlerBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("hdlr"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  FourCC handler_type = 0;  // 'vide', 'soun', 'text', ...
  std::string name;
};

struct VideoMediaHeaderBox : FullBox {
  VideoMediaHeaderBox() { flags = 1; }
  FourCC BoxType() const override { return MakeFourCC("vmhd"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint16_t graphics_mode = 0;
  uint16_t opcolor[3] = {0, 0, 0};
};

struct SoundMediaHeaderBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("smhd"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  int16_t balance = 0;
};

struct DataEntryUrlBox : FullBox {
  DataEntryUrlBox() { flags = 1; }  // media data in the same file
  FourCC BoxType() const override { return MakeFourCC("url "); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  std::string location;  // only when flags & 1 == 0
};

struct DataReferenceBox : FullBox {
  DataReferenceBox() { urls.resize(1); }
  FourCC BoxType() const override { return MakeFourCC("dref"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  std::vector<DataEntryUrlBox> urls;
  RawBoxes other;  // 'urn ' and friends
};

struct DataInformationBox : Box {
  FourCC BoxType() const override { return MakeFourCC("dinf"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  DataReferenceBox dref;
};

// avcC kept as its raw payload; codec_config.h interprets it.
struct AvcConfigurationBox : Box {
  FourCC BoxType() const override { return MakeFourCC("avcC"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  std::vector<uint8_t> data;
};

// MPEG-4 ES descriptor (esds) reduced to the fields MP4 audio needs.
struct ElementaryStreamDescriptorBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("esds"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint16_t es_id = 0;
  uint8_t object_type_indication = 0x40;  // MPEG-4 audio
  uint8_t stream_type = 0x05;             // audio stream
  uint32_t buffer_size_db = 0;
  uint32_t max_bitrate = 0;
  uint32_t avg_bitrate = 0;
  std::vector<uint8_t> decoder_specific_info;  // AudioSpecificConfig
};

struct VisualSampleEntry : Box {
  FourCC BoxType() const override { return format; }
  bool ReadWriteBody(BoxBuffer& b) override;
  FourCC format = MakeFourCC("avc1");
  uint16_t data_reference_index = 1;
  uint16_t width = 0, height = 0;
  std::string compressor_name;
  std::optional<AvcConfigurationBox> avcc;
  RawBoxes other;  // btrt, pasp, sinf (encrypted), ...
};

struct AudioSampleEntry : Box {
  FourCC BoxType() const override { return format; }
  bool ReadWriteBody(BoxBuffer& b) override;
  FourCC format = MakeFourCC("mp4a");
  uint16_t data_reference_index = 1;
  uint16_t qt_version = 0;              // QuickTime sound description version
  std::vector<uint8_t> qt_extension;    // the extra fields of versions 1 and 2
  uint16_t channel_count = 2;
  uint16_t sample_size = 16;
  uint32_t sample_rate = 0;  // 16.16 fixed point
  std::optional<ElementaryStreamDescriptorBox> esds;
  RawBoxes other;
};

struct SampleDescriptionBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("stsd"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  // Which list holds an entry is decided by the handler type of the track.
  FourCC handler_type = 0;  // set by the caller before reading
  std::vector<VisualSampleEntry> video;
  std::vector<AudioSampleEntry> audio;
  RawBoxes other;  // sample entries of other handlers, verbatim
};

// The sample tables of a fragmented file are empty; they are still read in
// full so that non-fragmented inputs do not break parsing.
struct TimeToSampleBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("stts"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  struct Entry { uint32_t count, delta; };
  std::vector<Entry> entries;
};

struct SampleToChunkBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("stsc"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  struct Entry { uint32_t first_chunk, samples_per_chunk, sample_description_index; };
  std::vector<Entry> entries;
};

struct SampleSizeBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("stsz"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint32_t sample_size = 0;
  uint32_t sample_count = 0;
  std::vector<uint32_t> sizes;  // only when sample_size == 0
};

struct ChunkOffsetBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("stco"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  std::vector<uint32_t> offsets;
};

struct SampleTableBox : Box {
  FourCC BoxType() const override { return MakeFourCC("stbl"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  SampleDescriptionBox stsd;
  TimeToSampleBox stts;
  SampleToChunkBox stsc;
  SampleSizeBox stsz;
  std::optional<ChunkOffsetBox> stco;  // a co64 instead stays in `other`
  RawBoxes other;
};

struct MediaInformationBox : Box {
  FourCC BoxType() const override { return MakeFourCC("minf"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  std::optional<VideoMediaHeaderBox> vmhd;
  std::optional<SoundMediaHeaderBox> smhd;
  DataInformationBox dinf;
  SampleTableBox stbl;
  RawBoxes other;
};

struct MediaBox : Box {
  FourCC BoxType() const override { return MakeFourCC("mdia"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  MediaHeaderBox mdhd;
  HandlerBox hdlr;
  MediaInformationBox minf;
  RawBoxes other;
};

struct TrackBox : Box {
  FourCC BoxType() const override { return MakeFourCC("trak"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  TrackHeaderBox tkhd;
  MediaBox mdia;
  RawBoxes other;  // edts, udta, ...
};

struct MovieExtendsHeaderBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("mehd"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint64_t fragment_duration = 0;
};

struct TrackExtendsBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("trex"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint32_t track_id = 0;
  uint32_t default_sample_description_index = 1;
  uint32_t default_sample_duration = 0;
  uint32_t default_sample_size = 0;
  uint32_t default_sample_flags = 0;
};

struct MovieExtendsBox : Box {
  FourCC BoxType() const override { return MakeFourCC("mvex"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  std::optional<MovieExtendsHeaderBox> mehd;
  std::vector<TrackExtendsBox> trex;
  RawBoxes other;
};

struct MovieBox : Box {
  FourCC BoxType() const override { return MakeFourCC("moov"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  MovieHeaderBox mvhd;
  std::vector<TrackBox> tracks;
  std::optional<MovieExtendsBox> mvex;
  RawBoxes other;  // udta, PIFF pssh, ...
  const TrackBox* FindTrack(uint32_t track_id) const;
  const TrackExtendsBox* FindTrex(uint32_t track_id) const;
};

struct MovieFragmentHeaderBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("mfhd"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint32_t sequence_number = 0;
};

struct TrackFragmentHeaderBox : FullBox {
  enum : uint32_t {
    kBaseDataOffset = 0x1,
    kSampleDescriptionIndex = 0x2,
    kDefaultSampleDuration = 0x8,
    kDefaultSampleSize = 0x10,
    kDefaultSampleFlags = 0x20,
    kDurationIsEmpty = 0x10000,
    kDefaultBaseIsMoof = 0x20000,
  };
  FourCC BoxType() const override { return MakeFourCC("tfhd"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint32_t track_id = 0;
  uint64_t base_data_offset = 0;
  uint32_t sample_description_index = 0;
  uint32_t default_sample_duration = 0;
  uint32_t default_sample_size = 0;
  uint32_t default_sample_flags = 0;
};

struct TrackFragmentDecodeTimeBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("tfdt"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint64_t base_media_decode_time = 0;
};

struct TrackRunBox : FullBox {
  enum : uint32_t {
    kDataOffset = 0x1,
    kFirstSampleFlags = 0x4,
    kSampleDuration = 0x100,
    kSampleSize = 0x200,
    kSampleFlags = 0x400,
    kSampleCompositionOffset = 0x800,
  };
  FourCC BoxType() const override { return MakeFourCC("trun"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  struct Sample {
    uint32_t duration = 0;
    uint32_t size = 0;
    uint32_t flags = 0;
    int64_t composition_offset = 0;  // unsigned in version 0, signed in 1
  };
  int32_t data_offset = 0;
  uint32_t first_sample_flags = 0;
  std::vector<Sample> samples;
};

// PIFF/Smooth Track Fragment Extended Header: absolute time of the fragment.
struct TfxdBox : FullBox {
  TfxdBox() { version = 1; }
  FourCC BoxType() const override { return MakeFourCC("uuid"); }
  const Uuid* ExtendedType() const override { return &kTfxdUuid; }
  std::string Name() const override { return "tfxd"; }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint64_t fragment_absolute_time = 0;
  uint64_t fragment_duration = 0;
};

// Smooth Track Fragment Reference: times of the following fragments (live).
struct TfrfBox : FullBox {
  TfrfBox() { version = 1; }
  FourCC BoxType() const override { return MakeFourCC("uuid"); }
  const Uuid* ExtendedType() const override { return &kTfrfUuid; }
  std::string Name() const override { return "tfrf"; }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  struct Entry { uint64_t time, duration; };
  std::vector<Entry> entries;  // at most 255
};

struct TrackFragmentBox : Box {
  FourCC BoxType() const override { return MakeFourCC("traf"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  TrackFragmentHeaderBox tfhd;
  std::optional<TrackFragmentDecodeTimeBox> tfdt;
  std::vector<TrackRunBox> truns;
  std::optional<TfxdBox> tfxd;
  std::optional<TfrfBox> tfrf;
  RawBoxes other;  // sdtp, PIFF senc, saiz/saio, ...
};

struct MovieFragmentBox : Box {
  FourCC BoxType() const override { return MakeFourCC("moof"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  MovieFragmentHeaderBox mfhd;
  std::vector<TrackFragmentBox> trafs;
  RawBoxes other;
};

struct TrackFragmentRandomAccessBox : FullBox {
  TrackFragmentRandomAccessBox() { version = 1; }
  FourCC BoxType() const override { return MakeFourCC("tfra"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  struct Entry {
    uint64_t time = 0;
    uint64_t moof_offset = 0;
    uint32_t traf_number = 1, trun_number = 1, sample_number = 1;
  };
  uint32_t track_id = 0;
  uint8_t length_size_of_traf_num = 0;    // field size minus one, 0..3
  uint8_t length_size_of_trun_num = 0;
  uint8_t length_size_of_sample_num = 0;
  std::vector<Entry> entries;
};

struct MovieFragmentRandomAccessOffsetBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("mfro"); }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  uint32_t mfra_size = 0;
};

struct MovieFragmentRandomAccessBox : Box {
  FourCC BoxType() const override { return MakeFourCC("mfra"); }
  bool ReadWriteBody(BoxBuffer& b) override;
  std::vector<TrackFragmentRandomAccessBox> tfras;
  std::optional<MovieFragmentRandomAccessOffsetBox> mfro;
  RawBoxes other;
  // Serialises with mfro.mfra_size set to the whole mfra size.
  std::vector<uint8_t> SerializeWithMfro();
};

// Live Server Manifest box: the SMIL of an ingest stream after version/flags.
struct LiveServerManifestBox : FullBox {
  FourCC BoxType() const override { return MakeFourCC("uuid"); }
  const Uuid* ExtendedType() const override { return &kLiveServerManifestUuid; }
  std::string Name() const override { return "LiveServerManifest"; }
  bool ReadWriteFullBody(BoxBuffer& b) override;
  std::string xml;
};

// Sample flags as PIFF writers use them (see the digest, section 8).
constexpr uint32_t kSyncSampleFlags = 0x02000000;     // depends on no other sample
constexpr uint32_t kNonSyncSampleFlags = 0x01010000;  // depends on others, is difference sample
inline bool SampleFlagsAreSync(uint32_t flags) {
  // sample_is_non_sync_sample is bit 16; depends_on == 1 also marks non-key.
  return (flags & 0x00010000) == 0 && ((flags >> 24) & 0x3) != 1;
}

}  // namespace piff
