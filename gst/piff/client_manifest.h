// The Smooth Streaming client manifest (.ismc file, the "/Manifest" response,
// root element SmoothStreamingMedia): an in-memory model, a lenient parser and
// a deterministic writer. Times are exact uint64 ticks everywhere; the
// fragment timeline is kept run-length compressed (one Chunk per run of
// equal-duration contiguous fragments), so a hostile r="4000000000" costs one
// entry, not four billion.
//
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "codec_config.h"
#include "fourcc.h"
#include "manifest_xml.h"
#include "status.h"

namespace piff {


// <ProtectionHeader SystemID="...">base64</ProtectionHeader>
struct ProtectionHeader {
  Uuid system_id{};
  // Base64 text with all whitespace (CR/LF wrapping included) removed.
  std::string data_base64;
};

// One fragment resolved from the timeline.
struct FragmentInfo {
  uint64_t index = 0;  // 0-based position in the stream's timeline
  uint64_t t = 0;      // start time, stream timescale
  uint64_t d = 0;      // duration, stream timescale
};

// An inline sample of a ManifestOutput stream: <f i="track">base64</f>.
struct InlineSample {
  uint32_t track_index = 0;
  std::string data_base64;
};

// A run of `repeat` contiguous fragments, each lasting d, the first at t.
// Parsing resolves implicit t/d (spec rules) and merges contiguous equal-d
// entries, so the model does not depend on how the XML was coded.
struct Chunk {
  uint64_t t = 0;
  uint64_t d = 0;
  uint64_t repeat = 1;  // total fragment count of the run, >= 1 (c@r is one-based)
  // FragmentNumber of the first fragment, when the source had c@n. Informative
  // only: the writer does not emit n (the t/d timeline is authoritative).
  std::optional<uint64_t> n;
  // Only for ManifestOutput streams; a chunk with samples is never merged and
  // has repeat 1.
  std::vector<InlineSample> samples;

  uint64_t end() const { return t + d * repeat; }
};

struct QualityLevel {
  uint32_t index = 0;
  uint32_t bitrate = 0;
  std::string fourcc;
  std::optional<uint32_t> max_width;   // also read from legacy "Width"
  std::optional<uint32_t> max_height;  // also read from legacy "Height"
  std::string codec_private_data;      // hex, as read (may be empty)
  std::optional<uint32_t> sampling_rate;
  std::optional<uint32_t> channels;
  std::optional<uint32_t> bits_per_sample;
  std::optional<uint32_t> packet_size;
  std::optional<uint32_t> audio_tag;
  std::optional<uint32_t> nal_unit_length_field;
  AttributeList custom_attributes;   // <CustomAttributes><Attribute Name Value/>
  AttributeList unknown_attributes;  // vendor attributes, kept in order

  // The AAC config of an audio level: CodecPrivateData when present, else an
  // AAC-LC config synthesised from SamplingRate and Channels (the spec says
  // AACL CodecPrivateData SHOULD be empty).
  Status GetAudioSpecificConfig(AudioSpecificConfig* out) const;
  // The avcC equivalent of an H.264 level's CodecPrivateData.
  Status GetAvcDecoderConfig(AvcDecoderConfig* out) const;
};

struct StreamIndex {
  std::string type;  // "video", "audio", "text"
  std::string subtype;
  std::string name;  // empty = absent; see EffectiveName()
  std::string url;
  std::string language;
  std::optional<uint64_t> timescale;  // absent = manifest TimeScale
  std::optional<uint32_t> max_width;
  std::optional<uint32_t> max_height;
  std::optional<uint32_t> display_width;
  std::optional<uint32_t> display_height;
  std::string parent_stream_index;
  std::optional<bool> manifest_output;
  // Counts as declared in the source (Chunks, QualityLevels attributes). The
  // writer ignores them and writes the real counts.
  std::optional<uint64_t> declared_chunks;
  std::optional<uint32_t> declared_quality_levels;
  std::vector<QualityLevel> quality_levels;
  std::vector<Chunk> chunks;  // sorted by t, run-length compressed
  AttributeList unknown_attributes;

