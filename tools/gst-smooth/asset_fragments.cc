// ResolvePresentationFragments: manifest timeline -> URL -> media bytes.
#include "asset_fragments.h"

#include <unordered_set>

using piff::Asset;
using piff::AssetTrack;
using piff::QualityLevel;
using piff::StreamIndex;

namespace {

// The StreamName of a Url template: what follows "Fragments(" up to '='.
// Origins match it against the .ism trackName, so it, not the StreamIndex
// Name attribute, decides which track answers.
bool TemplateStreamName(const std::string& url, std::string* name) {
  const std::string noun = "Fragments(";
  size_t p = url.find(noun);
  if (p == std::string::npos) return false;
  p += noun.size();
  size_t eq = url.find('=', p);
  if (eq == std::string::npos || eq == p) return false;
  *name = url.substr(p, eq - p);
  return true;
}

std::string InfoUrl(const std::string& url) {
  const std::string noun = "Fragments(";
  size_t p = url.find(noun);
  if (p == std::string::npos) return "";
  return url.substr(0, p) + "FragmentInfo(" + url.substr(p + noun.size());
}

}  // namespace

bool IsSafeRelativeUrl(const std::string& url, std::string* why) {
  if (url.empty()) {
    *why = "empty URL";
    return false;
  }
  if (url[0] == '/') {
    *why = "absolute path";
    return false;
  }
  for (char c : url) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              std::string("._,=()/+~-").find(c) != std::string::npos;
    if (!ok) {
      *why = std::string("character '") + (static_cast<unsigned char>(c) < 0x20 ? '?' : c) +
             "' has no portable file-name mapping";
      return false;
    }
  }
  size_t start = 0;
  while (start <= url.size()) {
    size_t slash = url.find('/', start);
    if (slash == std::string::npos) slash = url.size();
    std::string seg = url.substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == "..") {
      *why = "path segment \"" + seg + "\"";
      return false;
    }
    start = slash + 1;
  }
  return true;
}

void ResolvePresentationFragments(const Asset& asset, std::vector<PresentationFragment>* out,
                                  std::vector<std::string>* errors, std::vector<std::string>* warnings,
                                  size_t max_errors) {
  out->clear();
  std::unordered_set<std::string> seen;
  auto full = [&] { return errors->size() >= max_errors; };
  for (const StreamIndex& si : asset.client_manifest().streams) {
    if (full()) return;
    if (si.manifest_output.value_or(false)) continue;  // samples are inline in the manifest
    std::string name;
    if (!TemplateStreamName(si.url, &name)) {
      errors->push_back("StreamIndex \"" + si.EffectiveName() + "\": Url template \"" + si.url +
                        "\" has no Fragments(name={start time}) part");
      continue;
    }
    for (const QualityLevel& ql : si.quality_levels) {
      if (full()) return;
      const AssetTrack* track = asset.FindTrack(ql.bitrate, name);
      if (!track) {
        errors->push_back("StreamIndex \"" + si.EffectiveName() + "\" QualityLevel " + std::to_string(ql.bitrate) +
                          ": the .ism has no track named \"" + name + "\" with systemBitrate " +
                          std::to_string(ql.bitrate));
        continue;
      }
      si.ForEachFragment([&](uint64_t t, uint64_t d) {
        PresentationFragment f;
        f.stream = name;
        f.bitrate = ql.bitrate;
        f.t = t;
        f.track = track;
        f.url = si.FragmentUrl(ql, t);
        f.info_url = InfoUrl(f.url);
        std::string where = "QualityLevels(" + std::to_string(ql.bitrate) + ")/Fragments(" + name + "=" +
                            std::to_string(t) + ")";
        std::string why;
        if (!IsSafeRelativeUrl(f.url, &why)) {
          errors->push_back(where + ": URL \"" + f.url + "\" is not a safe relative path (" + why + ")");
        } else if (!seen.insert(f.url).second) {
          errors->push_back(where + ": URL \"" + f.url + "\" is used by another fragment too");
        } else if (!asset.FindFragment(*track, t, &f.range)) {
          errors->push_back(where + ": no fragment of track " + std::to_string(track->track_id) + " in " +
                            asset.media()[track->media].path + " starts at " + std::to_string(t));
        } else {
          if (f.range.duration != d && warnings->size() < max_errors)
            warnings->push_back(where + ": the manifest says duration " + std::to_string(d) + ", the media fragment lasts " +
                              std::to_string(f.range.duration));
          ptrdiff_t i = track->track->FindFragment(t);
          f.rewrite = i >= 0 && track->track->fragments[static_cast<size_t>(i)].NeedsRewrite();
          out->push_back(std::move(f));
        }
        return !full();
      });
    }
  }
}
