// gst-smooth: inspect PIFF files, write manifests, export static Smooth
// Streaming layouts, run a development origin and package MP4s. Dispatches to the
// subcommands in commands.h (argv[0] of a subcommand is its name).
#include <cstdio>
#include <cstring>

#include "commands.h"

static void Usage(FILE* out) {
  std::fprintf(out,
               "usage: gst-smooth COMMAND [ARGS]\n"
               "  inspect FILE                      box tree, tracks, fragments, consistency problems\n"
               "  manifest -o NAME.ism FILE...      write NAME.ism and NAME.ismc for media files\n"
               "  export --out DIR NAME.ism         static layout (Manifest, QualityLevels(b)/Fragments(n=t))\n"
               "  serve --root DIR [--port N] [--bind ADDR]   development origin\n"
               "  package -o NAME.ismv INPUT.mp4... per-bitrate MP4s to NAME.ismv + NAME.ism + NAME.ismc\n"
               "Run gst-smooth COMMAND --help for details.\n");
}

int main(int argc, char** argv) {
  if (argc < 2 || !std::strcmp(argv[1], "--help") || !std::strcmp(argv[1], "-h")) {
    Usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  const char* cmd = argv[1];
  if (!std::strcmp(cmd, "inspect")) return CmdInspect(argc - 1, argv + 1);
  if (!std::strcmp(cmd, "manifest")) return CmdManifest(argc - 1, argv + 1);
  if (!std::strcmp(cmd, "export")) return CmdExport(argc - 1, argv + 1);
  if (!std::strcmp(cmd, "serve")) return CmdServe(argc - 1, argv + 1);
  if (!std::strcmp(cmd, "package")) return CmdPackage(argc - 1, argv + 1);
  std::fprintf(stderr, "gst-smooth: unknown command '%s'\n", cmd);
  Usage(stderr);
  return 2;
}
