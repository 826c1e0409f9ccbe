// Asset: an on-demand Smooth Streaming presentation on disk (a server
// manifest .ism and the .ismv/.isma files it names), resolved the way an IIS
// origin does: QualityLevels(bitrate) matches systemBitrate, Fragments(name=t)
// matches trackName and a fragment time, tfra/moof give the bytes.
// Also: manifests for an arbitrary set of media files (gst-smooth manifest).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client_manifest.h"
#include "media_index.h"
#include "presentation.h"
#include "server_manifest.h"
#include "status.h"

namespace piff {

struct AssetTrack {
  std::string kind;          // video / audio (the .ism element)
  std::string name;          // trackName: the StreamIndex name in URLs
  uint32_t bitrate = 0;      // systemBitrate: the QualityLevels() argument
  uint32_t track_id = 0;
  size_t media = 0;          // index into Asset::media
  const IndexedTrack* track = nullptr;
};

// The byte range of one fragment of one track.
struct FragmentRange {
  std::string path;
  uint64_t offset = 0;       // moof offset
  uint64_t size = 0;         // moof + mdat
  uint32_t moof_size = 0;
  uint64_t time = 0, duration = 0;
};

struct AssetMedia {
  std::string path;          // absolute or as resolved against the .ism folder
  std::unique_ptr<FileByteSource> source;
  MediaIndex index;
};

class Asset {
 public:
  // Reads the .ism, indexes every media file it names (each once), and takes
  // the client manifest from clientManifestRelativePath when that file
  // exists, else generates it from the media (bitrates and names from the
  // .ism). Fails with a message naming the file and the problem.
  static Status Load(const std::string& ism_path, std::unique_ptr<Asset>* out);

  const ServerManifest& server_manifest() const { return server_; }
  const ClientManifest& client_manifest() const { return client_; }
  // The client manifest document served as /Manifest.
  const std::string& client_manifest_xml() const { return client_xml_; }
  const std::vector<AssetTrack>& tracks() const { return tracks_; }
  const std::vector<AssetMedia>& media() const { return media_; }
  const std::vector<std::string>& problems() const { return problems_; }

  const AssetTrack* FindTrack(uint32_t bitrate, const std::string& name) const;
  // False when no fragment of the track starts exactly at t.
  bool FindFragment(const AssetTrack& track, uint64_t t, FragmentRange* out) const;

 private:
  ServerManifest server_;
  ClientManifest client_;
  std::string client_xml_;
  std::vector<AssetMedia> media_;
  std::vector<AssetTrack> tracks_;
  std::vector<std::string> problems_;
};

// Manifests for a set of media files (one track per QualityLevel; files with
// several tracks contribute all of them). `ism_path` decides the relative
// paths written into the .ism. Problems (misaligned fragment boundaries
// across bitrates, unsupported tracks skipped, index problems) are appended
// to *problems; tracks left out of the manifests (misaligned) are in out->left_out.
Status BuildManifestsForFiles(const std::vector<std::string>& media_paths, const std::string& ism_path,
                              const std::string& ismc_path, Presentation* out, std::vector<std::string>* problems);

// `target` relative to the folder `from_dir` (both absolute, '/'-separated).
std::string RelativePath(const std::string& target, const std::string& from_dir);

}  // namespace piff
