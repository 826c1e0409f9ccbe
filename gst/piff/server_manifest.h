// The Smooth Streaming server manifest: the SMIL 2.0 document of an on-demand
// publishing point (.ism) and, with the same schema minus
// clientManifestRelativePath, the Live Server Manifest carried in the
// LiveServerManifestBox at the start of every live-ingest POST.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "client_manifest.h"  // AttributeList and the shared XML layer
#include "status.h"

namespace piff {

// <param name= value= valuetype=/>
struct ServerParam {
  std::string name;
  std::string value;
  std::string valuetype = "data";
};

// One <video>/<audio>/<textstream> entry of the <switch>.
struct ServerTrack {
  std::string kind;  // the element name: "video", "audio", "textstream"
  std::string src;   // media file (.ismv/.isma) or "Streams"; empty = absent
  uint32_t system_bitrate = 0;  // matched against the QualityLevels(...) bitrate
  std::optional<std::string> system_language;
  std::vector<ServerParam> params;
  AttributeList unknown_attributes;

  // Parameter lookup by name, case-insensitively (writers disagree on
  // "trackID" vs "trackId").
  const ServerParam* FindParam(const std::string& name) const;
  // Replaces the value of an existing parameter, or appends a new one.
  void SetParam(const std::string& name, const std::string& value);

  // The trackID parameter (track_ID of tkhd/tfhd), if present and numeric.
  std::optional<uint32_t> track_id() const;
  void set_track_id(uint32_t id) { SetParam("trackID", std::to_string(id)); }
  // The trackName parameter, or the default name for the kind ("video",
  // "audio", "textstream") that Fragments(name=...) URLs use.
  std::string track_name() const;
  void set_track_name(const std::string& name) { SetParam("trackName", name); }
};

struct ServerManifestWriteOptions {};

struct ServerManifest {
  AttributeList meta;  // <meta name= content=/> in document order
  std::vector<ServerTrack> tracks;

  // The clientManifestRelativePath meta (empty when absent, as in a Live
  // Server Manifest).
  std::string client_manifest_relative_path() const;
  void set_client_manifest_relative_path(const std::string& path);
  // First meta with that name, or nullptr.
  const std::string* FindMeta(const std::string& name) const;

  // Parses UTF-8 or UTF-16 SMIL. Accepts valuetype and valueType. Tracks are
  // the elements inside <body><switch>; errors name them as
  // "switch/audio[0]@systemBitrate: ...".
  static Status Parse(const std::string& xml, ServerManifest* out);

  // UTF-8 SMIL with the SMIL 2.0 namespace, 2-space indentation, valuetype
  // spelled as IIS documents it. Deterministic:
  // Write(Parse(Write(m))) == Write(m).
  std::string Write(const ServerManifestWriteOptions& options = {}) const;
};

}  // namespace piff
