// ReadWriteBody() of every modelled box: one description per box, used for
// both directions. Field layouts follow ISO/IEC 14496-12 and [MS-SSTR] 2.2.4.
#include "boxes.h"

#include <limits>

namespace piff {

namespace {

// Version 1 of several FullBoxes widens times from 32 to 64 bits.
bool VersionedTime(BoxBuffer& b, uint8_t version, uint64_t& v) {
  return b.UintN(v, version == 1 ? 8 : 4);
}

bool ReadWriteMatrix(BoxBuffer& b, Matrix& m) {
  for (auto& v : m)
    if (!b.I32(v)) return false;
  return true;
}

// Entry counts come from the file; refuse counts that cannot fit in what is
// left, before any allocation.
bool CheckCount(BoxBuffer& b, uint64_t count, size_t bytes_per_entry, const char* what) {
  if (!b.reading()) return true;
  if (bytes_per_entry && count > b.remaining() / bytes_per_entry)
    return b.Fail(std::string(what) + " count " + std::to_string(count) + " exceeds the box size");
  return true;
}

}  // namespace

bool FileTypeBox::ReadWriteBody(BoxBuffer& b) {
  if (!b.Code(major_brand) || !b.U32(minor_version)) return false;
  if (b.reading()) {
    if (b.remaining() % 4) return b.Fail("compatible brand list is not a multiple of 4 bytes");
    compatible_brands.resize(b.remaining() / 4);
  }
  for (auto& c : compatible_brands)
    if (!b.Code(c)) return false;
  return true;
}

bool MovieHeaderBox::ReadWriteFullBody(BoxBuffer& b) {
  if (version > 1) return b.Fail("unsupported version " + std::to_string(version));
  return VersionedTime(b, version, creation_time) && VersionedTime(b, version, modification_time) &&
         b.U32(timescale) && VersionedTime(b, version, duration) && b.I32(rate) && b.I16(volume) &&
         b.Reserved(10) && ReadWriteMatrix(b, matrix) && b.Reserved(24) && b.U32(next_track_id);
}

bool TrackHeaderBox::ReadWriteFullBody(BoxBuffer& b) {
  if (version > 1) return b.Fail("unsupported version " + std::to_string(version));
  return VersionedTime(b, version, creation_time) && VersionedTime(b, version, modification_time) &&
         b.U32(track_id) && b.Reserved(4) && VersionedTime(b, version, duration) && b.Reserved(8) &&
         b.I16(layer) && b.I16(alternate_group) && b.I16(volume) && b.Reserved(2) &&
         ReadWriteMatrix(b, matrix) && b.U32(width) && b.U32(height);
}

bool MediaHeaderBox::ReadWriteFullBody(BoxBuffer& b) {
  if (version > 1) return b.Fail("unsupported version " + std::to_string(version));
  if (!VersionedTime(b, version, creation_time) || !VersionedTime(b, version, modification_time) ||
      !b.U32(timescale) || !VersionedTime(b, version, duration))
    return false;
  // Three 5-bit letters offset by 0x60.
  uint16_t packed = 0;
  if (!b.reading() && language.size() == 3)
    packed = static_cast<uint16_t>(((language[0] - 0x60) & 31) << 10 | ((language[1] - 0x60) & 31) << 5 |
                                   ((language[2] - 0x60) & 31));
  if (!b.U16(packed)) return false;
  if (b.reading()) {
    language.assign(3, ' ');
    for (int i = 0; i < 3; i++) language[i] = static_cast<char>(((packed >> (10 - 5 * i)) & 31) + 0x60);
  }
  return b.Reserved(2);
}

bool HandlerBox::ReadWriteFullBody(BoxBuffer& b) {
  return b.Reserved(4) && b.Code(handler_type) && b.Reserved(12) && b.CString(name);
}

bool VideoMediaHeaderBox::ReadWriteFullBody(BoxBuffer& b) {
  return b.U16(graphics_mode) && b.U16(opcolor[0]) && b.U16(opcolor[1]) && b.U16(opcolor[2]);
}

bool SoundMediaHeaderBox::ReadWriteFullBody(BoxBuffer& b) { return b.I16(balance) && b.Reserved(2); }

bool DataEntryUrlBox::ReadWriteFullBody(BoxBuffer& b) {
  if (flags & 1) return true;
  return b.CString(location);
}

bool DataReferenceBox::ReadWriteFullBody(BoxBuffer& b) {
  uint32_t count = static_cast<uint32_t>(urls.size() + other.size());
  if (!b.U32(count)) return false;
  if (b.reading()) urls.clear();
  return b.Children(urls) && b.UnknownChildren(other);
}

bool DataInformationBox::ReadWriteBody(BoxBuffer& b) { return b.Child(dref); }

bool AvcConfigurationBox::ReadWriteBody(BoxBuffer& b) { return b.Rest(data); }

namespace {

// MPEG-4 descriptors (ISO/IEC 14496-1 7.2.2): tag, then a length coded in
// 7-bit groups with a continuation bit. Writers vary in how many bytes they
// use (FFmpeg and qtmux pad to four); we write the shortest form.
bool ReadDescriptorHeader(BoxBuffer& b, uint8_t* tag, uint32_t* length) {
  if (!b.U8(*tag)) return false;
  uint32_t len = 0;
  for (int i = 0; i < 4; i++) {
    uint8_t c = 0;
    if (!b.U8(c)) return false;
    len = (len << 7) | (c & 0x7f);
    if (!(c & 0x80)) {
      *length = len;
      if (len > b.remaining()) return b.Fail("descriptor length exceeds the box");
      return true;
    }
  }
  return b.Fail("descriptor length longer than 4 bytes");
}

void WriteDescriptorHeader(std::vector<uint8_t>& out, uint8_t tag, uint32_t length) {
  out.push_back(tag);
  uint8_t groups[4];
  int n = 0;
  do {
    groups[n++] = length & 0x7f;
    length >>= 7;
  } while (length && n < 4);
  for (int i = n - 1; i >= 0; i--) out.push_back(static_cast<uint8_t>(groups[i] | (i ? 0x80 : 0)));
}

}  // namespace

bool ElementaryStreamDescriptorBox::ReadWriteFullBody(BoxBuffer& b) {
  if (!b.reading()) {
    // Build inside-out so that each length is known.
    std::vector<uint8_t> dsi;
    WriteDescriptorHeader(dsi, 0x05, static_cast<uint32_t>(decoder_specific_info.size()));
    dsi.insert(dsi.end(), decoder_specific_info.begin(), decoder_specific_info.end());
    std::vector<uint8_t> dcd;
    std::vector<uint8_t> dcd_body = {object_type_indication, static_cast<uint8_t>(stream_type << 2 | 1),
                                     uint8_t(buffer_size_db >> 16), uint8_t(buffer_size_db >> 8),
                                     uint8_t(buffer_size_db),       uint8_t(max_bitrate >> 24),
                                     uint8_t(max_bitrate >> 16),    uint8_t(max_bitrate >> 8),
                                     uint8_t(max_bitrate),          uint8_t(avg_bitrate >> 24),
                                     uint8_t(avg_bitrate >> 16),    uint8_t(avg_bitrate >> 8),
                                     uint8_t(avg_bitrate)};
    dcd_body.insert(dcd_body.end(), dsi.begin(), dsi.end());
    WriteDescriptorHeader(dcd, 0x04, static_cast<uint32_t>(dcd_body.size()));
    dcd.insert(dcd.end(), dcd_body.begin(), dcd_body.end());
    std::vector<uint8_t> es_body = {uint8_t(es_id >> 8), uint8_t(es_id), 0};
    es_body.insert(es_body.end(), dcd.begin(), dcd.end());
    es_body.insert(es_body.end(), {0x06, 0x01, 0x02});  // SLConfigDescriptor, predefined 2
    std::vector<uint8_t> es;
    WriteDescriptorHeader(es, 0x03, static_cast<uint32_t>(es_body.size()));
    es.insert(es.end(), es_body.begin(), es_body.end());
    return b.Bytes(es.data(), es.size());
  }
  uint8_t tag = 0;
  uint32_t len = 0;
  if (!ReadDescriptorHeader(b, &tag, &len)) return false;
  if (tag != 0x03) return b.Fail("expected ES_Descriptor (tag 3), found tag " + std::to_string(tag));
  uint8_t es_flags = 0;
  if (!b.U16(es_id) || !b.U8(es_flags)) return false;
  if (es_flags & 0x80 && !b.Reserved(2)) return false;  // dependsOn_ES_ID
  if (es_flags & 0x40) {                                // URL
    uint8_t url_len = 0;
    if (!b.U8(url_len) || !b.Reserved(url_len)) return false;
  }
  if (es_flags & 0x20 && !b.Reserved(2)) return false;  // OCR_ES_Id
  if (!ReadDescriptorHeader(b, &tag, &len)) return false;
  if (tag != 0x04) return b.Fail("expected DecoderConfigDescriptor (tag 4), found tag " + std::to_string(tag));
  size_t dcd_end = b.position() + len;
  uint8_t st = 0;
  if (!b.U8(object_type_indication) || !b.U8(st) || !b.U24(buffer_size_db) || !b.U32(max_bitrate) ||
      !b.U32(avg_bitrate))
    return false;
  stream_type = st >> 2;
  decoder_specific_info.clear();
  if (b.position() < dcd_end) {
    if (!ReadDescriptorHeader(b, &tag, &len)) return false;
    if (tag == 0x05 && !b.Vector(decoder_specific_info, len)) return false;
  }
  // SLConfig and anything else are not needed; skip the rest.
  std::vector<uint8_t> rest;
  return b.Rest(rest);
}

bool VisualSampleEntry::ReadWriteBody(BoxBuffer& b) {
  uint16_t predefined = 0;
  uint32_t resolution = 0x00480000;  // 72 dpi
  uint16_t frame_count = 1, depth = 0x0018;
  int16_t color_table = -1;
  uint8_t name[32] = {0};
  if (!b.reading()) {
    size_t n = std::min<size_t>(compressor_name.size(), 31);
    name[0] = static_cast<uint8_t>(n);
    std::copy(compressor_name.begin(), compressor_name.begin() + n, name + 1);
  }
  if (!(b.Reserved(6) && b.U16(data_reference_index) && b.U16(predefined) && b.Reserved(2) && b.Reserved(12) &&
        b.U16(width) && b.U16(height) && b.U32(resolution) && b.U32(resolution) && b.Reserved(4) &&
        b.U16(frame_count) && b.Bytes(name, 32) && b.U16(depth) && b.I16(color_table)))
    return false;
  if (b.reading()) compressor_name.assign(reinterpret_cast<char*>(name + 1), std::min<size_t>(name[0], 31));
  return b.OptionalChild(avcc) && b.UnknownChildren(other);
}

bool AudioSampleEntry::ReadWriteBody(BoxBuffer& b) {
  uint16_t predefined = 0;
  if (!(b.Reserved(6) && b.U16(data_reference_index) && b.U16(qt_version) && b.Reserved(6) &&
        b.U16(channel_count) && b.U16(sample_size) && b.U16(predefined) && b.Reserved(2) && b.U32(sample_rate)))
    return false;
  if (qt_version == 1 || qt_version == 2) {
    size_t extra = qt_version == 1 ? 16 : 36;
    if (!b.Vector(qt_extension, b.reading() ? extra : qt_extension.size())) return false;
  }
  return b.OptionalChild(esds) && b.UnknownChildren(other);
}

bool SampleDescriptionBox::ReadWriteFullBody(BoxBuffer& b) {
  uint32_t count = static_cast<uint32_t>(video.size() + audio.size() + other.size());
  if (!b.U32(count)) return false;
  if (!b.reading()) {
    for (auto& v : video) v.Write(*b.output());
    for (auto& a : audio) a.Write(*b.output());
    return b.UnknownChildren(other);
  }
  RawBoxes entries;
  if (!b.UnknownChildren(entries)) return false;
  if (entries.size() != count)
    return b.Fail("entry_count " + std::to_string(count) + " but " + std::to_string(entries.size()) +
                  " sample entries present");
  for (auto& raw : entries) {
    BoxHeader h;
    Status s = ParseBoxHeader(raw.data(), raw.size(), &h);
    if (!s) return b.Fail(s.message());
    BoxBuffer body(raw.data() + h.header_size, raw.size() - h.header_size,
                   b.path() + "/" + FourCCToString(h.type));
    if (handler_type == MakeFourCC("vide")) {
      video.emplace_back();
      video.back().format = h.type;
      video.back().ReadWriteBody(body);
    } else if (handler_type == MakeFourCC("soun")) {
      audio.emplace_back();
      audio.back().format = h.type;
      audio.back().ReadWriteBody(body);
    } else {
      other.push_back(raw);
    }
    if (!body.ok()) return b.Propagate(body.status());
  }
  return true;
}

bool TimeToSampleBox::ReadWriteFullBody(BoxBuffer& b) {
  uint32_t count = static_cast<uint32_t>(entries.size());
  if (!b.U32(count) || !CheckCount(b, count, 8, "stts entry")) return false;
  if (b.reading()) entries.resize(count);
  for (auto& e : entries)
    if (!b.U32(e.count) || !b.U32(e.delta)) return false;
  return true;
}

bool SampleToChunkBox::ReadWriteFullBody(BoxBuffer& b) {
  uint32_t count = static_cast<uint32_t>(entries.size());
  if (!b.U32(count) || !CheckCount(b, count, 12, "stsc entry")) return false;
  if (b.reading()) entries.resize(count);
  for (auto& e : entries)
    if (!b.U32(e.first_chunk) || !b.U32(e.samples_per_chunk) || !b.U32(e.sample_description_index)) return false;
  return true;
}

bool SampleSizeBox::ReadWriteFullBody(BoxBuffer& b) {
  if (!b.reading() && sample_size == 0) sample_count = static_cast<uint32_t>(sizes.size());
  if (!b.U32(sample_size) || !b.U32(sample_count)) return false;
  if (sample_size != 0) return true;
  if (!CheckCount(b, sample_count, 4, "stsz entry")) return false;
  if (b.reading()) sizes.resize(sample_count);
  for (auto& s : sizes)
    if (!b.U32(s)) return false;
  return true;
}

bool ChunkOffsetBox::ReadWriteFullBody(BoxBuffer& b) {
  uint32_t count = static_cast<uint32_t>(offsets.size());
  if (!b.U32(count) || !CheckCount(b, count, 4, "stco entry")) return false;
  if (b.reading()) offsets.resize(count);
  for (auto& o : offsets)
    if (!b.U32(o)) return false;
  return true;
}

bool SampleTableBox::ReadWriteBody(BoxBuffer& b) {
  return b.Child(stsd) && b.Child(stts) && b.Child(stsc) && b.Child(stsz) && b.OptionalChild(stco) &&
         b.UnknownChildren(other);
}

bool MediaInformationBox::ReadWriteBody(BoxBuffer& b) {
  return b.OptionalChild(vmhd) && b.OptionalChild(smhd) && b.Child(dinf) && b.Child(stbl) &&
         b.UnknownChildren(other);
}

bool MediaBox::ReadWriteBody(BoxBuffer& b) {
  if (!b.Child(mdhd) || !b.Child(hdlr)) return false;
  // The sample entries are interpreted according to the handler.
  minf.stbl.stsd.handler_type = hdlr.handler_type;
  return b.Child(minf) && b.UnknownChildren(other);
}

bool TrackBox::ReadWriteBody(BoxBuffer& b) {
  return b.Child(tkhd) && b.Child(mdia) && b.UnknownChildren(other);
}

bool MovieExtendsHeaderBox::ReadWriteFullBody(BoxBuffer& b) {
  if (version > 1) return b.Fail("unsupported version " + std::to_string(version));
  return VersionedTime(b, version, fragment_duration);
}

bool TrackExtendsBox::ReadWriteFullBody(BoxBuffer& b) {
  return b.U32(track_id) && b.U32(default_sample_description_index) && b.U32(default_sample_duration) &&
         b.U32(default_sample_size) && b.U32(default_sample_flags);
}

bool MovieExtendsBox::ReadWriteBody(BoxBuffer& b) {
  return b.OptionalChild(mehd) && b.Children(trex) && b.UnknownChildren(other);
}

bool MovieBox::ReadWriteBody(BoxBuffer& b) {
  return b.Child(mvhd) && b.Children(tracks) && b.OptionalChild(mvex) && b.UnknownChildren(other);
}

const TrackBox* MovieBox::FindTrack(uint32_t track_id) const {
  for (auto& t : tracks)
    if (t.tkhd.track_id == track_id) return &t;
  return nullptr;
}

const TrackExtendsBox* MovieBox::FindTrex(uint32_t track_id) const {
  if (!mvex) return nullptr;
  for (auto& t : mvex->trex)
    if (t.track_id == track_id) return &t;
  return nullptr;
}

bool MovieFragmentHeaderBox::ReadWriteFullBody(BoxBuffer& b) { return b.U32(sequence_number); }

bool TrackFragmentHeaderBox::ReadWriteFullBody(BoxBuffer& b) {
  if (!b.U32(track_id)) return false;
  if (flags & kBaseDataOffset && !b.U64(base_data_offset)) return false;
  if (flags & kSampleDescriptionIndex && !b.U32(sample_description_index)) return false;
  if (flags & kDefaultSampleDuration && !b.U32(default_sample_duration)) return false;
  if (flags & kDefaultSampleSize && !b.U32(default_sample_size)) return false;
  if (flags & kDefaultSampleFlags && !b.U32(default_sample_flags)) return false;
  return true;
}

bool TrackFragmentDecodeTimeBox::ReadWriteFullBody(BoxBuffer& b) {
  if (version > 1) return b.Fail("unsupported version " + std::to_string(version));
  return VersionedTime(b, version, base_media_decode_time);
}

bool TrackRunBox::ReadWriteFullBody(BoxBuffer& b) {
  if (version > 1) return b.Fail("unsupported version " + std::to_string(version));
  uint32_t count = static_cast<uint32_t>(samples.size());
  if (!b.U32(count)) return false;
  if (flags & kDataOffset && !b.I32(data_offset)) return false;
  if (flags & kFirstSampleFlags && !b.U32(first_sample_flags)) return false;
  size_t per_sample = 4 * (!!(flags & kSampleDuration) + !!(flags & kSampleSize) + !!(flags & kSampleFlags) +
                           !!(flags & kSampleCompositionOffset));
  if (b.reading()) {
    // Without per-sample fields nothing bounds the count; charge it to the
    // budget of the whole parse so that a hostile header (or many of them in
    // one moof or file) cannot make us allocate gigabytes.
    if (per_sample == 0 && !b.ChargeUnbackedEntries(count, "sample_count without per-sample fields"))
      return false;
    if (!CheckCount(b, count, per_sample, "trun sample")) return false;
    samples.resize(count);
  }
  for (auto& s : samples) {
    if (flags & kSampleDuration && !b.U32(s.duration)) return false;
    if (flags & kSampleSize && !b.U32(s.size)) return false;
    if (flags & kSampleFlags && !b.U32(s.flags)) return false;
    if (flags & kSampleCompositionOffset) {
      if (version == 0) {
        uint32_t v = static_cast<uint32_t>(s.composition_offset);
        if (!b.U32(v)) return false;
        s.composition_offset = v;
      } else {
        int32_t v = static_cast<int32_t>(s.composition_offset);
        if (!b.I32(v)) return false;
        s.composition_offset = v;
      }
    }
  }
  return true;
}

bool TfxdBox::ReadWriteFullBody(BoxBuffer& b) {
  if (version > 1) return b.Fail("unsupported version " + std::to_string(version));
  return VersionedTime(b, version, fragment_absolute_time) && VersionedTime(b, version, fragment_duration);
}

bool TfrfBox::ReadWriteFullBody(BoxBuffer& b) {
  if (version > 1) return b.Fail("unsupported version " + std::to_string(version));
  // FragmentCount is one byte, as every implementation writes it (digest 1.10).
  if (!b.reading() && entries.size() > 255) return b.Fail("more than 255 entries");
  uint8_t count = static_cast<uint8_t>(entries.size());
  if (!b.U8(count) || !CheckCount(b, count, version == 1 ? 16 : 8, "tfrf entry")) return false;
  if (b.reading()) entries.resize(count);
  for (auto& e : entries)
    if (!VersionedTime(b, version, e.time) || !VersionedTime(b, version, e.duration)) return false;
  return true;
}

bool TrackFragmentBox::ReadWriteBody(BoxBuffer& b) {
  return b.Child(tfhd) && b.OptionalChild(tfdt) && b.Children(truns) && b.OptionalChild(tfxd) &&
         b.OptionalChild(tfrf) && b.UnknownChildren(other);
}

bool MovieFragmentBox::ReadWriteBody(BoxBuffer& b) {
  return b.Child(mfhd) && b.Children(trafs) && b.UnknownChildren(other);
}

bool TrackFragmentRandomAccessBox::ReadWriteFullBody(BoxBuffer& b) {
  if (version > 1) return b.Fail("unsupported version " + std::to_string(version));
  uint32_t sizes = static_cast<uint32_t>(length_size_of_traf_num & 3) << 4 |
                   static_cast<uint32_t>(length_size_of_trun_num & 3) << 2 | (length_size_of_sample_num & 3);
  uint32_t count = static_cast<uint32_t>(entries.size());
  if (!b.U32(track_id) || !b.U32(sizes) || !b.U32(count)) return false;
  length_size_of_traf_num = (sizes >> 4) & 3;
  length_size_of_trun_num = (sizes >> 2) & 3;
  length_size_of_sample_num = sizes & 3;
  size_t entry_size = (version == 1 ? 16 : 8) + length_size_of_traf_num + length_size_of_trun_num +
                      length_size_of_sample_num + 3;
  if (!CheckCount(b, count, entry_size, "tfra entry")) return false;
  if (b.reading()) entries.resize(count);
  for (auto& e : entries) {
    uint64_t traf = e.traf_number, trun = e.trun_number, sample = e.sample_number;
    if (!VersionedTime(b, version, e.time) || !VersionedTime(b, version, e.moof_offset) ||
        !b.UintN(traf, length_size_of_traf_num + 1) || !b.UintN(trun, length_size_of_trun_num + 1) ||
        !b.UintN(sample, length_size_of_sample_num + 1))
      return false;
    e.traf_number = static_cast<uint32_t>(traf);
    e.trun_number = static_cast<uint32_t>(trun);
    e.sample_number = static_cast<uint32_t>(sample);
  }
  return true;
}

bool MovieFragmentRandomAccessOffsetBox::ReadWriteFullBody(BoxBuffer& b) { return b.U32(mfra_size); }

bool MovieFragmentRandomAccessBox::ReadWriteBody(BoxBuffer& b) {
  // mfro must be the last child (readers find the mfra through the file's
  // last four bytes), so unknown children are written before it.
  if (!b.reading()) return b.Children(tfras) && b.UnknownChildren(other) && b.OptionalChild(mfro);
  // Reading mirrors that order so that write(read(x)) is stable: after the
  // leading tfras every child is kept as it is, except the last parseable
  // mfro, which becomes `mfro` (and is written last again).
  if (!b.Children(tfras) || !b.UnknownChildren(other)) return false;
  for (size_t i = other.size(); i-- > 0;) {
    BoxHeader h;
    if (!ParseBoxHeader(other[i].data(), other[i].size(), &h) || h.type != MakeFourCC("mfro")) continue;
    MovieFragmentRandomAccessOffsetBox m;
    if (!m.Parse(other[i].data(), other[i].size())) break;
    mfro = m;
    other.erase(other.begin() + static_cast<std::ptrdiff_t>(i));
    break;
  }
  return true;
}

std::vector<uint8_t> MovieFragmentRandomAccessBox::SerializeWithMfro() {
  if (!mfro) mfro.emplace();
  mfro->mfra_size = 0;
  std::vector<uint8_t> out = Serialize();
  mfro->mfra_size = static_cast<uint32_t>(out.size());
  // mfro is the last child: its last four bytes are the size field.
  size_t at = out.size() - 4;
  out[at] = uint8_t(out.size() >> 24);
  out[at + 1] = uint8_t(out.size() >> 16);
  out[at + 2] = uint8_t(out.size() >> 8);
  out[at + 3] = uint8_t(out.size());
  return out;
}

bool LiveServerManifestBox::ReadWriteFullBody(BoxBuffer& b) {
  std::vector<uint8_t> bytes(xml.begin(), xml.end());
  if (!b.Rest(bytes)) return false;
  if (b.reading()) {
    // Some writers add a terminating NUL.
    while (!bytes.empty() && bytes.back() == 0) bytes.pop_back();
    xml.assign(bytes.begin(), bytes.end());
  }
  return true;
}

}  // namespace piff
