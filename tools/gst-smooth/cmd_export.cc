// gst-smooth export: turns an on-demand presentation (.ism + media) into a
// static folder any plain web server can serve as Smooth Streaming:
//   DIR/Manifest                                   the client manifest
//   DIR/QualityLevels(b)/Fragments(name=t)         moof+mdat of one fragment
//   DIR/QualityLevels(b)/FragmentInfo(name=t)      its moof only
// File names are the manifest's own URLs (each StreamIndex's Url template
// expanded with the QualityLevel bitrate and the timeline's start times), so
// a client requesting exactly what the manifest announces finds a file.
// Every URL is resolved before anything is written: a manifest time without
// a media fragment fails the export instead of leaving a hole.
#include <cinttypes>
#include <cstdio>
#include <set>
#include <memory>
#include <string>
#include <vector>

#include "asset.h"
#include "asset_fragments.h"
#include "commands.h"
#include "file_io.h"
#include "keyframes.h"

using namespace piff;

namespace {

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: gst-smooth export --out DIR [--no-fragment-info] [--strict] NAME.ism\n"
               "  --out DIR            folder to write (created if needed); serve it so that its URL\n"
               "                       ends in NAME.ism/, e.g. export into WEBROOT/NAME.ism and play\n"
               "                       http://HOST/NAME.ism/Manifest\n"
               "  --no-fragment-info   do not write the FragmentInfo (moof only) files\n"
               "  --strict             exit 1 without writing when the presentation has problems\n"
               "Fails (exit 1, nothing written) on missing media or a manifest fragment without media\n"
               "bytes. A fragment whose moof also carries other tracks is written with a moof of its\n"
               "own track only.\n");
}

}  // namespace

int CmdExport(int argc, char** argv) {
  std::string out_dir, ism;
  bool fragment_info = true, strict = false;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    if (a == "--out" || a == "-o") {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gst-smooth export: %s needs a value\n", a.c_str());
        return 2;
      }
      out_dir = argv[++i];
    } else if (a == "--no-fragment-info") {
      fragment_info = false;
    } else if (a == "--strict") {
      strict = true;
    } else if (a == "-h" || a == "--help") {
      Usage(stdout);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "gst-smooth export: unknown option '%s'\n", a.c_str());
      Usage(stderr);
      return 2;
    } else if (ism.empty()) {
      ism = a;
    } else {
      std::fprintf(stderr, "gst-smooth export: one NAME.ism only ('%s' and '%s')\n", ism.c_str(), a.c_str());
      return 2;
    }
  }
  if (out_dir.empty() || ism.empty()) {
    std::fprintf(stderr, "gst-smooth export: %s\n", out_dir.empty() ? "--out DIR is required" : "no NAME.ism given");
    Usage(stderr);
    return 2;
  }

  std::unique_ptr<Asset> asset;
  Status s = Asset::Load(ism, &asset);
  if (!s) {
    std::fprintf(stderr, "gst-smooth export: %s\n", s.message().c_str());
    return 1;
  }
  for (auto& p : asset->problems()) std::fprintf(stderr, "gst-smooth export: warning: %s\n", p.c_str());
  if (strict && !asset->problems().empty()) {
    std::fprintf(stderr, "gst-smooth export: %zu problem(s); nothing written (--strict)\n", asset->problems().size());
    return 1;
  }

  std::vector<PresentationFragment> fragments;
  std::vector<std::string> errors, warnings;
  ResolvePresentationFragments(*asset, &fragments, &errors, &warnings);
  for (auto& w : warnings) std::fprintf(stderr, "gst-smooth export: warning: %s\n", w.c_str());
  if (!errors.empty()) {
    for (auto& e : errors) std::fprintf(stderr, "gst-smooth export: %s\n", e.c_str());
    std::fprintf(stderr, "gst-smooth export: %s: nothing written\n", ism.c_str());
    return 1;
  }
  if (strict && !warnings.empty()) {
    std::fprintf(stderr, "gst-smooth export: %zu problem(s); nothing written (--strict)\n", warnings.size());
    return 1;
  }
  if (fragments.empty()) {
    std::fprintf(stderr, "gst-smooth export: %s: the manifest lists no fragments\n", ism.c_str());
    return 1;
  }

  if (!(s = MakeDirectories(out_dir))) {
    std::fprintf(stderr, "gst-smooth export: %s\n", s.message().c_str());
    return 1;
  }
  uint64_t bytes = 0;
  size_t files = 0;
  std::set<std::string> made_dirs;
  size_t rebuilt = 0;
  for (const PresentationFragment& f : fragments) {
    const AssetMedia& media = asset->media()[f.track->media];
    ByteSource& src = *media.source;
    // A fragment is the file's own moof+mdat bytes, unless its moof carries
    // other tracks too, its time moves (a negative start) or the file cuts
    // it: then a single-track moof with the index's time is written for it
    // (the same rebuild the origin serves), followed by its samples' bytes.
    FragmentBody body;
    if (f.rewrite) {
      ptrdiff_t i = f.track->track->FindFragment(f.range.time);
      s = i < 0 ? Status::Error(f.url + ": fragment not in the index")
                : BuildTrackFragment(src, media.index.moov ? &*media.index.moov : nullptr,
                                     f.track->track->fragments[static_cast<size_t>(i)], f.track->track_id,
                                     SampleSelection::kAll, &body);
      if (!s) {
        s = s.WithContext(f.url);
        break;
      }
      rebuilt++;
    } else {
      body.moof_size = f.range.moof_size;
      body.ranges.push_back({f.range.offset, f.range.size});
    }
    std::string path = out_dir + "/" + f.url;
    std::string dir = DirectoryOf(path);
    if (made_dirs.insert(dir).second && !(s = MakeDirectories(dir))) break;
    if (!(s = CopyBodyToFile(src, body.header, body.ranges, path))) break;
    bytes += body.size();
    files++;
    if (fragment_info && !f.info_url.empty()) {
      std::string info_path = out_dir + "/" + f.info_url;
      std::string info_dir = DirectoryOf(info_path);
      if (made_dirs.insert(info_dir).second && !(s = MakeDirectories(info_dir))) break;
      if (f.rewrite) {
        std::vector<uint8_t> moof(body.header.begin(), body.header.begin() + static_cast<ptrdiff_t>(body.moof_size));
        s = CopyBodyToFile(src, moof, {}, info_path);
      } else {
        s = CopyRangeToFile(src, f.range.offset, f.range.moof_size, info_path);
      }
      if (!s) break;
      files++;
    }
  }
  // The Manifest last: a folder with a Manifest is a complete presentation.
  if (s) s = WriteFileAtomically(out_dir + "/Manifest", asset->client_manifest_xml());
  if (!s) {
    std::fprintf(stderr, "gst-smooth export: %s\n", s.message().c_str());
    return 1;
  }

  size_t levels = 0;
  for (auto& si : asset->client_manifest().streams) levels += si.quality_levels.size();
  std::printf("exported %s to %s: Manifest (%zu StreamIndex, %zu QualityLevels), %zu fragments (%" PRIu64
              " bytes), %zu files\n",
              ism.c_str(), out_dir.c_str(), asset->client_manifest().streams.size(), levels, fragments.size(), bytes,
              files + 1);
  if (rebuilt)
    std::printf("  %zu fragments rewritten with a moof of their own (a moof that carries several tracks, a time "
                "moved by the start offset of a negative start, or a fragment the file cuts)\n",
                rebuilt);
  return 0;
}
