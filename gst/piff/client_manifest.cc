// Client manifest (.ismc / Manifest) parsing and writing, plus the GMarkup
// based XML layer shared with the server manifest.
#include "client_manifest.h"

#include <glib.h>

#include <algorithm>
#include <cctype>
#include <limits>

namespace piff {

// ---------------------------------------------------------------------------
// XML layer


// ---------------------------------------------------------------------------
// Parsing helpers

namespace {

using manifest_xml::Element;

std::string StripAllSpace(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += c;
  return out;
}

// Reads the attributes of one element by name; whatever is not taken stays
// available as "unknown" so the writer can reproduce vendor attributes.
class AttributeReader {
 public:
  AttributeReader(const Element& el, std::string path)
      : el_(el), path_(std::move(path)), used_(el.attributes.size(), false) {}

  const std::string& path() const { return path_; }

  // First value of the attribute; every attribute of that name is consumed.
  const std::string* Take(const char* name) {
    const std::string* found = nullptr;
    for (size_t i = 0; i < el_.attributes.size(); i++) {
      if (el_.attributes[i].first == name) {
        if (!found) found = &el_.attributes[i].second;
        used_[i] = true;
      }
    }
    return found;
  }

  Status Error(const char* name, const std::string& reason) const {
    return Status::Error(path_ + "@" + name + ": " + reason);
  }

  Status U64(const char* name, std::optional<uint64_t>* out) {
    const std::string* v = Take(name);
    if (!v) return Status::Ok();
    uint64_t x = 0;
    std::string reason;
    if (!manifest_xml::ParseUint64(*v, &x, &reason)) return Error(name, reason);
    *out = x;
    return Status::Ok();
  }

  Status U32(const char* name, std::optional<uint32_t>* out) {
    const std::string* v = Take(name);
    if (!v) return Status::Ok();
    uint32_t x = 0;
    std::string reason;
    if (!manifest_xml::ParseUint32(*v, &x, &reason)) return Error(name, reason);
    *out = x;
    return Status::Ok();
  }

  Status Bool(const char* name, std::optional<bool>* out) {
    const std::string* v = Take(name);
    if (!v) return Status::Ok();
    bool x = false;
    std::string reason;
    if (!manifest_xml::ParseBool(*v, &x, &reason)) return Error(name, reason);
    *out = x;
    return Status::Ok();
  }

  void Str(const char* name, std::string* out) {
    if (const std::string* v = Take(name)) *out = *v;
  }

  AttributeList Remaining() const {
    AttributeList rest;
    for (size_t i = 0; i < el_.attributes.size(); i++)
      if (!used_[i]) rest.push_back(el_.attributes[i]);
    return rest;
  }

