// Every fragment URL an on-demand presentation offers, resolved to bytes:
// for each StreamIndex, QualityLevel and timeline entry of an Asset's client
// manifest, the URL its Url template gives and the moof+mdat range of the
// media that answers it (through Asset::FindTrack / FindFragment, i.e. the
// same lookups the origin makes). `export` writes these ranges to files;
// `inspect NAME.ism` uses the resolution as a consistency check.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "asset.h"

struct PresentationFragment {
  std::string stream;        // StreamIndex name (as in the URL)
  uint32_t bitrate = 0;      // QualityLevel bitrate (as in the URL)
  uint64_t t = 0;            // manifest start time
  std::string url;           // Fragments URL, relative to the manifest
  std::string info_url;      // the FragmentInfo (moof only) URL
  const piff::AssetTrack* track = nullptr;
  piff::FragmentRange range;
  bool rewrite = false;  // written anew, not copied (IndexedFragment::NeedsRewrite)
};

// Resolves every fragment of every QualityLevel. Problems (a level without
// a track in the .ism, a manifest time without a media fragment, a Url
// template without Fragments(name={start time}), URLs that are not safe
// relative paths, two fragments with one URL) go to *errors; resolution
// stops once max_errors have been collected, so a hostile timeline costs
// little. Warnings: a manifest duration that differs from the media
// fragment's (clients schedule by the manifest; the bytes are still right).
void ResolvePresentationFragments(const piff::Asset& asset, std::vector<PresentationFragment>* out,
                                  std::vector<std::string>* errors, std::vector<std::string>* warnings,
                                  size_t max_errors = 20);

// True for a relative URL that maps to a file under the export directory on
// any web server without escaping: no "..", no leading '/', no '\\', no
// percent-escapes, query or fragment parts, only [A-Za-z0-9._,=()/+~-].
bool IsSafeRelativeUrl(const std::string& url, std::string* why);
