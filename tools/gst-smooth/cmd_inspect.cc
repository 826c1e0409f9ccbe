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
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "asset.h"
#include "asset_fragments.h"
#include "box_tree.h"
#include "client_manifest.h"
#include "codec_config.h"
#include "encryption.h"
#include "commands.h"
#include "file_io.h"
#include "fragment.h"
#include "json_writer.h"
#include "key_check.h"
#include "media_index.h"
#include "playready.h"
#include "presentation.h"
#include "protection.h"
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
  std::vector<std::pair<piff::Uuid, std::vector<uint8_t>>> keys;  // --key: verifies PlayReady CHECKSUMs
};

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: gst-smooth inspect FILE [--json] [--samples] [--all-boxes] [--strict] [--key KID:KEY,...]\n"
               "  FILE         .ismv/.isma/fragmented MP4, client manifest (.ismc, Manifest) or\n"
               "               server manifest (.ism: loads the presentation and its media)\n"
               "  --json       machine-readable output on stdout\n"
               "  --samples    also list every sample of every fragment (media only)\n"
               "  --all-boxes  text mode: list every moof/mdat, not only the first %zu\n"
               "  --strict     exit 1 when problems are found (default: reported, exit 0)\n"
               "  --key KID:KEY[,KID:KEY...]  content keys (KID as a UUID, key as 32 hex digits):\n"
               "               checks the CHECKSUM of each KID in a PlayReady header\n"
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

// ---------------------------------------------------------------- protection

// Protection as a player meets it: the sinf of each encrypted sample entry,
// the protection system headers of the moov (with the PlayReady Object
// decoded) and the sample encryption box of every traf, checked against each
// other and against the samples. Findings are per track and aggregated over
// fragments, so a file where every fragment has the same fault reports it
// once with a count.

std::string SystemName(const Uuid& id) {
  static const struct {
    const char* uuid;
    const char* name;
  } kKnown[] = {
      {"9a04f079-9840-4286-ab92-e65be0885f95", "PlayReady"},
      {"edef8ba9-79d6-4ace-a3c8-27dcd51d21ed", "Widevine"},
      {"1077efec-c0b2-4d02-ace3-3c1e52e2fb4b", "W3C Common (Clear Key)"},
      {"94ce86fb-07ff-4f43-adb8-93d2fa968ca2", "FairPlay"},
      {"5e629af5-38da-4063-8977-97ffbd9902d4", "Marlin"},
      {"f239e769-efa3-4850-9c16-a903c6932efb", "Adobe Primetime"},
  };
  std::string s = UuidToString(id);
  for (auto& k : kKnown)
    if (s == k.uuid) return k.name;
  return "";
}

