// gst-smooth manifest: the server (.ism) and client (.ismc) manifests for a
// set of existing .ismv/.isma files, as `mp4split -o x.ism a.ismv b.ismv`
// does: one QualityLevel per H.264/AAC track, whether the bitrates come as
// one multi-track file or one file each. The grouping, bitrate and timeline
// rules are the core's (BuildManifestsForFiles); this command adds the
// command line, the reporting of misaligned fragment boundaries and other
// problems, and writing both files without leaving half-written ones.
#include <cstdio>
#include <string>
#include <vector>

#include "asset.h"
#include "commands.h"
#include "file_io.h"

using namespace piff;

namespace {

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: gst-smooth manifest -o NAME.ism [--ismc PATH] [--strict] FILE...\n"
               "  -o, --output NAME.ism  server manifest to write; media paths in it are relative to it\n"
               "  --ismc PATH            client manifest to write (default: NAME.ismc next to NAME.ism)\n"
               "  --strict               write nothing and exit 1 when any problem is found\n"
               "                         (misaligned fragment boundaries, skipped tracks, index problems)\n"
               "  FILE...                .ismv/.isma files: multi-track files or one file per bitrate\n"
               "Problems are reported on stderr; without --strict they do not stop the manifests.\n"
               "QualityLevels whose fragments do not start at their StreamIndex's times are left\n"
               "out of both manifests (so that every listed URL resolves), reported as errors.\n"
               "Exit status: 0 written, 3 written with QualityLevels left out, 1 failed or\n"
               "--strict found a problem (nothing written), 2 usage.\n");
}

std::string DefaultIsmcPath(const std::string& ism) {
  const std::string ext = ".ism";
  if (ism.size() > ext.size() && ism.compare(ism.size() - ext.size(), ext.size(), ext) == 0)
    return ism.substr(0, ism.size() - ext.size()) + ".ismc";
  return ism + ".ismc";
}

}  // namespace

int CmdManifest(int argc, char** argv) {
  std::string ism, ismc;
  bool strict = false;
  std::vector<std::string> inputs;
  for (int i = 1; i < argc; i++) {
    std::string a = argv[i];
    auto value = [&](const char* opt) -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "gst-smooth manifest: %s needs a value\n", opt);
        return nullptr;
      }
      return argv[++i];
    };
    if (a == "-o" || a == "--output") {
      const char* v = value(a.c_str());
      if (!v) return 2;
      ism = v;
    } else if (a == "--ismc") {
      const char* v = value("--ismc");
      if (!v) return 2;
      ismc = v;
    } else if (a == "--strict") {
      strict = true;
    } else if (a == "-h" || a == "--help") {
      Usage(stdout);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(stderr, "gst-smooth manifest: unknown option '%s'\n", a.c_str());
      Usage(stderr);
      return 2;
    } else {
      inputs.push_back(a);
    }
  }
  if (ism.empty() || inputs.empty()) {
    std::fprintf(stderr, "gst-smooth manifest: %s\n", ism.empty() ? "-o NAME.ism is required" : "no input files");
    Usage(stderr);
    return 2;
  }
  if (ismc.empty()) ismc = DefaultIsmcPath(ism);
  if (ismc == ism) {
    std::fprintf(stderr, "gst-smooth manifest: the client manifest cannot be the .ism itself (%s)\n", ism.c_str());
    return 2;
  }
  for (const std::string& in : inputs)
    if (in == ism || in == ismc) {
      std::fprintf(stderr, "gst-smooth manifest: output %s is also an input\n", in.c_str());
      return 2;
    }

  Presentation p;
  std::vector<std::string> problems;
  Status s = BuildManifestsForFiles(inputs, ism, ismc, &p, &problems);
  if (!s) {
    std::fprintf(stderr, "gst-smooth manifest: %s\n", s.message().c_str());
    for (auto& pr : problems) std::fprintf(stderr, "  %s\n", pr.c_str());
    return 1;
  }
  for (auto& pr : problems) std::fprintf(stderr, "gst-smooth manifest: warning: %s\n", pr.c_str());
  for (auto& l : p.left_out) std::fprintf(stderr, "gst-smooth manifest: error: %s\n", l.message.c_str());
  if (strict && !(problems.empty() && p.left_out.empty())) {
    std::fprintf(stderr, "gst-smooth manifest: %zu problem(s); nothing written (--strict)\n",
                 problems.size() + p.left_out.size());
    return 1;
  }

  // The client manifest first: an .ism pointing at a missing .ismc would
  // make an origin fall back to generating one, hiding the failure.
  if (!(s = MakeDirectories(DirectoryOf(ismc))) || !(s = WriteFileAtomically(ismc, p.client.Write())) ||
      !(s = MakeDirectories(DirectoryOf(ism))) || !(s = WriteFileAtomically(ism, p.server.Write()))) {
    std::fprintf(stderr, "gst-smooth manifest: %s\n", s.message().c_str());
    return 1;
  }

  std::printf("wrote %s (%zu tracks) and %s:\n", ism.c_str(), p.server.tracks.size(), ismc.c_str());
  for (const StreamIndex& si : p.client.streams) {
    std::printf("  StreamIndex \"%s\" (%s): %zu QualityLevel(s), %llu fragments; bitrates", si.EffectiveName().c_str(),
                si.type.c_str(), si.quality_levels.size(), static_cast<unsigned long long>(si.FragmentCount()));
    for (const QualityLevel& q : si.quality_levels) std::printf(" %u", q.bitrate);
    std::printf("\n");
  }
  if (!problems.empty()) std::printf("%zu problem(s) reported on stderr\n", problems.size());
  if (!p.left_out.empty()) {
    std::printf("%zu QualityLevel(s) left out: their fragment boundaries do not align (errors on stderr)\n",
                p.left_out.size());
    return 3;
  }
  return 0;
}