  // Name, or Type when Name is absent (spec post-parse rule).
  const std::string& EffectiveName() const { return name.empty() ? type : name; }

  // Total number of fragments (sum of the runs). Parse guarantees no overflow.
  uint64_t FragmentCount() const;
  // End of the last fragment (0 when empty).
  uint64_t TimelineEnd() const;
  // Calls fn(t, d) for every fragment in order; stops early when fn returns
  // false. Returns false if it was stopped. Cost is per fragment, so guard
  // against FragmentCount() before walking a hostile manifest.
  bool ForEachFragment(const std::function<bool(uint64_t t, uint64_t d)>& fn) const;
  // The fragment starting exactly at t (URL times must match exactly).
  bool FindFragment(uint64_t t, FragmentInfo* out) const;
  // The fragment whose [t, t+d) contains time (for seeking); of overlapping
  // fragments, the one that starts last.
  bool FindFragmentContaining(uint64_t time, FragmentInfo* out) const;
  // The fragment at a 0-based position.
  bool GetFragment(uint64_t index, FragmentInfo* out) const;
  // Appends a fragment (muxer / live use), extending the last run when it is
  // contiguous and of equal duration. Fails when t goes backwards or the
  // timeline would overflow.
  Status AppendFragment(uint64_t t, uint64_t d);

  // Expands the Url template for one fragment: {bitrate}/{Bitrate},
  // {start time}/{start_time}, {CustomAttributes} (Name=Value,... of level).
  std::string FragmentUrl(const QualityLevel& level, uint64_t t) const;
};

struct ClientManifestWriteOptions {
  // Collapse runs of equal duration into c@r. Forces MinorVersion="2" in the
  // output when any r is written (the spec requires it).
  bool use_repeat = false;
  // Also write the spec's LookaheadCount next to LookAheadFragmentCount (some
  // readers only know one of them).
  bool write_spec_lookahead_name = false;
};

struct ClientManifest {
  uint32_t major_version = 2;
  uint32_t minor_version = 0;
  uint64_t timescale = 10000000;
  uint64_t duration = 0;
  bool is_live = false;
  // From LookAheadFragmentCount (what servers write) or LookaheadCount (the
  // spec's name); the former wins when both are present.
  std::optional<uint32_t> lookahead_count;
  std::optional<uint64_t> dvr_window_length;
  std::optional<bool> can_seek;
  std::optional<bool> can_pause;
  std::vector<ProtectionHeader> protection;
  std::vector<StreamIndex> streams;
  AttributeList unknown_attributes;

  uint64_t StreamTimescale(const StreamIndex& s) const { return s.timescale.value_or(timescale); }

  // Parses an .ismc / Manifest document (UTF-8 or UTF-16). Errors name the
  // element path and attribute, e.g.
  // StreamIndex[1]/QualityLevel[0]@Bitrate: not an unsigned integer "abc".
  // Timeline: rejects a last c without d, decreasing t, r="0", r without d,
  // and anything that overflows 64 bits. A c with neither t nor d is accepted
  // when it is still unambiguous (t = previous end, d = next explicit t - t);
  // the spec says to reject it, but no information is missing.
  // Unknown child elements are skipped; unknown attributes are kept.
  static Status Parse(const std::string& xml, ClientManifest* out);

  // UTF-8 XML, 2-space indentation, one c per fragment (or per run with
  // use_repeat): t on the first c and after any gap, d on every c. SystemID is
  // written in canonical lowercase 8-4-4-4-12 form without braces, as the
  // packagers clients are tested against do (the spec ABNF's braces are
  // accepted on input). Deterministic: Write(Parse(Write(m))) == Write(m).
  // Without use_repeat the output has one line per fragment, so a run with a
  // huge repeat count (hostile input) should be written with use_repeat.
  std::string Write(const ClientManifestWriteOptions& options = {}) const;
};

}  // namespace piff