std::string Hex32(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

std::string HexFlags(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%x", v);
  return buf;
}

std::string KidGuidOrder(const Uuid& kid) { return UuidToString(SwapGuidByteOrder(kid)); }
std::string KidBase64GuidOrder(const Uuid& kid) {
  Uuid g = SwapGuidByteOrder(kid);
  return Base64Encode(std::vector<uint8_t>(g.begin(), g.end()));
}

struct PsshReport {
  ProtectionSystemHeader header;
  uint32_t version = 0;   // of a standard 'pssh' box
  bool playready = false;
  bool pro_ok = false;
  PlayReadyObjectInfo pro;
  std::string pro_error;
  // CHECKSUM verification with --key: "", "matches", "differs", "no key".
  std::vector<std::string> checksum_check;
};

using KeyList = std::vector<std::pair<Uuid, std::vector<uint8_t>>>;

std::vector<PsshReport> AnalyzePssh(const RawBoxes& children, const KeyList& keys) {
  std::vector<PsshReport> out;
  for (auto& h : FindProtectionSystemHeaders(children)) {
    PsshReport r;
    r.header = h;
    BoxHeader bh;
    if (!h.piff && ParseBoxHeader(h.box.data(), h.box.size(), &bh) && h.box.size() > bh.header_size)
      r.version = h.box[bh.header_size];
    r.playready = h.system_id == kPlayReadySystemId;
    if (r.playready) {
      Status s = ParsePlayReadyObject(h.data, &r.pro);
      r.pro_ok = static_cast<bool>(s);
      if (!s) r.pro_error = s.message();
      for (size_t i = 0; r.pro_ok && i < r.pro.kids.size(); i++) {
        std::string verdict;
        const std::vector<uint8_t>* cs = i < r.pro.checksums.size() ? &r.pro.checksums[i] : nullptr;
        if (!keys.empty() && cs && !cs->empty()) {
          verdict = "no key";
          for (auto& k : keys)
            if (k.first == r.pro.kids[i])
              verdict = VerifyPlayReadyChecksum(*cs, k.first, k.second) == ChecksumVerdict::kMatches ? "matches"
                                                                                                      : "differs";
        }
        r.checksum_check.push_back(verdict);
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

// The senc of one traf, as inspect reports it.
struct SencReport {
  bool found = false;
  bool readable = false;
  std::string error;
  bool piff = false;
  uint32_t flags = 0;
  uint32_t iv_size = 0;
  uint64_t sample_count = 0;
  uint64_t trun_samples = 0;
  uint64_t subsample_entries = 0;
  uint64_t subsample_mismatches = 0;  // samples whose subsamples do not add up to their size
  uint64_t cbc_partial_blocks = 0;    // PIFF CBC: encrypted ranges not a multiple of 16
  std::string first_iv;
  std::optional<Uuid> override_kid;
};

struct TrackProtectionReport {
  uint32_t track_id = 0;
  std::string kind;
  FourCC sample_entry = 0;
  bool has_sinf = false;
  FourCC original_format = 0;
  bool has_schm = false;
  FourCC scheme_type = 0;
  uint32_t scheme_version = 0;
  std::string tenc_box;  // "uuid-tenc (PIFF)", "tenc (CENC)" or ""
  bool piff_tenc = false;
  uint32_t tenc_head = 0;
  uint32_t iv_size = 0;
  Uuid kid{};
  std::string cipher_mode;  // what ismdemux signals: cenc, cbc1, cbcs, ...
  std::vector<SencReport> fragments;  // parallel to IndexedTrack::fragments
  std::vector<std::string> warnings;
};

std::string AlgorithmName(uint32_t id) {
  switch (id) {
    case kPiffAlgorithmClear: return "not encrypted";
    case kPiffAlgorithmCtr: return "AES-128-CTR";
    case kPiffAlgorithmCbc: return "AES-128-CBC";
    default: return "unknown";
  }
}

// Findings that repeat over fragments: the first one's text and a count.
class FindingCounter {
 public:
  void Add(const std::string& kind, const std::string& text) {
    auto it = std::find_if(items_.begin(), items_.end(), [&](const Item& i) { return i.kind == kind; });
    if (it == items_.end()) items_.push_back({kind, text, 1});
    else it->count++;
  }
  void AppendTo(const std::string& prefix, std::vector<std::string>* out) const {
    for (auto& i : items_)
      out->push_back(prefix + i.text +
                     (i.count > 1 ? " (the same in " + std::to_string(i.count - 1) + " more fragment(s))" : ""));
  }

 private:
  struct Item {
    std::string kind, text;
    uint64_t count;
  };
  std::vector<Item> items_;
};

const std::vector<uint8_t>* RawSenc(const TrackFragmentBox& traf) {
  for (const auto& raw : traf.other) {
    BoxHeader h;
    if (!ParseBoxHeader(raw.data(), raw.size(), &h)) continue;
    if (h.type == MakeFourCC("senc") || (h.type == MakeFourCC("uuid") && h.usertype == kPiffSencUuid)) return &raw;
  }
  return nullptr;
}

// A senc parsed with `iv_size` that uses the box's bytes exactly.
bool SencFitsIvSize(const std::vector<uint8_t>& raw, uint8_t iv_size) {
  SampleEncryption e;
  return ParseSampleEncryption(raw, iv_size, &e) && SerializeSampleEncryption(e).size() == raw.size();
}

// Looks at one track; nullopt when it is not encrypted (clear sample entry
// and no sinf).
std::optional<TrackProtectionReport> AnalyzeTrackProtection(ByteSource& src, const MediaIndex& index,
                                                            const TrackBox& trak, const IndexedTrack& t,
                                                            const std::vector<PsshReport>& moov_pssh) {
  const SampleDescriptionBox& stsd = trak.mdia.minf.stbl.stsd;
  const RawBoxes* children = nullptr;
  if (t.handler == MakeFourCC("vide") && !stsd.video.empty()) children = &stsd.video[0].other;
  if (t.handler == MakeFourCC("soun") && !stsd.audio.empty()) children = &stsd.audio[0].other;
  const std::vector<uint8_t>* raw_sinf = nullptr;
  for (size_t i = 0; children && i < children->size(); i++) {
    BoxHeader h;
    if (ParseBoxHeader((*children)[i].data(), (*children)[i].size(), &h) && h.type == MakeFourCC("sinf"))
      raw_sinf = &(*children)[i];
  }
  bool enc_entry = t.sample_entry == MakeFourCC("encv") || t.sample_entry == MakeFourCC("enca");
  if (!enc_entry && !raw_sinf) return std::nullopt;

  TrackProtectionReport r;
  r.track_id = t.config.track_id;
  r.kind = KindOf(t);
  r.sample_entry = t.sample_entry;
  std::vector<std::string>& w = r.warnings;
  const std::string entry = "'" + FourCCToString(t.sample_entry) + "'";
  if (!enc_entry)
    w.push_back("sample entry " + entry + " carries a sinf but is not encv/enca: players treat it as clear");
  if (!raw_sinf) {
    w.push_back("sample entry " + entry +
                " has no sinf (protection scheme information): the original format, scheme and KID are unknown");
  } else {
    ProtectionSchemeInfoBox sinf;
    Status s = sinf.Parse(raw_sinf->data(), raw_sinf->size());
    if (!s) {
      w.push_back("sinf does not parse: " + s.message());
    } else {
      r.has_sinf = true;
      r.original_format = sinf.frma.data_format;
      if (sinf.schm) {
        r.has_schm = true;
        r.scheme_type = sinf.schm->scheme_type;
        r.scheme_version = sinf.schm->scheme_version;
      }
      const TrackEncryptionFields* f = nullptr;
      if (sinf.schi && sinf.schi->piff_tenc) {
        f = &sinf.schi->piff_tenc->fields;
        r.piff_tenc = true;
        r.tenc_box = "uuid-tenc (PIFF)";
      } else if (sinf.schi && sinf.schi->tenc) {
        f = &sinf.schi->tenc->fields;
        r.tenc_box = "tenc (CENC)";
      }
      if (f) {
        r.tenc_head = f->head;
        r.iv_size = f->iv_size;
        r.kid = f->kid;
      }
    }
  }

  // Scheme checks.
  const std::string schm = FourCCToString(r.scheme_type);
  if (r.has_sinf && !r.has_schm) w.push_back("sinf has no schm box: the protection scheme is unknown");
  if (r.has_schm && schm != "piff" && schm != "cenc")
    w.push_back("schm scheme '" + schm + "' is neither PIFF ('piff') nor CENC ('cenc'): Smooth Streaming "
                "(PlayReady) clients expect 'piff' version 0x00010001");
  if (r.has_schm && schm == "piff" && r.scheme_version != 0x00010001)
    w.push_back("schm 'piff' version " + Hex32(r.scheme_version) + " (PIFF 1.1 is 0x00010001)");
  if (r.has_sinf && r.tenc_box.empty())
    w.push_back("sinf has no tenc (PIFF uuid-tenc or CENC tenc): no default KID or IV size");
  bool cbc = false;       // CBC whole-block rules apply (PIFF AlgorithmID 2, cbc1)
  bool ctr = false;
  if (!r.tenc_box.empty()) {
    CipherChoice c = ChooseCipher(r.piff_tenc, r.tenc_head, r.has_schm ? r.scheme_type : 0);
    r.cipher_mode = c.cipher_mode;
    ctr = c.scheme == EncryptionScheme::kPiffCtr;
    cbc = c.scheme == EncryptionScheme::kPiffCbc;
  }
  if (r.piff_tenc) {
    if (!ctr && !cbc)
      w.push_back("PIFF tenc AlgorithmID " + std::to_string(r.tenc_head) + " (" + AlgorithmName(r.tenc_head) +
                  ") in an encrypted sample entry: 1 is AES-CTR, 2 is AES-CBC");
    if (r.tenc_head == kPiffAlgorithmCbc && r.iv_size != 16)
      w.push_back("PIFF AlgorithmID 2 (AES-CBC) needs 16-byte IVs, tenc says " + std::to_string(r.iv_size));
    if (r.tenc_head == kPiffAlgorithmCtr && r.iv_size != 8 && r.iv_size != 16)
      w.push_back("PIFF AlgorithmID 1 (AES-CTR) needs 8- or 16-byte IVs, tenc says " + std::to_string(r.iv_size));
  } else if (!r.tenc_box.empty()) {
    if ((r.tenc_head & 0xff) == 0) w.push_back("CENC tenc says the track is not protected (default_isProtected 0)");
  }

  // The KID the PlayReady header names.
  if (!r.tenc_box.empty()) {
    for (const PsshReport& p : moov_pssh) {
      if (!p.playready || !p.pro_ok || p.pro.kids.empty()) continue;
      if (std::find(p.pro.kids.begin(), p.pro.kids.end(), r.kid) != p.pro.kids.end()) continue;
      std::string note;
      if (std::find(p.pro.kids.begin(), p.pro.kids.end(), SwapGuidByteOrder(r.kid)) != p.pro.kids.end())
        note = " (it is the tenc KID with its GUID byte order swapped: one side wrote the wrong order)";
      w.push_back("KID " + UuidToString(p.pro.kids[0]) + " in the PlayReady header differs from the tenc KID " +
                  UuidToString(r.kid) + note);
    }
  }

  // Every traf: its senc against the trun and the tenc.
  FindingCounter found;
  std::set<std::vector<uint8_t>> ivs;
  uint64_t reused_ivs = 0;
  bool moof_pssh = false;
  for (size_t i = 0; i < t.fragments.size(); i++) {
    const IndexedFragment& fr = t.fragments[i];
    SencReport sr;
    TrackFragmentSamples tf;
    MovieFragmentBox moof;
    size_t k = 0;
    const std::string where = "fragment " + std::to_string(i) + " (time " + std::to_string(fr.time) + ")";
    Status s = ReadIndexedFragment(src, index.moov ? &*index.moov : nullptr, fr, t.config.track_id, &tf, &moof, &k);
    if (!s) {
      sr.error = s.message();
      found.Add("unreadable moof", where + ": " + s.message());
      r.fragments.push_back(sr);
      continue;
    }
    if (!FindProtectionSystemHeaders(moof.other).empty()) moof_pssh = true;
    sr.trun_samples = tf.samples.size();
    const std::vector<uint8_t>* raw = k < moof.trafs.size() ? RawSenc(moof.trafs[k]) : nullptr;
    if (!raw) {
      found.Add("no senc", where + ": no senc (sample encryption box) in the traf of an encrypted track: "
                               "the per-sample IVs are missing");
      r.fragments.push_back(sr);
      continue;
    }
    sr.found = true;
    // Without a tenc the IV size is unknown: take the one the box fits.
    uint8_t iv_size = static_cast<uint8_t>(r.iv_size);
    if (r.tenc_box.empty()) iv_size = SencFitsIvSize(*raw, 16) && !SencFitsIvSize(*raw, 8) ? 16 : 8;
    SampleEncryption e;
    s = ParseSampleEncryption(*raw, iv_size, &e);
    sr.piff = e.piff;
    if (!s) {
      sr.error = s.message();
      std::string hint;
      for (uint8_t alt : {uint8_t(8), uint8_t(16)})
        if (alt != iv_size && SencFitsIvSize(*raw, alt))
          hint = "; it reads as " + std::to_string(alt) + "-byte IVs while tenc says " + std::to_string(iv_size);
      found.Add(hint.empty() ? "unreadable senc" : "iv size", where + ": senc does not parse: " + s.message() + hint);
      r.fragments.push_back(sr);
      continue;
    }
    sr.readable = true;
    sr.flags = e.flags;
    sr.iv_size = e.iv_size;
    sr.sample_count = e.samples.size();
    sr.override_kid = e.kid;
    if (!e.samples.empty()) sr.first_iv = ToHex(e.samples[0].iv);
    const size_t used = SerializeSampleEncryption(e).size();
    // A box with bytes left over was read with the wrong IV size: its IVs
    // are not worth comparing.
    const bool exact = used == raw->size();
    if (used < raw->size()) {
      std::string hint;
      for (uint8_t alt : {uint8_t(8), uint8_t(16)})
        if (alt != e.iv_size && !(e.flags & kSencOverrideTrackEncryption) && SencFitsIvSize(*raw, alt))
          hint = "; it reads exactly as " + std::to_string(alt) + "-byte IVs while tenc says " +
                 std::to_string(e.iv_size);
      found.Add(hint.empty() ? "senc size" : "iv size",
                where + ": senc has " + std::to_string(raw->size() - used) +
                    " bytes more than its " + std::to_string(e.samples.size()) + " entries of " +
                    std::to_string(e.iv_size) + "-byte IVs need" + hint);
    }
    if (e.flags & kSencOverrideTrackEncryption)
      found.Add("override", where + ": senc flags " + HexFlags(e.flags) +
                                " include 0x1 (override TrackEncryptionBox parameters): many players reject it");
    if ((e.flags & kSencOverrideTrackEncryption) && !r.tenc_box.empty() && e.iv_size != r.iv_size)
      found.Add("iv size", where + ": senc overrides the IV size with " + std::to_string(e.iv_size) +
                               ", tenc says " + std::to_string(r.iv_size));
    if (e.kid && !r.tenc_box.empty() && *e.kid != r.kid)
      found.Add("override kid", where + ": senc overrides the KID with " + UuidToString(*e.kid) +
                                    ", tenc says " + UuidToString(r.kid));
    if (e.samples.size() != tf.samples.size())
      found.Add("count", where + ": senc has " + std::to_string(e.samples.size()) + " entries, the trun " +
                             std::to_string(tf.samples.size()) + " samples");
    size_t n = std::min(e.samples.size(), tf.samples.size());
    for (size_t j = 0; j < e.samples.size(); j++) {
      const auto& smp = e.samples[j];
      sr.subsample_entries += smp.subsamples.size();
      if (ctr && exact && !smp.iv.empty() && !ivs.insert(smp.iv).second) reused_ivs++;
      if (j >= n || smp.subsamples.empty()) continue;
      uint64_t total = 0;
      bool partial = false;
      for (auto& sub : smp.subsamples) {
        total += uint64_t(sub.clear_bytes) + sub.encrypted_bytes;
        if (sub.encrypted_bytes % 16) partial = true;
      }
      if (total != tf.samples[j].size) {
        if (!sr.subsample_mismatches)
          found.Add("subsample sum", where + ": sample " + std::to_string(j) + " has subsamples adding up to " +
                                         std::to_string(total) + " bytes, its size is " +
                                         std::to_string(tf.samples[j].size));
        sr.subsample_mismatches++;
      }
      if (cbc && partial) {
        if (!sr.cbc_partial_blocks)
          found.Add("cbc blocks", where + ": sample " + std::to_string(j) +
                                      " has an encrypted range that is not a multiple of 16 bytes (AES-CBC "
                                      "encrypts whole blocks only)");
        sr.cbc_partial_blocks++;
      }
    }
    r.fragments.push_back(sr);
  }
  if (moov_pssh.empty())
    w.push_back(std::string("encrypted track without any protection system header (pssh or PIFF uuid-pssh) in "
                            "the moov: a player cannot find a license server") +
                (moof_pssh ? " (some moofs carry one)" : ""));
  found.AppendTo("", &w);
  if (reused_ivs)
    w.push_back(std::to_string(reused_ivs) +
                " sample(s) reuse an IV of an earlier sample: with AES-CTR that reuses key stream");
  return r;
}

void PsshJson(JsonWriter& j, const PsshReport& p) {
  j.BeginObject();
  j.Field("box", p.header.piff ? "uuid-pssh" : "pssh");
  if (!p.header.piff) j.Field("version", p.version);
  j.Field("system_id", UuidToString(p.header.system_id));
  j.Field("system", SystemName(p.header.system_id));
  j.Field("size", static_cast<uint64_t>(p.header.box.size()));
  j.Field("data_size", static_cast<uint64_t>(p.header.data.size()));
  if (p.playready) {
    j.Key("playready");
    j.BeginObject();
    j.Field("parsed", p.pro_ok);
    if (!p.pro_ok) {
      j.Field("error", p.pro_error);
    } else {
      j.Field("record_count", static_cast<uint32_t>(p.pro.record_count));
      j.Field("wrmheader_version", p.pro.version);
      j.Key("kids");
      j.BeginArray();
      for (size_t i = 0; i < p.pro.kids.size(); i++) {
        j.BeginObject(true);
        j.Field("kid", UuidToString(p.pro.kids[i]));
        j.Field("kid_guid_order", KidGuidOrder(p.pro.kids[i]));
        j.Field("base64", KidBase64GuidOrder(p.pro.kids[i]));
        j.Field("algorithm", i < p.pro.algorithms.size() ? p.pro.algorithms[i] : std::string());
        j.Field("checksum", i < p.pro.checksums.size() ? ToHex(p.pro.checksums[i]) : std::string());
        if (i < p.checksum_check.size() && !p.checksum_check[i].empty())
          j.Field("checksum_check", p.checksum_check[i]);
        j.EndObject();
      }
      j.EndArray();
      j.Field("la_url", p.pro.la_url);
      j.Field("wrmheader", p.pro.wrmheader_xml);
    }
    j.EndObject();
  }
  j.EndObject();
}

void PsshText(const PsshReport& p) {
  std::string name = SystemName(p.header.system_id);
  std::printf("    %s SystemID %s%s%s%s, %zu bytes of data\n",
              p.header.piff ? "uuid-pssh (PIFF)" : ("pssh v" + std::to_string(p.version)).c_str(),
              UuidToString(p.header.system_id).c_str(), name.empty() ? "" : " (", name.c_str(), name.empty() ? "" : ")",
              p.header.data.size());
  if (!p.playready) return;
  if (!p.pro_ok) {
    std::printf("      PlayReady Object does not parse: %s\n", p.pro_error.c_str());
    return;
  }
  std::printf("      PlayReady Object: %u record(s), WRMHEADER version %s\n", p.pro.record_count,
              p.pro.version.empty() ? "(none)" : p.pro.version.c_str());
  for (size_t i = 0; i < p.pro.kids.size(); i++) {
    std::string cs = i < p.pro.checksums.size() ? ToHex(p.pro.checksums[i]) : "";
    std::string check = i < p.checksum_check.size() ? p.checksum_check[i] : "";
    std::printf("        KID %s (in the header: %s, base64 of the GUID-order bytes), %s, CHECKSUM %s%s%s\n",
                UuidToString(p.pro.kids[i]).c_str(),
                KidBase64GuidOrder(p.pro.kids[i]).c_str(),
                i < p.pro.algorithms.size() && !p.pro.algorithms[i].empty() ? p.pro.algorithms[i].c_str()
                                                                            : "algorithm ?",
                cs.empty() ? "none" : cs.c_str(), check.empty() ? "" : ": ", check.c_str());
  }
  std::printf("        LA_URL %s\n", p.pro.la_url.empty() ? "(none)" : p.pro.la_url.c_str());
}

void TrackProtectionJson(JsonWriter& j, const TrackProtectionReport& r) {
  j.BeginObject();
  j.Field("sample_entry", FourCCToString(r.sample_entry));
  j.Field("sinf", r.has_sinf);
  j.Field("original_format", r.has_sinf ? FourCCToString(r.original_format) : std::string());
  j.Key("scheme");
  if (r.has_schm) {
    j.BeginObject(true);
    j.Field("type", FourCCToString(r.scheme_type));
    j.Field("version", r.scheme_version);
    j.EndObject();
  } else {
    j.Null();
  }
  j.Key("tenc");
  if (!r.tenc_box.empty()) {
    j.BeginObject(true);
    j.Field("box", r.piff_tenc ? "uuid-tenc" : "tenc");
    if (r.piff_tenc) {
      j.Field("algorithm_id", r.tenc_head);
      j.Field("algorithm", AlgorithmName(r.tenc_head));
    } else {
      j.Field("is_protected", r.tenc_head & 0xff);
    }
    j.Field("iv_size", r.iv_size);
    j.Field("kid", UuidToString(r.kid));
    j.Field("kid_guid_order", KidGuidOrder(r.kid));
    j.Field("kid_base64_guid_order", KidBase64GuidOrder(r.kid));
    j.EndObject();
  } else {
    j.Null();
  }
  j.Field("cipher_mode", r.cipher_mode);
  j.Key("warnings");
  j.BeginArray();
  for (auto& w : r.warnings) j.String(w);
  j.EndArray();
  j.EndObject();
}

void SencJson(JsonWriter& j, const SencReport& s) {
  if (!s.found) {
    j.Null();
    return;
  }
  j.BeginObject(true);
  j.Field("box", s.piff ? "uuid-senc" : "senc");
  j.Field("readable", s.readable);
  if (!s.error.empty()) j.Field("error", s.error);
  if (s.readable) {
    j.Field("flags", s.flags);
    j.Field("iv_size", s.iv_size);
    j.Field("sample_count", s.sample_count);
    j.Field("trun_sample_count", s.trun_samples);
    j.Field("subsample_entries", s.subsample_entries);
    j.Field("subsample_mismatches", s.subsample_mismatches);
    j.Field("cbc_partial_blocks", s.cbc_partial_blocks);
    j.Field("first_iv", s.first_iv);
    if (s.override_kid) j.Field("kid", UuidToString(*s.override_kid));
  }
  j.EndObject();
}

void TrackProtectionText(const TrackProtectionReport& r) {
  std::printf("  track %u (%s): sample entry %s", r.track_id, r.kind.c_str(), FourCCToString(r.sample_entry).c_str());
  if (r.has_sinf) std::printf(", frma %s", FourCCToString(r.original_format).c_str());
  if (r.has_schm)
    std::printf(", schm '%s' version %s", FourCCToString(r.scheme_type).c_str(), Hex32(r.scheme_version).c_str());
  std::printf("\n");
  if (!r.tenc_box.empty()) {
    if (r.piff_tenc)
      std::printf("    %s: AlgorithmID %u (%s), IV size %u\n", r.tenc_box.c_str(), r.tenc_head,
                  AlgorithmName(r.tenc_head).c_str(), r.iv_size);
    else
      std::printf("    %s: isProtected %u, IV size %u\n", r.tenc_box.c_str(), r.tenc_head & 0xff, r.iv_size);
    std::printf("    KID %s (UUID order, as in tenc)\n", UuidToString(r.kid).c_str());
    std::printf("        %s (GUID order: the bytes a PlayReady header and license server use; base64 %s)\n",
                KidGuidOrder(r.kid).c_str(), KidBase64GuidOrder(r.kid).c_str());
  }
  if (!r.cipher_mode.empty()) std::printf("    cipher-mode %s (as ismdemux signals it)\n", r.cipher_mode.c_str());
  if (!r.fragments.empty()) {
    std::printf("    sample encryption per fragment:\n");
    std::printf("    %5s %-10s %6s %3s %8s %8s %10s  %s\n", "#", "box", "flags", "iv", "entries", "samples",
                "subsamples", "first IV");
    for (size_t i = 0; i < r.fragments.size(); i++) {
      const SencReport& s = r.fragments[i];
      if (!s.found) {
        std::printf("    %5zu %-10s\n", i, s.error.empty() ? "(none)" : "(unread)");
      } else if (!s.readable) {
        std::printf("    %5zu %-10s unreadable\n", i, s.piff ? "uuid-senc" : "senc");
      } else {
        std::printf("    %5zu %-10s %6s %3u %8" PRIu64 " %8" PRIu64 " %10" PRIu64 "  %s\n", i,
                    s.piff ? "uuid-senc" : "senc", HexFlags(s.flags).c_str(), s.iv_size,
                    s.sample_count, s.trun_samples, s.subsample_entries, s.first_iv.c_str());
      }
    }
  }
  for (auto& w : r.warnings) std::printf("    warning: %s\n", w.c_str());
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

  // Protection: moov pssh boxes and every encrypted track (its problems join
  // the file's, so --strict sees them).
  std::vector<PsshReport> pssh;
  if (index.moov) pssh = AnalyzePssh(index.moov->other, o.keys);
  for (const PsshReport& p : pssh) {
    if (p.playready && !p.pro_ok)
      problems.push_back("PlayReady " + std::string(p.header.piff ? "uuid-pssh" : "pssh") +
                         ": the PlayReady Object does not parse: " + p.pro_error);
    for (size_t i = 0; i < p.checksum_check.size(); i++)
      if (p.checksum_check[i] == "differs")
        problems.push_back("PlayReady header: the CHECKSUM of KID " + UuidToString(p.pro.kids[i]) +
                           " does not match the key given with --key");
  }
  std::map<uint32_t, TrackProtectionReport> protection;
  for (const IndexedTrack& t : index.tracks) {
    const TrackBox* trak = nullptr;
    for (const TrackBox& x : index.moov->tracks)
      if (x.tkhd.track_id == t.config.track_id) trak = &x;
    if (!trak) continue;
    auto r = AnalyzeTrackProtection(*src, index, *trak, t, pssh);
    if (!r) continue;
    for (auto& w : r->warnings) problems.push_back("track " + std::to_string(t.config.track_id) + " protection: " + w);
    protection[t.config.track_id] = std::move(*r);
  }
  auto protection_of = [&](const IndexedTrack& t) -> const TrackProtectionReport* {
    auto it = protection.find(t.config.track_id);
    return it == protection.end() ? nullptr : &it->second;
  };

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
      j.Key("pssh");
      j.BeginArray();
      for (const PsshReport& p : pssh) PsshJson(j, p);
      j.EndArray();
      j.Key("boxes");
      j.BeginArray();
      for (auto& b : boxes) BoxJson(j, b);
      j.EndArray();
      j.Field("start_offset_ns", index.start_offset.Nanoseconds());
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
        const TrackProtectionReport* prot = protection_of(t);
        j.Key("protection");
        if (prot)
          TrackProtectionJson(j, *prot);
        else
          j.Null();
        j.Key("fragments");
        j.BeginArray();
        std::vector<ReadSample> samples;
        for (size_t fi = 0; fi < t.fragments.size(); fi++) {
          const IndexedFragment& f = t.fragments[fi];
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
          j.Field("retimed", f.retimed);
          j.Field("truncated", f.truncated);
          j.Field("leading_pictures", f.leading_pictures);
          if (prot && fi < prot->fragments.size()) {
            j.Key("senc");
            SencJson(j, prot->fragments[fi]);
          }
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

  if (!index.start_offset.zero())
    std::printf("\nstart offset: %.3f ms (a track starts before zero: a negative fragment time, e.g. encoder\n"
                "  priming); fragment times below are the file's plus this offset, as manifest/serve/export use them\n",
                index.start_offset.Nanoseconds() / 1e6);
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
  if (!pssh.empty() || !protection.empty()) {
    std::printf("\nprotection:\n");
    std::printf("  protection system headers in the moov:%s\n", pssh.empty() ? " none" : "");
    for (const PsshReport& p : pssh) PsshText(p);
    for (const IndexedTrack& t : index.tracks)
      if (const TrackProtectionReport* prot = protection_of(t)) TrackProtectionText(*prot);
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
  for (auto& f : fragments) {
    ptrdiff_t i = f.track->track->FindFragment(f.t);
    shared += i >= 0 && f.track->track->fragments[static_cast<size_t>(i)].shared_moof;
  }
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
    } else if (a == "--key" || a.rfind("--key=", 0) == 0) {
      std::string v;
      if (a == "--key") {
        if (i + 1 >= argc) {
          std::fprintf(stderr, "gst-smooth inspect: --key needs KID:KEY\n");
          return 2;
        }
        v = argv[++i];
      } else {
        v = a.substr(6);
      }
      std::vector<std::pair<piff::Uuid, std::vector<uint8_t>>> more;
      Status ks = ParseKeyPairs(v, &more);
      if (!ks) {
        std::fprintf(stderr, "gst-smooth inspect: --key: %s\n", ks.message().c_str());
        return 2;
      }
      o.keys.insert(o.keys.end(), more.begin(), more.end());
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
