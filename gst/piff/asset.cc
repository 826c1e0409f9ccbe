// Asset loading (.ism + media) and manifests for sets of media files.
#include "asset.h"

#include <glib.h>

#include <algorithm>
#include <map>

namespace piff {

namespace {

std::string Absolute(const std::string& path, const std::string& base_dir = "") {
  gchar* c = g_canonicalize_filename(path.c_str(), base_dir.empty() ? nullptr : base_dir.c_str());
  std::string r(c);
  g_free(c);
  return r;
}

std::string DirName(const std::string& path) {
  gchar* d = g_path_get_dirname(path.c_str());
  std::string r(d);
  g_free(d);
  return r;
}

Status ReadTextFile(const std::string& path, std::string* out) {
  gchar* contents = nullptr;
  gsize len = 0;
  GError* err = nullptr;
  if (!g_file_get_contents(path.c_str(), &contents, &len, &err)) {
    Status s = Status::Error(path + ": " + (err ? err->message : "cannot read"));
    g_clear_error(&err);
    return s;
  }
  out->assign(contents, len);
  g_free(contents);
  return Status::Ok();
}

TrackSummary SummaryOf(const IndexedTrack& t) {
  TrackSummary s;
  s.config = t.config;
  s.fourcc = t.manifest_fourcc;
  s.payload_bytes = t.payload_bytes;
  for (auto& f : t.fragments) s.fragments.push_back({f.time, f.duration});
  return s;
}

// The files of one presentation share a timeline: a negative start in one
// of them (FFmpeg's AAC priming) moves all of them by the largest start
// offset (start_offset.h).
template <class Media>
void ShareStartOffset(std::vector<Media>* media) {
  StartOffset largest;
  for (const auto& m : *media)
    if (largest.LessThan(m.index.start_offset)) largest = m.index.start_offset;
  for (auto& m : *media) m.index.ShiftTimeline(largest);
}

}  // namespace

std::string RelativePath(const std::string& target, const std::string& from_dir) {
  auto split = [](const std::string& p) {
    std::vector<std::string> parts;
    size_t start = 0;
    while (start <= p.size()) {
      size_t slash = p.find('/', start);
      if (slash == std::string::npos) slash = p.size();
      if (slash > start) parts.push_back(p.substr(start, slash - start));
      start = slash + 1;
    }
    return parts;
  };
  std::vector<std::string> a = split(target), b = split(from_dir);
  size_t common = 0;
  while (common < a.size() && common < b.size() && a[common] == b[common]) common++;
  std::string r;
  for (size_t i = common; i < b.size(); i++) r += "../";
  for (size_t i = common; i < a.size(); i++) r += a[i] + (i + 1 < a.size() ? "/" : "");
  return r;
}

Status Asset::Load(const std::string& ism_path, std::unique_ptr<Asset>* out) {
  auto asset = std::make_unique<Asset>();
  std::string text;
  Status s = ReadTextFile(ism_path, &text);
  if (!s) return s;
  if (!(s = ServerManifest::Parse(text, &asset->server_))) return s.WithContext(ism_path);
  std::string dir = DirName(Absolute(ism_path));

  std::map<std::string, size_t> media_by_path;
  for (const ServerTrack& st : asset->server_.tracks) {
    if (st.src.empty()) return Status::Error(ism_path + ": <" + st.kind + "> without src");
    std::string path = Absolute(st.src, dir);
    auto it = media_by_path.find(path);
    if (it == media_by_path.end()) {
      AssetMedia m;
      m.path = path;
      if (!(s = FileByteSource::Open(path, &m.source))) return s.WithContext(ism_path);
      if (!(s = MediaIndex::Build(*m.source, &m.index))) return s.WithContext(path);
      for (auto& p : m.index.problems) asset->problems_.push_back(path + ": " + p);
      it = media_by_path.emplace(path, asset->media_.size()).first;
      asset->media_.push_back(std::move(m));
    }
    AssetTrack t;
    t.kind = st.kind;
    t.name = st.track_name();
    t.bitrate = st.system_bitrate;
    t.media = it->second;
    std::optional<uint32_t> id = st.track_id();
    const MediaIndex& index = asset->media_[t.media].index;
    if (id) {
      t.track_id = *id;
    } else {
      // No trackID: the first track of the matching kind (IIS does the same
      // for single-track files).
      for (auto& it2 : index.tracks)
        if ((st.kind == "video") == (it2.config.kind == TrackConfig::Kind::kVideo)) {
          t.track_id = it2.config.track_id;
          break;
        }
    }
    t.track = index.FindTrack(t.track_id);
    if (!t.track)
      return Status::Error(ism_path + ": " + st.kind + " " + std::to_string(st.system_bitrate) + ": track " +
                           std::to_string(t.track_id) + " is not in " + st.src);
    for (auto& other : asset->tracks_)
      if (other.bitrate == t.bitrate && other.name == t.name)
        return Status::Error(ism_path + ": two tracks named \"" + t.name + "\" share systemBitrate " +
                             std::to_string(t.bitrate));
    asset->tracks_.push_back(t);
  }
  if (asset->tracks_.empty()) return Status::Error(ism_path + ": no tracks in the switch");
  ShareStartOffset(&asset->media_);

  std::string ismc_rel = asset->server_.client_manifest_relative_path();
  std::string ismc = ismc_rel.empty() ? "" : Absolute(ismc_rel, dir);
  if (!ismc.empty() && g_file_test(ismc.c_str(), G_FILE_TEST_IS_REGULAR)) {
    if (!(s = ReadTextFile(ismc, &asset->client_xml_))) return s;
    if (!(s = ClientManifest::Parse(asset->client_xml_, &asset->client_))) return s.WithContext(ismc);
  } else {
    std::vector<TrackSummary> summaries;
    for (auto& t : asset->tracks_) {
      if (!t.track->supported)
        return Status::Error(ism_path + ": track " + std::to_string(t.track_id) +
                             " has a codec the manifest generator does not know; provide an .ismc");
      TrackSummary sum = SummaryOf(*t.track);
      sum.bitrate = t.bitrate;
      sum.name = t.name;
      summaries.push_back(std::move(sum));
    }
    Presentation p;
    if (!(s = BuildPresentation(summaries, 10000000, "", &p))) return s.WithContext(ism_path);
    for (auto& w : p.warnings) asset->problems_.push_back(w);
    for (auto& l : p.left_out) asset->problems_.push_back(l.message);
    asset->client_ = std::move(p.client);
    asset->client_xml_ = asset->client_.Write();
  }
  *out = std::move(asset);
  return Status::Ok();
}

const AssetTrack* Asset::FindTrack(uint32_t bitrate, const std::string& name) const {
  for (auto& t : tracks_)
    if (t.bitrate == bitrate && t.name == name) return &t;
  return nullptr;
}

bool Asset::FindFragment(const AssetTrack& track, uint64_t t, FragmentRange* out) const {
  ptrdiff_t i = track.track->FindFragment(t);
  if (i < 0) return false;
  const IndexedFragment& f = track.track->fragments[i];
  if (!f.HasData()) return false;
  out->path = media_[track.media].path;
  out->offset = f.moof_offset;
  // A cut fragment has no whole byte range: it is rewritten (NeedsRewrite).
  out->size = f.end_offset ? f.end_offset - f.moof_offset : 0;
  out->moof_size = f.moof_size;
  out->time = f.time;
  out->duration = f.duration;
  return true;
}

Status BuildManifestsForFiles(const std::vector<std::string>& media_paths, const std::string& ism_path,
                              const std::string& ismc_path, Presentation* out, std::vector<std::string>* problems) {
  std::string ism_dir = DirName(Absolute(ism_path));
  struct Indexed {
    std::string path;
    MediaIndex index;
  };
  std::vector<Indexed> files;
  for (const std::string& path : media_paths) {
    std::unique_ptr<FileByteSource> src;
    Status s = FileByteSource::Open(path, &src);
    if (!s) return s;
    Indexed f{path, MediaIndex()};
    if (!(s = MediaIndex::Build(*src, &f.index))) return s.WithContext(path);
    for (auto& p : f.index.problems) problems->push_back(path + ": " + p);
    files.push_back(std::move(f));
  }
  ShareStartOffset(&files);
  std::vector<TrackSummary> summaries;
  for (const Indexed& file : files) {
    const std::string& path = file.path;
    for (const IndexedTrack& t : file.index.tracks) {
      if (!t.supported) {
        problems->push_back(path + ": track " + std::to_string(t.config.track_id) + " (" +
                            FourCCToString(t.sample_entry) + ") skipped: not H.264 or AAC");
        continue;
      }
      if (t.fragments.empty()) {
        problems->push_back(path + ": track " + std::to_string(t.config.track_id) + " has no fragments; skipped");
        continue;
      }
      for (const auto& f : t.fragments)
        if (f.NeedsRewrite()) {
          if (!f.shared_moof) break;  // retimed or truncated: any origin that reads the index rewrites it
          problems->push_back(path + ": track " + std::to_string(t.config.track_id) +
                              " shares moofs with other tracks: an origin that serves the file's byte ranges (IIS) cannot "
                              "serve it; gst-smooth serve and export write each fragment with a moof of its own");
          break;
        }
      TrackSummary sum = SummaryOf(t);
      sum.src = RelativePath(Absolute(path), ism_dir);
      summaries.push_back(std::move(sum));
    }
  }
  if (summaries.empty()) return Status::Error("no H.264 or AAC tracks with fragments in the given files");
  std::string ismc_rel = ismc_path.empty() ? "" : RelativePath(Absolute(ismc_path), ism_dir);
  Status s = BuildPresentation(summaries, 10000000, ismc_rel, out);
  if (!s) return s;
  for (auto& w : out->warnings) problems->push_back(w);
  return Status::Ok();
}

}  // namespace piff