 private:
  const Element& el_;
  std::string path_;
  std::vector<bool> used_;
};

// One <c> element as written, before implicit values are resolved.
struct RawChunk {
  std::optional<uint64_t> t, d, n;
  uint64_t r = 1;
  std::vector<InlineSample> samples;
};

bool MulOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (a != 0 && b > std::numeric_limits<uint64_t>::max() / a) return true;
  *out = a * b;
  return false;
}

bool AddOverflows(uint64_t a, uint64_t b, uint64_t* out) {
  if (b > std::numeric_limits<uint64_t>::max() - a) return true;
  *out = a + b;
  return false;
}

Status ParseChunkElement(const Element& el, const std::string& path, RawChunk* out) {
  AttributeReader a(el, path);
  Status s;
  if (!(s = a.U64("t", &out->t))) return s;
  if (!(s = a.U64("d", &out->d))) return s;
  if (!(s = a.U64("n", &out->n))) return s;
  std::optional<uint64_t> r;
  if (!(s = a.U64("r", &r))) return s;
  if (r) {
    if (*r == 0) return a.Error("r", "must be at least 1 (r counts fragments, one-based)");
    out->r = *r;
  }
  size_t fi = 0;
  for (const Element& child : el.children) {
    if (child.name != "f") continue;
    AttributeReader fa(child, path + "/f[" + std::to_string(fi++) + "]");
    std::optional<uint32_t> i;
    if (!(s = fa.U32("i", &i))) return s;
    out->samples.push_back({i.value_or(0), StripAllSpace(child.text)});
  }
  if (!out->samples.empty() && out->r > 1)
    return Status::Error(path + ": f elements on a c with r > 1 are ambiguous");
  return Status::Ok();
}

// Applies the implicit-time rules: a missing t is the previous end (0 for
// the first), a missing d is the next explicit t minus this t. Then merges
// contiguous equal-duration entries into runs.
Status ResolveTimeline(std::vector<RawChunk>& raw, const std::string& path,
                       std::vector<Chunk>* out) {
  out->clear();
  uint64_t prev_end = 0, prev_last_start = 0, total = 0;
  bool have_prev = false;
  for (size_t k = 0; k < raw.size(); k++) {
    const RawChunk& c = raw[k];
    std::string where = path + "/c[" + std::to_string(k) + "]";
    uint64_t t = c.t ? *c.t : (have_prev ? prev_end : 0);
    if (have_prev && t < prev_last_start)
      return Status::Error(where + ": t decreases (" + std::to_string(t) + " < " +
                           std::to_string(prev_last_start) + ")");
    uint64_t d = 0;
    if (c.d) {
      d = *c.d;
    } else if (k + 1 == raw.size()) {
      return Status::Error(where + ": the last c has no d");
    } else if (c.r > 1) {
      return Status::Error(where + ": r without d");
    } else if (!raw[k + 1].t) {
      return Status::Error(where + ": no d, and the next c has no t to derive it from");
    } else if (*raw[k + 1].t < t) {
      return Status::Error(path + "/c[" + std::to_string(k + 1) + "]: t decreases (" +
                           std::to_string(*raw[k + 1].t) + " < " + std::to_string(t) + ")");
    } else {
      d = *raw[k + 1].t - t;
    }
    uint64_t span = 0, end = 0, last_offset = 0;
    if (MulOverflows(d, c.r, &span) || AddOverflows(t, span, &end))
      return Status::Error(where + ": timeline end overflows 64 bits");
    last_offset = d * (c.r - 1);  // <= span, cannot overflow
    if (AddOverflows(total, c.r, &total))
      return Status::Error(where + ": fragment count overflows 64 bits");

    Chunk* last = out->empty() ? nullptr : &out->back();
    bool numbers_agree =
        last && ((!last->n && !c.n) || (last->n && c.n && *c.n == *last->n + last->repeat));
    if (last && numbers_agree && last->samples.empty() && c.samples.empty() && last->d == d &&
        last->end() == t) {
      last->repeat += c.r;
    } else {
      Chunk chunk;
      chunk.t = t;
      chunk.d = d;
      chunk.repeat = c.r;
      chunk.n = c.n;
      chunk.samples = std::move(raw[k].samples);
      out->push_back(std::move(chunk));
    }
    prev_end = end;
    prev_last_start = t + last_offset;
    have_prev = true;
  }
  return Status::Ok();
}

// WAVEFORMATEX, little-endian: wFormatTag, nChannels, nSamplesPerSec,
// nAvgBytesPerSec, nBlockAlign, wBitsPerSample, cbSize, then cbSize bytes of
// codec data. Old v1 manifests put the whole structure in one attribute.
Status ApplyWaveFormatEx(const std::string& hex, AttributeReader& a, QualityLevel* q) {
  std::vector<uint8_t> w;
  if (!HexDecode(StripAllSpace(hex), &w)) return a.Error("WaveFormatEx", "not hex");
  if (w.size() < 18)
    return a.Error("WaveFormatEx", "truncated: " + std::to_string(w.size()) + " bytes, need 18");
  auto le16 = [&w](size_t i) { return static_cast<uint32_t>(w[i] | (w[i + 1] << 8)); };
  auto le32 = [&w, &le16](size_t i) { return le16(i) | (le16(i + 2) << 16); };
  if (!q->audio_tag) q->audio_tag = le16(0);
  if (!q->channels) q->channels = le16(2);
  if (!q->sampling_rate) q->sampling_rate = le32(4);
  if (!q->packet_size) q->packet_size = le16(12);
  if (!q->bits_per_sample) q->bits_per_sample = le16(14);
  size_t extra = std::min<size_t>(le16(16), w.size() - 18);
  if (q->codec_private_data.empty() && extra > 0) q->codec_private_data = HexEncode(w.data() + 18, extra);
  return Status::Ok();
}

Status ParseQualityLevel(const Element& el, const std::string& path, uint32_t position,
                         QualityLevel* q) {
  AttributeReader a(el, path);
  Status s;
  std::optional<uint32_t> index, bitrate, width, height;
  if (!(s = a.U32("Index", &index))) return s;
  q->index = index.value_or(position);
  if (!(s = a.U32("Bitrate", &bitrate))) return s;
  if (!bitrate) return a.Error("Bitrate", "missing");
  q->bitrate = *bitrate;
  a.Str("FourCC", &q->fourcc);
  if (!(s = a.U32("MaxWidth", &q->max_width))) return s;
  if (!(s = a.U32("MaxHeight", &q->max_height))) return s;
  // v1 manifests spelled these Width / Height.
  if (!(s = a.U32("Width", &width))) return s;
  if (!(s = a.U32("Height", &height))) return s;
  if (!q->max_width) q->max_width = width;
  if (!q->max_height) q->max_height = height;
  if (const std::string* cpd = a.Take("CodecPrivateData")) q->codec_private_data = StripAllSpace(*cpd);
  if (!(s = a.U32("SamplingRate", &q->sampling_rate))) return s;
  if (!(s = a.U32("Channels", &q->channels))) return s;
  if (!(s = a.U32("BitsPerSample", &q->bits_per_sample))) return s;
  if (!(s = a.U32("PacketSize", &q->packet_size))) return s;
  if (!(s = a.U32("AudioTag", &q->audio_tag))) return s;
  if (!(s = a.U32("NALUnitLengthField", &q->nal_unit_length_field))) return s;
  if (const std::string* wfx = a.Take("WaveFormatEx")) {
    if (!(s = ApplyWaveFormatEx(*wfx, a, q))) return s;
  }
  q->unknown_attributes = a.Remaining();
  for (const Element& child : el.children) {
    if (child.name != "CustomAttributes") continue;
    size_t k = 0;
    for (const Element& attr : child.children) {
      if (attr.name != "Attribute") continue;
      AttributeReader ca(attr, path + "/CustomAttributes/Attribute[" + std::to_string(k++) + "]");
      const std::string* name = ca.Take("Name");
      if (!name) return ca.Error("Name", "missing");
      const std::string* value = ca.Take("Value");
      q->custom_attributes.emplace_back(*name, value ? *value : std::string());
    }
  }
  return Status::Ok();
}

Status ParseStreamIndex(const Element& el, const std::string& path, StreamIndex* st) {
  AttributeReader a(el, path);
  Status s;
  const std::string* type = a.Take("Type");
  if (!type) return a.Error("Type", "missing");
  st->type = *type;
  a.Str("Subtype", &st->subtype);
  a.Str("Name", &st->name);
  a.Str("Url", &st->url);
  a.Str("Language", &st->language);
  if (!(s = a.U64("TimeScale", &st->timescale))) return s;
  if (st->timescale && *st->timescale == 0) return a.Error("TimeScale", "must not be 0");
  if (!(s = a.U64("Chunks", &st->declared_chunks))) return s;
  if (!(s = a.U32("QualityLevels", &st->declared_quality_levels))) return s;
  if (!(s = a.U32("MaxWidth", &st->max_width))) return s;
  if (!(s = a.U32("MaxHeight", &st->max_height))) return s;
  if (!(s = a.U32("DisplayWidth", &st->display_width))) return s;
  if (!(s = a.U32("DisplayHeight", &st->display_height))) return s;
  a.Str("ParentStreamIndex", &st->parent_stream_index);
  if (!(s = a.Bool("ManifestOutput", &st->manifest_output))) return s;
  st->unknown_attributes = a.Remaining();

  std::vector<RawChunk> raw;
  for (const Element& child : el.children) {
    if (child.name == "QualityLevel") {
      uint32_t pos = static_cast<uint32_t>(st->quality_levels.size());
      QualityLevel q;
      s = ParseQualityLevel(child, path + "/QualityLevel[" + std::to_string(pos) + "]", pos, &q);
      if (!s) return s;
      st->quality_levels.push_back(std::move(q));
    } else if (child.name == "c") {
      RawChunk c;
      s = ParseChunkElement(child, path + "/c[" + std::to_string(raw.size()) + "]", &c);
      if (!s) return s;
      raw.push_back(std::move(c));
    }
  }
  return ResolveTimeline(raw, path, &st->chunks);
}

Status ParseProtection(const Element& el, std::vector<ProtectionHeader>* out) {
  size_t k = 0;
  for (const Element& child : el.children) {
    if (child.name != "ProtectionHeader") continue;
    AttributeReader a(child, "Protection/ProtectionHeader[" + std::to_string(k++) + "]");
    const std::string* id = a.Take("SystemID");
    if (!id) return a.Error("SystemID", "missing");
    ProtectionHeader h;
    if (!UuidFromString(*id, &h.system_id)) return a.Error("SystemID", "not a UUID \"" + *id + "\"");
    h.data_base64 = StripAllSpace(child.text);
    out->push_back(std::move(h));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------
// Writing helpers

void Attr(std::string& out, const char* name, const std::string& value) {
  manifest_xml::AppendAttribute(out, name, value);
}

template <typename T>
void OptAttr(std::string& out, const char* name, const std::optional<T>& v) {
  if (v) Attr(out, name, std::to_string(*v));
}

void BoolAttr(std::string& out, const char* name, const std::optional<bool>& v) {
  if (v) Attr(out, name, *v ? "TRUE" : "FALSE");
}

void ListAttrs(std::string& out, const AttributeList& list) {
  for (const auto& kv : list) Attr(out, kv.first.c_str(), kv.second);
}

// Produces the <c> lines of a stream and reports whether any r was used.
std::string WriteTimeline(const StreamIndex& st, bool use_repeat, bool* used_repeat) {
  std::string out;
  bool first = true;
  uint64_t prev_end = 0;
  // An element being collected: start time, whether t must be written,
  // duration, count.
  bool open = false;
  uint64_t cur_t = 0, cur_d = 0, cur_r = 0;
  bool cur_write_t = false;

  auto emit = [&](uint64_t t, bool write_t, uint64_t d, uint64_t r,
                  const std::vector<InlineSample>* samples) {
    out += "    <c";
    if (write_t) Attr(out, "t", std::to_string(t));
    Attr(out, "d", std::to_string(d));
    if (r > 1) {
      Attr(out, "r", std::to_string(r));
      *used_repeat = true;
    }
    if (samples && !samples->empty()) {
      out += ">\n";
      for (const InlineSample& f : *samples) {
        out += "      <f";
        Attr(out, "i", std::to_string(f.track_index));
        out += '>';
        out += manifest_xml::EscapeText(f.data_base64);
        out += "</f>\n";
      }
      out += "    </c>\n";
    } else {
      out += "/>\n";
    }
  };
  auto flush = [&]() {
    if (open) emit(cur_t, cur_write_t, cur_d, cur_r, nullptr);
    open = false;
  };

  for (const Chunk& c : st.chunks) {
    bool write_t = first || c.t != prev_end;
    if (!c.samples.empty()) {
      flush();
      emit(c.t, write_t, c.d, c.repeat, &c.samples);
    } else if (use_repeat) {
      if (open && !write_t && c.d == cur_d) {
        cur_r += c.repeat;
      } else {
        flush();
        open = true;
        cur_t = c.t;
        cur_write_t = write_t;
        cur_d = c.d;
        cur_r = c.repeat;
      }
    } else {
      for (uint64_t i = 0; i < c.repeat; i++)
        emit(c.t + i * c.d, i == 0 && write_t, c.d, 1, nullptr);
    }
    first = false;
    prev_end = c.end();
  }
  flush();
  return out;
}

}  // namespace

// ---------------------------------------------------------------------------
// QualityLevel

Status QualityLevel::GetAudioSpecificConfig(AudioSpecificConfig* out) const {
  std::string where = "QualityLevel[" + std::to_string(index) + "]";
  if (!codec_private_data.empty()) {
    std::vector<uint8_t> bytes;
    if (!HexDecode(codec_private_data, &bytes))
      return Status::Error(where + "@CodecPrivateData: not hex");
    return AudioSpecificConfig::Parse(bytes.data(), bytes.size(), out).WithContext(where);
  }
  if (!sampling_rate || !channels || *sampling_rate == 0)
    return Status::Error(where +
                         ": empty CodecPrivateData and no SamplingRate/Channels to derive it");
  // The explicit samplingFrequency of an AudioSpecificConfig has 24 bits; a
  // larger rate would silently serialize as another one.
  if (*sampling_rate > 0xFFFFFF)
    return Status::Error(where + "@SamplingRate: " + std::to_string(*sampling_rate) +
                         " does not fit an AudioSpecificConfig (24 bits)");
  *out = AudioSpecificConfig::MakeLc(*sampling_rate, *channels);
  return Status::Ok();
}

Status QualityLevel::GetAvcDecoderConfig(AvcDecoderConfig* out) const {
  return CodecPrivateDataToAvcConfig(codec_private_data, out)
      .WithContext("QualityLevel[" + std::to_string(index) + "]");
}

// ---------------------------------------------------------------------------
// StreamIndex timeline

uint64_t StreamIndex::FragmentCount() const {
  uint64_t n = 0;
  for (const Chunk& c : chunks) n += c.repeat;
  return n;
}

uint64_t StreamIndex::TimelineEnd() const { return chunks.empty() ? 0 : chunks.back().end(); }

bool StreamIndex::ForEachFragment(const std::function<bool(uint64_t, uint64_t)>& fn) const {
  for (const Chunk& c : chunks)
    for (uint64_t i = 0; i < c.repeat; i++)
      if (!fn(c.t + i * c.d, c.d)) return false;
  return true;
}

namespace {

// Index of the last run starting at or before time, or -1.
ptrdiff_t RunAtOrBefore(const std::vector<Chunk>& chunks, uint64_t time) {
  auto it = std::upper_bound(chunks.begin(), chunks.end(), time,
                             [](uint64_t v, const Chunk& c) { return v < c.t; });
  return (it - chunks.begin()) - 1;
}

uint64_t FragmentsBefore(const std::vector<Chunk>& chunks, ptrdiff_t run) {
  uint64_t n = 0;
  for (ptrdiff_t i = 0; i < run; i++) n += chunks[static_cast<size_t>(i)].repeat;
  return n;
}

}  // namespace

bool StreamIndex::FindFragment(uint64_t t, FragmentInfo* out) const {
  ptrdiff_t run = RunAtOrBefore(chunks, t);
  if (run < 0) return false;
  const Chunk& c = chunks[static_cast<size_t>(run)];
  uint64_t offset = t - c.t;
  uint64_t k = 0;
  if (c.d == 0) {
    if (offset != 0) return false;
  } else {
    if (offset % c.d != 0) return false;
    k = offset / c.d;
    if (k >= c.repeat) return false;
  }
  *out = {FragmentsBefore(chunks, run) + k, t, c.d};
  return true;
}

bool StreamIndex::FindFragmentContaining(uint64_t time, FragmentInfo* out) const {
  // Runs start in order but may overlap (a c may start before the previous
  // one ends), so time can lie past the last run starting at or before it
  // and still inside an earlier, longer fragment: walk back until one holds it.
  for (ptrdiff_t run = RunAtOrBefore(chunks, time); run >= 0; run--) {
    const Chunk& c = chunks[static_cast<size_t>(run)];
    if (c.d == 0 || time >= c.end()) continue;
    uint64_t k = (time - c.t) / c.d;
    *out = {FragmentsBefore(chunks, run) + k, c.t + k * c.d, c.d};
    return true;
  }
  return false;
}

bool StreamIndex::GetFragment(uint64_t index, FragmentInfo* out) const {
  uint64_t base = 0;
  for (const Chunk& c : chunks) {
    if (index - base < c.repeat) {
      uint64_t k = index - base;
      *out = {index, c.t + k * c.d, c.d};
      return true;
    }
    base += c.repeat;
  }
  return false;
}

Status StreamIndex::AppendFragment(uint64_t t, uint64_t d) {
  uint64_t end = 0;
  if (AddOverflows(t, d, &end)) return Status::Error("AppendFragment: t + d overflows 64 bits");
  if (!chunks.empty()) {
    Chunk& last = chunks.back();
    uint64_t last_start = last.t + last.d * (last.repeat - 1);
    if (t < last_start)
      return Status::Error("AppendFragment: t " + std::to_string(t) + " before the last fragment " +
                           std::to_string(last_start));
    if (t == last.end() && d == last.d && last.samples.empty()) {
      last.repeat++;
      return Status::Ok();
    }
  }
  Chunk c;
  c.t = t;
  c.d = d;
  chunks.push_back(std::move(c));
  return Status::Ok();
}

std::string StreamIndex::FragmentUrl(const QualityLevel& level, uint64_t t) const {
  std::string custom;
  for (const auto& kv : level.custom_attributes) {
    if (!custom.empty()) custom += ',';
    custom += kv.first + "=" + kv.second;
  }
  const std::pair<const char*, std::string> tokens[] = {
      {"{bitrate}", std::to_string(level.bitrate)},
      {"{Bitrate}", std::to_string(level.bitrate)},
      {"{start time}", std::to_string(t)},
      {"{start_time}", std::to_string(t)},
      {"{CustomAttributes}", custom},
  };
  std::string out;
  size_t i = 0;
  while (i < url.size()) {
    bool replaced = false;
    if (url[i] == '{') {
      for (const auto& tok : tokens) {
        size_t len = std::char_traits<char>::length(tok.first);
        if (url.compare(i, len, tok.first) == 0) {
          out += tok.second;
          i += len;
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += url[i++];
  }
  return out;
}

// ---------------------------------------------------------------------------
// ClientManifest

Status ClientManifest::Parse(const std::string& xml, ClientManifest* out) {
  Element root;
  Status s = manifest_xml::ParseDocument(xml, &root);
  if (!s) return s;
  if (root.name != "SmoothStreamingMedia")
    return Status::Error("root element is <" + root.name + ">, expected <SmoothStreamingMedia>");

  ClientManifest m;
  AttributeReader a(root, "SmoothStreamingMedia");
  std::optional<uint32_t> major, minor, lookahead_fragments, lookahead_spec;
  std::optional<uint64_t> timescale, duration;
  std::optional<bool> is_live;
  if (!(s = a.U32("MajorVersion", &major))) return s;
  if (major && *major != 1 && *major != 2)
    return a.Error("MajorVersion", "unsupported version " + std::to_string(*major));
  m.major_version = major.value_or(2);
  if (!(s = a.U32("MinorVersion", &minor))) return s;
  m.minor_version = minor.value_or(0);
  if (!(s = a.U64("TimeScale", &timescale))) return s;
  if (timescale && *timescale == 0) return a.Error("TimeScale", "must not be 0");
  m.timescale = timescale.value_or(10000000);
  if (!(s = a.U64("Duration", &duration))) return s;
  m.duration = duration.value_or(0);
  if (!(s = a.Bool("IsLive", &is_live))) return s;
  m.is_live = is_live.value_or(false);
  if (!(s = a.U32("LookAheadFragmentCount", &lookahead_fragments))) return s;
  if (!(s = a.U32("LookaheadCount", &lookahead_spec))) return s;
  m.lookahead_count = lookahead_fragments ? lookahead_fragments : lookahead_spec;
  if (!(s = a.U64("DVRWindowLength", &m.dvr_window_length))) return s;
  if (!(s = a.Bool("CanSeek", &m.can_seek))) return s;
  if (!(s = a.Bool("CanPause", &m.can_pause))) return s;
  m.unknown_attributes = a.Remaining();

  for (const Element& child : root.children) {
    if (child.name == "Protection") {
      if (!(s = ParseProtection(child, &m.protection))) return s;
    } else if (child.name == "StreamIndex") {
      StreamIndex st;
      s = ParseStreamIndex(child, "StreamIndex[" + std::to_string(m.streams.size()) + "]", &st);
      if (!s) return s;
      m.streams.push_back(std::move(st));
    }
  }
  *out = std::move(m);
  return Status::Ok();
}

std::string ClientManifest::Write(const ClientManifestWriteOptions& options) const {
  bool used_repeat = false;
  std::vector<std::string> timelines;
  timelines.reserve(streams.size());
  for (const StreamIndex& st : streams)
    timelines.push_back(WriteTimeline(st, options.use_repeat, &used_repeat));

  std::string out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<SmoothStreamingMedia";
  Attr(out, "MajorVersion", std::to_string(major_version));
  // c@r is only defined for MinorVersion 2.
  Attr(out, "MinorVersion", std::to_string(used_repeat ? 2u : minor_version));
  Attr(out, "TimeScale", std::to_string(timescale));
  Attr(out, "Duration", std::to_string(duration));
  if (is_live) Attr(out, "IsLive", "TRUE");
  OptAttr(out, "LookAheadFragmentCount", lookahead_count);
  if (options.write_spec_lookahead_name) OptAttr(out, "LookaheadCount", lookahead_count);
  OptAttr(out, "DVRWindowLength", dvr_window_length);
  BoolAttr(out, "CanSeek", can_seek);
  BoolAttr(out, "CanPause", can_pause);
  ListAttrs(out, unknown_attributes);
  out += ">\n";

  if (!protection.empty()) {
    out += "  <Protection>\n";
    for (const ProtectionHeader& h : protection) {
      out += "    <ProtectionHeader";
      Attr(out, "SystemID", UuidToString(h.system_id));
      out += '>';
      out += manifest_xml::EscapeText(h.data_base64);
      out += "</ProtectionHeader>\n";
    }
    out += "  </Protection>\n";
  }

  for (size_t i = 0; i < streams.size(); i++) {
    const StreamIndex& st = streams[i];
    out += "  <StreamIndex";
    Attr(out, "Type", st.type);
    if (!st.subtype.empty()) Attr(out, "Subtype", st.subtype);
    if (!st.name.empty()) Attr(out, "Name", st.name);
    if (!st.language.empty()) Attr(out, "Language", st.language);
    OptAttr(out, "TimeScale", st.timescale);
    Attr(out, "Chunks", std::to_string(st.FragmentCount()));
    Attr(out, "QualityLevels", std::to_string(st.quality_levels.size()));
    if (!st.url.empty()) Attr(out, "Url", st.url);
    OptAttr(out, "MaxWidth", st.max_width);
    OptAttr(out, "MaxHeight", st.max_height);
    OptAttr(out, "DisplayWidth", st.display_width);
    OptAttr(out, "DisplayHeight", st.display_height);
    if (!st.parent_stream_index.empty()) Attr(out, "ParentStreamIndex", st.parent_stream_index);
    BoolAttr(out, "ManifestOutput", st.manifest_output);
    ListAttrs(out, st.unknown_attributes);
    out += ">\n";
    for (const QualityLevel& q : st.quality_levels) {
      out += "    <QualityLevel";
      Attr(out, "Index", std::to_string(q.index));
      Attr(out, "Bitrate", std::to_string(q.bitrate));
      if (!q.fourcc.empty()) Attr(out, "FourCC", q.fourcc);
      OptAttr(out, "MaxWidth", q.max_width);
      OptAttr(out, "MaxHeight", q.max_height);
      Attr(out, "CodecPrivateData", q.codec_private_data);
      OptAttr(out, "SamplingRate", q.sampling_rate);
      OptAttr(out, "Channels", q.channels);
      OptAttr(out, "BitsPerSample", q.bits_per_sample);
      OptAttr(out, "PacketSize", q.packet_size);
      OptAttr(out, "AudioTag", q.audio_tag);
      OptAttr(out, "NALUnitLengthField", q.nal_unit_length_field);
      ListAttrs(out, q.unknown_attributes);
      if (q.custom_attributes.empty()) {
        out += "/>\n";
        continue;
      }
      out += ">\n      <CustomAttributes>\n";
      for (const auto& kv : q.custom_attributes) {
        out += "        <Attribute";
        Attr(out, "Name", kv.first);
        Attr(out, "Value", kv.second);
        out += "/>\n";
      }
      out += "      </CustomAttributes>\n    </QualityLevel>\n";
    }
    out += timelines[i];
    out += "  </StreamIndex>\n";
  }
  out += "</SmoothStreamingMedia>\n";
  return out;
}

}  // namespace piff
